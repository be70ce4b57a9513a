"""The BPE merge loop with its per-site work compiled by numba: the fast twin of
:mod:`tokkit.train.bpe_merge`, which stays the readable specification (same merges, tested).

Why: profiling the pure-Python loop on real text shows ~80% of the merge phase in the per-site
work (rewrite a chunk, find the neighbours, record the pairs formed); that part is compiled here,
and so is the heap of candidate pairs (two ``int64`` arrays, ordered as
:func:`tokkit.train.bpe_merge.pop_best` orders its keys), while the token table and the id reuse
stay in Python (two calls per merge).

Representation: **spans**, one slot per byte of every distinct chunk, chunks end to end with a
separator slot before, between and after them, in one array ``sym`` of ``uint16`` (``uint32`` when
the vocabulary passes 65,533 ids): 2 bytes a byte of text, against 12 for linked ``int32``
``symbol``/``next``/``prev`` arrays. A token covers as many slots as it has bytes; its first and
its last slot hold its id, the slots between hold ``INTERIOR``. So the next token starts at
``i + len(token)`` and the previous one ends at ``i - 1``, whose slot names it: neighbours cost
O(1) without links, and a merge writes two or four slots. A merged-away start becomes
``INTERIOR``, so a stale position never reads as a live token of the same id (a slot that once
started a token now either still does, or ends a longer token, or is interior).

Chunks of count 1 (92-96% of the bytes on en+zh and on ``large/``) lie after the others, so a site's
weight is 1 past ``light_from`` and otherwise a binary search in the starts of the heavier chunks:
no per-chunk array over every chunk.

Each pair (code ``left << 21 | right``) has an index, a weighted count and a region of one ``int32``
arena holding the left slots where it was formed (a full region moves to the arena's end, doubling;
the arena is repacked when freed regions dominate), so there is no Python or numba object per pair;
stale entries are checked in O(1) when the pair is merged, then dropped with the region. A merge
costs its occurrences whatever the chunk's length, and its temporaries are bounded: the sites are
handled in blocks of :data:`SITE_BLOCK`. Most pairs a merge forms never reach ``min_frequency``; the
pair tables and the heap are rebuilt from the live pairs when dead ones dominate, so memory follows
the live pairs. numba comes from PyPI wheels (no compiler needed); without it tokkit uses the
Python loop.

Measured (``benchmarks/bench_bpe_scale.py``): see its docstring for the figures against rustbpe and
``tokenizers``. It is the default when numba is importable and the corpus is large
(``merge_kernel="auto"``); ``merge_kernel="python"`` picks the readable loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokkit.train.bpe_merge import (
    _ID_BITS,
    _ID_MASK,
    MergeResult,
    add_token,
)
from tokkit.types import ProgressTask

try:
    import numba

    _jit = numba.njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - numba is optional
    numba = None  # type: ignore[assignment]

    def _jit(fn: Any) -> Any:  # the kernels stay plain functions, never called
        return fn


def available() -> bool:
    """Whether the compiled loop can run (numba importable)."""
    return numba is not None


_EMPTY = -1
_GOLDEN = 0x9E3779B97F4A7C15
SITE_BLOCK = 1 << 18
"""Merge sites handled per block: bounds a merge's temporaries (~20 bytes a site of a block)."""


def slot_type(ids: int) -> Any:
    """The ``sym`` dtype for token ids below ``ids``: two values stay free for the sentinels."""
    return np.uint16 if ids <= 0xFFFF - 2 else np.uint32


def sentinels(dtype: Any) -> tuple[int, int]:
    """``(SEP, INTERIOR)`` for a ``sym`` dtype: its two largest values."""
    top = int(np.iinfo(dtype).max)
    return top, top - 1


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


# Laying chunks out as spans.

@_jit
def layout_bytes(utf8, lengths, weights, ranks, sym, heavy_start, heavy_weight, sep):
    """Chunks given as UTF-8 bytes (``ranks[byte]`` is the byte's symbol id) into ``sym``: the chunks
    of count > 1 first (their start slots and counts in ``heavy_*``), then the others, a ``sep``
    slot around each. Returns ``light_from``, the first slot of the count-1 chunks."""
    sym[0] = sep
    at = 1
    c = 0
    light_from = 1
    for light in range(2):
        if light:
            light_from = at
        src = 0
        for k in range(len(lengths)):
            n = lengths[k]
            if (weights[k] <= 1) == (light == 1):
                if not light:
                    heavy_start[c] = at
                    heavy_weight[c] = weights[k]
                    c += 1
                for t in range(n):
                    sym[at + t] = ranks[utf8[src + t]]
                at += n
                sym[at] = sep
                at += 1
            src += n
    return light_from


