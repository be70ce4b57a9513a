"""How one string is split: pieces, ids, bytes per piece, byte-fallback pieces marked.

The fastest way to see why Chinese costs what it costs: ``cl100k_base`` spends one token on ``的`` but
two on ``鞅`` (bytes ``e9 9e`` + ``85``); LLaMA spends three ``<0xNN>`` byte-fallback pieces on a Han
character outside its vocabulary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tokkit.analyze.compression import figures
from tokkit.analyze.measure import Measurer, open_tokenizers, text_tally
from tokkit.analyze.scripts import script_of
from tokkit.analyze.token_bytes import FALLBACK, PARTIAL, SPECIAL, UNKNOWN, TokenTable
from tokkit.types import Tokenizer


@dataclass(frozen=True)
class Piece:
    """One token of the split. ``role``: ``piece``, ``byte_fallback``, ``partial`` (part of a
    character, byte-level BPE), ``unknown`` or ``special``; ``of``: the characters a partial or
    byte-fallback piece is a part of."""

    index: int
    id: int
    token: str
    bytes: str
    n_bytes: int
    text: str
    role: str
    of: str
    script: str


@dataclass(frozen=True)
class Explanation:
    """A split of ``text`` by ``tokenizer`` with its summary figures."""

    tokenizer: str
    text: str
    pieces: list[Piece]
    figures: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "text": self.text,
            "pieces": [asdict(p) for p in self.pieces],
            "figures": self.figures,
        }


def _role(table: TokenTable, id: int) -> str:
    for flag, role in ((UNKNOWN, "unknown"), (SPECIAL, "special"), (FALLBACK, "byte_fallback"),
                       (PARTIAL, "partial")):
        if table.has(id, flag):
            return role
    return "piece"


def _split_chars(surfaces: list[bytes]) -> list[str]:
    """For each token, the characters it holds only part of (in order)."""
    stream = b"".join(surfaces)
    bounds, pos = [], 0
    for s in surfaces:
        bounds.append((pos, pos + len(s)))
        pos += len(s)
    chars: list[tuple[int, int, str]] = []
    offset = 0
    for ch in stream.decode("utf-8", errors="surrogateescape"):
        size = 1 if 0xDC80 <= ord(ch) < 0xDD00 else len(ch.encode("utf-8"))
        chars.append((offset, offset + size, ch))
        offset += size
    out = []
    for start, end in bounds:
        parts = [ch for a, b, ch in chars if a < end and b > start and not (start <= a and b <= end)]
        out.append("".join(c if not 0xDC80 <= ord(c) < 0xDD00 else "\ufffd" for c in parts))
    return out


def explain(tokenizer: str | Path | Tokenizer, text: str) -> Explanation:
    """Split ``text`` with ``tokenizer`` (a spec or a loaded tokenizer) and describe every piece."""
    named = open_tokenizers([tokenizer])[0]
    measurer = Measurer(named)
    table = measurer.table
    raw = text.encode("utf-8")
    ids = [int(i) for i in measurer.encode_batch([text])[0]]
    surfaces = [table.surfaces[i] for i in ids]
    partial_of = _split_chars(surfaces)
    pieces = []
    for index, (id, surface, of) in enumerate(zip(ids, surfaces, partial_of, strict=True)):
        whole = surface.decode("utf-8", errors="ignore")
        pieces.append(Piece(
            index=index,
            id=int(id),
            token=named.tokenizer.id_to_token(id),
            bytes=surface.hex(" "),
            n_bytes=len(surface),
            text=whole,
            role=_role(table, id),
            of=of,
            script=script_of((whole or of or " ")[-1]) if (whole or of) else "other",
        ))
    figs = figures(text_tally([text], [raw]), measurer.measure([text], [raw]), table,
                   named.tokenizer.vocab_size) if text else {}
    return Explanation(tokenizer=named.name, text=text, pieces=pieces, figures=figs)
