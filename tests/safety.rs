//! Nothing lost, nothing half-written, nothing a spreadsheet would run:
//! atomic output under kill -9, byte-identical reruns, formula cells
//! neutralised, and an output directory that is not ours left alone.

use std::process::Command;
use std::time::Duration;

use crate::workdir::{repo, Workdir, HANDMADE_REPORT};

/// Every file of an output directory, by name.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn reruns_are_byte_identical() {
    let wd = Workdir::handmade("rerun");
    let mut args = HANDMADE_REPORT.to_vec();
    args.extend(["--quiet", "--period", "2025-06", "--invoice"]);
    wd.copy(
        &crate::workdir::fixture("invoices/tokenledger.csv"),
        "invoice.csv",
    );
    args.push("invoice.csv");
    wd.run(&args);
    let first = snapshot(&wd.path("out"));
    wd.run(&args);
    // 21 outputs (reports, ledger, pricing table) and the manifest.
    assert_eq!(first.len(), 22 + usize::from(cfg!(feature = "parquet")));
    assert!(
        snapshot(&wd.path("out")) == first,
        "a rerun changed the reports"
    );
}

#[test]
fn kill_9_leaves_the_previous_reports_or_the_new_ones_never_a_mix() {
    // A month big enough that the run takes a while; two different inputs
    // give two different complete outputs, A (previous) and B (new).
    let wd = Workdir::new("kill");
    wd.run(&["simulate", "--runs", "3000", "--seed", "1", "--out", "a"]);
    wd.run(&["simulate", "--runs", "3000", "--seed", "2", "--out", "b"]);
    let pricing = repo().join("pricing.toml");
    let report = |fleet: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenledger"));
        cmd.args([
            "report",
            "--spans",
            &format!("{fleet}/spans"),
            "--usage",
            &format!("{fleet}/usage.csv"),
        ])
        .args(["--out", "reports", "--quiet", "--pricing"])
        .arg(&pricing)
        .current_dir(&wd.dir);
        cmd
    };
    assert!(report("b").status().unwrap().success());
    let new = snapshot(&wd.path("reports"));
    assert!(report("a").status().unwrap().success());
    let previous = snapshot(&wd.path("reports"));
    assert!(previous != new);
    let started = std::time::Instant::now();
    assert!(report("b").status().unwrap().success());
    let full = started.elapsed();
    for i in 0..12u32 {
        // Back to A, then kill a run towards B at a point spread over its run time.
        if snapshot(&wd.path("reports")) != previous {
            assert!(report("a").status().unwrap().success());
        }
        let mut child = report("b").spawn().unwrap();
        std::thread::sleep(full * i / 10);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let after = snapshot(&wd.path("reports"));
        assert!(
            after == previous || after == new,
            "kill {i} left a mix of reports"
        );
        // The next run cleans up what the killed one left beside the output.
        assert!(report("a").status().unwrap().success());
        let leftovers: Vec<_> = std::fs::read_dir(&wd.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".reports."))
            .collect();
        assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    }
}

#[test]
fn formula_cells_are_neutralised_unless_raw() {
    // A tenant name a user controls, shaped as a spreadsheet formula.
    let wd = Workdir::handmade("injection");
    let text = wd.read("spans/parents.json").replace(
        "\"acme\"",
        "\"=HYPERLINK(\\\"http://evil\\\",\\\"acme\\\")\"",
    );
    wd.write("spans/parents.json", &text);
    wd.run(
        &HANDMADE_REPORT
            .iter()
            .chain(&["--quiet"])
            .copied()
            .collect::<Vec<_>>(),
    );
    let tenants = wd.read("out/by_tenant.csv");
    assert!(
        tenants.contains("\n\"'=HYPERLINK(\"\"http://evil\"\",\"\"acme\"\")\",2,3000,"),
        "{tenants}"
    );
    // Numbers, negative ones included, are never touched.
    assert!(
        !tenants.contains("'-") && !tenants.contains("'0"),
        "{tenants}"
    );
    let mut raw: Vec<&str> = HANDMADE_REPORT.to_vec();
    raw.extend(["--quiet", "--raw-csv"]);
    wd.run(&raw);
    assert!(wd.read("out/by_tenant.csv").contains("\n\"=HYPERLINK("));
}

#[test]
fn an_output_directory_holding_other_files_is_refused() {
    let wd = Workdir::handmade("notours");
    wd.write("out/notes.txt", "mine");
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert_eq!(
        stderr,
        "tokenledger: --out out: the directory holds notes.txt, and no tokenledger manifest (an output \
         of an older version, or not an output); it would be replaced, so tokenledger refuses: move \
         those files or choose a new or empty directory\n"
    );
    assert_eq!(wd.read("out/notes.txt"), "mine");
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--out",
            ".",
        ],
        2,
    );
    assert!(
        stderr.contains("--out .: name a directory of its own"),
        "{stderr}"
    );
}

