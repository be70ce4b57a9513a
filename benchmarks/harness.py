"""What the benchmark scripts share: where the shared corpora are, a seeded line sample, and a
trainer run in a child process (so its peak memory is its own).

The scripts run as ``python benchmarks/bench_<x>.py``: Python puts this folder on ``sys.path``,
so ``from harness import ...`` finds this module.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = [SHARED / "corpora" / "en", SHARED / "corpora" / "zh"]
HELDOUT = SHARED / "corpora" / "heldout"


def corpora_argument(parser: argparse.ArgumentParser) -> None:
    """``--corpora DIR`` (default: the shared corpora)."""
    parser.add_argument("--corpora", type=Path, default=SHARED / "corpora")


def check_corpora(corpora: Path) -> None:
    """Stop with one line when ``corpora`` holds no ``en`` folder."""
    if not (corpora / "en").is_dir():
        sys.exit(f"corpora not found at {corpora}; pass --corpora or set TOKKIT_SHARED")


def check_corpus(paths: list[Path]) -> None:
    """Stop with one line naming the first of ``paths`` that does not exist."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"corpus not found: {missing[0]} (set TOKKIT_SHARED or pass --corpus)")


def training_arguments(description: str | None) -> argparse.ArgumentParser:
    """The options of a trainer benchmark: ``--vocab``, ``--corpus`` and the child's
    ``--child BACKEND --out DIR``."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--corpus", nargs="+", default=[str(p) for p in DEFAULT_CORPUS])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser


def heldout_lines() -> list[str]:
    """Every line of the held-out files (``../shared/corpora/heldout/*.txt``), in file order."""
    return [line for f in sorted(HELDOUT.glob("*.txt")) for line in f.read_text(encoding="utf-8").splitlines()]


def sample_lines(paths: list[Path], max_bytes: int, seed: int) -> list[str]:
    """Non-blank lines of ``paths`` in a seeded random order, up to ``max_bytes`` of UTF-8."""
    from tokkit.corpus.readers import ReadOptions, read_texts

    lines = [t for t in read_texts(paths, ReadOptions(split="line")) if t.strip()]
    random.Random(seed).shuffle(lines)
    out, size = [], 0
    for line in lines:
        size += len(line.encode())
        if size > max_bytes:
            break
        out.append(line)
    return out


def train_in_child(algorithm: str, backend: str, config: Any, corpus: list[str], out: str) -> None:
    """The child's side: train ``(algorithm, backend)`` on ``corpus`` read by line, save it to
    ``out`` and print the time, the vocabulary size and the trainer's numeric stats as JSON."""
    from tokkit.corpus.readers import ReadOptions, read_texts
    from tokkit.load import make_trainer

    start = time.perf_counter()
    trainer = make_trainer(algorithm, backend, config)
    tok = trainer.train(read_texts(corpus, ReadOptions(split="line")))
    seconds = time.perf_counter() - start
    tok.save(out)
    stats = {k: v for k, v in getattr(trainer, "stats", {}).items() if isinstance(v, int | float)}
    print(json.dumps({"seconds": seconds, "vocab_size": tok.vocab_size, "stats": stats}))


def run_child(script: str, backend: str, vocab: int, corpus: list[str], out: Path, *,
              tree_memory: bool = False) -> dict[str, object]:
    """Run ``script --child BACKEND`` and return its JSON with ``peak_mb`` (its peak RSS) and,
    with ``tree_memory``, ``tree_mb``: the peak summed PSS of it and its workers (every 0.1 s)."""
    from tokkit.resources import tree_pss_mb

    proc = subprocess.Popen([sys.executable, script, "--child", backend, "--vocab", str(vocab),
                             "--out", str(out), "--corpus", *corpus], stdout=subprocess.PIPE, text=True)
    tree_peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            tree_peak[0] = max(tree_peak[0], tree_pss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if tree_memory:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    if tree_memory:
        sampler.join()
    output = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{backend} child failed (status {status})")
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    if tree_memory:
        result["tree_mb"] = tree_peak[0]
    return result
