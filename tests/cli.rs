//! Conventions users expect. A short cron line: defaults from tokenledger.toml, `--config` or
//! `$TOKENLEDGER_CONFIG`; flags override them; `--period previous`; usage
//! errors start with `tokenledger:`.

use crate::workdir::Workdir;

const CONFIG: &str = r#"# the hand-made fleet's cron defaults
[report]
spans = ["spans"]
usage = ["usage.csv"]
pricing = "pricing.toml"
out = "out"
period = "2025-06"
min-match = 0
quiet = true

[reconcile]
usage = ["usage.csv"]
pricing = "pricing.toml"
"#;

#[test]
fn a_config_file_in_the_working_directory_gives_the_defaults() {
    let wd = Workdir::handmade("config");
    wd.write("tokenledger.toml", CONFIG);
    assert_eq!(wd.run(&["report"]), "");
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"config\": \"tokenledger.toml\""),
        "{summary}"
    );
    assert!(summary.contains("\"period\": \"2025-06\""), "{summary}");
    // A flag overrides its key: without --quiet's default... the out dir moves.
    wd.run(&["report", "--out", "elsewhere"]);
    assert!(wd.path("elsewhere/summary.json").is_file());
}

#[test]
fn a_config_file_in_the_working_directory_that_does_not_read_is_refused() {
    // A link to a volume not mounted, or a directory of the name: the run
    // went on without the defaults (budgets, gates, --period), exit 0.
    let wd = Workdir::handmade("config-dangling");
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--out",
        "out",
    ];
    std::os::unix::fs::symlink("/nonexistent/tokenledger.toml", wd.path("tokenledger.toml"))
        .unwrap();
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.starts_with("tokenledger: ./tokenledger.toml: a link to no file"),
        "{stderr}"
    );
    std::fs::remove_file(wd.path("tokenledger.toml")).unwrap();
    std::fs::create_dir(wd.path("tokenledger.toml")).unwrap();
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains("tokenledger.toml: a directory, not a config file"),
        "{stderr}"
    );
    // `--config /dev/null` sets it aside.
    wd.run(&[&args[..], &["--config", "/dev/null", "--min-match", "0"]].concat());
}

#[test]
fn config_named_by_flag_or_environment_and_its_errors() {
    let wd = Workdir::handmade("config-named");
    // Paths in a config file are read from its own directory.
    let from_cron = CONFIG
        .replace("\"spans\"", "\"../spans\"")
        .replace("\"usage.csv\"", "\"../usage.csv\"")
        .replace("\"pricing.toml\"", "\"../pricing.toml\"")
        .replace("\"out\"", "\"../out\"");
    wd.write("cron/month.toml", &from_cron);
    wd.run(&["report", "--config", "cron/month.toml"]);
    assert!(wd
        .read("out/summary.json")
        .contains("\"config\": \"cron/month.toml\""));
    let out = wd
        .command(&["report", "--out", "env-out"])
        .env("TOKENLEDGER_CONFIG", "cron/month.toml")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wd.path("env-out/summary.json").is_file());
    wd.write(
        "bad.toml",
        "[report]\nspans = [\"spans\"]\ntennant-attr = \"x\"\n",
    );
    let stderr = wd.fail(&["report", "--config", "bad.toml"], 2);
    assert_eq!(
        stderr,
        "tokenledger: bad.toml:3: `report` has no flag --tennant-attr; keys are spelled as the long flags\n"
    );
    let stderr = wd.fail(&["report", "--config", "missing.toml"], 2);
    assert!(
        stderr.starts_with("tokenledger: missing.toml: config file not found"),
        "{stderr}"
    );
    let stderr = wd.fail(&["report", "--config", "spans"], 2);
    assert!(stderr.starts_with("tokenledger: spans: a directory, not a config file"));
    // Two files: refused, not the last one's defaults.
    let stderr = wd.fail(
        &["report", "--config", "cron/month.toml", "--config=bad.toml"],
        2,
    );
    assert_eq!(
        stderr,
        "tokenledger: --config given twice (cron/month.toml and bad.toml): give one file\n"
    );
    // `--config /dev/null`: none of ./tokenledger.toml's defaults.
    let stderr = wd.fail(&["report", "--config", "/dev/null"], 2);
    assert!(stderr.contains("--spans"), "{stderr}");
}

#[test]
fn period_previous_is_the_last_complete_month() {
    // The hand-made month is long past: the run fails its gate, naming it.
    let wd = Workdir::handmade("previous");
    wd.fail(
        &[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--pricing",
            "pricing.toml",
            "--out",
            "out",
            "--min-match",
            "0",
            "--period",
            "previous",
            "--quiet",
        ],
        1,
    );
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    let (y, m) = match chrono::Datelike::month(&now) {
        1 => (chrono::Datelike::year(&now) - 1, 12),
        m => (chrono::Datelike::year(&now), m - 1),
    };
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains(&format!("\"period\": \"{y:04}-{m:02}\"")),
        "{summary}"
    );
}

#[test]
fn usage_errors_start_with_the_program_name() {
    let wd = Workdir::new("clap-error");
    let stderr = wd.fail(&["report", "--bogus"], 2);
    assert!(
        stderr.starts_with("tokenledger: unexpected argument '--bogus' found"),
        "{stderr}"
    );
}

/// `--help` and `--version` on a full disk fail as every other output
/// does (they exited 0 with nothing printed).
#[test]
fn help_to_a_full_disk_is_an_error() {
    let wd = Workdir::new("help-full");
    for args in [&["report", "--help"][..], &["--version"]] {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let output = wd.command(args).stdout(full).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("No space left on device"), "{stderr}");
    }
    assert!(wd.run(&["--version"]).starts_with("tokenledger "));
}

