"""The shapes every stage shares: documents in, tokenizers out.

Stages never know who produced a tokenizer: from-scratch and library-backed tokenizers all satisfy
:class:`Tokenizer`, so analysis, vocabulary extension and sharding work on any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

_NO_META: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Document:
    """One unit of text from a corpus, with where it came from.

    ``id`` is stable across runs (``<path>`` or ``<path>:<index>``) so dedup reports and shard
    manifests can point back to the source.
    """

    id: str
    text: str
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=lambda: _NO_META)


@runtime_checkable
class Tokenizer(Protocol):
    """What every tokenizer tokkit trains or loads can do.

    ``save(directory)`` writes the tokenizer's files into ``directory`` and returns the path of
    its main file; ``load(path)`` reads it back (a directory or that file).
    """

    @property
    def vocab_size(self) -> int: ...

    @property
    def special_tokens(self) -> Mapping[str, int]: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def id_to_token(self, id: int) -> str: ...

    def save(self, directory: str | Path) -> Path: ...

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer: ...


class ProgressTask(Protocol):
    """One bar: advance it by units of work done."""

    def advance(self, n: int = 1) -> None: ...

    def update_total(self, total: int | None) -> None: ...


class Progress(Protocol):
    """Where long-running library code reports progress; the CLI passes a rich one.

    ``unit="bytes"`` says the task counts bytes of text (shown as MB), otherwise items.
    """

    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask: ...


class Trainer(Protocol):
    """A training recipe: a config in, a tokenizer out, fed by an iterator of texts.

    ``texts`` is consumed once and streamed; trainers never need the corpus in memory.
    """

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> Tokenizer: ...


TextIterator = Iterator[str]
