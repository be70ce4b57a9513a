"""The round trip judged on token bytes: exactly the documents whose token bytes equal
``prefix + input``, whatever the input (including inputs that differ from the text's encoding by
one flipped, dropped or added byte, and long tokens compared over several words)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokkit.analyze import measure
from tokkit.analyze.measure import Measurer, open_tokenizers
from tokkit.analyze.token_bytes import NEVER_IN_TEXT, SPECIAL, UNKNOWN

texts = st.lists(st.one_of(
    st.text(alphabet=st.sampled_from("的是鞅龘𪚥中文 ，。a1\t\n🙂é▁")),
    st.sampled_from(["-" * 64, " " * 48 + "return", "=" * 31 + "\n"]),  # tokens over 8 and 16 bytes
    st.just("the quick brown fox jumps over the lazy dog " * 3),
), min_size=1, max_size=8)
edits = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 255)),
                 max_size=4)


@pytest.fixture(scope="module")
def measurers(llama_model: Path, hf_byte_level: Path) -> list[Measurer]:
    found = list(map(Measurer, open_tokenizers([llama_model, "tiktoken:cl100k_base", hf_byte_level])))
    for m in found:
        m.decode_batch = lambda batch: ["\0never"] * len(batch)  # only the byte check can say exact
    return found


def _edit(data: bytes, kind: int, where: int, value: int) -> bytes:
    b = bytearray(data)
    at = where % (len(b) + 1)
    if kind == 0 and at < len(b):
        b[at] ^= value or 1
    elif kind == 1 and at < len(b):
        del b[at]
    else:
        b.insert(at, value)
    return bytes(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=texts, changes=edits, slice_tokens=st.sampled_from([1, 5, 1 << 16]))
def test_byte_check_is_exactly_token_bytes_equal_input(measurers: list[Measurer], batch: list[str],
                                                        changes: list[tuple[int, int, int, int]],
                                                        slice_tokens: int) -> None:
    measure._SLICE_TOKENS = slice_tokens  # (restored below) slices of a few tokens: many slices
    try:
        _check(measurers, batch, changes)
    finally:
        measure._SLICE_TOKENS = 1 << 16


def _check(measurers: list[Measurer], batch: list[str], changes: list[tuple[int, int, int, int]]) -> None:
    encoded = [t.encode() for t in batch]
    for doc, kind, where, value in changes:
        if doc < len(encoded):
            encoded[doc] = _edit(encoded[doc], kind, where, value)
    for m in measurers:
        prefix = m.table.decode_prefix
        assert prefix is not None
        compare = [NEVER_IN_TEXT if flag & (UNKNOWN | SPECIAL) else surface
                   for surface, flag in zip(m.table.surfaces, m.table.flags.tolist(), strict=True)]
        ids = m.encode_batch(batch)
        if not sum(map(len, ids)):  # no tokens at all: left to the library's decode
            continue
        want = sum(b"".join(compare[i] for i in doc) == prefix + e for doc, e in zip(ids, encoded, strict=True))
        assert m.tally(batch, encoded, ids).roundtrip_exact == want, m.named.name
