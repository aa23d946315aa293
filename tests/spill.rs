//! Spilling spans to disk (`--memory-limit`): a spilled month's outputs
//! are byte-identical to one in memory, and its files never outlive the run.

use crate::released_facts::ids_claimed_again;
use crate::shard::{assert_same_files, files, text_of, FLAGS};
use crate::workdir::Workdir;

/// Eight traces with two root spans each (a reused trace id): record errors
/// in traces spread over the spill's ranges.
fn reused_trace_ids() -> String {
    (1..=8u32)
        .map(|t| {
            let span = |id: u32| {
                format!(
                    r#"{{"traceId":"{t:032x}","spanId":"{id:016x}","name":"root","startTimeUnixNano":"1748736000000000000"}}"#
                )
            };
            format!(
                "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{},{}]}}]}}]}}\n",
                span(t * 2),
                span(t * 2 + 1)
            )
        })
        .collect()
}

#[test]
fn spilled_runs_are_byte_identical_to_one_in_memory() {
    let wd = Workdir::new("spill");
    wd.run(&[
        "simulate",
        "--runs",
        "300",
        "--seed",
        "78",
        "--span-files",
        "3",
        "--out",
        "fleet",
    ]);
    let spans = wd.read("fleet/spans/part-0.jsonl");
    wd.write(
        "fleet/spans/part-0.jsonl",
        &format!(
            "{{not json\n{}{}{spans}",
            reused_trace_ids(),
            ids_claimed_again(&spans, 24)
        ),
    );
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"tenant\"\nkey = \"acme-corp\"\nusd = 5\n",
    );
    std::fs::create_dir(wd.path("tmp")).unwrap();
    let run = |out: &str, limit: &str, threads: &str| {
        let mut args = vec!["report", "--spans", "fleet/spans", "--out", out];
        args.extend(FLAGS);
        args.extend([threads, "--memory-limit", limit]);
        let mut command = wd.command(&args);
        if out.ends_with("-files") {
            open_files_at_most(&mut command, 64);
        }
        let output = command.env("TMPDIR", wd.path("tmp")).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        files(&wd, out)
    };
    let in_memory = run("memory", "64G", "2");
    let summary = text_of(&in_memory, "summary.json");
    assert!(summary.contains("\"reused-trace-id\": 8"), "{summary}");
    let unbilled = text_of(&in_memory, "unbilled_spans.csv");
    let claimed = unbilled
        .matches("id already joined to another span")
        .count();
    assert_eq!(claimed, 24, "{unbilled}");
    // A spilled month releases the joined calls' span facts and the joined
    // records' ids: the calls and records listed unjoined keep theirs.
    for listing in ["unbilled_spans.csv", "unattributed.csv"] {
        let rows = text_of(&in_memory, listing).lines().count();
        assert!(rows > 5, "{listing}: {rows} lines");
    }
    // 1K: hundreds of ranges, or as many as 64 open files allow; 300K: a
    // few, each next one read ahead on a second thread, or read in turn on
    // one.
    for (limit, threads, files) in [
        ("1K", "2", ""),
        ("1K", "2", "-files"),
        ("300K", "2", ""),
        ("300K", "1", ""),
    ] {
        let spilled = run(&format!("spilled-{limit}-{threads}{files}"), limit, threads);
        let how = format!("--memory-limit {limit} --threads {threads}");
        assert_same_files(&spilled, &in_memory, &how);
        assert_eq!(
            std::fs::read_dir(wd.path("tmp")).unwrap().count(),
            0,
            "spill files left behind"
        );
    }
}

