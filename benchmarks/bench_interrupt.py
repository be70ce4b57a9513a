"""Ctrl-C at 20 seeded random moments of every command (issue 14's acceptance): train-bpe (each
backend), train-unigram, dedup, shard, analyze, cpt and pipeline. Each must exit within 2 s with
one line, no traceback and no half-written output, and the command must then run to the end.

Runs tests/cli/test_interrupt.py with its slow test (the default suite runs 2 moments a command,
the slow test the other 18) and prints one row per command: moments, worst and median exit time,
exit codes and the interrupt lines seen.

    python benchmarks/bench_interrupt.py            # seed 14, as the tests
    TOKKIT_INTERRUPT_SEED=7 python benchmarks/bench_interrupt.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "interrupts.jsonl"
        env = {**os.environ, "TOKKIT_INTERRUPT_REPORT": str(report)}
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "", "-p", "no:randomly", "-rs",
             "tests/cli/test_interrupt.py", "-k", "random_moments or other_random_moments"],
            cwd=ROOT, env=env, capture_output=True, text=True)
        rows = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    by_command: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        by_command[str(row["command"])].append(row)
    print(f"{'command':<18} {'moments':>7} {'max s':>6} {'median s':>8} {'exit 130':>8}  lines")
    for command, runs in by_command.items():
        seconds = [float(r["seconds"]) for r in runs]  # type: ignore[arg-type]
        lines = sorted({str(r["line"]).removeprefix("error: ")[:70] for r in runs})
        print(f"{command:<18} {len(runs):>7} {max(seconds):>6.2f} {statistics.median(seconds):>8.2f} "
              f"{sum(r['code'] == 130 for r in runs):>8}  {' | '.join(lines)}")
    out = tests.stdout.strip().splitlines()
    for line in out:
        if line.startswith(("FAILED", "E   ")) and len(line) < 400:
            print(line)
    print(out[-1] if out else tests.stderr[-2000:])
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
