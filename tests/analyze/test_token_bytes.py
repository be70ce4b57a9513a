"""The per-id bytes behind tokens, per tokenizer family, checked against the library."""

from __future__ import annotations

from pathlib import Path

from tokkit.analyze.token_bytes import (
    FALLBACK,
    PARTIAL,
    SPECIAL,
    UNKNOWN,
    token_table,
)
from tokkit.load import load_tokenizer
from tokkit.models.bpe_bytes import DISPLAY_BYTE


def test_llama_byte_pieces_unknown_and_metaspace(llama_model: Path) -> None:
    tok = load_tokenizer(llama_model)
    table = token_table(tok)
    sp = tok.sp  # type: ignore[attr-defined]
    assert table.size == 32000 and table.byte_fallback and table.decode_prefix == b" "
    byte_ids = [i for i in range(32000) if sp.IsByte(i)]
    assert len(byte_ids) == 256
    assert all(table.has(i, FALLBACK) for i in byte_ids)
    assert table.surfaces[sp.PieceToId("<0xE4>")] == b"\xe4"
    assert table.has(sp.PieceToId("<0xE4>"), PARTIAL)
    assert not table.has(sp.PieceToId("<0x41>"), PARTIAL)  # "A" is a whole character
    assert table.has(sp.unk_id(), UNKNOWN) and table.has(sp.bos_id(), SPECIAL)
    assert table.surfaces[sp.PieceToId("▁the")] == b" the"
    assert table.han_whole[sp.PieceToId("的")] == 1


def test_tiktoken_surfaces_are_the_library_token_bytes() -> None:
    tok = load_tokenizer("tiktoken:cl100k_base")
    enc = tok.encoding  # type: ignore[attr-defined]
    table = token_table(tok)
    for i in (0, 255, 1000, 15339, 57668, 100255):
        assert table.surfaces[i] == enc.decode_single_token_bytes(i)
    assert table.has(100257, SPECIAL)  # <|endoftext|>
    assert table.has(100261, SPECIAL)  # a hole between ranks and specials
    assert not table.byte_fallback and table.decode_prefix == b""
    partial = [i for i in range(100256) if table.has(i, PARTIAL)]
    for i in partial[:50]:
        try:
            enc.decode_single_token_bytes(i).decode("utf-8")
            raise AssertionError(f"{i} decodes but is flagged partial")
        except UnicodeDecodeError:
            pass


def test_display_bytes_are_the_libraries_byte_level_alphabet() -> None:
    from tokenizers import pre_tokenizers

    alphabet = DISPLAY_BYTE
    assert sorted(alphabet) == sorted(pre_tokenizers.ByteLevel.alphabet())
    assert sorted(alphabet.values()) == list(range(256))
    assert alphabet["Ġ"] == ord(" ") and alphabet["a"] == ord("a")


def test_hf_byte_level_tokens_reassemble_the_input(hf_byte_level: Path) -> None:
    tok = load_tokenizer(hf_byte_level)
    table = token_table(tok)
    text = "混合 mixed 文本, emoji 🙂 and 鞅"
    ids = tok.encode(text)
    assert b"".join(table.surfaces[i] for i in ids) == text.encode()
    hf = tok.hf  # type: ignore[attr-defined]
    for i in set(ids):
        if not table.has(i, PARTIAL):
            assert table.surfaces[i].decode() == hf.decode([i])


def test_hf_wordpiece_prefix_and_unk(hf_wordpiece: Path) -> None:
    tok = load_tokenizer(hf_wordpiece)
    table = token_table(tok)
    hf = tok.hf  # type: ignore[attr-defined]
    assert table.has(hf.token_to_id("[UNK]"), UNKNOWN)
    continuation = next(t for t in hf.get_vocab() if t.startswith("##") and len(t) > 3)
    assert table.surfaces[hf.token_to_id(continuation)] == continuation[2:].encode()
