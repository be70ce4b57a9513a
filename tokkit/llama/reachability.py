"""Make every appended piece producible by sentencepiece's BPE, or report and drop it.

Sentencepiece BPE starts from characters and repeatedly merges the adjacent pair whose
concatenation is a piece with the highest score (leftmost on ties). A piece that is in the
vocabulary is useless if that process never builds it: under the original Chinese-LLaMA recipe
338 of 11,597 appended multi-character pieces (越来越, 中华人民共和国, ...) can never be produced,
because other merges split their text first and no two of the resulting parts concatenate to
a piece.

The test is sentencepiece itself: a piece is reachable when encoding its own text (no dummy
prefix) yields exactly that piece. An unreachable piece ends up as parts ``s0 s1 … sk`` none of
which merge; adding the prefixes ``s0s1``, ``s0s1s2``… (or the suffixes) as intermediate pieces,
ranked just above it, gives BPE a path. Repairs can interact, so we re-check after each round
and drop what is still unreachable after ``max_rounds``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Repair:
    """Outcome of :func:`repair`: the new piece order and what was added or dropped."""

    pieces: list[str]
    intermediates: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    rounds: int = 0
    unreachable_before: int = 0


Encoder = Callable[[list[str], Sequence[str]], list[list[str]]]
"""``encode(order, texts)``: build the merged model with new pieces in ``order``, then return
each text's pieces when encoded without a dummy prefix."""


def _chains(parts: list[str]) -> list[list[str]]:
    """Candidate intermediates: growing prefixes, then growing suffixes (the whole piece excluded)."""
    prefixes = ["".join(parts[:i]) for i in range(2, len(parts))]
    suffixes = ["".join(parts[-i:]) for i in range(2, len(parts))]
    return [prefixes, suffixes]


def unreachable(order: list[str], encode: Encoder) -> dict[str, list[str]]:
    """Multi-character pieces of ``order`` that encoding their own text does not produce."""
    multi = [p for p in order if len(p) > 1]
    return {p: parts for p, parts in zip(multi, encode(order, multi), strict=True) if parts != [p]}


def repair(
    order: list[str],
    encode: Encoder,
    *,
    known: set[str],
    allowed: Callable[[str], bool] = lambda piece: True,
    add_intermediates: bool = True,
    max_rounds: int = 8,
) -> Repair:
    """Add intermediates before unreachable pieces of ``order`` (or drop them) until all are reachable.

    ``known`` holds the base pieces (never added again); ``allowed`` filters intermediates (with
    ``only_cjk`` they must contain a CJK character so English cannot change).
    """
    result = Repair(pieces=list(order))
    present = set(known) | set(order)
    rounds = max_rounds if add_intermediates else 0
    for round_ in range(rounds + 1):
        bad = unreachable(result.pieces, encode)
        if round_ == 0:
            result.unreachable_before = len(bad)
        if not bad:
            return result
        result.rounds = round_ + 1
        if round_ == rounds:
            break
        additions: dict[str, list[str]] = {}
        for piece, parts in bad.items():
            for chain in _chains(parts):
                new = [c for c in chain if c not in present]
                if new and all(allowed(c) for c in new):
                    additions[piece] = new
                    present.update(new)
                    result.intermediates.extend(new)
                    break
        if not additions:
            break
        rebuilt: list[str] = []
        for piece in result.pieces:
            rebuilt.extend(additions.get(piece, ()))
            rebuilt.append(piece)
        result.pieces = rebuilt
    # Drop what is still unreachable; dropping can strand others, so repeat until stable.
    while bad:
        result.dropped.extend(bad)
        result.pieces = [p for p in result.pieces if p not in bad]
        bad = unreachable(result.pieces, encode)
    return result
