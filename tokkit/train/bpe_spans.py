"""Distinct chunks laid out as **spans**: what the compiled BPE merge loop
(:mod:`tokkit.train.bpe_merge_numba`) works on, in 2 bytes a byte of text.

One slot per byte of every distinct chunk, chunks end to end with a separator slot before, between
and after them, in one array ``sym`` of ``uint16`` (``uint32`` when the vocabulary passes 65,533
ids), against 12 bytes a byte for linked ``int32`` ``symbol``/``next``/``prev`` arrays. A token covers
as many slots as it has bytes; its first and its last slot hold its id, the slots between hold
``INTERIOR``. So the next token starts at ``i + len(token)`` and the previous one ends at ``i - 1``,
whose slot names it: neighbours cost O(1) without links, and a merge writes two to four slots. A
merged-away start becomes ``INTERIOR``, so a stale position never reads as a live token of the same
id (a slot that once started a token now still does, or ends a longer one, or is interior).

Chunks of count 1 (92-96% of the bytes on en+zh and on ``large/``) lie after the others, so a slot's
weight is 1 past ``light_from`` and otherwise a binary search in the starts of the heavier chunks:
no array over every chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokkit.train.compiled import jit


def slot_type(ids: int) -> Any:
    """The ``sym`` dtype for token ids below ``ids``: two values stay free for the sentinels."""
    return np.uint16 if ids <= 0xFFFF - 2 else np.uint32


def sentinels(dtype: Any) -> tuple[int, int]:
    """``(SEP, INTERIOR)`` for a ``sym`` dtype: its two largest values."""
    top = int(np.iinfo(dtype).max)
    return top, top - 1


def token_lengths(tokens: list[bytes], vocab_size: int) -> np.ndarray:
    """Bytes per token id (its slots), with room for every id training can create."""
    tok_len = np.zeros(max(vocab_size, len(tokens)) + 1, dtype=np.int64)
    tok_len[: len(tokens)] = [len(token) for token in tokens]
    return tok_len


@jit
def layout_bytes(utf8, lengths, weights, ranks, sym, heavy_start, heavy_weight, sep):
    """Chunks given as UTF-8 bytes (``ranks[byte]`` is the byte's symbol id) into ``sym``: the chunks
    of count > 1 first (their start slots and counts in ``heavy_*``), then the others, a ``sep``
    slot around each. Returns ``light_from``, the first slot of the count-1 chunks."""
    sym[0] = sep
    at = 1
    c = 0
    light_from = 1
    for light in range(2):
        if light:
            light_from = at
        src = 0
        for k in range(len(lengths)):
            n = lengths[k]
            if (weights[k] <= 1) == (light == 1):
                if not light:
                    heavy_start[c] = at
                    heavy_weight[c] = weights[k]
                    c += 1
                for t in range(n):
                    sym[at + t] = ranks[utf8[src + t]]
                at += n
                sym[at] = sep
                at += 1
            src += n
    return light_from


@jit
def layout_records(buf, light, ranks, sym, state, heavy_start, heavy_weight, sep):
    """Lay out the complete run records (``<length u32><count u64><UTF-8 bytes>``) at the front of
    ``buf``: pass ``light`` 0 takes the chunks counted more than once, 1 the others. ``state`` holds
    the next slot and the next heavy chunk. Returns the bytes consumed."""
    pos = 0
    at = state[0]
    c = state[1]
    while pos + 12 <= len(buf):
        n = np.int64(0)
        for t in range(4):
            n |= np.int64(buf[pos + t]) << (8 * t)
        count = np.int64(0)
        for t in range(8):
            count |= np.int64(buf[pos + 4 + t]) << (8 * t)
        if pos + 12 + n > len(buf):
            break
        if (count <= 1) == (light == 1):
            if not light:
                heavy_start[c] = at
                heavy_weight[c] = count
                c += 1
            for t in range(n):
                sym[at + t] = ranks[buf[pos + 12 + t]]
            at += n
            sym[at] = sep
            at += 1
        pos += 12 + n
    state[0] = at
    state[1] = c
    return pos


@jit
def layout_symbols(symbols, lengths, weights, tok_len, sym, heavy_start, heavy_weight, sep, interior):
    """Chunks given as token ids (already merged symbols span their bytes) into ``sym``, in their
    order, every chunk listed in ``heavy_*`` (so any count works)."""
    sym[0] = sep
    at = 1
    src = 0
    for k in range(len(lengths)):
        heavy_start[k] = at
        heavy_weight[k] = weights[k]
        for t in range(lengths[k]):
            s = symbols[src + t]
            n = tok_len[s]
            sym[at] = s
            for u in range(1, n - 1):
                sym[at + u] = interior
            sym[at + n - 1] = s
            at += n
        src += lengths[k]
        sym[at] = sep
        at += 1


@jit
def read_tokens(sym, tok_len, sep, out, per_chunk):
    """The tokens of every chunk in slot order into ``out`` and how many each chunk holds into
    ``per_chunk``; returns how many tokens there are."""
    m = 0
    c = -1
    i = 0
    while i < len(sym):
        s = sym[i]
        if s == sep:
            c += 1
            i += 1
            continue
        out[m] = s
        m += 1
        per_chunk[c] += 1
        i += tok_len[s]
    return m


@jit
def weight_at(i, heavy_start, heavy_weight, light_from):
    """The count of the chunk holding slot ``i``."""
    if i >= light_from:
        return np.int64(1)
    return heavy_weight[np.searchsorted(heavy_start, i, side="right") - 1]

class Spans:
    """Distinct chunks laid out as spans (see the module docstring) with their counts."""

    def __init__(self, sym: np.ndarray, heavy_start: np.ndarray, heavy_weight: np.ndarray,
                 light_from: int) -> None:
        if len(sym) >= 2**31 - 1:
            from tokkit.errors import InputError

            raise InputError("distinct chunks of more than 2 G bytes in total cannot be trained; "
                             "train on a part of the corpus")
        self.sym = sym
        self.heavy_start = heavy_start
        self.heavy_weight = heavy_weight
        self.light_from = light_from
        self.sep, self.interior = sentinels(sym.dtype)

    @classmethod
    def from_utf8(cls, utf8: np.ndarray, lengths: np.ndarray, weights: np.ndarray, offset: int,
                  ids: int) -> Spans:
        """Chunks as their UTF-8 bytes end to end, bytes per chunk and counts; byte ``v`` becomes
        symbol ``offset + rank(v)`` (:data:`tokkit.models.bpe_bytes.RANK_TABLE`), ids stay below
        ``ids``."""
        dtype = slot_type(ids)
        ranks = _ranks(offset, dtype)
        heavy = int(np.count_nonzero(weights > 1))
        sym = np.empty(len(utf8) + len(lengths) + 1, dtype=dtype)
        heavy_start = np.zeros(heavy, dtype=np.int64)
        heavy_weight = np.zeros(heavy, dtype=np.int64)
        light_from = layout_bytes(utf8, lengths, weights, ranks, sym, heavy_start, heavy_weight,
                                  sentinels(dtype)[0])
        return cls(sym, heavy_start, heavy_weight, int(light_from))

    @classmethod
    def from_run(cls, run: Any, offset: int, ids: int, block: int = 1 << 23) -> Spans:
        """Chunks from a merged run file (:class:`tokkit.train.bpe_spill.MergedRun`), read twice in
        blocks: memory holds the slots and one block, never the chunks' bytes as well."""
        dtype = slot_type(ids)
        sym = np.empty(run.utf8_bytes + run.chunks + 1, dtype=dtype)
        sep = sentinels(dtype)[0]
        sym[0] = sep
        heavy_start = np.zeros(run.heavy, dtype=np.int64)
        heavy_weight = np.zeros(run.heavy, dtype=np.int64)
        ranks = _ranks(offset, dtype)
        state = np.array([1, 0], dtype=np.int64)
        light_from = 1
        for light in (0, 1):
            light_from = int(state[0]) if light else light_from
            with run.path.open("rb") as handle:
                carry = b""
                while True:
                    piece = handle.read(block)
                    data = carry + piece if carry else piece
                    used = layout_records(np.frombuffer(data, dtype=np.uint8), light, ranks, sym,
                                          state, heavy_start, heavy_weight, sep)
                    carry = data[used:]
                    if not piece:
                        break
            if carry:
                raise ValueError(f"{run.path}: a run file ends inside a record")
        if int(state[0]) != len(sym):
            raise ValueError(f"{run.path}: {int(state[0])} slots laid out, {len(sym)} expected")
        return cls(sym, heavy_start, heavy_weight, light_from)

    @classmethod
    def from_symbols(cls, symbols: np.ndarray, lengths: np.ndarray, weights: np.ndarray,
                     tok_len: np.ndarray) -> Spans:
        """Chunks as token ids end to end (a token spans ``tok_len[id]`` slots), in their order."""
        dtype = slot_type(len(tok_len))
        sym = np.empty(int(tok_len[symbols].sum()) + len(lengths) + 1, dtype=dtype)
        heavy_start = np.zeros(len(lengths), dtype=np.int64)
        heavy_weight = np.zeros(len(lengths), dtype=np.int64)
        sep, interior = sentinels(dtype)
        layout_symbols(symbols, lengths, weights, tok_len, sym, heavy_start, heavy_weight, sep,
                       interior)
        return cls(sym, heavy_start, heavy_weight, len(sym))


def _ranks(offset: int, dtype: Any) -> np.ndarray:
    """Byte value → its symbol id: ``offset`` (the special tokens) + the byte's rank."""
    from tokkit.models.bpe_bytes import RANK_TABLE

    return (np.frombuffer(RANK_TABLE, dtype=np.uint8).astype(np.int64) + offset).astype(dtype)
