//! The month on Apache Spark (`dist/spark/tokenledger_spark.py`, PySpark in
//! local mode): cut, shard and merge tasks scheduled by Spark, in a
//! shuffled order, one task killed mid-write and retried, give every
//! output file byte for byte what one `tokenledger report` gives; span
//! flags go to the shards however they are written.

use std::process::Command;

use crate::workdir::{repo, Workdir};

/// Every file of a directory, by name, with its bytes.
fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
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

#[test]
fn the_spark_job_reproduces_report_byte_for_byte() {
    let has_spark = Command::new("python3")
        .args(["-c", "import pyspark"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_spark {
        eprintln!("skipped: PySpark is not installed (`python3 -m pip install 'pyspark>=4,<5'`; .ci/run installs it)");
        return;
    }
    let wd = Workdir::new("spark");
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
    let flags = [
        "--usage",
        "fleet/usage.csv",
        "--invoice",
        "fleet/invoices",
        "--true-up",
        "--period",
        "2025-06",
        "--quiet",
    ];
    wd.run(
        &[
            &["report", "--spans", "fleet/spans", "--out", "full"][..],
            &flags,
        ]
        .concat(),
    );
    let expected = files(&wd.path("full"));
    for (n, test) in [
        ("1", vec![]),
        ("3", vec!["--shuffle", "5", "--kill-once", "1"]),
        ("7", vec!["--shuffle", "9"]),
    ] {
        let got = run_the_spark_job(&wd, n, &test, &flags);
        assert_eq!(
            got.iter().map(|f| &f.0).collect::<Vec<_>>(),
            expected.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "N = {n}: the same files"
        );
        for ((name, bytes), (_, want)) in got.iter().zip(&expected) {
            assert!(bytes == want, "N = {n}: {name} differs");
        }
    }
}

/// The Spark job on `fleet/` into `out-<n>/`, in `n` partitions; the files it wrote.
fn run_the_spark_job(
    wd: &Workdir,
    n: &str,
    test: &[&str],
    flags: &[&str],
) -> Vec<(String, Vec<u8>)> {
    let job = repo().join("dist/spark/tokenledger_spark.py");
    let (work, out) = (format!("work-{n}"), format!("out-{n}"));
    let mut args = vec![
        job.to_str().unwrap(),
        "--binary",
        env!("CARGO_BIN_EXE_tokenledger"),
        "--partitions",
        n,
        "--spans",
        "fleet/spans",
        "--work",
        &work,
        "--out",
        &out,
        "--master",
        "local[2,4]",
    ];
    args.extend(test);
    args.push("--");
    args.extend(flags);
    let run = Command::new("python3")
        .args(&args)
        .current_dir(&wd.dir)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "N = {n}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    files(&wd.path(&out))
}

#[test]
fn the_spark_job_sends_span_flags_to_the_shards_however_written() {
    let script = "import tokenledger_spark as t; print(t.split_flags(\
                  ['--join-attr=x', '--period', '2025-06', '--tenant-attr', 'y', '--quiet']))";
    let out = Command::new("python3")
        .args(["-c", script])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(repo().join("dist/spark"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(['--join-attr=x', '--period', '2025-06', '--tenant-attr', 'y', '--quiet'], \
         ['--period', '2025-06', '--quiet'])\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
