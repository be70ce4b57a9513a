from __future__ import annotations

from pathlib import Path

from tokkit.analyze.explain import explain


def test_llama_splits_a_rare_han_character_into_three_byte_pieces(llama_model: Path) -> None:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(llama_model))
    result = explain(llama_model, "商鞅变法")
    assert [p.id for p in result.pieces] == sp.EncodeAsIds("商鞅变法")
    assert [p.token for p in result.pieces] == sp.EncodeAsPieces("商鞅变法")
    fallback = [p for p in result.pieces if p.role == "byte_fallback"]
    assert [p.bytes for p in fallback] == ["e9", "9e", "85"]  # 鞅 = U+845E = e9 9e 85
    assert all(p.of == "鞅" and p.script == "han" and p.n_bytes == 1 for p in fallback)
    whole = [p for p in result.pieces if p.role == "piece" and p.text.strip()]
    assert [p.text for p in whole] == ["商", "变", "法"]
    f = result.figures
    assert (f["han_chars"], f["han_whole"], f["han_split"]) == (4, 3, 1)
    assert f["tokens"] == len(result.pieces) and f["byte_fallback_tokens"] == 3


def test_tiktoken_partial_pieces_and_json() -> None:
    result = explain("tiktoken:cl100k_base", "鞅 the")
    enc = __import__("tokkit.load", fromlist=["load_tokenizer"]).load_tokenizer("tiktoken:cl100k_base").encoding
    assert [p.id for p in result.pieces] == enc.encode_ordinary("鞅 the")
    assert b"".join(bytes.fromhex(p.bytes) for p in result.pieces) == "鞅 the".encode()
    partial = [p for p in result.pieces if p.role == "partial"]
    assert partial and all(p.of == "鞅" for p in partial)
    data = result.to_json()
    assert data["tokenizer"] == "cl100k_base" and data["pieces"][-1]["text"] == " the"
    assert set(data["pieces"][0]) == {"index", "id", "token", "bytes", "n_bytes", "text", "role", "of",
                                      "script"}


def test_empty_text_has_no_pieces() -> None:
    result = explain("tiktoken:o200k_base", "")
    assert result.pieces == [] and result.figures == {}
