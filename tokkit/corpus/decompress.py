"""Reading compressed corpus files: gzip and zstd by suffix, and an opened file (:class:`Source`)
that reads decompressed bytes and reports progress in on-disk bytes."""

from __future__ import annotations

import gzip
import io
import logging
from pathlib import Path
from typing import IO

from tokkit.types import ProgressTask

log = logging.getLogger("tokkit")

COMPRESSION_SUFFIXES = {".gz", ".zst", ".zstd"}


def compression_of(path: Path) -> str | None:
    """The compression suffix of ``path`` (lower case), or None."""
    suffix = path.suffix.lower()
    return suffix if suffix in COMPRESSION_SUFFIXES else None


class _ZstdRaw(io.RawIOBase):
    """Decompress a zstd file as a raw stream: all frames, and a truncated frame is an error.

    ``zstandard``'s own ``stream_reader`` silently stops at a truncated frame, which would turn a
    half-copied file into a silently shorter corpus.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        import zstandard

        self._zstd = zstandard
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._in_frame = False
        self._buffer = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while self._pos >= len(self._buffer):
            chunk = self._raw.read(1 << 17)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended inside a frame (truncated file)")
                return False
            try:
                out = [self._obj.decompress(chunk)]
                self._in_frame = True
                while self._obj.eof:
                    rest = self._obj.unused_data
                    self._obj = self._dctx.decompressobj()
                    self._in_frame = bool(rest)
                    if not rest:
                        break
                    out.append(self._obj.decompress(rest))
            except self._zstd.ZstdError as err:
                raise OSError(f"not a valid zstd stream: {err}") from None
            self._buffer, self._pos = b"".join(out), 0
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._fill():
            return 0
        n = min(len(buffer), len(self._buffer) - self._pos)
        buffer[:n] = self._buffer[self._pos : self._pos + n]
        self._pos += n
        return n


def decompressing(raw: IO[bytes], compression: str | None) -> IO[bytes]:
    """``raw``'s bytes through the decompressor ``compression`` names (a suffix, or None: as is)."""
    if compression == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression in (".zst", ".zstd"):
        return io.BufferedReader(_ZstdRaw(raw), buffer_size=1 << 16)
    return raw


def open_decompressed(path: str | Path) -> IO[bytes]:
    """A file's bytes, through gzip/zstd when its name says so (a truncated stream is an error)."""
    path = Path(path)
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    try:
        return decompressing(raw, compression_of(path))
    except Exception:
        raw.close()
        raise


class Source:
    """An opened corpus file: a decompressed binary stream plus the raw file for progress."""

    def __init__(self, path: Path, compression: str | None) -> None:
        self.path = path
        self.compression = compression
        self.raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed in close()
        try:
            self.stream = decompressing(self.raw, compression)
        except Exception:
            self.raw.close()
            raise
        self.base = 0  # bytes skipped at the start (a byte-order mark)
        self._reported = 0
        self._warned: set[str] = set()

    def warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning("%s: %s", self.path, message)

    def where(self) -> str:
        return " of the decompressed data" if self.compression else ""

    def report(self, task: ProgressTask | None) -> None:
        """Advance ``task`` to the raw (on-disk) bytes consumed so far."""
        if task is None:
            return
        try:
            pos = self.raw.tell()
        except (OSError, ValueError):
            return
        if pos > self._reported:
            task.advance(pos - self._reported)
            self._reported = pos

    def finish(self, task: ProgressTask | None) -> None:
        """Count the whole file as done (what was not read, e.g. a skipped file, too)."""
        if task is None:
            return
        size = self.path.stat().st_size
        if size > self._reported:
            task.advance(size - self._reported)
            self._reported = size

    def close(self) -> None:
        self.stream.close()
        self.raw.close()
