"""Long chunks in the BPE merge loop: linked symbols and the positions of each pair.

Why: the merge loop keeps an ordinary chunk as a string and rewrites a touched chunk with one
``str.replace``, which costs the chunk's length. A chunk can be megabytes (a line of unspaced Chinese
is one regex chunk), and every merge touching it would rescan all of it: quadratic in its length.
Chunks longer than :data:`LONG_CHUNK` symbols live here instead, where a merge costs its occurrences:

* all long chunks lie end to end in three ``int32`` arrays, ``symbol``, ``next`` and ``prev`` (-1 at
  a chunk's ends, so no pair crosses chunks). A merge writes the new id into the left node and
  unlinks the right one (its symbol becomes -1). 12 bytes per byte of text, never moved;
* ``where[pair]`` lists the left nodes where the pair was formed (4 bytes each). An entry goes stale
  when a neighbouring merge rewrites its node; it is checked in O(1) when its pair is merged and the
  list is then dropped, so each entry is looked at once. Each merge site adds at most two entries,
  and there are fewer sites than symbols;
* a pair's positions are visited left to right, so a run of one symbol (``aaaa``) is merged leftmost
  first without overlap, exactly as ``str.replace`` (and ``tokenizers``' ``Word::merge``) does.

Counts are exact: each site subtracts the pairs it breaks and adds the pairs it forms, weighted by
its chunk's count, in the same ``delta`` the string path fills.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import defaultdict
from typing import Any

LONG_CHUNK = 1024
"""Chunks with more symbols than this take the linked path (below it ``str.replace`` is faster)."""


def _positions() -> array[int]:
    return array("i")


class LongChunks:
    """The long chunks of a training run, with their pair positions."""

    def __init__(self, words: list[str], weights: list[int], indices: list[int]) -> None:
        """``words[k]`` (a symbol string) is chunk ``indices[k]`` of the caller, counted ``weights[k]``."""
        import numpy as np

        self.indices = indices

        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        starts = np.zeros(len(words), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        symbols = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int32)
        size = len(symbols)
        if size >= 2**31 - 1:
            from tokkit.errors import InputError

            raise InputError("chunks longer than 2 GB in total cannot be trained; split the text")
        following = np.arange(1, size + 1, dtype=np.int32)
        following[starts + lengths - 1] = -1
        preceding = np.arange(-1, size - 1, dtype=np.int32)
        preceding[starts] = -1
        self.symbol = array("i", symbols.tobytes())
        self.next = array("i", following.tobytes())
        self.prev = array("i", preceding.tobytes())
        self.starts = starts.tolist()
        self.weights = list(weights)
        self.uniform = self.weights[0] if len(set(self.weights)) == 1 else None
        self.where: defaultdict[str, array[int]] = defaultdict(_positions)
        self.sites = 0
        self._symbols: Any = symbols  # for pair_codes, dropped by seed

    def __len__(self) -> int:
        return len(self.symbol)

    def pair_codes(self, base: int) -> tuple[Any, Any, Any]:
        """Every adjacent pair inside a chunk: ``(left * base + right, left node, chunk weight)``."""
        import numpy as np

        symbols = self._symbols.astype(np.int64)
        inside = np.frombuffer(self.next, dtype=np.int32)[:-1] >= 0
        nodes = np.flatnonzero(inside)
        codes = symbols[nodes] * base + symbols[nodes + 1]
        chunk = np.searchsorted(np.asarray(self.starts, dtype=np.int64), nodes, side="right") - 1
        weight = np.asarray(self.weights, dtype=np.int64)[chunk]
        return codes, nodes, weight

    def seed(self, codes: Any, nodes: Any, keep: Any, base: int) -> None:
        """Record the positions of the pairs whose codes are in ``keep`` (sorted), left to right."""
        import numpy as np

        self._symbols = None
        kept = np.isin(codes, keep)
        codes, nodes = codes[kept], nodes[kept].astype(np.int32)
        if not len(codes):  # no pair reaches min_frequency: nothing to record
            return
        order = np.argsort(codes, kind="stable")
        codes, nodes = codes[order], nodes[order]
        bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
        for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            code = int(codes[start])
            self.where[chr(code // base) + chr(code % base)] = array("i", nodes[start:end].tobytes())

    def forget(self, pair: str) -> None:
        """``pair`` can no longer be merged: drop its positions."""
        self.where.pop(pair, None)

    def merge(self, pair: str, new: str, delta: dict[str, int]) -> None:
        """Merge ``pair`` into the symbol ``new`` everywhere, adding each count change to ``delta``.

        ``delta`` gets the pairs broken (negative) and formed (positive) around the sites; the
        merged pair itself is left out (the caller retires it).
        """
        positions = self.where.pop(pair, None)
        if positions is None:
            return
        first, second = pair[0], pair[1]
        a, b, x = ord(first), ord(second), ord(new)
        symbol, following, preceding, where = self.symbol, self.next, self.prev, self.where
        uniform, starts, weights = self.uniform, self.starts, self.weights
        get = delta.get
        order = sorted(positions) if a == b else positions  # only a run of one symbol can overlap
        sites = 0
        for i in order:
            j = following[i]
            if symbol[i] != a or j < 0 or symbol[j] != b:
                continue  # a stale position: a neighbouring merge rewrote it
            sites += 1
            w = uniform if uniform is not None else weights[bisect_right(starts, i) - 1]
            p = preceding[i]
            if p >= 0:
                left = chr(symbol[p])
                lost, gained = left + first, left + new
                delta[lost] = get(lost, 0) - w
                delta[gained] = get(gained, 0) + w
                where[gained].append(p)
            n = following[j]
            if n >= 0:
                right = chr(symbol[n])
                lost, gained = second + right, new + right
                delta[lost] = get(lost, 0) - w
                delta[gained] = get(gained, 0) + w
                where[gained].append(i)
                preceding[n] = i
            following[i] = n
            symbol[i] = x
            symbol[j] = -1
        self.sites += sites

    def words(self) -> list[str]:
        """The chunks as symbol strings (one character per symbol), as they stand now."""
        out: list[str] = []
        symbol, following = self.symbol, self.next
        for start in self.starts:
            chars = []
            i = start
            while i >= 0:
                chars.append(chr(symbol[i]))
                i = following[i]
            out.append("".join(chars))
        return out
