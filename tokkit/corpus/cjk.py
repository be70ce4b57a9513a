"""Which characters count as Chinese: for extensions that add only CJK pieces (``only_cjk``) and for
"tokens per Han character"."""

from __future__ import annotations

import regex

from tokkit.han import HAN, han_chars

CJK = regex.compile(
    r"[\p{Han}\p{Bopomofo}\u3000-\u303f\uff00-\uffef\ufe30-\ufe4f\ufe10-\ufe1f]"
)
"""Han ideographs plus the punctuation and full-width forms Chinese text uses.

None of these occur in English text, so pieces containing one cannot change how English is split.
"""

__all__ = ["CJK", "HAN", "han_count", "has_cjk"]


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def han_count(text: str) -> int:
    return han_chars(text)
