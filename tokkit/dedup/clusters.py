"""From verified pairs to clusters, and from clusters to the one document each keeps.

Union-find with the smaller index as root makes components independent of pair order, so any
engine that finds the same pairs finds the same clusters and keeps the same documents.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from tokkit.dedup.signatures import SignatureSource, jaccard_estimate


class UnionFind:
    """Disjoint sets over ``0..n-1``; the root of a set is its smallest member."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:  # path compression
            parent[x], x = root, int(parent[x])
        return root

    def union(self, x: int, y: int) -> bool:
        """Merge the sets of ``x`` and ``y``; True if they were apart."""
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return False
        if ry < rx:
            rx, ry = ry, rx
        self.parent[ry] = rx
        return True

    def labels(self) -> np.ndarray:
        """The root (smallest member) of every element's set (pointer jumping, vectorized)."""
        labels = self.parent.copy()
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                return labels
            labels = jumped


def connected_components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Label of each of ``n`` items: the smallest item of its component under ``pairs``.

    :class:`UnionFind`'s labels (its readable twin, :func:`connected_components_union_find`),
    computed on arrays: every pair hooks the larger of its two labels onto the smaller, then
    labels jump to their label's label until none moves, until every pair agrees. Each round
    at least halves the depth of the label forest, so a few rounds do; no Python object per
    pair (the loop over a million exact-duplicate pairs was seconds and ~60 MB of small lists).
    """
    labels = np.arange(n, dtype=np.int64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return labels
    x, y = pairs[:, 0], pairs[:, 1]
    while True:
        lx, ly = labels[x], labels[y]
        apart = lx != ly
        if not apart.any():
            return labels
        lx, ly = lx[apart], ly[apart]
        low, high = np.minimum(lx, ly), np.maximum(lx, ly)
        np.minimum.at(labels, high, low)  # hook: a label is always a member <= the item
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


def connected_components_union_find(n: int, pairs: np.ndarray) -> np.ndarray:
    """:func:`connected_components` one pair at a time with :class:`UnionFind` (the reference)."""
    uf = UnionFind(n)
    for x, y in np.asarray(pairs, dtype=np.int64).tolist():
        uf.union(x, y)
    return uf.labels()


def verify_pairs(pairs: np.ndarray, signatures: np.ndarray | SignatureSource, threshold: float,
                 *, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Keep the candidate pairs whose estimated Jaccard reaches ``threshold``.

    Returns ``(pairs, similarities)`` of the survivors. ``signatures`` may be a memmap or
    anything that gives rows for an index array; ``chunk`` pairs at a time (two 512-byte
    signatures each at 128 permutations: 8 MiB).
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    kept, sims = [], []
    for lo in range(0, len(pairs), chunk):
        part = pairs[lo : lo + chunk]
        sim = np.asarray(jaccard_estimate(signatures[part[:, 0]], signatures[part[:, 1]]))
        ok = sim >= threshold - 1e-12
        kept.append(part[ok])
        sims.append(sim[ok])
    if not kept:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    return np.concatenate(kept), np.concatenate(sims)


def set_bounds(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of every document's set: ``offsets`` is ``(n + 1,)`` for sets stored one
    after the other, or ``(n, 2)`` rows of ``[start, end)`` for sets picked out of a larger
    array (a subset of the documents)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim == 2:
        return offsets[:, 0], offsets[:, 1]
    return offsets[:-1], offsets[1:]


def exact_jaccard(pairs: np.ndarray, sets: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Exact Jaccard of each pair's sets: ``sets[offsets[i]:offsets[i+1]]`` is document ``i``'s
    sorted, unique shingle hashes (``sets`` may be a memmap; ``offsets`` as :func:`set_bounds`)."""
    out = np.empty(len(pairs))
    starts, ends = set_bounds(offsets)
    for k, (x, y) in enumerate(np.asarray(pairs, dtype=np.int64).tolist()):
        a = np.asarray(sets[starts[x] : ends[x]])
        b = np.asarray(sets[starts[y] : ends[y]])
        both = np.intersect1d(a, b, assume_unique=True).size
        union = len(a) + len(b) - both
        out[k] = both / union if union else 1.0
    return out


def verify_pairs_exact(pairs: np.ndarray, sets: np.ndarray, offsets: np.ndarray,
                       threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep the candidate pairs whose exact shingle-set Jaccard reaches ``threshold``."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    sims = exact_jaccard(pairs, sets, offsets)
    ok = sims >= threshold - 1e-12
    return pairs[ok], sims[ok]


def choose_kept(labels: np.ndarray, lengths: np.ndarray,
                keep: Literal["first", "longest"] = "first") -> np.ndarray:
    """For each item, the item its cluster keeps: the first, or the longest (ties: the first)."""
    labels = np.asarray(labels, dtype=np.int64)
    if keep == "first" or len(labels) == 0:
        return labels.copy()
    idx = np.arange(len(labels))
    order = np.lexsort((idx, -np.asarray(lengths, dtype=np.int64), labels))
    sorted_labels = labels[order]
    heads = np.r_[True, sorted_labels[1:] != sorted_labels[:-1]]
    winner = np.empty(len(labels), dtype=np.int64)
    winner[sorted_labels[heads]] = order[heads]
    return winner[labels]
