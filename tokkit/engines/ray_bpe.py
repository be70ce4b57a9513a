"""BPE chunk counting on Ray Data: a map over partitions of files, a reduce of counts on the driver.

Each partition (a run of whole input files, see :mod:`tokkit.engines.ray_runtime`) is read and
its chunks counted with the local engine's :func:`~tokkit.train.bpe_count.count_batch`; it comes
back as its distinct chunks and their counts. The driver adds them up into one
:class:`~tokkit.train.bpe_count.ChunkCounts`, spilling sorted runs to disk beyond the counter's
share of ``max_memory`` exactly as local counting does, and the merge loop runs on the driver
(:meth:`~tokkit.train.bpe.BPETrainer.train_counted`). Counts are sums, so the partitions may
finish in any order: the chunk counts, and then the merges, are the local engine's.

The local ``train-bpe`` holds out every 100th document of the corpus stream for evaluation; a
partition does not know its documents' place in that stream, so on Ray every document is counted
and there is no held-out slice (``train_report.json`` has no bytes/token then).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.corpus.readers import ReadOptions, ReadStats, iter_files, read_texts
from tokkit.engines.ray_runtime import (
    RayOptions,
    map_partitions,
    partition_specs,
    portable_errors,
    ray_errors,
    ray_session,
)
from tokkit.errors import InputError
from tokkit.train.bpe_count import BATCH_CHARS, ChunkCounts, count_batch
from tokkit.types import Progress


@portable_errors
def _count_partition(batch: dict[str, np.ndarray], *, pattern: str, read: dict[str, Any]
                     ) -> Iterator[dict[str, np.ndarray]]:
    """Count one partition's chunks (in batches of the local engine's size)."""
    from tokkit.batches import batched

    options = ReadOptions(**read)
    for raw in batch["spec"]:
        spec = json.loads(str(raw))
        counts: Counter[str] = Counter()
        documents = size = 0
        stats = ReadStats()
        for texts in batched(read_texts(spec["files"], options, stats=stats), BATCH_CHARS):
            part, docs, nbytes = count_batch(pattern, texts)
            counts.update(part)
            documents += docs
            size += nbytes
        yield {"partition": np.array([int(spec["partition"])]),
               "chunks": np.array([list(counts)], dtype=object),
               "counts": np.array([np.fromiter(counts.values(), dtype=np.int64, count=len(counts))],
                                  dtype=object),
               "documents": np.array([documents], dtype=np.int64),
               "bytes": np.array([size], dtype=np.int64),
               "stats": np.array([json.dumps(asdict(stats))], dtype=object)}


def ray_count_chunks(
    paths: Sequence[str | Path],
    pattern: str,
    *,
    read_options: ReadOptions | None = None,
    options: RayOptions | None = None,
    progress: Progress | None = None,
    max_chunks: int | None = None,
    spill: Path | None = None,
    stats: ReadStats | None = None,
) -> ChunkCounts:
    """:func:`tokkit.train.bpe_count.count_chunks` of the files under ``paths`` on Ray: the same
    counts (``max_chunks``/``spill`` as there). ``stats`` gets the readers' figures."""
    from tokkit.progress import NULL_PROGRESS
    from tokkit.train.bpe_count import spill_counts

    options = (options or RayOptions()).check()
    read_options = read_options or ReadOptions(split="line")
    progress = progress or NULL_PROGRESS
    files = list(iter_files(paths, stats))
    if not files:
        raise InputError(f"{', '.join(map(str, paths))}: no files to train on; check the corpus path")
    part_bytes, specs = partition_specs(files, options.partition_bytes)
    total = ChunkCounts()
    with ray_session(options) as ray, ray_errors("train-bpe counting"):
        task = progress.task("ray: counting chunks", total=sum(part_bytes), unit="bytes")
        dataset = ray.data.from_items(specs, override_num_blocks=len(specs))
        stage = map_partitions(dataset, _count_partition, options, pattern=pattern,
                               read=asdict(read_options))
        for row in stage.iter_rows():
            total.counts.update(dict(zip(row["chunks"], row["counts"].tolist(), strict=True)))
            total.documents += int(row["documents"])
            total.corpus_bytes += int(row["bytes"])
            if stats is not None:
                stats.add(ReadStats(**json.loads(str(row["stats"]))))
            task.advance(part_bytes[int(row["partition"])])
            if max_chunks is not None and len(total.counts) > max_chunks:
                spill_counts(total, spill)
    if total.runs and total.counts:
        spill_counts(total, spill)
    return total


def ray_train_bpe(config: Any, paths: Sequence[str | Path], *, read_options: ReadOptions | None = None,
                  options: RayOptions | None = None, progress: Progress | None = None) -> Any:
    """Train a :class:`~tokkit.train.bpe.BPETrainer` with ``config`` on the files under ``paths``,
    counting on Ray; returns ``(tokenizer, trainer, read stats, seconds)``."""
    from tokkit.models.pretokenize import resolve_pattern
    from tokkit.train.bpe import BPETrainer
    from tokkit.train.bpe_spill import spill_directory

    config.check()
    trainer = BPETrainer(config)
    stats = ReadStats()
    start = time.perf_counter()
    with spill_directory() as spill:
        counted = ray_count_chunks(paths, resolve_pattern(config.pattern), read_options=read_options,
                                   options=options, progress=progress,
                                   max_chunks=trainer.max_chunks(), spill=spill, stats=stats)
        if counted.documents == 0:
            raise InputError(f"{', '.join(map(str, paths))}: no documents to train on (empty or "
                             "skipped files); check the corpus path and `split`/`text_field`")
        tokenizer = trainer.train_counted(counted, progress=progress, started=start)
    return tokenizer, trainer, stats, time.perf_counter() - start


def ray_train_bpe_to_dir(config: Any, *, corpus: Sequence[str | Path], output: str | Path,
                         read_options: ReadOptions | None = None, options: RayOptions | None = None,
                         force: bool = False, progress: Progress | None = None) -> Any:
    """:func:`tokkit.train.run.train_to_dir` for the from-scratch BPE trainer, counting on Ray
    (no held-out slice, see the module docstring); returns its :class:`TrainReport`."""
    from tokkit.atomic import output_lock
    from tokkit.progress import NULL_PROGRESS
    from tokkit.resources import MemoryWatch
    from tokkit.train.run import HeldoutSlice, check_output, publish_training

    read_options = read_options or ReadOptions(split="line")
    with output_lock(output):
        check_output(output, force=force, corpus=corpus)
        watch = MemoryWatch(progress or NULL_PROGRESS)
        tokenizer, trainer, stats, seconds = ray_train_bpe(config, corpus, read_options=read_options,
                                                           options=options, progress=watch)
        return publish_training(tokenizer, trainer_stats={**trainer.stats, "engine": "ray"},
                                stats=stats, seconds=seconds, watch=watch, corpus=corpus,
                                output=output, algorithm="bpe", backend="scratch",
                                config=config.to_dict(), read_options=read_options, force=force,
                                heldout=HeldoutSlice(every=0))
