"""Render a :class:`~tokkit.analyze.compression.Report`: rich tables, Markdown, JSON.

Two tables per corpus (and per file with ``by_file``): the headline figures, and the per-script
breakdown whose first row is the text's UTF-8 bytes per character: 3.0 for Han is why a byte-level
BPE that has not merged a character's bytes pays up to three tokens for it. Cells are coloured
green/red when better/worse than the baseline (the first tokenizer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tokkit.analyze.compression import Report, Result
from tokkit.analyze.scripts import SCRIPTS
from tokkit.atomic import atomic_file
from tokkit.han import TITLE as HAN_TITLE


@dataclass(frozen=True)
class Column:
    """A headline column: which figure, how to print it, and which direction is better."""

    title: str
    key: str
    fmt: Callable[[Any], str]
    better: int  # +1 higher is better, -1 lower is better, 0 neutral


def _num(digits: int) -> Callable[[Any], str]:
    return lambda v: "–" if v is None else f"{v:,.{digits}f}"


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _int(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"


COLUMNS: tuple[Column, ...] = (
    Column("tokens", "tokens", _int, -1),
    Column("tokens/char", "tokens_per_char", _num(3), -1),
    Column("chars/token", "chars_per_token", _num(3), +1),
    Column("bytes/token", "bytes_per_token", _num(3), +1),
    Column(HAN_TITLE, "tokens_per_han_char", _num(3), -1),
    Column("tokens/word", "tokens_per_word", _num(3), -1),
    Column("byte-fallback", "byte_fallback_rate", _pct, -1),
    Column("partial-char tokens", "partial_char_rate", _pct, -1),
    Column("[UNK]", "unk_rate", _pct, -1),
    Column("Han chars whole", "han_whole_share", _pct, +1),
    Column("Han chars split", "han_split_share", _pct, -1),
    Column("vocab used", "vocab_utilization", _pct, 0),
    Column("token bytes (mean)", "mean_token_bytes", _num(2), 0),
    Column("token chars (mean)", "mean_token_chars", _num(2), 0),
    Column("round-trip", "roundtrip_rate", _pct, +1),
    Column("Rényi efficiency (α=2.5)", "renyi_efficiency", _num(3), +1),
    Column("Shannon efficiency", "shannon_efficiency", _num(3), +1),
)
JUDGED: tuple[Column, ...] = (
    Column("words kept whole", "words_whole_share", _pct, +1),
    Column("Han chars in vocab", "han_vocab_coverage", _pct, +1),
    Column("top Han chars in vocab", "han_top_coverage", _pct, +1),
    Column("unreachable tokens", "health.unreachable", _int, -1),
    Column("never used here", "health.never_used", _int, 0),
    Column("residue candidates", "health.residue_candidates", _int, -1),
)
"""Shown for whole-corpus results, which carry the judged figures (docs/analyze.md)."""


def value(figures: dict[str, Any], key: str) -> Any:
    """A figure by key; ``a.b`` looks inside a nested object; absent → None."""
    for part in key.split("."):
        if not isinstance(figures, dict) or part not in figures:
            return None
        figures = figures[part]
    return figures


EXTRA_COLUMNS: list[Column] = []
"""Columns added with :func:`register_column`, shown after the built-in ones."""


def register_column(column: Column) -> None:
    """Show a figure (a registered one, see :func:`tokkit.analyze.compression.register_figure`) in
    the terminal and Markdown tables."""
    EXTRA_COLUMNS[:] = [c for c in EXTRA_COLUMNS if c.key != column.key] + [column]


def columns(results: list[Result]) -> tuple[Column, ...]:
    judged = all("health" in r.figures for r in results)
    shown = tuple(c for c in EXTRA_COLUMNS if all(c.key in r.figures for r in results))
    return (COLUMNS + JUDGED if judged else COLUMNS) + shown


def groups(report: Report) -> Iterator[tuple[str, str | None, list[Result]]]:
    """(corpus, file or None, results of every tokenizer) in report order."""
    order: dict[tuple[str, str | None], list[Result]] = {}
    for r in report.results:
        order.setdefault((r.corpus, r.file), []).append(r)
    for (corpus, file), results in order.items():
        yield corpus, file, results


def _title(corpus: str, file: str | None, result: Result) -> str:
    f = result.figures
    where = f"{corpus} / {Path(file).name}" if file else corpus
    return f"{where}: {f['documents']:,} docs, {f['chars']:,} chars, {f['bytes']:,} bytes"


def _ratio_text(result: Result, baseline: str) -> str:
    if result.vs_baseline is None or result.vs_baseline["tokens_ratio"] is None:
        return "baseline" if result.tokenizer == baseline else "–"
    return f"{result.vs_baseline['tokens_ratio']:.2f}× {baseline}"


def _style(value: Any, base: Any, better: int) -> str:
    if better == 0 or value is None or base is None or value == base:
        return ""
    return "green" if (value - base) * better > 0 else "red"


def headline_table(report: Report, corpus: str, file: str | None, results: list[Result]) -> Table:
    """One row per figure, one column per tokenizer: fits a terminal with several tokenizers."""
    table = Table(title=_title(corpus, file, results[0]), title_justify="left")
    table.add_column("figure", style="bold")
    for r in results:
        table.add_column(r.tokenizer, justify="right")
    table.add_row("vs baseline", *(_ratio_text(r, report.baseline) for r in results))
    base = results[0].figures
    for col in columns(results):
        cells = [col.title]
        for r in results:
            got = value(r.figures, col.key)
            style = "" if r is results[0] else _style(got, value(base, col.key), col.better)
            text = col.fmt(got)
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(*cells)
    return table


def _present_scripts(results: list[Result]) -> list[str]:
    return [s for s in SCRIPTS if results[0].figures["scripts"][s]["chars"] > 0]


def script_table(report: Report, corpus: str, file: str | None, results: list[Result]) -> Table:
    """One row per script class present: its UTF-8 bytes per character, then the tokens spent on it per character."""
    first = results[0].figures["scripts"]
    table = Table(title="token cost per character, by script", title_justify="left",
                  caption=SCRIPT_CAPTION, caption_justify="left")
    table.add_column("script", style="bold")
    table.add_column("chars", justify="right")
    table.add_column("UTF-8 bytes/char", justify="right")
    for r in results:
        table.add_column(r.tokenizer, justify="right")
    for s in _present_scripts(results):
        cells = [s, _int(first[s]["chars"]), _num(2)(first[s]["bytes_per_char"])]
        for r in results:
            value = r.figures["scripts"][s]["token_cost_per_char"]
            style = "" if r is results[0] else _style(value, first[s]["token_cost_per_char"], -1)
            cells.append(f"[{style}]{_num(3)(value)}[/]" if style else _num(3)(value))
        table.add_row(*cells)
    return table


SCRIPT_CAPTION = (
    "A byte-level BPE starts from UTF-8 bytes: a Han character is 3 bytes, so it costs up to 3 "
    "tokens until the vocabulary holds it whole. Token cost per char counts only the tokens spent on "
    "that script's characters (a token's cost spread over its bytes); it is not tokens/Han char "
    "above, which divides every token of the text (punctuation, spaces, Latin too) by the Han "
    "characters (docs/analyze.md). whitespace "
    "carries sentencepiece's dummy prefix '▁', one per line."
)


def print_report(report: Report, console: Console) -> None:
    """The terminal view: headline and script tables for every corpus (and file)."""
    for corpus, file, results in groups(report):
        console.print(headline_table(report, corpus, file, results))
        console.print(script_table(report, corpus, file, results))
        console.print()


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown(report: Report) -> str:
    """The same tables as Markdown, for READMEs."""
    lines: list[str] = []
    for corpus, file, results in groups(report):
        lines.append(f"**{_title(corpus, file, results[0])}**")
        lines.append("")
        lines.append(_md_row(["figure", *(r.tokenizer for r in results)]))
        lines.append(_md_row(["---", *["---:"] * len(results)]))
        lines.append(_md_row(["vs baseline", *(_ratio_text(r, report.baseline) for r in results)]))
        for c in columns(results):
            lines.append(_md_row([c.title, *(c.fmt(value(r.figures, c.key)) for r in results)]))
        lines.append("")
        first = results[0].figures["scripts"]
        lines.append(_md_row(["token cost/char by script", "chars", "UTF-8 bytes/char",
                              *(r.tokenizer for r in results)]))
        lines.append(_md_row(["---", *["---:"] * (2 + len(results))]))
        for s in _present_scripts(results):
            lines.append(_md_row([s, _int(first[s]["chars"]), _num(2)(first[s]["bytes_per_char"]),
                                  *(_num(3)(r.figures["scripts"][s]["token_cost_per_char"])
                                    for r in results)]))
        lines.append("")
    return "\n".join(lines)


def write_json(report: Report, path: str | Path) -> Path:
    path = Path(path)
    with atomic_file(path, "w", encoding="utf-8") as f:
        json.dump(report.to_json(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    return path


def write_markdown(report: Report, path: str | Path) -> Path:
    path = Path(path)
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write(markdown(report) + "\n")
    return path
