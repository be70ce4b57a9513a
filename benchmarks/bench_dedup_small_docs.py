"""dedup on many tiny documents (issue 12.7): time and peak memory against the input's size.

One-word jsonl records (``{"text": "word123"}``, a quarter of them repeated) are deduplicated by
``tokkit dedup`` in a child process, with the default ``--near-min-words 10`` (short records are
exact-deduplicated only, never shingled) and with ``--near-min-words 0`` (every record MinHashed,
the behaviour before), printing wall time, peak RSS and RSS as a multiple of the input.

Usage: python benchmarks/bench_dedup_small_docs.py [--docs 2000000]
Measured on a shared machine: timings are noisy, peak memory much less so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(corpus: Path, out: Path, near_min_words: int) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one dedup run in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("import resource, sys; from tokkit.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "-q", "dedup", str(corpus), "-o", str(out),
                           "--near-min-words", str(near_min_words)],
                          capture_output=True, text=True, env=env, check=True)
    seconds = time.perf_counter() - start
    peak_kb = int(proc.stderr.strip().splitlines()[-1])
    return seconds, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "words.jsonl"
        with open(corpus, "w", encoding="utf-8") as f:
            for i in range(args.docs):
                f.write(json.dumps({"text": f"word{i % (args.docs * 3 // 4)}"}) + "\n")
        size_mb = corpus.stat().st_size / 2**20
        print(f"{args.docs:,} one-word records, {size_mb:,.1f} MiB")
        print(f"{'near-min-words':>15} {'seconds':>8} {'peak MiB':>9} {'x input':>8}")
        for words in (10, 0):
            seconds, peak = run(corpus, Path(tmp) / f"out{words}", words)
            print(f"{words:>15} {seconds:>8.1f} {peak:>9.0f} {peak / size_mb:>8.1f}")


if __name__ == "__main__":
    main()
