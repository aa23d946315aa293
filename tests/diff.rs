//! `tokenledger diff` and the files it reads: `ledger.csv`, `by_day.csv`,
//! `changes.csv` and the saved `pricing.toml`.

use crate::workdir::{csv_rows, micros, Workdir, HANDMADE_REPORT};

/// The hand-made fleet's May (one long-context request, $6.00) and June,
/// reported into `may/` and `june/`.
fn handmade_months(name: &str) -> Workdir {
    let wd = Workdir::handmade(name);
    for (period, out) in [("2025-05", "may"), ("2025-06", "june")] {
        let mut args = HANDMADE_REPORT.to_vec();
        args[8] = out;
        args.extend(["--period", period, "--quiet"]);
        wd.run(&args);
    }
    wd
}

#[test]
fn diff_splits_a_price_cut_from_volume_exactly() {
    let wd = handmade_months("diff-handmade");
    let stdout = wd.run(&["diff", "may", "june", "--out", "diff"]);
    // June repriced at May 31's rates: req-2 (claude-test-1, 06-20) costs
    // 0.018 at June's rates and 0.027 at May's; req-7 (batch, 06-16) 0.014
    // and 0.021. Price effect -0.016; June's total is 1.02235775.
    assert!(
        stdout.starts_with(
            "2025-05 → 2025-06: $6.000000 → $1.022358 (-$4.977642, -83.0 %)\n\
             \x20 price effect  -$0.016000 (2025-06 usage at the rates of 2025-05-31)\n\
             \x20 volume effect -$4.961642\n"
        ),
        "{stdout}"
    );
    assert_eq!(
        wd.read("diff/diff_by_model.csv"),
        "model,prev_usd,cur_usd,delta_usd,delta_pct,price_effect_usd,volume_effect_usd,status\n\
         claude-test-1-20250101,6.000000,0.985100,-5.014900,-83.6,-0.007000,-5.007900,changed\n\
         gpt-test,0.000000,0.019258,0.019258,,0.000000,0.019258,new\n\
         claude-test-1,0.000000,0.018000,0.018000,,-0.009000,0.027000,new\n"
    );
    // Every dimension's columns add up to the same totals, and price +
    // volume = delta on every row.
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let rows = csv_rows(&wd.read(&format!("diff/diff_by_{dimension}.csv")));
        let mut sums = [0i128; 5];
        for row in &rows[1..] {
            let cells = [1, 2, 3, 5, 6].map(|i| micros(&row[i]));
            assert_eq!(cells[2], cells[1] - cells[0], "{dimension}: {row:?}");
            assert_eq!(cells[3] + cells[4], cells[2], "{dimension}: {row:?}");
            for (sum, cell) in sums.iter_mut().zip(cells) {
                *sum += cell;
            }
        }
        assert_eq!(
            sums,
            [6_000_000, 1_022_358, -4_977_642, -16_000, -4_961_642]
        );
    }
}

