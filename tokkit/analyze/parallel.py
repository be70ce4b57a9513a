"""Measuring in worker processes: each one encodes whole batches and tallies them itself.

Why processes: in one process, tokkit's tally of a batch (turning ~1M Python ids per MB into numpy
arrays) holds the GIL while the library encodes the next batch, and sentencepiece's batch encode
keeps every core busy with threads that idle at the end of each batch. In N processes, each library
encodes with one thread and tokkit's tally runs beside the other worker's encode instead of after
it, so analysis scales with the cores (docs/analyze.md has the figures). Only texts go out and only
small tallies (the histogram's non-zero bins) come back; results are in input order and identical
to the in-process path (tested).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

import numpy as np

from tokkit.analyze.measure import Measurer, TextTally, TokenTally, text_tally
from tokkit.errors import TokkitError
from tokkit.pool import die_with_parent, pool_context, submit_in_order

PackedTally = tuple[np.ndarray, np.ndarray, np.ndarray, int, int]
"""A :class:`TokenTally` for the trip back: ids with a non-zero count, their counts, split
characters per script, split Han characters, exact round trips."""

_MEASURERS: list[Measurer] = []


def _pack(tally: TokenTally) -> PackedTally:
    ids = np.flatnonzero(tally.histogram)
    return ids.astype(np.int32), tally.histogram[ids], tally.split_scripts, tally.han_split, tally.roundtrip_exact


def _unpack(packed: PackedTally, size: int) -> TokenTally:
    ids, counts, split_scripts, han_split, roundtrip_exact = packed
    histogram = np.zeros(size, np.int64)
    histogram[ids] = counts
    return TokenTally(histogram=histogram, split_scripts=split_scripts, han_split=han_split,
                      roundtrip_exact=roundtrip_exact)


def _start_worker(measurers: Sequence[Measurer]) -> None:
    die_with_parent()  # forkserver children too: a Ctrl-C'd parent leaves no worker behind
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # tokenizers too: one thread per worker
    _MEASURERS[:] = measurers


def _measure_in_worker(texts: list[str]) -> tuple[TextTally, list[PackedTally]]:
    encoded = [t.encode("utf-8") for t in texts]
    return text_tally(texts, encoded), [_pack(m.measure(texts, encoded)) for m in _MEASURERS]


def can_ship(measurers: Sequence[Measurer]) -> bool:
    """Whether worker processes can get these measurers: always by fork, else only if they pickle
    (a tokenizer object handed to :func:`~tokkit.analyze.compression.analyze` may not)."""
    if pool_context().get_start_method() == "fork":
        return True
    try:
        pickle.dumps(list(measurers))
    except Exception:
        return False
    return True


class MeasurePool:
    """``workers`` processes, each holding every measurer; use as a context manager.

    Starting costs a fork (~0.05 s), or in a process running threads of its own a fresh interpreter
    that unpickles the measurers (~1–2 s), so callers start one per corpus, not per batch.
    """

    def __init__(self, measurers: Sequence[Measurer], workers: int) -> None:
        # one encoder thread per worker: the processes are the parallelism
        self.measurers = [m.with_threads(1) for m in measurers]
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(),
                                         initializer=_start_worker, initargs=(self.measurers,))

    def __enter__(self) -> MeasurePool:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._pool.shutdown(wait=error is None, cancel_futures=True)

    def measure(
        self, batches: Iterable[tuple[str, list[str], list[bytes]]]
    ) -> Iterator[tuple[str, TextTally, list[TokenTally]]]:
        """(source, text tally, one token tally per measurer) for each batch, in input order,
        with at most ``2 × workers`` batches in flight."""
        sizes = [m.table.size for m in self.measurers]
        jobs = submit_in_order(lambda batch: self._pool.submit(_measure_in_worker, batch[1]), batches,
                               window=2 * self.workers)
        try:
            for (source, _, _), (text, packed) in jobs:
                yield source, text, [_unpack(p, size) for p, size in zip(packed, sizes, strict=True)]
        except BrokenProcessPool:
            raise TokkitError(
                "analyze: a worker process died or could not start (out of memory, killed, or a "
                "tokenizer object that cannot be rebuilt in a new process); pass `workers=1` to "
                "analyze in one process"
            ) from None
