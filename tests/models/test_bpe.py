"""ByteLevelBPETokenizer: golden example, exact round-trips, files, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkit.errors import InputError
from tokkit.models.bpe import ByteLevelBPETokenizer
from tokkit.models.bpe_bytes import BYTE_DISPLAY, BYTE_RANK
from tokkit.train.bpe import BPETrainer
from tokkit.train.config import BPEConfig
from tokkit.types import Tokenizer

TRICKY = ["", "a" * 10_000, "héllo wörld", "日本語のテキスト", "中文分词测试。", "👩‍👩‍👧 emoji 🎉",
          "\x00\x01\x1f\x7f tabs\tand\r\nnewlines\n\n", "  leading and trailing  ", "don't I'LL 12345"]


def byte_id(ch: str) -> int:
    return BYTE_RANK[ord(ch)]


@pytest.fixture(scope="module")
def trained() -> ByteLevelBPETokenizer:
    text = ("the quick brown fox jumps over the lazy dog. 我们今天学习中文，我们明天也学习。 " * 3).split(". ")
    config = BPEConfig(vocab_size=320, min_frequency=1, special_tokens=("<|endoftext|>", "<pad>"))
    return BPETrainer(config).train(text * 5)


def test_golden_aaabdaaabac() -> None:
    """Worked by hand: aa (4×), then ab (3×), then aa+ab (2×), then the tie at 1× goes to the
    smallest id pair, (a, c): 'a' < 'b' < 'c' < 'd' in byte order."""
    tok = BPETrainer(BPEConfig(vocab_size=260, min_frequency=1)).train(["aaabdaaabac"])
    a, b, c = byte_id("a"), byte_id("b"), byte_id("c")
    assert tok.merges == [(a, a), (a, b), (256, 257), (a, c)]
    assert tok.encode("aaabdaaabac") == [258, byte_id("d"), 258, 259]
    assert [tok.token_bytes(i) for i in range(256, 260)] == [b"aa", b"ab", b"aaab", b"ac"]
    assert tok.vocab_size == 260


def test_ids_follow_tokenizers_layout(trained: ByteLevelBPETokenizer) -> None:
    assert trained.special_tokens == {"<|endoftext|>": 0, "<pad>": 1}
    assert trained.token_bytes(2) == b"!"  # the first byte symbol: '!' has the smallest display char
    assert trained.id_to_token(2 + BYTE_RANK[ord(" ")]) == "Ġ" == BYTE_DISPLAY[ord(" ")]
    assert trained.vocab_size == 320
    assert trained.token_bytes(0) == b"<|endoftext|>"


def test_satisfies_the_tokenizer_protocol(trained: ByteLevelBPETokenizer) -> None:
    assert isinstance(trained, Tokenizer)
    assert ByteLevelBPETokenizer.kind == "bpe"


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip_tricky(trained: ByteLevelBPETokenizer, text: str) -> None:
    assert trained.decode(trained.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_round_trip_any_text(trained: ByteLevelBPETokenizer, text: str) -> None:
    assert trained.decode(trained.encode(text)) == text


def test_specials_in_text_become_their_ids(trained: ByteLevelBPETokenizer) -> None:
    ids = trained.encode("hi<|endoftext|><pad>x")
    assert ids == [*trained.encode("hi"), 0, 1, *trained.encode("x")]
    assert trained.decode(ids) == "hi<|endoftext|><pad>x"
    assert trained.encode("<|endoftext|>") == [0]


def test_encode_batch_matches_encode(trained: ByteLevelBPETokenizer) -> None:
    assert trained.encode_batch(TRICKY) == [trained.encode(t) for t in TRICKY]


def test_cache_does_not_change_ids(trained: ByteLevelBPETokenizer) -> None:
    text = "the lazy dog 我们今天学习中文"
    first = trained.encode(text)
    assert trained.encode(text) == first
    fresh = ByteLevelBPETokenizer(trained.merges, pattern=trained.pattern,
                                  special_tokens=list(trained.special_tokens))
    assert fresh.encode(text) == first


def test_decode_arbitrary_ids_replaces_invalid_utf8(trained: ByteLevelBPETokenizer) -> None:
    lead = 2 + BYTE_RANK[0xE4]  # the first byte of a 3-byte character, alone
    assert trained.decode([lead, 2 + BYTE_RANK[ord("a")]]) == "\ufffda"
    with pytest.raises(InputError, match="outside the vocabulary"):
        trained.decode([trained.vocab_size])
    with pytest.raises(InputError, match="outside the vocabulary"):
        trained.decode([-1])


def test_save_load_round_trip(trained: ByteLevelBPETokenizer, tmp_path: Path) -> None:
    model = trained.save(tmp_path)
    assert model == tmp_path / "bpe.model"
    assert {p.name for p in tmp_path.iterdir()} == {"bpe.model", "vocab.txt", "tokenizer.json"}
    data = json.loads(model.read_text(encoding="utf-8"))
    assert data["format"] == "tokkit-bpe" and data["version"] == 1
    assert data["special_tokens"] == ["<|endoftext|>", "<pad>"]
    assert [tuple(m) for m in data["merges"]] == trained.merges
    for path in (tmp_path, model):
        again = ByteLevelBPETokenizer.load(path)
        assert again.merges == trained.merges and again.pattern == trained.pattern
        assert again.encode_batch(TRICKY) == trained.encode_batch(TRICKY)


def test_vocab_dump_is_readable(trained: ByteLevelBPETokenizer, tmp_path: Path) -> None:
    trained.save(tmp_path)
    lines = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + trained.vocab_size
    assert lines[1] == "0\t<|endoftext|>\t(special)"
    assert any("\tthe\t" in line or "\t the\t" in line for line in lines)
    last = lines[-1].split("\t")
    assert int(last[0]) == trained.vocab_size - 1 and last[2].startswith("[")


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"{tmp_path / 'bpe.model'}: cannot read"):
        ByteLevelBPETokenizer.load(tmp_path)
    bad = tmp_path / "bpe.model"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(InputError, match=str(bad)):
        ByteLevelBPETokenizer.load(bad)
    bad.write_text(json.dumps({"format": "tokkit-bpe", "version": 99}), encoding="utf-8")
    with pytest.raises(InputError, match="newer tokkit \\(version 99\\)"):
        ByteLevelBPETokenizer.load(bad)
    bad.write_text(json.dumps({"format": "tokkit-bpe", "version": 1, "pattern": "gpt4",
                               "special_tokens": [], "merges": [[0, 9999]]}), encoding="utf-8")
    with pytest.raises(InputError, match="corrupt"):
        ByteLevelBPETokenizer.load(bad)


def test_load_tokenizer_opens_the_directory(trained: ByteLevelBPETokenizer, tmp_path: Path) -> None:
    from tokkit.load import load_tokenizer, write_meta

    trained.save(tmp_path)
    write_meta(tmp_path, {"kind": "bpe"})
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, ByteLevelBPETokenizer)
    assert loaded.encode("the quick fox") == trained.encode("the quick fox")


def test_surrogate_pair_is_read_as_its_character(trained: ByteLevelBPETokenizer) -> None:
    """Old main: 6 byte tokens (each surrogate's 3 bytes) that decoded to six U+FFFD."""
    assert trained.encode("\ud83d\udc4d") == trained.encode("👍")
    assert trained.decode(trained.encode("\ud83d\udc4d")) == "👍"
    assert trained.encode("a\ud83d\udc4db") == trained.encode("a👍b")


def test_lone_surrogate_is_read_as_replacement_character(trained: ByteLevelBPETokenizer) -> None:
    for lone in ("\ud83d", "\udc4d", "\udfff"):
        assert trained.encode(lone) == trained.encode("\ufffd")
        assert trained.decode(trained.encode(f"x{lone}y")) == "x\ufffdy"
    assert trained.decode(trained.encode("\udc4d\ud83d")) == "\ufffd\ufffd"  # reversed: no pair


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.characters() | st.sampled_from(["\ud83d", "\udc4d", "\ud800", "\udfff", "a", " ", "中"]))
       .map("".join))  # (st.text drops surrogates from any alphabet)
