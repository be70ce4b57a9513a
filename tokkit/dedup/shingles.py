"""Shingling: a document becomes the set of hashes of its n-grams, characters for CJK, words otherwise.

Chinese has no spaces, so word n-grams of Chinese text would be whole sentences; character
n-grams are what MinHash dedup of CJK text uses. ``auto`` decides per document by the share of
CJK characters.

A shingle is a *substring of the shingle text* (case-folded NFKC; for words, the words joined by
one space), and its hash is a polynomial hash over code points mod 2^64 finished with the
MurmurHash3 64-bit finalizer and cut to 32 bits. Being a substring hash, it is computed for all
shingles of a whole batch at once from prefix sums (numpy), yet equals :func:`shingle_hash32`,
the one-shingle reference that datasketch can take as its ``hashfunc``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np

from tokkit.dedup.config import Unit

ShingleUnit = Literal["char", "word"]

# Han (with extensions and compatibility ideographs), kana, hangul syllables and jamo
_CJK = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3131-\u318e\u3400-\u4dbf\u4e00-\u9fff"
                  "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]")
_NON_WORD = re.compile(r"[\W_]+")  # words are letters and digits; '_' is Gutenberg's italics markup
_CJK_RANGES = [(0x1100, 0x11FF), (0x3040, 0x30FF), (0x3131, 0x318E), (0x3400, 0x4DBF),
               (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0x20000, 0x3134F)]

_M64 = (1 << 64) - 1
_BASE = 0x9E3779B97F4A7C15  # odd, so invertible mod 2^64
_BASE_INV = pow(_BASE, -1, 1 << 64)
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)


def fold(text: str) -> str:
    """NFKC, then case folding: what shingles are made of."""
    return unicodedata.normalize("NFKC", text).casefold()


_WORD = re.compile(f"{_CJK.pattern}|[^\\W_]+")
"""A word: a run of letters/digits, or one CJK character (Chinese is written without spaces)."""


def count_words(text: str) -> int:
    """Words of ``text``, a CJK character counting as one: ``'Chapter XIII'`` has 2, a Chinese
    sentence of 40 characters 40 (or about that; punctuation is no word)."""
    return len(_WORD.findall(text))


def has_words(text: str, minimum: int) -> bool:
    """``count_words(text) >= minimum``, without reading a long text to its end."""
    if minimum <= 0:
        return True
    if len(text) < minimum:
        return False
    if len(text) <= 64 * minimum:  # short: one findall is cheaper than stopping early
        return len(_WORD.findall(text)) >= minimum
    return any(found >= minimum for found, _ in enumerate(_WORD.finditer(text), start=1))


def choose_unit(text: str, unit: Unit = "auto", *, cjk_ratio: float = 0.3) -> ShingleUnit:
    """``char`` when at least ``cjk_ratio`` of the non-space characters are CJK (for ``auto``),
    counted on the folded text."""
    if unit != "auto":
        return unit
    folded = fold(text)
    visible = len("".join(folded.split()))
    if visible == 0:
        return "word"
    return "char" if len(_CJK.findall(folded)) >= cjk_ratio * visible else "word"


def shingle_text(text: str, unit: ShingleUnit) -> str:
    """The normalized text whose substrings are the shingles.

    word: case-folded NFKC words (letters/digits) joined by one space: punctuation, wrapping and
    markup do not matter. char: case-folded NFKC without whitespace.
    """
    text = fold(text)
    if unit == "word":
        return " ".join(_NON_WORD.split(text)).strip()
    return "".join(text.split())


def shingles(text: str, *, ngram: int = 5, unit: ShingleUnit = "word") -> list[str]:
    """The shingles of one document, in order (reference implementation, with repeats).

    A text shorter than ``ngram`` units is one shingle; an empty one has none.

    >>> shingles("It was the best of times, it was", ngram=5)
    ['it was the best of', 'was the best of times', 'the best of times it', 'best of times it was']
    """
    norm = shingle_text(text, unit)
    if not norm:
        return []
    if unit == "word":
        words = norm.split(" ")
        if len(words) <= ngram:
            return [norm]
        return [" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
    if len(norm) <= ngram:
        return [norm]
    return [norm[i : i + ngram] for i in range(len(norm) - ngram + 1)]


def _fmix64_int(h: int) -> int:
    s1, m1, s2, m2, s3 = _FMIX64
    h ^= h >> s1
    h = (h * m1) & _M64
    h ^= h >> s2
    h = (h * m2) & _M64
    return h ^ (h >> s3)


def shingle_hash32(shingle: str | bytes) -> int:
    """The 32-bit hash of one shingle (bytes are UTF-8); a valid datasketch ``hashfunc``.

    ``sum((ord(c) + 1) * BASE**i) mod 2^64``, MurmurHash3-finalized, low 32 bits.
    """
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8")
    h, power = 0, 1
    for ch in shingle:
        h = (h + (ord(ch) + 1) * power) & _M64
        power = (power * _BASE) & _M64
    return _fmix64_int(h) & 0xFFFFFFFF


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer on a uint64 array (wrapping arithmetic)."""
    s1, m1, s2, m2, s3 = (np.uint64(v) for v in _FMIX64)
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


