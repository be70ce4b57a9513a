"""The BPE merge loop over distinct chunks, with incremental pair counts.

Representation (why it is fast in pure Python):

* each distinct chunk is a ``str`` with one character per symbol id (``chr(id)``), so applying
  a merge to a chunk is one C-level ``str.replace``; its leftmost, non-overlapping scan is exactly
  how ``tokenizers``' ``Word::merge`` rewrites a word (``"aaa"`` → ``"Xa"``);
* a pair is the 2-character string of its ids; ``counts[pair]`` is its weighted count and
  ``where[pair]`` lists the chunks that contain it (possibly stale: a chunk that lost the pair is
  skipped because ``replace`` returns the very same object);
* a heap holds one key per pair: highest count first, ties to the smaller ``(left, right)`` id
  pair. Counts of existing pairs only fall, so a stale key is re-pushed with its current count
  when popped (lazy update), never searched for;
* after a merge only the neighbours of the merge sites change: pairs around the new symbol are
  read off ``new.split(new_symbol)``, the pairs they replace follow from them;
* pairs whose count falls (or starts) below ``min_frequency`` are dropped: they can never be merged.

A merge whose token string already exists (``"ab"+"c"`` after ``"a"+"bc"``) reuses that token's id,
as ``tokenizers`` does; the vocabulary does not grow, so such a run makes more merges. That rare
step takes an exact but slower path (recount the pairs of each touched chunk).
"""

from __future__ import annotations

import gc
import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import add

from tokkit.types import ProgressTask

_COUNT_SHIFT = 42
_ID_BITS = 21
_ID_MASK = (1 << _ID_BITS) - 1
_PAIR_MASK = (1 << _COUNT_SHIFT) - 1
_COUNT_CAP = 1 << 62


def _key(count: int, pair: str) -> int:
    """Heap key: smaller is better; highest count, then smallest (left, right) ids."""
    return ((_COUNT_CAP - count) << _COUNT_SHIFT) | (ord(pair[0]) << _ID_BITS) | ord(pair[1])


@dataclass
class MergeResult:
    """``merges[i] = (left, right, new_id)`` in the order learned; ``tokens[id]`` = raw bytes."""

    merges: list[tuple[int, int, int]]
    tokens: list[bytes]


def learn_merges(
    words: list[str],
    weights: list[int],
    tokens: list[bytes],
    ids_by_bytes: dict[bytes, int],
    *,
    vocab_size: int,
    min_frequency: int,
    task: ProgressTask,
) -> MergeResult:
    """Merge the most frequent pair until ``len(tokens) == vocab_size`` or no pair qualifies.

    ``words`` (symbol strings) are rewritten in place; ``tokens``/``ids_by_bytes`` hold the
    special tokens and the 256 byte symbols on entry and grow with each new token.
    """
    floor = max(1, min_frequency)
    all_counts: Counter[str] = Counter()
    for word, weight in zip(words, weights, strict=True):
        if len(word) > 1:
            if weight == 1:
                all_counts.update(map(add, word, word[1:]))
            else:
                for pair in map(add, word, word[1:]):
                    all_counts[pair] += weight
    counts = {pair: n for pair, n in all_counts.items() if n >= floor}
    del all_counts
    where: dict[str, list[int]] = defaultdict(list)
    for index, word in enumerate(words):
        if len(word) > 1:
            for pair in set(map(add, word, word[1:])):
                if pair in counts:
                    where[pair].append(index)
    where = dict(where)
    heap = [_key(n, pair) for pair, n in counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int, int]] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small objects, no cycles: the collector would only rescan them
    try:
        while len(tokens) < vocab_size and heap:
            key = heapq.heappop(heap)
            count = _COUNT_CAP - (key >> _COUNT_SHIFT)
            left, right = (key >> _ID_BITS) & _ID_MASK, key & _ID_MASK
            pair = chr(left) + chr(right)
            current = counts.get(pair)
            if current is None:
                continue
            if current != count:
                heapq.heappush(heap, ((_COUNT_CAP - current) << _COUNT_SHIFT) | (key & _PAIR_MASK))
                continue
            merged = tokens[left] + tokens[right]
            new_id = ids_by_bytes.get(merged)
            fresh = new_id is None
            if new_id is None:
                new_id = len(tokens)
                tokens.append(merged)
                ids_by_bytes[merged] = new_id
            merges.append((left, right, new_id))
            del counts[pair]
            chunks = where.pop(pair)
            if fresh:
                _merge_fresh(pair, chr(new_id), chunks, words, weights, counts, where, heap, floor)
            else:
                _merge_existing(pair, chr(new_id), chunks, words, weights, counts, where, heap, floor)
            task.advance(1)
    finally:
        if gc_was_enabled:
            gc.enable()
    return MergeResult(merges=merges, tokens=tokens)


