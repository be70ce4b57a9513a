"""``tokkit analyze`` and ``tokkit explain``: what text costs under each tokenizer, and why."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tokkit.analyze.compression import AnalyzeConfig
from tokkit.cli.common import (
    corpus_argument,
    corpus_options,
    default_of,
    quiet,
    read_options,
    workers_option,
)
from tokkit.errors import InputError
from tokkit.han import TITLE as HAN_TITLE

if TYPE_CHECKING:
    from tokkit.analyze.compression import Report


def _corpus_name(path: str, taken: dict[str, int]) -> str:
    name = Path(path).name or path
    taken[name] = taken.get(name, 0) + 1
    return name if taken[name] == 1 else f"{name}#{taken[name]}"


@click.command(context_settings={"show_default": True})
@corpus_argument
@click.option("-t", "--tokenizer", multiple=True, metavar="TOKENIZER",
              help="A tokenizer to measure (repeat for several; the first is the baseline).")
@click.option("-c", "--corpus", "corpus_option", multiple=True, hidden=True,
              help="The old spelling: TOKENIZER... as arguments and each corpus with -c.")
@click.option("--by-file", is_flag=True, help="Also report every file of each corpus.")
@click.option("--max-bytes", type=int, default=None, metavar="N",
              help="Sample at most N bytes of text per corpus, spread evenly over its files.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every figure as JSON (schema: docs/analyze.md); '-' for stdout.")
@click.option("--markdown", "markdown_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the tables as Markdown; '-' for stdout.")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG bar chart of tokens per character by script.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one self-contained HTML page: tables, charts, sample lines as token spans.")
@click.option("--parallel", "parallel_dir", type=click.Path(path_type=Path), default=None,
              metavar="DIR", help="A parallel corpus (one file per language, e.g. book.de.txt): "
                                  "premium over English per language and the Gini coefficient.")
@click.option("--compare", "compare_pair", nargs=2, default=None, metavar="BASE EXTENDED",
              help="Diff an extension on the corpus: tokens saved and lines changed per script, "
                   "new tokens used (BASE and EXTENDED are also analyzed).")
@click.option("--judge/--no-judge", default=default_of(AnalyzeConfig, "judge"),
              help="Efficiency, words kept whole, Han coverage, vocabulary health (a few seconds "
                   "per large vocabulary).")
@workers_option("one per CPU from 2 MB of text on; same figures")
@corpus_options
@click.pass_context
def analyze(ctx: click.Context, corpus: tuple[str, ...], tokenizer: tuple[str, ...],
            corpus_option: tuple[str, ...], by_file: bool,
            max_bytes: int | None, json_out: Path | None, markdown_out: Path | None,
            plot_out: Path | None, html_out: Path | None, parallel_dir: Path | None,
            compare_pair: tuple[str, str] | None, judge: bool, workers: int, split: str,
            text_field: str, encoding_errors: str) -> None:
    """Compare how many tokens each CORPUS (file, folder or glob; each reported apart) costs under
    each -t TOKENIZER.

    TOKENIZER is a tokkit output dir, a tokenizer.json, a sentencepiece .model, a transformers
    tokenizer dir, or tiktoken:cl100k_base / tiktoken:o200k_base. The first one is the baseline
    the others are compared with (green = better, red = worse). The old spelling, tokenizers as
    arguments and each corpus with -c, still works.

    \b
    Example:
      tokkit analyze heldout/zh_zizhitongjian.txt -t llama/tokenizer.model \\
          -t tiktoken:cl100k_base -t tiktoken:o200k_base --max-bytes 1000000 --json zh.json --plot zh.png
      tokkit analyze heldout/ -t tiktoken:cl100k_base -t tiktoken:o200k_base \\
          --parallel ../shared/corpora/parallel --html report.html
      tokkit analyze heldout/ --compare llama/tokenizer.model vocab/llama-zh
    """
    from rich.console import Console

    from tokkit.analyze.compression import AnalyzeConfig
    from tokkit.analyze.compression import analyze as run_analysis
    from tokkit.analyze.report import markdown, print_report, write_json, write_markdown
    from tokkit.progress import rich_progress

    if corpus_option:  # the old spelling: `analyze TOKENIZER... -c CORPUS`
        if tokenizer:
            raise click.UsageError("give each tokenizer with -t and the corpora as arguments (or the old "
                                   "way: tokenizers as arguments, each corpus with -c), not both")
        tokenizers, corpora = corpus, corpus_option
    else:
        tokenizers, corpora = tokenizer, corpus
    if not corpora:
        raise click.UsageError("Missing argument 'CORPUS...': name the corpora to measure")
    config = AnalyzeConfig(read=read_options(split, text_field, encoding_errors),
                           max_bytes=max_bytes, by_file=by_file, workers=workers, judge=judge)
    specs = list(tokenizers)
    if compare_pair is not None:
        specs = [*compare_pair, *(t for t in specs if t not in compare_pair)]
    if not specs:
        raise InputError("no tokenizer given; pass at least one with -t (a path or tiktoken:NAME), or "
                         "pass --compare BASE EXTENDED")
    taken: dict[str, int] = {}
    named = {_corpus_name(p, taken): [p] for p in corpora}
    for out in (json_out, markdown_out, plot_out, html_out):
        if out is not None and str(out) != "-" and not out.parent.exists():
            raise InputError(f"{out}: the folder {out.parent} does not exist; create it first")
        if out is not None and str(out) != "-" and not os.access(out.parent, os.W_OK):
            raise InputError(f"{out}: the folder {out.parent} is not writable; choose another path")
    if plot_out is not None and str(plot_out) == "-":
        raise InputError("--plot -: a PNG cannot go to stdout; pass a file name")
    if html_out is not None and str(html_out) == "-":
        raise InputError("--html -: pass a file name (e.g. report.html)")
    with rich_progress(disable=quiet(ctx)) as progress:
        report = run_analysis(specs, named, config=config, progress=progress)
        if parallel_dir is not None:
            from tokkit.analyze.parity import measure_parity

            report.parity = [p.to_json() for p in measure_parity(specs, parallel_dir,
                                                                 config=config, progress=progress)]
        if compare_pair is not None:
            from tokkit.analyze.extension_diff import compare_extension

            report.compare = compare_extension(*compare_pair, list(corpora), read=config.read,
                                               progress=progress).to_json()
    writers: list[tuple[Path | None, Callable[[Report, Path], Path]]] = [
        (json_out, write_json), (markdown_out, write_markdown), (plot_out, _write_plot),
        (html_out, lambda r, p: _write_html(r, p, specs, named))]
    # files first: a path that cannot be written fails the run before anything reaches stdout
    for out, write in writers:
        if out is None or str(out) == "-":
            continue
        try:
            write(report, out)
        except OSError as err:
            raise InputError(f"{out}: cannot write ({err.strerror}); choose a writable path") from None
    stdout_taken = str(json_out) == "-" or str(markdown_out) == "-"
    if not stdout_taken:
        print_report(report, Console())
    if json_out is not None and str(json_out) == "-":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    if markdown_out is not None and str(markdown_out) == "-":
        click.echo(markdown(report))
    if not stdout_taken:
        _print_extras(report, Console())


def _print_extras(report: Report, console: object) -> None:
    """The parity and extension tables, after the main report."""
    from rich.console import Console
    from rich.table import Table

    assert isinstance(console, Console)
    if report.parity:
        # one column per tokenizer, as in the headline table: fits a terminal with several
        langs = list(report.parity[0]["premium"])
        table = Table(title="premium over English per language (1.0 = parity), and the Gini "
                            "coefficient across languages", title_justify="left")
        table.add_column("language", style="bold")
        for p in report.parity:
            table.add_column(p["tokenizer"], justify="right")
        for lang in langs:
            table.add_row(lang, *(f"{p['premium'][lang]:.2f}" for p in report.parity))
        table.add_row("Gini", *(f"{p['gini']:.3f}" for p in report.parity), style="bold")
        console.print(table)
    if report.compare:
        c = report.compare
        table = Table(title=f"extension {c['base']} → {c['extended']}: {c['new_tokens']:,} new "
                            f"tokens, {c['new_tokens_used']:,} used here", title_justify="left")
        for col in ("lines by script", "lines", "changed", "tokens before", "after", "saved"):
            table.add_column(col, justify="left" if col == "lines by script" else "right")
        for script, d in c["scripts"].items():
            saved = "–" if d["saved_share"] is None else f"{d['saved_share']:.1%}"
            table.add_row(script, f"{d['lines']:,}", f"{d['changed_lines']:,}",
                          f"{d['tokens_before']:,}", f"{d['tokens_after']:,}", saved)
        console.print(table)


def _write_html(report: Report, path: Path, specs: list[str],
                corpora: dict[str, list[str]]) -> Path:
    from tokkit.analyze.html_report import sample_lines, write_html
    from tokkit.analyze.measure import open_tokenizers

    samples = {name: sample_lines(paths) for name, paths in corpora.items()}
    return write_html(report, path, open_tokenizers(specs), samples)


def _write_plot(report: Report, path: Path) -> Path:
    from tokkit.analyze.plot import write_plot

    return write_plot(report, path)


@click.command()
@click.argument("texts", nargs=-1, metavar="TEXT")
@click.option("-t", "--tokenizer", metavar="TOKENIZER", help="The tokenizer to explain (required).")
@click.option("--json", "as_json", is_flag=True, help="Print the split as JSON instead of a table.")
def explain(texts: tuple[str, ...], tokenizer: str | None, as_json: bool) -> None:
    """Show how a -t TOKENIZER splits TEXT: pieces, ids, bytes, byte-fallback pieces highlighted.

    TEXT '-' reads standard input. The old spelling, ``explain TOKENIZER TEXT``, still works.

    \b
    Example:
      tokkit explain "商鞅变法" -t llama/tokenizer.model
      tokkit explain "商鞅变法" -t tiktoken:cl100k_base
    """
    from rich.console import Console
    from rich.table import Table

    from tokkit.analyze.explain import explain as run_explain

    if tokenizer is None and len(texts) == 2:  # the old spelling: TOKENIZER TEXT
        tokenizer, texts = texts[0], texts[1:]
    if tokenizer is None:
        raise click.UsageError("Missing option '-t' / '--tokenizer'.")
    if len(texts) != 1:
        raise click.UsageError("give exactly one TEXT (quote it; '-' reads standard input)")
    text = texts[0]
    if text == "-":
        text = sys.stdin.read()
    result = run_explain(tokenizer, text)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return
    styles = {"byte_fallback": "bold red", "partial": "yellow", "unknown": "bold magenta",
              "special": "cyan", "piece": ""}
    table = Table(title=f"{result.tokenizer}: {len(result.pieces)} tokens", title_justify="left")
    for name, justify in (("#", "right"), ("id", "right"), ("token", "left"), ("text", "left"),
                          ("bytes", "left"), ("n", "right"), ("role", "left"), ("script", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for p in result.pieces:
        shown = repr(p.text)[1:-1] if p.text else (f"part of {p.of}" if p.of else "")
        table.add_row(str(p.index), str(p.id), repr(p.token)[1:-1], shown, p.bytes, str(p.n_bytes),
                      p.role, p.script, style=styles.get(p.role, ""))
    console = Console()
    console.print(table)
    f = result.figures
    if f:
        console.print(
            f"{f['chars']} chars, {f['bytes']} UTF-8 bytes, {f['tokens']} tokens: "
            f"{f['tokens_per_char']:.2f} tokens/char"
            + (f", {f['tokens_per_han_char']:.2f} {HAN_TITLE}" if f["han_chars"] else "")
            + f"; byte-fallback {f['byte_fallback_tokens']}, partial-character {f['partial_char_tokens']}"
            + f", Han split {f['han_split']}/{f['han_chars']}",
            highlight=False,
        )