def test_round_trip_with_surrogates_is_the_repaired_text(trained: ByteLevelBPETokenizer, text: str) -> None:
    """The guarantee: ``decode(encode(s)) == repair_surrogates(s)``, which is ``s`` itself unless
    ``s`` holds surrogate code points."""
    from tokkit.models.bpe_bytes import repair_surrogates

    repaired = repair_surrogates(text)
    assert trained.decode(trained.encode(text)) == repaired
    assert trained.encode(text) == trained.encode(repaired)
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        assert repaired is text


def test_from_vocab_keeps_foreign_ids_and_gaps(tmp_path: Path) -> None:
    """Another library's ids: bytes anywhere, a merge at a low id, a special after a gap."""
    order = list(range(256))[::-1]
    vocab = {bytes([b]): 10 + k for k, b in enumerate(order)}
    vocab[b"ab"], vocab[b"abc"], vocab[b"zz"] = 3, 4, 5  # "zz": no merge reaches it
    tok = ByteLevelBPETokenizer.from_vocab(vocab, [(b"a", b"b"), (b"ab", b"c")], pattern="gpt4",
                                           special_tokens={"<eot>": 300}, whole_chunks=True)
    assert tok.encode("abc ab<eot>") == [4, vocab[b" "], 3, 300]
    assert tok.encode("zz") == [5] and tok.encode("zzz") == [vocab[b"z"]] * 3  # whole chunk only
    assert tok.vocab_size == 301 and tok.byte_id(ord("a")) == vocab[b"a"]
    assert tok.decode([4, 300]) == "abc<eot>"
    with pytest.raises(InputError, match="id 0 is no token"):
        tok.decode([0])
    with pytest.raises(InputError, match="id 299 is no token"):
        tok.token_bytes(299)
    tok.save(tmp_path)
    assert json.loads((tmp_path / "bpe.model").read_text(encoding="utf-8"))["version"] == 2
    again = ByteLevelBPETokenizer.load(tmp_path)
    assert again.encode("abc zz ab<eot>") == tok.encode("abc zz ab<eot>")
    assert again.special_tokens == {"<eot>": 300}


def test_from_vocab_errors_name_the_argument() -> None:
    vocab = {bytes([b]): b for b in range(256)}
    with pytest.raises(InputError, match="vocab: byte 0x00 has no id"):
        ByteLevelBPETokenizer.from_vocab({b"a": 0}, [], pattern="gpt4")
    with pytest.raises(InputError, match="merges: merge 0"):
        ByteLevelBPETokenizer.from_vocab(vocab, [(b"a", b"b")], pattern="gpt4")  # no "ab" token
    with pytest.raises(InputError, match="given twice"):
        ByteLevelBPETokenizer.from_vocab({**vocab, b"ab": 5}, [], pattern="gpt4")
