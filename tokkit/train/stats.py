"""What a trainer reports about a run: the same keys for every algorithm and backend.

After ``train()``, every trainer's ``stats`` is a :class:`TrainStats`: how much it read
(``documents``, ``corpus_bytes``), what it made (``vocab_size``; ``unique_chunks``, the distinct
units it counted: pre-tokenized chunks, words or runs; ``merges`` where the algorithm merges) and
where the time went (``seconds_counting``, reading and counting; ``seconds_training``, the rest).
A key an algorithm or library cannot fill is ``None``; figures of its own (``alphabet``,
``em_steps``, ``sentences``…) go after the shared ones. It is a mapping (``stats["documents"]``,
``dict(stats)``), so it lands in ``tokkit.json`` and ``train_report.json`` as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

SHARED = ("documents", "corpus_bytes", "vocab_size", "unique_chunks", "merges", "seconds_counting",
          "seconds_training")
"""The keys every trainer reports, in this order."""


@dataclass
class TrainStats(MutableMapping[str, Any]):
    """The shared figures as fields, an algorithm's own in ``extra``; both read and set by key."""

    documents: int = 0
    corpus_bytes: int = 0
    vocab_size: int | None = None
    unique_chunks: int | None = None
    merges: int | None = None
    seconds_counting: float | None = None
    seconds_training: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key in SHARED:
            return getattr(self, key)
        return self.extra[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in SHARED:
            setattr(self, key, value)
        else:
            self.extra[key] = value

    def __delitem__(self, key: str) -> None:
        if key in SHARED:
            raise KeyError(f"{key} is a shared figure: set it to None instead")
        del self.extra[key]

    def __iter__(self) -> Iterator[str]:
        yield from SHARED
        yield from self.extra

    def __len__(self) -> int:
        return len(SHARED) + len(self.extra)


