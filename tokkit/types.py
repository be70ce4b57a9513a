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

from tokkit.vocab_bytes import VocabBytes, vocab_bytes_from_names

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
    """What every tokenizer tokkit trains or loads can do, and all that its consumers use.

    ``kind`` names the :data:`tokkit.load.KINDS` entry that loads it (``"bpe"``, ``"hf"``, ...).
    ``save(directory)`` writes the tokenizer's files into ``directory`` and returns the path of
    its main file; ``load(path)`` reads it back (a directory or that file). ``encode`` adds no
    special tokens (raw text → ids).

    The batch members are where a library's native speed shows: ``encode_batch`` gives the same ids
    as ``encode`` per text, as lists or as numpy integer arrays when the library hands its buffer
    over (tiktoken), so consumers take ``len``, iterate or ``np.asarray`` them and never compare
    them with ``==``; ``threads`` caps the library's own threads (worker processes pass 1), a
    tokenizer without threads ignores it. ``decode_batch`` is ``decode`` per id list.
    ``vocab_bytes()`` says what text bytes each id stands for (:class:`~tokkit.vocab_bytes.VocabBytes`),
    what analysis counts.

    A class that subclasses this protocol inherits plain versions of the three (a loop over
    ``encode``/``decode``; the ``<0xNN>``/``▁``/``[UNK]`` naming conventions for the bytes) and only
    writes the rest; the adapters over the libraries override them with the libraries' own calls.
    """

    kind: str

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

    def encode_batch(self, texts: Sequence[str], *, threads: int | None = None) -> Sequence[Sequence[int]]:
        return [self.encode(text) for text in texts]

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def vocab_bytes(self) -> VocabBytes:
        return vocab_bytes_from_names(self)


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
