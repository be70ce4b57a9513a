"""The Unigram model in one page: what its lattice computes, by listing every segmentation.

A Unigram model gives each piece a log-probability ``logp[piece]``; a segmentation of a text into
pieces scores the sum of its pieces' ``logp``. Then, for a run of text (a word cut at script
boundaries, as the trainer makes them):

* its **likelihood** is the sum of ``exp(score)`` over all its segmentations; the corpus
  log-likelihood sums ``count × log(likelihood)`` over the runs;
* the **expected count** of a piece (the E-step of EM) adds, for every segmentation, how often the
  piece occurs in it times the segmentation's probability ``exp(score) / likelihood``, times the
  run's count;
* its **best segmentation** (Viterbi, how a trained model encodes) is the one with the highest score.

:class:`tokkit.train.unigram_lattice.Lattice` computes all three for millions of runs at once with
forward-backward over a lattice of piece matches, column by column in numpy;
:meth:`tokkit.models.unigram.UnigramTokenizer.viterbi` finds the best segmentation with a trie.
Here every segmentation is listed (2^(n-1) ways to cut n characters): short runs only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from tokkit.models.unigram import UnigramTokenizer, byte_piece

FloatArray = npt.NDArray[np.float64]


def segmentations(text: str, pieces: set[str]) -> Iterator[list[str]]:
    """Every way to write ``text`` as a sequence of ``pieces``."""
    if not text:
        yield []
        return
    for end in range(1, len(text) + 1):
        if text[:end] in pieces:
            for rest in segmentations(text[end:], pieces):
                yield [text[:end], *rest]


def expected_counts(runs: Sequence[str], counts: Sequence[float], vocab: Sequence[str],
                    logp: FloatArray) -> tuple[FloatArray, float]:
    """Each piece's expected count and the corpus log-likelihood (what
    :meth:`~tokkit.train.unigram_lattice.Lattice.forward_backward` returns)."""
    index = {piece: i for i, piece in enumerate(vocab)}
    expected = np.zeros(len(vocab))
    loglik = 0.0
    for run, count in zip(runs, counts, strict=True):
        scored = [(sum(logp[index[p]] for p in parts), parts)
                  for parts in segmentations(run, set(vocab))]
        log_likelihood = math.log(sum(math.exp(score) for score, _ in scored))
        loglik += count * log_likelihood
        for score, parts in scored:
            for piece in parts:
                expected[index[piece]] += count * math.exp(score - log_likelihood)
    return expected, loglik


def best_segmentations(run: str, vocab: Sequence[str], logp: FloatArray) -> tuple[float, list[list[str]]]:
    """The best score of ``run`` and every segmentation reaching it (ties are possible)."""
    index = {piece: i for i, piece in enumerate(vocab)}
    scored = [(sum(logp[index[p]] for p in parts), parts) for parts in segmentations(run, set(vocab))]
    best = max(score for score, _ in scored)
    return best, [parts for score, parts in scored if score == best]


def encode_word(tok: UnigramTokenizer, word: str) -> tuple[float, list[list[int]]]:
    """The best score of one normalized word under ``tok`` and the ids of every segmentation
    reaching it (what :meth:`~tokkit.models.unigram.UnigramTokenizer.encode` gives is one of them).

    A character no piece of length one matches is unknown (scored ``tok.unk_score``); a run of
    unknown characters becomes one ``<unk>``, or its UTF-8 bytes with byte fallback.
    """
    known = {p for p, i in tok.piece_to_id.items() if tok.types[i] != "byte"}
    unknown = {ch for ch in word if ch not in known}
    best: float | None = None
    found: list[list[int]] = []
    for parts in segmentations(word, known | unknown):
        score = 0.0
        for piece in parts:  # left to right, as the trie's forward pass adds them
            score += tok.unk_score if piece in unknown else tok.scores[tok.piece_to_id[piece]]
        if best is None or score > best:
            best, found = score, []
        if score == best:
            found.append(_ids(tok, parts, unknown))
    assert best is not None
    return best, found


def _ids(tok: UnigramTokenizer, parts: list[str], unknown: set[str]) -> list[int]:
    ids: list[int] = []
    for k, piece in enumerate(parts):
        if piece not in unknown:
            ids.append(tok.piece_to_id[piece])
        elif tok.settings.byte_fallback:
            ids += [tok.piece_to_id[byte_piece(b)] for b in piece.encode("utf-8", "surrogatepass")]
        elif not (k and parts[k - 1] in unknown):  # a run of unknown characters: one <unk>
            ids.append(tok.unk_id)
    return ids
