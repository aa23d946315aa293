//! A run never deletes a file it did not write and never writes into one
//! of its inputs: a file saved into `--out` while a run is writing is
//! kept, and an output directory that is, holds or lies inside an input is
//! refused (`diff --out PREV`, `merge --out SHARD`).

use std::time::{Duration, Instant};

use crate::workdir::{repo, Workdir, HANDMADE_REPORT};

#[test]
fn a_file_saved_into_out_while_a_run_writes_is_kept() {
    let wd = Workdir::new("saved-during");
    wd.run(&["simulate", "--runs", "2000", "--out", "fleet"]);
    let pricing = repo().join("pricing.toml");
    let args = [
        "report",
        "--spans",
        "fleet/spans",
        "--usage",
        "fleet/usage.csv",
        "--out",
        "reports",
        "--quiet",
        "--pricing",
        pricing.to_str().unwrap(),
    ];
    wd.run(&args);
    // The user saves a file into the reports while a rerun is writing
    // them (its temporary directory exists): the rerun must not delete it.
    let mut refused = 0;
    for attempt in 0..5 {
        let mut child = wd.command(&args).spawn().unwrap();
        let temp = wd.path(&format!(".reports.tmp-{}", child.id()));
        let started = Instant::now();
        while !temp.exists() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_micros(200));
        }
        let note = format!("notes-{attempt}.txt");
        wd.write(&format!("reports/{note}"), "mine");
        let status = child.wait().unwrap();
        assert_eq!(
            wd.read(&format!("reports/{note}")),
            "mine",
            "attempt {attempt}"
        );
        if status.code() == Some(2) {
            refused += 1;
        }
        std::fs::remove_file(wd.path(&format!("reports/{note}"))).unwrap();
    }
    assert!(refused > 0, "no attempt saved its file while the run wrote");
    // Every temporary directory and lock is gone.
    let leftovers: Vec<String> = std::fs::read_dir(&wd.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".reports."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_output_directory_is_never_an_input() {
    let wd = Workdir::handmade("out-input");
    for (period, out) in [("2025-05", "may"), ("2025-06", "june")] {
        let mut args = HANDMADE_REPORT.to_vec();
        args[8] = out;
        args.extend(["--period", period, "--quiet"]);
        wd.run(&args);
    }
    let before = std::fs::read(wd.path("june/ledger.csv")).unwrap();
    for out in ["may", "june", "june/diff", "."] {
        let stderr = wd.fail(&["diff", "may", "june", "--out", out], 2);
        let refused = stderr.contains("tokenledger never writes into its inputs")
            || stderr.contains("name a directory of its own");
        assert!(refused, "{out}: {stderr}");
    }
    assert_eq!(std::fs::read(wd.path("june/ledger.csv")).unwrap(), before);
    assert!(wd.path("may/summary.json").is_file());
    // The same for report: its output inside a span directory.
    let mut args = HANDMADE_REPORT.to_vec();
    args[8] = "spans/out";
    let stderr = wd.fail(&args, 2);
    assert!(stderr.contains("is inside the input"), "{stderr}");
    assert!(!wd.path("spans/out").exists());
}

#[test]
fn merge_never_writes_over_a_partial() {
    let wd = Workdir::handmade("merge-over");
    for shard in ["0/2", "1/2"] {
        let mut args = HANDMADE_REPORT.to_vec();
        let out = format!("part-{}", &shard[..1]);
        args[8] = &out;
        args.extend(["--shard", shard]);
        wd.run(&args);
    }
    let partial = std::fs::read(wd.path("part-0/calls.jsonl")).unwrap();
    let stderr = wd.fail(
        &[
            "merge",
            "part-0",
            "part-1",
            "--usage",
            "usage.csv",
            "--pricing",
            "pricing.toml",
            "--min-match",
            "0",
            "--out",
            "part-0",
        ],
        2,
    );
    assert!(
        stderr.contains("tokenledger never writes into its inputs"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(wd.path("part-0/calls.jsonl")).unwrap(),
        partial
    );
}
