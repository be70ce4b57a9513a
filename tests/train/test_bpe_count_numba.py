"""The compiled GPT-4 chunk counter against its specification (``regex`` ``findall`` + ``Counter``):
the same chunks and counts on text built to hit every alternative of the pattern, on real corpora,
through the pool and through spilling."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokkit.train.bpe_count as bpe_count
from tokkit.corpus.readers import read_texts
from tokkit.models.pretokenize import GPT2_PATTERN, GPT4_PATTERN
from tokkit.progress import NULL_PROGRESS
from tokkit.train.bpe_count import count_batch, count_chunks
from tokkit.train.bpe_count_numba import (
    FOLDS,
    LETTER,
    NUMBER,
    SPACE,
    add_batch,
    available,
    classes,
    count_batch_joined,
)
from tokkit.train.bpe_spill import read_run

pytestmark = pytest.mark.skipif(not available(), reason="numba is not installed (tokkit[fast])")

TRICKY = list("'sSſdDmMtTlLvVeErRkK \t\r\n\x0b\x0c\x1c\x85\xa0\u2028\u3000aé汉字1٣Ⅻ½.,!?-_()\"“😀\u0301\ud800")
"""Apostrophes and the contraction letters with their case folds (ſ folds to s), every kind of
whitespace the pattern tells apart (CR, LF, other \\s, characters Python calls space but \\s does
not), letters, digits that are and are not Nd, punctuation, an emoji, a combining mark (\\p{M},
not a letter) and a lone surrogate."""


PIECES = st.sampled_from([*TRICKY, "'s", "'S", "'ſ", "'d", "'M", "'t", "'ll", "'Ll", "'lL", "'ve", "'VE", "'re",
                                   "'rE", "'R", "'v", "'l", "''", " '", "word", " word", "12345", "١٢٣٤", "...",
                                   " !?", "\r\n", "\n\n", "  ", " \t ", "\u3000\u3000", "汉字汉字"])
"""Fragments that put the alternatives next to each other far more often than single characters."""


def unpacked(texts: list[str]) -> tuple[Counter[str], int, int]:
    """The compiled batch counter's result, added to a ``Counter``, as :func:`count_batch` gives it."""
    chunks, docs, size = count_batch_joined(texts)
    counter: Counter[str] = Counter()
    add_batch(counter, chunks)
    return counter, docs, size


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(st.sampled_from(TRICKY), max_size=40), max_size=6))
def test_compiled_counts_equal_findall_on_tricky_text(texts: list[str]) -> None:
    assert unpacked(texts) == count_batch(GPT4_PATTERN, texts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(PIECES, max_size=20).map("".join), max_size=4))
def test_compiled_counts_equal_findall_on_fragments(texts: list[str]) -> None:
    assert unpacked(texts) == count_batch(GPT4_PATTERN, texts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=4))
def test_compiled_counts_equal_findall_on_any_text(texts: list[str]) -> None:
    assert unpacked(texts) == count_batch(GPT4_PATTERN, texts)


def test_class_tables_are_regex_character_by_character() -> None:
    import numpy as np
    import regex

    everything = "".join(map(chr, range(0x110000)))
    bits, fold = classes()
    for bit, cls in ((LETTER, r"\p{L}"), (NUMBER, r"\p{N}"), (SPACE, r"\s")):
        members = [m.start() for m in regex.finditer(cls, everything)]
        assert np.flatnonzero(bits & bit).tolist() == members and members
    for index, letter in enumerate(FOLDS):
        members = [m.start() for m in regex.finditer(f"(?i:{letter})", everything)]
        assert np.flatnonzero(fold & (1 << index)).tolist() == members
    assert np.flatnonzero(fold & 1).tolist() == [ord("S"), ord("s"), 0x17F]  # ſ folds to s