def _merge_fresh(
    pair: str,
    new: str,
    chunks: Sequence[int],
    words: list[str],
    weights: list[int],
    counts: dict[str, int],
    where: dict[str, list[int]],
    heap: list[int],
    floor: int,
) -> None:
    """Apply a merge whose symbol ``new`` occurs nowhere yet: every ``new`` is a merge site.

    Around a site with left neighbour ``x`` the pair ``x+A`` became ``x+new`` (if ``x`` is itself a
    site, ``B+A`` became ``new+new``); with right neighbour ``y``, ``B+y`` became ``new+y``.
    """
    first, second = pair[0], pair[1]
    new_new = new + new
    second_first = second + first
    added: dict[str, int] = {}
    added_where: dict[str, list[int]] = {}
    removed: dict[str, int] = {}
    for index in chunks:
        word = words[index]
        merged = word.replace(pair, new)
        if merged is word:
            continue
        words[index] = merged
        if len(merged) == 1:
            continue
        weight = weights[index]
        parts = merged.split(new)
        last = len(parts) - 1
        for site in range(last):
            before = parts[site]
            if before:
                x = before[-1]
                gained, lost = x + new, x + first
            elif site:
                gained, lost = new_new, second_first
            else:
                gained = ""
            if gained:
                added[gained] = added.get(gained, 0) + weight
                seen = added_where.get(gained)
                if seen is None:
                    added_where[gained] = [index]
                elif seen[-1] != index:
                    seen.append(index)
                removed[lost] = removed.get(lost, 0) + weight
            after = parts[site + 1]
            if after:
                y = after[0]
                gained = new + y
                added[gained] = added.get(gained, 0) + weight
                seen = added_where.get(gained)
                if seen is None:
                    added_where[gained] = [index]
                elif seen[-1] != index:
                    seen.append(index)
                lost = second + y
                removed[lost] = removed.get(lost, 0) + weight
    for lost, n in removed.items():
        current = counts.get(lost)
        if current is not None:
            current -= n
            if current >= floor:
                counts[lost] = current
            else:
                del counts[lost]
                where.pop(lost, None)
    for gained, n in added.items():
        if n >= floor:
            counts[gained] = n
            where[gained] = added_where[gained]
            heapq.heappush(heap, _key(n, gained))


def _merge_existing(
    pair: str,
    new: str,
    chunks: Sequence[int],
    words: list[str],
    weights: list[int],
    counts: dict[str, int],
    where: dict[str, list[int]],
    heap: list[int],
    floor: int,
) -> None:
    """Apply a merge whose token already exists (its symbol may already be in the chunks).

    Recount each touched chunk's pairs before and after; pairs that gain get a fresh heap key
    (the lazy heap only handles falling counts).
    """
    delta: dict[str, int] = {}
    gained_where: dict[str, list[int]] = {}
    for index in chunks:
        word = words[index]
        merged = word.replace(pair, new)
        if merged is word:
            continue
        words[index] = merged
        weight = weights[index]
        before = Counter(map(add, word, word[1:]))
        after = Counter(map(add, merged, merged[1:]))
        for p in before.keys() | after.keys():
            change = after[p] - before[p]
            if change:
                delta[p] = delta.get(p, 0) + change * weight
                if change > 0:
                    gained_where.setdefault(p, []).append(index)
    for p, change in delta.items():
        if p == pair:
            continue
        current = counts.get(p)
        total = change if current is None else current + change
        if total >= floor:
            counts[p] = total
            if p in gained_where:
                where.setdefault(p, []).extend(gained_where[p])
            if change > 0:
                heapq.heappush(heap, _key(total, p))
        elif current is not None:
            del counts[p]
            where.pop(p, None)
