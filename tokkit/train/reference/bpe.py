"""Byte-level BPE in one page (minbpe style): the specification the fast trainer and encoder meet.

Training (the twin of :class:`tokkit.train.bpe.BPETrainer`):

1. split every text into chunks with the regex pattern (merges never cross a chunk) and count
   each distinct chunk;
2. write each chunk as its UTF-8 bytes, one byte symbol each;
3. count every adjacent pair of symbols, weighted by the chunk's count (overlapping positions
   count: ``aaa`` holds ``(a, a)`` twice);
4. take the most frequent pair, ties to the smaller ``(left id, right id)``; stop if it occurs
   fewer than ``min_frequency`` times (or there is none);
5. give it a token: the bytes of its two parts joined, with a new id, or the id of an existing
   token that already spells those bytes (another split of them, or a special token);
6. rewrite every chunk, merging the pair leftmost first without overlap (``aaa`` → ``Xa``), and
   go back to 3 until the vocabulary reaches ``vocab_size``.

Ids: the special tokens first, then the 256 bytes in ``tokenizers``' order
(:data:`tokkit.models.bpe_bytes.RANKED_BYTES`), then merged tokens in the order they were made.

Encoding (the twin of :meth:`tokkit.models.bpe.ByteLevelBPETokenizer.encode`): per chunk, start from
its bytes and, while some adjacent pair has a merge, merge every occurrence of the lowest-ranked
one. The fast paths count pairs incrementally (:mod:`tokkit.train.bpe_merge`, its compiled twin
:mod:`tokkit.train.bpe_merge_numba`, long chunks in :mod:`tokkit.train.bpe_long`) and encode with
caches, ``str.replace`` passes and a heap; this page recounts everything every step.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import TypeVar

from tokkit.models.bpe import ByteLevelBPETokenizer, base_vocabulary
from tokkit.models.bpe_bytes import repair_surrogates
from tokkit.models.pretokenize import resolve_pattern, split

Pair = tuple[int, int]
S = TypeVar("S")


def train(
    texts: Iterable[str],
    vocab_size: int,
    *,
    pattern: str = "gpt4",
    special_tokens: Sequence[str] = (),
    min_frequency: int = 2,
) -> ByteLevelBPETokenizer:
    """A tokenizer with the merges :class:`~tokkit.train.bpe.BPETrainer` learns on ``texts``."""
    regex = resolve_pattern(pattern)
    chunks = Counter(chunk for text in texts for chunk in split(text, regex))
    merges = learn_merges(chunks, vocab_size, special_tokens=special_tokens, min_frequency=min_frequency)
    return ByteLevelBPETokenizer([(left, right) for left, right, _ in merges], pattern=regex,
                                 special_tokens=list(special_tokens))


def learn_merges(
    chunks: Mapping[str, int],
    vocab_size: int,
    *,
    special_tokens: Sequence[str] = (),
    min_frequency: int = 2,
) -> list[tuple[int, int, int]]:
    """``(left, right, new id)`` per merge, in order, from chunks and their counts."""
    tokens, ids_by_bytes = base_vocabulary(special_tokens)  # id → bytes, bytes → id
    words = [[ids_by_bytes[bytes([b])] for b in chunk.encode("utf-8", "surrogatepass")]
             for chunk in chunks]
    weights = list(chunks.values())
    merges: list[tuple[int, int, int]] = []
    while len(tokens) < vocab_size:
        counts = pair_counts(words, weights)
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))  # most frequent, then smallest ids
        if counts[pair] < max(1, min_frequency):
            break
        new = add_token(tokens, ids_by_bytes, tokens[pair[0]] + tokens[pair[1]])
        merges.append((*pair, new))
        words = [merge(word, pair, new) for word in words]
    return merges


def pair_counts(words: Iterable[list[int]], weights: Iterable[int]) -> Counter[Pair]:
    """Every adjacent pair's count, weighted: ``(a, a)`` twice in ``a a a``."""
    counts: Counter[Pair] = Counter()
    for word, weight in zip(words, weights, strict=True):
        for pair in pairwise(word):
            counts[pair] += weight
    return counts


def add_token(tokens: list[bytes], ids_by_bytes: dict[bytes, int], merged: bytes) -> int:
    """The id of the token spelling ``merged``: an existing one, or a new one at the end."""
    if merged not in ids_by_bytes:
        ids_by_bytes[merged] = len(tokens)
        tokens.append(merged)
    return ids_by_bytes[merged]


def merge(ids: list[S], pair: tuple[S, S], new: S) -> list[S]:
    """``ids`` with every occurrence of ``pair`` replaced by ``new``, leftmost first, no overlap
    (symbols of any kind: WordPiece's twin merges strings with it)."""
    out: list[S] = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def merge_by_rank(ids: list[int], merges: Sequence[Pair], results: Sequence[int]) -> list[int]:
    """Apply ranked merges to ``ids``: while some pair has a rank, merge the lowest-ranked one.

    Rank ``r`` joins ``merges[r]`` into ``results[r]``; a later duplicate of a pair wins.
    """
    rank = {pair: r for r, pair in enumerate(merges)}
    while True:
        ranked = [rank[pair] for pair in pairwise(ids) if pair in rank]
        if not ranked:
            return ids
        best = min(ranked)
        ids = merge(ids, merges[best], results[best])


def encode(tok: ByteLevelBPETokenizer, text: str, *, whole: bool = False) -> list[int]:
    """The ids ``tok.encode(text)`` gives; ``whole``: merge ``text`` as one chunk, no specials.

    Surrogates are read as tiktoken reads them (a pair is its character, a lone one U+FFFD).
    """
    id_of: dict[bytes, int] = {}
    for id in range(tok.vocab_size):
        try:
            id_of.setdefault(tok.token_bytes(id), id)
        except (IndexError, KeyError, ValueError):
            continue  # a hole in the id space (a tiktoken file may skip ranks)
    results = [id_of[tok.token_bytes(a) + tok.token_bytes(b)] for a, b in tok.merges]
    text = repair_surrogates(text)
    specials = tok.special_tokens
    if whole or not specials:
        parts = [text]
    else:  # special-token strings become their ids; the longest first where two could match
        alternatives = "|".join(map(re.escape, sorted(specials, key=len, reverse=True)))
        parts = re.split(f"({alternatives})", text)
    ids: list[int] = []
    for k, part in enumerate(parts):
        if k % 2:
            ids.append(specials[part])
            continue
        for chunk in [part] if whole else split(part, tok.pattern):
            ids += merge_by_rank([tok.byte_id(b) for b in chunk.encode("utf-8")], tok.merges, results)
    return ids
