"""Clusters: union-find roots, order independence, the kept document, verification."""

from __future__ import annotations

import numpy as np

from tokkit.dedup.clusters import (
    UnionFind,
    choose_kept,
    connected_components,
    exact_jaccard,
    verify_pairs,
    verify_pairs_exact,
)
from tokkit.dedup.pipeline import shingle_sets


def test_union_find_root_is_smallest_member() -> None:
    uf = UnionFind(6)
    assert uf.union(4, 2)
    assert uf.union(5, 4)
    assert not uf.union(2, 5)
    assert uf.labels().tolist() == [0, 1, 2, 3, 2, 2]


def test_components_independent_of_pair_order() -> None:
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 200, size=(150, 2))
    expected = connected_components(200, pairs)
    for _ in range(5):
        assert connected_components(200, pairs[rng.permutation(len(pairs))][:, ::-1]).tolist() == \
            expected.tolist()
    # brute force: labels are the minimum of the reachable set
    adj: dict[int, set[int]] = {i: set() for i in range(200)}
    for a, b in pairs.tolist():
        adj[a].add(b)
        adj[b].add(a)
    for start in range(200):
        seen, todo = {start}, [start]
        while todo:
            for nxt in adj[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert expected[start] == min(seen)


def test_choose_kept_first_and_longest() -> None:
    labels = np.array([0, 0, 2, 0, 2, 5])
    lengths = np.array([10, 30, 5, 30, 5, 1])
    assert choose_kept(labels, lengths, "first").tolist() == [0, 0, 2, 0, 2, 5]
    assert choose_kept(labels, lengths, "longest").tolist() == [1, 1, 2, 1, 2, 5]


def test_verify_pairs_keeps_those_at_or_above_threshold() -> None:
    sigs = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [1, 9, 9, 9], [1, 2, 3, 4]], dtype=np.uint32)
    pairs = np.array([[0, 1], [0, 2], [0, 3], [1, 2]])
    kept, sims = verify_pairs(pairs, sigs, 0.75, chunk=2)
    assert kept.tolist() == [[0, 1], [0, 3]]
    assert sims.tolist() == [0.75, 1.0]


def test_exact_verification_uses_the_true_sets() -> None:
    hashes = np.array([5, 1, 2, 3, 1,  1, 2, 3, 4,  9, 9], dtype=np.uint32)
    offsets = np.array([0, 5, 9, 11, 11])
    sets, set_offsets = shingle_sets(hashes, offsets)
    assert sets.tolist() == [1, 2, 3, 5, 1, 2, 3, 4, 9]
    assert set_offsets.tolist() == [0, 4, 8, 9, 9]
    pairs = np.array([[0, 1], [1, 2], [0, 0], [2, 3]])
    assert exact_jaccard(pairs, sets, set_offsets).tolist() == [3 / 5, 0.0, 1.0, 0.0]
    kept, sims = verify_pairs_exact(pairs, sets, set_offsets, 0.6)
    assert kept.tolist() == [[0, 1], [0, 0]] and sims.tolist() == [0.6, 1.0]


def test_array_components_equal_the_union_find_twin_on_chains_stars_and_random_graphs() -> None:
    from tokkit.dedup.clusters import connected_components_union_find

    rng = np.random.default_rng(1)
    n = 3000
    cases = [
        np.stack([np.arange(n - 1), np.arange(1, n)], axis=1),  # one long chain
        np.stack([np.arange(n - 1, 0, -1), np.arange(n - 2, -1, -1)], axis=1),  # the chain, reversed
        np.stack([np.full(n - 1, n - 1), np.arange(n - 1)], axis=1),  # a star around the last item
        rng.integers(0, n, size=(2500, 2)),  # random, many components
        rng.integers(0, n, size=(20000, 2)),  # random, one giant component
        np.zeros((0, 2), dtype=np.int64),
    ]
    for pairs in cases:
        assert connected_components(n, pairs).tolist() == connected_components_union_find(n, pairs).tolist()
