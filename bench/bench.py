"""Benchmark tokenledger against the same job in DuckDB SQL.

For each month size: generate it once (cached; 200 tenants and 40 variants
of each tool, as a large fleet's month), run `tokenledger report`
and `duckdb_job.py` three times each, and print input MB, median wall
seconds, MB/s, peak RSS, and the speed ratio. Both must give the same total.

Usage: bench.py BINARY PYTHON CACHE_DIR RUNS[,RUNS...] [THREADS] [DUCKDB_MAX_RUNS] [MEMORY_LIMIT]
DuckDB runs only on months of at most DUCKDB_MAX_RUNS runs (default 50,000):
on larger ones it takes minutes a run. Months of more than 50,000 runs are
run once each, not three times. tokenledger runs with --memory-limit
MEMORY_LIMIT (default 1G).
"""
import json
import os
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
    """Wall seconds, peak RSS in MB and stdout of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {cmd[0]} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024, out


def median_of(cmd, times=3):
    runs = [measure(cmd) for _ in range(times)]
    wall = statistics.median(r[0] for r in runs)
    return wall, max(r[1] for r in runs), runs[-1][2]


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
    tl_wall, tl_rss, _ = median_of(
        [binary, "report", "--spans", str(month / "spans"), "--usage", str(month / "usage.csv"),
         "--period", "2025-06", "--out", str(out), "--quiet", "--threads", threads,
         "--memory-limit", memory_limit],
        times=3 if runs <= 50_000 else 1,
    )
    summary = json.loads((out / "summary.json").read_text())
    tl_total, spans = summary["totals"]["cost"]["cost_usd"], summary["counts"]["spans"]
    db_wall = db_rss = None
    if runs <= duckdb_max:
        db_wall, db_rss, db_out = median_of(
            [python, str(here / "duckdb_job.py"), str(month), str(here / "prices.csv"), threads]
        )
        db_total = db_out.split()[1]
        if db_total != tl_total:
            sys.exit(f"bench: totals differ for {runs} runs: tokenledger {tl_total}, DuckDB {db_total}")
    rows.append((runs, mb, spans, tl_wall, tl_rss, db_wall, db_rss))

print("| runs | spans | input MB | tokenledger s | MB/s | peak RSS MB | DuckDB s | DuckDB peak RSS MB | speed-up |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for runs, mb, spans, tl_wall, tl_rss, db_wall, db_rss in rows:
    duck = f"{db_wall:.2f} | {db_rss:,.0f} | {db_wall / tl_wall:.1f}×" if db_wall else "- | - | -"
    print(f"| {runs:,} | {spans:,} | {mb:,.0f} | {tl_wall:.2f} | {mb / tl_wall:,.0f} | {tl_rss:,.0f} | {duck} |")
