"""Count pre-tokenized chunks of a text stream, in parallel, without holding the corpus.

BPE merges never cross chunk boundaries, so training only needs each distinct chunk once with its
count. Texts are cut into batches of about :data:`BATCH_CHARS` characters and sent to worker
processes, at most ``2 × workers`` batches in flight, so memory holds the chunk counts plus a few
batches, never the corpus. Tiny inputs (one batch) are counted in-process: starting workers would
cost more than the work.

A batch is counted by ``regex`` ``findall`` and a ``Counter`` (:func:`count_batch`, the
specification), or, for the GPT-4 pattern with numba installed, by the compiled scanner and counter
of :mod:`tokkit.train.bpe_count_numba` (same counts), whose batches come back as one string and one
array rather than a pickled ``Counter``.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tokkit.batches import batched
from tokkit.models.pretokenize import GPT4_PATTERN, compiled
from tokkit.pool import map_in_order, worker_count
from tokkit.types import ProgressTask

BATCH_CHARS = 1 << 20
COUNT_KERNELS = ("auto", "regex", "numba")
"""``count_chunks(kernel=...)``: ``regex`` (:func:`count_batch`), ``numba`` (the compiled GPT-4
counter), ``auto`` (numba for the GPT-4 pattern when importable and the input is more than one
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


def _checked(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        if not isinstance(text, str):
            from tokkit.errors import InputError

            raise InputError(
                f"BPE training expects texts as str, got {type(text).__name__}; "
                "decode the corpus first (tokkit.corpus.read_texts does)"
            )
        yield text


def _add(total: ChunkCounts, result: tuple[Counter[str], int, int], task: ProgressTask) -> None:
    counts, docs, size = result
    total.counts.update(counts)
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
    batches = batched(_checked(texts), BATCH_CHARS)
    head = list(itertools.islice(batches, 2))
    batches = itertools.chain(head, batches)
    if compiled_kernel(pattern, kernel, several=len(head) > 1):
        return _count_compiled(batches, workers, task, max_chunks, spill)
    total = ChunkCounts()
    for _, result in map_in_order(functools.partial(count_batch, pattern), batches, workers):
        _add(total, result, task)
        if max_chunks is not None and len(total.counts) > max_chunks:
            spill_counts(total, spill)
    if total.runs and total.counts:
        spill_counts(total, spill)
    return total


def compiled_kernel(pattern: str, kernel: str, *, several: bool = True) -> bool:
    """Whether ``kernel`` means the compiled counter for ``pattern`` (``several``: more than one
    batch; one is counted sooner by ``findall`` than numba loads)."""
    if kernel not in COUNT_KERNELS:
        raise ValueError(f"count_chunks: `kernel` must be one of {', '.join(COUNT_KERNELS)}, got {kernel!r}")
    from tokkit.train.bpe_count_numba import available

    possible = available() and pattern == GPT4_PATTERN
    if kernel == "numba" and not possible:
        raise ValueError("count_chunks: `kernel='numba'` needs numba and the GPT-4 pattern")
    return kernel == "numba" or (kernel == "auto" and several and possible)


def _count_compiled(batches: Iterator[list[str]], workers: int, task: ProgressTask,
                    max_chunks: int | None, spill: Path | None) -> ChunkCounts:
    """:func:`count_chunks` by the compiled kernel (the same loop, another batch format)."""
    from tokkit.train.bpe_count_numba import add_batch, count_batch_joined

    count_batch_joined(["warm up"])  # compiled (or loaded) and tables built before workers fork
    total = ChunkCounts()
    for _, (chunks, docs, size) in map_in_order(count_batch_joined, batches, workers):
        add_batch(total.counts, chunks)
        total.documents += docs
        total.corpus_bytes += size
        task.advance(size)
        if max_chunks is not None and len(total.counts) > max_chunks:
            spill_counts(total, spill)
    if total.runs and total.counts:
        spill_counts(total, spill)
    return total


def spill_counts(total: ChunkCounts, directory: Path | None) -> None:
    """Write the counter of ``total`` as its next sorted run in ``directory`` and empty it."""
    from tokkit.train.bpe_spill import write_run

    if directory is None:
        raise ValueError("count_chunks: `max_chunks` needs a `spill` directory")
    total.runs.append(write_run(total.counts, directory, len(total.runs)))
    total.counts = Counter()
