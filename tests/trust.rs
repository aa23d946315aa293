//! A later command checks what an earlier one wrote before trusting it:
//! `diff` refuses a month whose ledger was edited or cut short, or priced
//! in another currency; `merge` refuses shards that read different bytes
//! of a span file (or two streams on standard input), and a trace split
//! between two shards. Values that
//! `report` neutralised for spreadsheets compare as the values they are.

use crate::workdir::{csv_rows, reseal, Workdir, HANDMADE_REPORT};

/// The hand-made fleet's May and June, reported into `may/` and `june/`
/// (June with `flags`).
fn months(name: &str, june_flags: &[&str]) -> Workdir {
    let wd = Workdir::handmade(name);
    for (period, out) in [("2025-05", "may"), ("2025-06", "june")] {
        let mut args = HANDMADE_REPORT.to_vec();
        args[8] = out;
        args.extend(["--period", period, "--quiet"]);
        if out == "june" {
            args.extend(june_flags);
        }
        wd.run(&args);
    }
    wd
}

#[test]
fn diff_refuses_a_ledger_edited_or_cut_short() {
    let wd = months("trust-ledger", &[]);
    let ledger = wd.read("june/ledger.csv");
    let rows = csv_rows(&ledger);
    let cost = &rows[1][18];
    // One cost edited: the file is not the one report wrote.
    wd.write(
        "june/ledger.csv",
        &ledger.replacen(&format!(",{cost}\n"), ",0.5\n", 1),
    );
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.contains("june/ledger.csv: changed since `tokenledger report --out` wrote it"),
        "{stderr}"
    );
    // The manifest forged too: the line no longer costs quantity × price.
    reseal(&wd.path("june"));
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.contains("june/ledger.csv:2: cost_usd 0.5 is not quantity"),
        "{stderr}"
    );
    // Quantity and price each within their bounds, their product beyond
    // what a decimal holds: refused, not a panic; and a digit beyond what
    // a decimal holds is refused, not rounded away.
    let mut row = rows[1].clone();
    (row[15], row[17], row[18]) = (
        "1000000000000000000".into(),
        "1000000000000".into(),
        "1".into(),
    );
    let huge = ledger.replacen(&rows[1].join(","), &row.join(","), 1);
    wd.write("june/ledger.csv", &huge);
    reseal(&wd.path("june"));
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.contains("june/ledger.csv:2: cost_usd 1 is not quantity"),
        "{stderr}"
    );
    row[15] = "8261.0000000000000000000000001".into();
    wd.write(
        "june/ledger.csv",
        &ledger.replacen(&rows[1].join(","), &row.join(","), 1),
    );
    reseal(&wd.path("june"));
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.contains("june/ledger.csv:2: quantity: unexpected value"),
        "{stderr}"
    );
    // Cut short on a line boundary, the manifest forged but not the summary.
    wd.write("june/ledger.csv", &ledger);
    reseal(&wd.path("june"));
    let cut: String = ledger.lines().take(2).map(|l| format!("{l}\n")).collect();
    wd.write("june/ledger.csv", &cut);
    let summary = wd.read("june/summary.json");
    reseal(&wd.path("june"));
    wd.write("june/summary.json", &summary);
    let sha = |bytes: &[u8]| tokenledger::manifest::sha256(bytes);
    let manifest = wd.read("june/.tokenledger-manifest");
    let forged: String = manifest
        .lines()
        .map(|l| match l.ends_with("  summary.json") {
            true => format!("{}  summary.json\n", sha(summary.as_bytes())),
            false => format!("{l}\n"),
        })
        .collect();
    wd.write("june/.tokenledger-manifest", &forged);
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.contains("june/ledger.csv: the lines sum to $")
            && stderr.contains("but summary.json's total is $1.022358"),
        "{stderr}"
    );
}

#[test]
fn diff_refuses_two_currencies() {
    let wd = months("trust-currency", &[]);
    let summary = wd.read("june/summary.json");
    wd.write(
        "june/summary.json",
        &summary.replace("\"currency\": \"USD\"", "\"currency\": \"EUR\""),
    );
    reseal(&wd.path("june"));
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.contains("may was priced in USD and june in EUR"),
        "{stderr}"
    );
}