#[test]
fn a_rerun_never_deletes_a_file_tokenledger_did_not_write() {
    let wd = Workdir::handmade("rerun-keep");
    wd.run(&HANDMADE_REPORT);
    let manifest = wd.read("out/.tokenledger-manifest");
    assert!(
        manifest
            .lines()
            .any(|l| l.ends_with("  by_tenant.csv") && l.len() == 64 + 15),
        "{manifest}"
    );
    // A file and a folder of the user's own, added after the first run.
    wd.write("out/notes.txt", "keep");
    wd.write("out/mine/data.csv", "keep");
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("the directory holds mine, notes.txt, which tokenledger did not write"),
        "{stderr}"
    );
    assert_eq!(wd.read("out/notes.txt"), "keep");
    assert_eq!(wd.read("out/mine/data.csv"), "keep");
    // Once they are moved away, the rerun replaces the directory.
    std::fs::remove_file(wd.path("out/notes.txt")).unwrap();
    std::fs::remove_dir_all(wd.path("out/mine")).unwrap();
    wd.run(&HANDMADE_REPORT);
}

#[test]
fn the_runs_own_input_is_never_replaced() {
    // `--usage work/usage.csv --out work`: the output directory holds the input.
    let wd = Workdir::handmade("own-input");
    wd.run(&HANDMADE_REPORT);
    std::fs::rename(wd.path("usage.csv"), wd.path("out/usage.csv")).unwrap();
    let mut args = HANDMADE_REPORT.to_vec();
    args[4] = "out/usage.csv";
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains("/out: holds the input ")
            && stderr.contains("/out/usage.csv; tokenledger never writes into its inputs"),
        "{stderr}"
    );
    assert!(wd.path("out/usage.csv").is_file());
}

#[test]
fn a_symbolic_link_or_a_file_is_not_an_output_directory() {
    let wd = Workdir::handmade("out-link");
    wd.write("real/old.txt", "the target's own file");
    std::os::unix::fs::symlink("real", wd.path("out")).unwrap();
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert_eq!(
        stderr,
        "tokenledger: --out out: a symbolic link (to real); tokenledger never replaces a directory \
         through a link: name the directory itself\n"
    );
    assert!(wd.path("out").is_symlink());
    assert_eq!(wd.read("real/old.txt"), "the target's own file");
    std::fs::remove_file(wd.path("out")).unwrap();
    wd.write("out", "a file");
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("--out out: a file, not a directory"),
        "{stderr}"
    );
    assert_eq!(wd.read("out"), "a file");
    // A link where the lock file goes is not written through, nor removed.
    std::fs::remove_file(wd.path("out")).unwrap();
    wd.write("user.txt", "");
    std::os::unix::fs::symlink("user.txt", wd.path(".out.lock")).unwrap();
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains(".out.lock: where tokenledger keeps its lock file, but not a plain file"),
        "{stderr}"
    );
    assert_eq!(wd.read("user.txt"), "");
    assert!(wd.path(".out.lock").is_symlink() && !wd.path("out").exists());
}

#[test]
fn a_mount_point_is_updated_in_place() {
    // Needs root (CI runs as root); elsewhere the mount fails and the case
    // is reported as not run.
    let wd = Workdir::handmade("mount");
    std::fs::create_dir(wd.path("out")).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "tokenledger-test"])
        .arg(wd.path("out"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("a_mount_point_is_updated_in_place: not run (mount needs root)");
        return;
    }
    let unmount = || Command::new("umount").arg(wd.path("out")).status().unwrap();
    let mut with_budgets = HANDMADE_REPORT.to_vec();
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"tenant\"\nkey = \"acme\"\nusd = 1\n",
    );
    with_budgets.extend(["--budgets", "budgets.toml"]);
    let first = wd.output(&with_budgets);
    let second = wd.output(&HANDMADE_REPORT);
    let budget_left = wd.path("out/budget.csv").exists();
    let files = snapshot(&wd.path("out"));
    wd.write("out/notes.txt", "mine");
    let refused = wd.output(&HANDMADE_REPORT);
    let notes = wd.read("out/notes.txt");
    unmount();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(!budget_left, "the first run's budget.csv was left behind");
    assert_eq!(files.len(), 21 + usize::from(cfg!(feature = "parquet")));
    assert!(files
        .iter()
        .all(|(name, _)| !name.contains(".tokenledger.tmp")));
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(notes, "mine");
}

