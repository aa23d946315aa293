//! Every file of an input directory is read or named: extensions in any
//! case are read, other files are listed in the summary as skipped, a link
//! to nothing is an error (a listed skip under `--lenient`), a pipe's name
//! reaches the terminal escaped, and standard input is read once; a file
//! whose name is not UTF-8 is read by its ending, and a directory given
//! twice is read once; a UTF-16 file is named as such; a named pipe says it
//! waits for its writer, and a device is refused; a CSV that ends without
//! a line break (maybe cut inside its last row) is named.

use crate::workdir::{Workdir, HANDMADE_REPORT};

#[test]
fn upper_case_extensions_are_read_and_other_files_listed() {
    let wd = Workdir::handmade("inputs-case");
    let usage = wd.read("usage.csv");
    let (header, rows) = usage.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    let half = rows.len() / 2;
    wd.write(
        "usage/a.csv",
        &format!("{header}\n{}\n", rows[..half].join("\n")),
    );
    wd.write(
        "usage/B.CSV",
        &format!("{header}\n{}\n", rows[half..].join("\n")),
    );
    wd.write("usage/notes.txt", "not usage");
    let mut args = HANDMADE_REPORT.to_vec();
    args[4] = "usage";
    let stdout = wd.run(&args);
    assert!(
        stdout.contains("not read: 1 file(s) of the input directories: usage/notes.txt (not a file of the kinds read here) (summary.json: skipped_files)\n"),
        "{stdout}"
    );
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"path\": \"usage/B.CSV\""), "{summary}");
    assert!(
        summary.contains(
            "\"skipped_files\": [\n    {\n      \"path\": \"usage/notes.txt\",\n      \"why\": \"not a file of the kinds read here\""
        ),
        "{summary}"
    );
    assert!(summary.contains(&format!("\"usage_records_read\": {},", rows.len())));
    // A name that is not UTF-8 is read all the same, and a directory given
    // twice (or by a second path) is read once.
    use std::os::unix::ffi::OsStrExt;
    let odd = std::ffi::OsStr::from_bytes(b"usage/u\xff.CSV");
    std::fs::rename(wd.path("usage/B.CSV"), wd.path("").join(odd)).unwrap();
    let mut args = HANDMADE_REPORT.to_vec();
    args[4] = "usage";
    args.splice(5..5, ["./usage"]);
    wd.run(&args);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains(&format!("\"usage_records_read\": {},", rows.len())));
}

#[test]
fn a_link_to_nothing_is_an_error_or_a_listed_skip() {
    let wd = Workdir::handmade("inputs-dangling");
    std::os::unix::fs::symlink("gone.jsonl", wd.path("spans/lost.jsonl")).unwrap();
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("spans/lost.jsonl: a link to nothing (gone.jsonl); remove it, or skip it with --lenient"),
        "{stderr}"
    );
    let mut args = HANDMADE_REPORT.to_vec();
    args.push("--lenient");
    let out = wd.output(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"path\": \"spans/lost.jsonl\",\n      \"why\": \"a link to nothing\""),
        "{summary}"
    );
}

#[test]
fn a_pipes_name_reaches_the_terminal_escaped() {
    let wd = Workdir::handmade("inputs-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(wd.path("spans/evil\u{1b}[2J.jsonl"))
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("a_pipes_name_reaches_the_terminal_escaped: not run (no mkfifo)");
        return;
    }
    let out = wd.output(&HANDMADE_REPORT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(
        stderr.contains(
            "spans/evil\\x1b[2J.jsonl: not a regular file (a pipe, socket or device); skipped"
        ),
        "{stderr}"
    );
}

#[test]
fn standard_input_is_read_once() {
    let wd = Workdir::handmade("inputs-stdin");
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "-",
            "--usage",
            "-",
            "--pricing",
            "pricing.toml",
        ],
        2,
    );
    assert_eq!(
        stderr,
        "tokenledger: `-` (standard input) is given to --usage and --spans: standard input can be \
         read once; give the others files\n"
    );
}

#[test]
fn a_utf16_file_is_refused_as_such() {
    // Excel's "Unicode text" and some exports write UTF-16 with its
    // byte-order mark: named as UTF-16, not "not a usage file".
    let wd = Workdir::handmade("inputs-utf16");
    let usage = wd.read("usage.csv");
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(usage.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(wd.path("usage.csv"), utf16).unwrap();
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    let expected = "usage.csv: UTF-16 text (it starts with a UTF-16 byte-order mark)";
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn a_named_pipe_says_it_waits_and_a_device_is_refused() {
    let wd = Workdir::handmade("inputs-pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(wd.path("usage.pipe"))
        .status();
    assert!(made.unwrap().success(), "mkfifo");
    let mut args = HANDMADE_REPORT.to_vec();
    args[4] = "usage.pipe";
    let child = wd
        .command(&args)
        .stderr(std::process::Stdio::piped())
        .spawn();
    let child = child.unwrap();
    std::fs::write(wd.path("usage.pipe"), wd.read("usage.csv")).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("usage.pipe is a named pipe: waiting for its writer"));
    // An endless device is no export: refused at once, not read forever.
    args[4] = "/dev/zero";
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains("/dev/zero: a device, not a file"),
        "{stderr}"
    );
}

#[test]
fn macos_metadata_beside_an_export_is_listed_not_read() {
    // `._usage.csv`, left by an unzipped Finder archive: refused as an
    // unknown format before.
    let wd = Workdir::handmade("inputs-apple-double");
    std::fs::create_dir_all(wd.path("usage")).unwrap();
    std::fs::rename(wd.path("usage.csv"), wd.path("usage/usage.csv")).unwrap();
    wd.write("usage/._usage.csv", "\u{0}\u{5}\u{16}\u{7} Mac OS X");
    let mut args = HANDMADE_REPORT.to_vec();
    args[4] = "usage";
    let stdout = wd.run(&args);
    assert!(
        stdout.contains("usage/._usage.csv (macOS metadata"),
        "{stdout}"
    );
}

#[test]
fn a_csv_that_ends_inside_its_last_row_is_named() {
    // The handmade usage cut inside its last field (the key `sk-a` read
    // as `sk`): read as written, and named, since nothing else can tell.
    let wd = Workdir::handmade("unterminated-csv");
    let usage = wd.read("usage.csv");
    let cut = &usage[..usage.trim_end().len() - 2];
    wd.write("usage.csv", cut);
    let out = wd.output(&HANDMADE_REPORT);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "warning: usage.csv ends without a line break: its last row is read as written; was \
             the file cut short? check its last row"
        ),
        "{stderr}"
    );
    // Ended by a line break: nothing to say.
    wd.write("usage.csv", &format!("{cut}\n"));
    let out = wd.output(&HANDMADE_REPORT);
    assert!(!String::from_utf8(out.stderr)
        .unwrap()
        .contains("line break"));
}

#[test]
fn a_whole_traces_shard_reads_standard_input_once() {
    // Its span files' partition trailers were read before the files: `-`
    // was opened as a file named `-`, a pipe read twice.
    let wd = Workdir::handmade("inputs-stdin-shard");
    let args = [
        "report",
        "--spans",
        "-",
        "--shard",
        "0/1",
        "--whole-traces",
        "--out",
        "shard",
    ];
    let spans = std::fs::File::open(wd.path("spans/children.jsonl")).unwrap();
    let out = wd.command(&args).stdin(spans).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(wd.path("shard/calls.jsonl").exists());
}
