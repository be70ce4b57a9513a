"""WordPiece tokenizer: BERT's greedy longest-match-first, special tokens, files, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkit.errors import InputError
from tokkit.load import load_tokenizer, write_meta
from tokkit.models.wordpiece import WordPieceSettings, WordPieceTokenizer
from tokkit.models.wordpiece_normalize import bert_normalize, bert_pretokenize, bert_words
from tokkit.train.config import WordPieceConfig
from tokkit.train.wordpiece import WordPieceTrainer
from tokkit.types import Tokenizer

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRICKY = ["", "a" * 10_000, "héllo WÖRLD", "naïve café", "中文字符和English混合", "emoji 🤗🎉 ok",
          "tab\tnew\nline\r\x00nul\x07bell", "ΣΊΣΥΦΟΣ", "İstanbul", "[CLS] hi [SEP][UNK]",
          "don't stop!!! 1,234.5", "\u200b\ufeffzero width", "ＦＵＬＬ　ｗｉｄｔｈ，标点。"]


@pytest.fixture(scope="module")
def trained(corpora: Path) -> WordPieceTokenizer:
    lines = (corpora / "en" / "sherlock_holmes.txt").read_text(encoding="utf-8").splitlines()
    lines += (corpora / "zh" / "列子.txt").read_text(encoding="utf-8").splitlines()
    return WordPieceTrainer(WordPieceConfig(vocab_size=3000)).train(lines)


def test_bert_docstring_example() -> None:
    """The WordPiece example from BERT's tokenization.py: 'unaffable' → un ##aff ##able."""
    tok = WordPieceTokenizer(["[UNK]", "un", "##aff", "##able", "runn", "##ing", ","])
    assert [tok.id_to_token(i) for i in tok.encode("unaffable")] == ["un", "##aff", "##able"]
    assert [tok.id_to_token(i) for i in tok.encode("Running, unaffable")] == [
        "runn", "##ing", ",", "un", "##aff", "##able"]
    assert tok.decode(tok.encode("unaffable running")) == "unaffable running"


def test_unknown_words_and_long_words_become_unk() -> None:
    tok = WordPieceTokenizer(["[UNK]", "a", "##a", "b"], settings=WordPieceSettings(max_input_chars_per_word=5))
    assert tok.encode("aaaaa") == [1, 2, 2, 2, 2]
    assert tok.encode("aaaaaa") == [0]  # 6 characters > max_input_chars_per_word
    assert tok.encode("ab") == [0]  # '##b' is missing: the whole word is unknown
    assert tok.encode("a b") == [1, 3]


def test_special_tokens_are_cut_out_before_normalizing() -> None:
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi", "[", "cl", "##s", "]"],
                             special_tokens=("[PAD]", "[UNK]", "[CLS]", "[SEP]"))
    assert tok.encode("[CLS]hi[SEP]") == [2, 4, 3]
    assert tok.encode("[cls]") == [5, 6, 7, 8]  # lowercase is not the special token
    assert tok.special_tokens == {"[UNK]": 1, "[PAD]": 0, "[CLS]": 2, "[SEP]": 3}


def test_normalization_steps() -> None:
    assert bert_normalize("Héllo\tWORLD\x00\u200b") == "hello world"
    assert bert_normalize("Héllo", lowercase=False) == "Héllo"
    assert bert_normalize("Héllo", lowercase=True, strip_accents=False) == "héllo"
    assert bert_normalize("中文ab") == " 中  文 ab"
    assert bert_normalize("ΟΔΟΣ") == "οδοσ"  # per-character lowercasing: no final sigma
    assert bert_words("hello, world!") == ["hello", ",", "world", "!"]
    assert bert_pretokenize("Don't 中文!") == ["don", "'", "t", "中", "文", "!"]


def test_bad_vocabularies_are_refused() -> None:
    with pytest.raises(InputError, match="duplicate"):
        WordPieceTokenizer(["[UNK]", "a", "a"])
    with pytest.raises(InputError, match="not in the WordPiece vocabulary"):
        WordPieceTokenizer(["a", "b"])


def test_satisfies_the_tokenizer_protocol(trained: WordPieceTokenizer) -> None:
    assert isinstance(trained, Tokenizer)
    assert trained.kind == "wordpiece"
    assert trained.vocab_size == 3000
    assert list(trained.special_tokens) == ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    with pytest.raises(IndexError):
        trained.id_to_token(3000)


def test_token_bytes(trained: WordPieceTokenizer) -> None:
    for i in range(trained.vocab_size):
        token = trained.id_to_token(i)
        assert trained.token_bytes(i) == token.removeprefix("##").encode("utf-8")


def test_save_load_round_trip(trained: WordPieceTokenizer, tmp_path: Path) -> None:
    main = trained.save(tmp_path)
    assert main == tmp_path / "wordpiece.json"
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines() == trained.vocab
    assert (tmp_path / "tokenizer.json").exists()
    data = json.loads(main.read_text(encoding="utf-8"))
    assert data["format"] == "tokkit-wordpiece" and data["version"] == 1
    for source in (tmp_path, main):
        loaded = WordPieceTokenizer.load(source)
        assert loaded.vocab == trained.vocab
        for text in TRICKY:
            assert loaded.encode(text) == trained.encode(text)
    write_meta(tmp_path, {"kind": "wordpiece"})
    assert isinstance(load_tokenizer(tmp_path), WordPieceTokenizer)


def test_load_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        WordPieceTokenizer.load(tmp_path / "missing")
    (tmp_path / "wordpiece.json").write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a tokkit WordPiece file"):
        WordPieceTokenizer.load(tmp_path)
    (tmp_path / "wordpiece.json").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(InputError, match="not a tokkit WordPiece file"):
        WordPieceTokenizer.load(tmp_path)


def test_tricky_strings_round_trip(trained: WordPieceTokenizer) -> None:
    for text in TRICKY:
        ids = trained.encode(text)
        assert trained.encode(trained.decode(ids)) == ids, text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_encode_decode_encode_is_stable(trained: WordPieceTokenizer, text: str) -> None:
    ids = trained.encode(text)
    assert trained.encode(trained.decode(ids)) == ids
