"""Unicode script classes for the per-script breakdown: Han, Latin, digits, whitespace, punctuation,
other.

Every code point maps to exactly one class through one lookup table (built once with ``regex``'s
Unicode properties), so a whole batch of text is classified with a single numpy gather. The table
also gives each code point's UTF-8 length: the reason Chinese costs what it costs under a byte-level
BPE is that a Han character is 3 bytes before the tokenizer has merged anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import regex

from tokkit.han import HAN_PATTERN

SCRIPTS: tuple[str, ...] = ("han", "latin", "digit", "whitespace", "punctuation", "other")
"""Script classes, in table order. ``punctuation`` includes math, currency and modifier symbols;
emoji and other pictographic symbols (``\\p{So}``) are ``other``."""

HAN, LATIN, DIGIT, WHITESPACE, PUNCTUATION, OTHER = range(len(SCRIPTS))

# Checked in this order; the first class that matches a code point wins.
_CLASS_PATTERNS: tuple[tuple[int, str], ...] = (
    (WHITESPACE, r"\p{White_Space}+"),
    (DIGIT, r"\p{Nd}+"),
    (HAN, HAN_PATTERN + "+"),
    (LATIN, r"\p{Script=Latin}+"),
    (PUNCTUATION, r"[\p{P}\p{Sm}\p{Sc}\p{Sk}]+"),
)
_MAX_CODE_POINT = 0x110000
SURROGATES = (0xD800, 0xE000)
"""Lone surrogates never occur in decoded text; ``surrogateescape`` uses U+DC80..U+DCFF for a single
undecodable byte, so they classify as ``other`` and count as 1 byte."""


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """The class table of :func:`script_table` and the key table of :func:`_char_keys`, built together."""
    table = np.full(_MAX_CODE_POINT, OTHER, dtype=np.uint8)
    assigned = np.zeros(_MAX_CODE_POINT, dtype=bool)
    every = "".join(map(chr, range(_MAX_CODE_POINT)))
    for cls, pattern in _CLASS_PATTERNS:
        hit = np.zeros(_MAX_CODE_POINT, dtype=bool)
        for m in regex.finditer(pattern, every):
            hit[m.start() : m.end()] = True
        table[hit & ~assigned] = cls
        assigned |= hit
    # re's \s in a str pattern is exactly str.isspace, which is what str.split() splits on
    space = np.zeros(_MAX_CODE_POINT, dtype=bool)
    space[[m.start() for m in re.finditer(r"\s", every)]] = True
    lengths = utf8_lengths(np.arange(_MAX_CODE_POINT, dtype=np.uint32))
    keys = (table + len(SCRIPTS) * (lengths - 1) + _SPACE * space).astype(np.uint8)
    table.setflags(write=False)
    keys.setflags(write=False)
    return table, keys


def script_table() -> np.ndarray:
    """``uint8[0x110000]``: code point → index into :data:`SCRIPTS`."""
    return _tables()[0]


_SPACE = 32
"""Bit of a :func:`_char_keys` entry (above every ``class + len(SCRIPTS) * (length - 1)``) for a
character ``str.split()`` splits on."""


def _char_keys() -> np.ndarray:
    """``uint8[0x110000]``: ``class + len(SCRIPTS) * (UTF-8 length - 1)``, plus :data:`_SPACE` for
    ``str.isspace`` characters; one gather gives all :func:`count_text` needs."""
    return _tables()[1]


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as ``uint32`` (lone surrogates allowed)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def utf8_lengths(cps: np.ndarray) -> np.ndarray:
    """UTF-8 byte length of each code point (a surrogate-escaped byte counts 1)."""
    lengths = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
    lengths[(cps >= SURROGATES[0]) & (cps < SURROGATES[1])] = 1
    return lengths


def escaped_bytes(cps: np.ndarray) -> np.ndarray:
    """Where a code point is a byte that never became a character (``surrogateescape``: U+DC80..U+DCFF)."""
    return (cps >= 0xDC80) & (cps < 0xDD00)


def classify(cps: np.ndarray) -> np.ndarray:
    """Script class index of each code point."""
    return script_table()[cps]


def script_of(char: str) -> str:
    """The script class name of one character (for ``explain``)."""
    return SCRIPTS[int(script_table()[ord(char)])]


def chars_by_length(cps: np.ndarray) -> np.ndarray:
    """``int64[4, len(SCRIPTS)]``: how many of ``cps`` have each UTF-8 length (row ``length - 1``,
    a surrogate-escaped byte counts 1) and script class (column)."""
    return _by_length(_char_keys().take(cps))


def _by_length(keys: np.ndarray) -> np.ndarray:
    """``chars_by_length`` from the keys: ``np.bincount`` of ``keys & 31``, counted two keys at a time
    (as ``uint16``, over 64K bins), which is twice as fast as counting into 24 bins one by one."""
    keys = keys & (_SPACE - 1)
    if len(keys) % 2:
        keys = np.append(keys, np.uint8(_SPACE - 1))  # a key no character has
    pairs = np.bincount(keys.view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)
    return counts[: 4 * len(SCRIPTS)].astype(np.int64, copy=False).reshape(4, len(SCRIPTS))


def count_text(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """(characters, UTF-8 bytes) per script class of all ``texts``, and their words as
    ``sum(len(t.split()) for t in texts)``: one table gather and one histogram."""
    joined = "".join(texts)
    keys = _char_keys().take(code_points(joined))  # (take: twice as fast as indexing)
    by_length = _by_length(keys)
    chars = by_length.sum(axis=0)
    nbytes = np.arange(1, 5, dtype=np.int64) @ by_length
    # a word starts at a non-space character that opens a text or follows a space
    space = keys >= _SPACE
    starts = ~space
    starts[1:] &= space[:-1]
    opens = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts))[:-1])
    opens = opens[opens < len(joined)]
    starts[opens] = ~space[opens]
    return chars, nbytes, int(np.count_nonzero(starts))
