"""``compare_extension(base, extended, ...)``: what a vocabulary extension changed, on a corpus.

Per script class of a line (``han`` when it holds a Han character, else the class most of its
characters belong to): tokens before and after, tokens saved, and lines whose ids changed at all.
An ``only_cjk`` extension must change no line without Han. New tokens are the extended ids whose
bytes are no token of the base; the corpus shows how many of them it uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.analyze.measure import Measurer, open_tokenizers
from tokkit.analyze.scripts import HAN, SCRIPTS, script_table
from tokkit.analyze.vocab_health import regular_tokens
from tokkit.batches import batched
from tokkit.corpus.readers import ReadOptions, iter_files, read_documents
from tokkit.errors import InputError
from tokkit.types import Progress, Tokenizer

BATCH = 2048


def line_script(text: str) -> str:
    """``han`` if the line holds a Han character, else its most common script class."""
    if not text:
        return "other"
    classes = script_table()[np.frombuffer(text.encode("utf-32-le", "surrogatepass"),
                                           dtype=np.uint32)]
    counts = np.bincount(classes, minlength=len(SCRIPTS))
    if counts[HAN]:
        return "han"
    return SCRIPTS[int(counts.argmax())]


@dataclass
class ScriptDiff:
    lines: int = 0
    changed_lines: int = 0
    tokens_before: int = 0
    tokens_after: int = 0

    def to_json(self) -> dict[str, Any]:
        saved = self.tokens_before - self.tokens_after
        return {"lines": self.lines, "changed_lines": self.changed_lines,
                "tokens_before": self.tokens_before, "tokens_after": self.tokens_after,
                "tokens_saved": saved,
                "saved_share": saved / self.tokens_before if self.tokens_before else None}


@dataclass
class ExtensionDiff:
    """The diff of one extension on one corpus."""

    base: str
    extended: str
    scripts: dict[str, ScriptDiff] = field(default_factory=dict)
    new_tokens: int = 0
    new_tokens_used: int = 0
    new_token_uses: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "extended": self.extended,
                "scripts": {k: v.to_json() for k, v in self.scripts.items()},
                "changed_lines": sum(v.changed_lines for v in self.scripts.values()),
                "new_tokens": self.new_tokens, "new_tokens_used": self.new_tokens_used,
                "new_tokens_unused": self.new_tokens - self.new_tokens_used,
                "new_token_uses": self.new_token_uses}


def _regular_surfaces(m: Measurer) -> list[bytes | None]:
    mask = regular_tokens(m.table).tolist()
    return [s if keep else None for s, keep in zip(m.table.surfaces, mask, strict=True)]


def _batches(lines: Iterable[str]) -> Iterable[list[str]]:
    return batched(lines, BATCH, size=lambda _: 1)  # BATCH documents each


def compare_extension(base: str | Path | Tokenizer, extended: str | Path | Tokenizer,
                      corpus: Iterable[str | Path], *, read: ReadOptions | None = None,
                      progress: Progress | None = None) -> ExtensionDiff:
    """Encode every document (line, by default) of ``corpus`` with both tokenizers."""
    named = open_tokenizers([base, extended])
    before, after = Measurer(named[0]), Measurer(named[1])
    known = {s for s in _regular_surfaces(before) if s}
    new_ids = [i for i, s in enumerate(_regular_surfaces(after)) if s and s not in known]
    diff = ExtensionDiff(base=named[0].name, extended=named[1].name, new_tokens=len(new_ids))
    uses: Counter[int] = Counter()
    new = set(new_ids)
    files = list(iter_files(list(corpus)))
    if not files:
        raise InputError(f"{', '.join(map(str, corpus))}: no readable files to compare on; pass "
                         "a corpus file or folder")
    task = progress.task("comparing", total=sum(p.stat().st_size for p in files),
                         unit="bytes") if progress else None
    docs = (d.text for d in read_documents(files, read or ReadOptions(split="line")))
    for batch in _batches(docs):
        for text, a, b in zip(batch, before.encode_batch(batch), after.encode_batch(batch),
                              strict=True):
            entry = diff.scripts.setdefault(line_script(text), ScriptDiff())
            a, b = list(map(int, a)), list(map(int, b))
            entry.lines += 1
            entry.changed_lines += a != b
            entry.tokens_before += len(a)
            entry.tokens_after += len(b)
            uses.update(i for i in b if i in new)
        if task is not None:
            task.advance(sum(len(t.encode("utf-8", "surrogatepass")) + 1 for t in batch))
    diff.new_tokens_used = len(uses)
    diff.new_token_uses = sum(uses.values())
    return diff
