"""Count pre-tokenized chunks of a text stream, in parallel, without holding the corpus.

BPE merges never cross chunk boundaries, so training only needs each distinct chunk once with its
count. Texts are cut into batches of about :data:`BATCH_CHARS` characters and sent to worker
processes, at most ``2 × workers`` batches in flight, so memory holds the chunk counts plus a few
batches, never the corpus. Tiny inputs (one batch) are counted in-process: starting workers would
cost more than the work.

A batch is counted by ``regex`` ``findall`` and a ``Counter`` (:func:`count_batch`, the
specification), or, for the GPT-4 pattern with numba installed, by the compiled scanner of
:mod:`tokkit.train.bpe_count_numba` (same counts; ~5x less worker time), which sends its distinct
chunks back as one string and one array instead of a pickled ``Counter``.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokkit.batches import batched
from tokkit.models.pretokenize import GPT4_PATTERN, compiled
from tokkit.pool import map_in_order, worker_count
from tokkit.types import ProgressTask

BATCH_CHARS = 1 << 20
COUNT_KERNELS = ("auto", "regex", "numba")
"""``count_chunks(kernel=...)``: ``regex`` (:func:`count_batch`), ``numba`` (the compiled GPT-4
scanner), ``auto`` (numba for the GPT-4 pattern when importable and the input is more than one
batch, else regex). Every kernel gives the same counts."""


@dataclass
class ChunkCounts:
    """Distinct chunks with their counts, and how much text they came from."""

    counts: Counter[str] = field(default_factory=Counter)
    documents: int = 0
    corpus_bytes: int = 0
    runs: list[Path] = field(default_factory=list)
    """Sorted runs spilled to disk (:mod:`tokkit.train.bpe_spill`); with runs, ``counts`` is empty
    and the chunks are the runs merged."""


def count_batch(pattern: str, texts: list[str]) -> tuple[Counter[str], int, int]:
    """One batch: (chunk counts, texts, UTF-8 bytes). Runs in a worker process."""
    findall = compiled(pattern).findall
    counts: Counter[str] = Counter()
    update = counts.update
    size = 0
    for text in texts:
        update(findall(text))
        size += len(text.encode("utf-8", "surrogatepass"))
    return counts, len(texts), size


Packed = tuple[str, Any]
"""A batch's distinct chunks joined by NUL and their counts (``int64``), from the compiled kernel."""
BatchResult = tuple[Counter[str] | Packed, int, int]
"""(chunk counts, texts, UTF-8 bytes) of one batch."""


def count_batch_fast(pattern: str, texts: list[str]) -> BatchResult:
    """One batch by the compiled GPT-4 scanner, or by :func:`count_batch` when the batch holds a
    NUL (the separator of the packed form). Runs in a worker process."""
    from tokkit.train.bpe_count_numba import count_batch_packed

    packed = count_batch_packed(texts)
    if packed is None:
        return count_batch(pattern, texts)
    joined, counts, docs, size = packed
    return (joined, counts), docs, size


def add_packed(counter: Counter[str], packed: Packed) -> None:
    """Add a packed batch to ``counter``: every chunk once by ``Counter.update`` (C), then what
    the repeated ones add beyond that (most chunks of a batch occur once)."""
    import numpy as np

    joined, counts = packed
    if not len(counts):
        return
    chunks = joined.split("\0")
    counter.update(chunks)
    repeated = np.flatnonzero(counts > 1)
    for index, extra in zip(repeated.tolist(), (counts[repeated] - 1).tolist(), strict=True):
        counter[chunks[index]] += extra


def _checked(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        if not isinstance(text, str):
            from tokkit.errors import InputError

            raise InputError(
                f"BPE training expects texts as str, got {type(text).__name__}; "
                "decode the corpus first (tokkit.corpus.read_texts does)"
            )
        yield text


def _add(total: ChunkCounts, result: BatchResult, task: ProgressTask) -> None:
    counts, docs, size = result
    if isinstance(counts, Counter):
        total.counts.update(counts)
    else:
        add_packed(total.counts, counts)
    total.documents += docs
    total.corpus_bytes += size
    task.advance(size)


def count_chunks(
    texts: Iterable[str],
    pattern: str,
    *,
    workers: int | None,
    task: ProgressTask,
    max_chunks: int | None = None,
    spill: Path | None = None,
    kernel: str = "auto",
) -> ChunkCounts:
    """Count the chunks of ``texts`` under ``pattern`` with ``workers`` processes (0 or None: every
    core, 1: in this process; :func:`tokkit.pool.worker_count`).

    ``task`` advances by the UTF-8 bytes counted. When the counter holds more than ``max_chunks``
    distinct chunks it is written to a sorted run in the directory ``spill`` and emptied; if any
    run was written, the rest is too, so the result is all runs (or all in ``counts``).
    ``kernel`` is one of :data:`COUNT_KERNELS`.
    """
    workers = worker_count(workers)
    total = ChunkCounts()
    batches = batched(_checked(texts), BATCH_CHARS)
    head = list(itertools.islice(batches, 2))
    count = batch_counter(pattern, kernel, several=len(head) > 1)
    for _, result in map_in_order(count, itertools.chain(head, batches), workers):
        _add(total, result, task)
        if max_chunks is not None and len(total.counts) > max_chunks:
            spill_counts(total, spill)
    if total.runs and total.counts:
        spill_counts(total, spill)
    return total


def batch_counter(pattern: str, kernel: str, *, several: bool = True
                  ) -> Callable[[list[str]], BatchResult]:
    """The (picklable) function that counts one batch under ``kernel``; the compiled one is
    compiled and its tables built here, before workers fork, so each inherits them."""
    if kernel not in COUNT_KERNELS:
        raise ValueError(f"count_chunks: `kernel` must be one of {', '.join(COUNT_KERNELS)}, got {kernel!r}")
    from tokkit.train.bpe_count_numba import available, count_batch_packed

    if kernel == "numba" and not (available() and pattern == GPT4_PATTERN):
        raise ValueError("count_chunks: `kernel='numba'` needs numba and the GPT-4 pattern")
    fast = kernel == "numba" or (kernel == "auto" and several and available() and pattern == GPT4_PATTERN)
    if not fast:
        return functools.partial(count_batch, pattern)
    count_batch_packed(["warm up"])
    return functools.partial(count_batch_fast, pattern)


def spill_counts(total: ChunkCounts, directory: Path | None) -> None:
    """Write the counter of ``total`` as its next sorted run in ``directory`` and empty it."""
    from tokkit.train.bpe_spill import write_run

    if directory is None:
        raise ValueError("count_chunks: `max_chunks` needs a `spill` directory")
    total.runs.append(write_run(total.counts, directory, len(total.runs)))
    total.counts = Counter()
