"""WordPiece parity: our encoder and `tokenizers`' WordPiece model give identical ids.

The exported tokenizer.json is loaded by `tokenizers` and by `transformers`; both must encode the
held-out files and arbitrary text exactly as ours does.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer as HFTok
from tokenizers import normalizers, pre_tokenizers

from tokkit.backends.hf import HFTokenizer
from tokkit.backends.wordpiece import HFWordPieceTrainer
from tokkit.models.wordpiece import WordPieceTokenizer
from tokkit.models.wordpiece_normalize import bert_pretokenize
from tokkit.train.config import WordPieceConfig
from tokkit.train.wordpiece import WordPieceTrainer

HELDOUT_FILES = ("en_dracula.txt", "zh_zizhitongjian.txt")


@pytest.fixture(scope="module")
def exported(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[WordPieceTokenizer, Path]:
    lines = (corpora / "en" / "tale_of_two_cities.txt").read_text(encoding="utf-8").splitlines()
    lines += (corpora / "zh" / "世说新语.txt").read_text(encoding="utf-8").splitlines()
    tok = WordPieceTrainer(WordPieceConfig(vocab_size=4000)).train(lines)
    out = tmp_path_factory.mktemp("wordpiece")
    tok.save(out)
    return tok, out


@functools.cache
def unicode_version_differences() -> frozenset[str]:
    """Code points where `tokenizers`' older Unicode tables classify differently from Python's.

    Found by sweeping every code point through both normalizers + pre-tokenizers, in blocks
    bisected down to single characters where they disagree.
    """
    hf_norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    hf_pre = pre_tokenizers.BertPreTokenizer()

    def hf_words(text: str) -> list[str]:
        return [w for w, _ in hf_pre.pre_tokenize_str(hf_norm.normalize_str(text))]

    def agree(chars: list[str]) -> bool:  # letters around each: punctuation must split them off
        text = "".join(f"a{c}b " for c in chars)
        return hf_words(text) == bert_pretokenize(text)

    def find(chars: list[str]) -> list[str]:  # bisect down to the code points that differ
        if agree(chars):
            return []
        if len(chars) == 1:
            return chars
        half = len(chars) // 2
        return find(chars[:half]) + find(chars[half:])

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    differing = {c for start in range(0, len(chars), 4096) for c in find(chars[start : start + 4096])}
    return frozenset(differing)


def test_normalizer_agrees_on_all_but_newer_unicode() -> None:
    """Every code point is normalized and split as `tokenizers` does, except a few hundred that
    its Unicode tables (older than Python's 14.0) do not know as marks/punctuation/format."""
    assert len(unicode_version_differences()) < 700


@pytest.mark.parametrize("name", HELDOUT_FILES)
def test_heldout_ids_identical(exported: tuple[WordPieceTokenizer, Path], heldout: Path, name: str) -> None:
    tok, out = exported
    hf = HFTok.from_file(str(out / "tokenizer.json"))
    lines = (heldout / name).read_text(encoding="utf-8").splitlines()
    ours = [tok.encode(line) for line in lines]
    theirs = [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]
    assert ours == theirs
    assert sum(map(len, ours)) > len(lines)


def test_transformers_loads_the_export(exported: tuple[WordPieceTokenizer, Path]) -> None:
    from transformers import AutoTokenizer, BertTokenizerFast

    tok, out = exported
    text = "It was the best of times, 天下大势，分久必合。 [SEP] naïve Ünïcödé"
    for cls in (BertTokenizerFast, AutoTokenizer):
        loaded = cls.from_pretrained(str(out))
        assert loaded.encode(text, add_special_tokens=False) == tok.encode(text)
    bert = BertTokenizerFast.from_pretrained(str(out))
    assert bert.encode("hi") == [tok.special_tokens["[CLS]"], *tok.encode("hi"), tok.special_tokens["[SEP]"]]


_parity_text = st.deferred(lambda: st.text(
    st.characters(blacklist_characters=sorted(unicode_version_differences()), codec="utf-8")))


@settings(max_examples=300, deadline=None)
@given(_parity_text)
def test_hypothesis_ids_identical(exported: tuple[WordPieceTokenizer, Path], text: str) -> None:
    tok, out = exported
    hf = _hf(out)
    assert tok.encode(text) == hf.encode(text, add_special_tokens=False).ids


@functools.cache
def _hf(out: Path) -> HFTok:
    return HFTok.from_file(str(out / "tokenizer.json"))


def test_library_trainer_same_call(corpora: Path, tmp_path: Path) -> None:
    lines = (corpora / "en" / "sherlock_holmes.txt").read_text(encoding="utf-8").splitlines()
    trainer = HFWordPieceTrainer(WordPieceConfig(vocab_size=3000))
    tok = trainer.train(lines)
    assert isinstance(tok, HFTokenizer)
    assert tok.vocab_size == 3000
    assert trainer.stats["documents"] == len(lines)
    assert [tok.id_to_token(i) for i in range(5)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    text = "Sherlock Holmes took his bottle from the corner of the mantel-piece."
    assert tok.encode(tok.decode(tok.encode(text))) == tok.encode(text)
    loaded = HFTokenizer.load(tok.save(tmp_path))
    assert loaded.encode(text) == tok.encode(text)
