"""What a README-style ``tokkit cpt ... --steps 3`` costs on a CPU with every default (issue 14.4).

Runs the real command in a subprocess on a tiny LLaMA (2 layers, hidden 64, LLaMA's 32,000-token
vocabulary, 128 positions) over shards of the sample corpora, and reports wall time, peak RSS and
tokens per step, beside the same command with the GPU-scale batch that used to be the default
everywhere (``--batch-tokens 524288``), which is stopped after ``--old-timeout`` seconds.

    python benchmarks/bench_cpt_defaults.py                  # needs ../shared (LLaMA's tokenizer, corpora)
    python benchmarks/bench_cpt_defaults.py --old-timeout 0  # skip the old default
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cpt import build_assets

from tokkit.resources import own_peak_mb


def run(args: list[str], *, timeout: float) -> tuple[float, float, bool]:
    """(seconds, peak RSS in MB, finished) of ``python -m tokkit cpt ARGS``."""
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tokkit", "-q", "cpt", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, own_peak_mb(proc.pid))
        if time.perf_counter() - began > timeout:
            proc.send_signal(signal.SIGINT)
            proc.communicate()
            return time.perf_counter() - began, peak, False
        time.sleep(0.05)
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"tokkit cpt failed: {proc.stderr.read() if proc.stderr else ''}")
    return seconds, peak, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--old-timeout", type=float, default=60.0,
                        help="Seconds to give the old default batch (0 = skip it).")
    options = parser.parse_args()
    wait = os.environ.get("OMP_WAIT_POLICY", "PASSIVE, tokkit cpt's default")
    with tempfile.TemporaryDirectory(prefix="bench_cpt_defaults.") as tmp_name:
        tmp = Path(tmp_name)
        model, shards, vocab = build_assets(tmp, seq_len=128, hidden=64, layers=2, corpus_mb=2.0)
        common = ["--model", str(model), "--shards", str(shards), "--steps", str(options.steps)]
        table = Table(title=f"tokkit cpt --steps {options.steps}: tiny LLaMA, vocab {vocab:,}, seq_len 128, CPU "
                            f"(OMP_WAIT_POLICY {wait})")
        for column in ("batch", "tokens / step", "wall s", "peak RSS MB", "finished"):
            table.add_column(column, justify="left" if column == "batch" else "right")
        seconds, peak, done = run([*common, "-o", str(tmp / "new")], timeout=600)
        start = json.loads((tmp / "new" / "log.jsonl").read_text().splitlines()[0])
        table.add_row("default (sized to the CPU)", f"{start['tokens_per_step']:,}", f"{seconds:,.1f}",
                      f"{peak:,.0f}", "yes" if done else "no")
        if options.old_timeout > 0:
            seconds, peak, done = run([*common, "-o", str(tmp / "old"), "--batch-tokens", str(1 << 19)],
                                      timeout=options.old_timeout)
            table.add_row("--batch-tokens 524288 (the old default)", f"{1 << 19:,}", f"{seconds:,.1f}",
                          f"{peak:,.0f}", "yes" if done else f"no, stopped at {options.old_timeout:.0f} s")
        Console().print(table)
        Console().print("Wall time includes starting Python, torch and transformers; a loaded machine is slower.")


if __name__ == "__main__":
    main()
