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
  symbol records the chunk it appeared in (once per chunk, however many sites), its count is the
  weighted number of sites, and the pair it replaced loses the same amount;
* pairs whose count falls (or starts) below ``min_frequency`` are dropped: they can never be merged;
* a chunk longer than :data:`~tokkit.train.bpe_long.LONG_CHUNK` symbols would make every merge
  touching it rescan all of it (quadratic in its length: one line of unspaced Chinese is one
  chunk); such chunks live in :class:`~tokkit.train.bpe_long.LongChunks`, where a merge costs its
  occurrences, and feed the same count changes. The cost of a merge is thus bounded by its
  occurrences times ``LONG_CHUNK``, and a chunk's memory by a small multiple of its length.

A merge whose token string already exists (``"ab"+"c"`` after ``"a"+"bc"``) reuses that token's id,
as ``tokenizers`` does; the vocabulary does not grow, so such a run makes more merges. That rare
step takes an exact but slower path (recount the pairs of each touched chunk).
"""

from __future__ import annotations

import gc
import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import add
from typing import Any

from tokkit.train.bpe_long import LONG_CHUNK, LongChunks
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


def pop_best(heap: list[int], count_of: Callable[[int], int | None]) -> int | None:
    """Pop the best pair whose heap key holds its current count; None when the heap is empty.

    A key's low bits are the pair (``left << _ID_BITS | right``); ``count_of(pair bits)`` is its
    count now, None for a pair that can no longer be merged. Counts only fall, so a key with an
    old count is pushed back with the current one (lazy update), never searched for.
    """
    while heap:
        key = heapq.heappop(heap)
        bits = key & _PAIR_MASK
        current = count_of(bits)
        if current is None:
            continue
        if current != _COUNT_CAP - (key >> _COUNT_SHIFT):
            heapq.heappush(heap, ((_COUNT_CAP - current) << _COUNT_SHIFT) | bits)
            continue
        return bits
    return None


def add_token(tokens: list[bytes], ids_by_bytes: dict[bytes, int], merged: bytes) -> tuple[int, bool]:
    """The id of the token spelling ``merged`` and whether it is new (else an existing token's id
    is reused, as ``tokenizers`` does)."""
    new_id = ids_by_bytes.get(merged)
    if new_id is not None:
        return new_id, False
    new_id = ids_by_bytes[merged] = len(tokens)
    tokens.append(merged)
    return new_id, True


@dataclass
class _Loop:
    """What the merge steps share: the chunks, the pair counts and where each pair occurs."""

    words: list[str]
    weights: list[int]
    counts: dict[str, int]
    where: dict[str, Any]
    heap: list[int]
    floor: int
    longs: LongChunks | None


def learn_merges(
    words: list[str],
    weights: list[int],
    tokens: list[bytes],
    ids_by_bytes: dict[bytes, int],
    *,
    vocab_size: int,
    min_frequency: int,
    task: ProgressTask,
    long_chunk: int = LONG_CHUNK,
    kernel: str = "python",
) -> MergeResult:
    """Merge the most frequent pair until ``len(tokens) == vocab_size`` or no pair qualifies.

    ``words`` are symbol strings, one character per symbol id (rewritten in place; a word longer
    than ``long_chunk`` symbols moves to :class:`LongChunks` and reads ``""`` here); ``weights``
    their counts. The words may already hold merged symbols (training on from a base vocabulary):
    ``tokens``/``ids_by_bytes`` then hold every existing token. On entry they hold at least the
    special tokens and the 256 byte symbols, and they grow with each new token.

    ``kernel="numba"`` runs the compiled twin (:mod:`tokkit.train.bpe_merge_numba`; same merges,
    no ``long_chunk``: every chunk is linked there).
    """
    floor = max(1, min_frequency)
    if kernel == "numba":
        from tokkit.train.bpe_merge_numba import learn_merges_compiled

        return learn_merges_compiled(words, weights, tokens, ids_by_bytes, vocab_size, floor, task)
    longs = _split_long(words, weights, long_chunk)
    counts, where = _count_pairs(words, weights, floor, longs)
    heap = [_key(n, pair) for pair, n in counts.items()]
    heapq.heapify(heap)

    loop = _Loop(words, weights, counts, where, heap, floor, longs)

    def count_of(bits: int) -> int | None:
        return counts.get(chr(bits >> _ID_BITS) + chr(bits & _ID_MASK))

    merges: list[tuple[int, int, int]] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small objects, no cycles: the collector would only rescan them
    try:
        while len(tokens) < vocab_size and (bits := pop_best(heap, count_of)) is not None:
            left, right = bits >> _ID_BITS, bits & _ID_MASK
            pair = chr(left) + chr(right)
            new_id, fresh = add_token(tokens, ids_by_bytes, tokens[left] + tokens[right])
            merges.append((left, right, new_id))
            del counts[pair]
            touched = where.pop(pair, [])
            if not isinstance(touched, list):  # a numpy array from the first count
                touched = touched.tolist()
            long_delta: dict[str, int] = {}
            if longs is not None:
                longs.merge(pair, chr(new_id), long_delta)
            apply = _merge_fresh if fresh else _merge_existing
            apply(loop, pair, chr(new_id), touched, long_delta)
            if fresh:  # the bar counts new tokens (of vocab_size), not merges
                task.advance(1)
    finally:
        if gc_was_enabled:
            gc.enable()
    if longs is not None:
        for index, word in zip(longs.indices, longs.words(), strict=True):
            words[index] = word
    return MergeResult(merges=merges, tokens=tokens)


def _split_long(words: list[str], weights: list[int], long_chunk: int) -> LongChunks | None:
    """Move the words longer than ``long_chunk`` into a :class:`LongChunks` (``""`` in ``words``)."""
    indices = [i for i, word in enumerate(words) if len(word) > long_chunk]
    if not indices:
        return None
    longs = LongChunks([words[i] for i in indices], [weights[i] for i in indices], indices)
    for i in indices:
        words[i] = ""
    return longs


COUNT_BLOCK = 1 << 22
"""Symbols per block of the first pair count: bounds its numpy temporaries (~40 bytes a symbol)."""


def _count_pairs(
    words: list[str], weights: list[int], floor: int, longs: LongChunks | None = None
) -> tuple[dict[str, int], dict[str, Any]]:
    """Weighted counts of the pairs reaching ``floor``, and the chunks holding each pair.

    Vectorised, over blocks of about :data:`COUNT_BLOCK` symbols so the temporaries stay small:
    every adjacent pair inside a chunk becomes the code ``left * V + right``; pass one weighs them
    (``bincount``), pass two sorts the kept ``(code, chunk)`` of each block and appends each pair's
    chunks, so they come out in chunk order, once each. The pairs of ``longs`` count too; their
    positions are seeded into ``longs``.
    """
    import numpy as np

    joined = "".join(words)
    top = ord(max(joined)) if joined else 0
    del joined
    if longs is not None and len(longs):
        top = max(top, max(longs.symbol))
    base = top + 1
    code_type = np.int32 if base * base < 2**31 else np.int64
    blocks = [(codes.astype(code_type), chunks) for codes, chunks in _block_pairs(words, base)]
    weight_of = np.asarray(weights, dtype=np.int64)
    long_codes = long_nodes = long_weight = None
    if longs is not None:
        long_codes, long_nodes, long_weight = longs.pair_codes(base)
    present = [codes for codes, _ in blocks] + ([long_codes] if long_codes is not None else [])
    if not sum(map(len, present)):
        return {}, {}
    dense = base <= 1 << 13  # a table of every possible pair is small
    if dense:
        totals = np.zeros(base * base, dtype=np.float64)
        for codes, chunks in blocks:
            totals += np.bincount(codes, weights=weight_of[chunks], minlength=base * base)
        if long_codes is not None:
            totals += np.bincount(long_codes, weights=long_weight, minlength=base * base)
        keep_mask = totals >= floor
        keep = np.flatnonzero(keep_mask)
        kept_totals = totals[keep]
    else:  # many symbols (a base vocabulary): count only the pairs that occur
        codes = np.concatenate(present)
        pair_weight = np.concatenate(
            [weight_of[chunks] for _, chunks in blocks]
            + ([long_weight] if long_weight is not None else []))
        order = np.argsort(codes, kind="stable")
        codes, pair_weight = codes[order], pair_weight[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        sums = np.add.reduceat(pair_weight, starts) if len(codes) else pair_weight
        unique = codes[starts]
        keep, kept_totals = unique[sums >= floor], sums[sums >= floor]
        del codes, pair_weight, order, starts, unique, sums
    del present
    if longs is not None:
        longs.seed(long_codes, long_nodes, keep, base)
        del long_codes, long_nodes, long_weight
    counts: dict[str, int] = {}
    if not len(keep):  # no pair is frequent enough (tiny corpus, high min_frequency)
        return counts, {}
    for code, total in zip(keep.tolist(), kept_totals.tolist(), strict=True):
        counts[chr(code // base) + chr(code % base)] = int(total)
    parts: defaultdict[int, list[Any]] = defaultdict(list)
    while blocks:
        codes, chunks = blocks.pop(0)
        kept = keep_mask[codes] if dense else np.isin(codes, keep)
        codes, chunks = codes[kept].astype(np.int64), chunks[kept]
        if not len(codes):
            continue
        joint = np.sort(codes * len(words) + chunks)  # sort, not np.unique (hashes: far slower)
        joint = joint[np.r_[True, joint[1:] != joint[:-1]]]  # each (pair, chunk) once
        codes = joint // len(words)
        chunks = (joint % len(words)).astype(np.int32)
        bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
        for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            parts[int(codes[start])].append(chunks[start:end])
    where: dict[str, Any] = {}
    for code, arrays in parts.items():
        where[chr(code // base) + chr(code % base)] = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    return counts, where


def _block_pairs(words: list[str], base: int) -> Any:
    """``(codes, chunk ids)`` of the adjacent pairs inside the words, a block of words at a time."""
    import numpy as np

    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    ends = np.cumsum(lengths)
    start = 0
    while start < len(words):
        done = int(ends[start - 1]) if start else 0
        end = max(start + 1, int(np.searchsorted(ends, done + COUNT_BLOCK, side="left")) + 1)
        end = min(end, len(words))
        text = "".join(words[start:end])
        if base <= 256:
            symbols = np.frombuffer(text.encode("latin-1"), dtype=np.uint8).astype(np.int64)
        else:
            symbols = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        word_of = np.repeat(np.arange(start, end, dtype=np.int32), lengths[start:end])
        inside = word_of[1:] == word_of[:-1]
        yield (symbols[:-1] * base + symbols[1:])[inside], word_of[1:][inside]
        start = end


def _merge_fresh(loop: _Loop, pair: str, new: str, touched: Iterable[int],
                 long_delta: dict[str, int]) -> None:
    """Apply a merge whose symbol ``new`` occurs nowhere yet: every ``new`` is a merge site.

    Around a site with left neighbour ``x`` the pair ``x+A`` became ``x+new`` (if ``x`` is itself a
    site, ``B+A`` became ``new+new``); with right neighbour ``y``, ``B+y`` became ``new+y``. Each
    new pair lists its chunk once; its count is the sum of the listed weights, plus ``extra`` for a
    chunk where it formed more than once. ``long_delta`` holds the long chunks' changes, already
    made.
    """
    words, weights, counts, where = loop.words, loop.weights, loop.counts, loop.where
    heap, floor, longs = loop.heap, loop.floor, loop.longs
    first, second = pair[0], pair[1]
    new_new = new + new
    sites: defaultdict[str, list[int]] = defaultdict(list)
    extra: dict[str, int] = {}
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
        formed: list[str] = []
        parts = merged.split(new)
        for k, before in enumerate(parts[:-1]):
            if before:
                formed.append(before[-1] + new)
            elif k:  # two adjacent sites
                formed.append(new_new)
        for after in parts[1:]:
            if after:
                formed.append(new + after[0])
        weight = weights[index]
        for gained, times in Counter(formed).items():
            sites[gained].append(index)
            if times > 1:
                extra[gained] = extra.get(gained, 0) + (times - 1) * weight
    weight_of = weights.__getitem__
    for gained, chunks in sites.items():
        n = sum(map(weight_of, chunks)) + extra.get(gained, 0)
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
                if longs is not None:
                    longs.forget(lost)
        if long_delta:
            n += long_delta.pop(gained, 0)
        if n >= floor:
            counts[gained] = n
            where[gained] = chunks
            heapq.heappush(heap, _key(n, gained))
        elif longs is not None:
            longs.forget(gained)
    if long_delta:
        _settle(loop, pair, long_delta, {})


def _merge_existing(loop: _Loop, pair: str, new: str, touched: Iterable[int],
                    long_delta: dict[str, int]) -> None:
    """Apply a merge whose token already exists (its symbol may already be in the chunks).

    Recount each touched chunk's pairs before and after; pairs that gain get a fresh heap key
    (the lazy heap only handles falling counts).
    """
    words, weights = loop.words, loop.weights
    delta = long_delta
    gained_where: dict[str, list[int]] = {}
    for index in dict.fromkeys(touched):  # a chunk may be listed twice after an earlier reuse
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
    _settle(loop, pair, delta, gained_where)


def _settle(loop: _Loop, pair: str, delta: dict[str, int], gained_where: dict[str, list[int]]) -> None:
    """Add ``delta`` to the pair counts: a pair that gains gets a fresh heap key and the chunks in
    ``gained_where``; one that falls below ``floor`` is forgotten."""
    counts, where, heap, floor, longs = loop.counts, loop.where, loop.heap, loop.floor, loop.longs
    for p, change in delta.items():
        if p == pair:
            continue
        current = counts.get(p)
        total = change if current is None else current + change
        if total >= floor:
            counts[p] = total
            if p in gained_where:
                known = where.get(p)
                if known is None:
                    where[p] = gained_where[p]
                else:
                    if not isinstance(known, list):
                        known = known.tolist()
                    where[p] = [*known, *gained_where[p]]
            if change > 0:
                heapq.heappush(heap, _key(total, p))
        else:
            if current is not None:
                del counts[p]
                where.pop(p, None)
            if longs is not None:
                longs.forget(p)