class _Powers:
    """BASE^i and BASE^-i mod 2^64 for i < n, grown on demand and shared by all batches."""

    def __init__(self) -> None:
        self.pow = np.ones(1, dtype=np.uint64)
        self.inv = np.ones(1, dtype=np.uint64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pow) < n:
            size = max(n, 2 * len(self.pow), 1 << 16)
            one = np.ones(1, dtype=np.uint64)
            self.pow = np.concatenate((one, np.cumprod(np.full(size - 1, _BASE, dtype=np.uint64))))
            self.inv = np.concatenate((one, np.cumprod(np.full(size - 1, _BASE_INV, dtype=np.uint64))))
        return self.pow[:n], self.inv[:n]


_POWERS = _Powers()


def _unit_spans(codes: np.ndarray, doc_starts: np.ndarray, doc_ends: np.ndarray,
                is_word: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) code-point positions of every unit (word or character), in text order."""
    n = len(codes)
    is_word_pos = np.repeat(is_word, doc_ends - doc_starts)
    nonspace = codes != 32
    first = np.zeros(n, dtype=bool)
    first[doc_starts[doc_starts < doc_ends]] = True
    last = np.zeros(n + 1, dtype=bool)
    last[doc_ends[doc_starts < doc_ends]] = True
    prev_space = np.empty(n, dtype=bool)
    prev_space[0] = True
    prev_space[1:] = ~nonspace[:-1]
    next_space = np.empty(n, dtype=bool)
    next_space[-1:] = True
    next_space[:-1] = ~nonspace[1:]
    # A character unit starts and ends everywhere; a word unit at its space boundaries.
    starts = np.flatnonzero(~is_word_pos | (nonspace & (first | prev_space)))
    ends = np.flatnonzero(~is_word_pos | (nonspace & (last[1:] | next_space))) + 1
    return starts, ends


@lru_cache(maxsize=1)
def _char_classes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``str.isalnum``, ``str.isspace`` and CJK-ness of every code point (the classes
    ``[\\W_]``, ``str.split()`` and :func:`choose_unit` use)."""
    alnum = np.zeros(0x110000, dtype=bool)
    space = np.zeros(0x110000, dtype=bool)
    step = 1 << 16  # a plane at a time: all of them at once was a ~100 MB peak of 1-char strings
    for lo in range(0, 0x110000, step):
        chars = "".join(map(chr, range(lo, lo + step)))
        alnum[lo : lo + step] = np.fromiter(map(str.isalnum, chars), dtype=bool, count=step)
        space[lo : lo + step] = np.fromiter(map(str.isspace, chars), dtype=bool, count=step)
    cjk = np.zeros(0x110000, dtype=bool)
    for lo, hi in _CJK_RANGES:
        cjk[lo : hi + 1] = True
    return alnum, space, cjk


