"""BERT-style text normalization and pre-tokenization, written out so it can be read and tested.

It reproduces what ``tokenizers``' ``BertNormalizer`` + ``BertPreTokenizer`` do, step by step:

1. clean: drop NUL, U+FFFD and control/format/private-use characters (Unicode Cc/Cf/Co, except
   tab, LF, CR), then turn every remaining whitespace character into a plain space;
2. CJK: put spaces around every CJK ideograph, so each one is its own word;
3. strip accents (NFD, then drop nonspacing marks ``Mn``), then lowercase (character by character,
   so a final sigma stays ``σ`` as in the library);
4. split on spaces, and isolate every punctuation character (Unicode ``P*`` and ASCII symbols).

Steps 1–4 run on C-level string operations (``str.translate`` tables built once from
``unicodedata``, ``str.lower``, ``str.split``), never a Python loop per character.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from dataclasses import dataclass

# the CJK Unified Ideograph blocks BERT treats as Chinese (the same ranges as `tokenizers`)
CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
# Rust's char::is_whitespace: the Unicode White_Space property (a fixed set of 25 characters)
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)


_LIST_LIMIT = 0x30000
_BEYOND_LIST = re.compile(f"[{chr(_LIST_LIMIT)}-\U0010ffff]")


class _Table:
    """A ``str.translate`` table that is fast on the common case.

    ``str.translate`` with a dict pays a raised-and-caught ``KeyError`` for every unmapped
    character; a list indexed by code point has no misses, so it is ~3× faster. The list covers
    the first three planes (all living scripts and CJK); text with characters beyond falls back
    to the dict.
    """

    def __init__(self, mapping: dict[int, str | None], identity: list[int | str | None]) -> None:
        self.mapping = mapping
        self.table = list(identity)
        for code, value in mapping.items():
            if code < _LIST_LIMIT:
                self.table[code] = value

    def __call__(self, text: str) -> str:
        if _BEYOND_LIST.search(text) is None:
            return text.translate(self.table)
        return text.translate(self.mapping)


@dataclass(frozen=True)
class _Tables:
    """One C-level translate pass per step instead of a regex per character class."""

    clean: _Table  # controls → removed, whitespace → " "
    clean_cjk: _Table  # the same, and CJK ideographs → " X "
    strip: _Table  # nonspacing marks → removed (after NFD)
    punct: _Table  # punctuation → " X " (isolated words)
    strip_punct: _Table  # both of the above in one pass


@functools.cache
def _tables() -> _Tables:
    """Character classes from the standard library's Unicode database (built once, < 1 s).

    ``unicodedata`` rather than the ``regex`` module's tables: Python's Unicode version is closer
    to the one ``tokenizers`` was built with, so fewer new code points are classified differently.
    """
    by_category: dict[str, list[int]] = {}
    for code in range(0x110000):
        by_category.setdefault(unicodedata.category(chr(code)), []).append(code)
    controls = {0, 0xFFFD} | ({*by_category["Cc"], *by_category["Cf"], *by_category["Co"]} - {9, 10, 13})
    clean: dict[int, str | None] = dict.fromkeys(controls)
    clean.update(dict.fromkeys((ord(c) for c in WHITE_SPACE if ord(c) not in controls), " "))
    clean_cjk = dict(clean)
    clean_cjk.update({c: f" {chr(c)} " for a, b in CJK_RANGES for c in range(a, b + 1)})
    punct_codes = {c for cat in ("Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps") for c in by_category[cat]}
    punct_codes |= {ord(c) for c in string.punctuation}
    punct: dict[int, str | None] = {c: f" {chr(c)} " for c in punct_codes}
    strip: dict[int, str | None] = dict.fromkeys(by_category["Mn"])
    identity: list[int | str | None] = list(range(_LIST_LIMIT))
    return _Tables(clean=_Table(clean, identity), clean_cjk=_Table(clean_cjk, identity),
                   strip=_Table(strip, identity), punct=_Table(punct, identity),
                   strip_punct=_Table({**strip, **punct}, identity))


def is_cjk(char: str) -> bool:
    code = ord(char)
    return any(a <= code <= b for a, b in CJK_RANGES)


def _normalize(text: str, lowercase: bool, strip_accents: bool | None, handle_chinese_chars: bool,
               split_punct: bool) -> str:
    t = _tables()
    text = (t.clean_cjk if handle_chinese_chars else t.clean)(text)
    if (lowercase if strip_accents is None else strip_accents) and not text.isascii():
        text = (t.strip_punct if split_punct else t.strip)(unicodedata.normalize("NFD", text))
    elif split_punct:
        text = t.punct(text)
    if lowercase:
        # per-character lowercasing: str.lower() would turn a word-final 'Σ' into 'ς'
        text = text.replace("Σ", "σ").lower()
    return text


def bert_normalize(text: str, *, lowercase: bool = True, strip_accents: bool | None = None,
                   handle_chinese_chars: bool = True) -> str:
    """Normalize like ``BertNormalizer(clean_text=True, ...)``; ``strip_accents=None`` follows
    ``lowercase`` (the BERT convention)."""
    return _normalize(text, lowercase, strip_accents, handle_chinese_chars, split_punct=False)


def bert_words(normalized: str) -> list[str]:
    """Split normalized text into words: on spaces, and around each punctuation character."""
    return _tables().punct(normalized).split()


def bert_pretokenize(text: str, *, lowercase: bool = True, strip_accents: bool | None = None,
                     handle_chinese_chars: bool = True) -> list[str]:
    """``bert_words(bert_normalize(text))`` with one translate pass fewer."""
    return _normalize(text, lowercase, strip_accents, handle_chinese_chars, split_punct=True).split()