@_jit
def layout_symbols(symbols, lengths, weights, tok_len, sym, heavy_start, heavy_weight, sep, interior):
    """Chunks given as token ids (already merged symbols span their bytes) into ``sym``, in their
    order, every chunk listed in ``heavy_*`` (so any count works)."""
    sym[0] = sep
    at = 1
    src = 0
    for k in range(len(lengths)):
        heavy_start[k] = at
        heavy_weight[k] = weights[k]
        for t in range(lengths[k]):
            s = symbols[src + t]
            n = tok_len[s]
            sym[at] = s
            for u in range(1, n - 1):
                sym[at + u] = interior
            sym[at + n - 1] = s
            at += n
        src += lengths[k]
        sym[at] = sep
        at += 1


@_jit
def read_tokens(sym, tok_len, sep, out, per_chunk):
    """The tokens of every chunk in slot order into ``out`` and how many each chunk holds into
    ``per_chunk``; returns how many tokens there are."""
    m = 0
    c = -1
    i = 0
    while i < len(sym):
        s = sym[i]
        if s == sep:
            c += 1
            i += 1
            continue
        out[m] = s
        m += 1
        per_chunk[c] += 1
        i += tok_len[s]
    return m


@_jit
def weight_at(i, heavy_start, heavy_weight, light_from):
    """The count of the chunk holding slot ``i``."""
    if i >= light_from:
        return np.int64(1)
    return heavy_weight[np.searchsorted(heavy_start, i, side="right") - 1]

@_jit
def count_from(start, sym, tok_len, heavy_start, heavy_weight, light_from, sep, keys, values, meta,
               pair_code, counts, lengths):
    """Pass one of the first count, from slot ``start``: each pair's weighted count and number of
    positions. Returns the slot where it stopped for lack of room (``len(sym)``: done)."""
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
            if 2 * (meta[0] + 1) > len(keys) or meta[0] + 1 > len(counts):
                meta[2] = meta[0] + 1
                return i
            if i < light_from:
                while c < last and heavy_start[c + 1] <= i:
                    c += 1
                w = heavy_weight[c]
            else:
                w = np.int64(1)
            q = intern(np.int64(s) * shift + t, keys, values, meta, pair_code)
            counts[q] += w
            lengths[q] += 1
        i = j
    return len(sym)


