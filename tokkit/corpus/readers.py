"""Lazy corpus readers: files, directories and globs of txt/jsonl/json/parquet, optionally .gz/.zst.

Everything streams: a reader yields one :class:`~tokkit.types.Document` at a time and never holds
more than one document (or one parquet record batch) in memory. Bad input is reported with the file
and byte offset; empty and binary files are skipped with a warning and counted in
:class:`ReadStats`.

>>> from tokkit.corpus import read_texts
>>> for text in read_texts(["corpus/"], split="line"):  # doctest: +SKIP
...     ...
"""

from __future__ import annotations

import glob as _glob
import gzip
import io
import json
import logging
import os
from collections.abc import Iterable, Iterator
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
_SNIFF_BYTES = 8192


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """How to cut files into documents.

    ``split`` applies to text files: a whole file is one document (``file``), or each block
    separated by blank lines (``paragraph``), or each line (``line``). ``text_field`` names the
    field of jsonl/json/parquet records that holds the text. ``encoding_errors`` decides what
    invalid UTF-8 does: stop with an error naming the byte offset (``strict``), become U+FFFD
    (``replace``), or drop the offending document with a warning (``skip``).
    """

    split: Split = "file"
    text_field: str = "text"
    encoding_errors: EncodingErrors = "strict"
    keep_empty: bool = False


@dataclass
class ReadStats:
    """Counts of what a read saw, for end-of-run tables and manifests."""

    files: int = 0
    documents: int = 0
    bytes: int = 0
    skipped_empty: int = 0
    skipped_binary: int = 0
    skipped_unsupported: int = 0
    skipped_invalid_utf8: int = 0
    replaced_invalid_utf8: int = 0
    skipped_paths: list[str] = field(default_factory=list)


