"""Write documents back as txt, jsonl or parquet (optionally .gz/.zst), atomically.

The mirror of :mod:`tokkit.corpus.readers`: what one stage keeps (dedup, cleaning, sampling) is
written in the format it came in, so the next stage reads it unchanged. A writer fills a temp
sibling and renames it over the target only when closed without error: an interrupted run never
leaves a half-written file.

>>> from tokkit.corpus.writers import write_documents
>>> write_documents(docs, "out/kept.jsonl")  # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tokkit.atomic import TMP_PREFIX
from tokkit.corpus.formats import TEXT, WriteFormat, file_format, format_for
from tokkit.errors import InputError
from tokkit.types import Document

Format = WriteFormat

SEPARATORS = {"file": "", "paragraph": "\n\n", "line": "\n"}
"""Text written after each document in a txt file, for each reader ``split``."""



def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def format_of(path: str | Path) -> tuple[Format, str | None]:
    """(format, compression suffix or None) from a file name, e.g. ``a.jsonl.zst`` → (jsonl, .zst).

    The format table (:data:`tokkit.corpus.formats.FORMATS`) says; unknown suffixes are text, as
    the readers treat them.
    """
    suffix, compression = file_format(path)
    fmt = format_for(path) or TEXT
    if fmt.write is None:
        raise InputError(f"{path}: tokkit reads '{suffix}' files but has no writer for them; "
                         "register the format with `write=` or write to a .jsonl path")
    return fmt.write, compression


class DocumentWriter:
    """Stream documents (or raw records) into one file; commit on :meth:`close`.

    txt: each text followed by ``separator`` (see :data:`SEPARATORS`); jsonl: one object per
    line, ``{"id": ..., **meta, text_field: text}`` (``with_id=False`` drops the id); parquet:
    columns ``id`` (unless ``with_id=False``) and ``text_field`` plus the keys of the first
    document's ``meta``. Use as a context manager: an exception discards the file.
    """

    def __init__(self, path: str | Path, fmt: Format | None = None, *, text_field: str = "text",
                 separator: str = "\n", with_id: bool = True, row_group_rows: int = 65536) -> None:
        self.path = Path(path)
        if fmt is None:
            fmt, self.compression = format_of(self.path)
        else:
            self.compression = file_format(self.path)[1]
        self.fmt: Format = fmt
        if self.fmt not in ("txt", "jsonl", "parquet"):
            raise InputError(f"{self.path}: unknown output format {self.fmt!r}; use txt, jsonl or parquet")
        if self.fmt == "parquet" and self.compression:
            raise InputError(f"{self.path}: parquet is compressed internally; drop the {self.compression} suffix")
        self.text_field = text_field
        self.separator = separator
        self.with_id = with_id
        self.row_group_rows = row_group_rows
        self.count = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{self.path.name}.", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._stream: IO[bytes] | None = None
        self._closers: list[Any] = []
        self._rows: list[dict[str, Any]] = []
        self._parquet: Any = None
        if self.fmt != "parquet":
            self._stream = self._open_stream()

    def _open_stream(self) -> IO[bytes]:
        raw = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()
        self._closers.append(raw)
        if self.compression == ".gz":
            # mtime=0 and no file name: the same documents give the same bytes
            stream: Any = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        elif self.compression in (".zst", ".zstd"):
            import zstandard

            stream = zstandard.ZstdCompressor().stream_writer(raw)
        else:
            return raw
        self._closers.append(stream)
        return stream

    def write(self, doc: Document) -> None:
        """Append one document."""
        if self.fmt == "txt":
            assert self._stream is not None
            self._stream.write((doc.text + self.separator).encode("utf-8", "surrogatepass"))
            self.count += 1
            return
        record: dict[str, Any] = {"id": doc.id} if self.with_id else {}
        record.update(doc.meta)
        record[self.text_field] = doc.text
        self.write_record(record)

    def write_record(self, record: Mapping[str, Any]) -> None:
        """Append one jsonl/parquet record as is (to pass other fields through)."""
        if self.fmt == "txt":
            raise InputError(f"{self.path}: a txt file holds texts, not records; use write()")
        if self.fmt == "jsonl":
            assert self._stream is not None
            line = json.dumps(record, ensure_ascii=False, separators=(", ", ": "))
            self._stream.write(line.encode("utf-8", "surrogatepass") + b"\n")
        else:
            self._rows.append(dict(record))
            if len(self._rows) >= self.row_group_rows:
                self._flush_rows()
        self.count += 1

    def write_raw(self, data: bytes) -> None:
        """Append bytes verbatim (a jsonl line copied from the input, for byte-faithful output)."""
        if self._stream is None:
            raise InputError(f"{self.path}: raw bytes cannot go into parquet; use write_record()")
        self._stream.write(data)
        self.count += 1

    def write_table(self, table: Any) -> None:
        """Append a ``pyarrow.Table`` (parquet only; its schema must match earlier writes)."""
        if self.fmt != "parquet":
            raise InputError(f"{self.path}: tables go into parquet files only")
        self._flush_rows()
        if self._parquet is None:
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(self._tmp, table.schema)
        self._parquet.write_table(table)
        self.count += table.num_rows

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        import pyarrow as pa

        rows, self._rows = self._rows, []
        if self._parquet is None:
            table = pa.Table.from_pylist(rows)
        else:
            table = pa.Table.from_pylist(rows, schema=self._parquet.schema)
        self.write_table(table)
        self.count -= len(rows)  # write_table counted them again

    def close(self) -> Path:
        """Finish the file and rename it into place; returns the path."""
        if self.fmt == "parquet":
            self._flush_rows()
            if self._parquet is None:  # no rows: an empty file with the text column
                import pyarrow as pa
                import pyarrow.parquet as pq

                cols = (["id"] if self.with_id else []) + [self.text_field]
                pq.write_table(pa.table({c: pa.array([], pa.string()) for c in cols}), self._tmp)
            else:
                self._parquet.close()
        else:
            assert self._stream is not None
            self._stream.flush()
            for closer in reversed(self._closers):
                closer.close()
        os.chmod(self._tmp, 0o666 & ~_umask())  # mkstemp made it 0600
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Discard everything written; the target is left untouched."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            for closer in reversed(self._closers):
                closer.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> DocumentWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_documents(docs: Iterable[Document], path: str | Path, fmt: Format | None = None, *,
                    text_field: str = "text", split: str = "line", with_id: bool = True) -> int:
    """Write ``docs`` to ``path`` (format from the suffix unless ``fmt``); returns how many.

    For txt, ``split`` says how the reader cut the file (``line``, ``paragraph`` or ``file``), so
    reading the result back with the same split gives the same texts (for ``line``: texts without
    newlines; for ``paragraph``: texts without blank lines).
    """
    if split not in SEPARATORS:
        raise InputError(f"split {split!r}: choose one of {', '.join(SEPARATORS)}")
    with DocumentWriter(path, fmt, text_field=text_field, separator=SEPARATORS[split],
                        with_id=with_id) as writer:
        for doc in docs:
            writer.write(doc)
    return writer.count
