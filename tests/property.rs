//! Conservation over random fleets: for every generated month, each report's
//! rows sum exactly to the total billed, every usage record lands in exactly
//! one row of each report, and the total equals the sum of every record
//! priced on its own (an oracle that prices usage.csv directly).

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;
use tokenledger::model::{Cost, Tier, TokenType, Tokens};
use tokenledger::money::Micros;
use tokenledger::price::{PriceTable, Qualifiers};

use crate::workdir::{csv_rows, micros, repo, Workdir};

const REPORTS: [&str; 6] = ["tenant", "feature", "agent", "tool", "model", "run"];

/// SplitMix64, so the fleets vary but every run of the test is the same.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    tokenledger::hash::mix64(*state)
}

/// Each in-period row of usage.csv priced on its own: (provider, model, cost).
fn priced(usage: &str, period: Option<(i32, u32)>) -> Vec<(String, String, Cost)> {
    let table = PriceTable::load_file(&repo().join("pricing.toml")).unwrap();
    let rows = csv_rows(usage);
    let mut out = Vec::new();
    for row in &rows[1..] {
        let ts: DateTime<Utc> = DateTime::parse_from_rfc3339(&row[1]).unwrap().into();
        if period.is_some_and(|(y, m)| (ts.year(), ts.month()) != (y, m)) {
            continue;
        }
        let tokens = Tokens::new(std::array::from_fn(|i| row[4 + i].parse().unwrap())).unwrap();
        let entry = table.find(&row[2], &row[3], ts.date_naive()).unwrap();
        out.push((
            row[2].clone(),
            row[3].clone(),
            entry
                .cost(
                    &tokens,
                    &[],
                    &Qualifiers {
                        tier: if row[9] == "true" {
                            Tier::Batch
                        } else {
                            Tier::Standard
                        },
                        ..Qualifiers::default()
                    },
                )
                .unwrap(),
        ));
    }
    out
}

/// The oracle: every in-period record priced on its own, summed.
fn oracle(usage: &str, period: Option<(i32, u32)>) -> (u64, Micros) {
    let records = priced(usage, period);
    let total: Decimal = records.iter().map(|(_, _, c)| c.total()).sum();
    (records.len() as u64, Micros::round(total))
}

fn summary_field<'a>(summary: &'a serde_json::Value, path: &[&str]) -> &'a serde_json::Value {
    path.iter().fold(summary, |v, k| &v[k])
}

#[test]
fn every_report_sums_to_the_total_billed() {
    let mut state = 0x7e57_u64;
    for case in 0..12 {
        let runs = 1 + next(&mut state) % 120;
        let seed = next(&mut state) % 10_000;
        let files = 1 + next(&mut state) % 4;
        let period = (case % 2 == 0).then_some((2025, 6));
        let wd = Workdir::new("property");
        simulate_and_report(&wd, runs, seed, files, period);
        let case =
            format!("case {case}: runs {runs}, seed {seed}, files {files}, period {period:?}");

        let summary: serde_json::Value =
            serde_json::from_str(&wd.read("out/summary.json")).unwrap();
        let (records, total) = oracle(&wd.read("fleet/usage.csv"), period);
        let cost = |k: &str| {
            micros(
                summary_field(&summary, &["totals", "cost", k])
                    .as_str()
                    .unwrap(),
            )
        };
        assert_eq!(
            cost("cost_usd"),
            total.0,
            "{case}: total = sum of records priced one by one"
        );
        assert_eq!(
            summary_field(&summary, &["counts", "usage_records"]).as_u64(),
            Some(records),
            "{case}"
        );

        for report in REPORTS {
            each_row_sums_to_the_totals(&wd, report, &summary, records, &case, &cost);
        }
        each_model_cell_is_exact(&wd, period, &case);
        the_answers_conserve_the_total(&wd, &summary, records, &case, &cost);

        let unattributed = csv_rows(&wd.read("out/unattributed.csv")).len() as u64 - 1;
        assert_eq!(
            summary_field(&summary, &["counts", "unattributed"]).as_u64(),
            Some(unattributed),
            "{case}"
        );
        let matched = summary_field(&summary, &["counts", "matched"])
            .as_u64()
            .unwrap();
        assert_eq!(
            matched + unattributed,
            records,
            "{case}: matched + unattributed = records"
        );
    }
}

