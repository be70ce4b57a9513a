"""Pure stages of sharding: documents → token ids → packed fixed-length sequences.

Nothing here touches files or processes, so the local writer and a distributed engine (Ray Data's
``map_batches``) run the very same functions: :func:`encode_batch` maps a batch of texts to framed
id arrays and their split, :func:`pack` cuts a stream of arrays into ``seq_len`` sequences.

Documents are packed back to back (``[BOS] doc₁ EOS [BOS] doc₂ EOS …``) and cut at fixed lengths
regardless of document boundaries, the GPT/LLaMA pretraining layout: no padding, every token
trains. Which split a document lands in depends only on its text (:func:`is_val`), never on its
position, so partitioned engines agree with the local one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from tokkit.shards.framing import Framing

_HASH_SPACE = float(1 << 64)

Encoder = Callable[[Sequence[str]], Sequence[Sequence[int]]]
"""Texts → ids per text, without special tokens (e.g. a fast tokenizer's ``encode_batch``)."""


def is_val(text: str, val_fraction: float) -> bool:
    """Whether a document belongs to the validation split: a stable hash of its text.

    Identical documents always land in the same split, so exact duplicates cannot leak from
    train into val.
    """
    if val_fraction <= 0.0:
        return False
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _HASH_SPACE < val_fraction


def frame(ids: Sequence[int] | np.ndarray, framing: Framing) -> np.ndarray:
    """``[BOS] ids EOS`` as a uint32 array."""
    body = np.asarray(ids, dtype=np.uint32)
    head = [framing.bos_id] if framing.bos_id is not None else []
    return np.concatenate(
        [np.asarray(head, dtype=np.uint32), body, np.asarray([framing.eos_id], dtype=np.uint32)]
    )


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """A batch of framed documents, flat for cheap transfer between processes.

    Document ``i`` is ``ids[offsets[i]:offsets[i + 1]]`` and belongs to val when ``val[i]``.
    """

    ids: np.ndarray
    offsets: np.ndarray
    val: np.ndarray

    def __len__(self) -> int:
        return len(self.val)

    def document(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]


def encode_batch(
    texts: Sequence[str], encode: Encoder, framing: Framing, val_fraction: float
) -> EncodedBatch:
    """Tokenize and frame a batch of documents; the unit of parallel work."""
    encoded = encode(texts)
    bos_id = framing.bos_id
    bos = 1 if bos_id is not None else 0
    lengths = np.fromiter((len(ids) + bos + 1 for ids in encoded), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.empty(int(offsets[-1]), dtype=np.uint32)
    for i, ids in enumerate(encoded):
        start = int(offsets[i])
        if bos_id is not None:
            flat[start] = bos_id
        flat[start + bos : int(offsets[i + 1]) - 1] = ids
        flat[int(offsets[i + 1]) - 1] = framing.eos_id
    val = np.fromiter((is_val(t, val_fraction) for t in texts), dtype=bool, count=len(texts))
    return EncodedBatch(ids=flat, offsets=offsets, val=val)


def pack(arrays: Iterable[np.ndarray], seq_len: int) -> Iterator[np.ndarray]:
    """Cut a stream of id arrays into ``seq_len`` sequences; the final one may be shorter.

    Concatenating what this yields gives back the concatenated input exactly.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be positive, got {seq_len}")
    pending: list[np.ndarray] = []
    held = 0
    for array in arrays:
        pending.append(array)
        held += len(array)
        if held < seq_len:
            continue
        stream = np.concatenate(pending)
        full = len(stream) // seq_len * seq_len
        yield from stream[:full].reshape(-1, seq_len)
        pending, held = [stream[full:]], len(stream) - full
    if held:
        yield np.concatenate(pending)
