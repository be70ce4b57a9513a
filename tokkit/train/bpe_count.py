"""Count pre-tokenized chunks of a text stream, in parallel, without holding the corpus.

BPE merges never cross chunk boundaries, so training only needs each distinct chunk once with its
count. Texts are cut into batches of about :data:`BATCH_CHARS` characters and sent to worker
processes, at most ``2 × workers`` batches in flight, so memory holds the chunk counts plus a few
batches, never the corpus. Tiny inputs (one batch) are counted in-process: starting workers would
cost more than the work.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tokkit.batches import batched
from tokkit.models.pretokenize import compiled
from tokkit.pool import map_in_order, worker_count
from tokkit.types import ProgressTask

BATCH_CHARS = 1 << 20


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
) -> ChunkCounts:
    """Count the chunks of ``texts`` under ``pattern`` with ``workers`` processes (0 or None: every
    core, 1: in this process; :func:`tokkit.pool.worker_count`).

    ``task`` advances by the UTF-8 bytes counted. When the counter holds more than ``max_chunks``
    distinct chunks it is written to a sorted run in the directory ``spill`` and emptied; if any
    run was written, the rest is too, so the result is all runs (or all in ``counts``).
    """
    workers = worker_count(workers)
    total = ChunkCounts()
    batches = batched(_checked(texts), BATCH_CHARS)
    for _, result in map_in_order(functools.partial(count_batch, pattern), batches, workers):
        _add(total, result, task)
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
