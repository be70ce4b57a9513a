"""LSH: datasketch's parameters, and candidate pairs that connect exactly the shared buckets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from tokkit.dedup.clusters import connected_components
from tokkit.dedup.lsh import band_keys, bucket_pairs, candidate_pairs, optimal_params, unique_pairs
from tokkit.dedup.shingles import shingle_hash32
from tokkit.dedup.signatures import minhash_signatures, permutations


@pytest.mark.parametrize(("threshold", "num_perm", "weights"),
                         [(0.8, 128, (0.5, 0.5)), (0.5, 64, (0.5, 0.5)), (0.9, 256, (0.05, 0.95)),
                          (0.8, 128, (0.05, 0.95))])
def test_params_are_datasketchs(threshold: float, num_perm: int,
                                weights: tuple[float, float]) -> None:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)
    assert optimal_params(threshold, num_perm, *weights) == (lsh.b, lsh.r)


def test_default_params_favour_recall() -> None:
    from tokkit.dedup import DedupConfig

    assert optimal_params(0.8, 128) == (9, 13)  # datasketch's balanced optimum
    bands, rows = DedupConfig().lsh_params()
    assert (bands, rows) == (16, 8)
    assert 1 - (1 - 0.8**rows) ** bands > 0.94  # chance a pair at the threshold is a candidate


def _signatures(n: int, rng: np.random.Generator) -> np.ndarray:
    """n documents in small families of near-duplicates (shared base set, a few edits)."""
    docs = []
    for _ in range(n // 4):
        base = rng.integers(0, 2**32, 60, dtype=np.uint32)
        for edits in (0, 3, 8, 30):
            doc = base.copy()
            doc[:edits] = rng.integers(0, 2**32, edits, dtype=np.uint32)
            docs.append(doc)
    offsets = np.cumsum([0] + [len(d) for d in docs])
    return minhash_signatures(np.concatenate(docs), offsets, permutations(128, 1))


def test_candidates_are_exactly_the_bucket_sharing_pairs_up_to_closure() -> None:
    rng = np.random.default_rng(0)
    sigs = _signatures(80, rng)
    bands, rows = 9, 13
    keys = band_keys(sigs, bands, rows)
    share = {(i, j) for i, j in itertools.combinations(range(len(sigs)), 2)
             if any(np.array_equal(sigs[i, b * rows:(b + 1) * rows], sigs[j, b * rows:(b + 1) * rows])
                    for b in range(bands))}
    pairs = candidate_pairs(keys)
    got = {tuple(p) for p in pairs.tolist()}
    assert got <= share  # no pair that shares no band
    labels = connected_components(len(sigs), pairs)
    assert all(labels[i] == labels[j] for i, j in share)  # every sharing pair is connected
    assert len(share) > 0


def test_candidates_agree_with_datasketch_lsh_queries() -> None:
    rng = np.random.default_rng(1)
    sets = []
    for _ in range(30):
        base = [f"w{x}" for x in rng.integers(0, 10**6, 50)]
        sets.append(base)
        sets.append(base[:45] + [f"v{x}" for x in rng.integers(0, 10**6, 5)])
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    minhashes = []
    for i, s in enumerate(sets):
        m = MinHash(num_perm=128, hashfunc=shingle_hash32)
        m.update_batch(s)
        lsh.insert(i, m)
        minhashes.append(m)
    sigs = np.stack([m.hashvalues for m in minhashes])
    labels = connected_components(len(sets), candidate_pairs(band_keys(sigs, lsh.b, lsh.r)))
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            assert labels[i] == labels[j]


def test_bucket_pairs_link_each_member_to_first_and_previous() -> None:
    keys = np.array([7, 3, 7, 7, 3, 9], dtype=np.uint64)
    docs = np.array([10, 11, 12, 13, 14, 15])
    pairs = unique_pairs(bucket_pairs(keys, docs))
    assert pairs.tolist() == [[10, 12], [10, 13], [11, 14], [12, 13]]


def test_pairs_do_not_depend_on_input_order() -> None:
    rng = np.random.default_rng(2)
    sigs = _signatures(40, rng)
    keys = band_keys(sigs, 9, 13)
    order = rng.permutation(len(sigs))
    shuffled = candidate_pairs(keys[order], order)
    assert connected_components(len(sigs), shuffled).tolist() == \
        connected_components(len(sigs), candidate_pairs(keys)).tolist()


@pytest.mark.parametrize("num_perm", [16, 128, 256])
def test_params_equal_datasketch_over_thresholds_and_weights(num_perm: int) -> None:
    """Computed without scipy (Gauss-Legendre on the polynomial areas; datasketch decides near-ties)."""
    from datasketch.lsh import _optimal_param

    for threshold in (0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95):
        for weights in ((0.5, 0.5), (0.05, 0.95), (0.2, 0.8)):
            assert optimal_params(threshold, num_perm, *weights) == \
                tuple(_optimal_param(threshold, num_perm, *weights)), (threshold, weights)


def test_a_dedup_run_imports_neither_datasketch_nor_scipy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """They cost ~50 MB of a run's memory; only the parity tests need them."""
    import subprocess
    import sys

    (tmp_path / "a.txt").write_text("the best of times it was the worst of times\n" * 3, encoding="utf-8")
    code = ("import sys; from tokkit.dedup import dedup_corpus, DedupConfig; "
            f"dedup_corpus([{str(tmp_path / 'a.txt')!r}], {str(tmp_path / 'out')!r}, "
            "config=DedupConfig(near_min_words=0)); "
            "print(sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