#[test]
fn a_closed_pipe_on_print_exits_quietly() {
    let wd = Workdir::handmade("pipe");
    let mut child = wd
        .command(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--pricing",
            "pricing.toml",
            "--print",
            "run",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is read
    std::thread::sleep(Duration::from_millis(50));
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn any_number_of_threads_gives_the_same_bytes() {
    // A month of many 2 MB span blocks and over 8,192 usage records, so
    // that span blocks are parsed and postings rolled up in parallel and
    // merged back in order (exact sums compared raw). Resolving traces and
    // reading usage blocks on several threads have unit tests of their own
    // (tree, read::usage::canonical).
    let wd = Workdir::new("threads");
    wd.run(&[
        "simulate",
        "--runs",
        "3000",
        "--seed",
        "5",
        "--message-bytes",
        "4000",
        "--span-files",
        "1",
        "--out",
        "m",
    ]);
    assert!(
        std::fs::metadata(wd.path("m/spans/part-0.jsonl"))
            .unwrap()
            .len()
            > 24 << 20
    );
    assert!(wd.read("m/usage.csv").lines().count() > 8192 + 1);
    let pricing = repo().join("pricing.toml");
    let run = |threads: &str, out: &str| {
        wd.run(&[
            "report",
            "--spans",
            "m/spans",
            "--usage",
            "m/usage.csv",
            "--threads",
            threads,
            "--out",
            out,
            "--quiet",
            "--raw-csv",
            "--pricing",
            pricing.to_str().unwrap(),
        ]);
        snapshot(&wd.path(out))
    };
    assert!(
        run("1", "one") == run("3", "three"),
        "reports differ between 1 and 3 threads"
    );
}

/// A tenant name that retitles the terminal and clears the screen.
const HOSTILE: &str = "acme\u{1b}]0;PWNED\u{7}\u{1b}[2J";
/// The same as the terminal shows it.
const HOSTILE_SHOWN: &str = "acme\\x1b]0;PWNED\\x07\\x1b[2J";

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let wd = Workdir::handmade("terminal");
    let json_name = HOSTILE
        .replace('\u{1b}', "\\u001b")
        .replace('\u{7}', "\\u0007");
    let spans = wd.read("spans/parents.json");
    wd.write(
        "spans/parents.json",
        &spans.replace("\"acme\"", &format!("\"{json_name}\"")),
    );
    // An over budget for that tenant, and an invoice line for a model named the same way.
    wd.write(
        "budgets.toml",
        &format!("[[budget]]\ndimension = \"tenant\"\nkey = \"{json_name}\"\nusd = 0.01\n"),
    );
    let invoice =
        std::fs::read_to_string(crate::workdir::fixture("invoices/tokenledger.csv")).unwrap();
    wd.write(
        "invoice.csv",
        &format!("{invoice}openai,gpt-{HOSTILE},output,1.00,,\n"),
    );
    let mut args = HANDMADE_REPORT.to_vec();
    args.extend(["--budgets", "budgets.toml", "--invoice", "invoice.csv"]);
    let out = wd.output(&args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains(['\u{1b}', '\u{7}']), "{stdout:?}");
    assert!(stdout.contains(&format!("│ {HOSTILE_SHOWN} ")), "{stdout}");
    assert!(
        stdout.contains(&format!("over tenant {HOSTILE_SHOWN}: $")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("gpt-{HOSTILE_SHOWN}")), "{stdout}");
    // Files are data: they keep the real name.
    assert!(wd
        .read("out/by_tenant.csv")
        .contains(&format!("\n{HOSTILE},")));
    assert!(wd
        .read("out/budget.csv")
        .contains(&format!("tenant,{HOSTILE},")));

    // An error message quoting an input value escapes it too.
    wd.write(
        "budgets.toml",
        &format!("[[budget]]\ndimension = \"{json_name}\"\nkey = \"k\"\nusd = 1\n"),
    );
    let stderr = wd.fail(&args, 2);
    assert!(!stderr.contains(['\u{1b}', '\u{7}']), "{stderr:?}");
    assert!(
        stderr.contains(&format!("dimension \"{HOSTILE_SHOWN}\" is not one of")),
        "{stderr}"
    );
    let stderr = wd.fail(
        &["pricing", "show", HOSTILE, "--pricing", "pricing.toml"],
        1,
    );
    assert!(!stderr.contains(['\u{1b}', '\u{7}']), "{stderr:?}");
    assert!(
        stderr.contains(&format!("prices \"{HOSTILE_SHOWN}\"")),
        "{stderr}"
    );
}
