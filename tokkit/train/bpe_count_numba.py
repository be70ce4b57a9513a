"""GPT-4 chunk counting compiled by numba: the fast twin of :func:`tokkit.train.bpe_count.count_batch`,
whose ``regex`` ``findall`` and ``Counter`` stay the specification (same counts, tested).

Why: profiling the counting of 30 MB puts ~60% of a worker's time in ``findall`` (a Python string
per chunk, ~0.7 µs a chunk of English) and ``Counter.update``, and the main process's in
unpickling a ``Counter`` per batch. Here a batch's texts become one array of code points, a
hand-written scanner follows the GPT-4 split pattern alternative by alternative (first match wins,
as the regex engine tries them), and each chunk is counted in an open-addressing hash table over
its code points, so no Python object exists per chunk. A batch comes back as its distinct chunks
joined in one string by a character none holds and their counts as one array, so the main process
pays one ``split`` and one ``Counter.update`` a batch, not the unpickling of a ``Counter``.

Measured: a compiled table in the main process instead of the ``Counter`` (adding batches there,
the ``Counter`` made once) was slower: at millions of chunks every probe of either table is a few
cache misses (~0.6 µs), and the table paid them twice.

The character classes (``\\p{L}``, ``\\p{N}``, ``\\s`` and the case folds of ``'(?i:[sdmt]|ll|ve|re)``)
are read from the installed ``regex`` module itself, so they follow its Unicode version. Only the
GPT-4 pattern is compiled; any other pattern is counted by ``findall``.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

import numpy as np

from tokkit.train.compiled import available as available  # where callers ask
from tokkit.train.compiled import jit as _jit

LETTER, NUMBER, SPACE = 1, 2, 4
"""Bits of :func:`classes`: ``\\p{L}``, ``\\p{N}``, ``\\s`` (as the ``regex`` module reads them)."""
FOLDS = "sdmtlver"
"""The letters of the contractions; bit ``i`` of the fold table (:func:`classes`) is ``(?i:FOLDS[i])``."""
_S_D_M_T = 0b1111
_L, _V, _E, _R = 1 << 4, 1 << 5, 1 << 6, 1 << 7


@functools.lru_cache(maxsize=1)
def classes() -> tuple[Any, Any]:
    """``(class bits, fold bits)`` of every code point, ``uint8`` each, from ``regex`` (~0.1 s)."""
    import regex

    everything = np.arange(0x110000, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    bits = np.zeros(0x110000, dtype=np.uint8)
    for bit, cls in ((LETTER, r"\p{L}+"), (NUMBER, r"\p{N}+"), (SPACE, r"\s+")):
        for match in regex.finditer(cls, everything):
            bits[match.start():match.end()] |= bit
    fold = np.zeros(0x110000, dtype=np.uint8)
    for index, letter in enumerate(FOLDS):
        for match in regex.finditer(f"(?i:{letter})+", everything):
            fold[match.start():match.end()] |= 1 << index
    return bits, fold


@_jit
def _width(point: int) -> int:
    return 1 + (point >= 0x80) + (point >= 0x800) + (point >= 0x10000)


@_jit
def _chunk_end(points: Any, i: int, end: int, bits: Any, fold: Any) -> int:
    """Where the GPT-4 pattern's match at ``i`` ends (the text is ``points[:end]``); the
    alternatives in the pattern's order:
    ``'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*
    |\\s*[\\r\\n]|\\s+(?!\\S)|\\s+``."""
    point = points[i]
    kind = bits[point]
    if point == 0x27 and i + 1 < end:  # 'll 've 're 's 'd 'm 't, any case
        first = fold[points[i + 1]]
        if first & _S_D_M_T:
            return i + 2
        if i + 2 < end:
            second = fold[points[i + 2]]
            if (first & _L and second & _L) or (first & (_V | _R) and second & _E):
                return i + 3
    letter_from = -1
    if kind & LETTER:
        letter_from = i
    elif point != 0x0D and point != 0x0A and not kind & NUMBER and i + 1 < end \
            and bits[points[i + 1]] & LETTER:  # one non-letter, non-digit, non-newline prefix
        letter_from = i + 1
    if letter_from >= 0:
        j = letter_from + 1
        while j < end and bits[points[j]] & LETTER:
            j += 1
        return j
    if kind & NUMBER:
        j = i + 1
        while j < end and j < i + 3 and bits[points[j]] & NUMBER:
            j += 1
        return j
    k = i + 1 if point == 0x20 else i  # ` ?[^\s\p{L}\p{N}]++[\r\n]*`
    if k < end and not bits[points[k]] & (SPACE | LETTER | NUMBER):
        j = k + 1
        while j < end and not bits[points[j]] & (SPACE | LETTER | NUMBER):
            j += 1
        while j < end and (points[j] == 0x0D or points[j] == 0x0A):
            j += 1
        return j
    j = i + 1  # whitespace from here: the run is points[i:j]
    while j < end and bits[points[j]] & SPACE:
        j += 1
    for k in range(j - 1, i - 1, -1):  # `\s*[\r\n]`: up to the run's last newline
        if points[k] == 0x0D or points[k] == 0x0A:
            return k + 1
    if j == end or j - 1 == i:  # `\s+(?!\S)` (one back unless at the end), else `\s+`
        return j
    return j - 1


@_jit
def _mixed(h: Any) -> Any:
    """Murmur3's finalizer: FNV-1a's multiply only carries bits upward, so without it a hash's
    low bits (the slot) depend on the code points' low bits alone and probes cluster."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@_jit