#[test]
fn identical_months_differ_by_nothing() {
    let wd = handmade_months("diff-same");
    let stdout = wd.run(&["diff", "june", "june", "--out", "diff"]);
    // June against itself: no change. (Its price and volume effects are
    // not zero: June is repriced at June 30's rates, and claude-test-1's
    // price fell on June 15.)
    assert!(
        stdout.starts_with("2025-06 → 2025-06: $1.022358 → $1.022358 (+$0.000000, +0.0 %)\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("top drivers"), "{stdout}");
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let rows = csv_rows(&wd.read(&format!("diff/diff_by_{dimension}.csv")));
        for row in &rows[1..] {
            assert_eq!(row[1], row[2]);
            assert_eq!((&row[3][..], &row[7][..]), ("0.000000", "changed"));
            assert_eq!(micros(&row[5]), -micros(&row[6]));
        }
    }
    // May (one day, one price) against itself: every effect is zero.
    let stdout = wd.run(&["diff", "may", "may", "--out", "diff-may"]);
    assert!(stdout.contains("price effect  +$0.000000"), "{stdout}");
    let rows = csv_rows(&wd.read("diff-may/diff_by_tenant.csv"));
    for row in &rows[1..] {
        assert_eq!(
            &row[3..],
            ["0.000000", "0.0", "0.000000", "0.000000", "changed"]
        );
    }
}

#[test]
fn growth_above_the_limit_exits_one() {
    let wd = handmade_months("diff-growth");
    let stderr = wd.fail(
        &["diff", "june", "may", "--fail-on-growth", "25", "--quiet"],
        1,
    );
    assert_eq!(
        stderr,
        "tokenledger: growth: the total went from $1.022358 to $6.000000 (+$4.977642, +486.9 %), \
         more than --fail-on-growth 25 %\n"
    );
    wd.run(&["diff", "june", "may", "--fail-on-growth", "500", "--quiet"]);
    // Shrinking never fails the gate.
    wd.run(&["diff", "may", "june", "--fail-on-growth", "0", "--quiet"]);
}

#[test]
fn a_directory_without_a_ledger_is_named() {
    let wd = handmade_months("diff-missing");
    std::fs::remove_file(wd.path("may/pricing.toml")).unwrap();
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.starts_with("tokenledger: may: no pricing.toml;"),
        "{stderr}"
    );
    wd.write("may/pricing.toml", &wd.read("pricing.toml"));
    let ledger = wd
        .read("june/ledger.csv")
        .replace(",standard,global,", ",turbo,global,");
    wd.write("june/ledger.csv", &ledger);
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.starts_with(
            "tokenledger: june/ledger.csv:2: service_tier: unexpected value \"turbo\""
        ),
        "{stderr}"
    );
}

#[test]
fn the_ledger_is_exact_and_every_report_rolls_up_from_it() {
    let wd = handmade_months("diff-ledger");
    let ledger = csv_rows(&wd.read("june/ledger.csv"));
    assert_eq!(
        ledger[0].join(","),
        "day,provider,model,charge,service_tier,inference_geo,speed,long_context,\
         tenant,feature,agent,tool,requests,quantity,pricing_unit,unit_price_usd,cost_usd"
    );
    // req-4 (2025-06-12) is above the 200k-token threshold: long-context
    // rates; req-7 is a batch request at half price.
    let line = |day: &str, charge: &str| {
        ledger
            .iter()
            .find(|r| r[0] == day && r[3] == charge)
            .unwrap_or_else(|| panic!("no {day} {charge} line"))
            .clone()
    };
    let long = line("2025-06-12", "input");
    assert_eq!((&long[4][..], &long[7][..]), ("standard", "true"));
    assert_eq!(&long[12..], ["1", "150000", "1000000 tokens", "6", "0.9"]);
    let batch = line("2025-06-16", "output");
    assert_eq!(&batch[4..8], ["batch", "global", "standard", "false"]);
    assert_eq!(&batch[13..], ["2000", "1000000 tokens", "5", "0.01"]);
    // Each report's exact cost per row is the sum of its ledger lines.
    for (dimension, column) in [
        ("tenant", 8),
        ("feature", 9),
        ("agent", 10),
        ("tool", 11),
        ("model", 2),
    ] {
        let report = csv_rows(&wd.read(&format!("june/by_{dimension}.csv")));
        let cost = report[0].iter().position(|c| c == "cost_usd").unwrap();
        for row in &report[1..] {
            let exact: rust_decimal::Decimal = ledger[1..]
                .iter()
                .filter(|l| l[column] == row[0])
                .map(|l| l[16].parse::<rust_decimal::Decimal>().unwrap())
                .sum();
            let rounded = micros(&row[cost]);
            let exact_micros = exact * rust_decimal::Decimal::from(1_000_000);
            assert!(
                (exact_micros - rust_decimal::Decimal::from(rounded)).abs()
                    < rust_decimal::Decimal::ONE,
                "{dimension} {}: {exact} vs {}",
                row[0],
                row[cost]
            );
        }
    }
    // The month's table is saved beside it, byte for byte.
    assert_eq!(wd.read("june/pricing.toml"), wd.read("pricing.toml"));
    // by_day.csv: each dimension's days add up to the total.
    let days = csv_rows(&wd.read("june/by_day.csv"));
    assert_eq!(
        days[0],
        ["day", "dimension", "value", "requests", "cost_usd"]
    );
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let sum: i128 = days[1..]
            .iter()
            .filter(|d| d[1] == dimension)
            .map(|d| micros(&d[4]))
            .sum();
        assert_eq!(sum, 1_022_358, "{dimension}");
    }
}
