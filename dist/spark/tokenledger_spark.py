#!/usr/bin/env python3
"""A tokenledger month on Apache Spark (4.x, PySpark).

Spark schedules the work and retries what fails; every byte of money is
computed by the tokenledger binary, the same as on one machine:

1. cut: one task per span file runs `tokenledger partition` (each into its
   own directory), cutting its traces into N partitions by trace-id hash;
2. shard: one task per partition i runs `tokenledger report --shard i/N
   --whole-traces` over partition i of every file, writing a partial (a
   shard reads the spans alone: no task but the merge reads the usage);
3. merge: the driver runs `tokenledger merge` over the N partials, which
   checks each (manifest, partition ends, source fingerprints) and writes
   the month's reports: byte for byte what `tokenledger report` writes.

The partitions and partials are files on a filesystem every executor
mounts (NFS, EFS, a Databricks volume, a Kubernetes PVC; `--work`). A task
that dies is run again: tokenledger replaces a directory it owned, and a
stage's outputs are checked before the next trusts them.

Usage:
  pip install tokenledger-*.whl        # on every node: puts `tokenledger` on PATH
  spark-submit dist/spark/tokenledger_spark.py \\
      --partitions 16 --spans /mnt/spans --work /mnt/work --out /mnt/reports \\
      -- --usage /mnt/usage --invoice /mnt/invoices --period 2025-06

Flags after `--` go to `report` and `merge` (span flags such as
--tenant-attr to the shard runs only; the shard runs do not read the usage,
invoice or answer files the others name). See docs/scale.md.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

# Flags that only `report` takes (the span side), each with one value.
SHARD_ONLY = {
    "--tenant-attr", "--feature-attr", "--join-attr", "--outcome-attr",
    "--threads", "--memory-limit",
}


def locate(binary):
    """The binary where this task runs: a bare name on PATH (the wheel,
    `pip install tokenledger`, puts it there), else a path from the task's
    own working directory (an archive shipped with `--archives`)."""
    if os.sep not in binary:
        found = shutil.which(binary)
        if found is None:
            raise RuntimeError(f"{binary} is not on this node's PATH: pip install the tokenledger wheel here")
        return found
    return os.path.abspath(binary)


class StageFailed(Exception):
    """A stage whose tasks failed for good (Spark's retries spent)."""

    def __init__(self, stage, cause):
        super().__init__(f"the {stage} stage failed; no reports written:\n{cause}")


def run_stage(stage, rdd, task):
    """Run `task` over `rdd`; a failure is the stage's, not the driver's."""
    try:
        rdd.foreach(task)
    except JobError:
        raise
    except Exception as cause:
        raise StageFailed(stage, cause) from cause


class JobError(Exception):
    """A tokenledger run that failed: its exit code and its stderr."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def tokenledger(binary, args):
    """Run the binary; its stderr is the task's error when it fails."""
    done = subprocess.run([locate(binary), *args], capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: a gate failed, reports written
        raise JobError(done.returncode, f"tokenledger {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.returncode


def span_files(binary, paths):
    """Every span file of the given files and directories, as the binary
    reads them (`partition --list`: each once, sorted, links followed,
    compressed and zipped files in, other files out): the job cuts what one
    `tokenledger report` over the same paths reads."""
    done = subprocess.run([locate(binary), "partition", "--spans", *paths, "--list"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise JobError(done.returncode, f"tokenledger partition --list: {done.stderr}")
    return json.loads(done.stdout)


def cut_dir(work, path):
    """Where the partitions of span file `path` go: named by the path, so a
    later run over other files never reads this run's parts."""
    return work / "parts" / hashlib.sha256(path.encode()).hexdigest()[:20]


def split_flags(flags):
    """(flags for the shard runs, flags for the merge)."""
    shard, merge, i = [], [], 0
    while i < len(flags):
        flag = flags[i]
        # `--join-attr=x` as well as `--join-attr x`.
        name = flag.split("=", 1)[0]
        inline = "=" in flag
        values = [flags[i + 1]] if name in SHARD_ONLY and not inline and i + 1 < len(flags) else []
        shard += [flag, *values]
        if name not in SHARD_ONLY:
            merge.append(flag)
        i += 1 + len(values)
    return shard, merge


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="tokenledger",
                        help="the tokenledger binary on every executor: a name on PATH (the default, as the wheel "
                             "installs it) or a path")
    parser.add_argument("--partitions", type=int, required=True, help="N: shard tasks (partitions of the traces)")
    parser.add_argument("--spans", nargs="+", required=True, help="span files or directories")
    parser.add_argument("--work", required=True, help="shared directory for the partitions and partials")
    parser.add_argument("--out", required=True, help="the month's reports")
    parser.add_argument("--master", help="Spark master (default: spark-submit's)")
    parser.add_argument("--shuffle", type=int, help="run the shard tasks in an order shuffled by this seed (tests)")
    parser.add_argument("--kill-once", type=int, help="the first attempt of this shard task dies (tests)")
    argv = sys.argv[1:] if argv is None else argv
    own, flags = (argv[: argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    args = parser.parse_args(own)
    shard_flags, merge_flags = split_flags(flags)

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("tokenledger")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    try:
        return run_stages(spark.sparkContext, args, shard_flags, merge_flags)
    finally:
        spark.stop()


def run_stages(sc, args, shard_flags, merge_flags):
    """Cut, shard and merge on `sc`; the merge's exit code."""
    from pyspark import TaskContext

    binary, n, work = args.binary, args.partitions, Path(args.work).resolve()
    files = span_files(binary, args.spans)

    def cut(path):
        out = cut_dir(work, path)
        tokenledger(binary, ["partition", "--spans", path, "--into", str(n), "--out", str(out), "--quiet"])

    run_stage("cut", sc.parallelize(files, max(1, len(files))), cut)

    def shard(i):
        part = f"part-{i:05}-of-{n:05}"
        spans = [str(cut_dir(work, f) / part) for f in files]
        out = str(work / "partials" / f"{i:05}")
        if args.kill_once == i and TaskContext.get().attemptNumber() == 0:
            # Die halfway through writing: the retry must own the directory.
            proc = subprocess.Popen([locate(binary), "report", "--spans", *spans, "--shard", f"{i}/{n}",
                                     "--whole-traces", *shard_flags, "--out", out],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc.kill()
            proc.wait()
            os._exit(1)
        tokenledger(binary, ["report", "--spans", *spans, "--shard", f"{i}/{n}", "--whole-traces",
                             *shard_flags, "--out", out])

    (work / "partials").mkdir(parents=True, exist_ok=True)
    order = list(range(n))
    if args.shuffle is not None:
        random.Random(args.shuffle).shuffle(order)
    run_stage("shard", sc.parallelize(order, n), shard)
    # This run's partials only: an earlier run's with more partitions stay out.
    partials = [str(work / "partials" / f"{i:05}") for i in range(n)]
    return tokenledger(binary, ["merge", *partials, *merge_flags, "--out", args.out])


def run(argv=None):
    """main's exit code: tokenledger's own (2 for an input error, 1 for a
    failed gate with the reports written); a task that failed for good
    exits 2 (no reports written), its error on stderr."""
    try:
        return main(argv)
    except JobError as failed:
        print(f"tokenledger-spark: {failed}", file=sys.stderr)
        return failed.code
    except StageFailed as failed:
        print(f"tokenledger-spark: {failed}", file=sys.stderr)
        return 2
    except Exception as failed:  # on the driver: Spark's start, a missing binary
        print(f"tokenledger-spark: no reports written:\n{failed}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
