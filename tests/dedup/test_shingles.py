"""Shingling: the batched numpy hashes equal the one-shingle reference, CJK gets characters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkit.dedup.shingles import choose_unit, hash_shingles, shingle_hash32, shingle_text, shingles

TRICKY = [
    "It was the best of times, it was the worst of times.",
    "",
    "!!! ...",
    "短文",
    "你好世界，这是一个测试文本。第二句话在这里。",
    "_Italic_   words\r\nacross\tlines",
    "混合 text 中文 mixed 汉字汉字汉字",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ and ligature ﬁne",
    "emoji 🙂🙃 and more 🙂🙃 words here",
    "a" * 1000,
    "x",
]


def reference(texts: list[str], units: list[str], ngram: int) -> list[list[int]]:
    return [[shingle_hash32(s) for s in shingles(t, ngram=ngram, unit=u)]  # type: ignore[arg-type]
            for t, u in zip(texts, units, strict=True)]


def batched(texts: list[str], units: list[str] | str, ngram: int) -> list[list[int]]:
    hashes, offsets = hash_shingles(texts, units, ngram=ngram)  # type: ignore[arg-type]
    return [hashes[offsets[i]: offsets[i + 1]].tolist() for i in range(len(texts))]


@pytest.mark.parametrize("ngram", [1, 2, 3, 5, 9])
def test_batched_hashes_equal_reference(ngram: int) -> None:
    for unit in ("word", "char"):
        units = [unit] * len(TRICKY)
        assert batched(TRICKY, units, ngram) == reference(TRICKY, units, ngram)
    auto = [choose_unit(t) for t in TRICKY]
    assert batched(TRICKY, auto, ngram) == reference(TRICKY, auto, ngram)
    assert batched(TRICKY, "auto", ngram) == reference(TRICKY, auto, ngram)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=8),
       ngram=st.integers(1, 6), data=st.data())
def test_batched_hashes_equal_reference_any_text(texts: list[str], ngram: int,
                                                  data: st.DataObject) -> None:
    units = data.draw(st.lists(st.sampled_from(["word", "char", "auto"]), min_size=len(texts),
                               max_size=len(texts)))
    resolved = [choose_unit(t, u) for t, u in zip(texts, units, strict=True)]  # type: ignore[arg-type]
    assert batched(texts, units, ngram) == reference(texts, resolved, ngram)


def test_word_shingles_ignore_case_punctuation_wrapping_and_markup() -> None:
    a = "It was the _best_ of times,\r\nit was the worst of times."
    b = "it was the best of times it was the worst of times"
    assert shingles(a, ngram=5) == shingles(b, ngram=5)
    assert shingles(a, ngram=5)[:2] == ["it was the best of", "was the best of times"]


def test_char_shingles_drop_whitespace_and_fold_width() -> None:
    assert shingle_text("你好 世界\n！", "char") == "你好世界!"
    assert shingles("你好世界啊", ngram=2, unit="char") == ["你好", "好世", "世界", "界啊"]


def test_short_text_is_one_shingle_and_empty_text_none() -> None:
    assert shingles("two words", ngram=5) == ["two words"]
    assert shingles("?!", ngram=5) == []
    assert shingles("", ngram=5, unit="char") == []


@pytest.mark.parametrize(("text", "unit"), [
    ("这是一个中文句子，没有空格。", "char"),
    ("This is an English sentence.", "word"),
    ("日本語のテキストです", "char"),
    ("한국어 문장입니다", "char"),
    ("   ", "word"),
])
def test_auto_unit(text: str, unit: str) -> None:
    assert choose_unit(text) == unit


def test_auto_unit_follows_the_cjk_share() -> None:
    text = "中文 with a few English words mixed in here"  # 2 CJK of 36 visible characters
    assert choose_unit(text) == "word"
    assert choose_unit(text, cjk_ratio=0.05) == "char"


def test_forced_unit_wins() -> None:
    assert choose_unit("你好世界", "word") == "word"
    assert choose_unit("hello world", "char") == "char"


def test_hash_takes_bytes_or_str_and_is_32_bit() -> None:
    assert shingle_hash32("中文 text") == shingle_hash32("中文 text".encode())
    values = {shingle_hash32(f"shingle {i}") for i in range(2000)}
    assert len(values) == 2000
    assert all(0 <= v < 2**32 for v in values)


def test_real_chinese_text_uses_characters(corpora) -> None:  # type: ignore[no-untyped-def]
    path = corpora / "zh" / "三字经.txt"
    text = path.read_text(encoding="utf-8")
    assert choose_unit(text) == "char"
    lines = [line for line in text.splitlines() if line.strip()][:50]
    units = [choose_unit(t) for t in lines]
    assert batched(lines, "auto", 5) == reference(lines, units, 5)
