"""What dedup's first pass keeps of the whole corpus: fixed-width values per document, on disk.

Per document: its 16-byte exact digest, its length, its record number (the id, see
:mod:`tokkit.dedup.ids`) and whether it has shingles. Only documents with shingles (at least
``near_min_words`` words) have a MinHash signature, a shingle set and LSH band keys, so a corpus
of short records stores no 512-byte signature for each of them. Everything is spooled to files in
the output's temp directory while the corpus is read (memory holds one batch), and read back
column by column when needed; signatures are read a few rows at a time, band keys a band at a
time.

The bound that follows (stated in the README and checked by
``benchmarks/bench_dedup_small_docs.py``): beyond the interpreter and libraries (~50 MB), dedup
holds about 60 bytes a document: while it looks for twins, the exact digests (16), record numbers
(4-8) and flags; then the clustering of the documents that have a twin (~40 each: labels, kept,
reason, similarity, digest), plus one band's LSH keys (8 bytes a shingled document) when near
dedup is on and the shingle sets of the candidate pairs it verifies. 2 M one-word jsonl records
(44 MiB) peak at 168 MiB, under 4x the input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tokkit.dedup.config import DedupConfig
from tokkit.dedup.lsh import band_key
from tokkit.dedup.normalize import EXACT_DIGEST_BYTES
from tokkit.dedup.signatures import EMPTY
from tokkit.dedup.spool import ArraySpool

if TYPE_CHECKING:
    from tokkit.dedup.pipeline import Features

SIGNATURES_FILE = ".signatures.u32"
SETS_FILE = ".shingle-sets.u32"


class SignatureRows:
    """MinHash signatures read from their file on demand: ``rows[index_array]`` gives
    ``(len(index), num_perm)`` uint32; ``row_of[i]`` is document ``i``'s row in the file, or -1
    for a document without shingles (all :data:`~tokkit.dedup.signatures.EMPTY`, as datasketch
    leaves an empty MinHash)."""

    def __init__(self, path: Path, num_perm: int, row_of: np.ndarray) -> None:
        self.path = path
        self.num_perm = num_perm
        self.row_of = np.asarray(row_of, dtype=np.int64)
        self._row_bytes = 4 * num_perm

    def __len__(self) -> int:
        return len(self.row_of)

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        rows = self.row_of[np.asarray(index, dtype=np.int64)]
        out = np.full((len(rows), self.num_perm), EMPTY, dtype=np.uint32)
        have = np.flatnonzero(rows >= 0)
        if len(have):
            out[have] = self._read(rows[have])
        return out

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """Rows by ``os.pread``, one call per run of consecutive rows (no memory map: its pages
        would count as the process' memory)."""
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
        starts, ends = np.r_[0, breaks], np.r_[breaks, len(ordered)]
        found = np.empty((len(rows), self.num_perm), dtype=np.uint32)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
                first = int(ordered[lo])
                count = hi - lo
                data = os.pread(fd, count * self._row_bytes, first * self._row_bytes)
                found[lo:hi] = np.frombuffer(data, dtype=np.uint32).reshape(count, self.num_perm)
        finally:
            os.close(fd)
        out = np.empty_like(found)
        out[order] = found
        return out


@dataclass
class CorpusColumns:
    """Pass 1's per-document values, read back (see the module doc)."""

    shingled: np.ndarray  # (n,) bool
    numbers: np.ndarray  # (n,) int32 or int64: record numbers
    counts: list[int]  # documents per input file
    shingled_docs: np.ndarray  # (s,) int64: the documents with a signature, in row order
    set_offsets: np.ndarray | None  # (s + 1,) int64: row r's set is sets[o[r]:o[r+1]]


class FeatureSpool:
    """Pass 1's output, written a batch at a time under ``directory`` (the run's temp dir)."""

    def __init__(self, directory: Path, config: DedupConfig) -> None:
        self.directory = directory
        self.config = config
        self.bands, self.rows = config.lsh_params()
        self.documents = 0
        self.counts: list[int] = []
        self.keys = ArraySpool(directory / ".exact-keys.u8", np.uint8, EXACT_DIGEST_BYTES)
        self.lengths = ArraySpool(directory / ".lengths.i64", np.int64)
        self.shingled = ArraySpool(directory / ".shingled.bool", np.bool_)
        self.numbers = ArraySpool(directory / ".numbers.i64", np.int64)
        self.shingled_docs = ArraySpool(directory / ".shingled-docs.i64", np.int64)
        self.set_sizes = ArraySpool(directory / ".set-sizes.i64", np.int64)
        self.signatures = ArraySpool(directory / SIGNATURES_FILE, np.uint32, config.num_perm)
        self.sets = ArraySpool(directory / SETS_FILE, np.uint32)
        self.band_spools = [ArraySpool(directory / f".band-{b:03d}.u64", np.uint64)
                            for b in range(self.bands)] if config.near else []

    def add(self, file: int, numbers: np.ndarray, features: Features) -> None:
        """Append one batch of file ``file``'s documents: their record numbers and features."""
        while len(self.counts) <= file:
            self.counts.append(0)
        self.counts[file] += len(numbers)
        self.keys.append(features.keys)
        self.lengths.append(features.lengths)
        self.shingled.append(features.shingled)
        self.numbers.append(numbers)
        rows = np.flatnonzero(features.shingled)
        if len(rows):
            sigs = np.asarray(features.signatures)[rows]
            self.signatures.append(sigs)
            self.shingled_docs.append(rows + self.documents)
            for band, spool in enumerate(self.band_spools):
                spool.append(band_key(sigs, band, self.rows))
            sets, offsets = features.sets, features.set_offsets
            if sets is not None and offsets is not None:
                self.sets.append(sets)
                self.set_sizes.append(np.diff(offsets)[rows])
        self.documents += len(numbers)

    def finish(self, files: int) -> CorpusColumns:
        """Close the spools and read the small per-document columns back (exact digests and
        lengths are read by :meth:`exact_keys` and :meth:`lengths_of`; signatures, sets and band
        keys stay on disk)."""
        while len(self.counts) < files:
            self.counts.append(0)
        numbers = self.numbers.read()
        if len(numbers) and int(numbers.max()) < 2**31:
            numbers = numbers.astype(np.int32)
        sizes = self.set_sizes.read()
        set_offsets = None
        if self.config.near and self.config.verify == "exact":
            set_offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
            np.cumsum(sizes, out=set_offsets[1:])
        self.signatures.close()
        self.sets.close()
        for spool in self.band_spools:
            spool.close()
        self.keys.close()
        self.lengths.close()
        return CorpusColumns(shingled=self.shingled.read(), numbers=numbers, counts=self.counts,
                             shingled_docs=self.shingled_docs.read(), set_offsets=set_offsets)

    def exact_keys(self) -> np.ndarray:
        """Every document's exact digest, ``(n, 16)`` uint8 (read when asked: 16 bytes each)."""
        return self.keys.read(unlink=False)

    def lengths_of(self) -> np.ndarray:
        """Every document's length in characters (read when asked: 8 bytes each)."""
        return self.lengths.read(unlink=False)

    def band(self, band: int) -> np.ndarray:
        """Band ``band``'s LSH key of every shingled document, in row order."""
        spool = self.band_spools[band]
        return np.fromfile(spool.path, dtype=np.uint64) if spool.rows else np.zeros(0, np.uint64)

    def signature_rows(self, row_of: np.ndarray) -> SignatureRows:
        return SignatureRows(self.signatures.path, self.config.num_perm, row_of)

    def sets_array(self) -> np.ndarray:
        """Every shingled document's set, one after the other (a read-only memory map)."""
        if self.sets.rows == 0:
            return np.zeros(0, dtype=np.uint32)
        return np.memmap(self.sets.path, dtype=np.uint32, mode="r", shape=(self.sets.rows,))

    def remove(self) -> None:
        """Delete the working files (they live in the output's temp dir until then)."""
        for spool in (self.keys, self.lengths, self.shingled, self.numbers, self.shingled_docs,
                      self.set_sizes, self.signatures, self.sets, *self.band_spools):
            spool.close()
            spool.path.unlink(missing_ok=True)
