"""Rényi and Shannon efficiency of a tokenizer's unigram token distribution on a corpus.

Zouhar et al. (2023, "Tokenization and the Noiseless Channel") show that how evenly a tokenizer
spreads a corpus over its vocabulary predicts downstream quality far better than compression does
(Pearson 0.78 with BLEU for Rényi efficiency at α = 2.5, −0.32 for sequence length). With ``p`` the
relative frequencies of token ids on the corpus and ``V`` the vocabulary size:

    H_α(p) = 1 / (1 − α) · log Σ_i p_i^α          (Rényi entropy; α → 1 gives Shannon's −Σ p log p)
    efficiency_α = H_α(p) / log |V|

1.0 means every id is used equally often; a few very frequent tokens pull the Rényi figure down
much more than the Shannon one, which is the point of α > 1. The logarithm's base cancels.
"""

from __future__ import annotations

import math

import numpy as np

RENYI_ALPHA = 2.5
"""The order Zouhar et al. found to correlate best with BLEU."""


def renyi_entropy(counts: np.ndarray, alpha: float) -> float:
    """H_α in nats of the distribution ``counts / counts.sum()`` (zeros ignored)."""
    if alpha < 0:
        raise ValueError(f"alpha {alpha}: the Rényi order must be >= 0")
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    if c.size == 0:
        raise ValueError("no tokens: the entropy of an empty distribution is undefined")
    p = c / c.sum()
    if math.isclose(alpha, 1.0):
        return float(-(p * np.log(p)).sum())
    if alpha == 0:
        return math.log(c.size)
    return float(math.log(float((p**alpha).sum())) / (1.0 - alpha))


def efficiency(counts: np.ndarray, vocab_size: int, alpha: float = RENYI_ALPHA) -> float | None:
    """``H_α / log |V|`` (``None`` for no tokens or a vocabulary of one)."""
    if vocab_size < 2 or float(np.asarray(counts).sum()) <= 0:
        return None
    return renyi_entropy(counts, alpha) / math.log(vocab_size)