/// `simulate` a fleet of `runs` runs into `fleet/`, and `report` it into `out/`.
fn simulate_and_report(wd: &Workdir, runs: u64, seed: u64, files: u64, period: Option<(i32, u32)>) {
    wd.run(&[
        "simulate",
        "--runs",
        &runs.to_string(),
        "--seed",
        &seed.to_string(),
        "--span-files",
        &files.to_string(),
        "--out",
        "fleet",
    ]);
    let pricing = repo().join("pricing.toml");
    let mut args = vec![
        "report",
        "--spans",
        "fleet/spans",
        "--usage",
        "fleet/usage.csv",
        "--out",
        "out",
        "--quiet",
    ];
    args.extend(["--pricing", pricing.to_str().unwrap()]);
    if period.is_some() {
        args.extend(["--period", "2025-06"]);
    }
    wd.run(&args);
}

/// One report's rows: each record in one row, and every column summing to the totals.
fn each_row_sums_to_the_totals(
    wd: &Workdir,
    report: &str,
    summary: &serde_json::Value,
    records: u64,
    case: &str,
    cost: &dyn Fn(&str) -> i128,
) {
    let rows = csv_rows(&wd.read(&format!("out/by_{report}.csv")));
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let sum = |name: &str| {
        rows[1..]
            .iter()
            .map(|r| r[col(name)].parse::<i128>().unwrap())
            .sum::<i128>()
    };
    let money = |name: &str| {
        rows[1..]
            .iter()
            .map(|r| micros(&r[col(name)]))
            .sum::<i128>()
    };
    assert_eq!(
        sum("requests"),
        records as i128,
        "{case}: by_{report}: each record in exactly one row"
    );
    for tokens in [
        "uncached_input_tokens",
        "cache_read_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
    ] {
        let expected = summary_field(summary, &["totals", "tokens", tokens])
            .as_u64()
            .unwrap();
        assert_eq!(
            sum(tokens),
            expected as i128,
            "{case}: by_{report}.{tokens}"
        );
    }
    for money_column in [
        "cost_input_usd",
        "cost_cache_read_usd",
        "cost_cache_write_usd",
        "cost_output_usd",
        "cost_usd",
    ] {
        assert_eq!(
            money(money_column),
            cost(money_column),
            "{case}: by_{report}.{money_column}"
        );
    }
    each_rows_cost_parts_sum_to_its_cost(&rows, &col, report, case);
}

/// Each row of a report: its four cost columns sum to its cost_usd.
fn each_rows_cost_parts_sum_to_its_cost(
    rows: &[Vec<String>],
    col: &dyn Fn(&str) -> usize,
    report: &str,
    case: &str,
) {
    for row in &rows[1..] {
        let parts: i128 = [
            "cost_input_usd",
            "cost_cache_read_usd",
            "cost_cache_write_usd",
            "cost_output_usd",
        ]
        .iter()
        .map(|c| micros(&row[col(c)]))
        .sum();
        assert_eq!(
            parts,
            micros(&row[col("cost_usd")]),
            "{case}: by_{report} row {row:?}"
        );
    }
}

/// by_model.csv's cost cells against the oracle's exact sums, model by model.
fn each_model_cell_is_exact(wd: &Workdir, period: Option<(i32, u32)>, case: &str) {
    // Exact in every cell: each model's row against the oracle's exact
    // sums, every cost cell and cost_usd within a micro-dollar (its
    // exact value rounded down or up).
    let mut exact: std::collections::BTreeMap<String, [Decimal; 5]> = Default::default();
    for (_, model, c) in priced(&wd.read("fleet/usage.csv"), period) {
        let e = exact.entry(model).or_default();
        let t = c.tokens;
        let parts = [t[0], t[1], t[2] + t[3], t[4], c.total()];
        for (sum, part) in e.iter_mut().zip(parts) {
            *sum += part;
        }
    }
    let rows = csv_rows(&wd.read("out/by_model.csv"));
    for row in &rows[1..] {
        let e = exact[&row[0]];
        for (k, cell) in [8, 9, 10, 11, 12].iter().enumerate() {
            let got = Decimal::from(micros(&row[*cell]));
            let want = e[k] * Decimal::from(1_000_000);
            assert!(
                got == want.floor() || got == want.ceil(),
                "{case}: by_model {} column {}: {got} µ$ for exact {want}",
                row[0],
                rows[0][*cell]
            );
        }
    }
}

