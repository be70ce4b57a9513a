"""An array built a batch at a time in a file, read back once: one copy in memory, never two.

Dedup's first pass learns a few fixed-width values per document (exact digest, length, record
number). Kept as a list of per-batch arrays and concatenated at the end, the array would exist
twice at its peak; spooled to a file and read with :func:`numpy.fromfile`, it exists once, and
not at all while the corpus is being read.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np


class ArraySpool:
    """Rows of ``dtype`` (each ``width`` values) appended to ``path``; :meth:`read` returns them."""

    def __init__(self, path: Path, dtype: type | np.dtype, width: int = 1) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.width = width
        self.rows = 0
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 (closed by close/read)

    def append(self, rows: np.ndarray) -> None:
        values = np.ascontiguousarray(rows, dtype=self.dtype)
        if self._file is None:
            raise ValueError(f"{self.path}: spool already read")
        if values.size % self.width:
            raise ValueError(f"rows of {self.width} values expected")
        values.tofile(self._file)
        self.rows += values.size // self.width

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def read(self, *, unlink: bool = True) -> np.ndarray:
        """All rows, shape ``(rows,)`` or ``(rows, width)``; the file is removed unless told."""
        self.close()
        values = np.fromfile(self.path, dtype=self.dtype) if self.rows else np.zeros(0, self.dtype)
        if unlink:
            self.path.unlink(missing_ok=True)
        return values if self.width == 1 else values.reshape(self.rows, self.width)

    def __enter__(self) -> ArraySpool:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
