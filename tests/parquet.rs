//! `calls.parquet` (built with `--features parquet`): one row per billed
//! request, read back with polars.

use polars::prelude::*;

use crate::workdir::{micros, Workdir, HANDMADE_REPORT};

#[test]
fn the_call_table_holds_every_record_once_and_sums_to_the_total() {
    let wd = Workdir::handmade("parquet");
    let mut args = HANDMADE_REPORT.to_vec();
    args.extend(["--period", "2025-06", "--quiet"]);
    wd.run(&args);
    let file = std::fs::File::open(wd.path("out/calls.parquet")).unwrap();
    let frame = ParquetReader::new(file).finish().unwrap();
    let summary: serde_json::Value = serde_json::from_str(&wd.read("out/summary.json")).unwrap();
    let records = summary["counts"]["usage_records"].as_u64().unwrap() as usize;
    assert_eq!(frame.height(), records);
    let column = |name: &str| frame.column(name).unwrap().as_materialized_series().clone();
    let cost: i128 = column("cost_usd")
        .decimal()
        .unwrap()
        .physical()
        .sum()
        .unwrap();
    let total = micros(summary["totals"]["cost"]["cost_usd"].as_str().unwrap());
    assert_eq!(cost, total, "cost_usd sums to the total");
    let unattributed = summary["counts"]["unattributed"].as_u64().unwrap() as usize;
    assert_eq!(column("run_id").null_count(), unattributed);
    let tenants: Vec<String> = column("tenant")
        .str()
        .unwrap()
        .iter()
        .map(|t| t.unwrap().to_string())
        .collect();
    assert_eq!(
        tenants.iter().filter(|t| *t == "(unattributed)").count(),
        unattributed
    );
    let by_tenant = crate::workdir::csv_rows(&wd.read("out/by_tenant.csv"));
    for row in &by_tenant[1..] {
        let n = tenants.iter().filter(|t| **t == row[0]).count();
        assert_eq!(
            n.to_string(),
            row[1],
            "tenant {}: one row per request",
            row[0]
        );
    }
}
