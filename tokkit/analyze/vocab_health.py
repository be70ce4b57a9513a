"""Vocabulary health: tokens that can never be produced, tokens a corpus never uses, and merge
residues (tokens that exist mostly as a step towards longer tokens).

Definitions (docs/analyze.md states them for users):

- **unreachable**: encoding a token's own text alone does not give exactly that token. Tested for
  every regular token whose bytes are whole UTF-8 characters. A sentencepiece piece that begins
  with ``▁`` is tested on its text without the space (the dummy prefix puts it back); pieces that
  only occur inside a word (no ``▁``; WordPiece ``##`` pieces) and tokens holding part of a
  character cannot be tested alone and are counted as ``untestable``. An unreachable token
  wastes an embedding row: no text ever maps to it (superbpe #12, LiteToken's "residues").
- **never used**: a regular token with a zero count on the analyzed corpus.
- **residue candidate** (byte-level BPE only): a token whose *final* count on the corpus is under
  ``RESIDUE_SHARE`` of the times BPE *formed* it while encoding the corpus (final uses plus uses as
  an intermediate on the way to longer tokens). Formations are counted exactly from the merge
  tree: every final token of count ``c`` formed each of its two parents ``c`` times, recursively.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tokkit.analyze.token_bytes import FALLBACK, PARTIAL, SPECIAL, UNKNOWN, TokenTable

RESIDUE_SHARE = 0.05
"""A token used finally in under 5% of the times it is formed is a residue candidate."""
ENCODE_BATCH = 4096


@dataclass(frozen=True)
class Health:
    """What :func:`vocab_health` found for one tokenizer on one corpus."""

    regular: int
    tested: int
    untestable: int
    unreachable: list[int]
    never_used: int
    residues: list[int] | None  # None: not a byte-level BPE (no merge tree to count)

    def to_json(self, id_to_text: Callable[[int], str], *, examples: int = 20) -> dict[str, object]:
        return {
            "regular_tokens": self.regular,
            "tested": self.tested,
            "untestable": self.untestable,
            "unreachable": len(self.unreachable),
            "unreachable_share": len(self.unreachable) / self.tested if self.tested else None,
            "unreachable_examples": [id_to_text(i) for i in self.unreachable[:examples]],
            "never_used": self.never_used,
            "never_used_share": self.never_used / self.regular if self.regular else None,
            "residue_candidates": None if self.residues is None else len(self.residues),
            "residue_share": None if self.residues is None or not self.regular
            else len(self.residues) / self.regular,
            "residue_examples": None if self.residues is None
            else [id_to_text(i) for i in self.residues[:examples]],
        }


def regular_tokens(table: TokenTable) -> np.ndarray:
    """Mask of the ids that stand for text: not special, control, unknown or byte-fallback."""
    bad = FALLBACK | UNKNOWN | SPECIAL
    return np.array([bool(s) and not (int(f) & bad) for s, f in zip(table.surfaces, table.flags,
                                                                      strict=True)])


def testable_texts(table: TokenTable, *, metaspace: bool, continuation: Sequence[bool] | None
                   ) -> tuple[list[int], list[str], int]:
    """(ids, texts to encode, untestable count) of the regular tokens."""
    regular = regular_tokens(table)
    ids: list[int] = []
    texts: list[str] = []
    untestable = 0
    for i in np.flatnonzero(regular).tolist():
        surface = table.surfaces[i]
        if table.flags[i] & PARTIAL or (continuation is not None and continuation[i]):
            untestable += 1
            continue
        if metaspace:
            if not surface.startswith(b" "):
                untestable += 1  # only ever produced inside a word
                continue
            surface = surface[1:]
            if not surface:
                untestable += 1  # the bare "▁": produced before a word, never alone
                continue
        ids.append(i)
        texts.append(surface.decode("utf-8"))
    return ids, texts, untestable


def unreachable_tokens(encode_batch: Callable[[list[str]], Sequence[Sequence[int]]],
                       ids: Sequence[int], texts: Sequence[str]) -> list[int]:
    """The ids whose own text does not encode to exactly ``[id]``."""
    out: list[int] = []
    for start in range(0, len(ids), ENCODE_BATCH):
        chunk = list(texts[start:start + ENCODE_BATCH])
        for i, got in zip(ids[start:start + ENCODE_BATCH], encode_batch(chunk), strict=True):
            if len(got) != 1 or int(got[0]) != i:
                out.append(i)
    return out


def merge_parents(surfaces: Sequence[bytes], rank: Sequence[int]) -> dict[int, tuple[int, int]]:
    """For each multi-byte token, the two tokens BPE merges to form it (rank order).

    Running byte-level BPE on a token's own bytes with only lower-ranked merges stops at exactly
    two parts for a well-formed vocabulary (tiktoken's own derivation); tokens that stop at more
    parts have no parent pair and are left out.
    """
    by_bytes = {s: i for i, s in enumerate(surfaces) if s}
    parents: dict[int, tuple[int, int]] = {}
    for i, s in enumerate(surfaces):
        if not s or len(s) < 2:
            continue
        limit = rank[i]
        parts = [bytes([b]) for b in s]
        while len(parts) > 2:
            best, at = None, -1
            for k in range(len(parts) - 1):
                j = by_bytes.get(parts[k] + parts[k + 1])
                if j is not None and rank[j] < limit and (best is None or rank[j] < best):
                    best, at = rank[j], k
            if best is None:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        if len(parts) == 2 and parts[0] in by_bytes and parts[1] in by_bytes:
            parents[i] = (by_bytes[parts[0]], by_bytes[parts[1]])
    return parents


def formations(counts: np.ndarray, parents: dict[int, tuple[int, int]],
               rank: Sequence[int]) -> np.ndarray:
    """How often BPE formed each token while producing ``counts`` (final uses included)."""
    formed = np.asarray(counts, dtype=np.float64).copy()
    for i in sorted(parents, key=lambda t: rank[t], reverse=True):  # children rank lower
        if formed[i]:
            left, right = parents[i]
            formed[left] += formed[i]
            formed[right] += formed[i]
    return formed


def residues(counts: np.ndarray, parents: dict[int, tuple[int, int]], rank: Sequence[int],
             *, share: float = RESIDUE_SHARE) -> list[int]:
    """Tokens used finally in under ``share`` of the times they were formed (formed at least once
    as an intermediate), most lopsided first."""
    formed = formations(counts, parents, rank)
    final = np.asarray(counts, dtype=np.float64)
    merged = np.zeros(len(formed), dtype=bool)
    merged[list(parents)] = True  # base bytes are not made by a merge: never residues
    hit = np.flatnonzero(merged & (formed > final) & (final < share * formed))
    return sorted(hit.tolist(), key=lambda i: (final[i] / formed[i], -formed[i]))


def reachability(table: TokenTable,
                 encode_batch: Callable[[list[str]], Sequence[Sequence[int]]], *,
                 metaspace: bool, continuation: Sequence[bool] | None = None
                 ) -> tuple[int, int, int, list[int]]:
    """(regular tokens, tested, untestable, unreachable ids): independent of any corpus.

    ``metaspace``: sentencepiece-style pieces (``▁`` marks a word start). ``continuation``: per id,
    a WordPiece ``##`` piece.
    """
    regular = int(regular_tokens(table).sum())
    ids, texts, untestable = testable_texts(table, metaspace=metaspace, continuation=continuation)
    return regular, len(ids), untestable, unreachable_tokens(encode_batch, ids, texts)


def usage(table: TokenTable, counts: np.ndarray, *, rank: Sequence[int] | None = None
          ) -> tuple[int, list[int] | None]:
    """(regular tokens never used, residue candidates) given the id ``counts`` on a corpus.

    ``rank``: per id, its BPE merge rank (byte-level BPE only: turns on the residue count).
    """
    regular = regular_tokens(table)
    counts = np.asarray(counts)[: len(regular)]
    never = int((regular & (counts == 0)).sum())
    if rank is None:
        return never, None
    parents = table_merge_parents(table, rank)
    return never, [i for i in residues(counts, parents, rank) if regular[i]]


_PARENTS: weakref.WeakKeyDictionary[TokenTable, tuple[tuple[int, ...], dict[int, tuple[int, int]]]] = \
    weakref.WeakKeyDictionary()


def table_merge_parents(table: TokenTable, rank: Sequence[int]) -> dict[int, tuple[int, int]]:
    """:func:`merge_parents` of ``table``'s tokens, computed once per table and ``rank`` (shared:
    do not modify it). They depend on the vocabulary alone, and an analysis asks for them once per
    corpus, and again per analysis of the same tokenizer: seconds each for a 200k vocabulary."""
    key = tuple(rank)
    cached = _PARENTS.get(table)
    if cached is not None and cached[0] == key:
        return cached[1]
    parents = merge_parents(table.surfaces, key)
    _PARENTS[table] = (key, parents)
    return parents
