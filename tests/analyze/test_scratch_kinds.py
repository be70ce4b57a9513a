"""tokkit's own from-scratch tokenizers (opened from a tokkit output dir) go through the generic
adapter: ``token_bytes`` plus the special tokens. Figures must equal the ones computed with the
tokenizer's own methods."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest
import regex

from tokkit.analyze.compression import measure_texts
from tokkit.analyze.scripts import SCRIPTS
from tokkit.load import load_tokenizer, write_meta

HAN = regex.compile(r"\p{Script=Han}")
TEXTS = ["the cat sat on the mat", "的的 是 the 鞅", "thesis: 中文 and ab", "emoji 🙂 x"]


def direct(tok: Any, texts: list[str]) -> dict[str, Any]:
    ids = [tok.encode(t) for t in texts]
    flat = [i for d in ids for i in d]
    unk = {i for name, i in tok.special_tokens.items() if name in ("[UNK]", "<unk>")}
    used = set(flat)
    surface = {i: b"" if i in unk else tok.token_bytes(i) for i in used}
    return {
        "tokens": len(flat),
        "unk_tokens": sum(i in unk for i in flat),
        "vocab_used": len(used),
        "han_chars": sum(len(HAN.findall(t)) for t in texts),
        "han_whole": sum(len(HAN.findall(surface[i].decode("utf-8", errors="ignore"))) for i in flat),
        "mean_token_bytes": statistics.fmean(len(surface[i]) for i in used),
        "roundtrip_exact": sum(tok.decode(d) == t for d, t in zip(ids, texts, strict=True)),
    }


def check(ours: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value), key
    assert sum(ours["scripts"][s]["tokens"] for s in SCRIPTS) == pytest.approx(ours["tokens"])


def test_byte_level_bpe_output_dir(tmp_path: Path) -> None:
    from tokkit.models.bpe import ByteLevelBPETokenizer

    base = ByteLevelBPETokenizer([], special_tokens=["<|endoftext|>"])
    th = base.encode("th")
    a, b, c = base.encode("的")
    tok = ByteLevelBPETokenizer([(th[0], th[1]), (a, b), (base.vocab_size + 1, c)],
                                special_tokens=["<|endoftext|>"])
    tok.save(tmp_path)
    write_meta(tmp_path, {"kind": "bpe"})
    loaded = load_tokenizer(tmp_path)
    ours = measure_texts([loaded], TEXTS)[0]
    check(ours, direct(loaded, TEXTS))
    # 的 (twice) is one token; 是, 鞅, 中, 文 are split into byte tokens
    assert ours["han_whole"] == 2 and ours["han_split"] == 4 and ours["han_chars"] == 6
    assert ours["partial_char_tokens"] > 0 and ours["byte_fallback_tokens"] == 0
    assert ours["roundtrip_rate"] == 1.0


def test_wordpiece_output_dir_counts_unk(tmp_path: Path) -> None:
    from tokkit.models.wordpiece import WordPieceTokenizer

    tok = WordPieceTokenizer(["[UNK]", "the", "##s", "##is", "cat", "a", "b", "##b", "中", "的", ":"],
                             special_tokens=("[UNK]",))
    tok.save(tmp_path)
    write_meta(tmp_path, {"kind": "wordpiece"})
    loaded = load_tokenizer(tmp_path)
    ours = measure_texts([loaded], TEXTS)[0]
    check(ours, direct(loaded, TEXTS))
    assert ours["unk_tokens"] > 0 and ours["unk_rate"] == ours["unk_tokens"] / ours["tokens"]
