"""Lazy corpus readers: files, directories and globs of txt/jsonl/json/parquet, optionally .gz/.zst.

This module is the entry point (:func:`read_documents`, :func:`read_texts`): it opens each file,
sniffs it and hands it to its format's reader. The parts live beside it, one concept a module:
:mod:`~tokkit.corpus.options` (what to read, what was seen), :mod:`~tokkit.corpus.paths` (which
files), :mod:`~tokkit.corpus.decompress` (gzip/zstd), :mod:`~tokkit.corpus.decode` (bytes to text
and lines), :mod:`~tokkit.corpus.formats` (the suffix table) and one reader a format
(:mod:`~tokkit.corpus.read_text`, :mod:`~tokkit.corpus.read_json`,
:mod:`~tokkit.corpus.read_parquet`).

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
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokkit.corpus.decode import sniff_skip
from tokkit.corpus.decompress import COMPRESSION_SUFFIXES, Source, open_decompressed
from tokkit.corpus.formats import (
    FORMATS,
    JSON,
    JSONL,
    PARQUET,
    TEXT,
    FileFormat,
    RecordReader,
    file_format,
    format_for,
    register_format,
    suffixes_of,
)
from tokkit.corpus.options import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    Batch,
    EncodingErrors,
    ReadOptions,
    ReadStats,
    Split,
)
from tokkit.corpus.paths import corpus_bytes, iter_files, unreadable
from tokkit.corpus.read_parquet import PARQUET_BATCH_ROWS
from tokkit.errors import InputError
from tokkit.types import Document, ProgressTask

__all__ = [
    "COMPRESSION_SUFFIXES", "DEFAULT_MAX_DOCUMENT_BYTES", "FORMATS", "JSONL_SUFFIXES",
    "JSON_SUFFIXES", "PARQUET_BATCH_ROWS", "PARQUET_SUFFIXES", "TEXT_SUFFIXES", "EncodingErrors",
    "FileFormat", "ReadOptions", "ReadStats", "RecordReader", "Split", "corpus_bytes",
    "file_format", "format_for", "iter_files", "open_decompressed", "read_batches", "read_documents",
    "read_texts",
    "register_format",
]

log = logging.getLogger("tokkit")

TEXT_SUFFIXES = suffixes_of(TEXT)
JSONL_SUFFIXES = suffixes_of(JSONL)
JSON_SUFFIXES = suffixes_of(JSON)
PARQUET_SUFFIXES = suffixes_of(PARQUET)
"""The built-in suffixes by format (read from :data:`~tokkit.corpus.formats.FORMATS`)."""


def _read_file(path: Path, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
    """Open one file, skip it if empty or binary, and stream its batches (counted in stats)."""
    compression = file_format(path)[1]
    fmt = format_for(path) or TEXT  # a file named explicitly is read as text
    if fmt.binary and compression:
        tool = "gunzip" if compression == ".gz" else "unzstd"
        raise InputError(f"{path}: {fmt.name} compresses internally and needs random access; "
                         f"decompress it first (e.g. {tool})")
    try:
        src = Source(path, compression)
    except OSError as err:
        raise unreadable(path, err) from None
    try:
        if fmt.binary and path.stat().st_size == 0:
            stats.skipped_empty += 1
            stats.skipped_paths.append(str(path))
            log.warning("%s: empty file, skipped", path)
            return
        if not fmt.binary and sniff_skip(src, stats):
            return
        stats.files += 1
        for ids, texts in fmt.read(src, options, stats, task, want_ids):
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
    for path, numbers, texts in read_batches(paths, options, stats=stats, progress=progress):
        source = str(path)
        if numbers is None:
            yield Document(id=source, text=texts[0], source=source)
            continue
        for index, text in zip(numbers, texts, strict=True):
            yield Document(id=f"{source}:{index}", text=text, source=source)


def read_batches(
    paths: Iterable[str | Path],
    options: ReadOptions | None = None,
    *,
    stats: ReadStats | None = None,
    progress: ProgressTask | None = None,
) -> Iterator[tuple[Path, list[int] | None, list[str]]]:
    """:func:`read_documents` a batch at a time and without a :class:`Document` per text.

    Yields ``(path, numbers, texts)``: the ``n`` of each text's id ``<path>:<n>``, or ``None``
    for one text that is the whole file (id ``<path>``). For callers that keep something per
    document of millions (dedup), where a Python object per document is the memory.
    """
    options = options or ReadOptions()
    stats = stats if stats is not None else ReadStats()
    for path in iter_files(paths, stats):
        for numbers, texts in _read_file(path, options, stats, progress, True):
            yield path, numbers, texts


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
