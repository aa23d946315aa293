//! The shipped sample month, run as the README runs it: the reports must
//! match the committed expected files byte for byte. After an intended
//! change, regenerate them with `UPDATE_EXPECTED=1 cargo test --test integration samples`
//! and review the diff.

use std::process::Command;

use crate::workdir::{repo, Workdir};

/// The README's first command, less its --out.
const README_COMMAND: [&str; 14] = [
    "report",
    "--spans",
    "samples/spans",
    "--usage",
    "samples/usage.csv",
    "--invoice",
    "samples/invoices",
    "--true-up",
    "--period",
    "2025-06",
    "--budgets",
    "samples/budgets.toml",
    "--quiet",
    "--out",
];

const FILES: [&str; 20] = [
    "by_tenant.csv",
    "by_feature.csv",
    "by_agent.csv",
    "by_tool.csv",
    "by_model.csv",
    "by_run.csv",
    "unattributed.csv",
    "unbilled_spans.csv",
    "reconciliation.csv",
    "distribution.csv",
    "outliers.csv",
    "by_step.csv",
    "by_outcome.csv",
    "budget.csv",
    "focus.csv",
    "report.html",
    "summary.json",
    "ledger.csv",
    "by_day.csv",
    "changes.csv",
];

#[test]
fn sample_month_reports_match_the_expected_files() {
    let wd = Workdir::new("samples");
    let out = wd.path("reports");
    let status = Command::new(env!("CARGO_BIN_EXE_tokenledger"))
        .args(README_COMMAND)
        .arg(&out)
        .current_dir(repo())
        .status()
        .unwrap();
    assert!(status.success());
    let expected_dir = repo().join("tests/expected/samples");
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    for name in FILES {
        let actual = std::fs::read_to_string(out.join(name)).unwrap();
        let path = expected_dir.join(name);
        if update {
            std::fs::create_dir_all(&expected_dir).unwrap();
            std::fs::write(&path, &actual).unwrap();
        }
        let expected =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            actual == expected,
            "{name} differs from tests/expected/samples/{name}"
        );
    }
}

#[test]
fn the_sample_month_has_every_case_the_readme_promises() {
    let summary =
        std::fs::read_to_string(repo().join("tests/expected/samples/summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let count = |k: &str| summary["counts"][k].as_u64().unwrap();
    assert!(count("unattributed") > 0, "billed calls without spans");
    assert!(count("unbilled_calls") > 0, "spans without billed calls");
    assert!(count("out_of_period") > 0, "records from the month before");
    let tokens = &summary["totals"]["tokens"];
    assert!(tokens["cache_read_tokens"].as_u64().unwrap() > 0);
    assert!(tokens["cache_write_5m_tokens"].as_u64().unwrap() > 0);
    assert!(tokens["cache_write_1h_tokens"].as_u64().unwrap() > 0);
    let usage = std::fs::read_to_string(repo().join("samples/usage.csv")).unwrap();
    assert!(
        usage.lines().any(|l| l.ends_with(",true")),
        "batch requests"
    );
    // o3 is used on both sides of its 2025-06-10 price change.
    assert!(usage
        .lines()
        .any(|l| l.contains(",2025-06-0") && l.contains("o3-2025-04-16")));
    assert!(usage
        .lines()
        .any(|l| l.contains(",2025-06-2") && l.contains("o3-2025-04-16")));
    // A long-context request: more than 200k prompt tokens.
    assert!(usage.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split(',').collect();
        f[4..8]
            .iter()
            .map(|n| n.parse::<u64>().unwrap())
            .sum::<u64>()
            > 200_000
    }));
    let agents =
        std::fs::read_to_string(repo().join("tests/expected/samples/by_tool.csv")).unwrap();
    assert!(
        agents.contains("\ndeep_research,"),
        "sub-agents invoked from a tool"
    );
    let expected = |name: &str| {
        crate::workdir::csv_rows(
            &std::fs::read_to_string(repo().join("tests/expected/samples").join(name)).unwrap(),
        )
    };
    assert!(expected("outliers.csv").len() > 1, "runs above their p99");
    assert!(
        expected("by_step.csv").len() > 4,
        "agent loops of several steps"
    );
    // No run mixes features, so a feature costs the same in by_feature.csv,
    // by_outcome.csv and distribution.csv, to the micro-dollar.
    let by_feature = expected("by_feature.csv");
    let by_outcome = expected("by_outcome.csv");
    let distribution = expected("distribution.csv");
    assert_eq!(by_feature.len(), by_outcome.len());
    for row in &by_feature[1..] {
        let outcome = by_outcome.iter().find(|r| r[0] == row[0]).unwrap();
        assert_eq!(outcome[3], row[11], "{}", row[0]);
        if let Some(spread) = distribution
            .iter()
            .find(|r| r[0] == "feature" && r[1] == row[0])
        {
            assert_eq!(spread[8], row[11], "{}", row[0]);
        }
    }
    assert!(
        by_outcome.iter().any(|r| r[2] != "0" && r[2] != r[1]),
        "runs that succeed and runs that fail"
    );
}

#[test]
fn the_simulator_regenerates_the_samples_byte_for_byte() {
    let wd = Workdir::new("resimulate");
    wd.run(&[
        "simulate",
        "--runs",
        "400",
        "--seed",
        "2025",
        "--month",
        "2025-06",
        "--span-files",
        "2",
        "--message-bytes",
        "200",
        "--out",
        "samples",
    ]);
    for name in [
        "usage.csv",
        "spans/part-0.jsonl",
        "spans/part-1.jsonl",
        "invoices/anthropic-cost-report.jsonl",
        "invoices/openai-costs.jsonl",
        "invoices/google-invoice.csv",
    ] {
        let shipped = std::fs::read(repo().join("samples").join(name)).unwrap();
        assert!(
            std::fs::read(wd.path(&format!("samples/{name}"))).unwrap() == shipped,
            "samples/{name} differs"
        );
    }
}
