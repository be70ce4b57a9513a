"""The compiled tally (tokkit.analyze.tally_numba) equals the numpy passes it stands in for: the same
histogram, split characters and round trips, on real text, on tricky strings, on inputs whose bytes
were edited (so the byte check must say "not exact" in the right documents) and on empty documents,
for every tokenizer family the analysis tests cover."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokkit.analyze.measure import Measurer, TokenTally, open_tokenizers
from tokkit.errors import TokkitError

pytest.importorskip("numba")

FAMILIES = ["llama_model", "cl100k", "hf_byte_level", "hf_metaspace_fallback", "hf_wordpiece", "spm_unigram"]


@pytest.fixture(scope="module", params=FAMILIES)
def pair(request: pytest.FixtureRequest) -> tuple[Measurer, Measurer]:
    spec: str | Path = "tiktoken:cl100k_base" if request.param == "cl100k" else request.getfixturevalue(request.param)
    named = open_tokenizers([spec])[0]
    slow = Measurer(named, kernel="numpy")
    return slow, Measurer(named, slow.table, kernel="numba")


def _same(a: TokenTally, b: TokenTally) -> None:
    np.testing.assert_array_equal(a.histogram, b.histogram)
    np.testing.assert_allclose(a.split_scripts, b.split_scripts)
    assert (a.han_split, a.roundtrip_exact) == (b.han_split, b.roundtrip_exact)


def test_same_tally_on_real_and_tricky_text(pair: tuple[Measurer, Measurer], sample_texts: list[str]) -> None:
    slow, fast = pair
    batch = [*sample_texts, "", " ", "\n"]
    encoded = [t.encode() for t in batch]
    ids = slow.encode_batch(batch)
    _same(slow.tally(batch, encoded, ids), fast.tally(batch, encoded, ids))
    assert slow.tally(batch, encoded, ids).histogram.sum() == sum(map(len, ids))


texts = st.lists(st.text(alphabet=st.sampled_from("的是鞅龘𪚥中文 ，。a1\t\n🙂é▁<|>")), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=texts, flips=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10**6)), max_size=3))
def test_same_tally_when_the_input_bytes_differ(pair: tuple[Measurer, Measurer], batch: list[str],
                                                flips: list[tuple[int, int]]) -> None:
    slow, fast = pair
    encoded = [t.encode() for t in batch]
    for doc, where in flips:  # the byte check must find exactly these documents inexact
        if doc < len(encoded) and encoded[doc]:
            raw = bytearray(encoded[doc])
            raw[where % len(raw)] ^= 0x01
            encoded[doc] = bytes(raw)
    ids = slow.encode_batch(batch)
    _same(slow.tally(batch, encoded, ids), fast.tally(batch, encoded, ids))


def test_an_id_outside_the_vocabulary_is_named_by_both(pair: tuple[Measurer, Measurer]) -> None:
    for m in pair:
        with pytest.raises(TokkitError, match=f"produced id {m.table.size + 3} outside"):
            m.tally(["x"], [b"x"], [[0, m.table.size + 3]])


def test_auto_takes_the_numpy_passes_on_small_batches(pair: tuple[Measurer, Measurer]) -> None:
    slow, _ = pair
    auto = Measurer(slow.named, slow.table)
    assert not auto._compiled(10) and auto._compiled(1 << 20)
    with pytest.raises(ValueError, match="kernel must be"):
        Measurer(slow.named, slow.table, kernel="fast")
