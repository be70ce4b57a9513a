"""The BPE merge loop with its per-site work compiled by numba: the fast twin of
:mod:`tokkit.train.bpe_merge`, which stays the readable specification (same merges, tested).

Why: profiling the pure-Python loop on real text shows ~80% of the merge phase in the per-site
work (rewrite a chunk, find the neighbours, record the pairs formed); that part is compiled here,
and so is the heap of candidate pairs (two ``int64`` arrays, ordered as
:func:`tokkit.train.bpe_merge.pop_best` orders its keys), while the token table and the id reuse
stay in Python (two calls per merge).

* **Chunks** are :class:`~tokkit.train.bpe_spans.Spans`: one ``uint16`` slot per byte, neighbours
  found in O(1) without links.
* **Pairs** (code ``left << 21 | right``) have an index, a weighted count and a region of one
  ``int32`` arena holding the left slots where the pair was formed, so there is no Python or numba
  object per pair. Stale entries are checked in O(1) when the pair is merged, and dropped when the
  arena is repacked in place (no second arena) and when the pair is merged.
* **A merge** takes two passes over its sites in slot order: the first only computes the count
  changes and how many positions each pair gains, so every region is sized once, exactly, before
  the second rewrites the slots and writes the positions. A merge's memory is thus its positions,
  nothing per site.
* **Bounded memory** (:class:`PairBudget`): only pairs counted at least a threshold ``T`` are
  tracked (count and positions); every other pair is known to count less than ``T``. While the best
  tracked pair reaches ``T`` it is the best of all; when none does, the pairs are recounted from
  the slots (in hash partitions if their table would not fit) and ``T`` is lowered as far as the
  positions fit. With room for every position ``T`` is ``min_frequency``, one count, as before.
  The merges are the same either way (tested): a tier only decides what is held, never what wins.

numba comes from PyPI wheels (no compiler needed); without it tokkit uses the Python loop.
Figures against rustbpe and ``tokenizers``: ``benchmarks/bench_bpe_scale.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tokkit.train.bpe_merge import (
    _ID_BITS,
    _ID_MASK,
    MergeResult,
    add_token,
)
from tokkit.train.bpe_spans import Spans, read_tokens, token_lengths, weight_at
from tokkit.train.compiled import available as available  # where callers ask
from tokkit.train.compiled import jit as _jit
from tokkit.types import ProgressTask

_EMPTY = -1
_GOLDEN = 0x9E3779B97F4A7C15
BUCKETS = 4 * 64 + 4
"""Count buckets of the threshold choice: a quarter octave each."""


# Pair codes map to pair indices through an open-addressing table in two numpy arrays (numba's
# typed dict costs ~10× more per lookup, and a merge does several per site); per-pair figures are
# arrays indexed by pair index. Module-level functions, so numba caches them on disk.

@_jit
def slot(keys, code):
    mask = np.uint64(len(keys) - 1)
    h = (np.uint64(code) * np.uint64(_GOLDEN)) >> np.uint64(20)
    h &= mask
    while keys[h] != code and keys[h] != _EMPTY:
        h = (h + np.uint64(1)) & mask
    return h

@_jit
def intern(code, keys, values, meta, pair_code):
    h = slot(keys, code)
    if keys[h] == code:
        return np.int64(values[h])
    q = meta[0]
    meta[0] = q + 1
    keys[h] = code
    values[h] = q
    pair_code[q] = code  # its position region is empty (pos_start, pos_cap are zero)
    return q

@_jit
def partition_of(code, parts):
    """Which of ``parts`` hash partitions a pair belongs to. Its own mix (splitmix64's finalizer),
    independent of :func:`slot`'s bits: with bits shared, a partition's pairs fill a fraction of
    its table's slots and linear probing crawls (measured on 344 MB: one of 64 partitions took
    32 s to count, 0.6 s with this mix)."""
    z = np.uint64(code)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return np.int64(z % np.uint64(parts))


# Counting pairs from the slots.

@_jit
def count_from(start, sym, tok_len, heavy_start, heavy_weight, light_from, sep, parts, part, keys,
               values, meta, pair_code, counts, lengths):
    """Count the pairs of partition ``part`` (of ``parts``) from slot ``start``: weighted count and
    number of positions. Returns the slot where it stopped for lack of room (``len(sym)``: done)."""
    shift = np.int64(1 << 21)
    c = np.searchsorted(heavy_start, start, side="right") - 1  # the heavy chunk walked along
    last = len(heavy_start) - 1
    i = start
    while i < len(sym):
        s = sym[i]
        if s == sep:
            i += 1
            continue
        j = i + tok_len[s]
        t = sym[j]
        if t != sep:
            code = np.int64(s) * shift + t
            if parts == 1 or partition_of(code, parts) == part:
                if 2 * (meta[0] + 1) > len(keys) or meta[0] + 1 > len(counts):
                    meta[2] = meta[0] + 1
                    return i
                if i < light_from:
                    while c < last and heavy_start[c + 1] <= i:
                        c += 1
                    w = heavy_weight[c]
                else:
                    w = np.int64(1)
                q = intern(code, keys, values, meta, pair_code)
                counts[q] += w
                lengths[q] += 1
        i = j
    return len(sym)


@_jit
def bucket_of(count):
    return np.int64(np.log2(np.float64(count)) * 4.0)


@_jit
def histogram(used, counts, lengths, floor, positions, pairs, smallest):
    """Add the counted pairs reaching ``floor`` to the per-bucket positions, pairs and smallest
    count."""
    for q in range(used):
        c = counts[q]
        if c >= floor:
            b = bucket_of(c)
            positions[b] += lengths[q]
            pairs[b] += 1
            if c < smallest[b]:
                smallest[b] = c


@_jit
def adopt(used, src_code, src_counts, src_lengths, threshold, keys, values, meta, pair_code, counts,
          lengths):
    """Track the counted pairs reaching ``threshold`` (the tables have room for them)."""
    for r in range(used):
        if src_counts[r] >= threshold:
            q = intern(src_code[r], keys, values, meta, pair_code)
            counts[q] = src_counts[r]
            lengths[q] = src_lengths[r]


@_jit
def lay_regions(meta, lengths, pos_start, pos_cap, fill):
    """Each tracked pair's region, end to end, sized to its positions; returns their total."""
    total = 0
    for q in range(meta[0]):
        pos_start[q] = total
        pos_cap[q] = lengths[q]
        fill[q] = total
        total += lengths[q]
    return total


