//! `partition` refuses what it cannot cut exactly (a bad id, a torn line),
//! naming the file and line, writes nothing beside its inputs, and nothing
//! into another command's output; its shards keep the copy of a span one
//! run keeps and read a part only as it wrote it; `--list` names the files
//! one run reads.

use crate::shard::{assert_same_files, files, files_under, sample_month, text_of};
use crate::workdir::Workdir;

#[test]
fn partition_refuses_what_it_cannot_cut_exactly() {
    let wd = sample_month("partition-bad");
    let sample = wd.read("samples/spans/part-0.jsonl");
    a_bad_span_id_is_named_and_nothing_written(&wd, &sample);
    another_commands_output_is_refused(&wd);
    a_torn_line_is_named_the_same_way(&wd, &sample);
    flat_jsonl_is_refused_naming_its_dialect(&wd);
    let rerun = a_rerun_removes_only_its_own_temporary_files(&wd, &sample);
    an_edited_part_is_not_replaced_by_a_rerun(&wd, &rerun);
    another_runs_files_or_count_are_refused(&wd);
}

/// A span id not 16 hex digits: named by file and line, no part written.
fn a_bad_span_id_is_named_and_nothing_written(wd: &Workdir, sample: &str) {
    let mut lines = sample.lines();
    let bad = format!(
        "{}\n{}\n{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"xyz\",\"name\":\"bad\"}}]}}]}}]}}\n",
        lines.next().unwrap(),
        lines.next().unwrap()
    );
    wd.write("in/a.jsonl", &bad);
    wd.write("in/b.jsonl", sample);
    let stderr = wd.fail(
        &[
            "partition",
            "--spans",
            "in",
            "--into",
            "4",
            "--out",
            "parts",
        ],
        2,
    );
    assert!(
        stderr.starts_with(
            "tokenledger: in/a.jsonl:3: span \"bad\": spanId \"xyz\" is not 16 hex digits"
        ),
        "{stderr}"
    );
    assert_eq!(
        files_under(&wd.path("parts")),
        Vec::<String>::new(),
        "nothing written"
    );
    // Nor the directories it made for the parts.
    assert!(!wd.path("parts").exists());
}

/// Partitions into another command's output: refused, nothing added to it.
fn another_commands_output_is_refused(wd: &Workdir) {
    // Into another command's output: refused, nothing added to it.
    wd.write("report/.tokenledger-manifest", "");
    let args = [
        "partition",
        "--spans",
        "in/b.jsonl",
        "--into",
        "2",
        "--out",
        "report",
    ];
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.starts_with("tokenledger: --out report: in another tokenledger command's output"),
        "{stderr}"
    );
    let nested = [
        "partition",
        "--spans",
        "in/b.jsonl",
        "--into",
        "2",
        "--out",
        "report/parts",
    ];
    let stderr = wd.fail(&nested, 2);
    assert!(
        stderr.contains("(report holds .tokenledger-manifest)"),
        "{stderr}"
    );
    let kept = files_under(&wd.path("report"));
    assert!(
        kept.len() == 1 && kept[0].ends_with("report/.tokenledger-manifest"),
        "{kept:?}"
    );
}

/// A torn line in the inputs: named by file and line, no part written.
fn a_torn_line_is_named_the_same_way(wd: &Workdir, sample: &str) {
    // A torn line (not JSON) is named the same way.
    wd.write(
        "in/a.jsonl",
        &format!("{}\n{{\"resourceSpans\":[", sample.lines().next().unwrap()),
    );
    let stderr = wd.fail(
        &[
            "partition",
            "--spans",
            "in",
            "--into",
            "4",
            "--out",
            "parts",
        ],
        2,
    );
    assert!(
        stderr.starts_with("tokenledger: in/a.jsonl:2: not an OTLP TracesData JSON line"),
        "{stderr}"
    );
    assert_eq!(
        files_under(&wd.path("parts")),
        Vec::<String>::new(),
        "nothing written"
    );
}

/// Flat JSONL spans: refused, naming the dialect.
fn flat_jsonl_is_refused_naming_its_dialect(wd: &Workdir) {
    // Flat JSONL is refused, naming its dialect.
    wd.write(
        "flat/s.jsonl",
        "{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\",\"name\":\"x\"}\n",
    );
    let stderr = wd.fail(
        &[
            "partition",
            "--spans",
            "flat",
            "--into",
            "2",
            "--out",
            "parts",
        ],
        2,
    );
    assert!(
        stderr.contains("flat/s.jsonl: flat-jsonl spans; partition cuts OTLP JSON only: shard this file with `report --shard I/N` instead"),
        "{stderr}"
    );
}

