"""Cutting a stream into batches: the one rule every stage batches by.

Trainers count texts in batches of about 1 MiB, sharding encodes them so, analysis measures
batches of one file each; all of them close a batch once its items reach the size limit, so a
batch holds at least one item and a long item is a batch of its own. The stream is consumed
lazily: memory holds one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], limit: int, *, size: Callable[[T], int] = len,  # type: ignore[assignment]
            key: Callable[[T], Hashable] | None = None) -> Iterator[list[T]]:
    """Consecutive ``items`` in lists whose ``size`` (``len`` by default) sums to about ``limit``.

    A list closes as soon as it reaches ``limit``; with ``key``, also before an item whose key
    differs from the one before it (e.g. one source file a batch).
    """
    batch: list[T] = []
    total = 0
    current: Any = None
    for item in items:
        if key is not None:
            k = key(item)
            if batch and k != current:
                yield batch
                batch, total = [], 0
            current = k
        batch.append(item)
        total += size(item)
        if total >= limit:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch
