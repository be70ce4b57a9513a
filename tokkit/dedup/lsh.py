"""LSH banding: documents whose signatures agree on a whole band become candidate pairs.

Bands and rows are datasketch's own optimum (the (b, r) minimising the false-positive plus
false-negative areas under the S-curve for the threshold), computed as it does. Each band of
``r`` values is folded into one 64-bit key; candidate pairs are read off runs of equal keys after a sort, so the
stage is a pure function of the band keys (a group-by on a cluster engine).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from tokkit.dedup.shingles import fmix64

_KEY_MUL = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=64)
def optimal_params(threshold: float, num_perm: int,
                   false_positive_weight: float = 0.5,
                   false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) exactly as ``datasketch.MinHashLSH`` would choose them.

    datasketch integrates the false positive and negative areas of every (b, r) with
    ``scipy.integrate.quad`` (importing scipy: ~50 MB of a dedup run's memory). The integrands
    are polynomials of degree ``b * r <= num_perm``, which Gauss-Legendre quadrature with
    ``num_perm / 2 + 1`` nodes integrates exactly up to rounding (~1e-15, where quad's tolerance
    is 1.5e-8). When the best and the runner-up are closer than 1e-7, rounding could order them
    differently from datasketch, so datasketch decides (degenerate weights such as (1, 0), where
    many (b, r) tie, and a few thresholds: 241 of the 1,152 cases of the test grid).
    """
    errors = _lsh_errors(threshold, num_perm, false_positive_weight, false_negative_weight)
    if errors is not None:
        order = np.argsort(errors[:, 2], kind="stable")
        best, second = errors[order[0]], errors[order[1]] if len(order) > 1 else None
        if second is None or second[2] - best[2] > 1e-7:
            return int(best[0]), int(best[1])
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)
    return int(bands), int(rows)


def _lsh_errors(threshold: float, num_perm: int, fp_weight: float,
                fn_weight: float) -> np.ndarray | None:
    """Rows ``(b, r, weighted error)`` of every (b, r) with ``b * r <= num_perm``, in
    datasketch's loop order; ``None`` beyond 1024 permutations (datasketch computes those)."""
    if num_perm > 1024:
        return None
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)],
                     dtype=np.float64)
    b, r = pairs[:, :1], pairs[:, 1:]

    def area(lo: float, hi: float, negative: bool) -> np.ndarray:
        s = (hi - lo) / 2 * nodes[None, :] + (hi + lo) / 2
        hit = 1 - (1 - s**r) ** b  # probability that a pair of similarity s becomes a candidate
        values = (1 - hit) if negative else hit
        return np.asarray(values @ weights * (hi - lo) / 2)

    errors = area(0.0, threshold, False) * fp_weight + area(threshold, 1.0, True) * fn_weight
    return np.column_stack([pairs, errors])


def band_key(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """Band ``band`` of every signature folded into one uint64 key (``rows`` values a band)."""
    sigs = np.asarray(signatures, dtype=np.uint32)
    key = np.full(len(sigs), np.uint64(band + 1), dtype=np.uint64)
    for col in range(band * rows, (band + 1) * rows):
        key = fmix64(key * _KEY_MUL + sigs[:, col].astype(np.uint64))
    return key


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A ``(documents, bands)`` uint64 array: band ``i`` of a signature folded into one key."""
    sigs = np.asarray(signatures, dtype=np.uint32)
    keys = np.empty((len(sigs), bands), dtype=np.uint64)
    for band in range(bands):
        keys[:, band] = band_key(sigs, band, rows)
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


def shared_keys(keys: np.ndarray) -> np.ndarray:
    """A mask of the elements of ``keys`` (1-D) whose value another element has too."""
    shared = np.zeros(len(keys), dtype=bool)
    if len(keys) < 2:
        return shared
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    del ordered
    shared[order[1:][same]] = True
    shared[order[:-1][same]] = True
    return shared


def candidate_pairs(keys: np.ndarray, docs: np.ndarray | None = None) -> np.ndarray:
    """Unique candidate pairs over all bands, sorted; ``docs`` are the row ids (default 0..n-1)."""
    return candidate_pairs_by_band(lambda band: keys[:, band], keys.shape[1], docs, len(keys))


def candidate_pairs_by_band(keys_of: Callable[[int], np.ndarray], bands: int,
                            docs: np.ndarray | None, n: int) -> np.ndarray:
    """:func:`candidate_pairs` with band ``b``'s keys (of the ``n`` ``docs``) from ``keys_of(b)``.

    Bands are taken one at a time and their pairs merged as they come, packed into one uint64 a
    pair, so memory holds one band's keys and the unique pairs so far, not every band's pairs.
    """
    docs = np.arange(n, dtype=np.int64) if docs is None else np.asarray(docs, np.int64)
    if len(docs) and int(docs.max()) >= 1 << 32:  # (more documents than a packed pair holds)
        found = [bucket_pairs(keys_of(band), docs) for band in range(bands)]
        return unique_pairs(np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64))
    packed = np.zeros(0, dtype=np.uint64)
    for band in range(bands):
        pairs = bucket_pairs(keys_of(band), docs).astype(np.uint64)
        packed = np.union1d(packed, (pairs[:, 0] << np.uint64(32)) | pairs[:, 1])
    return np.stack([(packed >> np.uint64(32)).astype(np.int64),
                     (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)], axis=1)


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Pairs as (low, high), deduplicated and sorted (deterministic for any input order)."""
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.asarray(pairs, dtype=np.int64), axis=1)
    return np.unique(pairs, axis=0)