def _same(points: Any, a: int, b: int, length: int) -> bool:
    for k in range(length):  # noqa: SIM110 - numba compiles no generator
        if points[a + k] != points[b + k]:
            return False
    return True


@_jit
def _grown(values: Any, size: int) -> Any:
    bigger = np.empty(size, dtype=values.dtype)
    bigger[:len(values)] = values
    return bigger


@_jit
def _count(points: Any, ends: Any, bits: Any, fold: Any) -> tuple[Any, Any, Any, int]:
    """Distinct chunks of the texts ``points[ends[t-1]:ends[t]]`` in first-seen order, as
    ``(start, length, count)`` arrays, and the texts' UTF-8 bytes.

    The hash table (FNV-1a over code points, mixed; linear probing) starts small and doubles at half
    full, so it follows the distinct chunks and stays in cache (sized by the batch, a probe
    was a cache miss and the batch 2x slower)."""
    capacity = 1 << 12
    slots = np.full(2 * capacity, -1, dtype=np.int64)
    starts = np.empty(capacity, dtype=np.int64)
    lengths = np.empty(capacity, dtype=np.int64)
    counts = np.empty(capacity, dtype=np.int64)
    hashes = np.empty(capacity, dtype=np.uint64)
    distinct = 0
    utf8 = 0
    begin = 0
    for end in ends:
        i = begin
        while i < end:
            j = _chunk_end(points, i, end, bits, fold)
            h = np.uint64(14695981039346656037)
            for k in range(i, j):
                h = (h ^ np.uint64(points[k])) * np.uint64(1099511628211)
                utf8 += _width(points[k])
            h = _mixed(h)
            mask = len(slots) - 1
            slot = np.int64(h & np.uint64(mask))
            while True:
                index = slots[slot]
                if index < 0:
                    break
                if hashes[index] == h and lengths[index] == j - i \
                        and _same(points, starts[index], i, j - i):
                    break
                slot = (slot + 1) & mask
            if index >= 0:
                counts[index] += 1
            else:
                if distinct == capacity:
                    capacity *= 2
                    starts, lengths = _grown(starts, capacity), _grown(lengths, capacity)
                    counts, hashes = _grown(counts, capacity), _grown(hashes, capacity)
                    slots = np.full(2 * capacity, -1, dtype=np.int64)
                    mask = len(slots) - 1
                    for old in range(distinct):
                        slot = np.int64(hashes[old] & np.uint64(mask))
                        while slots[slot] >= 0:
                            slot = (slot + 1) & mask
                        slots[slot] = old
                    slot = np.int64(h & np.uint64(mask))
                    while slots[slot] >= 0:
                        slot = (slot + 1) & mask
                slots[slot] = distinct
                starts[distinct], lengths[distinct], counts[distinct] = i, j - i, 1
                hashes[distinct] = h
                distinct += 1
            i = j
        begin = end
    return starts[:distinct], lengths[:distinct], counts[:distinct], utf8


@_jit
def _count_joined(points: Any, ends: Any, bits: Any, fold: Any) -> tuple[Any, int, Any, int]:
    """:func:`_count`, its distinct chunks end to end with a separator between two (the smallest
    code point not in ``points``), the separator, their counts and the texts' UTF-8 bytes (one
    compiled entry point: each costs ~0.2 s to load from numba's cache)."""
    starts, lengths, counts, utf8 = _count(points, ends, bits, fold)
    seen = np.zeros(0x110001, dtype=np.bool_)
    for point in points:
        seen[point] = True
    separator = int(np.argmin(seen))
    out = np.full(max(0, lengths.sum() + len(lengths) - 1), separator, dtype=np.uint32)
    at = 0
    for index in range(len(starts)):
        out[at:at + lengths[index]] = points[starts[index]:starts[index] + lengths[index]]
        at += lengths[index] + 1
    return out, separator, counts, utf8


Batch = tuple[str, str, Any]
"""A batch's distinct chunks in first-seen order: joined by a separator (a character none of them
holds), the separator, and their counts (``int64``)."""


def count_batch_joined(texts: list[str]) -> tuple[Batch, int, int]:
    """One batch under the GPT-4 pattern: (its distinct chunks as a :data:`Batch`, texts, UTF-8
    bytes). Runs in a worker process."""
    text = "".join(texts)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
    joined, separator, counts, utf8 = _count_joined(points, ends, *classes())
    if separator > 0x10FFFF:  # pragma: no cover - 1.1 M distinct characters in one batch
        raise ValueError("a batch holds every Unicode code point: lower BATCH_CHARS")
    text = joined.tobytes().decode("utf-32-le", "surrogatepass")
    return (text, chr(separator), counts), len(texts), utf8


def add_batch(counter: Counter[str], batch: Batch) -> None:
    """Add a :data:`Batch` to ``counter``: every chunk once by ``Counter.update`` (C speed), then
    what the repeated ones add beyond that (most chunks of a large corpus occur once a batch)."""
    joined, separator, counts = batch
    if not len(counts):
        return
    chunks = joined.split(separator)
    counter.update(chunks)
    repeated = np.flatnonzero(counts > 1)
    for index, extra in zip(repeated.tolist(), (counts[repeated] - 1).tolist(), strict=True):
        counter[chunks[index]] += extra
