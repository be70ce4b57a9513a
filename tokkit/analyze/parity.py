"""Cross-language parity: what the same content costs in each language, relative to English.

Petrov et al. (2023, "Language Model Tokenizers Introduce Unfairness Between Languages") define a
language's *premium* as the tokens its version of a parallel text takes divided by the tokens of
the English version: 1.0 is parity, 2.0 means its users pay twice as much per message and fit half
as much in a context window. TokEval summarises the spread with the Gini coefficient of the
per-language token counts (0: every language costs the same; → 1: one language takes everything):

    G = Σ_i Σ_j |x_i − x_j| / (2 n² x̄)

over the ``n`` languages of the parallel corpus (English included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tokkit.errors import InputError
from tokkit.types import Progress, Tokenizer

if TYPE_CHECKING:
    from tokkit.analyze.compression import AnalyzeConfig


def gini(values: Mapping[str, float] | list[float]) -> float:
    """The Gini coefficient of non-negative ``values`` (0 for fewer than two or all zero)."""
    xs = sorted(float(v) for v in (values.values() if isinstance(values, Mapping) else values))
    if any(x < 0 for x in xs):
        raise ValueError("the Gini coefficient needs non-negative values")
    n, total = len(xs), sum(xs)
    if n < 2 or total == 0:
        return 0.0
    # Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − n + 1) x_i over the sorted values (i from 0)
    pairwise = 2.0 * sum((2 * i - n + 1) * x for i, x in enumerate(xs))
    return pairwise / (2.0 * n * total)


@dataclass(frozen=True)
class Parity:
    """One tokenizer on one parallel corpus: tokens per language, premiums against ``reference``."""

    tokenizer: str
    reference: str
    tokens: dict[str, int]
    premium: dict[str, float]
    gini: float

    def to_json(self) -> dict[str, object]:
        return {"tokenizer": self.tokenizer, "reference": self.reference, "tokens": self.tokens,
                "premium": self.premium, "gini": self.gini}


def parity(tokenizer: str, tokens: Mapping[str, int], *, reference: str = "en") -> Parity:
    """Premiums of each language's token count over ``reference``'s, and their Gini."""
    if reference not in tokens:
        raise ValueError(f"no {reference!r} text among the languages {sorted(tokens)}: the premium "
                         f"is relative to it; add its file or pass another reference")
    base = tokens[reference]
    if base <= 0:
        raise ValueError(f"the {reference!r} text has no tokens")
    return Parity(tokenizer=tokenizer, reference=reference, tokens=dict(tokens),
                  premium={lang: n / base for lang, n in tokens.items()}, gini=gini(dict(tokens)))


def language_of(path: Path) -> str:
    """``debian_reference.zh-tw.txt`` → ``zh-tw``; ``en.txt`` → ``en`` (the last dotted name part
    before the extension, else the stem)."""
    parts = path.name.split(".")
    return parts[-2] if len(parts) >= 3 else parts[0]


def parallel_files(directory: str | Path) -> dict[str, Path]:
    """The language → file map of a parallel corpus folder (one file per language)."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{root}: a parallel corpus is a folder with one file per language "
                         "(e.g. book.en.txt, book.de.txt); pass such a folder")
    files: dict[str, Path] = {}
    for path in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        lang = language_of(path)
        if lang in files:
            raise InputError(f"{root}: two files for language {lang!r} ({files[lang].name}, "
                             f"{path.name}); keep one file per language")
        files[lang] = path
    if len(files) < 2:
        raise InputError(f"{root}: {len(files)} language file(s); parity needs at least two "
                         "(one per language, same content)")
    return files


def measure_parity(tokenizers: Sequence[str | Path | Tokenizer], directory: str | Path, *,
                   reference: str = "en", config: AnalyzeConfig | None = None,
                   progress: Progress | None = None) -> list[Parity]:
    """Premiums and Gini of every tokenizer on the parallel corpus in ``directory``."""
    from tokkit.analyze.compression import AnalyzeConfig, analyze

    files = parallel_files(directory)
    if reference not in files:
        raise InputError(f"{directory}: no {reference!r} file among {', '.join(files)}; the "
                         "premium is relative to it")
    base = config or AnalyzeConfig()
    report = analyze(tokenizers, {lang: [path] for lang, path in files.items()},
                     config=replace(base, judge=False, by_file=False, max_bytes=None),
                     progress=progress)
    return [
        parity(t["name"], {lang: int(report.result(t["name"], lang).figures["tokens"])
                           for lang in files}, reference=reference)
        for t in report.tokenizers
    ]
