"""dedup on many tiny documents (issue 12.7): time and peak memory against the input's size.

One-word jsonl records (``{"text": "word123"}``, a quarter of them repeated) are deduplicated by
``tokkit dedup`` in a child process, with the default ``--near-min-words 10`` (short records are
exact-deduplicated only, never shingled) and with ``--near-min-words 0`` (every record MinHashed
and LSH-banded), beside the anchor: the shortest Python script that exact-deduplicates such a
file (``json.loads`` each line, a ``set`` of 16-byte BLAKE2b digests, kept lines written out),
and beside tokkit's own floor (the same command on a two-record file: interpreter and libraries).
Printed: wall time, peak RSS, and peak RSS as a multiple of the input.

The bound (docs in ``tokkit/dedup/corpus_features.py``): with the default settings, peak RSS
stays within 4x the input on this corpus (~50 MB of interpreter and libraries plus ~60 bytes a
document); the script says whether it held.

Measured (2 shared cores, load ~2, one run each; the old code run by this same script):

    2 M records, 44.1 MiB          before (5086884)          after
    default (near-min-words 10)    32.3 s  697 MiB 15.8x     10.3 s  166 MiB 3.8x
    --near-min-words 0             62.1 s 3044 MiB 69.0x     50.6 s  321 MiB 7.3x
    anchor (Python set)             8.8 s  187 MiB  4.2x      7.6 s  186 MiB 4.2x
    2 records (the floor)           1.4 s  187 MiB            0.8 s   52 MiB

Usage: python benchmarks/bench_dedup_small_docs.py [--docs 2000000]
Measured on a shared machine: timings are noisy (compare the rows of one run), peak memory much
less so.
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
BOUND = 4.0

MAXRSS = ("\nimport resource, sys\n"
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")

TOKKIT = ("import sys; from tokkit.cli import main\n"
          "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass" + MAXRSS)

ANCHOR = ("import hashlib, json, sys, unicodedata\n"
          "seen = set()\n"
          "with open(sys.argv[1], 'rb') as src, open(sys.argv[2], 'wb') as dst:\n"
          "    for line in src:\n"
          "        text = ' '.join(unicodedata.normalize('NFKC', json.loads(line)['text']).split())\n"
          "        key = hashlib.blake2b(text.encode(), digest_size=16).digest()\n"
          "        if key not in seen:\n"
          "            seen.add(key)\n"
          "            dst.write(line)" + MAXRSS)


def run(code: str, *args: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of ``python -c code args`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, check=True)
    seconds = time.perf_counter() - start
    return seconds, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "words.jsonl"
        with open(corpus, "w", encoding="utf-8") as f:
            for i in range(args.docs):
                f.write(json.dumps({"text": f"word{i % (args.docs * 3 // 4)}"}) + "\n")
        tiny = Path(tmp) / "tiny.jsonl"
        tiny.write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
        size_mb = corpus.stat().st_size / 2**20
        print(f"{args.docs:,} one-word records, {size_mb:,.1f} MiB (a quarter repeated)")
        print(f"{'':44} {'seconds':>8} {'peak MiB':>9} {'x input':>8}")
        rows = [
            ("tokkit dedup (default, near-min-words 10)",
             run(TOKKIT, "-q", "dedup", str(corpus), "-o", f"{tmp}/out10")),
            ("tokkit dedup --near-min-words 0",
             run(TOKKIT, "-q", "dedup", str(corpus), "-o", f"{tmp}/out0", "--near-min-words", "0")),
            ("anchor: Python set of digests (exact only)", run(ANCHOR, str(corpus), f"{tmp}/anchor.jsonl")),
            ("tokkit dedup of 2 records (its floor)", run(TOKKIT, "-q", "dedup", str(tiny), "-o", f"{tmp}/tiny")),
        ]
        for label, (seconds, peak) in rows:
            print(f"{label:44} {seconds:>8.1f} {peak:>9.0f} {peak / size_mb:>8.1f}")
        default_peak = rows[0][1][1]
        verdict = "held" if default_peak <= BOUND * size_mb else "NOT held"
        print(f"bound: default peak <= {BOUND:g} x input = {BOUND * size_mb:,.0f} MiB: {verdict} "
              f"({default_peak - rows[3][1][1]:,.0f} MiB above the floor, "
              f"{(default_peak - rows[3][1][1]) * 2**20 / args.docs:,.0f} bytes a document)")


if __name__ == "__main__":
    main()
