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
        assert_eq!(outcome[3], row[12], "{}", row[0]);
        if let Some(spread) = distribution
            .iter()
            .find(|r| r[0] == "feature" && r[1] == row[0])
        {
            assert_eq!(spread[8], row[12], "{}", row[0]);
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
    let months = [
        ("2025-06", "2025", "samples", true),
        ("2025-05", "2505", "samples/2025-05", false),
    ];
    for (month, seed, out, changes) in months {
        let mut args = vec![
            "simulate",
            "--runs",
            "400",
            "--seed",
            seed,
            "--month",
            month,
            "--span-files",
            "2",
            "--message-bytes",
            "200",
            "--out",
            out,
        ];
        if changes {
            args.push("--changes");
        }
        wd.run(&args);
        for name in [
            "usage.csv",
            "spans/part-0.jsonl",
            "spans/part-1.jsonl",
            "invoices/anthropic-cost-report.jsonl",
            "invoices/openai-costs.jsonl",
            "invoices/google-invoice.csv",
        ] {
            let shipped = std::fs::read(repo().join(out).join(name)).unwrap();
            assert!(
                std::fs::read(wd.path(&format!("{out}/{name}"))).unwrap() == shipped,
                "{out}/{name} differs"
            );
        }
    }
}

/// The README's May report and `diff` against June: the terminal answer
/// and `diff_by_tenant.csv` match the committed expected files.
#[test]
fn the_sample_months_diff_as_the_readme_shows() {
    let wd = Workdir::new("samples-diff");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tokenledger"))
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (may, june, diff) = (wd.path("may"), wd.path("june"), wd.path("diff"));
    let mut june_args = README_COMMAND.to_vec();
    june_args.push(june.to_str().unwrap());
    run(&june_args);
    run(&[
        "report",
        "--spans",
        "samples/2025-05/spans",
        "--usage",
        "samples/2025-05/usage.csv",
        "--invoice",
        "samples/2025-05/invoices",
        "--true-up",
        "--period",
        "2025-05",
        "--quiet",
        "--out",
        may.to_str().unwrap(),
    ]);
    let stdout = run(&[
        "diff",
        may.to_str().unwrap(),
        june.to_str().unwrap(),
        "--out",
        diff.to_str().unwrap(),
    ]);
    let expected_dir = repo().join("tests/expected/samples-diff");
    let files = [
        ("diff.txt", stdout),
        (
            "diff_by_tenant.csv",
            std::fs::read_to_string(diff.join("diff_by_tenant.csv")).unwrap(),
        ),
        (
            "changes.csv",
            std::fs::read_to_string(june.join("changes.csv")).unwrap(),
        ),
    ];
    for (name, actual) in files {
        let path = expected_dir.join(name);
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::create_dir_all(&expected_dir).unwrap();
            std::fs::write(&path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap();
        assert!(actual == expected, "{name} differs from {}", path.display());
    }
    the_expected_diff_tells_junes_story(&expected_dir);
}

/// The committed diff_by_tenant.csv and diff.txt tell what the simulator wrote into June.
fn the_expected_diff_tells_junes_story(expected_dir: &std::path::Path) {
    // The story the simulator wrote into June: acme-corp's extra load is the
    // top tenant driver, by volume; the o3 price cut is a negative price
    // effect; the new feature is new; the retry loop starts on the 12th.
    let tenants = crate::workdir::csv_rows(
        &expected_dir
            .join("diff_by_tenant.csv")
            .to_str()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .unwrap(),
    );
    assert_eq!(tenants[1][0], "acme-corp");
    assert!(
        crate::workdir::micros(&tenants[1][6]) > 0,
        "acme-corp's volume effect"
    );
    let text = std::fs::read_to_string(expected_dir.join("diff.txt")).unwrap();
    assert!(text.contains("  price effect  -$"), "{text}");
    assert!(text.contains("feature contract-analysis ("), "{text}");
    assert!(
        text.contains("agent review_agent loop ×") && text.contains(" from 2025-06-12 "),
        "{text}"
    );
    assert!(
        text.contains("feature contract-analysis appeared on 2025-06-09"),
        "{text}"
    );
}
