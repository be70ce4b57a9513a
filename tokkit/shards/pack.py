"""Pure stages of sharding: documents → token ids → packed fixed-length sequences.

Nothing here touches files or processes, so the local writer and a distributed engine (Ray Data's
``map_batches``) run the very same functions: :func:`encode_batch` maps a batch of texts to framed
id arrays and their split, :func:`pack` cuts a stream of arrays into ``seq_len`` sequences.

Documents are packed back to back (``[BOS] doc₁ EOS [BOS] doc₂ EOS …``) and cut at fixed lengths
regardless of document boundaries, the GPT/LLaMA pretraining layout: no padding, every token
trains. Which split a document lands in depends only on its text (:func:`is_val`), never on its
position, so partitioned engines agree with the local one.

Memory: a document longer than :data:`PIECE_CHARS` is encoded in pieces cut where the ids do not
change (:func:`encode_long`), so sharding one huge record needs about 80 MB of tokenizer work
space plus ~8 bytes per byte of the record (its text, its ids and one framed copy) instead of the
tokenizer's ~100 bytes per byte (5.6 GiB for one 50 MB record before); measured by
``benchmarks/bench_shard_long.py`` and ``tests/shards/test_memory.py``.
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


PIECE_CHARS = 1 << 18
"""A document longer than this many characters is encoded in pieces of at most this size."""
PIECES_PER_CALL = 2
"""Pieces of one long document handed to the encoder at once (its Rust threads share them)."""


SEAM_PROBES = ("hello world", "the end of it", "天下 大势")
"""Texts with a space between two words, to learn how an encoder treats a seam (:func:`seam_drops_space`)."""


def piece_end(text: str, start: int, piece_chars: int = PIECE_CHARS) -> tuple[int, bool]:
    """Where the piece of ``text`` that begins at ``start`` ends, and whether it ends at a seam.

    Preferably at a space that sits between two non-space characters (``"word| next"``), a seam:
    the GPT-2/cl100k/o200k pre-tokenizers attach such a space to the following word and never
    match across it, and sentencepiece starts the next word there, so the ids are the same as
    encoding the text whole. A piece with no such space in its second half is cut hard at
    ``piece_chars``; at that cut the ids may differ from a whole encoding (sentencepiece also
    adds a word-start mark there).
    """
    end = start + piece_chars
    if end >= len(text):
        return len(text), False
    floor = start + piece_chars // 2
    space = text.rfind(" ", floor, end)
    while space > floor:
        if not text[space - 1].isspace() and not text[space + 1].isspace():
            return space, True
        space = text.rfind(" ", floor, space)
    return end, False


def seam_drops_space(encode: Encoder) -> bool:
    """Whether a piece that starts at a seam should lose its leading space.

    Byte-level BPE keeps it (``" next"`` is one pre-token); sentencepiece with a dummy prefix
    (LLaMA) adds its own word-start mark to every call, so the space must go or it doubles. Learnt
    from the encoder itself on :data:`SEAM_PROBES`: whichever way reproduces the whole encoding.
    """
    cuts = [text.index(" ") for text in SEAM_PROBES]
    whole = encode(list(SEAM_PROBES))
    heads = encode([text[:cut] for text, cut in zip(SEAM_PROBES, cuts, strict=True)])
    kept = encode([text[cut:] for text, cut in zip(SEAM_PROBES, cuts, strict=True)])
    if all(list(w) == [*h, *k] for w, h, k in zip(whole, heads, kept, strict=True)):
        return False
    dropped = encode([text[cut + 1:] for text, cut in zip(SEAM_PROBES, cuts, strict=True)])
    return all(list(w) == [*h, *d] for w, h, d in zip(whole, heads, dropped, strict=True))


def encode_long(text: str, encode: Encoder, piece_chars: int = PIECE_CHARS) -> np.ndarray:
    """Ids of one long document, encoded piece by piece (see :func:`piece_end`).

    A tokenizer's working memory grows with the text of one call (``tokenizers`` holds ~100 bytes
    per input byte while it encodes), so pieces bound it whatever the document's length: what
    stays is the text and 4 bytes per id.
    """
    drop = seam_drops_space(encode)
    parts: list[np.ndarray] = []
    start = 0
    while start < len(text):
        pieces: list[str] = []
        while start < len(text) and len(pieces) < PIECES_PER_CALL:
            end, seam = piece_end(text, start, piece_chars)
            pieces.append(text[start:end])
            start = end + 1 if seam and drop else end
        parts.extend(np.asarray(ids, dtype=np.uint32) for ids in encode(pieces))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint32)


def encode_batch(
    texts: Sequence[str], encode: Encoder, framing: Framing, val_fraction: float, *,
    piece_chars: int = PIECE_CHARS,
) -> EncodedBatch:
    """Tokenize and frame a batch of documents; the unit of parallel work.

    Documents longer than ``piece_chars`` characters are encoded in pieces (:func:`encode_long`),
    so memory stays a small multiple of the longest document (its text plus ~8 bytes per id)
    instead of the tokenizer's ~100 bytes per byte of it.
    """
    long = [i for i, t in enumerate(texts) if len(t) > piece_chars]
    encoded: list[Sequence[int] | np.ndarray]
    if long:
        encoded = [[] for _ in texts]
        short = [i for i, t in enumerate(texts) if len(t) <= piece_chars]
        for i, short_ids in zip(short, encode([texts[i] for i in short]) if short else [], strict=True):
            encoded[i] = short_ids
        for i in long:
            encoded[i] = encode_long(texts[i], encode, piece_chars)
    else:
        encoded = list(encode(texts))
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
        encoded[i] = []  # a long document's ids go as soon as they are copied
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
