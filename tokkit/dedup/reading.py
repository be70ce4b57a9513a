"""Reading a corpus for dedup, with a Latin-1 fallback for old text files.

Editions of the same book are often published as UTF-8 and as ISO-8859-1 side by side. Replacing
the invalid bytes (``replace``) turns every accented letter into U+FFFD, so the Latin-1 edition no
longer matches its UTF-8 twin word for word; decoding it as Latin-1 recovers the real text.
``encoding_errors="latin1"`` therefore transcodes a text file that is not valid UTF-8 from
Windows-1252 (Latin-1 for the bytes cp1252 leaves undefined) into a UTF-8 working copy and reads
that with the ordinary readers, under the original file's name. The general readers keep their
strict contract; this is the one place that guesses an encoding, and it lists the files it
guessed for.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tokkit.corpus.readers import (
    EncodingErrors,
    ReadOptions,
    ReadStats,
    Split,
    file_format,
    format_for,
    open_decompressed,
    read_batches,
    read_documents,
)
from tokkit.dedup.config import DedupConfig, EncodingFallback
from tokkit.errors import InputError
from tokkit.types import Document, ProgressTask

log = logging.getLogger("tokkit")

_CHUNK = 1 << 20


def read_options_for(config: DedupConfig, text_field: str,
                     encoding_errors: EncodingFallback) -> ReadOptions:
    """How dedup cuts the corpus into documents, one rule so every engine reads the same documents.

    Whole files for document granularity, else paragraphs; ``latin1`` reads with ``replace``
    (the legacy files themselves are transcoded first, see :func:`find_legacy_files`).
    """
    split: Split = "file" if config.granularity == "document" else "paragraph"
    base_errors: EncodingErrors = "replace" if encoding_errors == "latin1" else encoding_errors
    return ReadOptions(split=split, text_field=text_field, encoding_errors=base_errors)


def is_text_file(path: Path) -> bool:
    """True for files read as plain text, not records (jsonl/json/parquet or a registered format:
    the format table says)."""
    fmt = format_for(path)
    return fmt is None or not fmt.records


def _check_utf8(path: Path) -> bool | None:
    """True: valid UTF-8; False: not; None: binary (NUL in the head) or empty, left to readers."""
    try:
        with open_decompressed(path) as stream:
            head = stream.read(8192)
            if not head or b"\x00" in head:
                return None
            decoder = codecs.getincrementaldecoder("utf-8")("strict")
            data = head
            while data:
                decoder.decode(data)
                data = stream.read(_CHUNK)
            decoder.decode(b"", final=True)
            return True
    except UnicodeDecodeError:
        return False
    except (OSError, EOFError) as err:
        raise InputError(f"{path}: corrupt or truncated file ({err}); re-create the file") from None


def decode_legacy(data: bytes) -> str:
    """Windows-1252, or Latin-1 where cp1252 leaves a byte undefined (it maps every byte)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def transcode_legacy(path: Path, directory: Path, index: int) -> Path:
    """Write a UTF-8 copy of a Windows-1252/Latin-1 text file into ``directory``."""
    target = directory / f"{index:06d}{file_format(path)[0] or '.txt'}"
    directory.mkdir(parents=True, exist_ok=True)
    with open_decompressed(path) as src, open(target, "wb") as dst:
        while data := src.read(_CHUNK):
            dst.write(decode_legacy(data).encode("utf-8"))
    return target


def find_legacy_files(files: Sequence[Path], encoding_errors: EncodingFallback) -> list[Path]:
    """The text files that are not valid UTF-8 (looked for only with ``latin1``)."""
    if encoding_errors != "latin1":
        return []
    legacy = [p for p in files if is_text_file(p) and _check_utf8(p) is False]
    for path in legacy:
        log.warning("%s: not valid UTF-8, decoded as Windows-1252/Latin-1", path)
    return legacy


def read_corpus(files: Sequence[Path], options: ReadOptions, *, stats: ReadStats,
                legacy: Mapping[Path, Path] | None = None,
                progress: ProgressTask | None = None) -> Iterator[tuple[int, Document]]:
    """(file index, document) for every document of ``files``, in order.

    ``legacy`` maps a file to its UTF-8 working copy (:func:`transcode_legacy`), read in its place
    and reported under the original name.
    """
    legacy = legacy or {}
    for index, path in enumerate(files):
        copy = legacy.get(path)
        if copy is None:
            for doc in read_documents([path], options, stats=stats, progress=progress):
                yield index, doc
            continue
        prefix, name = str(copy), str(path)
        for doc in read_documents([copy], options, stats=stats):
            yield index, Document(id=name + doc.id[len(prefix):], text=doc.text, source=name)
        if progress is not None:
            progress.advance(path.stat().st_size)


def read_corpus_batches(files: Sequence[Path], options: ReadOptions, *, stats: ReadStats,
                        legacy: Mapping[Path, Path] | None = None,
                        progress: ProgressTask | None = None
                        ) -> Iterator[tuple[int, list[int] | None, list[str]]]:
    """:func:`read_corpus` a batch at a time: ``(file index, numbers, texts)`` as
    :func:`~tokkit.corpus.readers.read_batches` gives them (a legacy file's working copy read in
    its place; ids are built from ``files[index]``, so they name the original)."""
    legacy = legacy or {}
    for index, path in enumerate(files):
        copy = legacy.get(path)
        for _, numbers, texts in read_batches([copy or path], options, stats=stats,
                                              progress=None if copy else progress):
            yield index, numbers, texts
        if copy is not None and progress is not None:
            progress.advance(path.stat().st_size)
