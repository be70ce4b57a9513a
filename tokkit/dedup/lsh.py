"""LSH banding: documents whose signatures agree on a whole band become candidate pairs.

Bands and rows come from datasketch's own optimisation (the (b, r) minimising the false-positive
plus false-negative areas under the S-curve for the threshold). Each band of ``r`` values is
folded into one 64-bit key; candidate pairs are read off runs of equal keys after a sort, so the
stage is a pure function of the band keys (a group-by on a cluster engine).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tokkit.dedup.shingles import fmix64

_KEY_MUL = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=64)
def optimal_params(threshold: float, num_perm: int,
                   false_positive_weight: float = 0.5,
                   false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) exactly as ``datasketch.MinHashLSH`` would choose them."""
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)
    return int(bands), int(rows)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A ``(documents, bands)`` uint64 array: band ``i`` of a signature folded into one key."""
    sigs = np.asarray(signatures, dtype=np.uint32)
    keys = np.empty((len(sigs), bands), dtype=np.uint64)
    for band in range(bands):
        key = np.full(len(sigs), np.uint64(band + 1), dtype=np.uint64)
        for col in range(band * rows, (band + 1) * rows):
            key = fmix64(key * _KEY_MUL + sigs[:, col].astype(np.uint64))
        keys[:, band] = key
    return keys


def bucket_pairs(keys: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Candidate pairs of one band: ``keys[i]`` is the band key of document ``docs[i]``.

    In every bucket (run of equal keys) each member is paired with the bucket's first member and
    with its predecessor: linear in the bucket size, yet a chain that union-find closes. Returns
    an ``(m, 2)`` int64 array with ``pair[0] < pair[1]``.
    """
    if len(keys) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    order = np.lexsort((docs, keys))
    k, d = keys[order], np.asarray(docs, dtype=np.int64)[order]
    new = np.r_[True, k[1:] != k[:-1]]
    first = np.maximum.accumulate(np.where(new, np.arange(len(k)), 0))
    member = np.flatnonzero(~new)
    to_first = np.stack([d[first[member]], d[member]], axis=1)
    to_prev = np.stack([d[member - 1], d[member]], axis=1)
    pairs = np.concatenate([to_first, to_prev])
    return pairs[pairs[:, 0] != pairs[:, 1]]


def candidate_pairs(keys: np.ndarray, docs: np.ndarray | None = None) -> np.ndarray:
    """Unique candidate pairs over all bands, sorted; ``docs`` are the row ids (default 0..n-1)."""
    docs = np.arange(len(keys), dtype=np.int64) if docs is None else np.asarray(docs, np.int64)
    found = [bucket_pairs(keys[:, band], docs) for band in range(keys.shape[1])]
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    return unique_pairs(pairs)


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Pairs as (low, high), deduplicated and sorted (deterministic for any input order)."""
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.asarray(pairs, dtype=np.int64), axis=1)
    return np.unique(pairs, axis=0)
