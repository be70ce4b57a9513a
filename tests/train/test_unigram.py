"""Unigram training: the numeric core, runs, seeds, sizes, bad input (the lattice against its
readable twin: tests/train/test_reference_twins.py)."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from tokkit.errors import InputError
from tokkit.train.config import UnigramConfig
from tokkit.train.unigram import UnigramTrainer, digamma
from tokkit.train.unigram_lattice import _logsumexp


def test_logsumexp_falls_back_to_the_max_when_exp_overflows_or_vanishes() -> None:
    x = np.array([0.0, -1.0, -2.0, 5.0, 800.0, -900.0, -901.0])
    seg = np.array([0, 3, 5])
    group = np.array([0, 0, 0, 1, 1, 2, 2], dtype=np.int32)
    want = [math.log(1 + math.exp(-1) + math.exp(-2)), 800.0, -900 + math.log(1 + math.exp(-1))]
    for ref in ([0.0, 0.0, 0.0], [-0.5, 799.0, -899.0]):  # overflow and underflow, then none
        assert _logsumexp(x, seg, group, np.array(ref)) == pytest.approx(want, rel=1e-12)


def test_digamma() -> None:
    euler = 0.5772156649015329
    values = digamma(np.array([1.0, 0.5, 2.0, 10.0, 1000.0]))
    assert values == pytest.approx([-euler, -euler - 2 * math.log(2), 1 - euler,
                                    2.251752589066721, 6.907255195648812], rel=1e-9)


def test_runs_split_at_scripts_and_unknown_characters() -> None:
    words = ["▁Hello,", "▁中文abc123", "▁e\u0301t\u00e9", "▁x☃y"]
    counts = np.array([2.0, 1.0, 1.0, 1.0])
    required = np.array([ord(c) for c in set("".join(words)) - {"☃"}])
    runs, run_counts = UnigramTrainer.split_runs(words, counts, required)
    got = dict(zip(runs, run_counts.tolist(), strict=True))
    assert got == {"▁Hello": 2.0, ",": 2.0, "▁中文": 1.0, "abc": 1.0, "123": 1.0,
                   "▁e\u0301t\u00e9": 1.0, "▁x": 1.0, "y": 1.0}


@pytest.fixture(scope="module")
def small_corpus(corpora: Path) -> list[str]:
    lines = (corpora / "en" / "sherlock_holmes.txt").read_text(encoding="utf-8").splitlines()[:6000]
    return lines + (corpora / "zh" / "三字经.txt").read_text(encoding="utf-8").splitlines()


def test_exact_size_characters_and_stats(small_corpus: list[str]) -> None:
    trainer = UnigramTrainer(UnigramConfig(vocab_size=1500, character_coverage=1.0))
    tok = trainer.train(small_corpus)
    assert tok.vocab_size == 1500
    chars = set("".join(unicodedata.normalize("NFKC", "".join(small_corpus)).split())) | {"▁"}
    assert chars <= set(tok.pieces)  # every character kept
    assert tok.pieces[:3] == ["<unk>", "<s>", "</s>"]
    scores = tok.scores[3:]
    assert scores == sorted(scores, reverse=True)
    assert all(s < 0 for s in scores)
    stats = trainer.stats
    assert stats["documents"] == len(small_corpus)
    assert stats["corpus_bytes"] == sum(len(t.encode()) for t in small_corpus)
    assert stats["alphabet"] == len(chars)
    assert stats["seed_pieces"] > 1500 and stats["em_steps"] >= 2
    assert all(len(p) <= 16 for p in tok.pieces)
    assert not any("▁" in p[1:] for p in tok.pieces)


def test_vocab_smaller_than_the_alphabet(small_corpus: list[str]) -> None:
    with pytest.raises(InputError, match=r"smaller than the \d+ characters.*`byte_fallback=True`"):
        UnigramTrainer(UnigramConfig(vocab_size=300)).train(small_corpus)
    tok = UnigramTrainer(UnigramConfig(vocab_size=300, byte_fallback=True)).train(small_corpus)
    assert tok.vocab_size == 300
    text = small_corpus[-1]
    assert tok.decode(tok.encode(text)) == unicodedata.normalize("NFKC", text)  # rare ones as bytes
    assert any(tok.types[i] == "byte" for i in tok.encode(text))


def test_single_repeated_character() -> None:
    trainer = UnigramTrainer(UnigramConfig(vocab_size=20))
    tok = trainer.train(["a" * 50] * 10 + ["aaa aa a"] * 5)
    # too little text to support 20 pieces: EM keeps what is used, the stats say so
    assert 5 < tok.vocab_size == trainer.stats["vocab_size"] < 20
    assert {"a", "▁"} <= set(tok.pieces)
    assert all(set(p.lstrip("▁")) == {"a"} or p == "▁" for p in tok.pieces[3:])
    assert tok.decode(tok.encode("a" * 77)) == "a" * 77


def test_empty_corpus_and_bad_configs() -> None:
    with pytest.raises(InputError, match="no words"):
        UnigramTrainer(UnigramConfig(vocab_size=100)).train(["", "   "])
    with pytest.raises(InputError, match="<unk>"):
        UnigramConfig(vocab_size=100, special_tokens=("<s>",)).check()
    with pytest.raises(InputError, match="no room"):
        UnigramConfig(vocab_size=200, byte_fallback=True).check()
    with pytest.raises(InputError, match="normalization"):
        UnigramConfig(vocab_size=100, normalization="nfd").check()


def test_workers_do_not_change_the_model(small_corpus: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import tokkit.train.unigram as unigram_module
    import tokkit.train.unigram_lattice as lattice_module

    # workers even for a small corpus: a counting pool over many batches, lattice shards in workers
    monkeypatch.setattr(unigram_module, "BATCH_CHARS", 20_000)
    monkeypatch.setattr(lattice_module, "MIN_PARALLEL_CHARS", 0)
    counting: list[int] = []
    count_words = unigram_module.UnigramTrainer.count_words
    monkeypatch.setattr(unigram_module.UnigramTrainer, "count_words",
                        lambda self, texts, progress, workers=1: counting.append(workers)
                        or count_words(self, texts, progress, workers))
    models = []
    for workers in (1, 2, lattice_module.SHARDS + 2):
        trainer = UnigramTrainer(UnigramConfig(vocab_size=1500, workers=workers))
        tok = trainer.train(small_corpus)
        # counting takes every worker; the lattice stops at its shard count
        assert counting[-1] == workers
        assert trainer.stats["lattice_workers"] == min(workers, lattice_module.SHARDS)
        models.append((tok.pieces, tok.scores))
    assert models[0] == models[1] == models[2]


@pytest.mark.parametrize("min_parallel_chars", [1 << 20, 0])
def test_fewer_runs_than_shards(min_parallel_chars: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import tokkit.train.unigram_lattice as lattice_module

    monkeypatch.setattr(lattice_module, "MIN_PARALLEL_CHARS", min_parallel_chars)
    trainer = UnigramTrainer(UnigramConfig(vocab_size=10, workers=2))
    tok = trainer.train(["aaaa"] * 10)  # one run: the other shards are empty
    assert trainer.stats["unique_runs"] == 1
    assert trainer.stats["lattice_workers"] == (1 if min_parallel_chars else 2)  # tiny: in-process
    assert tok.pieces[3:] == ["▁", "a", "▁aaaa"]
