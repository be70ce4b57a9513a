from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkit.shards.framing import Framing
from tokkit.shards.pack import encode_batch, frame, is_val, pack


@given(st.lists(st.lists(st.integers(0, 70_000), max_size=50), max_size=30), st.integers(1, 17))
@settings(max_examples=100, deadline=None)
def test_pack_round_trips_and_cuts_exact_lengths(docs: list[list[int]], seq_len: int) -> None:
    arrays = [np.asarray(d, dtype=np.uint32) for d in docs]
    out = list(pack(arrays, seq_len))
    flat = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint32)
    joined = np.concatenate(out) if out else np.empty(0, dtype=np.uint32)
    assert np.array_equal(joined, flat)
    assert all(len(s) == seq_len for s in out[:-1])
    if out:
        assert 1 <= len(out[-1]) <= seq_len
    assert len(out) == -(-len(flat) // seq_len)


def test_frame_puts_bos_and_eos_around_a_document() -> None:
    assert frame([5, 6], Framing(bos_id=1, eos_id=2)).tolist() == [1, 5, 6, 2]
    assert frame([], Framing(bos_id=None, eos_id=0)).tolist() == [0]


def test_encode_batch_is_flat_and_indexable() -> None:
    texts = ["ab", "", "abc"]
    batch = encode_batch(texts, lambda ts: [[ord(c) for c in t] for t in ts], Framing(bos_id=1, eos_id=2), 0.0)
    assert [batch.document(i).tolist() for i in range(3)] == [[1, 97, 98, 2], [1, 2], [1, 97, 98, 99, 2]]
    assert not batch.val.any()


def test_val_split_depends_on_text_only_and_matches_the_fraction() -> None:
    texts = [f"document number {i}" for i in range(20_000)]
    chosen = [t for t in texts if is_val(t, 0.05)]
    assert 0.04 < len(chosen) / len(texts) < 0.06
    assert all(is_val(t, 0.05) for t in chosen)  # stable
    assert not any(is_val(t, 0.0) for t in texts[:100])
    # a larger fraction only adds documents (nested splits)
    assert set(chosen) <= {t for t in texts if is_val(t, 0.1)}


LONG_TEXTS = [
    "The quick brown fox jumps over the lazy dog. " * 40,
    "天下大势，分久必合 合久必分。 " * 30 + "emoji 🦊🐶  double  spaces\tand tabs " * 10,
    "word " * 300,
]


@pytest.mark.parametrize("text", LONG_TEXTS)
def test_a_long_document_in_pieces_has_the_ids_of_the_whole(text: str, bpe_dir, request) -> None:  # type: ignore[no-untyped-def]
    from tokkit.shards.pack import encode_long
    from tokkit.shards.writer import make_encoder

    encoders = {"byte-level BPE": make_encoder(str(bpe_dir))}
    with contextlib.suppress(pytest.skip.Exception):  # and LLaMA's sentencepiece where ../shared has it
        encoders["sentencepiece (LLaMA)"] = make_encoder(str(request.getfixturevalue("llama_model")))
    for name, encode in encoders.items():
        whole = list(encode([text])[0])
        for piece_chars in (40, 97, 256):
            assert encode_long(text, encode, piece_chars).tolist() == whole, (name, piece_chars)


def test_a_long_document_without_spaces_is_cut_hard_and_still_decodes_exactly(bpe_dir) -> None:  # type: ignore[no-untyped-def]
    from tokkit.load import load_tokenizer
    from tokkit.shards.pack import encode_batch, encode_long, piece_end
    from tokkit.shards.writer import make_encoder

    text = "天下大势分久必合合久必分" * 50
    assert piece_end(text, 0, 64) == (64, False)
    ids = encode_long(text, make_encoder(str(bpe_dir)), 64)
    assert load_tokenizer(bpe_dir).decode(ids.tolist()) == text
    batch = encode_batch(["short one", text, "x"], make_encoder(str(bpe_dir)), Framing(bos_id=None, eos_id=0), 0.0,
                         piece_chars=64)
    assert batch.document(1).tolist() == [*ids.tolist(), 0]
    assert batch.document(0).tolist() == [*make_encoder(str(bpe_dir))(["short one"])[0], 0]