def _suffixes(path: Path) -> tuple[str, str | None]:
    """Return (format suffix, compression suffix or None), e.g. ``a.jsonl.gz`` → (.jsonl, .gz)."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES else None
    if compression:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), compression


def iter_files(paths: Iterable[str | Path], stats: ReadStats | None = None) -> Iterator[Path]:
    """Expand files, directories (recursively, sorted) and glob patterns into files.

    Inside directories, hidden files and files of unknown type are skipped (counted); a file named
    explicitly is always read, as text when its type is unknown. A path that matches nothing is an
    :class:`InputError`.
    """
    stats = stats if stats is not None else ReadStats()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    child = Path(root) / name
                    if name.startswith("."):
                        continue
                    if _suffixes(child)[0] not in KNOWN_SUFFIXES:
                        stats.skipped_unsupported += 1
                        stats.skipped_paths.append(str(child))
                        log.warning("%s: skipped, not a txt/jsonl/json/parquet file", child)
                        continue
                    yield child
        elif _glob.has_magic(str(raw)):
            matches = sorted(_glob.glob(str(raw), recursive=True))
            if not matches:
                raise InputError(f"{raw}: the pattern matches no files; check the glob")
            yield from iter_files(matches, stats)
        else:
            raise InputError(f"{raw}: no such file or directory; check the corpus path")


def corpus_bytes(paths: Iterable[str | Path]) -> int:
    """Total on-disk size of the files ``paths`` expand to (for progress totals)."""
    return sum(p.stat().st_size for p in iter_files(paths, ReadStats()))


class _Source:
    """An opened corpus file: a decompressed binary stream plus the raw file for progress."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed in close()
        _, compression = _suffixes(path)
        try:
            if compression == ".gz":
                self.stream: IO[bytes] = gzip.GzipFile(fileobj=self.raw)
            elif compression in (".zst", ".zstd"):
                import zstandard

                reader = zstandard.ZstdDecompressor().stream_reader(self.raw)
                self.stream = io.BufferedReader(reader)  # type: ignore[arg-type]
            else:
                self.stream = self.raw
        except Exception:
            self.raw.close()
            raise
        self._reported = 0

    def raw_position(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return self._reported

    def report(self, task: ProgressTask | None) -> None:
        pos = self.raw_position()
        if task is not None and pos > self._reported:
            task.advance(pos - self._reported)
        self._reported = max(self._reported, pos)

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


def _decode(data: bytes, path: Path, offset: int, options: ReadOptions, stats: ReadStats) -> str | None:
    """Decode one document's bytes; ``None`` means skip it (``encoding_errors='skip'``)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        where = offset + err.start
        if options.encoding_errors == "strict":
            raise EncodingError(str(path), where) from None
        if options.encoding_errors == "skip":
            stats.skipped_invalid_utf8 += 1
            log.warning("%s: invalid UTF-8 at byte offset %d, document skipped", path, where)
            return None
        stats.replaced_invalid_utf8 += 1
        return data.decode("utf-8", errors="replace")


def _text_blocks(stream: IO[bytes], split: Split) -> Iterator[tuple[int, bytes]]:
    """Yield (byte offset, bytes) of each document of a text stream."""
    if split == "file":
        yield 0, stream.read()
        return
    offset = 0
    if split == "line":
        for line in stream:
            yield offset, line.rstrip(b"\r\n")
            offset += len(line)
        return
    block: list[bytes] = []
    start = 0
    for line in stream:
        if line.strip():
            if not block:
                start = offset
            block.append(line)
        elif block:
            yield start, b"".join(block).rstrip(b"\r\n")
            block = []
        offset += len(line)
    if block:
        yield start, b"".join(block).rstrip(b"\r\n")


def _read_text(src: _Source, options: ReadOptions, stats: ReadStats,
               task: ProgressTask | None) -> Iterator[Document]:
    path = src.path
    for index, (offset, data) in enumerate(_text_blocks(src.stream, options.split)):
        text = _decode(data, path, offset, options, stats)
        src.report(task)
        if text is None or (not text.strip() and not options.keep_empty):
            continue
        doc_id = str(path) if options.split == "file" else f"{path}:{index}"
        stats.bytes += len(data)
        yield Document(id=doc_id, text=text, source=str(path))


def _record_text(record: object, path: Path, where: str, options: ReadOptions) -> str:
    if not isinstance(record, dict):
        raise InputError(f"{path}:{where}: expected a JSON object with a '{options.text_field}' field")
    value = record.get(options.text_field)
    if not isinstance(value, str):
        fields = ", ".join(sorted(record)[:8])
        raise InputError(
            f"{path}:{where}: no text field '{options.text_field}' (fields: {fields}); "
            "pass --text-field NAME"
        )
    return value


def _read_jsonl(src: _Source, options: ReadOptions, stats: ReadStats,
                task: ProgressTask | None) -> Iterator[Document]:
    path = src.path
    offset = 0
    for lineno, line in enumerate(src.stream, start=1):
        start, offset = offset, offset + len(line)
        if not line.strip():
            continue
        raw = _decode(line, path, start, options, stats)
        if raw is None:
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{lineno}: invalid JSON ({err.msg}); fix or remove the line") from None
        text = _record_text(record, path, str(lineno), options)
        src.report(task)
        if not text.strip() and not options.keep_empty:
            continue
        stats.bytes += len(text.encode("utf-8"))
        yield Document(id=f"{path}:{lineno - 1}", text=text, source=str(path))


def _read_json(src: _Source, options: ReadOptions, stats: ReadStats,
               task: ProgressTask | None) -> Iterator[Document]:
    """A .json file: a JSON array of records (read whole: use .jsonl for big corpora) or JSONL."""
    head = src.stream.peek(64) if hasattr(src.stream, "peek") else b""
    if not head.lstrip().startswith(b"["):
        yield from _read_jsonl(src, options, stats, task)
        return
    data = src.stream.read()
    raw = _decode(data, src.path, 0, options, stats)
    if raw is None:
        return
    try:
        records = json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(f"{src.path}: invalid JSON at line {err.lineno} ({err.msg})") from None
    src.report(task)
    for index, record in enumerate(records):
        text = _record_text(record, src.path, f"record {index}", options)
        if not text.strip() and not options.keep_empty:
            continue
        stats.bytes += len(text.encode("utf-8"))
        yield Document(id=f"{src.path}:{index}", text=text, source=str(src.path))


def _read_parquet(src: _Source, options: ReadOptions, stats: ReadStats,
                  task: ProgressTask | None) -> Iterator[Document]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.stream)
    except pa.ArrowInvalid as err:
        raise InputError(f"{src.path}: not a readable parquet file ({err})") from None
    if options.text_field not in pf.schema_arrow.names:
        fields = ", ".join(pf.schema_arrow.names[:8])
        raise InputError(
            f"{src.path}: no column '{options.text_field}' (columns: {fields}); pass --text-field NAME"
        )
    index = 0
    total = max(1, pf.metadata.num_rows)
    size = src.path.stat().st_size
    for batch in pf.iter_batches(columns=[options.text_field], batch_size=4096):
        for text in batch.column(0).to_pylist():
            index += 1
            if text is None or (not text.strip() and not options.keep_empty):
                continue
            stats.bytes += len(text.encode("utf-8"))
            yield Document(id=f"{src.path}:{index - 1}", text=text, source=str(src.path))
        if task is not None:
            done = size * index // total
            task.advance(done - src._reported)
            src._reported = done


def _sniff_skip(src: _Source, stats: ReadStats) -> bool:
    """Skip empty and binary (NUL-bearing) files with a warning; parquet is binary by design."""
    head = src.stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if hasattr(src.stream, "peek") else b""
    if not head:
        stats.skipped_empty += 1
        stats.skipped_paths.append(str(src.path))
        log.warning("%s: empty file, skipped", src.path)
        return True
    if b"\x00" in head:
        stats.skipped_binary += 1
        stats.skipped_paths.append(str(src.path))
        log.warning("%s: binary file (NUL bytes), skipped", src.path)
        return True
    return False


def read_documents(
    paths: Iterable[str | Path],
    options: ReadOptions | None = None,
    *,
    stats: ReadStats | None = None,
    progress: ProgressTask | None = None,
) -> Iterator[Document]:
    """Stream the documents of every file under ``paths``, in a deterministic order.

    ``progress`` advances by on-disk bytes consumed (pair it with :func:`corpus_bytes`).
    """
    options = options or ReadOptions()
    stats = stats if stats is not None else ReadStats()
    for path in iter_files(paths, stats):
        fmt, compression = _suffixes(path)
        try:
            src = _Source(path)
        except OSError as err:
            raise InputError(f"{path}: cannot open ({err.strerror}); check permissions") from None
        try:
            if fmt in PARQUET_SUFFIXES and compression is None:
                reader = _read_parquet
            else:
                try:
                    if _sniff_skip(src, stats):
                        src.report(progress)
                        continue
                except (OSError, EOFError) as err:
                    raise InputError(f"{path}: corrupt {compression} stream ({err})") from None
                reader = {**dict.fromkeys(JSONL_SUFFIXES, _read_jsonl),
                          **dict.fromkeys(JSON_SUFFIXES, _read_json)}.get(fmt, _read_text)
            stats.files += 1
            try:
                for doc in reader(src, options, stats, progress):
                    stats.documents += 1
                    yield doc
            except (OSError, EOFError) as err:
                raise InputError(f"{path}: corrupt or truncated file ({err})") from None
            src.report(progress)
        finally:
            src.close()


def read_texts(
    paths: Iterable[str | Path],
    options: ReadOptions | None = None,
    *,
    stats: ReadStats | None = None,
    progress: ProgressTask | None = None,
    **option_kwargs: object,
) -> Iterator[str]:
    """Like :func:`read_documents` but yield only the texts (what trainers consume).

    Options may be given as keywords: ``read_texts(paths, split="line")``.
    """
    if option_kwargs:
        options = ReadOptions(**option_kwargs)  # type: ignore[arg-type]
    for doc in read_documents(paths, options, stats=stats, progress=progress):
        yield doc.text
