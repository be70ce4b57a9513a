from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tokkit.analyze.scripts import (
    _SPACE,
    SCRIPTS,
    _char_keys,
    chars_by_length,
    code_points,
    count_text,
    script_of,
    utf8_lengths,
)


def test_classes_of_representative_characters() -> None:
    expected = {
        "的": "han", "鞅": "han", "𠀀": "han", "々": "han", "〇": "han",
        "a": "latin", "é": "latin", "ﬁ": "latin",
        "7": "digit", "６": "digit", "٣": "digit",
        " ": "whitespace", "\t": "whitespace", "\u3000": "whitespace", "\n": "whitespace",
        ",": "punctuation", "，": "punctuation", "。": "punctuation", "$": "punctuation",
        "+": "punctuation",
        "🙂": "other", "я": "other", "あ": "other", "\x01": "other",
    }
    assert {c: script_of(c) for c in expected} == expected


def test_counts_chars_and_utf8_bytes_per_script() -> None:
    chars, nbytes, _ = count_text(["中文 ab1，🙂"])
    got = {s: (int(c), int(b)) for s, c, b in zip(SCRIPTS, chars, nbytes, strict=True)}
    assert got == {"han": (2, 6), "latin": (2, 2), "digit": (1, 1), "whitespace": (1, 1),
                   "punctuation": (1, 3), "other": (1, 4)}


def test_utf8_lengths_match_python_and_count_escaped_bytes_as_one() -> None:
    text = "a\u00e9\u4e2d\U0001f642" + b"\xe4\xbd".decode("utf-8", errors="surrogateescape")
    lengths = utf8_lengths(code_points(text))
    assert lengths.tolist() == [1, 2, 3, 4, 1, 1]
    assert int(np.sum(lengths)) == len(text.encode("utf-8", errors="surrogateescape"))


@given(st.lists(st.text(alphabet=st.sampled_from(
    "ab中 \t\n\u3000\xa0\x1c\x85\u2028\u200b，🙂" + b"\xe4".decode("utf-8", errors="surrogateescape")),
    max_size=8), max_size=6))
def test_count_text_matches_per_text_counts(texts: list[str]) -> None:
    chars, nbytes, words = count_text(texts)
    assert words == sum(len(t.split()) for t in texts)
    joined = "".join(texts)
    classes = [script_of(c) for c in joined]
    assert chars.tolist() == [classes.count(s) for s in SCRIPTS]
    assert nbytes.tolist() == [
        sum(len(c.encode("utf-8", errors="surrogateescape")) for c in joined if script_of(c) == s)
        for s in SCRIPTS
    ]


def test_split_whitespace_is_exactly_str_isspace() -> None:
    keys = _char_keys()
    spaces = np.flatnonzero(keys >= _SPACE).tolist()
    assert spaces == [c for c in range(0x110000) if chr(c).isspace()]


def test_chars_by_length_rows_are_utf8_lengths() -> None:
    text = "aé中🙂中" + b"\xe4".decode("utf-8", errors="surrogateescape")
    by_length = chars_by_length(code_points(text))
    assert by_length.sum(axis=1).tolist() == [2, 1, 2, 1]  # the escaped byte counts 1
    assert by_length[2].tolist() == [2, 0, 0, 0, 0, 0]
