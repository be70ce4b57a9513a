"""``tokkit analyze`` and ``tokkit explain``: what text costs under each tokenizer, and why."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tokkit.cli.common import corpus_options, quiet, read_options
from tokkit.errors import InputError

if TYPE_CHECKING:
    from tokkit.analyze.compression import Report


def _corpus_name(path: str, taken: dict[str, int]) -> str:
    name = Path(path).name or path
    taken[name] = taken.get(name, 0) + 1
    return name if taken[name] == 1 else f"{name}#{taken[name]}"


@click.command(context_settings={"show_default": True})
@click.argument("tokenizers", nargs=-1, required=True, metavar="TOKENIZER...")
@click.option("-c", "--corpus", "corpora", multiple=True, required=True, metavar="PATH",
              help="A corpus: file, folder or glob (repeat for several; each is reported apart).")
@click.option("--by-file", is_flag=True, help="Also report every file of each corpus.")
@click.option("--max-bytes", type=int, default=None, metavar="N",
              help="Sample at most N bytes of text per corpus, spread evenly over its files.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every figure as JSON (schema: docs/analyze.md); '-' for stdout.")
@click.option("--markdown", "markdown_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the tables as Markdown; '-' for stdout.")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG bar chart of tokens per character by script.")
@click.option("--workers", type=int, default=0,
              help="Processes that encode and tally: 1 = in-process, N = N processes, 0 = auto (one per "
                   "CPU from 2 MB of text on). Same figures.")
@corpus_options
@click.pass_context
def analyze(ctx: click.Context, tokenizers: tuple[str, ...], corpora: tuple[str, ...], by_file: bool,
            max_bytes: int | None, json_out: Path | None, markdown_out: Path | None,
            plot_out: Path | None, workers: int, split: str, text_field: str, encoding_errors: str) -> None:
    """Compare how many tokens a corpus costs under each TOKENIZER.

    TOKENIZER is a tokkit output dir, a tokenizer.json, a sentencepiece .model, a transformers
    tokenizer dir, or tiktoken:cl100k_base / tiktoken:o200k_base. The first one is the baseline
    the others are compared with (green = better, red = worse).

    \b
    Example:
      tokkit analyze llama/tokenizer.model tiktoken:cl100k_base tiktoken:o200k_base \\
          --corpus heldout/zh_zizhitongjian.txt --max-bytes 1000000 --json zh.json --plot zh.png
    """
    from rich.console import Console

    from tokkit.analyze.compression import AnalyzeConfig
    from tokkit.analyze.compression import analyze as run_analysis
    from tokkit.analyze.report import markdown, print_report, write_json, write_markdown
    from tokkit.progress import rich_progress

    config = AnalyzeConfig(read=read_options(split, text_field, encoding_errors),
                           max_bytes=max_bytes, by_file=by_file, workers=workers)
    taken: dict[str, int] = {}
    named = {_corpus_name(p, taken): [p] for p in corpora}
    for out in (json_out, markdown_out, plot_out):
        if out is not None and str(out) != "-" and not out.parent.exists():
            raise InputError(f"{out}: the folder {out.parent} does not exist; create it first")
        if out is not None and str(out) != "-" and not os.access(out.parent, os.W_OK):
            raise InputError(f"{out}: the folder {out.parent} is not writable; choose another path")
    if plot_out is not None and str(plot_out) == "-":
        raise InputError("--plot -: a PNG cannot go to stdout; pass a file name")
    with rich_progress(disable=quiet(ctx)) as progress:
        report = run_analysis(list(tokenizers), named, config=config, progress=progress)
    writers: list[tuple[Path | None, Callable[[Report, Path], Path]]] = [
        (json_out, write_json), (markdown_out, write_markdown), (plot_out, _write_plot)]
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


def _write_plot(report: Report, path: Path) -> Path:
    from tokkit.analyze.plot import write_plot

    return write_plot(report, path)


@click.command()
@click.argument("tokenizer", metavar="TOKENIZER")
@click.argument("text", metavar="TEXT")
@click.option("--json", "as_json", is_flag=True, help="Print the split as JSON instead of a table.")
def explain(tokenizer: str, text: str, as_json: bool) -> None:
    """Show how TOKENIZER splits TEXT: pieces, ids, bytes, byte-fallback pieces highlighted.

    TEXT '-' reads standard input.

    \b
    Example:
      tokkit explain llama/tokenizer.model "商鞅变法"
      tokkit explain tiktoken:cl100k_base "商鞅变法"
    """
    from rich.console import Console
    from rich.table import Table

    from tokkit.analyze.explain import explain as run_explain

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
            + (f", {f['tokens_per_han_char']:.2f} tokens/Han char" if f["han_chars"] else "")
            + f"; byte-fallback {f['byte_fallback_tokens']}, partial-character {f['partial_char_tokens']}"
            + f", Han split {f['han_split']}/{f['han_chars']}",
            highlight=False,
        )
