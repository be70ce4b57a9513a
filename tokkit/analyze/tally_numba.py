"""One compiled pass over a batch's ids: the fast twin of the numpy passes in
:meth:`tokkit.analyze.measure.Measurer.tally`, which stay the readable specification (same
tallies, tested in ``tests/analyze/test_tally_numba.py``).

Why: on sentencepiece, which hands its ids over as Python lists, reading them into numpy already
costs about a fifth of the library's encode, and the numpy tally after it (an id histogram, the
byte-fallback tokens picked out, the round trip compared eight bytes at a time) makes about ten
passes over the ids for another fifth. Here the histogram, the pick of partial-character tokens and
the byte-by-byte round-trip comparison are one loop, so tokkit's own work stays within the
overhead the analyze benchmark holds it to (``benchmarks/bench_analyze.py``). numba comes from PyPI
wheels (the ``fast`` extra; no compiler needed); without it the numpy passes run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import numba

    _jit = numba.njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - numba is optional
    numba = None  # type: ignore[assignment]

    def _jit(fn: Any) -> Any:  # stays a plain function, never called
        return fn


def available() -> bool:
    """Whether the compiled pass can run (numba importable)."""
    return numba is not None


@_jit
def _tally(ids: np.ndarray, counts: np.ndarray, expected: np.ndarray, want: np.ndarray, check: bool,
           lengths: np.ndarray, offsets: np.ndarray, blob: np.ndarray, partial: np.ndarray,
           histogram: np.ndarray, exact: np.ndarray, partial_ids: np.ndarray) -> int:
    """Fill ``histogram``, ``exact`` (per document: its token bytes are the next ``want[d]`` bytes
    of ``expected``, only if ``check``) and ``partial_ids`` (the partial-character tokens, in
    order); return how many partial tokens there were, or -1 - id for the first id outside the
    vocabulary."""
    size = len(histogram)
    t = 0
    base = 0
    n_partial = 0
    for d in range(len(counts)):
        end = base + want[d]
        at = base  # the next byte of expected to match
        same = check
        for _ in range(counts[d]):
            token = ids[t]
            t += 1
            if token < 0 or token >= size:
                return -1 - token
            histogram[token] += 1
            if partial[token]:
                partial_ids[n_partial] = token
                n_partial += 1
            if same:
                length = lengths[token]
                if at + length > end:
                    same = False
                else:
                    start = offsets[token]
                    for b in range(length):
                        if blob[start + b] != expected[at + b]:
                            same = False
                            break
                    at += length
        exact[d] = same and at == end
        base += want[d]
    return n_partial


def tally(ids: np.ndarray, counts: np.ndarray, encoded: list[bytes], prefix: bytes | None,
          lengths: np.ndarray, offsets: np.ndarray, blob: np.ndarray, partial: np.ndarray,
          size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(histogram, per-document byte-exact flags, partial-character token ids) of one batch, or a
    ``ValueError`` naming an id outside ``size``.

    ``exact`` is all False when ``prefix`` is None (the table cannot vouch for the library's
    decode): those documents go to the library's decode, as in the numpy path.
    """
    histogram = np.zeros(size, np.int64)
    exact = np.zeros(len(counts), np.bool_)
    partial_ids = np.empty(len(ids), np.int64)
    head = prefix or b""
    expected = np.frombuffer(b"".join((head, head.join(encoded))), dtype=np.uint8)
    want = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)) + len(head)
    found = _tally(ids, counts, expected, want, prefix is not None, lengths, offsets, blob,
                   partial, histogram, exact, partial_ids)
    if found < 0:
        raise ValueError(f"id {-1 - found} outside the vocabulary of {size}")
    return histogram, exact, partial_ids[:found]
