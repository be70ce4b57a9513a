"""Exact and MinHash near-duplicate removal, as pure stages and a two-pass local engine.

Stages: documents → :func:`compute_features` (exact keys, shingle hashes, MinHash signatures) →
:func:`~tokkit.dedup.lsh.band_keys` → :func:`~tokkit.dedup.lsh.candidate_pairs` →
:func:`~tokkit.dedup.clusters.verify_pairs` → :func:`~tokkit.dedup.clusters.connected_components`
→ :func:`~tokkit.dedup.clusters.choose_kept`; :func:`dedup_corpus` runs them over files.

>>> from tokkit.dedup import DedupConfig, dedup_corpus
>>> dedup_corpus(["corpus/"], "corpus-dedup/", config=DedupConfig(threshold=0.8))  # doctest: +SKIP
"""

from tokkit.dedup.config import DedupConfig
from tokkit.dedup.pipeline import (
    Clustering,
    DedupReport,
    Features,
    cluster_documents,
    compute_features,
    dedup_corpus,
)

__all__ = ["Clustering", "DedupConfig", "DedupReport", "Features", "cluster_documents",
           "compute_features", "dedup_corpus"]
