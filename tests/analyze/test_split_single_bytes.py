"""The one-byte fast path of the split-character count (sentencepiece byte fallback) gives what the
general path gives on any run of ids, including lone bytes that never become a character."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokkit.analyze.measure import Measurer, TokenTally, open_tokenizers
from tokkit.analyze.token_bytes import FALLBACK


@pytest.fixture(scope="module")
def llama(llama_model: Path) -> Measurer:
    m = Measurer(open_tokenizers([llama_model])[0])
    assert m._partial_single_bytes  # byte fallback: every partial token is one byte
    return m


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_one_byte_path_equals_the_general_path(llama: Measurer, data: st.DataObject) -> None:
    fallback = np.flatnonzero(llama.table.flags & FALLBACK).tolist()
    text_ids = llama.encode_batch(["混合 mixed 文本 🙂"])[0]
    ids = np.array(data.draw(st.lists(st.sampled_from([*fallback, *text_ids]), max_size=40)), np.int64)
    fast, general = TokenTally(histogram=np.zeros(0)), TokenTally(histogram=np.zeros(0))
    llama._split_chars(ids, fast)
    llama._partial_single_bytes = False
    try:
        llama._split_chars(ids, general)
    finally:
        llama._partial_single_bytes = True
    np.testing.assert_allclose(fast.split_scripts, general.split_scripts)
    assert fast.han_split == general.han_split