#[test]
fn neutralised_and_raw_months_compare_as_values() {
    // A tenant named like a formula: one month written raw, one not.
    let wd = Workdir::handmade("trust-raw");
    let spans = std::fs::read_dir(wd.path("spans")).unwrap();
    for entry in spans {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"acme\"", "\"=acme\"")).unwrap();
    }
    for (out, raw) in [("a", true), ("b", false)] {
        let mut args = HANDMADE_REPORT.to_vec();
        args[8] = out;
        args.extend(["--period", "2025-06", "--quiet"]);
        if raw {
            args.push("--raw-csv");
        }
        wd.run(&args);
    }
    assert!(wd.read("b/ledger.csv").contains(",'=acme,"));
    assert!(wd.read("a/ledger.csv").contains(",=acme,"));
    wd.run(&["diff", "a", "b", "--out", "diff", "--raw-csv", "--quiet"]);
    let tenants = wd.read("diff/diff_by_tenant.csv");
    let acme: Vec<&str> = tenants.lines().filter(|l| l.contains("acme")).collect();
    assert_eq!(acme.len(), 1, "{tenants}");
    assert!(
        acme[0].starts_with("=acme,") && acme[0].ends_with(",changed"),
        "{tenants}"
    );
}

/// `report --shard I/2` of the simulated fleet into `p{I}`.
fn shard(wd: &Workdir, i: u32) -> String {
    let out = format!("p{i}");
    wd.run(&[
        "report",
        "--spans",
        "fleet/spans",
        "--usage",
        "fleet/usage.csv",
        "--shard",
        &format!("{i}/2"),
        "--out",
        &out,
        "--quiet",
    ]);
    out
}

#[test]
fn merge_refuses_span_files_that_changed_between_shards() {
    let wd = Workdir::new("trust-shards");
    wd.run(&["simulate", "--runs", "30", "--seed", "3", "--out", "fleet"]);
    let merge = ["merge", "p0", "p1", "--usage", "fleet/usage.csv", "--quiet"];
    shard(&wd, 0);
    // The span file grows (a late export) before shard 1 runs.
    let file = wd.path("fleet/spans/part-0.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let first = text.lines().next().unwrap();
    std::fs::write(&file, format!("{text}{first}\n")).unwrap();
    shard(&wd, 1);
    let stderr = wd.fail(&merge, 2);
    assert!(
        stderr.contains("fleet/spans/part-0.jsonl: shard 0/2 read ")
            && stderr.contains("the file changed between the shards' runs"),
        "{stderr}"
    );
    // Rewritten to the same size: still refused.
    std::fs::write(&file, &text).unwrap();
    shard(&wd, 1);
    wd.run(&merge);
    let swapped = text.replacen("\"app.feature\"", "\"app.featurf\"", 1);
    assert_eq!(swapped.len(), text.len());
    std::fs::write(&file, &swapped).unwrap();
    shard(&wd, 1);
    let stderr = wd.fail(&merge, 2);
    assert!(stderr.contains("the file changed between"), "{stderr}");
    // A partial edited after it was written is not trusted.
    std::fs::write(&file, &text).unwrap();
    shard(&wd, 1);
    let calls = wd.read("p1/calls.jsonl");
    wd.write(
        "p1/calls.jsonl",
        &calls.replacen("\"tenant\":", "\"tenant\": ", 1),
    );
    let stderr = wd.fail(&merge, 2);
    assert!(
        stderr.contains(
            "p1/calls.jsonl: changed since `tokenledger report --shard I/N --out` wrote it"
        ),
        "{stderr}"
    );
}

#[test]
fn merge_refuses_a_trace_split_between_two_shards() {
    let wd = Workdir::new("trust-split");
    wd.run(&["simulate", "--runs", "20", "--seed", "4", "--out", "fleet"]);
    // Route the span lines to two files by line, not by trace: a trace's
    // spans land in both.
    let text = wd.read("fleet/spans/part-0.jsonl") + &wd.read("fleet/spans/part-1.jsonl");
    let (mut a, mut b) = (String::new(), String::new());
    for (n, line) in text.lines().enumerate() {
        let to = if n % 2 == 0 { &mut a } else { &mut b };
        to.push_str(line);
        to.push('\n');
    }
    wd.write("routed/0/spans.jsonl", &a);
    wd.write("routed/1/spans.jsonl", &b);
    for i in ["0", "1"] {
        wd.run(&[
            "report",
            "--spans",
            &format!("routed/{i}"),
            "--usage",
            "fleet/usage.csv",
            "--shard",
            &format!("{i}/2"),
            "--whole-traces",
            "--out",
            &format!("p{i}"),
            "--quiet",
            "--lenient",
        ]);
    }
    let stderr = wd.fail(&["merge", "p0", "p1", "--usage", "fleet/usage.csv"], 2);
    assert!(
        stderr.contains("is in the partials of shards 0 and 1 of 2: its spans were split"),
        "{stderr}"
    );
}

#[test]
fn a_strict_merge_refuses_partials_that_skipped_bad_lines() {
    let wd = Workdir::new("trust-lenient");
    wd.run(&["simulate", "--runs", "10", "--seed", "5", "--out", "fleet"]);
    let shards = |flags: &[&str]| {
        for i in ["0", "1"] {
            let (shard, out) = (format!("{i}/2"), format!("p{i}"));
            let mut args = vec!["report", "--spans", "fleet/spans", "--usage"];
            args.extend([
                "fleet/usage.csv",
                "--shard",
                &shard,
                "--out",
                &out,
                "--quiet",
            ]);
            args.extend(flags);
            wd.run(&args);
        }
    };
    let merge = ["merge", "p0", "p1", "--usage", "fleet/usage.csv", "--quiet"];
    // A file of another kind is passed over, noted, by any run: merged.
    wd.write("fleet/spans/README.md", "the fleet's spans\n");
    shards(&[]);
    wd.run(&[&merge[..], &["--out", "strict"]].concat());
    let file = wd.path("fleet/spans/part-0.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{{\"resourceSpans\": [ broken\n{text}")).unwrap();
    shards(&["--lenient"]);
    // One run without --lenient stops on the line; so does the merge.
    let stderr = wd.fail(&merge, 2);
    assert!(
        stderr.starts_with("tokenledger: p0: its shard ran with --lenient and skipped 1 record(s)")
            && stderr.contains("fleet/spans/part-0.jsonl:1: "),
        "{stderr}"
    );
    wd.run(&[&merge[..], &["--lenient", "--out", "merged"]].concat());
    let summary = wd.read("merged/summary.json");
    assert!(summary.contains("\"bad-json\": 1"), "{summary}");
}

