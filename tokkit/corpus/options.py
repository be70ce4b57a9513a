"""How a corpus is cut into documents (:class:`ReadOptions`) and what a read saw (:class:`ReadStats`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tokkit.errors import InputError

Split = Literal["file", "paragraph", "line"]
EncodingErrors = Literal["strict", "replace", "skip"]

DEFAULT_MAX_DOCUMENT_BYTES = 64 * 2**20

_SPLITS = ("file", "paragraph", "line")
_ENCODING_ERRORS = ("strict", "replace", "skip")

Batch = tuple["list[int] | None", "list[str]"]
"""What a format's reader yields: ``(ids, texts)``, ``ids`` holding each text's index in its file
(``None`` for a whole file, or when the caller did not ask for ids). Batching per read chunk keeps
the per-document Python work down to what a trainer must do anyway."""


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


def wanted(text: str, options: ReadOptions) -> bool:
    """Whether a document is kept: not empty or whitespace-only, unless ``options.keep_empty``."""
    return options.keep_empty or (bool(text) and not text.isspace())
