"""Benchmark tokenledger against the same job in DuckDB and ClickHouse SQL.

For each month size: generate it once (cached; 200 tenants and 40 variants
of each tool, as a large fleet's month), run `tokenledger report`,
`duckdb_job.py` and `chdb_job.py` (ClickHouse in-process) three times each,
and `parse_floor.py` (merely tokenising the span files with orjson, one
process per core), and print input MB, median wall seconds, MB/s,
tokenledger's CPU use and peak RSS, and tokenledger's time as a ratio to
each. Every job must give the same total.

Usage: bench.py BINARY PYTHON CACHE_DIR RUNS[,RUNS...] [THREADS] [DUCKDB_MAX_RUNS] [MEMORY_LIMIT]
DuckDB and chDB run only on months of at most DUCKDB_MAX_RUNS runs (default
50,000): on larger ones they take minutes a run. Months of more than 50,000 runs are
run once each, not three times, after reading the month's files once (so
the one run finds them in the page cache, as the second and third runs of
a smaller month do, and times tokenledger, not the disk). tokenledger runs
with --memory-limit MEMORY_LIMIT (default 1G).
"""
import json
import os
from decimal import Decimal
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

binary, python, cache = sys.argv[1], sys.argv[2], Path(sys.argv[3])
sizes = [int(n) for n in sys.argv[4].split(",")]
threads = sys.argv[5] if len(sys.argv) > 5 else "2"
duckdb_max = int(sys.argv[6]) if len(sys.argv) > 6 else 50_000
memory_limit = sys.argv[7] if len(sys.argv) > 7 else "1G"
here = Path(__file__).parent


def measure(cmd):
    """Wall seconds, peak RSS in MB, stdout and CPU % (of one core) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {cmd[0]} failed:\n{err}")
    cpu = 100 * (usage.ru_utime + usage.ru_stime) / wall
    return wall, usage.ru_maxrss / 1024, out, cpu


def median_of(cmd, times=3, before=lambda: None):
    runs = [(before(), measure(cmd))[1] for _ in range(times)]
    wall = statistics.median(r[0] for r in runs)
    return wall, max(r[1] for r in runs), runs[-1][2], statistics.median(r[3] for r in runs)


def warm_up(month):
    """Read every file of `month` once, into the page cache."""
    for f in sorted(month.rglob("*")):
        if f.is_file():
            with open(f, "rb") as handle:
                while handle.read(1 << 24):
                    pass


def sql_job(script, month, runs, tl_total):
    """A SQL job's median wall and peak RSS; its total must be tokenledger's."""
    wall, rss, out, _ = median_of([python, str(here / script), str(month), str(here / "prices.csv"), threads])
    total = out.split()[1]
    if Decimal(total) != Decimal(tl_total):
        sys.exit(f"bench: totals differ for {runs} runs: tokenledger {tl_total}, {script} {total}")
    return wall, rss


rows = []
for runs in sizes:
    # A fleet's shape: 200 tenants (the first ones busiest) and 40 variants
    # of each tool, children exported before parents.
    month = cache / f"fleet-{runs}"
    if not (month / "usage.csv").exists():
        subprocess.run(
            [binary, "simulate", "--runs", str(runs), "--seed", "1", "--message-bytes", "700",
             "--span-files", "4", "--tenants", "200", "--tools", "40", "--out", str(month)],
            check=True, stderr=subprocess.DEVNULL,
        )
    mb = sum(f.stat().st_size for f in month.rglob("*") if f.is_file() and "invoices" not in f.parts) / 1e6
    out = cache / f"reports-{runs}"
    if runs > 50_000:
        warm_up(month)

    tl_wall, tl_rss, _, tl_cpu = median_of(
        [binary, "report", "--spans", str(month / "spans"), "--usage", str(month / "usage.csv"),
         "--period", "2025-06", "--out", str(out), "--quiet", "--threads", threads,
         "--memory-limit", memory_limit],
        times=3 if runs <= 50_000 else 1,
        # Each timed run writes a new directory, as a month's first run
        # does (a rerun into the same --out first checks the earlier
        # reports against their hashes: 0.1 s at 1,000,000 runs).
        before=lambda: shutil.rmtree(out, ignore_errors=True),
    )
    summary = json.loads((out / "summary.json").read_text())
    tl_total, spans = summary["totals"]["cost"]["cost_usd"], summary["counts"]["spans"]
    duck = chdb = None
    if runs <= duckdb_max:
        duck = sql_job("duckdb_job.py", month, runs, tl_total)
        chdb = sql_job("chdb_job.py", month, runs, tl_total)
    floor = median_of([python, str(here / "parse_floor.py"), str(month), threads])[0]
    rows.append((runs, mb, spans, (tl_wall, tl_rss, tl_cpu), duck, chdb, floor))

print("| runs | spans | input MB | tokenledger s | MB/s | CPU | peak RSS MB | DuckDB s (RSS MB) | × DuckDB "
      "| chDB s (RSS MB) | × chDB | parse floor s | ÷ floor |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for runs, mb, spans, (wall, rss, cpu), duck, chdb, floor in rows:
    def versus(other):
        return f"{other[0]:.2f} ({other[1]:,.0f}) | {other[0] / wall:.1f}×" if other else "- | -"
    print(f"| {runs:,} | {spans:,} | {mb:,.0f} | {wall:.2f} | {mb / wall:,.0f} | {cpu:.0f} % | {rss:,.0f} "
          f"| {versus(duck)} | {versus(chdb)} | {floor:.2f} | {wall / floor:.1f}× |")
