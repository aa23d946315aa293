//! A run never deletes a file it did not write and never writes into one
//! of its inputs: a file saved into `--out` while a run is writing is
//! kept, and an output directory that is, holds or lies inside an input is
//! refused (`diff --out PREV`, `merge --out SHARD`); a directory put in
//! place of `--out` keeps its mode.

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
        let temp = format!(".reports.tmp-{}-", child.id());
        let writing = || {
            std::fs::read_dir(&wd.dir)
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(&temp))
        };
        let started = Instant::now();
        while !writing() && started.elapsed() < Duration::from_secs(60) {
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

/// A rerun replaces only reports exactly as tokenledger wrote them (each
/// checked against its manifest's SHA-256), touches nothing merely named
/// like its own temporary entries, takes `out/.` for `out`, and stops
/// while another run holds the directory.
#[test]
fn a_rerun_replaces_only_its_own_unchanged_files() {
    let wd = Workdir::handmade("rerun-own");
    wd.run(&HANDMADE_REPORT);
    let lookalikes = [
        ".out.tmp-notes/important.txt",
        ".out.old-2025-05/by_tenant.csv",
        ".out.tmp-77/sub/kept.txt",
        ".out.tmp-2025/plain.txt",
        ".out.old-20250601/by_tenant.csv",
        ".out.part-12",
    ];
    for file in lookalikes {
        wd.write(file, "mine");
    }
    let tenants = wd.read("out/by_tenant.csv");
    wd.write("out/by_tenant.csv", &format!("{tenants}my note\n"));
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("by_tenant.csv changed since tokenledger wrote it"),
        "{stderr}"
    );
    assert!(wd.read("out/by_tenant.csv").ends_with("my note\n"));
    wd.write("out/by_tenant.csv", &tenants);
    let mut args = HANDMADE_REPORT.to_vec();
    args[8] = "out/.";
    wd.run(&args);
    assert_eq!(wd.read("out/by_tenant.csv"), tenants);
    for file in lookalikes {
        assert_eq!(wd.read(file), "mine", "{file}");
    }
    // A lock file holding what no run wrote is left alone, and so is --out.
    wd.write(".out.lock", "old .\n");
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("which tokenledger did not write"),
        "{stderr}"
    );
    assert_eq!(wd.read(".out.lock"), "old .\n");
    assert_eq!(wd.read("out/by_tenant.csv"), tenants);
    std::fs::remove_file(wd.path(".out.lock")).unwrap();
    // Another run holds the directory's lock.
    let lock = std::fs::File::create(wd.path(".out.lock")).unwrap();
    lock.try_lock().unwrap();
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("another tokenledger run is writing it"),
        "{stderr}"
    );
    drop(lock);
    wd.run(&HANDMADE_REPORT);
    assert!(!wd.path(".out.lock").exists());
    // Another command's output is not this one's to replace: a diff over
    // a saved month's reports.
    args.extend(["--period", "2025-06"]);
    for saved in ["may", "june"] {
        args[8] = saved;
        wd.run(&args);
    }
    let stderr = wd.fail(&["diff", "may", "june", "--out", "out"], 2);
    assert!(
        stderr.contains("holds tokenledger reports output"),
        "{stderr}"
    );
    assert_eq!(wd.read("out/by_tenant.csv"), tenants);
}

/// A manifest gives leave to replace only what it lets the run check: a
/// file listed without a SHA-256 (an older tokenledger's line, or an
/// edit) stays, and so does a directory whose manifest names no kind of
/// output; a file listed with two hashes (a mount point's files replaced
/// one by one, stopped part way) may hold either.
#[test]
fn a_manifest_that_cannot_be_checked_gives_no_leave_to_replace() {
    let wd = Workdir::handmade("unchecked-manifest");
    wd.run(&HANDMADE_REPORT);
    let manifest = wd.read("out/.tokenledger-manifest");
    let tenants = wd.read("out/by_tenant.csv");
    let header = manifest.lines().next().unwrap();
    wd.write("out/mydata.csv", "precious\n");
    let names: String = manifest
        .lines()
        .skip(1)
        .map(|line| format!("{}\n", &line[66..]))
        .collect();
    wd.write(
        "out/.tokenledger-manifest",
        &format!("{header}\n{names}mydata.csv\n"),
    );
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    // Every listed file, the user's among them (the parquet feature
    // lists calls.parquet too).
    assert!(
        stderr.contains(", ledger.csv, mydata.csv, outliers.csv,"),
        "{stderr}"
    );
    assert!(
        stderr.contains("or are listed without a SHA-256"),
        "{stderr}"
    );
    assert_eq!(wd.read("out/mydata.csv"), "precious\n");
    std::fs::remove_file(wd.path("out/mydata.csv")).unwrap();
    let body = manifest.split_once('\n').unwrap().1;
    wd.write(
        "out/.tokenledger-manifest",
        &format!("# tokenledger output: a rerun replaces exactly these files\n{body}"),
    );
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("its manifest names no kind of output"),
        "{stderr}"
    );
    assert_eq!(wd.read("out/by_tenant.csv"), tenants);
    let either = format!("{}  by_tenant.csv\n", "0".repeat(64));
    wd.write("out/.tokenledger-manifest", &format!("{manifest}{either}"));
    wd.run(&HANDMADE_REPORT);
    assert_eq!(wd.read("out/.tokenledger-manifest"), manifest);
}

