"""Document ids kept as numbers: a file index and a record number per document, not a string.

Dedup remembers every document of the corpus between its two passes. As Python strings
(``'/data/corpus/words.jsonl:1234567'``, ~90 bytes each, plus a set entry to look them up) the
ids alone were most of the memory of a corpus of many small documents; as numbers they are 8 bytes
a document, and the strings :func:`~tokkit.corpus.readers.read_documents` would give are rebuilt
only for the few documents a report names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np


class IdLookup(Protocol):
    """What a report needs of ids: ``ids[i]`` (a list, an object array, :class:`DocumentIds`;
    :func:`id_strings` uses a ``strings(indices)`` method where there is one)."""

    def __getitem__(self, index: int, /) -> Any: ...

    def __len__(self) -> int: ...


WHOLE_FILE = -1
"""The record number of a document that is its whole file (id ``<path>``, no ``:<n>``)."""


class DocumentIds:
    """The ids of a corpus' documents in reading order, file by file.

    ``sources[f]`` names file ``f``, ``counts[f]`` is how many documents it gave and ``numbers``
    holds each document's ``n`` of ``<path>:<n>`` (:data:`WHOLE_FILE` for ``<path>``).
    ``ids[i]`` is document ``i``'s id string, equal to what ``read_documents`` yields.
    """

    def __init__(self, sources: Sequence[str], counts: Sequence[int] | np.ndarray,
                 numbers: np.ndarray) -> None:
        self.sources = [str(s) for s in sources]
        counts = np.asarray(counts, dtype=np.int64)
        if len(counts) != len(self.sources) or int(counts.sum()) != len(numbers):
            raise ValueError("one count per source, summing to the number of documents")
        self.starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.starts[1:])
        self.numbers = numbers

    def __len__(self) -> int:
        return len(self.numbers)

    def file_of(self, index: int) -> int:
        """The file document ``index`` came from."""
        return int(np.searchsorted(self.starts, index, side="right")) - 1

    def __getitem__(self, index: int) -> str:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        source = self.sources[self.file_of(index)]
        number = int(self.numbers[index])
        return source if number == WHOLE_FILE else f"{source}:{number}"

    def strings(self, indices: np.ndarray) -> list[str]:
        """``[ids[i] for i in indices]``, computed for the whole array at once."""
        indices = np.asarray(indices, dtype=np.int64)
        files = (np.searchsorted(self.starts, indices, side="right") - 1).tolist()
        sources = self.sources
        return [sources[f] if n == WHOLE_FILE else f"{sources[f]}:{n}"
                for f, n in zip(files, self.numbers[indices].tolist(), strict=True)]

    def take(self, indices: np.ndarray) -> _Taken:
        """The ids of documents ``indices`` (``taken[i] == ids[indices[i]]``)."""
        return _Taken(self, np.asarray(indices, dtype=np.int64))

    def numbers_of(self, file: int) -> np.ndarray:
        """The record numbers of file ``file``'s documents, in reading order (ascending)."""
        return self.numbers[self.starts[file] : self.starts[file + 1]]


def document_id(source: str, number: int) -> str:
    """The id ``read_documents`` gives record ``number`` of ``source``."""
    return source if number == WHOLE_FILE else f"{source}:{number}"


class KeptRecords:
    """Which records of one file stay: ``number in kept`` for a record number (the ``n`` of
    ``<path>:<n>``, or :data:`WHOLE_FILE`); a byte a record, not a set of Python ints."""

    def __init__(self, numbers: np.ndarray, kept: np.ndarray) -> None:
        numbers = np.asarray(numbers, dtype=np.int64)
        kept = np.asarray(kept, dtype=bool)
        self.count = int(kept.sum())
        self.whole = bool(kept[numbers == WHOLE_FILE].any())
        records = numbers[kept & (numbers >= 0)]
        flags = np.zeros(int(records.max()) + 1 if len(records) else 0, dtype=np.uint8)
        flags[records] = 1
        self._flags = flags.tobytes()

    def __contains__(self, number: object) -> bool:
        if number == WHOLE_FILE:
            return self.whole
        try:
            return self._flags[number] == 1 if number >= 0 else False  # type: ignore[call-overload,operator]
        except (IndexError, TypeError):
            return False

    def __bool__(self) -> bool:
        return self.count > 0


class _Taken:
    """``ids[indices[i]]`` for a subset of the documents (what a report over twins names)."""

    def __init__(self, ids: DocumentIds, indices: np.ndarray) -> None:
        self.ids, self.indices = ids, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> str:
        return self.ids[int(self.indices[index])]

    def strings(self, indices: np.ndarray) -> list[str]:
        return self.ids.strings(self.indices[np.asarray(indices, dtype=np.int64)])


def id_strings(ids: IdLookup, indices: np.ndarray) -> list[str]:
    """The ids of documents ``indices`` as strings (whole arrays at once where ``ids`` can)."""
    many = getattr(ids, "strings", None)
    if many is not None:
        found: list[str] = many(indices)
        return found
    return [str(ids[i]) for i in np.asarray(indices, dtype=np.int64).tolist()]