#[test]
fn shards_of_two_different_streams_are_refused() {
    let wd = Workdir::new("shard-stdin");
    wd.run(&[
        "simulate",
        "--runs",
        "40",
        "--seed",
        "3",
        "--span-files",
        "2",
        "--out",
        "fleet",
    ]);
    for (i, file) in ["part-0", "part-1"].iter().enumerate() {
        let shard = format!("{i}/2");
        let mut command = wd.command(&["report", "--spans", "-", "--shard", &shard]);
        command.args(["--out", &format!("s{i}"), "--quiet"]);
        let spans = std::fs::File::open(wd.path(&format!("fleet/spans/{file}.jsonl"))).unwrap();
        assert!(command.stdin(spans).status().unwrap().success());
    }
    let merge = [
        "merge",
        "s0",
        "s1",
        "--usage",
        "fleet/usage.csv",
        "--out",
        "m",
    ];
    let stderr = wd.fail(&merge, 2);
    assert!(stderr.contains("-: shard 0/2 read"), "{stderr}");
    assert!(
        stderr.contains("the file changed between the shards' runs"),
        "{stderr}"
    );
}

#[test]
fn diff_names_a_gate_a_month_failed() {
    // A month whose own run failed a gate (no usage in its period) was
    // compared as any other, with nothing said.
    let wd = months("trust-gates", &[]);
    let mut args = HANDMADE_REPORT.to_vec();
    args[8] = "april";
    args.extend(["--period", "2025-04", "--quiet"]);
    wd.fail(&args, 1);
    let out = wd.output(&["diff", "april", "june"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "warning: april's run failed 1 gate(s), the first: no usage record in --period 2025-04"
        ),
        "{stderr}"
    );
}
