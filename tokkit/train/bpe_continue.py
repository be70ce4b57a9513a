"""Continue BPE training from an existing vocabulary: new merges learned on top of a base's.

The from-scratch trainer starts every chunk from its bytes; this one starts it from the base
tokenizer's own encoding of that chunk (``encode_chunk``: the base's merges, applied with the
base's pre-tokenizer), then learns new merges of adjacent token pairs, most frequent first, until
``add`` new tokens exist. A new token is the concatenation of its pair's bytes and gets the next
id after the base's, so every base id, and so every base rank, stays as it was.

Why a new merge is *reachable* (encoding its own bytes gives that one token) and why base text
keeps its ids:

* in a BPE whose merges apply lowest rank first, a span of a chunk that is a whole run of tokens
  evolves exactly as if it were encoded alone (a merge never crosses a token boundary that stays
  one). So the base encodes a new token's bytes to the very pieces the pair covered in the corpus;
* new merges rank after every base merge and are learned in the order they are applied, so
  encoding a new token's bytes replays the training on that span and ends in the one token;
* text in which no pair of adjacent base tokens concatenates to a new token keeps the base's ids.

A candidate token that would hold a partial UTF-8 character (unless ``allow_partial``) or, with
``only_cjk``, no CJK character is never merged (rather than merged and dropped afterwards, which
would strand every later token built on it). In a *ranked* vocabulary (tiktoken: any pair whose
concatenation is a token merges) a new token can meet a neighbour whose concatenation is already
a token, which the encoder would merge at once and this loop does not: such sites are counted
(``cascades``) and the caller verifies every new token with the real encoder.

>>> counts = {"abab": 10, "ab": 3}
>>> base = {b"a": 0, b"b": 1}
>>> result = continue_training(counts, encode_chunk=lambda c: [base[ch.encode()] for ch in c],
...                            tokens={0: b"a", 1: b"b"}, next_id=2,
...                            config=ContinueConfig(add=2))
>>> result.tokens
[b'ab', b'abab']
"""

from __future__ import annotations

import gc
import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from operator import add
from typing import Any

from tokkit.corpus.cjk import has_cjk
from tokkit.errors import InputError
from tokkit.progress import NULL_PROGRESS
from tokkit.types import Progress


@dataclass(frozen=True, kw_only=True)
class ContinueConfig:
    """How many tokens to add and which may be added (saved with the output)."""

    add: int
    min_frequency: int = 2
    only_cjk: bool = False
    allow_partial: bool = False

    def __post_init__(self) -> None:
        if self.add < 1:
            raise InputError(f"add={self.add}: the number of new tokens must be at least 1")
        if self.min_frequency < 1:
            raise InputError(f"min_frequency={self.min_frequency} must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ContinueResult:
    """New tokens in the order learned; ``pairs[k]`` the two ids that made ``tokens[k]``."""

    tokens: list[bytes]
    pairs: list[tuple[int, int]]
    counts: list[int]
    skipped: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def allowed_token(token: bytes, config: ContinueConfig) -> str | None:
    """Why ``token`` may not be added (``"partial"``, ``"non_cjk"``), or None if it may."""
    try:
        text = token.decode("utf-8")
    except UnicodeDecodeError:
        if not config.allow_partial:
            return "partial"
        text = token.decode("utf-8", "ignore")
    if config.only_cjk and not has_cjk(text):
        return "non_cjk"
    return None


def continue_training(
    chunk_counts: Mapping[str, int],
    *,
    encode_chunk: Callable[[str], list[int]],
    tokens: Mapping[int, bytes],
    next_id: int,
    config: ContinueConfig,
    ranked: bool = False,
    progress: Progress | None = None,
) -> ContinueResult:
    """Learn ``config.add`` merges on top of a base, from the counts of its pre-tokenized chunks.

    ``encode_chunk`` is the base's encoding of one chunk (no further split); ``tokens`` maps every
    base id to its bytes; new ids start at ``next_id``. ``ranked``: the base merges any pair whose
    concatenation is a token (tiktoken), so cascades are looked for.
    """
    progress = progress or NULL_PROGRESS
    words: list[str] = []
    weights: list[int] = []
    task = progress.task("encoding chunks with the base", total=len(chunk_counts))
    for chunk, n in chunk_counts.items():
        ids = encode_chunk(chunk)
        if len(ids) > 1:
            words.append("".join(map(chr, ids)))
            weights.append(n)
        task.advance()
    token_bytes: dict[str, bytes] = {chr(id): raw for id, raw in tokens.items()}
    known = set(tokens.values()) if ranked else set()
    return _merge_loop(words, weights, token_bytes, known, next_id, config,
                       progress.task("learning new merges", total=config.add))


def _merge_loop(words: list[str], weights: list[int], token_bytes: dict[str, bytes], known: set[bytes],
                next_id: int, config: ContinueConfig, task: Any) -> ContinueResult:
    floor = config.min_frequency
    counts: Counter[str] = Counter()
    where: defaultdict[str, list[int]] = defaultdict(list)
    for i, (word, n) in enumerate(zip(words, weights, strict=True)):
        for pair in map(add, word, word[1:]):
            counts[pair] += n
            where[pair].append(i)
    heap = [(-n, pair) for pair, n in counts.items() if n >= floor]
    heapq.heapify(heap)
    result = ContinueResult(tokens=[], pairs=[], counts=[], skipped={"partial": 0, "non_cjk": 0})
    cascades = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small objects and no cycles
    try:
        while heap and len(result.tokens) < config.add:
            negative, pair = heapq.heappop(heap)
            count = counts.get(pair, 0)
            if count != -negative:
                if count >= floor:
                    heapq.heappush(heap, (-count, pair))
                continue
            token = token_bytes[pair[0]] + token_bytes[pair[1]]
            reason = allowed_token(token, config)
            if reason is not None:
                result.skipped[reason] += 1
                del counts[pair]
                where.pop(pair, None)
                continue
            symbol = chr(next_id + len(result.tokens))
            token_bytes[symbol] = token
            result.tokens.append(token)
            result.pairs.append((ord(pair[0]), ord(pair[1])))
            result.counts.append(count)
            grown: set[str] = set()
            for i in set(where.pop(pair)):
                word = words[i]
                merged = word.replace(pair, symbol)
                if merged is word:
                    continue
                n = weights[i]
                for old in map(add, word, word[1:]):
                    counts[old] -= n
                for new in map(add, merged, merged[1:]):
                    counts[new] += n
                    if symbol in new:
                        where[new].append(i)
                        grown.add(new)
                        if known and token_bytes[new[0]] + token_bytes[new[1]] in known:
                            cascades += 1
                words[i] = merged
            counts.pop(pair, None)
            for new in grown:
                if counts[new] >= floor:
                    heapq.heappush(heap, (-counts[new], new))
            if known:
                known.add(token)
            task.advance()
    finally:
        if gc_was_enabled:
            gc.enable()
    result.stats = {"words": len(words), "cascades": cascades, "added": len(result.tokens),
                    "last_count": result.counts[-1] if result.counts else 0}
    return result