/// Partitions `in/b.jsonl` into `parts/` twice; returns the rerun's arguments.
fn a_rerun_removes_only_its_own_temporary_files(wd: &Workdir, sample: &str) -> [&'static str; 8] {
    // Files of one name from two runs, and another count in one --out.
    wd.write("x/b.jsonl", sample);
    wd.run(&[
        "partition",
        "--spans",
        "in/b.jsonl",
        "--into",
        "2",
        "--out",
        "parts",
        "--quiet",
    ]);
    // A rerun removes its own killed run's temporary files (a part's
    // header, then torn), not other runs' nor a user's file named alike.
    let part = wd.read("parts/part-00000-of-00002/b.jsonl");
    let header = part.lines().next().unwrap();
    wd.write(
        "parts/part-00000-of-00002/.b.jsonl.tmp-4000000",
        &format!("{header}\ntorn"),
    );
    // Killed inside its first line (the header is written first), and an
    // empty look-alike nobody can say is partition's.
    wd.write("parts/part-00000-of-00002/.b.jsonl.tmp-4000001", "");
    let cut_in_line_1 = &header[..header.find("resourceSpans").unwrap() + 20];
    wd.write(
        "parts/part-00000-of-00002/.b.jsonl.tmp-4000002",
        cut_in_line_1,
    );
    wd.write("parts/part-00000-of-00002/.b.jsonl.tmp-42", "a draft");
    wd.write(
        "parts/part-00000-of-00002/.c.jsonl.tmp-4000000",
        "another run's",
    );
    let rerun = [
        "partition",
        "--spans",
        "in/b.jsonl",
        "--into",
        "2",
        "--out",
        "parts",
        "--quiet",
    ];
    wd.run(&rerun);
    assert!(wd
        .path("parts/part-00000-of-00002/.b.jsonl.tmp-4000001")
        .exists());
    for killed in ["4000000", "4000002"] {
        let temp = format!("parts/part-00000-of-00002/.b.jsonl.tmp-{killed}");
        assert!(!wd.path(&temp).exists(), "{temp}");
    }
    assert!(wd
        .path("parts/part-00000-of-00002/.c.jsonl.tmp-4000000")
        .exists());
    assert_eq!(
        wd.read("parts/part-00000-of-00002/.b.jsonl.tmp-42"),
        "a draft"
    );
    rerun
}

/// A part edited since it was written: the rerun refuses to replace it.
fn an_edited_part_is_not_replaced_by_a_rerun(wd: &Workdir, rerun: &[&str]) {
    // A part edited since (a line added, the trailer kept last, or a note
    // after it) is not replaced by a rerun: it is yours now.
    let part = wd.read("parts/part-00001-of-00002/b.jsonl");
    let (body, trailer) = part.trim_end().rsplit_once('\n').unwrap();
    for edited in [format!("{body}\n\n{trailer}\n"), format!("{part}a note\n")] {
        wd.write("parts/part-00001-of-00002/b.jsonl", &edited);
        let stderr = wd.fail(rerun, 2);
        assert!(
            stderr.contains("b.jsonl: ") && stderr.contains("changed since partition wrote it"),
            "{stderr}"
        );
        assert_eq!(wd.read("parts/part-00001-of-00002/b.jsonl"), edited);
    }
    // A shard reads a part only as partition wrote it: a count edited to
    // as many digits (the length kept) is refused too, by the body's hash.
    let at = body.find("\"intValue\":\"").unwrap() + 12;
    let digit = if &body[at..at + 1] == "1" { "2" } else { "1" };
    let same_length = format!("{}{digit}{}\n{trailer}\n", &body[..at], &body[at + 1..]);
    assert_eq!(same_length.len(), part.len());
    let shard = [
        "report",
        "--spans",
        "parts/part-00001-of-00002",
        "--shard",
        "1/2",
        "--whole-traces",
        "--out",
        "shard-1",
    ];
    for edited in [format!("{body}\n\n{trailer}\n"), same_length.clone()] {
        wd.write("parts/part-00001-of-00002/b.jsonl", &edited);
        let stderr = wd.fail(&shard, 2);
        assert!(stderr.contains("not the bytes partition wrote"), "{stderr}");
    }
    // Nor does a rerun replace it.
    let stderr = wd.fail(rerun, 2);
    assert!(
        stderr.contains("its SHA-256 is not the one its trailer says: changed since partition"),
        "{stderr}"
    );
    assert_eq!(wd.read("parts/part-00001-of-00002/b.jsonl"), same_length);
    wd.write("parts/part-00001-of-00002/b.jsonl", &part);
    wd.run(&shard);
    wd.run(rerun);
}