#[test]
fn print_takes_any_csv_the_run_writes_and_json_the_summary() {
    let wd = Workdir::handmade("print-any");
    let mut args = crate::workdir::HANDMADE_REPORT.to_vec();
    args.extend(["--period", "2025-06", "--print", "focus.csv"]);
    let printed = wd.run(&args);
    assert_eq!(printed, wd.read("out/focus.csv"));
    // Without --out, the file is still made for printing.
    let printed = wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--min-match",
        "0",
        "--print",
        "by_step",
    ]);
    assert!(printed.starts_with("step,"), "{printed}");
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--pricing",
            "pricing.toml",
            "--min-match",
            "0",
            "--print",
            "reconciliation.csv",
        ],
        2,
    );
    assert!(
        stderr.starts_with(
            "tokenledger: --print reconciliation.csv: this run writes no reconciliation.csv"
        ),
        "{stderr}"
    );
    let stderr = wd.fail(
        &["report", "--spans", "s", "--usage", "u", "--print", "nope"],
        2,
    );
    assert!(stderr.contains("no such CSV \"nope\""), "{stderr}");
    // --json: summary.json on stdout, byte for byte.
    let mut args = crate::workdir::HANDMADE_REPORT.to_vec();
    args.extend(["--period", "2025-06", "--json"]);
    let json = wd.run(&args);
    assert_eq!(json, wd.read("out/summary.json"));
}

#[test]
fn memory_limits_are_sizes_with_one_unit() {
    let wd = Workdir::handmade("memory-limit");
    for bad in [
        "5BBB",
        "1IBIB",
        "+2G",
        "G",
        "2X",
        "0",
        "99999999999T",
        "1.5G",
    ] {
        let stderr = wd.fail(
            &[
                "report",
                "--spans",
                "spans",
                "--usage",
                "usage.csv",
                "--memory-limit",
                bad,
            ],
            2,
        );
        assert!(
            stderr.contains("expected a size such as 512M"),
            "{bad}: {stderr}"
        );
    }
    for good in ["2GiB", "512m", "1500000000", "64KB"] {
        wd.run(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--pricing",
            "pricing.toml",
            "--period",
            "2025-06",
            "--min-match",
            "0",
            "--quiet",
            "--memory-limit",
            good,
        ]);
    }
}

#[test]
fn a_negative_number_is_refused_with_what_was_expected() {
    // Not "unexpected argument '-5'": the flag's own rule.
    let wd = Workdir::new("cli-negative");
    let cases = [
        (
            "--min-match",
            "expected a percentage from 0 to 100, got \"-5\"",
        ),
        (
            "--tolerance",
            "expected a non-negative decimal number (at most 28 decimal places), got \"-5\"",
        ),
        ("--outlier-factor", "expected a number above 0, got \"-5\""),
    ];
    for (flag, expected) in cases {
        let args = [
            "report", "--spans", "s", "--usage", "u.csv", "--out", "o", flag, "-5",
        ];
        let stderr = wd.fail(&args, 2);
        assert!(stderr.contains(expected), "{flag}: {stderr}");
    }
    // Nor one with more places than a decimal holds (read as 0 before).
    let tiny = [
        ("--tolerance", "0.0000000000000000000000000000001"),
        ("--fx", "EUR=1e-29"),
    ];
    for (flag, value) in tiny {
        let args = [
            "report", "--spans", "s", "--usage", "u.csv", "--out", "o", flag, value,
        ];
        let stderr = wd.fail(&args, 2);
        assert!(
            stderr.contains(&format!("got \"{value}\"")),
            "{flag}: {stderr}"
        );
    }
}

#[test]
fn zero_threads_and_empty_attribute_keys_are_refused() {
    // `--threads 0` ran on one thread unsaid; an empty key names no
    // attribute, so every span would go without a tenant.
    let wd = Workdir::new("cli-zero");
    let month = ["report", "--spans", "s", "--usage", "u.csv", "--out", "o"];
    let cases: [(&[&str], &str); 6] = [
        (
            &["--threads", "0"],
            "expected a whole number of threads, at least 1, got \"0\"",
        ),
        (
            &["--tenant-attr", ""],
            "expected an attribute key, got an empty one",
        ),
        (
            &["--tenant-attr", "tenant.id,,x"],
            "expected an attribute key",
        ),
        (&["--feature-attr", " "], "expected an attribute key"),
        (&["--join-attr", ""], "expected an attribute key"),
        (
            &["--tenant-attr", "tenant.id, gen_ai.conversation.id"],
            "without spaces around it, got \" gen_ai.conversation.id\"",
        ),
    ];
    for (flags, expected) in cases {
        let args: Vec<&str> = month.iter().chain(flags).copied().collect();
        let stderr = wd.fail(&args, 2);
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
    let stderr = wd.fail(
        &[
            "partition",
            "--spans",
            "s",
            "--into",
            "2",
            "--out",
            "p",
            "--threads",
            "0",
        ],
        2,
    );
    assert!(stderr.contains("at least 1"), "{stderr}");
}

#[test]
fn a_run_without_out_says_nothing_was_written_and_diff_undoes_a_configs_quiet() {
    let wd = Workdir::handmade("no-out");
    let out = wd.output(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--min-match",
        "0",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tokenledger: note: no --out given: no report was written (--out DIR writes them, \
         --print FILE prints one)\n"
    );
    // A config's `quiet = true` for diff, undone by the flag (it was refused).
    wd.write("tokenledger.toml", "[diff]\nquiet = true\n");
    let stderr = wd.fail(&["diff", "may", "june", "--no-quiet"], 2);
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
}
