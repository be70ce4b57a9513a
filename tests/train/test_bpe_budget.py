"""The compiled merge loop in bounded memory learns the merges it learns unbounded.

A small :class:`~tokkit.train.bpe_merge_numba.PairBudget` makes it track only the pairs above a
threshold, recount from the slots whenever none of them is left (lowering the threshold), and count
in hash partitions when one count table would not fit: none of that may change a merge.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tokkit.models.bpe import base_vocabulary
from tokkit.models.pretokenize import resolve_pattern, split
from tokkit.progress import NULL_PROGRESS
from tokkit.train.bpe import BPETrainer, utf8_chunks
from tokkit.train.bpe_merge_numba import available
from tokkit.train.config import BPEConfig
from tokkit.train.reference import bpe

pytestmark = pytest.mark.skipif(not available(), reason="numba is not installed (tokkit[fast])")

TEXTS = [f"line {i} 第{i}行 low lower lowest 我们学习中文 " + "汉字" * (i % 7) + " aaaa" * (i % 3)
         for i in range(300)]


def chunk_counts(texts: list[str]) -> Counter[str]:
    return Counter(c for t in texts for c in split(t, resolve_pattern("gpt4")))


def spans_merges(chunks: Counter[str], vocab_size: int, min_frequency: int, budget=None,  # type: ignore[no-untyped-def]
                 stats=None) -> list[tuple[int, int, int]]:
    from tokkit.train.bpe_merge_numba import learn_merges_spans
    from tokkit.train.bpe_spans import Spans

    tokens, ids_by_bytes = base_vocabulary(())
    spans = Spans.from_utf8(*utf8_chunks(chunks), 0, vocab_size)
    return learn_merges_spans(spans, tokens, ids_by_bytes, vocab_size, max(1, min_frequency),
                              NULL_PROGRESS.task("merging"), budget=budget, stats=stats).merges


@pytest.mark.parametrize(("tracked", "min_frequency"), [(1_000, 2), (3_000, 2), (6_000, 1)])
def test_a_small_budget_recounts_and_learns_the_same_merges(tracked: int, min_frequency: int) -> None:
    from tokkit.train.bpe_merge_numba import PairBudget, Recounts

    chunks = chunk_counts(TEXTS)
    want = spans_merges(chunks, 900, min_frequency)
    assert want == bpe.learn_merges(chunks, 900, min_frequency=min_frequency)
    stats = Recounts()
    got = spans_merges(chunks, 900, min_frequency, PairBudget(tracked=tracked), stats)
    assert got == want
    assert stats.recounts > 0 and stats.threshold >= min_frequency


def test_count_tables_too_small_for_all_pairs_count_in_partitions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import tokkit.train.bpe_merge_numba as loop

    monkeypatch.setattr(loop, "MIN_PAIRS", 4)
    monkeypatch.setattr(loop, "FIRST_PAIRS", 2)
    chunks = chunk_counts(TEXTS)
    want = spans_merges(chunks, 700, 2)
    stats = loop.Recounts()
    # room for 40 pairs per count table: the byte pairs alone need more
    got = spans_merges(chunks, 700, 2, loop.PairBudget(tracked=5_000, counting=40 * loop.COUNT_BYTES),
                       stats)
    assert got == want
    assert stats.parts > 1 and stats.recounts > 0
    # most counts adopt the partitions' candidates; some miss the threshold and count again
    assert 0 < stats.second_counts < stats.recounts + 1


@pytest.mark.parametrize("seed", range(6))
def test_random_corpora_under_a_tiny_budget_learn_the_twins_merges(seed: int) -> None:
    import random

    from tokkit.train.bpe_merge_numba import PairBudget

    rng = random.Random(seed)
    alphabet = rng.choice(["ab", "abc", "汉字", "a汉b", "aaab"])
    chunks: Counter[str] = Counter()
    for _ in range(rng.randint(5, 40)):
        chunk = "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 2, 3, 5, 8, 40, 300])))
        chunks[chunk] += rng.randint(1, 5)
    want = bpe.learn_merges(chunks, 400, min_frequency=1)
    assert spans_merges(chunks, 400, 1, PairBudget(tracked=2_000, counting=1 << 20)) == want


def test_trainer_reports_its_recounts() -> None:
    trainer = BPETrainer(BPEConfig(vocab_size=900, workers=1, merge_kernel="numba"))
    python = BPETrainer(BPEConfig(vocab_size=900, workers=1, merge_kernel="python")).train(TEXTS)
    assert trainer.train(TEXTS).merges == python.merges
    assert trainer.stats["recounts"] == 0 and trainer.stats["count_parts"] == 1


def test_a_partitions_pairs_spread_over_its_tables_slots() -> None:
    """The partition hash and the table hash use independent bits: otherwise one partition's pairs
    share their home slots' high bits, fill an eighth of the table and linear probing crawls."""
    import numpy as np

    from tokkit.train.bpe_merge_numba import partition_of, slot

    keys = np.full(1 << 16, -1, dtype=np.int64)  # empty: slot() is a code's home slot
    rng = np.random.default_rng(0)
    codes = [int(c) for c in rng.integers(0, 1 << 37, size=40_000)]
    for parts in (8, 64):
        mine = [c for c in codes if partition_of(c, parts) == 0]
        ranges = Counter(int(slot(keys, c)) >> 13 for c in mine)  # which eighth of the table
        assert len(mine) > 300 and len(ranges) == 8
        assert max(ranges.values()) < 0.2 * len(mine)


def test_an_overflowing_count_extrapolates_the_partitions_it_needs() -> None:
    from tokkit.train.bpe_merge_numba import more_parts

    assert more_parts(1, reached=60, slots=100) == 2  # at least double
    assert more_parts(2, reached=10, slots=100) == 32  # 16x: the pairs of 1/10 of the slots fill it
    assert more_parts(4, reached=30, slots=100) == 16
