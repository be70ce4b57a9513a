"""The readable twin of the BPE encoder's merge: the specification its fast paths are held to.

Surrogates are first read as tiktoken reads them (a pair is its character, a lone one U+FFFD).
Per chunk of the split pattern, start from the chunk's UTF-8 bytes as byte ids; then, while some
adjacent pair has a merge, take the lowest-ranked such pair and merge every occurrence of it,
left to right, not overlapping. :class:`tokkit.models.bpe.ByteLevelBPETokenizer` does the same
with ``str.replace`` passes, and with a linked list and a heap of merge sites on long chunks;
tests hold both to this function on random text. Quadratic: for tests only.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Protocol


class _Merges(Protocol):
    @property
    def merges(self) -> list[tuple[int, int]]: ...
    @property
    def pattern(self) -> str: ...
    @property
    def vocab_size(self) -> int: ...
    def token_bytes(self, id: int) -> bytes: ...
    def byte_id(self, byte: int) -> int: ...


def merge_ids(ids: list[int], merges: list[tuple[int, int]], results: list[int]) -> list[int]:
    """Apply ``merges`` (rank ``i`` joins ``merges[i]`` into ``results[i]``) to ``ids``."""
    rank = {pair: r for r, pair in enumerate(merges)}  # a later duplicate of a pair wins
    while True:
        ranks = [rank[pair] for pair in pairwise(ids) if pair in rank]
        if not ranks:
            return ids
        best = min(ranks)
        pair, new = merges[best], results[best]
        merged, k = [], 0
        while k < len(ids):
            if k + 1 < len(ids) and (ids[k], ids[k + 1]) == pair:
                merged.append(new)
                k += 2
            else:
                merged.append(ids[k])
                k += 1
        ids = merged


def merge_by_rank(tok: _Merges, text: str, *, whole: bool = False) -> list[int]:
    """The ids of ``text`` (no special tokens) under ``tok``'s merges; ``whole``: one chunk."""
    from tokkit.models.bpe_bytes import repair_surrogates
    from tokkit.train.pretokenize import split

    id_of: dict[bytes, int] = {}
    for id in range(tok.vocab_size):
        try:
            id_of.setdefault(tok.token_bytes(id), id)
        except (IndexError, KeyError, ValueError):
            continue  # a hole in the id space
    results = [id_of[tok.token_bytes(a) + tok.token_bytes(b)] for a, b in tok.merges]
    ids: list[int] = []
    text = repair_surrogates(text)
    for chunk in [text] if whole else split(text, tok.pattern):
        raw = chunk.encode("utf-8")
        ids += merge_ids([tok.byte_id(b) for b in raw], tok.merges, results)
    return ids
