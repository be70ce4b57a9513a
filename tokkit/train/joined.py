"""Texts joined into ~1 MiB strings: how the WordPiece and Unigram trainers take their corpus.

Splitting one big string into words is far cheaper per text than splitting many small ones, and
a newline always separates words, so splitting a joined batch splits each text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from tokkit.batches import batched


def joined_batches(texts: Iterable[str], stats: MutableMapping[str, Any], batch_chars: int) -> Iterator[str]:
    """Join texts into newline-separated strings of ~``batch_chars``, so trainers split words in bulk.

    Counts ``stats["documents"]`` and ``stats["corpus_bytes"]`` (the texts' UTF-8 bytes) on the way.
    """
    for batch in batched(texts, batch_chars):
        text = "\n".join(batch)
        stats["documents"] += len(batch)
        stats["corpus_bytes"] += len(text.encode("utf-8")) - (len(batch) - 1)
        yield text
