"""The parse floor: the time merely to tokenise a month's span files on
THREADS cores, with orjson (a SIMD JSON parser) in one process per core,
each parsing every line of its share of the bytes. tokenledger does this
and everything after it; the ratio says how near the floor it runs.

Usage: parse_floor.py MONTH_DIR THREADS
Prints the lines parsed.
"""
import os
import sys
from multiprocessing import Pool
from pathlib import Path

import orjson


def parse(part):
    """Parse every line starting in bytes [start, end) of one file."""
    path, start, end = part
    lines = 0
    with open(path, "rb") as f:
        if start:
            f.seek(start - 1)
            f.readline()  # the line under way belongs to the part before
        while f.tell() < end:
            line = f.readline()
            if not line:
                break
            if line.strip():
                orjson.loads(line)
                lines += 1
    return lines


def main():
    month, threads = Path(sys.argv[1]), int(sys.argv[2])
    parts = []
    for path in sorted((month / "spans").iterdir()):
        size = os.path.getsize(path)
        step = -(-size // threads)
        parts += [(str(path), k * step, min(size, (k + 1) * step)) for k in range(threads)]
    with Pool(threads) as pool:
        print("lines", sum(pool.map(parse, parts)))


if __name__ == "__main__":
    main()
