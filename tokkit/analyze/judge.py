"""The figures the tokenizer papers judge by, per tokenizer on one corpus: efficiency, words kept
whole, Han coverage and vocabulary health (definitions in :mod:`tokkit.analyze.efficiency`,
:mod:`tokkit.analyze.lexicon` and :mod:`tokkit.analyze.vocab_health`).

What a vocabulary *is* decides how its health is tested, and it is read off the vocabulary itself,
never off which library loaded it: ``▁`` pieces mean sentencepiece-style word starts, ``##``
pieces WordPiece continuations, and all 256 bytes as tokens with no ``▁`` a byte-level BPE whose
ids are its merge ranks (true of tiktoken files, Llama 3's and GPT-2's ``tokenizer.json`` and
tokkit's own BPE), which is what the residue count needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tokkit.analyze.efficiency import RENYI_ALPHA, efficiency
from tokkit.analyze.lexicon import Lexicon, han_coverage, words_whole_share
from tokkit.analyze.token_bytes import PARTIAL, TokenTable
from tokkit.analyze.vocab_health import Health, reachability, regular_tokens, usage
from tokkit.vocab_bytes import METASPACE


def efficiency_figures(histogram: np.ndarray, vocab_size: int) -> dict[str, float | None]:
    return {"renyi_efficiency": efficiency(histogram, vocab_size, RENYI_ALPHA),
            "shannon_efficiency": efficiency(histogram, vocab_size, 1.0)}


@dataclass
class VocabularyShape:
    """How to test one vocabulary (see the module docstring)."""

    metaspace: bool
    continuation: list[bool] | None
    byte_level: bool
    vocabulary: set[bytes] = field(default_factory=set)

    @classmethod
    def of(cls, tokenizer: Any, table: TokenTable) -> VocabularyShape:
        mask = regular_tokens(table)
        regular = [table.surfaces[i] for i in np.flatnonzero(mask).tolist()]
        whole = mask & ~(table.flags & PARTIAL).astype(bool)
        vocabulary = {table.surfaces[i] for i in np.flatnonzero(whole).tolist()}
        # every byte a regular token: byte-level BPE, whose "▁" or "##" tokens are plain text
        if len({s for s in regular if len(s) == 1}) == 256:
            return cls(metaspace=False, continuation=None, byte_level=True, vocabulary=vocabulary)
        names = []
        for i in range(table.size):
            try:
                names.append(str(tokenizer.id_to_token(i)))
            except (IndexError, KeyError, ValueError, TypeError):
                names.append("")
        metaspace = any(n.startswith(METASPACE) for n in names)
        hashes = [n.startswith("##") and len(n) > 2 for n in names]
        return cls(metaspace=metaspace, continuation=hashes if any(hashes) else None,
                   byte_level=False,
                   vocabulary=vocabulary)


class Judge:
    """Per-tokenizer state reused across corpora: the unreachability test does not depend on
    the corpus, so it runs once."""

    def __init__(self, tokenizer: Any, table: TokenTable, encode_batch: Any) -> None:
        self.tokenizer = tokenizer
        self.table = table
        self.encode_batch = encode_batch
        self.shape = VocabularyShape.of(tokenizer, table)
        self._reach: tuple[int, int, int, list[int]] | None = None

    def _id_text(self, i: int) -> str:
        return self.table.surfaces[i].decode("utf-8", errors="backslashreplace")

    def health(self, histogram: np.ndarray) -> dict[str, Any]:
        if self._reach is None:
            self._reach = reachability(self.table, self.encode_batch,
                                       metaspace=self.shape.metaspace,
                                       continuation=self.shape.continuation)
        regular, tested, untestable, unreachable = self._reach
        rank = list(range(self.table.size)) if self.shape.byte_level else None
        never, found = usage(self.table, histogram, rank=rank)
        return Health(regular=regular, tested=tested, untestable=untestable,
                      unreachable=unreachable, never_used=never,
                      residues=found).to_json(self._id_text)

    def lexicon_figures(self, lex: Lexicon) -> dict[str, Any]:
        prefix = "" if self.table.decode_prefix == b" " else " "  # words as met mid-sentence
        encode = self.encode_batch
        whole = words_whole_share(lex, lambda words: encode([prefix + w for w in words]))
        return {"words_whole_share": whole, **han_coverage(lex, self.shape.vocabulary)}
