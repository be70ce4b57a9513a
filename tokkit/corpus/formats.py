"""The table of corpus file formats: a file suffix → how to read it, what to write it back as.

One table for every place that asks what a file is: the readers (:mod:`tokkit.corpus.readers`
picks the reader), folder walks (:func:`tokkit.corpus.paths.iter_files` takes the suffixes it
knows), the writers (:func:`tokkit.corpus.writers.format_of`: what a stage's output in the same
format is written as) and dedup (:func:`tokkit.dedup.reading.is_text_file`: records are copied,
text is transcoded). Any of them may also be gzip or zstd compressed (``a.jsonl.gz``) except
parquet, which compresses internally. A suffix the table does not know is read as text when a
file is named explicitly, and skipped in a folder walk.

:func:`register_format` adds a suffix from outside the package (a reader of records).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from tokkit.corpus.decompress import COMPRESSION_SUFFIXES, Source
from tokkit.corpus.options import Batch, ReadOptions, ReadStats
from tokkit.corpus.read_json import batched_records, read_json, read_jsonl
from tokkit.corpus.read_parquet import read_parquet
from tokkit.corpus.read_text import read_text
from tokkit.errors import InputError
from tokkit.types import ProgressTask

WriteFormat = Literal["txt", "jsonl", "parquet"]
"""What :class:`tokkit.corpus.writers.DocumentWriter` writes."""

Reader = Callable[[Source, ReadOptions, ReadStats, "ProgressTask | None", bool], Iterator[Batch]]
"""``(source, options, stats, task, want_ids) -> batches``: one file's documents."""


@dataclass(frozen=True)
class FileFormat:
    """One format: its name, its reader, whether it holds records (a text field each) or plain
    text, and what a writer writes for it (None: tokkit does not write it). A ``binary`` format
    (parquet) is not sniffed for text and cannot be read through gzip/zstd (it needs random
    access)."""

    name: str
    read: Reader
    records: bool
    write: WriteFormat | None
    binary: bool = False


TEXT = FileFormat("txt", read_text, records=False, write="txt")
JSONL = FileFormat("jsonl", read_jsonl, records=True, write="jsonl")
JSON = FileFormat("json", read_json, records=True, write="jsonl")  # written back as JSON Lines
PARQUET = FileFormat("parquet", read_parquet, records=True, write="parquet", binary=True)

FORMATS: dict[str, FileFormat] = {
    ".txt": TEXT, ".text": TEXT, ".md": TEXT,
    ".jsonl": JSONL, ".ndjson": JSONL,
    ".json": JSON,
    ".parquet": PARQUET,
}
"""Suffix (lower case) → format. :func:`register_format` adds to it."""

_BUILT_IN = frozenset(FORMATS)


def file_format(path: str | Path) -> tuple[str, str | None]:
    """(format suffix, compression suffix or None), e.g. ``a.jsonl.gz`` → (.jsonl, .gz)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES else None
    if compression:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), compression


def format_for(path: str | Path) -> FileFormat | None:
    """The format of ``path`` by its suffix, or None for a suffix the table does not know."""
    return FORMATS.get(file_format(path)[0])


def suffixes_of(*formats: FileFormat) -> set[str]:
    """The suffixes that name any of ``formats``."""
    return {suffix for suffix, fmt in FORMATS.items() if fmt in formats}


RecordReader = Callable[[IO[bytes], Path, ReadOptions], Iterator[tuple[int, "str | None"]]]
"""``(stream, path, options) -> (index, text)`` for each record of one file: ``stream`` is the
decompressed bytes (a UTF-8 byte-order mark already skipped), ``index`` the record's id within the
file (``<path>:<index>``), ``text`` None for a record without text."""


def register_format(suffixes: Iterable[str], read: RecordReader, *,
                    write: WriteFormat | None = None) -> None:
    """Read files ending in one of ``suffixes`` (also gzip/zstd compressed) with ``read``: folder
    walks pick them up and :func:`~tokkit.corpus.read_texts`/:func:`~tokkit.corpus.read_documents`
    stream their records, so every stage that reads a corpus does, and dedup treats them as
    records. Empty and whitespace-only texts are dropped unless ``options.keep_empty``; bounding a
    record's size is ``read``'s job. ``write`` names what a stage writes such a file's documents
    back as (None: it refuses, naming the suffix)."""
    for suffix in suffixes:
        if not suffix.startswith(".") or suffix in COMPRESSION_SUFFIXES:
            raise InputError(f"register_format: suffix '{suffix}' must be a file suffix such as "
                             "'.tsv', not a compression suffix")
        if suffix in _BUILT_IN:
            raise InputError(f"register_format: '{suffix}' is a built-in format; choose another suffix")
        FORMATS[suffix] = FileFormat(suffix.lstrip("."), record_reader(read), records=True, write=write)


def record_reader(read: RecordReader) -> Reader:
    def reader(src: Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
        return batched_records(read(src.stream, src.path, options), src, options, task, want_ids)

    return reader
