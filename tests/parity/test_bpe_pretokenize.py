"""The `regex` module and `tokenizers`' Oniguruma split text into the same chunks.

Parity of the trainers and of the exported ``tokenizer.json`` rests on it: the library runs the
same pattern through a different regex engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Regex, pre_tokenizers

from tokkit.models.pretokenize import PATTERNS, split

SAMPLE_BYTES = 100_000
NAMES = ["gpt2", "gpt4", "o200k"]


def hf_split(pattern: str):
    splitter = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    return lambda text: [piece for piece, _ in splitter.pre_tokenize_str(text)]


def samples(corpora: Path) -> list[str]:
    """The head of every corpus file (en, zh, held-out), cut at a line end."""
    texts = []
    for folder in ("en", "zh", "heldout"):
        for path in sorted((corpora / folder).glob("*.txt")):
            with path.open(encoding="utf-8") as f:
                texts.append(f.read(SAMPLE_BYTES).rsplit("\n", 1)[0])
    return texts


@pytest.mark.parametrize("name", NAMES)
def test_oniguruma_splits_the_corpora_like_regex(name: str, corpora: Path) -> None:
    pattern = PATTERNS[name]
    theirs = hf_split(pattern)
    for text in samples(corpora):
        # whole multi-line blocks, so newlines, blank lines and indentation are exercised
        assert theirs(text) == split(text, pattern)


tricky = st.text(
    st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf"]), max_size=60
) | st.sampled_from(["", " ", "\n\n", "\r\n \t", "don't WE'LL", "a" * 10_000, "1234567", "\x1c\x1d\x85\u2028"])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=100, deadline=None)
@given(text=tricky)
def test_oniguruma_splits_any_text_like_regex(name: str, text: str) -> None:
    assert hf_split(PATTERNS[name])(text) == split(text, PATTERNS[name])