def _per_doc(mask: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """How many positions of each document ``mask`` marks."""
    before = np.zeros(len(mask) + 1, dtype=np.int64)
    np.cumsum(mask, out=before[1:])
    return before[ends] - before[ends - lengths]


def _shingle_codes(folded: Sequence[str], units: Unit | Sequence[Unit],
                   cjk_ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code points of every document's :func:`shingle_text`, concatenated; their lengths; and
    whether each document is shingled by words (``auto`` resolved as :func:`choose_unit` does).

    The same normalization as :func:`shingle_text`, done on arrays.
    """
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    codes = np.frombuffer("".join(folded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    alnum_of, space_of, cjk_of = _char_classes()
    alnum, space = alnum_of[codes], space_of[codes]
    ends = np.cumsum(lengths)
    unit_list = [units] * len(folded) if isinstance(units, str) else list(units)
    if len(unit_list) != len(folded):
        raise ValueError("one unit per text")
    is_word = np.fromiter((u == "word" for u in unit_list), dtype=bool, count=len(unit_list))
    auto = np.fromiter((u == "auto" for u in unit_list), dtype=bool, count=len(unit_list))
    if auto.any():
        visible = lengths - _per_doc(space, ends, lengths)
        cjk = _per_doc(cjk_of[codes], ends, lengths)
        is_word[auto] = ~((visible > 0) & (cjk >= cjk_ratio * visible))[auto]
    if len(codes) == 0:
        return codes, lengths, is_word
    doc_end = np.repeat(ends, lengths)
    word_pos = np.repeat(is_word, lengths)
    first = np.zeros(len(codes), dtype=bool)
    first[(ends - lengths)[lengths > 0]] = True
    prev_alnum = np.r_[False, alnum[:-1]] & ~first
    index = np.arange(len(codes))
    next_alnum = np.minimum.accumulate(np.where(alnum, index, len(codes))[::-1])[::-1]
    # a word document keeps letters/digits and one space for each gap between two words
    gap = word_pos & ~alnum & prev_alnum & (next_alnum < doc_end)
    keep = np.where(word_pos, alnum | gap, ~space)
    out = codes[keep]
    out[gap[keep]] = 32
    return out, _per_doc(keep, ends, lengths), is_word


def hash_shingles(texts: Sequence[str], units: Unit | Sequence[Unit] = "auto", *, ngram: int = 5,
                  cjk_ratio: float = 0.3,
                  folded: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shingle-hash a batch of documents at once.

    ``units`` is one unit for all or one per document (``auto`` as :func:`choose_unit`);
    ``folded`` may pass the already :func:`fold`-ed texts. Returns ``(hashes, offsets)``: the
    uint32 hashes of document ``i`` are ``hashes[offsets[i]:offsets[i + 1]]``, equal to
    ``[shingle_hash32(s) for s in shingles(texts[i], ngram=ngram, unit=choose_unit(texts[i],
    units[i]))]``.
    """
    if folded is None:
        folded = [fold(t) for t in texts]
    codes, lengths, is_word = _shingle_codes(folded, units, cjk_ratio)
    doc_ends = np.cumsum(lengths)
    doc_starts = doc_ends - lengths
    total = len(codes)
    offsets = np.zeros(len(folded) + 1, dtype=np.int64)
    if total == 0:
        return np.zeros(0, dtype=np.uint32), offsets
    power, inverse = _POWERS.get(total + 1)
    prefix = np.zeros(total + 1, dtype=np.uint64)
    np.cumsum((codes.astype(np.uint64) + np.uint64(1)) * power[:total], out=prefix[1:])

    unit_start, unit_end = _unit_spans(codes, doc_starts, doc_ends, is_word)
    # the first document that ends after the unit's start (empty documents end before it)
    unit_doc = np.searchsorted(doc_ends, unit_start, side="right")
    k = np.bincount(unit_doc, minlength=len(folded))
    first_unit = np.cumsum(k) - k
    span = np.minimum(k, ngram)
    count = np.where(k > 0, k - span + 1, 0)
    offsets[1:] = np.cumsum(count)
    n_shingles = int(offsets[-1])
    doc_of = np.repeat(np.arange(len(folded)), count)
    j = np.arange(n_shingles) - np.repeat(offsets[:-1], count) + first_unit[doc_of]
    s = unit_start[j]
    e = unit_end[j + span[doc_of] - 1]
    h = (prefix[e] - prefix[s]) * inverse[s]
    return (fmix64(h) & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets
