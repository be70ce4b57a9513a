"""Lazy corpus readers: files, directories and globs of txt/jsonl/json/parquet, optionally .gz/.zst.

Everything streams. Memory is bounded by one document (at most ``max_document_bytes``), one
1 MiB read chunk, or one parquet record batch, never by the corpus. Bad input is reported with the
file and byte offset; empty and binary files are skipped with a warning and counted in
:class:`ReadStats`.

What a reader does with text files, so results do not depend on the platform that wrote them:

- the file is UTF-8; a UTF-8 byte-order mark at the start is dropped, a UTF-16 one makes the file
  "binary" (skipped with a hint to re-encode);
- ``\\r\\n`` becomes ``\\n`` (as Python's text mode does); a line ends at ``\\n`` only;
- byte offsets in errors count from the start of the file, or of the *decompressed* stream for
  ``.gz``/``.zst`` (the message says so);
- a NUL byte in the first 8 KiB makes the file binary (skipped); a NUL later drops only the unit
  that contains it (see below), with one warning per file;
- a document larger than ``max_document_bytes`` (64 MiB by default; e.g. a 200 MB file with no
  newline read with ``split="line"``) is an :class:`InputError` raised after reading at most that
  many bytes of it. It is an error rather than silent chunking because such a "line" is almost
  never text meant to be one document; the message says how to go on.

``encoding_errors="skip"`` and NUL bytes drop the smallest unit a reader decodes: a line (with
``split="line"`` or ``"paragraph"``: the paragraph keeps its other lines), the whole file (with
``split="file"``), or one record (jsonl). Warnings are issued once per file and kind; the counts
in :class:`ReadStats` are exact.

>>> from tokkit.corpus import read_texts
>>> for text in read_texts(["corpus/"], split="line"):  # doctest: +SKIP
...     ...
"""

from __future__ import annotations

import dataclasses
import glob as _glob
import gzip
import io
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from tokkit.errors import EncodingError, InputError
from tokkit.types import Document, ProgressTask

log = logging.getLogger("tokkit")

Split = Literal["file", "paragraph", "line"]
EncodingErrors = Literal["strict", "replace", "skip"]

TEXT_SUFFIXES = {".txt", ".text", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
JSON_SUFFIXES = {".json"}
PARQUET_SUFFIXES = {".parquet"}
COMPRESSION_SUFFIXES = {".gz", ".zst", ".zstd"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | JSON_SUFFIXES | PARQUET_SUFFIXES
DEFAULT_MAX_DOCUMENT_BYTES = 64 * 2**20
PARQUET_BATCH_ROWS = 1024

_SPLITS = ("file", "paragraph", "line")
_ENCODING_ERRORS = ("strict", "replace", "skip")
_SNIFF_BYTES = 8192
_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BATCH_RECORDS = 1024  # jsonl records a batch (and between progress updates)


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """How to cut files into documents.

    ``split`` applies to text files: a whole file is one document (``file``), or each block
    separated by blank lines (``paragraph``), or each line (``line``). ``text_field`` names the
    field of jsonl/json/parquet records that holds the text. ``encoding_errors`` decides what
    invalid UTF-8 does: stop with an error naming the byte offset (``strict``), become U+FFFD
    (``replace``), or drop the offending line/file/record with a warning (``skip``).
    ``keep_empty`` keeps whitespace-only documents. ``max_document_bytes`` bounds the memory one
    document (a line, a paragraph, a file read whole, a whole .json document) may take.
    """

    split: Split = "file"
    text_field: str = "text"
    encoding_errors: EncodingErrors = "strict"
    keep_empty: bool = False
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES

    def __post_init__(self) -> None:
        if self.split not in _SPLITS:
            raise InputError(f"split={self.split!r} is not one of {', '.join(_SPLITS)}; pick one")
        if self.encoding_errors not in _ENCODING_ERRORS:
            raise InputError(
                f"encoding_errors={self.encoding_errors!r} is not one of "
                f"{', '.join(_ENCODING_ERRORS)}; pick one"
            )
        if not isinstance(self.max_document_bytes, int) or self.max_document_bytes < 1:
            raise InputError(
                f"max_document_bytes={self.max_document_bytes!r} must be a positive number of bytes"
            )
        if not self.text_field:
            raise InputError("text_field is empty; name the field that holds the text")


@dataclass
class ReadStats:
    """Counts of what a read saw, for end-of-run tables and manifests.

    ``files`` counts files read; skipped files are counted by reason instead. ``documents`` and
    ``bytes`` (UTF-8 bytes of the yielded texts) count what was yielded. ``skipped_nul``,
    ``skipped_invalid_utf8`` and ``replaced_invalid_utf8`` count dropped or repaired units
    (lines, files or records, see the module docstring).
    """

    files: int = 0
    documents: int = 0
    bytes: int = 0
    skipped_empty: int = 0
    skipped_binary: int = 0
    skipped_unsupported: int = 0
    skipped_invalid_utf8: int = 0
    replaced_invalid_utf8: int = 0
    skipped_nul: int = 0
    skipped_paths: list[str] = field(default_factory=list)

    def add(self, other: ReadStats) -> None:
        """Add another read's counts (e.g. a worker's) into these."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def summary(self) -> str:
        """One line for logs: what was read and what was skipped."""
        parts = [f"{self.files:,} files, {self.documents:,} documents, {self.bytes:,} bytes"]
        skipped = [
            (self.skipped_empty, "empty files"),
            (self.skipped_binary, "binary files"),
            (self.skipped_unsupported, "unsupported files"),
            (self.skipped_invalid_utf8, "units with invalid UTF-8"),
            (self.skipped_nul, "units with NUL bytes"),
        ]
        dropped = ", ".join(f"{n:,} {what}" for n, what in skipped if n)
        if dropped:
            parts.append(f"skipped {dropped}")
        if self.replaced_invalid_utf8:
            parts.append(f"{self.replaced_invalid_utf8:,} units with invalid UTF-8 replaced")
        return "; ".join(parts)


def _suffixes(path: Path) -> tuple[str, str | None]:
    """Return (format suffix, compression suffix or None), e.g. ``a.jsonl.gz`` → (.jsonl, .gz)."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES else None
    if compression:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), compression


def _as_list(paths: Iterable[str | Path] | str | Path) -> list[str | Path]:
    # A bare string is an iterable of characters: take it as one path, not as "c", "o", ...
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _walk_error(err: OSError) -> None:
    raise InputError(f"{err.filename}: cannot list directory ({err.strerror}); check permissions")


def iter_files(paths: Iterable[str | Path], stats: ReadStats | None = None) -> Iterator[Path]:
    """Expand files, directories (recursively, sorted) and glob patterns into files.

    Every path is checked before the first file is yielded, so a typo in the last path fails at
    once rather than after hours of reading the others. Inside directories, hidden files and
    directories are ignored and files of unknown type skipped (counted); a file named explicitly
    or matched by a glob is always read, as text when its type is unknown. Symlinked directories
    are not followed. A file reached twice is read once.
    """
    stats = stats if stats is not None else ReadStats()
    raws = _as_list(paths)
    if not raws:
        raise InputError("no corpus paths given; pass files, directories or glob patterns")
    roots: list[Path] = []
    for raw in raws:
        path = Path(raw)
        if path.exists():
            roots.append(path)
        elif _glob.has_magic(str(raw)):
            matches = sorted(_glob.glob(str(raw), recursive=True))
            if not matches:
                raise InputError(f"{raw}: the pattern matches no files; check the glob")
            roots.extend(Path(m) for m in matches)
        else:
            raise InputError(f"{raw}: no such file or directory; check the corpus path")
    seen: set[Path] = set()

    def first_time(p: Path) -> bool:
        key = p.resolve()
        if key in seen:
            log.warning("%s: listed more than once, read once", p)
            return False
        seen.add(key)
        return True

    for root in roots:
        if not root.is_dir():
            if first_time(root):
                yield root
            continue
        for top, dirs, files in os.walk(root, onerror=_walk_error):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                child = Path(top) / name
                if _suffixes(child)[0] not in KNOWN_SUFFIXES:
                    stats.skipped_unsupported += 1
                    stats.skipped_paths.append(str(child))
                    log.warning("%s: skipped, not a txt/jsonl/json/parquet file", child)
                    continue
                if first_time(child):
                    yield child


def _unreadable(path: Path, err: OSError) -> InputError:
    if isinstance(err, FileNotFoundError):
        what = "a broken symbolic link" if path.is_symlink() else "gone (deleted while reading?)"
        return InputError(f"{path}: {what}; remove it or fix the link")
    return InputError(f"{path}: cannot open ({err.strerror}); check permissions")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as err:
        raise _unreadable(path, err) from None


def corpus_bytes(paths: Iterable[str | Path]) -> int:
    """Total on-disk size of the files ``paths`` expand to (the total for progress bars); 0 for
    no paths (an already expanded, empty file list)."""
    paths = list(paths)
    return sum(_size(p) for p in iter_files(paths, ReadStats())) if paths else 0


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


def open_decompressed(path: str | Path) -> IO[bytes]:
    """A file's bytes, through gzip/zstd when its name says so (a truncated stream is an error)."""
    path = Path(path)
    compression = _suffixes(path)[1]
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    if compression == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression in (".zst", ".zstd"):
        return io.BufferedReader(_ZstdRaw(raw), buffer_size=1 << 16)
    return raw


def file_format(path: str | Path) -> tuple[str, str | None]:
    """(format suffix, compression suffix or None), e.g. ``a.jsonl.gz`` → (.jsonl, .gz)."""
    return _suffixes(Path(path))


class _Source:
    """An opened corpus file: a decompressed binary stream plus the raw file for progress."""

    def __init__(self, path: Path, compression: str | None) -> None:
        self.path = path
        self.compression = compression
        self.raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed in close()
        try:
            if compression == ".gz":
                self.stream: IO[bytes] = gzip.GzipFile(fileobj=self.raw, mode="rb")  # type: ignore[assignment]
            elif compression in (".zst", ".zstd"):
                self.stream = io.BufferedReader(_ZstdRaw(self.raw), buffer_size=1 << 16)
            else:
                self.stream = self.raw
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


def _mib_for(src: _Source) -> str:
    """``max_document_bytes`` large enough for the whole file (in whole MiB), when its size says (not
    compressed)."""
    if src.compression:
        return "`max_document_bytes`"
    return f"`max_document_bytes={-(-src.path.stat().st_size // (1 << 20)) << 20}` or more"


def _line_fix(src: _Source) -> str:
    """What to do about a line over the cap. Not split='file': the file holds the line, so it is
    over the cap too (and that advice sent users back here)."""
    return f"it is not line-oriented text: re-wrap it into lines, or raise {_mib_for(src)}"


def _too_large(src: _Source, what: str, offset: int | None, cap: int, fix: str) -> InputError:
    where = "" if offset is None else f" at byte offset {offset}{src.where()}"
    return InputError(f"{src.path}: {what}{where} is larger than max_document_bytes={cap:,}; {fix}")


def _decode_unit(data: bytes, offset: int, src: _Source, options: ReadOptions,
                 stats: ReadStats, unit: str) -> str | None:
    """Decode one unit (line, file or record); ``None`` means it was dropped (warned, counted)."""
    nul = data.find(b"\x00")
    if nul >= 0:
        stats.skipped_nul += 1
        src.warn_once("nul", f"NUL byte at byte offset {offset + nul}{src.where()} (binary data?), "
                      f"{unit} dropped (further ones in this file are counted, not reported)")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        where = offset + err.start
        if options.encoding_errors == "strict":
            reason = "invalid UTF-8" + (" in the decompressed stream" if src.compression else "")
            raise EncodingError(str(src.path), where, reason) from None
        if options.encoding_errors == "skip":
            stats.skipped_invalid_utf8 += 1
            src.warn_once("utf8", f"invalid UTF-8 at byte offset {where}{src.where()}, {unit} "
                          "dropped (further ones in this file are counted, not reported)")
            return None
        stats.replaced_invalid_utf8 += 1
        src.warn_once("utf8", f"invalid UTF-8 at byte offset {where}{src.where()} replaced by "
                      "U+FFFD (further ones in this file are counted, not reported)")
        text = data.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n") if "\r" in text else text


def _regions(src: _Source, cap: int) -> Iterator[tuple[int, bytes]]:
    """Yield (offset, bytes) runs of whole lines read 1 MiB at a time.

    Each run ends with ``\\n`` except a last line without one. A line longer than ``cap`` is an
    error raised after holding at most ``cap`` + 1 MiB of it.
    """
    offset = src.base
    pending: list[bytes] = []
    pending_len = 0
    fix = _line_fix(src)
    while chunk := src.stream.read(_CHUNK):
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            pending.append(chunk)
            pending_len += len(chunk)
            if pending_len > cap:
                raise _too_large(src, "a line", offset, cap, fix)
            continue
        region = b"".join((*pending, chunk[:cut])) if pending else chunk[:cut]
        if len(region) > cap:
            start = 0
            while start < len(region):
                end = region.index(b"\n", start) + 1
                if end - start - 1 > cap:
                    raise _too_large(src, "a line", offset + start, cap, fix)
                start = end
        yield offset, region
        offset += len(region)
        rest = chunk[cut:]
        pending, pending_len = ([rest], len(rest)) if rest else ([], 0)
    if pending:
        yield offset, b"".join(pending)


def _region_lines(region: bytes, offset: int, src: _Source, options: ReadOptions,
                  stats: ReadStats) -> list[str | None]:
    """Split a run of lines; decode it in one go unless it holds bad bytes (then line by line)."""
    try:
        text = region.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"  # take the careful path below
    if "\x00" not in text:
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines: list[str | None] = list(text.split("\n"))
        if text.endswith("\n"):
            lines.pop()
        elif lines and lines[-1].endswith("\r"):  # type: ignore[union-attr]
            lines[-1] = lines[-1][:-1]  # type: ignore[index]
        return lines
    out: list[str | None] = []
    pieces = region.split(b"\n")
    if region.endswith(b"\n"):
        pieces.pop()
    pos = offset
    for piece in pieces:
        start, pos = pos, pos + len(piece) + 1
        out.append(_decode_unit(piece.removesuffix(b"\r"), start, src, options, stats, "line"))
    return out


def _read_capped(stream: IO[bytes], cap: int) -> tuple[bytes | None, bool]:
    """(the rest of ``stream``, or ``None`` as soon as it exceeds ``cap`` bytes; whether a newline
    was seen). Read by chunks so a small file never costs a ``cap``-sized allocation."""
    parts: list[bytes] = []
    total = 0
    newline = False
    while chunk := stream.read(min(_CHUNK, cap + 1 - total)):
        parts.append(chunk)
        newline = newline or b"\n" in chunk
        total += len(chunk)
        if total > cap:
            return None, newline
    return b"".join(parts), newline


def _keep(text: str, options: ReadOptions) -> bool:
    return options.keep_empty or (bool(text) and not text.isspace())


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


# Readers yield batches ``(ids, texts)``: ``ids`` holds each text's index in its file (``None``
# for a whole file, or when the caller did not ask for ids). Batching per read chunk keeps the
# per-document Python work down to what a trainer must do anyway.
Batch = tuple["list[int] | None", "list[str]"]


def _filter(lines: list[str | None], first: int, options: ReadOptions,
            want_ids: bool) -> Batch:
    """The lines worth yielding, and their line numbers when asked."""
    if options.keep_empty:
        texts = [line for line in lines if line is not None]
        ids = [i for i, line in enumerate(lines, first) if line is not None] if want_ids else None
    else:
        texts = [line for line in lines if line and not line.isspace()]
        ids = ([i for i, line in enumerate(lines, first) if line and not line.isspace()]
               if want_ids else None)
    return ids, texts


def _read_text(src: _Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
    """Text files; ids are the 0-based line number for lines, the paragraph number for
    paragraphs."""
    cap = options.max_document_bytes
    if options.split == "file":
        data, newline = _read_capped(src.stream, cap)
        if data is None:
            fix = ("read it with `split='line'` or 'paragraph', or raise `max_document_bytes`" if newline else
                   "its first max_document_bytes hold no line break either, so split='line' would not help: "
                   f"raise {_mib_for(src)}")
            raise _too_large(src, "the file (one document with split='file')", None, cap, fix)
        text = _decode_unit(data, src.base, src, options, stats, "file")
        src.report(task)
        if text is not None and _keep(text, options):
            yield None, [text]
        return
    lineno = 0
    block: list[str] = []
    size = first_line = index = 0
    for offset, region in _regions(src, cap):
        lines = _region_lines(region, offset, src, options, stats)
        src.report(task)
        if options.split == "line":
            yield _filter(lines, lineno, options, want_ids)
            lineno += len(lines)
            continue
        paragraphs: list[str] = []
        for line in lines:
            lineno += 1
            if line is None:
                continue
            if line and not line.isspace():
                if not block:
                    first_line = lineno
                block.append(line)
                size += _utf8_len(line) + 1
                if size > cap:
                    number = index + len(paragraphs)
                    raise _too_large(src, f"paragraph {number} (from line {first_line})", None,
                                     cap, "read it with `split='line'`, or raise `max_document_bytes`")
            elif block:
                paragraphs.append("\n".join(block))
                block, size = [], 0
        if paragraphs:
            yield (list(range(index, index + len(paragraphs))) if want_ids else None), paragraphs
            index += len(paragraphs)
    if block:
        yield ([index] if want_ids else None), ["\n".join(block)]


def _record_text(record: object, src: _Source, where: str, options: ReadOptions) -> str | None:
    """The text of one JSON record: a string record is its own text; ``null`` is empty."""
    if isinstance(record, str):
        return record
    if not isinstance(record, dict):
        raise InputError(f"{src.path}:{where}: expected a JSON object with a "
                         f"'{options.text_field}' field, got {type(record).__name__}")
    if options.text_field not in record:
        fields = ", ".join(sorted(record)[:8]) or "none"
        raise InputError(f"{src.path}:{where}: no field '{options.text_field}' (fields: {fields}); "
                         "pass `text_field=NAME`")
    value = record[options.text_field]
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{src.path}:{where}: field '{options.text_field}' is a "
                     f"{type(value).__name__}, not a string; pass `text_field=NAME`")


def _read_jsonl(src: _Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
                want_ids: bool) -> Iterator[Batch]:
    """JSON Lines, a record a line; ids are 0-based line numbers."""
    cap = options.max_document_bytes
    offset = src.base
    lineno = 0
    ids: list[int] = []
    texts: list[str] = []
    while line := src.stream.readline(cap + 1):
        lineno += 1
        start, offset = offset, offset + len(line)
        if len(line) > cap and not line.endswith(b"\n"):
            raise _too_large(src, f"record on line {lineno}", start, cap,
                             "split the record or raise `max_document_bytes`")
        if not line.strip():
            continue
        raw = _decode_unit(line, start, src, options, stats, "record")
        if raw is None:
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as err:
            raise InputError(f"{src.path}:{lineno}: invalid JSON ({err.msg} at column "
                             f"{err.colno}); fix or remove that line") from None
        text = _record_text(record, src, f"line {lineno}", options)
        if text is not None and _keep(text, options):
            ids.append(lineno - 1)
            texts.append(text)
            if len(texts) >= _BATCH_RECORDS:
                src.report(task)
                yield (ids if want_ids else None), texts
                ids, texts = [], []
    src.report(task)
    if texts:
        yield (ids if want_ids else None), texts


def _is_one_document(head: bytes) -> bool:
    """Whether a .json file whose first bytes are ``head`` is one JSON document rather than JSON
    Lines: an array, or a record spread over lines (its first line is not JSON on its own)."""
    start = head.lstrip()
    if start[:1] == b"[":
        return True
    if start[:1] != b"{":
        return False
    end = start.find(b"\n")
    if end < 0:  # one long line (or the peek ends inside it): a record a line
        return False
    try:
        json.loads(start[:end])
    except ValueError:
        return True
    return False


def _read_json(src: _Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
    """A .json file: one JSON document (an array of records or a single record, read whole up
    to the cap), or JSON Lines (streamed) when its first line is a record on its own."""
    if not _is_one_document(src.stream.peek(_CHUNK)):  # type: ignore[attr-defined]
        yield from _read_jsonl(src, options, stats, task, want_ids)
        return
    cap = options.max_document_bytes
    data, _ = _read_capped(src.stream, cap)
    if data is None:
        raise _too_large(src, "the JSON document", None, cap,
                         "convert it to JSON Lines (.jsonl, one record a line) to stream it")
    raw = _decode_unit(data, src.base, src, options, stats, "file")
    src.report(task)
    if raw is None:
        return
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(f"{src.path}: invalid JSON at line {err.lineno} column {err.colno} "
                         f"({err.msg}); fix the file") from None
    records = document if isinstance(document, list) else [document]  # a single record
    ids: list[int] = []
    texts: list[str] = []
    for index, record in enumerate(records):
        text = _record_text(record, src, f"record {index}", options)
        if text is not None and _keep(text, options):
            ids.append(index)
            texts.append(text)
    if texts:
        yield (ids if want_ids else None), texts


def _read_parquet(src: _Source, options: ReadOptions, stats: ReadStats,
                  task: ProgressTask | None, want_ids: bool) -> Iterator[Batch]:
    """Parquet, one record batch of one row group in memory at a time; ids are row numbers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.raw)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"{src.path}: not a readable parquet file ({err}); "
                         "check the file") from None
    schema = pf.schema_arrow
    if options.text_field not in schema.names:
        fields = ", ".join(schema.names[:8])
        raise InputError(f"{src.path}: no column '{options.text_field}' (columns: {fields}); "
                         "pass `text_field=NAME`")
    kind = schema.field(options.text_field).type
    is_string_view = getattr(pa.types, "is_string_view", lambda _: False)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or is_string_view(kind)):
        raise InputError(f"{src.path}: column '{options.text_field}' holds {kind}, not strings; "
                         "pass `text_field=NAME`")
    first = 0
    rows = max(1, pf.metadata.num_rows)
    size = src.path.stat().st_size
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[options.text_field]):
            values = batch.column(0).to_pylist()
            keep = [i for i, t in enumerate(values) if t is not None and _keep(t, options)]
            if keep:
                yield ([first + i for i in keep] if want_ids else None), [values[i] for i in keep]
            first += len(values)
            if task is not None:
                done = size * first // rows
                task.advance(max(0, done - src._reported))
                src._reported = max(src._reported, done)
    except pa.ArrowException as err:
        raise InputError(f"{src.path}: corrupt parquet data ({err}); check the file") from None


def _sniff_skip(src: _Source, stats: ReadStats) -> bool:
    """Skip empty and binary (NUL-bearing or UTF-16) files with a warning; drop a UTF-8 BOM."""
    head = src.stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # type: ignore[attr-defined]
    reason = None
    if not head:
        stats.skipped_empty += 1
        reason = "empty file, skipped"
    elif head.startswith(_UTF16_BOMS):
        stats.skipped_binary += 1
        reason = "looks like UTF-16 (byte-order mark), skipped; re-encode it to UTF-8"
    elif (nul := head.find(b"\x00")) >= 0:
        stats.skipped_binary += 1
        reason = f"binary file (NUL byte at offset {nul}), skipped"
    if reason:
        stats.skipped_paths.append(str(src.path))
        log.warning("%s: %s", src.path, reason)
        return True
    if head.startswith(_BOM):
        src.stream.read(len(_BOM))
        src.base = len(_BOM)
    return False


_READERS: dict[str, Callable[..., Iterator[Batch]]] = {
    **dict.fromkeys(JSONL_SUFFIXES, _read_jsonl),
    **dict.fromkeys(JSON_SUFFIXES, _read_json),
    **dict.fromkeys(PARQUET_SUFFIXES, _read_parquet),
}
_BUILT_IN_SUFFIXES = frozenset(KNOWN_SUFFIXES)

RecordReader = Callable[[IO[bytes], Path, "ReadOptions"], Iterator[tuple[int, "str | None"]]]
"""``(stream, path, options) -> (index, text)`` for each record of one file: ``stream`` is the
decompressed bytes (a UTF-8 byte-order mark already skipped), ``index`` the record's id within the
file (``<path>:<index>``), ``text`` None for a record without text."""


def register_format(suffixes: Iterable[str], read: RecordReader) -> None:
    """Read files ending in one of ``suffixes`` (also gzip/zstd compressed) with ``read``: folder
    walks pick them up and :func:`read_texts`/:func:`read_documents` stream their records, so every
    stage that reads a corpus does. Empty and whitespace-only texts are dropped unless
    ``options.keep_empty``; bounding a record's size is ``read``'s job."""
    for suffix in suffixes:
        if not suffix.startswith(".") or suffix in COMPRESSION_SUFFIXES:
            raise InputError(f"register_format: suffix '{suffix}' must be a file suffix such as "
                             "'.tsv', not a compression suffix")
        if suffix in _BUILT_IN_SUFFIXES:
            raise InputError(f"register_format: '{suffix}' is a built-in format; choose another suffix")
        _READERS[suffix] = _record_reader(read)
        KNOWN_SUFFIXES.add(suffix)


def _record_reader(read: RecordReader) -> Callable[..., Iterator[Batch]]:
    def reader(src: _Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
        ids: list[int] = []
        texts: list[str] = []
        for index, text in read(src.stream, src.path, options):
            if text is None or not _keep(text, options):
                continue
            ids.append(index)
            texts.append(text)
            if len(texts) >= _BATCH_RECORDS:
                src.report(task)
                yield (ids if want_ids else None), texts
                ids, texts = [], []
        src.report(task)
        if texts:
            yield (ids if want_ids else None), texts

    return reader


def _read_file(path: Path, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
    """Open one file, skip it if empty or binary, and stream its batches (counted in stats)."""
    fmt, compression = _suffixes(path)
    parquet = fmt in PARQUET_SUFFIXES
    if parquet and compression:
        tool = "gunzip" if compression == ".gz" else "unzstd"
        raise InputError(f"{path}: parquet compresses internally and needs random access; "
                         f"decompress it first (e.g. {tool})")
    try:
        src = _Source(path, compression)
    except OSError as err:
        raise _unreadable(path, err) from None
    try:
        if parquet and path.stat().st_size == 0:
            stats.skipped_empty += 1
            stats.skipped_paths.append(str(path))
            log.warning("%s: empty file, skipped", path)
            return
        if not parquet and _sniff_skip(src, stats):
            return
        stats.files += 1
        reader = _READERS.get(fmt, _read_text)
        for ids, texts in reader(src, options, stats, task, want_ids):
            if not texts:
                continue
            stats.documents += len(texts)
            joined = texts[0] if len(texts) == 1 else "".join(texts)
            stats.bytes += len(joined) if joined.isascii() else len(joined.encode("utf-8"))
            yield ids, texts
    except (OSError, EOFError) as err:
        kind = f"{compression[1:]} stream" if compression else "file"
        raise InputError(f"{path}: corrupt or truncated {kind} ({err}); "
                         "re-create or re-download the file") from None
    finally:
        src.finish(task)
        src.close()


def read_documents(
    paths: Iterable[str | Path],
    options: ReadOptions | None = None,
    *,
    stats: ReadStats | None = None,
    progress: ProgressTask | None = None,
) -> Iterator[Document]:
    """Stream the documents of every file under ``paths``, in a deterministic order.

    Document ids are ``<path>`` for a whole file and ``<path>:<n>`` otherwise (n = 0-based line
    number for lines and jsonl records, paragraph number for paragraphs, row for parquet, index
    in a .json document, 0 for a single record), so later stages can point back to the source. ``progress`` advances by
    on-disk bytes consumed (pair it with :func:`corpus_bytes`).
    """
    options = options or ReadOptions()
    stats = stats if stats is not None else ReadStats()
    for path in iter_files(paths, stats):
        source = str(path)
        for ids, texts in _read_file(path, options, stats, progress, True):
            if ids is None:
                yield Document(id=source, text=texts[0], source=source)
                continue
            for index, text in zip(ids, texts, strict=True):
                yield Document(id=f"{source}:{index}", text=text, source=source)


def read_texts(
    paths: Iterable[str | Path],
    options: ReadOptions | None = None,
    *,
    stats: ReadStats | None = None,
    progress: ProgressTask | None = None,
    **option_kwargs: object,
) -> Iterator[str]:
    """Like :func:`read_documents` but yield only the texts (what trainers consume).

    Options may be given as keywords, alone or over ``options``:
    ``read_texts(paths, split="line")``.
    """
    options = options or ReadOptions()
    if option_kwargs:
        options = dataclasses.replace(options, **option_kwargs)  # type: ignore[arg-type]
    stats = stats if stats is not None else ReadStats()
    for path in iter_files(paths, stats):
        for _, texts in _read_file(path, options, stats, progress, False):
            yield from texts
