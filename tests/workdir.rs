//! A temporary directory to run `tokenledger` in, removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `tests/fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    repo().join("tests/fixtures").join(path)
}

/// A real public example file under `tests/fixtures/real/` (sources in its `SOURCES.md`).
pub fn real(name: &str) -> PathBuf {
    fixture("real").join(name)
}

/// `report` on the hand-made fleet as copied by [`Workdir::handmade`],
/// writing into `out/`; tests append their own flags. Most of the fleet's
/// cost joins no span by design, so the --min-match gate is off.
pub const HANDMADE_REPORT: [&str; 11] = [
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
];

/// `reconcile` on the hand-made fleet's June usage, writing into `out/`.
pub const HANDMADE_RECONCILE: [&str; 9] = [
    "reconcile",
    "--usage",
    "usage.csv",
    "--pricing",
    "pricing.toml",
    "--period",
    "2025-06",
    "--out",
    "out",
];

pub struct Workdir {
    pub dir: PathBuf,
}

impl Workdir {
    pub fn new(name: &str) -> Workdir {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Workdir { dir }
    }

    /// A work dir holding a copy of tests/fixtures/handmade.
    pub fn handmade(name: &str) -> Workdir {
        let wd = Workdir::new(name);
        wd.copy(&fixture("handmade"), ".");
        wd
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn write(&self, name: &str, contents: &str) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Copy a file or directory (recursively) into the work dir as `to`.
    pub fn copy(&self, from: &Path, to: &str) {
        copy_tree(from, &self.path(to));
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenledger"));
        cmd.args(args).current_dir(&self.dir);
        cmd
    }

    /// [`HANDMADE_RECONCILE`] against `invoice` with `flags` added; the output
    /// whatever the exit code.
    pub fn reconcile(&self, invoice: &str, flags: &[&str]) -> Output {
        let mut args = HANDMADE_RECONCILE.to_vec();
        args.extend(["--invoice", invoice]);
        args.extend(flags);
        self.output(&args)
    }

    /// Run and return the output, whatever the exit code.
    pub fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Run and require exit 0; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "tokenledger {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run and require exit `code`; returns stderr.
    pub fn fail(&self, args: &[&str], code: i32) -> String {
        let out = self.output(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "tokenledger {args:?}: stderr:\n{stderr}"
        );
        stderr
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// A CSV file as rows of fields (header included).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// A money cell ("12.345678") in micro-dollars.
pub fn micros(cell: &str) -> i128 {
    let (whole, frac) = cell
        .split_once('.')
        .unwrap_or_else(|| panic!("not money: {cell}"));
    assert_eq!(frac.len(), 6, "money has 6 places: {cell}");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    sign * (whole.trim_start_matches('-').parse::<i128>().unwrap() * 1_000_000
        + frac.parse::<i128>().unwrap())
}

/// Make a hand-edited output directory look written by `report`, as a test
/// needs to build a month for `diff` out of another: summary.json's total
/// set to its ledger's, and the manifest listing every file with its
/// current hash. (What `diff` refuses without this is tested on its own.)
pub fn reseal(dir: &Path) {
    use std::str::FromStr;
    let ledger = dir.join("ledger.csv");
    let summary = dir.join("summary.json");
    if ledger.is_file() && summary.is_file() {
        let rows = csv_rows(&std::fs::read_to_string(&ledger).unwrap());
        let total: rust_decimal::Decimal = rows[1..]
            .iter()
            .map(|r| rust_decimal::Decimal::from_str(&r[18]).unwrap())
            .sum();
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        json["totals"]["cost"]["cost_usd"] = format!("{:.6}", total.round_dp(6)).into();
        let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
        std::fs::write(&summary, text).unwrap();
    }
    let mut manifest = tokenledger::manifest::Manifest::default();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name != tokenledger::manifest::MANIFEST && entry.file_type().unwrap().is_file() {
            let sha = tokenledger::manifest::sha256(&std::fs::read(entry.path()).unwrap());
            manifest.files.insert(name, vec![sha]);
        }
    }
    std::fs::write(dir.join(tokenledger::manifest::MANIFEST), manifest.render()).unwrap();
}

/// The line of `csv` whose first cell is `key`.
pub fn row<'a>(csv: &'a str, key: &str) -> &'a str {
    csv.lines()
        .find(|l| l.starts_with(&format!("{key},")))
        .unwrap_or_else(|| panic!("no row {key} in\n{csv}"))
}
