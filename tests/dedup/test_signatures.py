"""Signatures: bit-identical to datasketch, and the estimate lands where the true Jaccard is."""

from __future__ import annotations

import math

import numpy as np
import pytest
from datasketch import MinHash
from datasketch.hashfunc import sha1_hash32

from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.dedup.shingles import choose_unit, hash_shingles, shingle_hash32, shingles
from tokkit.dedup.signatures import EMPTY, jaccard_estimate, minhash_signatures, permutations


@pytest.fixture(scope="module")
def paragraphs(corpora) -> list[str]:  # type: ignore[no-untyped-def]
    en = read_texts([corpora / "en" / "sherlock_holmes.txt"], ReadOptions(split="paragraph"))
    zh = read_texts([corpora / "zh" / "三字经.txt"], ReadOptions(split="line"))
    return [t for _, t in zip(range(150), en, strict=False)] + [t for _, t in zip(range(50), zh, strict=False)]


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 42)])
def test_identical_to_datasketch_with_the_same_hashfunc(paragraphs: list[str], num_perm: int,
                                                         seed: int) -> None:
    units = [choose_unit(t) for t in paragraphs]
    hashes, offsets = hash_shingles(paragraphs, units, ngram=5)
    ours = minhash_signatures(hashes, offsets, permutations(num_perm, seed))
    for i, (text, unit) in enumerate(zip(paragraphs, units, strict=True)):
        m = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
        m.update_batch([s.encode() for s in shingles(text, ngram=5, unit=unit)])
        assert np.array_equal(ours[i], m.hashvalues), i


def test_identical_to_datasketch_default_sha1(paragraphs: list[str]) -> None:
    """Any 32-bit shingle hash works: with datasketch's own sha1_hash32 too."""
    grams = [[s.encode() for s in shingles(t, ngram=5, unit=choose_unit(t))] for t in paragraphs[:60]]
    hashes = np.array([sha1_hash32(g) for doc in grams for g in doc], dtype=np.uint32)
    offsets = np.cumsum([0] + [len(doc) for doc in grams])
    ours = minhash_signatures(hashes, offsets, permutations(128, 1))
    for i, m in enumerate(MinHash.bulk(grams, num_perm=128, seed=1)):
        assert np.array_equal(ours[i], m.hashvalues)


def test_batch_split_across_chunks_gives_the_same_signatures(paragraphs: list[str]) -> None:
    import tokkit.dedup.signatures as sig_module

    units = [choose_unit(t) for t in paragraphs]
    hashes, offsets = hash_shingles(paragraphs, units, ngram=3)
    whole = minhash_signatures(hashes, offsets, permutations(128, 1))
    saved = sig_module._CHUNK_CELLS
    try:
        sig_module._CHUNK_CELLS = 128 * 7  # 7 shingles per step: documents straddle steps
        chunked = minhash_signatures(hashes, offsets, permutations(128, 1))
    finally:
        sig_module._CHUNK_CELLS = saved
    assert np.array_equal(whole, chunked)


def test_empty_documents_get_the_empty_signature() -> None:
    sigs = minhash_signatures(np.array([5, 6], dtype=np.uint32), np.array([0, 0, 2, 2]),
                              permutations(16, 1))
    assert (sigs[0] == EMPTY).all() and (sigs[2] == EMPTY).all()
    assert np.array_equal(sigs[0], MinHash(num_perm=16).hashvalues)
    assert not (sigs[1] == EMPTY).any()


def _pair(rng: np.random.Generator, jaccard_num: int, union: int) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of random 32-bit values with |A ∩ B| = jaccard_num and |A ∪ B| = union."""
    values = rng.choice(2**32, size=union, replace=False).astype(np.uint32)
    rest = union - jaccard_num
    a_only = rest // 2
    common, a_side, b_side = values[:jaccard_num], values[jaccard_num: jaccard_num + a_only], \
        values[jaccard_num + a_only:]
    return np.concatenate([common, a_side]), np.concatenate([common, b_side])


@pytest.mark.parametrize("jaccard", [0.2, 0.5, 0.8, 0.9, 0.95])
def test_estimate_lands_within_the_stated_band(jaccard: float) -> None:
    """Statistical test: 200 pairs at exact Jaccard J, num_perm=128.

    The estimate is a mean of 128 Bernoulli(J) draws, so sigma = sqrt(J(1-J)/128). Every single
    estimate must be within 4.5 sigma (expected violations: ~1e-3 over all 1000 pairs), and the
    mean of 200 estimates within 4 sigma/sqrt(200) of J (unbiased estimator).
    """
    rng = np.random.default_rng(int(jaccard * 1000))
    union = 400
    common = round(jaccard * union)
    true_j = common / union
    sets = [_pair(rng, common, union) for _ in range(200)]
    hashes = np.concatenate([s for pair in sets for s in pair])
    offsets = np.cumsum([0] + [len(s) for pair in sets for s in pair])
    sigs = minhash_signatures(hashes, offsets, permutations(128, 1))
    estimates = np.asarray(jaccard_estimate(sigs[0::2], sigs[1::2]))
    sigma = math.sqrt(true_j * (1 - true_j) / 128)
    assert np.abs(estimates - true_j).max() <= 4.5 * sigma + 1e-9
    assert abs(estimates.mean() - true_j) <= 4 * sigma / math.sqrt(200)


def test_jaccard_estimate_matches_datasketch(paragraphs: list[str]) -> None:
    a, b = paragraphs[3], paragraphs[3] + " and a few more words at the end of it"
    m1, m2 = MinHash(hashfunc=shingle_hash32), MinHash(hashfunc=shingle_hash32)
    m1.update_batch(shingles(a))
    m2.update_batch(shingles(b))
    hashes, offsets = hash_shingles([a, b], ["word", "word"])
    sigs = minhash_signatures(hashes, offsets, permutations(128, 1))
    assert jaccard_estimate(sigs[0], sigs[1]) == pytest.approx(m1.jaccard(m2))


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 42), (2, 0), (4096, 123456)])
def test_permutations_are_datasketchs(num_perm: int, seed: int) -> None:
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    ours = permutations(num_perm, seed)
    assert np.array_equal(ours.a, a) and np.array_equal(ours.b, b)
    assert ours.a.dtype == ours.b.dtype == np.uint32