@_jit
def seed_positions(sym, tok_len, sep, keys, values, meta, lengths, fill, arena):
    """The positions of every tracked pair, in slot order, into its region."""
    shift = np.int64(1 << 21)
    i = 0
    while i < len(sym):
        s = sym[i]
        if s == sep:
            i += 1
            continue
        j = i + tok_len[s]
        t = sym[j]
        if t != sep:
            h = slot(keys, np.int64(s) * shift + t)
            if keys[h] != _EMPTY:
                q = values[h]
                if lengths[q]:
                    arena[fill[q]] = i
                    fill[q] += 1
        i = j


@_jit
def repack(order, arena, meta, lengths, pos_start, pos_cap, pair_code, sym, tok_len):
    """Slide the regions of the pairs in ``order`` (by region start) to the arena's front, keeping
    only the positions that still hold their pair; returns the arena's new end."""
    shift_mask = np.int64((1 << 21) - 1)
    at = 0
    held = 0
    for r in range(len(order)):
        q = order[r]
        left = pair_code[q] >> 21
        right = pair_code[q] & shift_mask
        start = pos_start[q]
        pos_start[q] = at
        kept = 0
        for t in range(start, start + lengths[q]):
            i = arena[t]
            if sym[i] == left and sym[i + tok_len[left]] == right:
                arena[at + kept] = i
                kept += 1
        lengths[q] = kept
        pos_cap[q] = kept
        at += kept
        held += kept
    meta[6] = at
    meta[7] = held
    return at


@_jit
def compact(live, pair_code, counts, lengths, pos_start, pos_cap):
    """Move the ``live`` pairs (ascending indices) to indices 0, 1, … in place."""
    for r in range(len(live)):
        q = live[r]
        pair_code[r] = pair_code[q]
        counts[r] = counts[q]
        lengths[r] = lengths[q]
        pos_start[r] = pos_start[q]
        pos_cap[r] = pos_cap[q]


@_jit
def rekey(used, pair_code, keys, values):
    """Hash the first ``used`` pairs into empty slots."""
    for r in range(used):
        h = slot(keys, pair_code[r])
        keys[h] = pair_code[r]
        values[h] = r


# The heap of candidate pairs: (count, code) in two arrays, the most frequent first and, among
# equal counts, the smaller code (left id, then right id), as ``bpe_merge.pop_best`` orders its
# keys (:func:`tokkit.train.bpe_merge.pop_best` is the readable twin). Counts only fall while a key waits, so a key whose count is stale is pushed back with the
# current one when popped (lazy update). ``meta[3]`` is its size.

@_jit
def _before(c1, p1, c2, p2):
    return c1 > c2 or (c1 == c2 and p1 < p2)

@_jit
def heap_push(hcount, hcode, meta, count, code):
    i = meta[3]
    meta[3] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(count, code, hcount[parent], hcode[parent]):
            break
        hcount[i] = hcount[parent]
        hcode[i] = hcode[parent]
        i = parent
    hcount[i] = count
    hcode[i] = code

