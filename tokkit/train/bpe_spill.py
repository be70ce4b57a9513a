"""Chunk counts in bounded memory: sorted runs spilled to disk and merged back (an external merge).

Why: the distinct chunks of a corpus and their counts are what BPE training needs, but the counter
of a large corpus (one Python string and count per distinct chunk, ~200 bytes each) can outgrow
the machine. When it holds more than its share of ``max_memory``, the counter is written to a run
file sorted by chunk and emptied; at the end the runs are merged (``heapq.merge``), equal chunks
summed, straight into the arrays the merge loop takes (UTF-8 bytes end to end, bytes per chunk,
counts), so no counter of every chunk is ever built. Counts are exact, so the merges are the same
with and without spilling (the merge loops do not depend on chunk order).

A run is a sequence of records ``<length u32><count u64><UTF-8 bytes>``; sorting by the string
sorts by its UTF-8 bytes (code point order, lone surrogates included through ``surrogatepass``),
the order the merge compares. The runs live in a temporary directory that is removed on success,
error or Ctrl-C (:func:`spill_directory`).
"""

from __future__ import annotations

import heapq
import struct
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokkit.types import ProgressTask

ENTRY_BYTES = 200
"""Estimated bytes of one counter entry (a short ``str``, an ``int``, a dict slot), measured
~190 on en+zh (711,860 chunks: 135 MB)."""
COUNTER_SHARE = 0.25
"""The share of ``max_memory`` the counter may hold before it spills (the rest: workers, batches
in flight, the merge phase's arrays)."""

WORKER_BYTES = 130_000_000
"""One counting worker's share of memory (PSS): its interpreter, the compiled counter and a batch in
hand. Measured 125 MB each of two fork-server workers on en+zh (2026-12-03)."""

_HEADER = struct.Struct("<IQ")


def counter_limit(max_memory: int) -> int:
    """How many distinct chunks the counter may hold under ``max_memory`` bytes (at least 1)."""
    return max(1, int(max_memory * COUNTER_SHARE) // ENTRY_BYTES)


def counting_workers(max_memory: int, workers: int, in_use: int | None = None) -> int:
    """How many of ``workers`` counting processes fit in ``max_memory`` bytes beside this process
    (``in_use`` bytes, its RSS now by default) and the counter's share; 1 (count in this process,
    no worker at all) when fewer than two fit. Why: each worker loads its own interpreter and
    kernel, so two workers alone outgrow a limit of a few hundred MB that one process keeps."""
    if workers <= 1:
        return workers
    if in_use is None:
        import psutil

        in_use = psutil.Process().memory_info().rss
    room = max_memory - in_use - int(max_memory * COUNTER_SHARE)
    fit = max(0, room) // WORKER_BYTES
    return min(workers, fit) if fit >= 2 else 1


@contextmanager
def spill_directory(parent: str | Path | None = None) -> Iterator[Path]:
    """A fresh directory for run files, removed with everything in it when the block ends; also
    by the CLI's Ctrl-C watchdog when it ends the process without unwinding (a long native call)."""
    from tokkit.atomic import LIVE_TEMPORARIES

    with tempfile.TemporaryDirectory(prefix="tokkit-spill-", dir=parent) as name:
        path = Path(name)
        LIVE_TEMPORARIES.add(path)
        try:
            yield path
        finally:
            LIVE_TEMPORARIES.discard(path)


def write_run(counts: Counter[str], directory: Path, index: int) -> Path:
    """Write ``counts`` sorted by chunk as run ``index`` in ``directory``; returns its path."""
    path = directory / f"run-{index:05d}.bin"
    pack = _HEADER.pack
    with path.open("wb", buffering=1 << 20) as handle:
        write = handle.write
        for chunk in sorted(counts):
            data = chunk.encode("utf-8", "surrogatepass")
            write(pack(len(data), counts[chunk]))
            write(data)
    return path


def read_run(path: Path) -> Iterator[tuple[bytes, int]]:
    """The ``(chunk bytes, count)`` records of a run, in order."""
    size = _HEADER.size
    unpack = _HEADER.unpack
    with path.open("rb", buffering=1 << 20) as handle:
        read = handle.read
        while header := read(size):
            length, count = unpack(header)
            yield read(length), count


def summed_records(paths: list[Path], task: ProgressTask | None = None) -> Iterator[tuple[bytes, int]]:
    """The records of the runs merged in chunk order, equal chunks summed: each chunk once. Memory
    holds one record per run. ``task`` advances by run bytes read."""
    last: bytes | None = None
    total = 0
    read = 0
    for records, (chunk, count) in enumerate(
            heapq.merge(*map(read_run, paths), key=lambda record: record[0]), 1):
        read += len(chunk) + _HEADER.size
        if task is not None and records % 65536 == 0:
            task.advance(read)
            read = 0
        if chunk == last:
            total += count
            continue
        if last is not None:
            yield last, total
        last, total = chunk, count
    if last is not None:
        yield last, total
    if task is not None:
        task.advance(read)


def merge_runs(paths: list[Path], task: ProgressTask | None = None) -> tuple[Any, Any, Any]:
    """The runs merged, equal chunks summed: ``(UTF-8 bytes of every chunk end to end as uint8,
    bytes per chunk, counts)``, chunks in sorted order. ``task`` advances by run bytes read."""
    from array import array

    import numpy as np

    blob = bytearray()
    lengths = array("q")
    weights = array("q")
    for chunk, count in summed_records(paths, task):
        blob.extend(chunk)
        lengths.append(len(chunk))
        weights.append(count)
    return (np.frombuffer(blob, dtype=np.uint8), np.frombuffer(lengths, dtype=np.int64),
            np.frombuffer(weights, dtype=np.int64))


@dataclass(frozen=True)
class MergedRun:
    """The runs merged into one run file (sorted, every chunk once, counts summed), with what a
    layout needs to size itself: ``chunks``, ``heavy`` (those counted more than once) and their
    UTF-8 ``utf8_bytes``."""

    path: Path
    chunks: int
    heavy: int
    utf8_bytes: int


def merge_runs_to_file(paths: list[Path], out: Path, task: ProgressTask | None = None) -> MergedRun:
    """Merge the runs into the run file ``out`` (streamed: memory holds one record per run), so the
    merge phase can lay the chunks out without holding them twice. ``task`` advances by run bytes."""
    pack = _HEADER.pack
    chunks = heavy = utf8_bytes = 0
    with out.open("wb", buffering=1 << 20) as handle:
        write = handle.write
        for chunk, count in summed_records(paths, task):
            write(pack(len(chunk), count))
            write(chunk)
            chunks += 1
            heavy += count > 1
            utf8_bytes += len(chunk)
    return MergedRun(out, chunks, heavy, utf8_bytes)
