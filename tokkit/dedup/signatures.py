"""MinHash signatures for many documents at once, identical to datasketch's.

datasketch's ``MinHash`` (affine32 scheme) hashes each shingle to 32 bits, pre-mixes it with
the MurmurHash3 32-bit finalizer and applies ``num_perm`` permutations ``a*h + b mod 2^32``,
keeping the minimum per permutation. Done per document that is a few small numpy calls and a
copy per document; here every shingle of a batch of documents is permuted in one array
operation and the minima are taken per document with ``np.minimum.reduceat``. The permutation
parameters are drawn as datasketch draws them, so the values are bit-identical (tested against
datasketch).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

EMPTY = np.uint32(0xFFFFFFFF)
"""The signature value of a document without shingles (datasketch's initial hash values)."""

_CHUNK_CELLS = 1 << 20  # shingles x permutations processed per step (4 MiB of uint32)


class SignatureSource(Protocol):
    """Signature rows by document index, as an ``(n, num_perm)`` array gives them: ``rows[idx]``
    for an index array (e.g. :class:`~tokkit.dedup.corpus_features.SignatureRows`, read from
    disk on demand)."""

    def __getitem__(self, index: np.ndarray, /) -> np.ndarray: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class Permutations:
    """The ``a``, ``b`` of datasketch's affine32 permutations for (num_perm, seed)."""

    a: np.ndarray
    b: np.ndarray

    @property
    def num_perm(self) -> int:
        return len(self.a)


@lru_cache(maxsize=8)
def permutations(num_perm: int = 128, seed: int = 1) -> Permutations:
    """datasketch's affine32 permutation parameters, drawn as ``datasketch.MinHash`` (2.x) draws
    them, so signatures match it exactly (``tests/dedup/test_signatures.py`` holds them equal to
    datasketch's own). Not taken from a ``MinHash``: importing datasketch imports scipy, ~50 MB
    of a dedup run's memory for two arrays of random numbers."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return Permutations(a=np.ascontiguousarray(a, dtype=np.uint32),
                        b=np.ascontiguousarray(b, dtype=np.uint32))


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer on a uint32 array (datasketch's input pre-mix)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash_signatures(hashes: np.ndarray, offsets: np.ndarray, perms: Permutations) -> np.ndarray:
    """Signatures of a batch: document ``i`` owns ``hashes[offsets[i]:offsets[i+1]]``.

    Returns a ``(documents, num_perm)`` uint32 array; a document without shingles gets
    :data:`EMPTY` everywhere, like an empty datasketch ``MinHash``. Works permutation-major
    (``num_perm x shingles`` blocks) so the per-document minimum runs along contiguous rows.
    """
    n_docs = len(offsets) - 1
    sigs = np.full((n_docs, perms.num_perm), EMPTY, dtype=np.uint32)
    if len(hashes) == 0:
        return sigs
    mixed = fmix32(np.asarray(hashes, dtype=np.uint32))
    doc_of = np.repeat(np.arange(n_docs), np.diff(offsets))
    step = max(1, _CHUNK_CELLS // perms.num_perm)
    a, b = perms.a[:, None], perms.b[:, None]
    block = np.empty((perms.num_perm, min(step, len(mixed))), dtype=np.uint32)
    for lo in range(0, len(mixed), step):
        hi = min(lo + step, len(mixed))
        phv = block[:, : hi - lo]
        np.multiply(a, mixed[None, lo:hi], out=phv)
        np.add(phv, b, out=phv)
        docs = doc_of[lo:hi]
        starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
        reduced = np.minimum.reduceat(phv, starts, axis=1).T
        owners = docs[starts]
        sigs[owners] = np.minimum(sigs[owners], reduced)
    return sigs


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray | float:
    """Fraction of equal signature values (datasketch's ``MinHash.jaccard``), row-wise for 2-D."""
    equal = np.asarray(sig_a) == np.asarray(sig_b)
    if equal.ndim == 1:
        return float(equal.mean())
    return equal.mean(axis=1)
