"""Unigram tokenizer: Viterbi, unknowns and byte fallback, sampling, files, round trips."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkit.errors import InputError
from tokkit.load import load_tokenizer, write_meta
from tokkit.models.unigram import UnigramSettings, UnigramTokenizer, byte_piece
from tokkit.models.unigram_normalize import split_words
from tokkit.train.config import UnigramConfig
from tokkit.train.unigram import UnigramTrainer
from tokkit.types import Tokenizer

TRICKY = ["", "a" * 10_000, "héllo   WÖRLD  ", "中文字符和English混合", "emoji 🤗🎉 ok", "tab\tnew\nline",
          "ＦＵＬＬ　ｗｉｄｔｈ，标点。", "\x00\x07 control"]


def toy(byte_fallback: bool = False) -> UnigramTokenizer:
    pieces = ["<unk>", "<s>", "</s>", "▁", "a", "b", "c", "▁a", "ab", "▁ab", "bc", "abc"]
    scores = [0, 0, 0, -3.0, -2.0, -2.0, -2.5, -2.0, -2.5, -3.5, -2.2, -3.0]
    types = ["unknown", "control", "control", *["normal"] * 9]
    if byte_fallback:
        pieces += [byte_piece(b) for b in range(256)]
        scores += [0.0] * 256
        types += ["byte"] * 256
    return UnigramTokenizer(pieces, scores, types=types,  # type: ignore[arg-type]
                            settings=UnigramSettings(byte_fallback=byte_fallback))


def all_segmentations(word: str, vocab: dict[str, float]) -> list[tuple[float, list[str]]]:
    out = []
    n = len(word)
    for cuts in itertools.product([False, True], repeat=n - 1):
        bounds = [0, *[i + 1 for i, c in enumerate(cuts) if c], n]
        parts = [word[a:b] for a, b in itertools.pairwise(bounds)]
        if all(p in vocab for p in parts):
            out.append((sum(vocab[p] for p in parts), parts))
    return out


def test_viterbi_is_the_best_segmentation() -> None:
    tok = toy()
    vocab = {p: s for p, s, t in zip(tok.pieces, tok.scores, tok.types, strict=True) if t == "normal"}
    for word in ["▁abc", "▁abcab", "▁cab", "▁bcbca", "▁aaaabc"]:
        best = max(all_segmentations(word, vocab))
        got = [tok.id_to_token(i) for i, _ in tok.viterbi(word)]
        assert sum(vocab[p] for p in got) == pytest.approx(best[0])


def test_unknown_characters_fuse_or_fall_back_to_bytes() -> None:
    tok = toy()
    assert [tok.id_to_token(i) for i in tok.encode("ab xyz€ c")] == ["▁ab", "▁", "<unk>", "▁", "c"]
    assert tok.decode(tok.encode("ab xyz")) == "ab  ⁇ "
    fb = toy(byte_fallback=True)
    ids = fb.encode("ab x€")
    assert [fb.id_to_token(i) for i in ids] == ["▁ab", "▁", "<0x78>", "<0xE2>", "<0x82>", "<0xAC>"]
    assert fb.decode(ids) == "ab x€"
    assert fb.token_bytes(ids[-1]) == b"\xac" and fb.token_bytes(ids[0]) == b" ab"


def test_normalization_matches_sentencepiece_conventions() -> None:
    tok = toy(byte_fallback=True)
    assert tok.decode(tok.encode("  ａｂ\u3000c  ")) == "ab c"  # NFKC, whitespace collapsed/stripped
    raw = UnigramTokenizer(tok.pieces, tok.scores, types=tok.types,
                           settings=UnigramSettings(normalization="identity", byte_fallback=True))
    assert raw.decode(raw.encode("ａｂ")) == "ａｂ"


def test_sampling_draws_valid_and_varied_segmentations() -> None:
    tok = toy()
    rng = random.Random(0)
    samples = {tuple(tok.encode_sample("abc abc", alpha=0.2, rng=rng)) for _ in range(200)}
    assert len(samples) > 3
    assert all(tok.decode(list(s)) == "abc abc" for s in samples)
    # P(segmentation) ∝ exp(alpha · score): the empirical frequency of the best one matches
    vocab = {p: s for p, s, t in zip(tok.pieces, tok.scores, tok.types, strict=True) if t == "normal"}
    segs = all_segmentations("▁abc", vocab)
    z = sum(math.exp(0.5 * s) for s, _ in segs)
    best_score, best = max(segs)
    expected = math.exp(0.5 * best_score) / z
    draws = [tuple(tok.id_to_token(i) for i in tok.encode_sample("abc", alpha=0.5, rng=rng))
             for _ in range(4000)]
    assert draws.count(tuple(best)) / len(draws) == pytest.approx(expected, abs=0.03)


def test_bad_models_are_refused() -> None:
    with pytest.raises(InputError, match="unknown token"):
        UnigramTokenizer(["a", "b"], [0.0, 0.0])
    with pytest.raises(InputError, match="differ in length"):
        UnigramTokenizer(["<unk>", "a"], [0.0])
    with pytest.raises(InputError, match="256"):
        UnigramTokenizer(["<unk>", "a"], [0.0, -1.0], settings=UnigramSettings(byte_fallback=True))


@pytest.fixture(scope="module")
def trained(corpora: Path) -> UnigramTokenizer:
    lines = (corpora / "en" / "pride_and_prejudice.txt").read_text(encoding="utf-8").splitlines()
    lines += (corpora / "zh" / "三字经.txt").read_text(encoding="utf-8").splitlines()
    return UnigramTrainer(UnigramConfig(vocab_size=2000, byte_fallback=True)).train(lines)


def test_protocol_and_token_bytes(trained: UnigramTokenizer) -> None:
    assert isinstance(trained, Tokenizer)
    assert trained.kind == "unigram" and trained.vocab_size == 2000
    assert trained.special_tokens == {"<unk>": 0, "<s>": 1, "</s>": 2}
    assert [trained.token_bytes(3 + b) for b in range(256)] == [bytes([b]) for b in range(256)]
    for i in range(259, trained.vocab_size):
        assert trained.token_bytes(i) == trained.id_to_token(i).replace("▁", " ").encode()


def test_save_load_round_trip(trained: UnigramTokenizer, tmp_path: Path) -> None:
    main = trained.save(tmp_path)
    assert main == tmp_path / "unigram.json"
    assert json.loads(main.read_text(encoding="utf-8"))["format"] == "tokkit-unigram"
    assert len((tmp_path / "unigram.vocab").read_text(encoding="utf-8").splitlines()) == 2000
    for source in (tmp_path, main, tmp_path / "spm.model"):
        loaded = UnigramTokenizer.load(source)
        assert loaded.pieces == trained.pieces
        assert loaded.scores == pytest.approx(trained.scores, rel=1e-6)  # .model stores float32
        for text in TRICKY:
            assert loaded.encode(text) == trained.encode(text)
    write_meta(tmp_path, {"kind": "unigram"})
    assert isinstance(load_tokenizer(tmp_path), UnigramTokenizer)


def test_load_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        UnigramTokenizer.load(tmp_path / "missing")
    (tmp_path / "unigram.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="not a tokkit unigram file"):
        UnigramTokenizer.load(tmp_path)
    (tmp_path / "x.model").write_bytes(b"\x00\xffnot a proto")
    with pytest.raises(InputError):
        UnigramTokenizer.load(tmp_path / "x.model")


def expected_text(text: str) -> str:
    return " ".join(split_words(text, "nfkc"))


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_round_trips(trained: UnigramTokenizer, text: str) -> None:
    assert trained.decode(trained.encode(text)) == expected_text(text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="▁")))
def test_decode_encode_is_the_normalized_text(trained: UnigramTokenizer, text: str) -> None:
    """With byte fallback nothing is lost but what normalization removes."""
    ids = trained.encode(text)
    assert trained.decode(ids) == expected_text(text)
    assert trained.encode(trained.decode(ids)) == ids
