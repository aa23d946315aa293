//! Two bills that hold the same rows are refused, never summed: an Azure
//! actual-cost export and its amortized twin (the usage rows alike, the
//! reservation's cost spread in one of them), while one export cut into
//! two files of different rows reads as one.

use crate::cloud_bills::{cloud, reconcile};

#[test]
fn an_azure_row_in_two_exports_is_refused_and_an_export_in_two_parts_is_read() {
    let wd = cloud("azure-overlap");
    let actual = wd.read("azure-ea.csv");
    let (header, rows) = actual.split_once('\n').unwrap();
    // The amortized export: the same rows, but for the reservation's cost
    // spread over the usage it covers (a row of its own here).
    let amortized = actual.replacen(",0.30,", ",0.27,", 1);
    assert_ne!(amortized, actual);
    wd.write("two/actual.csv", &actual);
    wd.write("two/amortized.csv", &amortized);
    let stderr = wd.fail(&reconcile("usage/azure.csv", "two", &[]), 2);
    assert!(
        stderr.contains("two/amortized.csv:2: the same Azure cost row as two/actual.csv:2: an actual-cost and an amortized export of one scope"),
        "{stderr}"
    );
    // One export in two parts: each row once.
    let rows: Vec<&str> = rows.lines().collect();
    let (first, second) = rows.split_at(rows.len() / 2);
    wd.write("parts/a.csv", &format!("{header}\n{}\n", first.join("\n")));
    wd.write("parts/b.csv", &format!("{header}\n{}\n", second.join("\n")));
    wd.run(&reconcile("usage/azure.csv", "parts", &[]));
    let whole = wd.read("out/reconciliation.csv");
    wd.run(&reconcile("usage/azure.csv", "azure-ea.csv", &[]));
    let one = wd.read("out/reconciliation.csv");
    let totals = |csv: &str| {
        csv.lines()
            .filter(|l| l.starts_with('('))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(totals(&whole), totals(&one));
}
