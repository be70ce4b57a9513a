"""The BPE merge loop over distinct chunks, with incremental pair counts.

Representation (why it is fast in pure Python):

* each distinct chunk is a string with one character per symbol id (``chr(id)``), so applying a
  merge is one C-level ``str.replace``; its leftmost, non-overlapping scan is exactly how
  ``tokenizers``' ``Word::merge`` rewrites a word (``"aaa"`` → ``"Xa"``);
* a pair is the 2-character string of its ids; ``counts[pair]`` is its weighted count and
  ``where[pair]`` lists the chunks that contain it (possibly stale or repeated: a chunk without
  the pair is skipped because ``replace`` returns the very same object);
* the first pair count over all chunks is done with numpy (one pass over every symbol);
* a heap holds one key per pair: highest count first, ties to the smaller ``(left, right)`` id
  pair. Counts of existing pairs only fall, so a stale key is re-pushed with its current count
  when popped (lazy update), never searched for;
* after a merge only the neighbours of the merge sites change: each new pair around the new
  symbol records the chunk it appeared in (once per site), its count is the sum of those chunks'
  weights, and the pair it replaced loses the same amount;
* pairs whose count falls (or starts) below ``min_frequency`` are dropped: they can never be merged.

A merge whose token string already exists (``"ab"+"c"`` after ``"a"+"bc"``) reuses that token's id,
as ``tokenizers`` does; the vocabulary does not grow, so such a run makes more merges. That rare
step takes an exact but slower path (recount the pairs of each touched chunk).
"""

from __future__ import annotations

import gc
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from operator import add
from typing import Any

from tokkit.types import ProgressTask

_COUNT_SHIFT = 42
_ID_BITS = 21
_ID_MASK = (1 << _ID_BITS) - 1
_PAIR_MASK = (1 << _COUNT_SHIFT) - 1
_COUNT_CAP = 1 << 62


def _key(count: int, pair: str) -> int:
    """Heap key: smaller is better; highest count, then smallest (left, right) ids."""
    return ((_COUNT_CAP - count) << _COUNT_SHIFT) | (ord(pair[0]) << _ID_BITS) | ord(pair[1])


@dataclass
class MergeResult:
    """``merges[i] = (left, right, new_id)`` in the order learned; ``tokens[id]`` = raw bytes."""

    merges: list[tuple[int, int, int]]
    tokens: list[bytes]


def learn_merges(
    words: list[str],
    weights: list[int],
    tokens: list[bytes],
    ids_by_bytes: dict[bytes, int],
    *,
    vocab_size: int,
    min_frequency: int,
    task: ProgressTask,
) -> MergeResult:
    """Merge the most frequent pair until ``len(tokens) == vocab_size`` or no pair qualifies.

    ``words`` are symbol strings (rewritten in place); ``tokens``/``ids_by_bytes`` hold the
    special tokens and the 256 byte symbols on entry and grow with each new token.
    """
    floor = max(1, min_frequency)
    counts, where = _count_pairs(words, weights, floor)
    heap = [_key(n, pair) for pair, n in counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int, int]] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small objects, no cycles: the collector would only rescan them
    try:
        while len(tokens) < vocab_size and heap:
            key = heapq.heappop(heap)
            count = _COUNT_CAP - (key >> _COUNT_SHIFT)
            left, right = (key >> _ID_BITS) & _ID_MASK, key & _ID_MASK
            pair = chr(left) + chr(right)
            current = counts.get(pair)
            if current is None:
                continue
            if current != count:
                heapq.heappush(heap, ((_COUNT_CAP - current) << _COUNT_SHIFT) | (key & _PAIR_MASK))
                continue
            merged = tokens[left] + tokens[right]
            new_id = ids_by_bytes.get(merged)
            fresh = new_id is None
            if new_id is None:
                new_id = len(tokens)
                tokens.append(merged)
                ids_by_bytes[merged] = new_id
            merges.append((left, right, new_id))
            del counts[pair]
            touched = where.pop(pair)
            if not isinstance(touched, list):  # a numpy array from the first count
                touched = touched.tolist()
            apply = _merge_fresh if fresh else _merge_existing
            apply(pair, chr(new_id), touched, words, weights, counts, where, heap, floor)
            task.advance(1)
    finally:
        if gc_was_enabled:
            gc.enable()
    return MergeResult(merges=merges, tokens=tokens)


