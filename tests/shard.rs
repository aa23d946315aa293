//! `report --shard I/N` and `merge`: the merged reports of any number of
//! shards are byte-identical to one unsharded run.

use crate::workdir::{repo, Workdir};

/// Every file of a report directory, by name.
pub fn files(wd: &Workdir, dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(wd.path(dir))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// One file's text among `files`.
pub fn text_of(files: &[(String, Vec<u8>)], name: &str) -> String {
    let file = files.iter().find(|f| f.0 == name).unwrap();
    String::from_utf8(file.1.clone()).unwrap()
}

/// The same files, byte for byte; `what` names the run compared.
pub fn assert_same_files(got: &[(String, Vec<u8>)], want: &[(String, Vec<u8>)], what: &str) {
    assert_eq!(
        got.iter().map(|f| &f.0).collect::<Vec<_>>(),
        want.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "{what}: the same files"
    );
    for ((name, bytes), (_, expected)) in got.iter().zip(want) {
        assert!(bytes == expected, "{what}: {name} differs");
    }
}

pub const FLAGS: [&str; 12] = [
    "--usage",
    "fleet/usage.csv",
    "--invoice",
    "fleet/invoices",
    "--true-up",
    "--period",
    "2025-06",
    "--lenient",
    "--quiet",
    "--budgets",
    "budgets.toml",
    "--threads",
];

#[test]
fn merged_shards_are_byte_identical_to_one_run() {
    let wd = Workdir::new("shard");
    wd.run(&[
        "simulate",
        "--runs",
        "300",
        "--seed",
        "77",
        "--span-files",
        "3",
        "--out",
        "fleet",
    ]);
    // A malformed line: every shard meets it, the first alone counts it.
    let spans = wd.read("fleet/spans/part-1.jsonl");
    // And a span with a bad id, in whichever shard its trace falls.
    let bad_id = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"xyz","name":"bad"}]}]}]}"#;
    wd.write(
        "fleet/spans/part-1.jsonl",
        &format!("{{not json\n{bad_id}\n{spans}"),
    );
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"tenant\"\nkey = \"acme-corp\"\nusd = 5\n",
    );
    let mut full = vec!["report", "--spans", "fleet/spans", "--out", "full"];
    full.extend(FLAGS);
    full.push("2");
    wd.run(&full);
    let expected = files(&wd, "full");
    assert!(expected.iter().any(|(name, _)| name == "focus.csv"));
    let summary = text_of(&expected, "summary.json");
    assert!(summary.contains("\"bad-json\": 1"), "{summary}");
    assert!(summary.contains("\"bad-span\": 1"), "{summary}");

    for n in [1u32, 3, 5] {
        let mut partials = Vec::new();
        for i in 0..n {
            let dir = format!("part-{n}-{i}");
            let shard = format!("{i}/{n}");
            let mut args = vec![
                "report",
                "--spans",
                "fleet/spans",
                "--shard",
                &shard,
                "--out",
                &dir,
            ];
            // A shard reads the spans alone: given the usage and invoice
            // flags or not, its partial is the same.
            match n {
                3 => args.extend(["--lenient", "--quiet", "--threads"]),
                _ => args.extend(FLAGS),
            }
            args.push("1");
            wd.run(&args);
            partials.push(dir);
        }
        // Any order of the partials.
        partials.reverse();
        let out = format!("merged-{n}");
        let mut args = vec!["merge"];
        args.extend(partials.iter().map(String::as_str));
        args.extend(["--out", &out]);
        args.extend(&FLAGS[..FLAGS.len() - 1]);
        wd.run(&args);
        assert_same_files(&files(&wd, &out), &expected, &format!("{n} shards"));
    }
}

#[test]
fn merge_needs_every_shard_exactly_once() {
    let wd = Workdir::new("shard-missing");
    wd.run(&["simulate", "--runs", "20", "--seed", "5", "--out", "fleet"]);
    for i in ["0", "1"] {
        let shard = format!("{i}/3");
        wd.run(&[
            "report",
            "--spans",
            "fleet/spans",
            "--usage",
            "fleet/usage.csv",
            "--shard",
            &shard,
            "--out",
            &format!("p{i}"),
            "--quiet",
        ]);
    }
    merge_refuses_shards_missing_absent_or_run_otherwise(&wd);
    // --shard without --out, and a shard that does not exist.
    wd.fail(
        &[
            "report",
            "--spans",
            "fleet/spans",
            "--usage",
            "fleet/usage.csv",
            "--shard",
            "0/2",
        ],
        2,
    );
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "fleet/spans",
            "--usage",
            "fleet/usage.csv",
            "--shard",
            "2/2",
            "--out",
            "x",
        ],
        2,
    );
    assert!(
        stderr.contains("expected I/N with 0 <= I < N (e.g. 0/4), got \"2/2\""),
        "{stderr}"
    );
}