/// Another run's file of one name, another count, a count of 0 and a bare --whole-traces.
fn another_runs_files_or_count_are_refused(wd: &Workdir) {
    let stderr = wd.fail(
        &[
            "partition",
            "--spans",
            "x/b.jsonl",
            "--into",
            "2",
            "--out",
            "parts",
        ],
        2,
    );
    assert!(
        stderr.contains("parts/part-00000-of-00002/b.jsonl: already holds a part of in/b.jsonl"),
        "{stderr}"
    );
    let stderr = wd.fail(
        &[
            "partition",
            "--spans",
            "x/b.jsonl",
            "--into",
            "3",
            "--out",
            "parts",
        ],
        2,
    );
    assert!(
        stderr.contains("holds part-00000-of-00002, a partition into 2, not 3"),
        "{stderr}"
    );
    wd.fail(
        &[
            "partition",
            "--spans",
            "x/b.jsonl",
            "--into",
            "0",
            "--out",
            "p0",
        ],
        2,
    );
    // --whole-traces needs --shard.
    wd.fail(
        &[
            "report",
            "--spans",
            "parts/part-00000-of-00002",
            "--usage",
            "samples/usage.csv",
            "--whole-traces",
        ],
        2,
    );
}

#[test]
fn partition_never_writes_beside_its_inputs() {
    // Partitions beside the span files would be read with them by the next
    // `report --spans` of that directory; beside the directory, they are not.
    let wd = sample_month("partition-beside");
    let args = [
        "partition",
        "--spans",
        "samples/spans/part-0.jsonl",
        "--into",
        "2",
    ];
    let stderr = wd.fail(&[&args[..], &["--out", "samples/spans"]].concat(), 2);
    assert!(
        stderr.contains("--out samples/spans: holds the input "),
        "{stderr}"
    );
    assert!(!files_under(&wd.path("samples/spans"))
        .iter()
        .any(|f| f.contains("part-0000")));
    wd.run(&[
        "partition",
        "--spans",
        "samples/spans",
        "--into",
        "2",
        "--out",
        "samples",
        "--quiet",
    ]);
}

#[test]
fn whole_trace_shards_keep_the_copy_of_a_span_one_run_keeps() {
    let wd = sample_month("partition-first-copy");
    let part1 = wd.read("samples/spans/part-1.jsonl");
    // Every span in m/b.jsonl; line 22 of part-1 (an unbilled call) again
    // in m/a/z.jsonl, which one run reads first and `partition` names
    // z.jsonl, after b.jsonl.
    wd.write(
        "m/b.jsonl",
        &(wd.read("samples/spans/part-0.jsonl") + &part1),
    );
    wd.write(
        "m/a/z.jsonl",
        &format!("{}\n", part1.lines().nth(21).unwrap()),
    );
    let listed = wd.run(&["partition", "--spans", "m", "--list"]);
    assert_eq!(listed, "[\"m/a/z.jsonl\",\"m/b.jsonl\"]\n");
    let month = [
        "--usage",
        "samples/usage.csv",
        "--period",
        "2025-06",
        "--quiet",
    ];
    wd.run(&[&["report", "--spans", "m", "--out", "one"][..], &month].concat());
    let cut = [
        "partition",
        "--spans",
        "m",
        "--into",
        "3",
        "--out",
        "parts",
        "--quiet",
    ];
    wd.run(&cut);
    for i in 0..3 {
        let (part, shard) = (format!("parts/part-0000{i}-of-00003"), format!("{i}/3"));
        let out = format!("partials/{i}");
        let args = [
            "report",
            "--spans",
            &part,
            "--shard",
            &shard,
            "--whole-traces",
        ];
        wd.run(&[&args[..], &["--quiet", "--out", &out]].concat());
    }
    let partials = [
        "merge",
        "partials/0",
        "partials/1",
        "partials/2",
        "--out",
        "merged",
    ];
    wd.run(&[&partials[..], &month].concat());
    let one = files(&wd, "one");
    assert!(text_of(&one, "unbilled_spans.csv").contains(",m/a/z.jsonl:1\n"));
    assert_same_files(&files(&wd, "merged"), &one, "partition, 3 shards, merge");
}
