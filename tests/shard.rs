//! `report --shard I/N` and `merge`: the merged reports of any number of
//! shards are byte-identical to one unsharded run.

use crate::workdir::Workdir;

/// Every file of a report directory, by name.
fn files(wd: &Workdir, dir: &str) -> Vec<(String, Vec<u8>)> {
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

const FLAGS: [&str; 12] = [
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
    let summary = String::from_utf8(
        expected
            .iter()
            .find(|f| f.0 == "summary.json")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
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
            args.extend(FLAGS);
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
        let merged = files(&wd, &out);
        assert_eq!(
            merged.iter().map(|f| &f.0).collect::<Vec<_>>(),
            expected.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "{n} shards: the same files"
        );
        for ((name, bytes), (_, want)) in merged.iter().zip(&expected) {
            assert!(bytes == want, "{n} shards: {name} differs from one run's");
        }
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
    assert!(!wd.path("out").exists(), "nothing written");
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