@_jit
def seed_positions(sym, tok_len, sep, keys, values, meta, counts, lengths, fill, pos_start, pos_cap,
                   floor):
    """Pass two: the positions of each pair reaching ``floor`` (the others are forgotten), each
    pair's region laid out in a new arena, which is returned."""
    shift = np.int64(1 << 21)
    total = 0
    for q in range(meta[0]):
        if counts[q] < floor:
            counts[q] = 0
            lengths[q] = 0
        pos_start[q] = total
        pos_cap[q] = lengths[q]
        fill[q] = total
        total += lengths[q]
    arena = np.empty(total + total // 4 + 1024, dtype=np.int32)
    i = 0
    while i < len(sym):
        s = sym[i]
        if s == sep:
            i += 1
            continue
        j = i + tok_len[s]
        t = sym[j]
        if t != sep:
            q = values[slot(keys, np.int64(s) * shift + t)]
            if lengths[q]:
                arena[fill[q]] = i
                fill[q] += 1
        i = j
    meta[6] = total
    meta[7] = total
    return arena


@_jit
def compact_arena(arena, meta, lengths, pos_start, pos_cap, room):
    """A new arena holding every pair's positions tightly, with ``room`` more to spare."""
    fresh = np.empty(meta[7] + meta[7] // 4 + room + 1024, dtype=np.int32)
    at = 0
    for q in range(meta[0]):
        size = lengths[q]
        if size:
            fresh[at : at + size] = arena[pos_start[q] : pos_start[q] + size]
        pos_start[q] = at
        pos_cap[q] = size
        at += size
    meta[6] = at
    return fresh


@_jit
def compact(live, pair_code, counts, lengths, pos_start, pos_cap, new_keys, new_values,
            new_pair_code, new_counts, new_lengths, new_pos_start, new_pos_cap):
    """Re-index the ``live`` pairs 0, 1, … into the new tables (the others are forgotten)."""
    for r in range(len(live)):
        q = live[r]
        code = pair_code[q]
        h = slot(new_keys, code)
        new_keys[h] = code
        new_values[h] = r
        new_pair_code[r] = code
        new_counts[r] = counts[q]
        new_lengths[r] = lengths[q]
        new_pos_start[r] = pos_start[q]
        new_pos_cap[r] = pos_cap[q]

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

@_jit
def _record(q, stamp, mark, changed, m):
    """Note pair ``q`` as changed by this merge (once); returns the new number of changed pairs."""
    if mark[q] != stamp:
        mark[q] = stamp
        changed[m] = q
        m += 1
    return m


@_jit
def _append_positions(f, formed_pair, formed_at, order, arena, meta, lengths, pos_start, pos_cap,
                      fill, changed, m):
    """Append the ``f`` positions of a block to their pairs' regions, grouped by pair (a counting
    sort, O(sites)); a full region moves to the arena's end, doubling. Returns the arena."""
    for t in range(m):
        fill[changed[t]] = 0
    for t in range(f):
        fill[formed_pair[t]] += 1
    offset = 0
    for t in range(m):
        q = changed[t]
        size = fill[q]
        fill[q] = offset
        offset += size
    for t in range(f):
        q = formed_pair[t]
        order[fill[q]] = t
        fill[q] += 1
    start = 0
    while start < f:
        q = formed_pair[order[start]]
        end = start
        while end < f and formed_pair[order[end]] == q:
            end += 1
        size = lengths[q]
        if size + end - start > pos_cap[q]:
            room = max(2 * pos_cap[q], size + end - start, 4)
            if meta[6] + room > len(arena):
                arena = compact_arena(arena, meta, lengths, pos_start, pos_cap, room)
            at = meta[6]
            arena[at : at + size] = arena[pos_start[q] : pos_start[q] + size]
            pos_start[q] = at
            pos_cap[q] = room
            meta[6] = at + room
        base = pos_start[q] + size
        for t in range(start, end):
            arena[base + t - start] = formed_at[order[t]]
        lengths[q] = size + end - start
        meta[7] += end - start
        start = end
    return arena


@_jit
def merge(a, b, x, sym, tok_len, heavy_start, heavy_weight, light_from, sep, interior, keys, values,
          meta, pair_code, counts, pos_start, pos_cap, arena, lengths, pending, mark, fill, seen,
          known, floor, hcount, hcode):
    """Merge (a, b) into x (``tok_len[x]`` already set): counts updated, pairs that rose pushed onto
    the heap, ``meta[4]`` (the pairs reaching ``floor``) kept. Returns (0, the arena, which may have
    been rebuilt), or 1 / 2 when the pair tables / the heap need room for ``meta[2]`` / ``meta[5]``
    entries first (nothing changed then)."""
    shift = np.int64(1 << 21)
    pair = a * shift + b
    h = slot(keys, pair)
    if keys[h] != pair:  # never recorded: nothing to merge
        return 0, arena
    k = values[h]
    # each site forms (left, x) and (x, right): at most two new pairs per site, and per symbol
    need = meta[0] + 2 * min(lengths[k], seen.shape[1]) + 2
    if need > len(counts) or 2 * need > len(keys):
        meta[2] = need
        return 1, arena
    heap_need = meta[3] + 2 * min(lengths[k], seen.shape[1]) + 2  # pushes: the pairs formed
    if heap_need > len(hcount):
        meta[5] = heap_need
        return 2, arena
    if counts[k] >= floor:
        meta[4] -= 1
    # k's region is given up; a rebuilt arena is a new array, so this view stays valid
    found = arena[pos_start[k] : pos_start[k] + lengths[k]]
    meta[7] -= lengths[k]
    lengths[k] = 0
    pos_cap[k] = 0
    counts[k] = 0
    if a == b:  # leftmost first, without overlap
        found.sort()
    len_a = tok_len[a]
    len_b = tok_len[b]
    stamp = meta[1] + 1
    meta[1] = stamp
    changed = np.empty(min(4 * len(found), len(counts)) + 1, dtype=np.int64)
    m = 0
    block = min(len(found), SITE_BLOCK)
    formed_pair = np.empty(2 * block + 1, dtype=np.int64)
    formed_at = np.empty(2 * block + 1, dtype=np.int32)
    order = np.empty(2 * block + 1, dtype=np.int64)
    for lo in range(0, len(found), SITE_BLOCK):
        f = 0
        for r in range(lo, min(lo + SITE_BLOCK, len(found))):
            i = found[r]
            if sym[i] != a:
                continue
            j = i + len_a
            if sym[j] != b:
                continue
            w = weight_at(i, heavy_start, heavy_weight, light_from)
            end = j + len_b - 1
            left = sym[i - 1]  # the last slot of the token before: its id
            if left != sep:
                p = i - tok_len[left]
                if seen[0, left] == stamp:
                    q = known[0, left]
                else:
                    h = slot(keys, np.int64(left) * shift + a)
                    q = values[h] if keys[h] != _EMPTY else -1
                    if q >= 0 or left != x:  # (x, a) may still form in this merge
                        seen[0, left] = stamp
                        known[0, left] = q
                if q >= 0:
                    m = _record(q, stamp, mark, changed, m)
                    pending[q] -= w
                if seen[1, left] == stamp:
                    q = known[1, left]
                else:
                    q = intern(np.int64(left) * shift + x, keys, values, meta, pair_code)
                    seen[1, left] = stamp
                    known[1, left] = q
                m = _record(q, stamp, mark, changed, m)
                pending[q] += w
                formed_pair[f] = q
                formed_at[f] = p
                f += 1
            right = sym[end + 1]
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
                    m = _record(q, stamp, mark, changed, m)
                    pending[q] -= w
                if seen[3, right] == stamp:
                    q = known[3, right]
                else:
                    q = intern(x * shift + right, keys, values, meta, pair_code)
                    seen[3, right] = stamp
                    known[3, right] = q
                m = _record(q, stamp, mark, changed, m)
                pending[q] += w
                formed_pair[f] = q
                formed_at[f] = i
                f += 1
            # rewrite the two tokens as one: its first and last slots name it
            sym[i] = x
            if j - 1 != i:
                sym[j - 1] = interior
            if j != end:
                sym[j] = interior
            sym[end] = x
        arena = _append_positions(f, formed_pair, formed_at, order, arena, meta, lengths, pos_start,
                                  pos_cap, fill, changed, m)
    for t in range(m):
        q = changed[t]
        change = pending[q]
        pending[q] = 0
        if q == k:
            continue
        was = counts[q]
        total = was + change
        if total < floor:  # can no longer be merged: forget it
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
    return 0, arena


def _compile() -> dict[str, Any]:
    """The kernels (compiled on first call, then loaded from numba's on-disk cache)."""
    return {"count_from": count_from, "seed_positions": seed_positions, "merge": merge,
            "compact": compact, "pop_best": pop_best_compiled, "heap_fill": heap_fill,
            "compact_arena": compact_arena}


def _release_freed_memory() -> None:
    """Hand the freed position vectors back to the system (glibc keeps small freed blocks)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


MIN_PAIRS = 1024
FIRST_PAIRS = 1 << 16
REBUILD_SLACK = 1 << 16
"""The smallest pair table, the first one's room, and how many dead pair indices (or stale heap
keys) beyond a multiple of the live ones trigger a rebuild (tests make them tiny)."""


class _Tables:
    """The pair tables the kernels share, rebuilt on the kernels' request.

    Most pairs a merge forms never reach ``min_frequency`` (on 33 MB @ 32k, 2.4 M pairs were
    indexed, 0.45 M were live at the end): a rebuild keeps only the live ones (count > 0), so the
    tables follow the live pairs, not every pair ever seen.
    """

    def __init__(self, pairs: int) -> None:
        self._allocate(max(MIN_PAIRS, 2 * pairs))
        # pair indices in use, merges applied, table room needed, heap size, pairs reaching the
        # floor, heap room needed, arena end, positions held in the arena
        self.meta = np.zeros(8, dtype=np.int64)
        self.hcount = np.zeros(0, dtype=np.int64)
        self.hcode = np.zeros(0, dtype=np.int64)
        self.arena = np.zeros(0, dtype=np.int32)  # every pair's positions, a region per pair

    def _allocate(self, capacity: int) -> None:
        size = 1 << (2 * capacity - 1).bit_length()  # a load factor of at most 1/2
        self.keys = np.full(size, _EMPTY, dtype=np.int64)
        self.values = np.zeros(size, dtype=np.int32)
        self.pair_code = np.zeros(capacity, dtype=np.int64)
        self.counts = np.zeros(capacity, dtype=np.int64)
        self.lengths = np.zeros(capacity, dtype=np.int32)
        self.pending = np.zeros(capacity, dtype=np.int64)
        self.mark = np.zeros(capacity, dtype=np.int32)
        self.fill = np.zeros(capacity, dtype=np.int32)
        self.pos_start = np.zeros(capacity, dtype=np.int64)
        self.pos_cap = np.zeros(capacity, dtype=np.int64)

    def grow_heap(self, room: int) -> None:
        """Room for ``room`` heap keys (at least doubling), the keys kept."""
        size = max(room, 2 * len(self.hcount), MIN_PAIRS)
        for name in ("hcount", "hcode"):
            grown = np.zeros(size, dtype=np.int64)
            grown[: int(self.meta[3])] = getattr(self, name)[: int(self.meta[3])]
            setattr(self, name, grown)

    def grow(self, compact: Any) -> None:
        """Make room for ``meta[2]`` pair indices (the kernel's request) beside the live pairs.

        Between merges (or count passes) only: ``pending`` is all zero and pair indices are not
        held anywhere else (the Python side keys pairs by code).
        """
        used = int(self.meta[0])
        live = np.flatnonzero(self.counts[:used] > 0).astype(np.int64)
        room = len(live) + int(self.meta[2]) - used
        old = (self.pair_code, self.counts, self.lengths, self.pos_start, self.pos_cap)
        self._allocate(max(MIN_PAIRS, 2 * room))
        compact(live, *old, self.keys, self.values, self.pair_code, self.counts, self.lengths,
                self.pos_start, self.pos_cap)
        self.meta[0] = len(live)
        del old
        _release_freed_memory()


class Spans:
    """Distinct chunks laid out as spans (see the module docstring) with their counts."""

    def __init__(self, sym: np.ndarray, heavy_start: np.ndarray, heavy_weight: np.ndarray,
                 light_from: int) -> None:
        if len(sym) >= 2**31 - 1:
            from tokkit.errors import InputError

            raise InputError("distinct chunks of more than 2 G bytes in total cannot be trained; "
                             "train on a part of the corpus")
        self.sym = sym
        self.heavy_start = heavy_start
        self.heavy_weight = heavy_weight
        self.light_from = light_from
        self.sep, self.interior = sentinels(sym.dtype)

    @classmethod
    def from_utf8(cls, utf8: np.ndarray, lengths: np.ndarray, weights: np.ndarray, offset: int,
                  ids: int) -> Spans:
        """Chunks as their UTF-8 bytes end to end, bytes per chunk and counts; byte ``v`` becomes
        symbol ``offset + rank(v)`` (:data:`tokkit.models.bpe_bytes.RANK_TABLE`), ids stay below
        ``ids``."""
        from tokkit.models.bpe_bytes import RANK_TABLE

        dtype = slot_type(ids)
        ranks = (np.frombuffer(RANK_TABLE, dtype=np.uint8).astype(np.int64) + offset).astype(dtype)
        heavy = int(np.count_nonzero(weights > 1))
        sym = np.empty(len(utf8) + len(lengths) + 1, dtype=dtype)
        heavy_start = np.zeros(heavy, dtype=np.int64)
        heavy_weight = np.zeros(heavy, dtype=np.int64)
        light_from = layout_bytes(utf8, lengths, weights, ranks, sym, heavy_start, heavy_weight,
                                  sentinels(dtype)[0])
        return cls(sym, heavy_start, heavy_weight, int(light_from))

    @classmethod
    def from_symbols(cls, symbols: np.ndarray, lengths: np.ndarray, weights: np.ndarray,
                     tok_len: np.ndarray) -> Spans:
        """Chunks as token ids end to end (a token spans ``tok_len[id]`` slots), in their order."""
        dtype = slot_type(len(tok_len))
        sym = np.empty(int(tok_len[symbols].sum()) + len(lengths) + 1, dtype=dtype)
        heavy_start = np.zeros(len(lengths), dtype=np.int64)
        heavy_weight = np.zeros(len(lengths), dtype=np.int64)
        sep, interior = sentinels(dtype)
        layout_symbols(symbols, lengths, weights, tok_len, sym, heavy_start, heavy_weight, sep,
                       interior)
        return cls(sym, heavy_start, heavy_weight, len(sym))


def token_lengths(tokens: list[bytes], vocab_size: int) -> np.ndarray:
    """Bytes per token id, with room for every id training can create."""
    tok_len = np.zeros(max(vocab_size, len(tokens)) + 1, dtype=np.int64)
    tok_len[: len(tokens)] = [len(token) for token in tokens]
    return tok_len


def learn_merges_compiled(words: list[str], weights: list[int], tokens: list[bytes],
                          ids_by_bytes: dict[bytes, int], vocab_size: int, floor: int,
                          task: ProgressTask) -> MergeResult:
    """:func:`tokkit.train.bpe_merge.learn_merges` with ``kernel="numba"`` (which calls this, with
    ``floor = max(1, min_frequency)``): the same merges and result (``words`` come back merged)."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    symbols = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    tok_len = token_lengths(tokens, vocab_size)
    spans = Spans.from_symbols(symbols, lengths, np.asarray(weights, dtype=np.int64), tok_len)
    del symbols
    result = learn_merges_spans(spans, tokens, ids_by_bytes, vocab_size, floor, task, tok_len)
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
                       vocab_size: int, floor: int, task: ProgressTask,
                       tok_len: np.ndarray | None = None) -> MergeResult:
    """The compiled loop on chunks laid out as :class:`Spans` (merged in place). What the trainer
    calls: no Python object per chunk."""
    kernels = _compile()
    sym, sep, interior = spans.sym, spans.sep, spans.interior
    heavy_start, heavy_weight, light_from = spans.heavy_start, spans.heavy_weight, spans.light_from
    if tok_len is None:
        tok_len = token_lengths(tokens, vocab_size)
    size = len(sym)
    tables = _Tables(min(size, FIRST_PAIRS))
    start = 0
    while True:
        t = tables
        start = kernels["count_from"](start, sym, tok_len, heavy_start, heavy_weight, light_from,
                                      sep, t.keys, t.values, t.meta, t.pair_code, t.counts, t.lengths)
        if start >= size:
            break
        tables.grow(kernels["compact"])
    t = tables
    t.arena = kernels["seed_positions"](sym, tok_len, sep, t.keys, t.values, t.meta, t.counts,
                                        t.lengths, t.fill, t.pos_start, t.pos_cap, floor)
    used = int(t.meta[0])
    t.meta[4] = int(np.count_nonzero(t.counts[:used] >= floor))
    t.grow_heap(2 * int(t.meta[4]) + MIN_PAIRS)
    kernels["heap_fill"](t.hcount, t.hcode, t.meta, t.pair_code, t.counts, floor)
    merges: list[tuple[int, int, int]] = []
    merge, pop = kernels["merge"], kernels["pop_best"]
    # per merge, the pair index of (s, a), (s, x), (b, s), (x, s) by neighbour symbol s, valid while
    # seen[.., s] is the merge's stamp: the hot loop then hashes once per distinct neighbour
    symbols_max = len(tok_len)
    seen = np.zeros((4, symbols_max), dtype=np.int64)
    known = np.zeros((4, symbols_max), dtype=np.int64)
    while len(tokens) < vocab_size:
        t = tables
        code = int(pop(t.hcount, t.hcode, t.meta, t.keys, t.values, t.counts, floor))
        if code < 0:
            break
        left, right = code >> _ID_BITS, code & _ID_MASK
        new_id, fresh = add_token(tokens, ids_by_bytes, tokens[left] + tokens[right])
        tok_len[new_id] = len(tokens[new_id])
        merges.append((left, right, new_id))
        while True:
            t = tables
            status, t.arena = merge(left, right, new_id, sym, tok_len, heavy_start, heavy_weight,
                                    light_from, sep, interior, t.keys, t.values, t.meta,
                                    t.pair_code, t.counts, t.pos_start, t.pos_cap, t.arena,
                                    t.lengths, t.pending, t.mark, t.fill, seen, known, floor,
                                    t.hcount, t.hcode)
            if status == 0:
                break
            if status == 1:
                tables.grow(kernels["compact"])
            else:
                tables.grow_heap(int(t.meta[5]))
        live = int(t.meta[4])
        if int(t.meta[0]) > 2 * live + REBUILD_SLACK:  # mostly pairs gone below the floor
            t.meta[2] = t.meta[0]
            tables.grow(kernels["compact"])
        if len(t.arena) > 4 * int(t.meta[7]) + (REBUILD_SLACK << 4):  # mostly freed regions
            t.arena = kernels["compact_arena"](t.arena, t.meta, t.lengths, t.pos_start, t.pos_cap, 0)
        if int(t.meta[3]) > 2 * live + REBUILD_SLACK:  # mostly stale keys
            kernels["heap_fill"](t.hcount, t.hcode, t.meta, t.pair_code, t.counts, floor)
        if fresh:  # the bar counts new tokens (of vocab_size), not merges
            task.advance(1)
    return MergeResult(merges=merges, tokens=tokens)