/// Run `command` with at most `files` open files (soft and hard limit),
/// as under a shell's `ulimit -n`.
fn open_files_at_most(command: &mut std::process::Command, files: u64) {
    use std::os::unix::process::CommandExt;
    let limit = libc::rlimit {
        rlim_cur: files as libc::rlim_t,
        rlim_max: files as libc::rlim_t,
    };
    // SAFETY: setrlimit is async-signal-safe and reads only `limit`, a copy
    // the closure owns.
    unsafe {
        command.pre_exec(move || match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
}

#[test]
fn spill_files_are_removed_when_the_run_fails() {
    let wd = Workdir::new("spill-error");
    wd.run(&[
        "simulate",
        "--runs",
        "50",
        "--seed",
        "79",
        "--span-files",
        "2",
        "--out",
        "fleet",
    ]);
    std::fs::create_dir(wd.path("tmp")).unwrap();
    let spans = wd.read("fleet/spans/part-1.jsonl");
    let fail = |stage: &str, part: String, expect: &str| {
        wd.write("fleet/spans/part-1.jsonl", &part);
        let args = [
            "report",
            "--spans",
            "fleet/spans",
            "--usage",
            "fleet/usage.csv",
            "--period",
            "2025-06",
            "--out",
            "out",
            "--memory-limit",
            "1K",
        ];
        let output = wd
            .command(&args)
            .env("TMPDIR", wd.path("tmp"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stage}: {stderr}");
        assert!(stderr.contains(expect), "{stage}: {stderr}");
        assert!(
            stderr.contains("spilling their traces into"),
            "{stage}: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(wd.path("tmp")).unwrap().count(),
            0,
            "{stage}: spill files left behind"
        );
    };
    // Stopped while reading (a malformed line), and while resolving a range.
    fail("reading", format!("{spans}{{not json\n"), "part-1.jsonl:");
    fail(
        "resolving",
        format!("{spans}{}", reused_trace_ids()),
        "the trace id was reused",
    );
    assert!(!wd.path("out").exists());
    an_over_limit_run_removes_only_abandoned_spill_dirs(&wd, &spans);
}

/// A run over its limit beside a killed run's, a user's and a live run's spill directory.
fn an_over_limit_run_removes_only_abandoned_spill_dirs(wd: &Workdir, spans: &str) {
    // A run over its limit says so: spilling bounds the spans only. The
    // spill directory a killed run left behind is removed.
    wd.write("fleet/spans/part-1.jsonl", spans);
    let abandoned = wd.path("tmp/tokenledger-spill-999999999-1");
    std::fs::create_dir(&abandoned).unwrap();
    std::fs::write(abandoned.join("part-00000.bin"), "x").unwrap();
    std::fs::write(wd.path("tmp/tokenledger-spill-999999999-1.lock"), "").unwrap();
    // Named like one but not a spill directory (no lock, a user's file):
    // never removed.
    let user = wd.path("tmp/tokenledger-spill-my-notes");
    std::fs::create_dir(&user).unwrap();
    std::fs::write(user.join("notes.txt"), "mine").unwrap();
    // A live run's, whose process id this one cannot see (another PID
    // namespace sharing TMPDIR): its lock is held, so it stays.
    let live = wd.path("tmp/tokenledger-spill-999999998-2");
    std::fs::create_dir(&live).unwrap();
    let held = std::fs::File::create(wd.path("tmp/tokenledger-spill-999999998-2.lock")).unwrap();
    held.try_lock().unwrap();
    let args = [
        "report",
        "--spans",
        "fleet/spans",
        "--usage",
        "fleet/usage.csv",
        "--period",
        "2025-06",
        "--memory-limit",
        "1K",
    ];
    let output = wd
        .command(&args)
        .env("TMPDIR", wd.path("tmp"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("is over --memory-limit 1K: spilling bounds the spans only"),
        "{stderr}"
    );
    let mut left: Vec<String> = std::fs::read_dir(wd.path("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "tokenledger-spill-999999998-2",
            "tokenledger-spill-999999998-2.lock",
            "tokenledger-spill-my-notes"
        ]
    );
    drop(held);
}

#[test]
fn compressed_spans_spill_by_what_they_hold() {
    // A gzip file is a tenth of its JSON: the run spills once the spans
    // held pass the budget, whatever the file sizes say.
    let wd = Workdir::new("spill-gz");
    wd.run(&[
        "simulate",
        "--runs",
        "200",
        "--seed",
        "80",
        "--span-files",
        "1",
        "--out",
        "fleet",
    ]);
    let spans = std::fs::read(wd.path("fleet/spans/part-0.jsonl")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &spans).unwrap();
    std::fs::create_dir(wd.path("gz")).unwrap();
    std::fs::write(wd.path("gz/part-0.jsonl.gz"), gz.finish().unwrap()).unwrap();
    std::fs::create_dir(wd.path("tmp")).unwrap();
    let run = |out: &str, limit: &str| {
        let args = [
            "report",
            "--spans",
            "gz",
            "--usage",
            "fleet/usage.csv",
            "--period",
            "2025-06",
            "--out",
            out,
            "--memory-limit",
            limit,
        ];
        let output = wd
            .command(&args)
            .env("TMPDIR", wd.path("tmp"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "{stderr}");
        (files(&wd, out), stderr)
    };
    let (in_memory, quiet) = run("memory", "64G");
    assert!(!quiet.contains("spilling"), "{quiet}");
    let limit = (spans.len() / 8).to_string();
    let (spilled, note) = run("spilled", &limit);
    assert!(note.contains("spilling their traces into"), "{note}");
    assert_same_files(&spilled, &in_memory, "gzipped spans spilled");
    assert_eq!(std::fs::read_dir(wd.path("tmp")).unwrap().count(), 0);
}
