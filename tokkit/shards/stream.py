"""One split's run of ``.bin`` shards, written as framed documents arrive.

A shard is a raw little-endian array of token ids (``numpy.memmap``-able), holding a whole number
of ``seq_len`` sequences except the very last shard of a split, which keeps the short tail so the
shards decode back to the exact corpus. Each shard is written to a temp file, hashed while it is
written, and renamed into place only when full: a crash never leaves a half shard under a real
name. A stream restored from finished shards skips every token those shards already hold.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from tokkit.atomic import TMP_PREFIX
from tokkit.shards.manifest import ShardInfo

FLUSH_TOKENS = 1 << 20
"""Pending tokens written to the shard file at once."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.bin"


class ShardStream:
    """Append framed documents of one split; cut them into shards of ``tokens_per_shard`` ids.

    ``finished`` are shards already on disk (a resumed run); ``on_shard`` is called after each
    shard is renamed into place (the writer journals progress there).
    """

    def __init__(
        self,
        split: str,
        directory: Path,
        *,
        tokens_per_shard: int,
        dtype: str,
        finished: list[ShardInfo] | None = None,
        on_shard: Callable[[ShardStream], None] | None = None,
    ) -> None:
        self.split = split
        self.directory = directory
        self.tokens_per_shard = tokens_per_shard
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.shards: list[ShardInfo] = list(finished or [])
        self.on_shard = on_shard
        self.resume = self.shards[-1].end if self.shards else (0, 0)
        """(document, offset) of the first token not yet on disk when the stream was opened."""
        self._file: IO[bytes] | None = None
        self._pending: list[np.ndarray] = []
        self._pending_tokens = 0
        self._tmp = ""
        self._hash = hashlib.sha256()
        self._tokens = 0
        self._documents = 0
        self._start = (0, 0)

    def add(self, doc: int, ids: np.ndarray) -> None:
        """Append document ``doc`` (global index in the corpus), already framed."""
        offset = 0
        if doc < self.resume[0]:
            return
        if doc == self.resume[0]:
            offset = self.resume[1]
        while offset < len(ids):
            if self._file is None:
                self._open((doc, offset))
            if offset == 0:
                self._documents += 1
            room = self.tokens_per_shard - self._tokens
            piece = ids[offset : offset + room]
            self._write(piece)
            offset += len(piece)
            if self._tokens == self.tokens_per_shard:
                self._finish((doc, offset) if offset < len(ids) else (doc + 1, 0))

    def close(self, documents_total: int) -> None:
        """Write the short last shard, if any tokens are pending."""
        if self._file is not None:
            self._finish((documents_total, 0))

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            Path(self._tmp).unlink(missing_ok=True)
            self._file = None
            self._pending, self._pending_tokens = [], 0

    def _open(self, start: tuple[int, int]) -> None:
        fd, self._tmp = tempfile.mkstemp(
            prefix=f"{TMP_PREFIX}{shard_name(self.split, len(self.shards))}.", dir=self.directory
        )
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; shards get the usual permissions
        self._file = os.fdopen(fd, "wb")
        self._pending, self._pending_tokens = [], 0
        self._hash = hashlib.sha256()
        self._tokens = 0
        self._documents = 0
        self._start = start

    def _write(self, piece: np.ndarray) -> None:
        self._tokens += len(piece)
        for start in range(0, len(piece), FLUSH_TOKENS):  # a long document: bounded copies
            chunk = piece[start : start + FLUSH_TOKENS]
            self._pending.append(chunk)
            self._pending_tokens += len(chunk)
            if self._pending_tokens >= FLUSH_TOKENS:
                self._flush()

    def _flush(self) -> None:
        """Write pending pieces in one go: per-document writes and hash updates cost more than
        the tokens themselves."""
        assert self._file is not None
        if self._pending:
            data = np.concatenate(self._pending).astype(self.dtype, copy=False).tobytes()
            self._file.write(data)
            self._hash.update(data)
        self._pending, self._pending_tokens = [], 0

    def _finish(self, end: tuple[int, int]) -> None:
        assert self._file is not None
        self._flush()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        name = shard_name(self.split, len(self.shards))
        os.replace(self._tmp, self.directory / name)
        self.shards.append(
            ShardInfo(
                file=name,
                tokens=self._tokens,
                sha256=self._hash.hexdigest(),
                documents=self._documents,
                start=self._start,
                end=end,
            )
        )
        if self.on_shard is not None:
            self.on_shard(self)