@_jit
def _heap_drop_top(hcount, hcode, meta):
    size = meta[3] - 1
    meta[3] = size
    if size == 0:
        return
    count, code = hcount[size], hcode[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(hcount[child + 1], hcode[child + 1], hcount[child], hcode[child]):
            child += 1
        if not _before(hcount[child], hcode[child], count, code):
            break
        hcount[i] = hcount[child]
        hcode[i] = hcode[child]
        i = child
    hcount[i] = count
    hcode[i] = code

@_jit
def pop_best_compiled(hcount, hcode, meta, keys, values, counts, floor):
    """The best pair whose key holds its current count (its code), or -1 when none is left."""
    while meta[3] > 0:
        count, code = hcount[0], hcode[0]
        _heap_drop_top(hcount, hcode, meta)
        h = slot(keys, code)
        current = counts[values[h]] if keys[h] == code else 0
        if current < floor:  # merged, or can no longer be merged
            continue
        if current != count:
            heap_push(hcount, hcode, meta, current, code)
            continue
        return code
    return -1

@_jit
def heap_fill(hcount, hcode, meta, pair_code, counts, floor):
    """The heap rebuilt from the pairs that can still be merged (its stale keys dropped)."""
    meta[3] = 0
    for q in range(meta[0]):
        if counts[q] >= floor:
            heap_push(hcount, hcode, meta, counts[q], pair_code[q])


# A merge in two passes over its sites (the left slots of its pair, in slot order). Both passes
# see the same sites: a site is valid when its slots still hold (a, b) and it does not overlap the
# site merged before it (``aaa`` → ``Xa``, leftmost first, as ``str.replace`` and ``tokenizers``).

@_jit
def _note(q, stamp, mark, changed, m):
    """Note pair ``q`` as changed by this merge (once); returns the number of changed pairs."""
    if mark[q] != stamp:
        mark[q] = stamp
        changed[m] = q
        m += 1
    return m


@_jit
def plan_merge(a, b, x, sym, tok_len, heavy_start, heavy_weight, light_from, sep, keys, values,
               meta, pair_code, counts, pos_start, pos_cap, arena, lengths, pending, mark, formed,
               changed, seen, known, floor, hcount):
    """Pass one of merging (a, b) into x: nothing rewritten; ``pending`` gets each pair's count
    change, ``formed`` the positions it gains, ``changed`` the pairs touched (``meta[8]`` of them),
    ``meta[9]`` the arena room the kept pairs need. Returns 0, -1 (the pair is not tracked), or 1 / 2
    when the tables / the heap need room for ``meta[2]`` / ``meta[5]`` entries first."""
    shift = np.int64(1 << 21)
    pair = a * shift + b
    h = slot(keys, pair)
    if keys[h] != pair:
        return -1
    k = values[h]
    # each site forms (left, x) and (x, right): at most two new pairs per site, and per symbol
    need = meta[0] + 2 * min(lengths[k], seen.shape[1]) + 2
    if need > len(counts) or 2 * need > len(keys):
        meta[2] = need
        return 1
    heap_need = meta[3] + 2 * min(lengths[k], seen.shape[1]) + 2  # pushes: the pairs formed
    if heap_need > len(hcount):
        meta[5] = heap_need
        return 2
    found = arena[pos_start[k] : pos_start[k] + lengths[k]]
    for r in range(1, len(found)):
        if found[r] < found[r - 1]:  # regions are written in slot order; id reuse can break it
            found.sort()
            break
    len_a = tok_len[a]
    len_b = tok_len[b]
    stamp = meta[1] + 1
    meta[1] = stamp
    m = 0
    prev_end = -1
    for r in range(len(found)):
        i = found[r]
        if i <= prev_end or sym[i] != a:
            continue
        j = i + len_a
        if sym[j] != b:
            continue
        w = weight_at(i, heavy_start, heavy_weight, light_from)
        end = j + len_b - 1
        # the token before: the x this pass has just formed, or the one its last slot names
        left = x if prev_end == i - 1 else np.int64(sym[i - 1])
        if left != sep:
            if seen[0, left] == stamp:
                q = known[0, left]
            else:
                h = slot(keys, left * shift + a)
                q = values[h] if keys[h] != _EMPTY else -1
                if q >= 0 or left != x:  # (x, a) may still form in this merge
                    seen[0, left] = stamp
                    known[0, left] = q
            if q >= 0:
                m = _note(q, stamp, mark, changed, m)
                pending[q] -= w
            if seen[1, left] == stamp:
                q = known[1, left]
            else:
                q = intern(left * shift + x, keys, values, meta, pair_code)
                seen[1, left] = stamp
                known[1, left] = q
            m = _note(q, stamp, mark, changed, m)
            pending[q] += w
            formed[q] += 1
        right = np.int64(sym[end + 1])
        if right != sep:
            if seen[2, right] == stamp:
                q = known[2, right]
            else:
                h = slot(keys, b * shift + right)
                q = values[h] if keys[h] != _EMPTY else -1
                if q >= 0 or right != x:  # (b, x) may still form in this merge
                    seen[2, right] = stamp
                    known[2, right] = q
            if q >= 0:
                m = _note(q, stamp, mark, changed, m)
                pending[q] -= w
            if seen[3, right] == stamp:
                q = known[3, right]
            else:
                q = intern(x * shift + right, keys, values, meta, pair_code)
                seen[3, right] = stamp
                known[3, right] = q
            m = _note(q, stamp, mark, changed, m)
            pending[q] += w
            formed[q] += 1
        prev_end = end
    meta[8] = m
    meta[9] = room_needed(k, meta, changed, formed, counts, pending, lengths, pos_cap, floor)
    return 0


@_jit
def room_needed(k, meta, changed, formed, counts, pending, lengths, pos_cap, floor):
    """Arena slots the planned merge of pair ``k`` needs for the regions that must move."""
    room = 0
    for t in range(meta[8]):
        q = changed[t]
        if (q != k and formed[q] and counts[q] + pending[q] >= floor
                and lengths[q] + formed[q] > pos_cap[q]):
            room += lengths[q] + formed[q]
    return room


@_jit
def apply_merge(a, b, x, sym, tok_len, sep, interior, keys, values, meta, pair_code, counts,
                pos_start, pos_cap, arena, lengths, pending, formed, changed, floor, hcount, hcode):
    """Pass two: rewrite the sites, write the positions of the pairs that stay tracked into regions
    sized by pass one (the arena has ``meta[9]`` room), settle the counts and push the pairs that
    rose. ``meta[4]`` (tracked pairs reaching ``floor``) is kept."""
    shift = np.int64(1 << 21)
    k = values[slot(keys, a * shift + b)]
    m = meta[8]
    for t in range(m):  # regions for the positions to keep; pass one counted them
        q = changed[t]
        if q == k or formed[q] == 0 or counts[q] + pending[q] < floor:
            formed[q] = -1  # write nothing for q
            continue
        size = lengths[q]
        if size + formed[q] > pos_cap[q]:
            at = meta[6]
            arena[at : at + size] = arena[pos_start[q] : pos_start[q] + size]
            pos_start[q] = at
            pos_cap[q] = size + formed[q]
            meta[6] = at + size + formed[q]
        formed[q] = pos_start[q] + size  # from here: where q's next position goes
    found = arena[pos_start[k] : pos_start[k] + lengths[k]]  # sorted by pass one
    len_a = tok_len[a]
    len_b = tok_len[b]
    for r in range(len(found)):
        i = found[r]
        if sym[i] != a:  # a site merged before covers it, or it is stale
            continue
        j = i + len_a
        if sym[j] != b:
            continue
        end = j + len_b - 1
        left = np.int64(sym[i - 1])
        if left != sep:
            q = values[slot(keys, left * shift + x)]
            if formed[q] >= 0:
                arena[formed[q]] = i - tok_len[left]
                formed[q] += 1
        right = np.int64(sym[end + 1])
        if right != sep:
            q = values[slot(keys, x * shift + right)]
            if formed[q] >= 0:
                arena[formed[q]] = i
                formed[q] += 1
        sym[i] = x  # the two tokens become one: its first and last slots name it
        if j - 1 != i:
            sym[j - 1] = interior
        if j != end:
            sym[j] = interior
        sym[end] = x
    if counts[k] >= floor:
        meta[4] -= 1
    meta[7] -= lengths[k]
    lengths[k] = 0
    pos_cap[k] = 0
    counts[k] = 0
    for t in range(m):
        q = changed[t]
        change = pending[q]
        pending[q] = 0
        if formed[q] >= 0:
            written = formed[q] - (pos_start[q] + lengths[q])
            lengths[q] += written
            meta[7] += written
        formed[q] = 0
        if q == k:
            continue
        was = counts[q]
        total = was + change
        if total < floor:  # below the threshold: no longer tracked
            total = 0
            if lengths[q]:
                meta[7] -= lengths[q]
                lengths[q] = 0
                pos_cap[q] = 0
        counts[q] = total
        if was >= floor and total < floor:
            meta[4] -= 1
        elif was < floor and total >= floor:
            meta[4] += 1
        if total >= floor and change > 0:
            heap_push(hcount, hcode, meta, total, pair_code[q])


def _release_freed_memory() -> None:
    """Hand freed memory back to the system (glibc keeps small freed blocks)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


MIN_PAIRS = 1024
FIRST_PAIRS = 1 << 16
REBUILD_SLACK = 1 << 16
"""The smallest pair table, a count table's first room, and how many dead pair indices (or stale
heap keys) beyond a multiple of the live ones trigger a rebuild (tests make them tiny)."""
POSITION_BYTES = 4
PAIR_BYTES = 200
"""What a tracked position and a tracked pair hold (arena slot; table entries and heap keys)."""
FILL = 0.6
"""The share of the tracked budget a count fills: pairs formed by the merges after it take the rest
(a recount follows when the tracked pairs outgrow the budget)."""
COUNT_BYTES = 68
CANDIDATE_BYTES = 20
"""What a pair kept from a partition's count holds until the threshold is known."""
"""What a pair holds in a recount's table (hash slots at a quarter to half load, code, count,
positions)."""


