"""Long chunks in the merge loop: the linked path learns the string path's merges and the
readable twin's (:mod:`tokkit.train.reference.bpe`), and a long run of letters costs linear time.
The compiled loop (:mod:`tokkit.train.bpe_merge_numba`) learns the same merges."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from tokkit.models.bpe import base_vocabulary
from tokkit.progress import NULL_PROGRESS
from tokkit.train.bpe import BPETrainer, _symbol_words
from tokkit.train.bpe_merge import learn_merges
from tokkit.train.bpe_merge_numba import available
from tokkit.train.config import BPEConfig
from tokkit.train.reference import bpe

needs_numba = pytest.mark.skipif(not available(), reason="numba is not installed (tokkit[fast])")


def fast_merges(chunks: Counter[str], vocab_size: int, min_frequency: int, long_chunk: int) -> list[tuple[int, int, int]]:
    tokens, ids_by_bytes = base_vocabulary([])
    words, weights = _symbol_words(chunks, 0)
    result = learn_merges(words, weights, tokens, ids_by_bytes, vocab_size=vocab_size,
                          min_frequency=min_frequency, task=NULL_PROGRESS.task("merging"),
                          long_chunk=long_chunk)
    return result.merges


def random_chunks(seed: int) -> Counter[str]:
    rng = random.Random(seed)
    alphabet = rng.choice(["ab", "abc", "汉字", "a汉b", "aaab"])
    chunks: Counter[str] = Counter()
    for _ in range(rng.randint(1, 30)):
        length = rng.choice([1, 2, 3, 5, 8, 40, 300])
        chunk = "".join(rng.choice(alphabet) for _ in range(length))
        if rng.random() < 0.3:
            chunk = rng.choice(alphabet) * length
        chunks[chunk] += rng.randint(1, 5)
    return chunks


@pytest.mark.parametrize("seed", range(40))
def test_linked_path_learns_the_twins_merges(seed: int) -> None:
    chunks = random_chunks(seed)
    expected = bpe.learn_merges(chunks, 330, min_frequency=1)
    assert fast_merges(chunks, 330, 1, long_chunk=1 << 30) == expected  # strings only
    assert fast_merges(chunks, 330, 1, long_chunk=0) == expected  # linked only
    assert fast_merges(chunks, 330, 1, long_chunk=6) == expected  # both


@pytest.mark.parametrize("seed", range(10))
def test_linked_path_keeps_the_min_frequency_stop(seed: int) -> None:
    chunks = random_chunks(100 + seed)
    strings = fast_merges(chunks, 400, 4, long_chunk=1 << 30)
    assert fast_merges(chunks, 400, 4, long_chunk=0) == strings
    assert fast_merges(chunks, 400, 4, long_chunk=6) == strings


def test_words_come_back_merged() -> None:
    chunks = Counter({"汉字" * 600: 1, "ab" * 3: 2, "abab": 5})
    tokens, ids_by_bytes = base_vocabulary([])
    words, weights = _symbol_words(chunks, 0)
    learn_merges(words, weights, tokens, ids_by_bytes, vocab_size=266, min_frequency=2,
                 task=NULL_PROGRESS.task("merging"), long_chunk=100)
    for word, chunk in zip(words, chunks, strict=True):
        assert b"".join(tokens[ord(c)] for c in word) == chunk.encode()
    assert len(words[0]) < 600


def test_a_long_chunk_without_a_frequent_pair_gives_the_byte_alphabet() -> None:
    """No pair of a long chunk reaches min_frequency: the linked path records nothing (it raised
    IndexError on its empty position list)."""
    tok = BPETrainer(BPEConfig(vocab_size=300, min_frequency=5000, workers=1)).train(["x" * 2000])
    assert tok.vocab_size == 256 and tok.merges == []


def _train_seconds(run: int) -> float:
    text = "汉字" * (run // 2) + " word" * 100
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        BPETrainer(BPEConfig(vocab_size=300, min_frequency=2, workers=1)).train([text])
        best = min(best, time.perf_counter() - start)
    return best


def test_a_long_run_of_letters_costs_linear_time() -> None:
    """One unbroken 80k-character run cost ~38× a 10k run (each merge site rescanned the chunk:
    quadratic); linear work is 8×, and 20× leaves room for a loaded machine."""
    small, large = _train_seconds(10_000), _train_seconds(80_000)
    assert large < 20 * small, (small, large)


@pytest.mark.parametrize("seed", range(5))
def test_first_count_in_small_blocks_learns_the_same_merges(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokkit.train import bpe_merge

    chunks = random_chunks(200 + seed)
    whole = fast_merges(chunks, 330, 2, long_chunk=50)
    monkeypatch.setattr(bpe_merge, "COUNT_BLOCK", 7)
    assert fast_merges(chunks, 330, 2, long_chunk=50) == whole


def compiled(chunks: Counter[str], vocab_size: int, min_frequency: int) -> tuple[list, list[str]]:
    tokens, ids_by_bytes = base_vocabulary([])
    words, weights = _symbol_words(chunks, 0)
    result = learn_merges(words, weights, tokens, ids_by_bytes, vocab_size=vocab_size,
                          min_frequency=min_frequency, task=NULL_PROGRESS.task("merging"), kernel="numba")
    return result.merges, words


@needs_numba
@pytest.mark.parametrize("seed", range(30))
def test_compiled_learns_the_python_merges(seed: int) -> None:
    chunks = random_chunks(seed)
    assert compiled(chunks, 330, 1)[0] == bpe.learn_merges(chunks, 330, min_frequency=1)
    assert compiled(chunks, 400, 3)[0] == fast_merges(chunks, 400, 3, long_chunk=1 << 30)


@needs_numba
def test_compiled_gives_back_merged_words() -> None:
    chunks = Counter({"汉字" * 600: 1, "ab" * 3: 2, "abab": 5, "": 1, "a": 4})
    merges, words = compiled(chunks, 266, 2)
    tokens, _ = base_vocabulary([])
    for left, right, new in merges:
        if new == len(tokens):
            tokens.append(tokens[left] + tokens[right])
    for word, chunk in zip(words, chunks, strict=True):
        assert b"".join(tokens[ord(c)] for c in word) == chunk.encode()


@needs_numba
def test_trainer_with_numba_kernel_equals_python_kernel() -> None:
    texts = [f"line {i} 第{i}行 low lower lowest 我们学习中文 " + "汉字" * (i % 7) for i in range(400)]
    texts.append("汉字" * 3000 + " word" * 50)  # a long chunk
    specials = ("<s>", "</s>")
    python = BPETrainer(BPEConfig(vocab_size=700, workers=1, special_tokens=specials)).train(texts)
    fast = BPETrainer(BPEConfig(vocab_size=700, workers=1, special_tokens=specials,
                                merge_kernel="numba")).train(texts)
    assert fast.merges == python.merges and len(fast.merges) == 700 - 256 - 2


@needs_numba
@pytest.mark.parametrize("seed", range(4))
def test_compiled_with_tiny_tables_rebuilds_them_and_learns_the_same_merges(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import tokkit.train.bpe_merge_numba as compiled_loop

    chunks = random_chunks(seed)
    expected = compiled(chunks, 420, 2)[0]
    rebuilds: list[int] = []
    rebuild = compiled_loop._Tables.rebuild

    def counted_rebuild(self):  # type: ignore[no-untyped-def]
        rebuilds.append(int(self.meta[0]))
        rebuild(self)

    monkeypatch.setattr(compiled_loop, "MIN_PAIRS", 4)
    monkeypatch.setattr(compiled_loop, "FIRST_PAIRS", 2)
    monkeypatch.setattr(compiled_loop, "REBUILD_SLACK", 0)
    monkeypatch.setattr(compiled_loop._Tables, "rebuild", counted_rebuild)
    assert compiled(chunks, 420, 2)[0] == expected == fast_merges(chunks, 420, 2, long_chunk=64)
    assert rebuilds


@needs_numba
def test_trainer_with_tiny_tables_learns_the_python_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    import tokkit.train.bpe_merge_numba as compiled_loop

    texts = [f"line {i} 第{i}行 low lower lowest 我们学习中文 " + "汉字" * (i % 7) for i in range(300)]
    python = BPETrainer(BPEConfig(vocab_size=900, workers=1, merge_kernel="python")).train(texts)
    monkeypatch.setattr(compiled_loop, "MIN_PAIRS", 4)
    monkeypatch.setattr(compiled_loop, "FIRST_PAIRS", 2)
    monkeypatch.setattr(compiled_loop, "REBUILD_SLACK", 0)
    fast = BPETrainer(BPEConfig(vocab_size=900, workers=1, merge_kernel="numba")).train(texts)
    assert fast.merges == python.merges
