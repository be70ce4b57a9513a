"""Readable twins of the fast algorithms: one page per algorithm, read top to bottom.

Each module here does what a fast path does, the obvious way (recount everything, enumerate every
segmentation), with no cache, heap or compiled kernel, so a learner can read the algorithm and the
tests can hold the fast code to it on random corpora (``tests/train/test_reference_twins.py``):

* :mod:`~tokkit.train.reference.bpe`: byte-level BPE training and encoding, the twin of
  :mod:`tokkit.train.bpe` (its merge loops :mod:`~tokkit.train.bpe_merge`,
  :mod:`~tokkit.train.bpe_merge_numba`, :mod:`~tokkit.train.bpe_long`) and of
  :class:`tokkit.models.bpe.ByteLevelBPETokenizer`'s encoder;
* :mod:`~tokkit.train.reference.wordpiece`: WordPiece training by likelihood score and
  longest-match-first encoding, the twin of :mod:`tokkit.train.wordpiece` and
  :class:`tokkit.models.wordpiece.WordPieceTokenizer`;
* :mod:`~tokkit.train.reference.unigram`: the Unigram model's E-step (expected piece counts,
  log-likelihood) and best segmentation by enumerating every segmentation, the twin of
  :class:`tokkit.train.unigram_lattice.Lattice`.

They are quadratic or exponential: for reading and for tests, never for a real corpus.
"""
