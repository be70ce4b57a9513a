"""Exact keys: equal exactly when the normalized texts are equal."""

from __future__ import annotations

from tokkit.dedup.normalize import exact_key, normalize_exact


def test_line_endings_whitespace_bom_and_width_do_not_matter() -> None:
    a = "\ufeffHello,\r\n  wide world\n"
    b = "Ｈｅｌｌｏ,   wide\tworld"
    assert normalize_exact(a) == normalize_exact(b) == "Hello, wide world"
    assert exact_key(a) == exact_key(b)
    assert len(exact_key(a)) == 16


def test_case_only_with_lowercase() -> None:
    assert exact_key("Hello World") != exact_key("hello world")
    assert exact_key("Hello World", lowercase=True) == exact_key("hello world", lowercase=True)


def test_words_and_punctuation_do_matter() -> None:
    assert exact_key("hello world") != exact_key("hello, world")
    assert exact_key("中文") != exact_key("中 文")