/// Merges of p0 and p1 with a shard missing, not a partial, absent or run otherwise.
fn merge_refuses_shards_missing_absent_or_run_otherwise(wd: &Workdir) {
    let stderr = wd.fail(
        &[
            "merge",
            "p0",
            "p1",
            "--usage",
            "fleet/usage.csv",
            "--out",
            "out",
        ],
        2,
    );
    assert_eq!(
        stderr,
        "tokenledger: merge needs every shard of one split exactly once: got shards 0/3, 1/3; missing 2/3\n"
    );
    let stderr = wd.fail(
        &[
            "merge",
            "fleet",
            "--usage",
            "fleet/usage.csv",
            "--out",
            "out",
        ],
        2,
    );
    assert!(
        stderr.starts_with("tokenledger: fleet/partial.json: "),
        "{stderr}"
    );
    // A partial that is not there, and a shard run with other keys: named.
    let merge = |parts: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(parts);
        args.extend(["--usage", "fleet/usage.csv", "--out", "out"]);
        wd.fail(&args, 2)
    };
    let stderr = merge(&["p0", "p1", "p9"]);
    assert!(stderr.starts_with("tokenledger: p9: "), "{stderr}");
    let mut args = vec![
        "report",
        "--spans",
        "fleet/spans",
        "--usage",
        "fleet/usage.csv",
    ];
    args.extend([
        "--shard",
        "2/3",
        "--out",
        "p2",
        "--quiet",
        "--feature-attr",
        "f",
    ]);
    wd.run(&args);
    assert_eq!(
        merge(&["p0", "p1", "p2"]),
        "tokenledger: p2: this shard was run with --feature-attr f, shard 0 with app.feature; \
         run every shard with the merge's arguments\n"
    );
    assert!(!wd.path("out").exists(), "nothing written");
}

/// `report` on the sample month, less `--spans` and `--out`.
const SAMPLE_FLAGS: [&str; 11] = [
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
    "--threads",
];

/// A work dir holding the sample month (its spans, usage, invoices, budgets).
pub fn sample_month(name: &str) -> Workdir {
    let wd = Workdir::new(name);
    for part in ["spans", "usage.csv", "invoices", "budgets.toml"] {
        wd.copy(
            &repo().join("samples").join(part),
            &format!("samples/{part}"),
        );
    }
    wd
}

/// Every file below `dir` (hidden ones included), by path.
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().unwrap().is_dir() {
            found.extend(files_under(&entry.path()));
        } else {
            found.push(entry.path().display().to_string());
        }
    }
    found
}

