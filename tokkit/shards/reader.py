"""Read shards back: verified, memory-mapped, never trusted blindly.

:func:`open_shards` checks the manifest as a whole against the files (:mod:`tokkit.shards.verify`)
and, by default, reads every shard once (sha256, ids within the vocabulary, document boundaries),
so a truncated, swapped, dropped or tampered file is refused with the file named before any
training starts.
:class:`PackedSequences` then serves ``seq_len`` sequences straight from ``numpy.memmap`` (no copy
of the corpus in memory); :meth:`ShardSet.documents` undoes the packing for round-trip checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokkit.shards.manifest import Manifest, ShardInfo, ShardIntegrityError


@dataclass(frozen=True)
class ShardSet:
    """A verified shard directory."""

    directory: Path
    manifest: Manifest

    def memmap(self, shard: ShardInfo) -> np.ndarray:
        return np.memmap(self.directory / shard.file, dtype=np.dtype(self.manifest.dtype).newbyteorder("<"),
                         mode="r", shape=(shard.tokens,))

    def tokens(self, split: str = "train") -> Iterator[np.ndarray]:
        """The split's token stream, one shard array at a time."""
        for shard in self.manifest.split(split).shards:
            yield self.memmap(shard)

    def documents(self, split: str = "train") -> Iterator[np.ndarray]:
        """Framed documents of a split (``[BOS] ids EOS``), in corpus order."""
        eos = self.manifest.tokenizer.eos_id
        pending: list[np.ndarray] = []
        for array in self.tokens(split):
            ends = np.flatnonzero(array == eos)
            start = 0
            for end in ends:
                pending.append(np.asarray(array[start : end + 1]))
                yield np.concatenate(pending)
                pending = []
                start = int(end) + 1
            if start < len(array):
                pending.append(np.asarray(array[start:]))
        if pending:
            raise ShardIntegrityError(
                f"{self.directory}: the {split} split ends inside a document (no final EOS); "
                "re-run `tokkit shard`"
            )

    def sequences(self, split: str = "train") -> PackedSequences:
        return PackedSequences(self, split)


def open_shards(directory: str | Path, *, verify: bool = True, vocab_size: int | None = None) -> ShardSet:
    """Open a shard directory after checking its manifest as a whole against the files
    (:func:`~tokkit.shards.verify.check_manifest`); with ``verify`` also read every shard once for
    its sha256, id range and document boundaries (:func:`~tokkit.shards.verify.check_tokens`),
    ids also below ``vocab_size`` when given (a model's embedding rows)."""
    from tokkit.shards.verify import check_manifest, check_tokens

    directory = Path(directory)
    manifest = Manifest.load(directory)
    check_manifest(directory, manifest)
    if verify:
        check_tokens(directory, manifest, vocab_size=vocab_size)
    return ShardSet(directory, manifest)


def verify_shards(directory: str | Path, *, vocab_size: int | None = None) -> ShardSet:
    """:func:`open_shards` with every check: what a trainer calls before its first step.

    ``vocab_size`` is the model's embedding rows: an id at or beyond them is refused here, in one
    line, instead of an ``IndexError`` (a device-side assert on CUDA) mid-training.
    """
    return open_shards(directory, verify=True, vocab_size=vocab_size)


class PackedSequences:
    """The whole ``seq_len`` sequences of one split, indexable like a list of int64 arrays.

    The short tail of the last shard (kept on disk for exact round trips) is not a sequence.
    """

    def __init__(self, shards: ShardSet, split: str) -> None:
        self.seq_len = shards.manifest.seq_len
        info = shards.manifest.split(split)
        self._arrays = [shards.memmap(s) for s in info.shards]
        counts = np.array([s.tokens // self.seq_len for s in info.shards], dtype=np.int64)
        self._ends = np.cumsum(counts)

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"sequence {index} out of range 0..{len(self) - 1}")
        shard = int(np.searchsorted(self._ends, index, side="right"))
        local = index - (int(self._ends[shard - 1]) if shard else 0)
        start = local * self.seq_len
        return np.asarray(self._arrays[shard][start : start + self.seq_len], dtype=np.int64)

    def batch(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """Stack sequences into a ``(len(indices), seq_len)`` int64 array."""
        return np.stack([self[int(i)] for i in indices]) if len(indices) else np.empty(
            (0, self.seq_len), dtype=np.int64
        )