/// A directory the run puts in place of `--out` keeps the mode the user
/// gave `--out` (a private setgid `chmod 2750` stays so, a rerun too),
/// whatever the umask; `diff`'s fresh directory likewise.
#[test]
fn an_output_directory_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let wd = Workdir::handmade("out-mode");
    let mode = |dir: &str| {
        std::fs::metadata(wd.path(dir))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    let private = std::fs::Permissions::from_mode(0o2750);
    std::fs::create_dir(wd.path("out")).unwrap();
    std::fs::set_permissions(wd.path("out"), private.clone()).unwrap();
    let month = [&HANDMADE_REPORT[..], &["--period", "2025-06"]].concat();
    wd.run(&month);
    assert_eq!(mode("out"), 0o2750, "a new month into an empty directory");
    wd.run(&month);
    assert_eq!(mode("out"), 0o2750, "a rerun over its own output");
    std::fs::create_dir(wd.path("changes")).unwrap();
    std::fs::set_permissions(wd.path("changes"), private).unwrap();
    wd.run(&["diff", "out", "out", "--out", "changes"]);
    assert_eq!(mode("changes"), 0o2750, "diff output");
}

/// `partition` never writes into its inputs or through a link, and two
/// span files typed alike from two directories are two sources: the
/// second is refused, not cut over the first's parts.
#[test]
fn partition_writes_only_beside_its_own_parts() {
    let wd = Workdir::handmade("partition-own");
    let part = |cwd: &str, out: &str| {
        wd.command(&["partition", "--spans", "spans", "--into", "2", "--out", out])
            .current_dir(wd.path(cwd))
            .output()
            .unwrap()
    };
    let refused = part(".", "spans");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("never writes into its inputs"), "{stderr}");
    std::fs::create_dir(wd.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(wd.path("elsewhere"), wd.path("link")).unwrap();
    assert_eq!(part(".", "link").status.code(), Some(2));
    assert_eq!(std::fs::read_dir(wd.path("elsewhere")).unwrap().count(), 0);
    let parts = wd.path("parts");
    for dir in ["a", "b"] {
        std::fs::create_dir(wd.path(dir)).unwrap();
        wd.copy(&wd.path("spans"), &format!("{dir}/spans"));
    }
    assert!(part("a", parts.to_str().unwrap()).status.success());
    let cut = wd.read("parts/part-00000-of-00002/children.jsonl");
    let second = part("b", parts.to_str().unwrap());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already holds a part of"), "{stderr}");
    assert_eq!(wd.read("parts/part-00000-of-00002/children.jsonl"), cut);
    assert!(part("a", parts.to_str().unwrap()).status.success());
}

/// `simulate` writes a new month whole, into a new or empty directory
/// only: a user's file there is never overwritten, a link never followed.
#[test]
fn simulate_never_writes_over_files() {
    let wd = Workdir::new("simulate-own");
    wd.write("mine/usage.csv", "REAL");
    let stderr = wd.fail(&["simulate", "--runs", "5", "--out", "mine"], 2);
    assert!(stderr.contains("not empty"), "{stderr}");
    assert_eq!(wd.read("mine/usage.csv"), "REAL");
    std::fs::create_dir(wd.path("empty")).unwrap();
    std::os::unix::fs::symlink(wd.path("empty"), wd.path("link")).unwrap();
    wd.fail(&["simulate", "--runs", "5", "--out", "link"], 2);
    assert_eq!(std::fs::read_dir(wd.path("empty")).unwrap().count(), 0);
    wd.run(&["simulate", "--runs", "5", "--out", "empty"]);
    assert!(wd.path("empty/spans").is_dir() && wd.path("empty/usage.csv").is_file());
    let hidden = std::fs::read_dir(&wd.dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0);
}
