from __future__ import annotations

import numpy as np
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