def _count_pairs(
    words: list[str], weights: list[int], floor: int
) -> tuple[dict[str, int], dict[str, Any]]:
    """Weighted counts of the pairs reaching ``floor``, and the chunks holding each pair.

    One vectorised pass: every adjacent pair inside a chunk becomes the code ``left * V + right``;
    ``bincount`` weighs them, a sort of ``(code, chunk)`` gives each pair's chunks.
    """
    import numpy as np

    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    if lengths.sum() == 0:
        return {}, {}
    top = max(map(max, filter(None, words))) if any(lengths > 0) else "\0"
    base = ord(top) + 1
    dtype = np.uint8 if base <= 256 else np.uint32
    if dtype is np.uint8:
        symbols = np.frombuffer("".join(words).encode("latin-1"), dtype=np.uint8)
    else:
        symbols = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    symbols = symbols.astype(np.int64)
    word_of = np.repeat(np.arange(len(words), dtype=np.int64), lengths)
    inside = word_of[1:] == word_of[:-1]
    codes = (symbols[:-1] * base + symbols[1:])[inside]
    pair_words = word_of[1:][inside]
    del symbols, inside
    weight = np.asarray(weights, dtype=np.int64)[pair_words]
    totals = np.bincount(codes, weights=weight, minlength=base * base)
    del weight
    keep = np.flatnonzero(totals >= floor)
    if not len(keep):  # no pair is frequent enough (tiny corpus, high min_frequency)
        return {}, {}
    kept = np.isin(codes, keep)
    pairs_sorted = np.sort(codes[kept] * len(words) + pair_words[kept])  # sort, not unique:
    pairs_sorted = pairs_sorted[np.r_[True, pairs_sorted[1:] != pairs_sorted[:-1]]]  # far faster
    del codes, pair_words, kept
    pair_codes = pairs_sorted // len(words)
    chunk_ids = (pairs_sorted % len(words)).astype(np.int32)
    starts = np.flatnonzero(np.r_[True, pair_codes[1:] != pair_codes[:-1]])
    ends = np.r_[starts[1:], len(pair_codes)]
    counts: dict[str, int] = {}
    where: dict[str, Any] = {}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        code = int(pair_codes[start])
        pair = chr(code // base) + chr(code % base)
        counts[pair] = int(totals[code])
        where[pair] = chunk_ids[start:end].copy()
    return counts, where


def _merge_fresh(
    pair: str,
    new: str,
    touched: Iterable[int],
    words: list[str],
    weights: list[int],
    counts: dict[str, int],
    where: dict[str, Any],
    heap: list[int],
    floor: int,
) -> None:
    """Apply a merge whose symbol ``new`` occurs nowhere yet: every ``new`` is a merge site.

    Around a site with left neighbour ``x`` the pair ``x+A`` became ``x+new`` (if ``x`` is itself a
    site, ``B+A`` became ``new+new``); with right neighbour ``y``, ``B+y`` became ``new+y``. Each
    new pair lists its chunk once per site, so its count is the sum of the listed weights.
    """
    first, second = pair[0], pair[1]
    new_new = new + new
    sites: defaultdict[str, list[int]] = defaultdict(list)
    for index in touched:
        word = words[index]
        merged = word.replace(pair, new)
        if merged is word:
            continue
        words[index] = merged
        size = len(merged)
        if len(word) - size == 1:  # one site (each site shortens the chunk by one), the common case
            at = merged.find(new)
            if at:
                sites[merged[at - 1] + new].append(index)
            if at + 1 < size:
                sites[new + merged[at + 1]].append(index)
            continue
        parts = merged.split(new)
        for k, before in enumerate(parts[:-1]):
            if before:
                sites[before[-1] + new].append(index)
            elif k:  # two adjacent sites
                sites[new_new].append(index)
        for after in parts[1:]:
            if after:
                sites[new + after[0]].append(index)
    weight_of = weights.__getitem__
    for gained, chunks in sites.items():
        n = sum(map(weight_of, chunks))
        if gained == new_new:
            lost = second + first
        elif gained[1] == new:
            lost = gained[0] + first
        else:
            lost = second + gained[1]
        current = counts.get(lost)
        if current is not None:
            current -= n
            if current >= floor:
                counts[lost] = current
            else:
                del counts[lost]
                where.pop(lost, None)
        if n >= floor:
            counts[gained] = n
            where[gained] = chunks
            heapq.heappush(heap, _key(n, gained))


def _merge_existing(
    pair: str,
    new: str,
    touched: Iterable[int],
    words: list[str],
    weights: list[int],
    counts: dict[str, int],
    where: dict[str, Any],
    heap: list[int],
    floor: int,
) -> None:
    """Apply a merge whose token already exists (its symbol may already be in the chunks).

    Recount each touched chunk's pairs before and after; pairs that gain get a fresh heap key
    (the lazy heap only handles falling counts).
    """
    delta: dict[str, int] = {}
    gained_where: dict[str, list[int]] = {}
    for index in touched:
        word = words[index]
        merged = word.replace(pair, new)
        if merged is word:
            continue
        words[index] = merged
        weight = weights[index]
        before = Counter(map(add, word, word[1:]))
        after = Counter(map(add, merged, merged[1:]))
        for p in before.keys() | after.keys():
            change = after[p] - before[p]
            if change:
                delta[p] = delta.get(p, 0) + change * weight
                if change > 0:
                    gained_where.setdefault(p, []).append(index)
    for p, change in delta.items():
        if p == pair:
            continue
        current = counts.get(p)
        total = change if current is None else current + change
        if total >= floor:
            counts[p] = total
            if p in gained_where:
                known = where.get(p)
                where[p] = gained_where[p] if known is None else [*known, *gained_where[p]]
            if change > 0:
                heapq.heappush(heap, _key(total, p))
        elif current is not None:
            del counts[p]
            where.pop(p, None)
