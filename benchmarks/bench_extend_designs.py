"""Designs for choosing the new tokens of a Llama 3 extension, measured on held-out 资治通鉴 (issue 17).

The target: ≤ 0.70 tokens per Han character with at most 24,000 new tokens, trained on the sample
Chinese corpus only. Plain continued BPE (``tokkit extend``) gives 0.713. Each design below starts
from the same chunk counts (the base's pre-tokenizer on the corpus, each distinct chunk encoded
with the base) and is scored by tiktoken with the new tokens ranked after the base's:

* ``plain``: continued BPE, whole characters only (the default);
* ``only-cjk``: tokens without a CJK character refused (do non-CJK merges waste slots?);
* ``dedup``: the corpus with repeated lines counted once;
* ``max-han-N``: tokens of more than N Han characters refused;
* ``partial``: partial-UTF-8 tokens allowed (rare characters the base splits in bytes);
* ``prune-usage``: continued BPE to ``--pool`` tokens, then the least-used *leaf* tokens (not
  half of another kept token, so every kept token stays reachable by its own merge) dropped
  ``--step`` at a time, the corpus re-encoded after each round, until ``--add`` remain — the
  Unigram recipe's likelihood pruning with BPE's encoder;
* ``prune-spread``: the same, scoring a token by its uses outside the book that uses it most;
* ``optimal-segmentation``: the plain tokens with the fewest-tokens segmentation of each chunk
  instead of BPE's: a bound on what any re-ranking of the same tokens could give.

Usage (from the project root; each design is one continued-BPE run, minutes on 2 loaded cores)::

    python benchmarks/bench_extend_designs.py
    python benchmarks/bench_extend_designs.py --add 2000 --designs plain,max-han-4   # quick
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import regex
from rich.console import Console
from rich.table import Table

import tokkit.train.bpe_continue as bpe_continue
from tokkit.corpus.cjk import han_count
from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.llama.bytelevel_extend import chunk_encoder
from tokkit.llama.bytelevel_io import ByteLevelVocab, read_bytelevel
from tokkit.progress import NULL_PROGRESS
from tokkit.train.bpe_continue import ContinueConfig, ContinueResult, continue_training
from tokkit.train.bpe_count import count_chunks

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
console = Console(width=160)


class Bench:
    def __init__(self, base: ByteLevelVocab, corpus: Path, heldout: Path) -> None:
        self.base = base
        self.files = sorted(corpus.glob("*.txt"))
        self.books: dict[str, Counter[str]] = {}
        for path in self.files:
            counts = count_chunks(read_texts([path], ReadOptions(split="line")), base.pattern, workers=1,
                                  task=NULL_PROGRESS.task("count"))
            self.books[path.stem] = Counter(counts.counts)
        self.counts: Counter[str] = sum(self.books.values(), Counter())
        self.encode = chunk_encoder(base)
        self.ids = {chunk: self.encode(chunk) for chunk in self.counts}
        self.lines = list(read_texts([heldout], ReadOptions(split="line")))
        self.han = sum(map(han_count, self.lines))

    def encoding(self, new: list[bytes]) -> Any:
        import tiktoken

        ranks = dict(self.base.ranks)
        ranks.update({token: self.base.next_id + k for k, token in enumerate(new)})
        return tiktoken.Encoding("x", pat_str=self.base.pattern, mergeable_ranks=ranks, special_tokens={})

    def per_han(self, new: list[bytes]) -> float:
        return sum(map(len, self.encoding(new).encode_ordinary_batch(self.lines, num_threads=1))) / self.han

    def train(self, add: int, counts: Counter[str] | None = None, **config: Any) -> ContinueResult:
        counts = counts if counts is not None else self.counts
        encode = lambda chunk: self.ids[chunk] if chunk in self.ids else self.encode(chunk)  # noqa: E731
        return continue_training(counts, encode_chunk=encode, tokens=self.base.tokens_by_id(),
                                 next_id=self.base.next_id, config=ContinueConfig(add=add, **config), ranked=True)


def refusing(more_han_than: int) -> Callable[..., str | None]:
    original = bpe_continue.allowed_token

    def allowed(token: bytes, config: ContinueConfig) -> str | None:
        reason = original(token, config)
        if reason is None and han_count(token.decode("utf-8", "ignore")) > more_han_than:
            return "non_cjk"  # counted with the refused ones
        return reason

    return allowed


def prune(bench: Bench, pool: ContinueResult, keep: int, step: int, spread: bool) -> list[bytes]:
    """Drop the least-used leaf tokens of ``pool`` ``step`` at a time until ``keep`` remain."""
    next_id = bench.base.next_id
    n = len(pool.tokens)
    alive = np.ones(n, bool)
    halves = [[x - next_id for x in pair if x >= next_id] for pair in pool.pairs]
    names = sorted(bench.books)
    chunks = [(chunk.encode("utf-8"), [(b, bench.books[name][chunk]) for b, name in enumerate(names)
                                       if chunk in bench.books[name]]) for chunk in bench.counts]
    while alive.sum() > keep:
        index = np.flatnonzero(alive)
        position = {k: j for j, k in enumerate(index)}
        single = bench.encoding([pool.tokens[k] for k in index])._core_bpe.encode_single_piece
        uses = np.zeros((len(index), len(names)))
        for raw, books in chunks:
            for id in single(raw):
                if id >= next_id:
                    for b, count in books:
                        uses[id - next_id, b] += count
        score = uses.sum(1) - uses.max(1) if spread else uses.sum(1)
        needed = np.zeros(len(index), bool)
        for k in index:
            for half in halves[k]:
                needed[position[half]] = True
        leaves = np.flatnonzero(~needed)
        drop = leaves[np.argsort(score[leaves], kind="stable")][: min(step, int(alive.sum()) - keep)]
        alive[index[drop]] = False
    return [pool.tokens[k] for k in range(n) if alive[k]]


def optimal_segmentation(bench: Bench, new: list[bytes]) -> float:
    vocab = set(bench.base.ranks) | set(new)
    longest = max(map(len, vocab))
    pattern = regex.compile(bench.base.pattern)
    total = 0
    for chunk, n in Counter(m for line in bench.lines for m in pattern.findall(line)).items():
        raw = chunk.encode("utf-8")
        best = [0] + [1 << 30] * len(raw)
        for j in range(1, len(raw) + 1):
            for i in range(max(0, j - longest), j):
                if best[i] + 1 < best[j] and raw[i:j] in vocab:
                    best[j] = best[i] + 1
        total += n * best[-1]
    return total / bench.han


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=SHARED / "fixtures" / "llama3" / "tokenizer.model")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpora" / "zh")
    parser.add_argument("--heldout", type=Path, default=SHARED / "corpora" / "heldout" / "zh_zizhitongjian.txt")
    parser.add_argument("--add", type=int, default=24000)
    parser.add_argument("--pool", type=float, default=1.5, help="prune-*: start from add × this many tokens")
    parser.add_argument("--step", type=int, default=1000, help="prune-*: tokens dropped per round")
    parser.add_argument("--designs", default="plain,only-cjk,dedup,max-han-4,max-han-3,partial,prune-usage,"
                                             "prune-spread,optimal-segmentation")
    args = parser.parse_args()
    start = time.perf_counter()
    bench = Bench(read_bytelevel(args.base), args.corpus, args.heldout)
    console.print(f"counted and encoded {len(bench.counts):,} distinct chunks in {time.perf_counter() - start:.0f} s; "
                  f"base: {bench.per_han([]):.4f} tokens per Han character")
    table = Table(title=f"new tokens chosen by design: held-out tokens per Han character ({args.add:,} new tokens)")
    for column in ("design", "tokens / Han", "seconds"):
        table.add_column(column, justify="left" if column == "design" else "right")
    plain: list[bytes] | None = None
    pool: ContinueResult | None = None
    for design in args.designs.split(","):
        start = time.perf_counter()
        if design in ("plain", "optimal-segmentation") and plain is None:
            plain = bench.train(args.add).tokens
        if design == "plain":
            new = plain
        elif design == "optimal-segmentation":
            assert plain is not None
            value = optimal_segmentation(bench, plain)
        elif design == "only-cjk":
            new = bench.train(args.add, only_cjk=True).tokens
        elif design == "dedup":
            seen: set[str] = set()
            lines = [line for line in read_texts(bench.files, ReadOptions(split="line"))
                     if not (line.strip() in seen or seen.add(line.strip()))]  # type: ignore[func-returns-value]
            counted = count_chunks(lines, bench.base.pattern, workers=1, task=NULL_PROGRESS.task("count"))
            new = bench.train(args.add, Counter(counted.counts)).tokens
        elif design.startswith("max-han-"):
            original = bpe_continue.allowed_token
            bpe_continue.allowed_token = refusing(int(design.removeprefix("max-han-")))
            try:
                new = bench.train(args.add).tokens
            finally:
                bpe_continue.allowed_token = original
        elif design == "partial":
            new = bench.train(args.add, allow_partial=True).tokens
        elif design in ("prune-usage", "prune-spread"):
            pool = pool or bench.train(int(args.add * args.pool))
            new = prune(bench, pool, args.add, args.step, spread=design == "prune-spread")
        else:
            raise SystemExit(f"unknown design {design}")
        if design != "optimal-segmentation":
            assert new is not None and len(new) <= args.add
            value = bench.per_han(new)
        table.add_row(design, f"{value:.4f}", f"{time.perf_counter() - start:.0f}")
        console.print(f"{design}: {value:.4f}")
    console.print(table)
    console.print("[dim]measured on a shared 2-core machine under load from other jobs[/]")


if __name__ == "__main__":
    main()
