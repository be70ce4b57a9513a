"""How good is a unigram model on held-out text: log-likelihood and tokens per character.

Both figures come from the same Viterbi (:meth:`UnigramTokenizer.score`) whoever trained the
model, so a sentencepiece ``.model`` and ours are judged identically: load the ``.model``'s
pieces and scores into :class:`UnigramTokenizer` and score the same normalized text.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokkit.models.unigram import UnigramTokenizer


def heldout_quality(tok: UnigramTokenizer, texts: Iterable[str]) -> dict[str, float]:
    """``loglik_per_char`` (higher is better) and ``tokens_per_char`` (lower is better)."""
    total, chars, tokens = 0.0, 0, 0
    for text in texts:
        t, c, n = tok.score(text)
        total, chars, tokens = total + t, chars + c, tokens + n
    return {"loglik_per_char": total / max(chars, 1), "tokens_per_char": tokens / max(chars, 1),
            "chars": float(chars)}