@dataclass(frozen=True)
class PairBudget:
    """Bytes the merge phase may hold beyond the chunks: ``tracked`` for the tracked pairs (their
    tables and positions), ``counting`` for the table of a recount. None: no limit."""

    tracked: int | None = None
    counting: int | None = None

    @classmethod
    def spare(cls, limit: int | None) -> PairBudget:
        """Split what ``limit`` bytes leave beside this process's memory now (the chunks laid out):
        65% for tracked pairs, 20% for recounts, the rest for the merges' moving parts."""
        if limit is None:
            return cls()
        import psutil

        spare = max(limit - psutil.Process().memory_info().rss, 16 << 20)
        return cls(tracked=int(spare * 0.65), counting=int(spare * 0.20))

    def count_entries(self) -> int:
        return 1 << 62 if self.counting is None else max(MIN_PAIRS, self.counting // COUNT_BYTES)


class _Counts:
    """A lean pair count table for a (re)count: code, weighted count and positions per pair."""

    PER_PAIR: tuple[str, ...] = ("pair_code", "counts", "lengths")

    def __init__(self, capacity: int) -> None:
        # pair indices in use, then (tracked tables) merges applied, table room needed, heap size,
        # pairs reaching the threshold, heap room needed, arena end, positions held, pairs changed,
        # arena room needed
        self.meta = np.zeros(10, dtype=np.int64)
        self.capacity = capacity
        self.keys = np.full(_key_slots(capacity), _EMPTY, dtype=np.int64)
        self.values = np.zeros(len(self.keys), dtype=np.int32)
        self.pair_code = np.zeros(capacity, dtype=np.int64)
        self.counts = np.zeros(capacity, dtype=np.int64)
        self.lengths = np.zeros(capacity, dtype=np.int32)

    def grow(self, capacity: int) -> None:
        """Room for ``capacity`` pairs, resized in place (never the old and the new table); the
        indices past the pairs in use start empty."""
        self.capacity = capacity
        for name in self.PER_PAIR:
            array = getattr(self, name)
            array[int(self.meta[0]):] = 0
            array.resize(capacity, refcheck=False)
        _rekey(self, int(self.meta[0]), capacity)


def _key_slots(capacity: int) -> int:
    return 1 << (2 * capacity - 1).bit_length()  # a load factor of at most 1/2


def _rekey(table: Any, used: int, capacity: int) -> None:
    """The hash slots of ``table`` rebuilt, in place, for its first ``used`` pairs."""
    table.keys.resize(_key_slots(capacity), refcheck=False)
    table.values.resize(len(table.keys), refcheck=False)
    table.keys[:] = _EMPTY
    rekey(used, table.pair_code, table.keys, table.values)


class _Tables(_Counts):
    """The tracked pairs' tables, their positions' arena and the heap, rebuilt on the kernels'
    request.

    Most pairs a merge forms never reach the threshold (on 33 MB @ 32k, 2.4 M pairs were indexed,
    0.45 M were live at the end): a rebuild keeps only the live ones (count > 0), so the tables
    follow the live pairs, not every pair ever seen. Rebuilds and growth happen in place
    (``ndarray.resize``), so the old and the new tables are never held at once.
    """

    PER_PAIR = (*_Counts.PER_PAIR, "pending", "mark", "formed", "pos_start", "pos_cap")

    def __init__(self, pairs: int, symbols: int) -> None:
        capacity = max(MIN_PAIRS, pairs + pairs // 4)
        super().__init__(capacity)
        self.pending = np.zeros(capacity, dtype=np.int64)
        self.mark = np.zeros(capacity, dtype=np.int32)
        self.formed = np.zeros(capacity, dtype=np.int64)
        self.pos_start = np.zeros(capacity, dtype=np.int64)
        self.pos_cap = np.zeros(capacity, dtype=np.int64)
        # a merge touches at most four pairs per distinct neighbour symbol
        self.changed = np.zeros(4 * symbols + 4, dtype=np.int64)
        self.hcount = np.zeros(0, dtype=np.int64)
        self.hcode = np.zeros(0, dtype=np.int64)
        self.arena = np.zeros(0, dtype=np.int32)  # allocated here: it is resized in place

    def nbytes(self) -> int:
        """What the tables, the heap and the arena hold."""
        return sum(array.nbytes for array in vars(self).values() if isinstance(array, np.ndarray))

    def grow_heap(self, room: int) -> None:
        """Room for ``room`` heap keys (at least doubling), the keys kept."""
        size = max(room, 2 * len(self.hcount), MIN_PAIRS)
        self.hcount.resize(size, refcheck=False)
        self.hcode.resize(size, refcheck=False)

    def rebuild(self) -> None:
        """Make room for ``meta[2]`` pair indices (the kernel's request) beside the live pairs,
        the dead ones dropped, in place.

        Between merges (or count passes) only: ``pending`` is all zero and pair indices are not
        held anywhere else (the Python side keys pairs by code).
        """
        used = int(self.meta[0])
        live = np.flatnonzero(self.counts[:used] > 0).astype(np.int64)
        room = len(live) + int(self.meta[2]) - used
        compact(live, self.pair_code, self.counts, self.lengths, self.pos_start, self.pos_cap)
        self.meta[0] = len(live)
        del live
        self.grow(max(MIN_PAIRS, room + room // 4))
        _release_freed_memory()

    def repack(self, sym: np.ndarray, tok_len: np.ndarray, room: int = 0) -> None:
        """Drop stale positions and freed regions in place, then size the arena to what is held
        plus ``room`` (a resize in place: no second arena)."""
        used = int(self.meta[0])
        lengths = self.lengths[:used]
        live = np.flatnonzero(lengths > 0)
        self.pos_cap[:used][lengths == 0] = 0
        order = live[np.argsort(self.pos_start[live], kind="stable")]
        end = int(repack(order, self.arena, self.meta, self.lengths, self.pos_start, self.pos_cap,
                         self.pair_code, sym, tok_len))
        del live, order
        self.arena.resize(end + room + (end + room) // 8 + 1024, refcheck=False)
        _release_freed_memory()

    def make_room(self, k: int, floor: int, sym: np.ndarray, tok_len: np.ndarray) -> None:
        """Room at the arena's end for the planned merge of pair index ``k`` (``meta[9]``); a
        repack sizes every region tightly, so the room is counted again after it."""
        room = int(self.meta[9])
        if len(self.arena) - int(self.meta[6]) >= room:
            return
        if int(self.meta[6]) + room <= 1.5 * (int(self.meta[7]) + room):  # few holes: grow
            self.arena.resize(int(self.meta[6]) + room + (int(self.meta[6]) + room) // 8 + 1024,
                              refcheck=False)
            return
        self.repack(sym, tok_len, room)
        room = int(room_needed(k, self.meta, self.changed, self.formed, self.counts, self.pending,
                               self.lengths, self.pos_cap, floor))
        if len(self.arena) - int(self.meta[6]) < room:
            self.arena.resize(int(self.meta[6]) + room + room // 8 + 1024, refcheck=False)


def _count(spans: Spans, tok_len: np.ndarray, parts: int, part: int,
           limit: int) -> tuple[_Counts | None, int]:
    """The pairs of one hash partition counted from the slots, or None if more than ``limit``,
    and the slot the count reached (``len(sym)`` when it fitted)."""
    table = _Counts(min(FIRST_PAIRS, limit))
    start = 0
    while True:
        start = count_from(start, spans.sym, tok_len, spans.heavy_start, spans.heavy_weight,
                           spans.light_from, spans.sep, parts, part, table.keys, table.values,
                           table.meta, table.pair_code, table.counts, table.lengths)
        if start >= len(spans.sym):
            return table, start
        if table.capacity >= limit:
            return None, start
        table.grow(min(limit, 2 * table.capacity))


def more_parts(parts: int, reached: int, slots: int) -> int:
    """Partitions for the next try after one overflowed ``reached`` slots into ``slots``: distinct
    pairs grow about in proportion to the slots walked (slower where pairs repeat), so ``slots /
    reached`` times as many, a power of two and at least double. A recount then usually pays one
    failed pass, not one per doubling (a try that still overflows extrapolates again)."""
    factor = 2
    while factor * reached < slots:
        factor *= 2
    return parts * factor


def choose_threshold(positions: np.ndarray, pairs: np.ndarray, smallest: np.ndarray, floor: int,
                     budget: PairBudget) -> tuple[int, int]:
    """The lowest count threshold whose pairs and positions fill at most :data:`FILL` of
    ``budget.tracked`` (always the top bucket), and how many pairs reach it: ``floor`` when all
    fit."""
    kept = 0
    if budget.tracked is None:
        return floor, int(pairs.sum())
    held = 0.0
    threshold = None
    for b in range(len(pairs) - 1, -1, -1):
        if not pairs[b]:
            continue
        cost = positions[b] * POSITION_BYTES * 1.125 + pairs[b] * PAIR_BYTES
        if threshold is not None and held + cost > FILL * budget.tracked:
            return threshold, kept
        held += cost
        threshold = int(smallest[b])
        kept += int(pairs[b])
    return floor, kept


@dataclass
class Recounts:
    """How the merge phase counted: ``recounts`` beyond the first, the hash ``parts`` of the last,
    the ``threshold`` tracked last (``min_frequency`` when everything fit), and how often the
    partitions were counted a second time (their candidates missed the threshold)."""

    recounts: int = 0
    parts: int = 1
    threshold: int = 0
    second_counts: int = 0


def track_pairs(spans: Spans, tok_len: np.ndarray, floor: int, budget: PairBudget,
                stats: Recounts) -> tuple[_Tables, int]:
    """Count every pair from the slots and track those the budget holds: tables, positions, heap.
    Returns the tables and the threshold ``T`` (every untracked pair counts less than ``T``)."""
    limit = budget.count_entries()
    while True:  # partitions enough for each one's count table to fit
        positions = np.zeros(BUCKETS, dtype=np.int64)
        pairs = np.zeros(BUCKETS, dtype=np.int64)
        smallest = np.full(BUCKETS, np.iinfo(np.int64).max, dtype=np.int64)
        whole = None
        # with partitions, each keeps the pairs it would track with its share of the budget (and
        # half its threshold): if the threshold of all is no lower, no partition is counted twice
        candidates: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = []
        kept_from = floor
        fits = True
        for part in range(stats.parts):
            table, reached = _count(spans, tok_len, stats.parts, part, limit)
            if table is None:
                fits = False
                break
            used = int(table.meta[0])
            if stats.parts == 1:
                histogram(used, table.counts, table.lengths, floor, positions, pairs, smallest)
                whole = table
                continue
            local = (np.zeros(BUCKETS, dtype=np.int64), np.zeros(BUCKETS, dtype=np.int64),
                     np.full(BUCKETS, np.iinfo(np.int64).max, dtype=np.int64))
            histogram(used, table.counts, table.lengths, floor, *local)
            positions += local[0]
            pairs += local[1]
            np.minimum(smallest, local[2], out=smallest)
            if candidates is not None:
                share = PairBudget(tracked=None if budget.tracked is None
                                   else budget.tracked // stats.parts)
                keep = max(floor, choose_threshold(*local, floor, share)[0] // 2)
                kept_from = max(kept_from, keep)
                mask = table.counts[:used] >= keep
                candidates.append((table.pair_code[:used][mask], table.counts[:used][mask],
                                   table.lengths[:used][mask]))
                if budget.tracked is not None and sum(
                        len(c[0]) for c in candidates) * CANDIDATE_BYTES > budget.tracked:
                    candidates = None  # too many: count the partitions again instead
            del table
        if fits:
            break
        stats.parts = more_parts(stats.parts, reached, len(spans.sym))
    threshold, kept = choose_threshold(positions, pairs, smallest, floor, budget)
    tables = _Tables(kept, len(tok_len))
    t = tables
    if whole is not None:
        sources = [(whole.pair_code, whole.counts, whole.lengths, int(whole.meta[0]))]
    elif candidates is not None and threshold >= kept_from:
        sources = [(code, count, length, len(code)) for code, count, length in candidates]
    else:
        sources = []
        stats.second_counts += 1
    for code, count, length, used in sources:
        adopt(used, code, count, length, threshold, t.keys, t.values, t.meta, t.pair_code,
              t.counts, t.lengths)
    if not sources:
        for part in range(stats.parts):
            table, _ = _count(spans, tok_len, stats.parts, part, limit)
            assert table is not None  # it fitted above
            adopt(int(table.meta[0]), table.pair_code, table.counts, table.lengths, threshold,
                  t.keys, t.values, t.meta, t.pair_code, t.counts, t.lengths)
            del table
    del sources, candidates
    whole = None
    total = int(lay_regions(t.meta, t.lengths, t.pos_start, t.pos_cap, t.formed))
    t.arena = np.empty(total + total // 8 + 1024, dtype=np.int32)
    seed_positions(spans.sym, tok_len, spans.sep, t.keys, t.values, t.meta, t.lengths, t.formed,
                   t.arena)
    t.formed[:] = 0
    t.meta[6] = total
    t.meta[7] = total
    used = int(t.meta[0])
    t.meta[4] = int(np.count_nonzero(t.counts[:used] >= threshold))
    t.grow_heap(2 * int(t.meta[4]) + MIN_PAIRS)
    heap_fill(t.hcount, t.hcode, t.meta, t.pair_code, t.counts, threshold)
    stats.threshold = threshold
    _release_freed_memory()
    return tables, threshold


def _held(tables: _Tables) -> int:
    """Bytes the tracked pairs hold: tables, heap and arena."""
    return tables.nbytes()


def learn_merges_compiled(words: list[str], weights: list[int], tokens: list[bytes],
                          ids_by_bytes: dict[bytes, int], vocab_size: int, floor: int,
                          task: ProgressTask, budget: PairBudget | None = None) -> MergeResult:
    """:func:`tokkit.train.bpe_merge.learn_merges` with ``kernel="numba"`` (which calls this, with
    ``floor = max(1, min_frequency)``): the same merges and result (``words`` come back merged)."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    symbols = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    tok_len = token_lengths(tokens, vocab_size)
    spans = Spans.from_symbols(symbols, lengths, np.asarray(weights, dtype=np.int64), tok_len)
    del symbols
    result = learn_merges_spans(spans, tokens, ids_by_bytes, vocab_size, floor, task,
                                budget=budget, tok_len=tok_len)
    out = np.zeros(len(spans.sym), dtype=np.int64)
    per_chunk = np.zeros(len(words) + 1, dtype=np.int64)
    m = read_tokens(spans.sym, tok_len, spans.sep, out, per_chunk)
    text = out[:m].astype(np.uint32).tobytes().decode("utf-32-le")
    at = 0
    for k, n in enumerate(per_chunk[: len(words)].tolist()):
        words[k] = text[at : at + n]
        at += n
    return result


def learn_merges_spans(spans: Spans, tokens: list[bytes], ids_by_bytes: dict[bytes, int],
                       vocab_size: int, floor: int, task: ProgressTask, *,
                       budget: PairBudget | None = None, tok_len: np.ndarray | None = None,
                       stats: Recounts | None = None) -> MergeResult:
    """The compiled loop on chunks laid out as :class:`~tokkit.train.bpe_spans.Spans` (merged in
    place), holding what ``budget`` allows (default: no limit). What the trainer calls: no Python
    object per chunk. ``stats`` (if given) learns how often the pairs were recounted."""
    budget = budget or PairBudget()
    stats = stats if stats is not None else Recounts()
    sym, sep, interior = spans.sym, spans.sep, spans.interior
    if tok_len is None:
        tok_len = token_lengths(tokens, vocab_size)
    tables, threshold = track_pairs(spans, tok_len, floor, budget, stats)
    held_after_count = _held(tables)
    merges: list[tuple[int, int, int]] = []
    # per merge, the pair index of (s, a), (s, x), (b, s), (x, s) by neighbour symbol s, valid while
    # seen[.., s] is the merge's stamp: the hot loop then hashes once per distinct neighbour
    seen = np.zeros((4, len(tok_len)), dtype=np.int64)
    known = np.zeros((4, len(tok_len)), dtype=np.int64)
    recount = False
    while len(tokens) < vocab_size:
        t = tables
        code = -1 if recount else int(pop_best_compiled(t.hcount, t.hcode, t.meta, t.keys,
                                                        t.values, t.counts, threshold))
        if code < 0:
            if threshold <= floor and not recount:
                break
            del t, tables  # the old tables go before the recount allocates
            tables, threshold = track_pairs(spans, tok_len, floor, budget, stats)
            seen[:] = 0  # the new tables' merge stamps start again
            stats.recounts += 1
            held_after_count = _held(tables)
            recount = False
            continue
        left, right = code >> _ID_BITS, code & _ID_MASK
        new_id, fresh = add_token(tokens, ids_by_bytes, tokens[left] + tokens[right])
        tok_len[new_id] = len(tokens[new_id])
        merges.append((left, right, new_id))
        while True:
            t = tables
            status = plan_merge(left, right, new_id, sym, tok_len, spans.heavy_start,
                                spans.heavy_weight, spans.light_from, sep, t.keys, t.values,
                                t.meta, t.pair_code, t.counts, t.pos_start, t.pos_cap, t.arena,
                                t.lengths, t.pending, t.mark, t.formed, t.changed, seen, known,
                                threshold, t.hcount)
            if status <= 0:
                break
            if status == 1:
                tables.rebuild()
            else:
                tables.grow_heap(int(t.meta[5]))
        if status == 0:
            t.make_room(int(t.values[slot(t.keys, code)]), threshold, sym, tok_len)
            apply_merge(left, right, new_id, sym, tok_len, sep, interior, t.keys, t.values, t.meta,
                        t.pair_code, t.counts, t.pos_start, t.pos_cap, t.arena, t.lengths,
                        t.pending, t.formed, t.changed, threshold, t.hcount, t.hcode)
        live = int(t.meta[4])
        if int(t.meta[0]) > 2 * live + REBUILD_SLACK:  # mostly pairs gone below the threshold
            t.meta[2] = t.meta[0]
            tables.rebuild()
        if len(t.arena) > 4 * int(t.meta[7]) + (REBUILD_SLACK << 4):  # mostly freed or stale
            t.repack(sym, tok_len)
        if int(t.meta[3]) > 2 * live + REBUILD_SLACK:  # mostly stale keys
            heap_fill(t.hcount, t.hcode, t.meta, t.pair_code, t.counts, threshold)
        if threshold > floor:
            # a reused id can raise pairs nobody tracks; held positions can outgrow the budget
            # (or a quarter more than the last count held: a top bucket alone may pass it)
            recount = not fresh or _held(t) > max(budget.tracked or 0, 1.25 * held_after_count)
        if fresh:  # the bar counts new tokens (of vocab_size), not merges
            task.advance(1)
    return MergeResult(merges=merges, tokens=tokens)