/// by_step.csv, by_outcome.csv and focus.csv conserve the total cost and tokens.
fn the_answers_conserve_the_total(
    wd: &Workdir,
    summary: &serde_json::Value,
    records: u64,
    case: &str,
    cost: &dyn Fn(&str) -> i128,
) {
    // The answers conserve the total too: by_step and by_outcome per
    // row, focus.csv's cost columns and token quantities.
    let column_sum = |file: &str, column: &str, parse: &dyn Fn(&str) -> i128| {
        let rows = csv_rows(&wd.read(file));
        let i = rows[0].iter().position(|h| h == column).unwrap();
        rows[1..].iter().map(|r| parse(&r[i])).sum::<i128>()
    };
    let count = |cell: &str| cell.parse::<i128>().unwrap();
    let total_cost = cost("cost_usd");
    for (file, column) in [
        ("out/by_step.csv", "cost_usd"),
        ("out/by_outcome.csv", "cost_usd"),
        ("out/focus.csv", "BilledCost"),
        ("out/focus.csv", "ListCost"),
    ] {
        assert_eq!(
            column_sum(file, column, &micros),
            total_cost,
            "{case}: {file} {column}"
        );
    }
    assert_eq!(
        column_sum("out/by_step.csv", "calls", &count),
        records as i128,
        "{case}: by_step calls"
    );
    let all_tokens: u64 = [
        "uncached_input_tokens",
        "cache_read_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
    ]
    .iter()
    .map(|t| {
        summary_field(summary, &["totals", "tokens", t])
            .as_u64()
            .unwrap()
    })
    .sum();
    assert_eq!(
        column_sum("out/focus.csv", "ConsumedQuantity", &count),
        i128::from(all_tokens),
        "{case}: focus tokens"
    );
}

#[test]
fn true_up_billed_sums_exactly_to_the_invoice() {
    let mut state = 0xb111_u64;
    for case in 0..6 {
        let runs = 1 + next(&mut state) % 80;
        let seed = next(&mut state) % 10_000;
        let wd = Workdir::new("trueup-property");
        wd.run(&[
            "simulate",
            "--runs",
            &runs.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            "fleet",
        ]);
        // An invoice line per (provider, model, token type): the computed
        // cost moved by a random -5 % .. +5 %, to 6 places.
        let mut lines: std::collections::BTreeMap<(String, String, TokenType), Decimal> =
            Default::default();
        for (provider, model, cost) in priced(&wd.read("fleet/usage.csv"), Some((2025, 6))) {
            for t in TokenType::ALL {
                *lines
                    .entry((provider.clone(), model.clone(), t))
                    .or_default() += cost.tokens[t.index()];
            }
        }
        let mut invoice = String::from("provider,model,token_type,amount_usd\n");
        let mut invoiced = Decimal::ZERO;
        for ((provider, model, t), computed) in lines.iter().filter(|(_, c)| !c.is_zero()) {
            let factor = Decimal::new(95 + (next(&mut state) % 11) as i64, 2);
            let amount = (computed * factor).round_dp(6);
            invoiced += amount;
            invoice += &format!("{provider},{model},{},{amount}\n", t.key());
        }
        wd.write("invoice.csv", &invoice);
        let pricing = repo().join("pricing.toml");
        wd.run(&[
            "report",
            "--spans",
            "fleet/spans",
            "--usage",
            "fleet/usage.csv",
            "--period",
            "2025-06",
            "--invoice",
            "invoice.csv",
            "--true-up",
            "--tolerance",
            "100",
            "--out",
            "out",
            "--quiet",
            "--pricing",
            pricing.to_str().unwrap(),
        ]);
        let case = format!("case {case}: runs {runs}, seed {seed}");
        for report in REPORTS {
            let rows = csv_rows(&wd.read(&format!("out/by_{report}.csv")));
            let col = rows[0].iter().position(|h| h == "billed_usd").unwrap();
            let billed: i128 = rows[1..].iter().map(|r| micros(&r[col])).sum();
            assert_eq!(
                billed,
                Micros::round(invoiced).0,
                "{case}: by_{report} billed_usd = invoiced usage"
            );
        }
        let rows = csv_rows(&wd.read("out/focus.csv"));
        for column in ["BilledCost", "EffectiveCost"] {
            let col = rows[0].iter().position(|h| h == column).unwrap();
            let billed: i128 = rows[1..].iter().map(|r| micros(&r[col])).sum();
            assert_eq!(
                billed,
                Micros::round(invoiced).0,
                "{case}: focus.csv {column} = invoiced usage"
            );
        }
    }
}
