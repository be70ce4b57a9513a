"""Every fast path equals its readable twin (:mod:`tokkit.train.reference`) on random corpora.

The twins recount everything every step; the fast code counts incrementally, caches, compiles or
links. Small hypothesis corpora over alphabets that make merges collide (repeated letters, shared
UTF-8 lead bytes, specials a merge can spell) keep each example in milliseconds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokkit.models.bpe import base_vocabulary
from tokkit.models.pretokenize import resolve_pattern, split
from tokkit.models.unigram import UnigramSettings, UnigramTokenizer, byte_piece, normalize
from tokkit.progress import NULL_PROGRESS
from tokkit.train.bpe import BPETrainer, _symbol_words
from tokkit.train.bpe_merge import learn_merges
from tokkit.train.bpe_merge_numba import available
from tokkit.train.config import BPEConfig, WordPieceConfig
from tokkit.train.reference import bpe, unigram, wordpiece
from tokkit.train.unigram_lattice import HashTable, Lattice, string_hashes
from tokkit.train.wordpiece import WordPieceTrainer

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- byte-level BPE ------------------------------------------------------------------------------

BPE_LETTERS = st.sampled_from([*list("aaab  c中文字é🎉\n"), "ab", "aa", "中文"])
bpe_texts = st.lists(st.lists(BPE_LETTERS, max_size=20).map("".join), min_size=1, max_size=12)
specials = st.sampled_from([(), ("<s>",), ("aa", "<|end|>")])  # "aa": a merge can spell it


@FAST
@given(texts=bpe_texts, extra=st.integers(0, 40), min_frequency=st.integers(0, 3), special=specials)
def test_trainer_learns_the_twins_merges(texts: list[str], extra: int, min_frequency: int,
                                         special: tuple[str, ...]) -> None:
    vocab_size = 256 + len(special) + extra
    want = bpe.train(texts, vocab_size, special_tokens=special, min_frequency=min_frequency)
    got = BPETrainer(BPEConfig(vocab_size=vocab_size, min_frequency=min_frequency, workers=1,
                               special_tokens=special)).train(texts)
    assert got.merges == want.merges
    for text in [*texts, "".join(texts)]:  # the fast encoder on what it was trained on
        assert got.encode(text) == bpe.encode(got, text)


def fast_merges(chunks: Counter[str], vocab_size: int, min_frequency: int, special: tuple[str, ...],
                **kernel: Any) -> list[tuple[int, int, int]]:
    tokens, ids_by_bytes = base_vocabulary(special)
    words, weights = _symbol_words(chunks, len(special))
    return learn_merges(words, weights, tokens, ids_by_bytes, vocab_size=vocab_size,
                        min_frequency=min_frequency, task=NULL_PROGRESS.task("merging"), **kernel).merges


@FAST
@given(texts=bpe_texts, extra=st.integers(0, 40), min_frequency=st.integers(0, 3), special=specials,
       long_chunk=st.integers(0, 6) | st.just(1 << 30))
def test_long_chunk_path_learns_the_twins_merges(texts: list[str], extra: int, min_frequency: int,
                                                 special: tuple[str, ...], long_chunk: int) -> None:
    """Chunks longer than ``long_chunk`` symbols take the linked path of ``bpe_long``."""
    chunks = Counter(c for t in texts for c in split(t, resolve_pattern("gpt4")))
    vocab_size = 256 + len(special) + extra
    want = bpe.learn_merges(chunks, vocab_size, special_tokens=special, min_frequency=min_frequency)
    assert fast_merges(chunks, vocab_size, min_frequency, special, long_chunk=long_chunk) == want


@pytest.mark.skipif(not available(), reason="numba is not installed (tokkit[fast])")
@FAST
@given(texts=bpe_texts, extra=st.integers(0, 40), min_frequency=st.integers(0, 3), special=specials)
def test_numba_loop_learns_the_twins_merges(texts: list[str], extra: int, min_frequency: int,
                                            special: tuple[str, ...]) -> None:
    chunks = Counter(c for t in texts for c in split(t, resolve_pattern("gpt4")))
    vocab_size = 256 + len(special) + extra
    want = bpe.learn_merges(chunks, vocab_size, special_tokens=special, min_frequency=min_frequency)
    assert fast_merges(chunks, vocab_size, min_frequency, special, kernel="numba") == want



@pytest.mark.skipif(not available(), reason="numba is not installed (tokkit[fast])")
@FAST
@given(texts=bpe_texts, extra=st.integers(0, 40), min_frequency=st.integers(0, 3), special=specials,
       wide=st.booleans())
def test_span_layout_learns_the_twins_merges(texts: list[str], extra: int, min_frequency: int,
                                             special: tuple[str, ...], wide: bool) -> None:
    """The trainer's path: chunks as UTF-8 arrays laid out as spans, count-1 chunks last, in
    ``uint16`` slots or (``wide``, as past 65,533 ids) ``uint32`` ones."""
    from tokkit.train.bpe import utf8_chunks
    from tokkit.train.bpe_merge_numba import learn_merges_spans
    from tokkit.train.bpe_spans import Spans

    chunks = Counter(c for t in texts for c in split(t, resolve_pattern("gpt4")))
    vocab_size = 256 + len(special) + extra
    want = bpe.learn_merges(chunks, vocab_size, special_tokens=special, min_frequency=min_frequency)
    tokens, ids_by_bytes = base_vocabulary(special)
    spans = Spans.from_utf8(*utf8_chunks(chunks), len(special), 1 << 20 if wide else vocab_size)
    assert spans.sym.dtype == (np.uint32 if wide else np.uint16)
    got = learn_merges_spans(spans, tokens, ids_by_bytes, vocab_size, max(1, min_frequency),
                             NULL_PROGRESS.task("merging"))
    assert got.merges == want


@pytest.mark.skipif(not available(), reason="numba is not installed (tokkit[fast])")
def test_span_layout_never_reads_a_merged_away_start() -> None:
    """A merged-away token start must not read as a live token later: 400 seeded corpora over
    four letters (the first, ``cbacacacb`` × 3 @ 268, went wrong while such starts kept their id)."""
    import random

    from tokkit.train.bpe import utf8_chunks
    from tokkit.train.bpe_merge_numba import learn_merges_spans
    from tokkit.train.bpe_spans import Spans

    rng = random.Random(0)
    corpora = [(Counter({"cbacacacb": 3}), 268)]
    for _ in range(400):
        words = ["".join(rng.choice("abcd") for _ in range(rng.randint(1, 10)))
                 for _ in range(rng.randint(1, 8))]
        corpora.append((Counter({w: rng.randint(1, 4) for w in words}), 256 + rng.randint(1, 12)))
    for chunks, vocab_size in corpora:
        want = bpe.learn_merges(chunks, vocab_size, special_tokens=(), min_frequency=1)
        tokens, ids_by_bytes = base_vocabulary(())
        got = learn_merges_spans(Spans.from_utf8(*utf8_chunks(chunks), 0, vocab_size), tokens,
                                 ids_by_bytes, vocab_size, 1, NULL_PROGRESS.task("merging"))
        assert got.merges == want, dict(chunks)

@pytest.fixture(scope="module")
def bpe_tok() -> bpe.ByteLevelBPETokenizer:
    lines = ["aaab 中文字 ab aa é🎉 " * (k % 5 + 1) for k in range(40)] + ["中文" * 30, "a" * 50]
    return BPETrainer(BPEConfig(vocab_size=320, min_frequency=1, workers=1,
                                special_tokens=("<s>", "aa"))).train(lines)


@FAST
@given(text=st.lists(st.sampled_from([*list("aab 中文字é🎉\n"), "<s>", "aa"]), max_size=60).map("".join)
       | st.text(max_size=30))
def test_encoder_gives_the_twins_ids(bpe_tok: bpe.ByteLevelBPETokenizer, text: str) -> None:
    assert bpe_tok.encode(text) == bpe.encode(bpe_tok, text)
    assert bpe_tok._merge_linked(bpe_tok._byte_symbols(text)) == "".join(
        map(chr, bpe.encode(bpe_tok, text, whole=True)))  # the long-chunk encoder, one chunk


# --- WordPiece -----------------------------------------------------------------------------------

WP_LETTERS = st.sampled_from([*list("aabbcÉé中文 ,"), "ab", "ba", "  "])
wp_texts = st.lists(st.lists(WP_LETTERS, max_size=25).map("".join), min_size=1, max_size=12).filter(
    lambda ts: any(t.strip(" ,") for t in ts))


@FAST
@given(texts=wp_texts, vocab_size=st.integers(30, 70), min_frequency=st.integers(0, 3),
       limit=st.sampled_from([None, 3, 6]))
def test_wordpiece_trainer_learns_the_twins_vocabulary(texts: list[str], vocab_size: int,
                                                       min_frequency: int, limit: int | None) -> None:
    config = WordPieceConfig(vocab_size=vocab_size, min_frequency=min_frequency, limit_alphabet=limit)
    want = wordpiece.train_vocab(texts, config)
    if len(want) > vocab_size or len(want) == len(config.special_tokens):
        return  # the alphabet alone is too large, or no word survives: the trainer refuses
    tok = WordPieceTrainer(config).train(texts)
    assert tok.vocab == want
    for text in [*texts, "".join(texts), "[CLS] " + texts[0]]:
        assert tok.encode(text) == wordpiece.encode(tok, text)


# --- Unigram -------------------------------------------------------------------------------------

UNI_LETTERS = "▁abc"
runs = st.lists(st.text(st.sampled_from(UNI_LETTERS), min_size=1, max_size=7), min_size=1, max_size=6)
longer = st.lists(st.text(st.sampled_from(UNI_LETTERS), min_size=2, max_size=4), max_size=12)


def lattice_of(runs: list[str], counts: list[float], vocab: list[str]) -> Lattice:
    order = sorted(range(len(runs)), key=lambda i: -len(runs[i]))
    runs = [runs[i] for i in order]
    lengths = np.array([len(r) for r in runs])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    table = HashTable.build(string_hashes(vocab, 16), np.array([len(p) for p in vocab]),
                            np.ones(len(vocab), dtype=bool), 16)
    return Lattice.build("".join(runs), starts, lengths, np.array([counts[i] for i in order], dtype=float),
                         table, 16)


@FAST
@given(runs=runs, pieces=longer, seed=st.integers(0, 2**32 - 1))
def test_lattice_computes_the_twins_expectations_and_best_segmentations(
        runs: list[str], pieces: list[str], seed: int) -> None:
    vocab = list(dict.fromkeys([*UNI_LETTERS, *pieces]))  # every character: each run has a segmentation
    rng = np.random.default_rng(seed)
    logp = np.log(rng.dirichlet(np.ones(len(vocab))))
    counts = rng.integers(1, 6, len(runs)).astype(float).tolist()
    lattice = lattice_of(runs, counts, vocab)
    expected, loglik = lattice.forward_backward(logp)
    want_expected, want_loglik = unigram.expected_counts(runs, counts, vocab, logp)
    assert expected == pytest.approx(want_expected, rel=1e-9, abs=1e-12)
    assert loglik == pytest.approx(want_loglik, rel=1e-12)
    tok_runs, tok_pieces, scores = lattice.viterbi(logp)
    order = sorted(range(len(runs)), key=lambda i: -len(runs[i]))
    for r, original in enumerate(order):
        best, ways = unigram.best_segmentations(runs[original], vocab, logp)
        assert scores[r] == pytest.approx(best, rel=1e-12)
        chosen = [vocab[p] for rr, p in zip(tok_runs, tok_pieces, strict=True) if rr == r][::-1]
        assert chosen in ways


@FAST
@given(pieces=st.lists(st.text(st.sampled_from("▁abcé"), min_size=1, max_size=4), min_size=1, max_size=15),
       seed=st.integers(0, 2**32 - 1), byte_fallback=st.booleans(),
       text=st.text(st.sampled_from(list("abcé中 ")), max_size=25))
def test_unigram_encoder_picks_a_best_segmentation(pieces: list[str], seed: int, byte_fallback: bool,
                                                   text: str) -> None:
    pieces = list(dict.fromkeys(pieces))
    scores = (-np.random.default_rng(seed).integers(1, 12 * 256, len(pieces)) / 256).tolist()
    extra = [byte_piece(b) for b in range(256)] if byte_fallback else []
    tok = UnigramTokenizer(["<unk>", "<s>", "</s>", *extra, *pieces], [0.0] * (3 + len(extra)) + scores,
                           types=["unknown", "control", "control", *["byte"] * len(extra), *["normal"] * len(pieces)],
                           settings=UnigramSettings(byte_fallback=byte_fallback))
    ids: list[int] = []
    for word in normalize(text, tok.settings):
        best, ways = unigram.encode_word(tok, word)
        got = list(tok._fallback(word, tok.viterbi(word)))
        assert got in ways, (word, best)
        ids += got
    assert tok.encode(text) == ids


def test_lattice_equals_the_twin_before_and_after_dropping_a_piece() -> None:
    rng = np.random.default_rng(0)
    vocab = ["▁", "a", "b", "c", "▁a", "ab", "bc", "abc", "ca", "▁ab", "bca", "cab", "aa"]
    runs = ["▁abcab", "abc", "▁a", "cabcaab", "b", "▁aabca", "bcabcabcaa"]
    counts = [3.0, 1.0, 7.0, 2.0, 5.0, 1.0, 2.0]
    logp = np.log(rng.dirichlet(np.ones(len(vocab))))
    lat = lattice_of(runs, counts, vocab)
    expected, loglik = lat.forward_backward(logp)
    want_expected, want_loglik = unigram.expected_counts(runs, counts, vocab, logp)
    assert expected == pytest.approx(want_expected, rel=1e-9)
    assert loglik == pytest.approx(want_loglik, rel=1e-12)
    tok_runs, tok_pieces, scores = lat.viterbi(logp)
    order = sorted(range(len(runs)), key=lambda i: -len(runs[i]))
    for r, original in enumerate(order):
        pieces = [vocab[p] for rr, p in zip(tok_runs, tok_pieces, strict=True) if rr == r][::-1]
        best, ways = unigram.best_segmentations(runs[original], vocab, logp)
        assert pieces in ways and scores[r] == pytest.approx(best, rel=1e-12)
    # dropping a piece removes its edges and leaves a valid lattice
    alive = np.ones(len(vocab), dtype=bool)
    alive[vocab.index("abc")] = False
    lat.keep_pieces(alive)
    kept = [p for p, a in zip(vocab, alive, strict=True) if a]
    sub = np.array([logp[vocab.index(p)] for p in kept])
    expected, loglik = lat.forward_backward(logp)
    want_expected, want_loglik = unigram.expected_counts(runs, counts, kept, sub)
    assert loglik == pytest.approx(want_loglik, rel=1e-12)
    assert expected[alive] == pytest.approx(want_expected, rel=1e-9)
    assert expected[vocab.index("abc")] == 0