def test_known_chunks_and_utf8_bytes() -> None:
    text = "He's  RE'LL it's 12345 ...\r\n\n  x \t汉字! 😀\ud800"
    counts, docs, size = unpacked([text, text, ""])
    expected = Counter(2 * ["He", "'s", " ", " RE", "'LL", " it", "'s", " ", "123", "45", " ...\r\n\n",
                            " ", " x", " ", "\t汉字", "!", " 😀\ud800"])
    assert counts == expected == count_batch(GPT4_PATTERN, [text, text])[0]
    assert (docs, size) == (3, 2 * len(text.encode("utf-8", "surrogatepass")))


def test_batches_holding_nul_and_the_next_code_points_are_split_by_another() -> None:
    """The separator of the one ``split`` is the smallest code point a batch lacks; counts add up
    across batches in first-seen order, as ``Counter.update`` of each batch's ``Counter`` does."""
    batches = [["a\0b c\x01", "\0\0 d"], ["c\x01 a\0b x", ""], ["\x02 y"], []]
    assert [count_batch_joined(texts)[0][1] for texts in batches] == ["\x02", "\x02", "\0", "\0"]
    counter: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    for texts in batches:
        add_batch(counter, count_batch_joined(texts)[0])
        expected.update(count_batch(GPT4_PATTERN, texts)[0])
    assert counter == expected and list(counter) == list(expected)


def test_kernels_are_checked() -> None:
    with pytest.raises(ValueError, match="GPT-4 pattern"):
        count_chunks(["a b"], GPT2_PATTERN, workers=1, task=NULL_PROGRESS.task("x"), kernel="numba")
    with pytest.raises(ValueError, match="one of auto, regex, numba"):
        count_chunks(["a b"], GPT4_PATTERN, workers=1, task=NULL_PROGRESS.task("x"), kernel="fast")


def sample(corpora: Path) -> list[str]:
    """~1.2 MB of real text: English prose, WikiText and modern Chinese, one text a line."""
    texts: list[str] = []
    for name in ("en/sherlock_holmes.txt", "en/wikitext2_test.txt", "zh"):
        budget = 400_000
        for line in read_texts([corpora / name], split="line"):
            texts.append(line)
            budget -= len(line)
            if budget <= 0:
                break
    return texts


@pytest.mark.parametrize("workers", [1, 2])
def test_count_chunks_kernels_agree_on_real_text(corpora: Path, workers: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sample(corpora)
    monkeypatch.setattr(bpe_count, "BATCH_CHARS", 100_000)  # several batches through the pool
    task = NULL_PROGRESS.task("x")
    regex = count_chunks(texts, GPT4_PATTERN, workers=1, task=task, kernel="regex")
    compiled = count_chunks(texts, GPT4_PATTERN, workers=workers, task=task, kernel="numba")
    automatic = count_chunks(texts, GPT4_PATTERN, workers=workers, task=task)
    assert len(regex.counts) > 50_000
    for other in (compiled, automatic):
        assert (other.counts, other.documents, other.corpus_bytes) == \
            (regex.counts, regex.documents, regex.corpus_bytes)


def test_spilled_runs_hold_the_unspilled_counts(corpora: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sample(corpora)
    monkeypatch.setattr(bpe_count, "BATCH_CHARS", 100_000)
    task = NULL_PROGRESS.task("x")
    whole = count_chunks(texts, GPT4_PATTERN, workers=2, task=task, kernel="regex")
    spilled = count_chunks(texts, GPT4_PATTERN, workers=2, task=task, kernel="numba",
                           max_chunks=5_000, spill=tmp_path)
    assert not spilled.counts and len(spilled.runs) > 3
    merged: Counter[str] = Counter()
    for run in spilled.runs:
        records = list(read_run(run))
        assert [chunk for chunk, _ in records] == sorted(chunk for chunk, _ in records)
        for chunk, count in records:
            merged[chunk.decode("utf-8", "surrogatepass")] += count
    assert merged == whole.counts
    assert (spilled.documents, spilled.corpus_bytes) == (whole.documents, whole.corpus_bytes)