/// Every span of an OTLP JSON lines file: (trace id, span id, line).
fn spans_of(text: &str) -> Vec<(String, String, usize)> {
    let mut spans = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let data: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(resources) = data["resourceSpans"].as_array() else {
            assert!(line.starts_with(r#"{"tokenledgerPartitionEnd""#), "{line}");
            continue;
        };
        for resource in resources {
            for scope in resource["scopeSpans"].as_array().unwrap() {
                for span in scope["spans"].as_array().unwrap() {
                    let id = |k: &str| span[k].as_str().unwrap().to_string();
                    spans.push((id("traceId"), id("spanId"), i + 1));
                }
            }
        }
    }
    spans
}

#[test]
fn partitioned_shards_merge_byte_identical_to_one_run() {
    let wd = sample_month("partition");
    let mut full = vec!["report", "--spans", "samples/spans", "--out", "full"];
    full.extend(SAMPLE_FLAGS);
    full.push("2");
    wd.run(&full);
    let expected = files(&wd, "full");
    assert!(wd
        .read("full/unbilled_spans.csv")
        .contains("samples/spans/part-1.jsonl:"));
    // Two runs over disjoint groups of span files share one --out.
    for file in ["samples/spans/part-0.jsonl", "samples/spans/part-1.jsonl"] {
        wd.run(&[
            "partition",
            "--spans",
            file,
            "--into",
            "3",
            "--out",
            "parts",
            "--quiet",
        ]);
    }
    let dirs: Vec<String> = (0..3)
        .map(|i| format!("parts/part-0000{i}-of-00003"))
        .collect();
    each_span_is_in_exactly_one_partition(&wd, &dirs);
    shard_each_partition_and_merge(&wd, &dirs);
    assert_same_files(&files(&wd, "merged"), &expected, "partitioned shards");
    // A rerun of a partition replaces its own files, with the same bytes.
    let before = wd.read("parts/part-00002-of-00003/part-1.jsonl");
    wd.run(&[
        "partition",
        "--spans",
        "samples/spans/part-1.jsonl",
        "--into",
        "3",
        "--out",
        "parts",
        "--quiet",
    ]);
    assert_eq!(wd.read("parts/part-00002-of-00003/part-1.jsonl"), before);
    a_partition_given_wrong_cut_short_or_lost_is_named(&wd, &dirs);
}

/// Each source's spans: each in one partition, on its own line, each trace in one.
fn each_span_is_in_exactly_one_partition(wd: &Workdir, dirs: &[String]) {
    // Every span of the input is in exactly one partition, on its own line
    // number, and every trace in one partition only.
    for name in ["part-0.jsonl", "part-1.jsonl"] {
        let source = wd.read(&format!("samples/spans/{name}"));
        let mut want = spans_of(&source);
        let mut got = Vec::new();
        let mut owner = std::collections::HashMap::new();
        for (i, dir) in dirs.iter().enumerate() {
            let part = wd.read(&format!("{dir}/{name}"));
            // The source's lines, then partition's own last line.
            assert_eq!(
                part.lines().count(),
                source.lines().count() + 1,
                "{dir}/{name}"
            );
            let last = part.lines().last().unwrap();
            assert!(
                last.starts_with(r#"{"tokenledgerPartitionEnd":{"source_bytes":"#),
                "{last}"
            );
            let first = part.lines().next().unwrap();
            assert!(
                first.starts_with(&format!(
                    r#"{{"tokenledgerPartition":{{"source":"samples/spans/{name}","index":{i},"count":3,"at":"/"#
                )),
                "{first}"
            );
            for span in spans_of(&part) {
                assert_eq!(
                    *owner.entry(span.0.clone()).or_insert(i),
                    i,
                    "trace {}",
                    span.0
                );
                got.push(span);
            }
        }
        want.sort();
        got.sort();
        assert_eq!(got, want, "{name}: the spans, each once");
    }
}

/// One `--whole-traces` shard per partition, merged in any order into `merged/`.
fn shard_each_partition_and_merge(wd: &Workdir, dirs: &[String]) {
    // One shard per partition, no hash filter; merged in any order.
    let mut partials = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let shard = format!("{i}/3");
        let out = format!("partial-{i}");
        let threads = if i == 1 { "1" } else { "2" };
        let mut args = vec![
            "report",
            "--spans",
            dir,
            "--shard",
            &shard,
            "--whole-traces",
            "--out",
            &out,
        ];
        args.extend(SAMPLE_FLAGS);
        args.push(threads);
        wd.run(&args);
        partials.push(out);
    }
    partials.reverse();
    let mut args = vec!["merge"];
    args.extend(partials.iter().map(String::as_str));
    args.extend(["--out", "merged"]);
    args.extend(&SAMPLE_FLAGS[..SAMPLE_FLAGS.len() - 1]);
    wd.run(&args);
}

/// A partition read by the wrong shard, one cut short, and one lost before a merge.
fn a_partition_given_wrong_cut_short_or_lost_is_named(wd: &Workdir, dirs: &[String]) {
    // A partition given to the wrong shard, and a part lost on the way.
    let mut wrong = vec![
        "report",
        "--spans",
        &dirs[0],
        "--shard",
        "1/3",
        "--whole-traces",
        "--out",
        "x",
    ];
    wrong.extend(SAMPLE_FLAGS);
    wrong.push("1");
    let stderr = wd.fail(&wrong, 2);
    assert!(
        stderr.contains("part-0.jsonl: holds the traces of partition 0/3 (of samples/spans/part-0.jsonl), but this run is --shard 1/3"),
        "{stderr}"
    );
    // A part cut short inside a line: named, not its intact source.
    let part = "parts/part-00002-of-00003/part-0.jsonl";
    let whole = wd.read(part);
    let second = whole.find('\n').unwrap() + 10;
    wd.write(part, &whole[..second]);
    let mut cut = wrong.clone();
    (cut[2], cut[4]) = (&dirs[2], "2/3");
    let stderr = wd.fail(&cut, 2);
    let named = format!("{part} (cut from samples/spans/part-0.jsonl):2: not an OTLP");
    assert!(stderr.contains(&named), "{stderr}");
    wd.write(part, &whole);
    std::fs::remove_file(wd.path("parts/part-00001-of-00003/part-1.jsonl")).unwrap();
    let mut args = vec![
        "report",
        "--spans",
        &dirs[1],
        "--shard",
        "1/3",
        "--whole-traces",
        "--out",
        "partial-1",
    ];
    args.extend(SAMPLE_FLAGS);
    args.push("1");
    wd.run(&args);
    let mut args = vec![
        "merge",
        "partial-0",
        "partial-1",
        "partial-2",
        "--out",
        "lost",
    ];
    args.extend(&SAMPLE_FLAGS[..SAMPLE_FLAGS.len() - 1]);
    let stderr = wd.fail(&args, 2);
    assert_eq!(
        stderr,
        "tokenledger: samples/spans/part-1.jsonl: cut into 3 partitions, but shard 1/3 read no part of \
         it: was a file lost on the way? Rerun those shards with every partition file\n"
    );
    assert!(!wd.path("lost").exists());
}

/// Break the input token count of the first call on line 9 of part-0 and
/// line 3 of part-2, and give the first traces of part-1's lines 1 and 2 a
/// second root (a trace id reused, met when the trees are resolved, after
/// every file is read).
fn break_spans(wd: &Workdir) {
    let count = r#""gen_ai.usage.input_tokens","value":{"intValue":""#;
    let bad = r#""gen_ai.usage.input_tokens","value":{"stringValue":"x"#;
    let root = |trace: &str| {
        format!(
            r#"{{"traceId":"{trace}","spanId":"00000000000000f1","name":"again","startTimeUnixNano":"1749000000000000000","endTimeUnixNano":"1749000000000000001","attributes":[]}},"#
        )
    };
    for (file, at) in [("part-0", 8), ("part-1", 0), ("part-1", 1), ("part-2", 2)] {
        let path = format!("fleet/spans/{file}.jsonl");
        let mut lines: Vec<String> = wd.read(&path).lines().map(str::to_string).collect();
        lines[at] = match file {
            "part-1" => {
                let trace = lines[at].split(r#""traceId":""#).nth(1).unwrap()[..32].to_string();
                lines[at].replacen(r#""spans":["#, &format!(r#""spans":[{}"#, root(&trace)), 1)
            }
            _ => lines[at].replacen(count, bad, 1),
        };
        wd.write(&path, &(lines.join("\n") + "\n"));
    }
}

#[test]
fn skipped_spans_merge_as_one_run_counts_and_names_them() {
    let wd = Workdir::new("shard-skips");
    let sim = [
        "simulate",
        "--runs",
        "300",
        "--seed",
        "77",
        "--span-files",
        "3",
    ];
    wd.run(&[&sim[..], &["--out", "fleet"]].concat());
    break_spans(&wd);
    let month = [
        "--usage",
        "fleet/usage.csv",
        "--period",
        "2025-06",
        "--lenient",
        "--quiet",
    ];
    wd.run(
        &[
            &["report", "--spans", "fleet/spans", "--out", "one"],
            &month[..],
        ]
        .concat(),
    );
    let expected = files(&wd, "one");
    let summary = text_of(&expected, "summary.json");
    assert!(
        summary.contains("\"bad-span\": 2,\n      \"reused-trace-id\": 2"),
        "{summary}"
    );
    // Hash-filtered shards: every shard meets every bad span (the first
    // counts them); partitions: each shard its own, named by the source.
    let cut = [
        "partition",
        "--spans",
        "fleet/spans",
        "--into",
        "3",
        "--out",
        "parts",
        "-q",
    ];
    wd.run(&cut);
    for whole in [false, true] {
        let mut partials = Vec::new();
        for i in 0..3 {
            let (shard, out) = (format!("{i}/3"), format!("p-{whole}-{i}"));
            let part = format!("parts/part-0000{i}-of-00003");
            let spans = if whole { part.as_str() } else { "fleet/spans" };
            let mut args = vec!["report", "--spans", spans, "--shard", &shard, "--lenient"];
            args.extend(["--out", &out, "--quiet"]);
            args.extend(whole.then_some("--whole-traces"));
            wd.run(&args);
            partials.push(out);
        }
        let out = format!("merged-{whole}");
        let mut args: Vec<&str> = vec!["merge"];
        args.extend(partials.iter().map(String::as_str));
        wd.run(&[&args[..], &["--out", &out], &month[..]].concat());
        assert_same_files(
            &files(&wd, &out),
            &expected,
            &format!("whole traces {whole}"),
        );
        let strict = [
            &args[..],
            &["--usage", "fleet/usage.csv", "--out", "strict"],
        ]
        .concat();
        assert!(wd.fail(&strict, 2).contains("its shard ran with --lenient"));
    }
}
