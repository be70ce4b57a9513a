"""``tokkit corpus``: list the sample corpora and get them onto this machine."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from tokkit.cli.common import quiet
from tokkit.corpus.catalog import Fetched, fetch_corpus, load_catalog, where_available
from tokkit.progress import console, rich_progress
from tokkit.types import Progress, ProgressTask

_MIRROR_HELP = ("Folder holding the corpora as <name>/<file> (default: $TOKKIT_CORPUS_MIRROR, "
                "else ../shared/corpora beside the project).")
_CACHE_HELP = "Download cache (default: $TOKKIT_CACHE/corpora, else ~/.cache/tokkit/corpora)."


class _LazyProgress:
    """Open the rich display only when there is work to show (a cached corpus prints nothing)."""

    def __init__(self, stack: ExitStack, *, disable: bool) -> None:
        self._stack = stack
        self._disable = disable
        self._progress: Progress | None = None

    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask:
        if self._progress is None:
            self._progress = self._stack.enter_context(rich_progress(disable=self._disable))
        return self._progress.task(description, total, unit=unit)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def corpus() -> None:
    """The sample corpora: list them, get one (mirror, cache, or a verified download).

    \b
    Examples:
      tokkit corpus list
      tokkit corpus get zh                      # prints the local folder
      tokkit corpus get sample --mirror /data/corpora
      tokkit train-bpe $(tokkit corpus get en) --vocab 8000
    """


@corpus.command("get")
@click.argument("name")
@click.option("--mirror", type=click.Path(path_type=Path), help=_MIRROR_HELP)
@click.option("--cache-dir", type=click.Path(path_type=Path), help=_CACHE_HELP)
@click.option("--verify", is_flag=True, help="Re-compute every sha256 instead of trusting "
              "earlier checks of unchanged files.")
@click.pass_context
def get(ctx: click.Context, name: str, mirror: Path | None, cache_dir: Path | None,
        verify: bool) -> None:
    """Print the local folder holding corpus NAME (en, zh, heldout, neardup, or sample = en + zh).

    Looks in the mirror first, then the cache, else downloads into the cache and checks every
    file's sha256 against the catalog. The folder goes to stdout, a summary to stderr.

    \b
    Examples:
      tokkit corpus get en
      tokkit corpus get neardup --mirror ../shared/corpora --verify
      TOKKIT_CORPUS_MIRROR=/data/corpora tokkit corpus get sample
    """
    with ExitStack() as stack:
        progress = _LazyProgress(stack, disable=quiet(ctx))
        fetched = fetch_corpus(name, mirror=mirror, cache_dir=cache_dir, progress=progress,
                               verify=verify)
    click.echo(str(fetched.path))
    if not quiet(ctx):
        console.print(_summary(fetched), highlight=False, soft_wrap=True)


def _summary(fetched: Fetched) -> str:
    def one(f: Fetched) -> str:
        checked = (f"sha256 checked for {f.hashed} files now" if f.hashed
                   else "sha256 checked earlier, files unchanged")
        where = {"mirror": f"mirror {f.path.parent}", "cache": f"cache {f.path.parent}",
                 "download": f"downloaded {f.downloaded} files into {f.path.parent}"}[f.origin]
        return f"{f.name}: {f.files} files, {_mb(f.bytes)} from {where} ({checked})"

    if fetched.origin != "alias":
        return one(fetched)
    parts = "; ".join(one(p) for p in fetched.parts)
    names = " + ".join(p.name for p in fetched.parts)
    return f"{fetched.name} = {names}, linked in {fetched.path}: {parts}"


@corpus.command("list")
@click.option("--mirror", type=click.Path(path_type=Path), help=_MIRROR_HELP)
@click.option("--cache-dir", type=click.Path(path_type=Path), help=_CACHE_HELP)
def list_corpora(mirror: Path | None, cache_dir: Path | None) -> None:
    """Show the catalog: each corpus' language, files, size, licences and where it is locally.

    "available" checks file sizes only (fast); `tokkit corpus get NAME` also checks sha256,
    and `tokkit corpus info NAME` shows each file's full licence and source.

    \b
    Example:
      tokkit corpus list --mirror /data/corpora
    """
    catalog = load_catalog()
    table = Table(title=f"sample corpora ({catalog.path})", title_justify="left")
    for column in ("name", "language", "files", "size", "licences", "available"):
        table.add_column(column, justify="right" if column in ("files", "size") else "left",
                         overflow="fold")
    for c in catalog.corpora.values():
        kind, path = where_available(c, mirror=mirror, cache_dir=cache_dir)
        if path:
            where = f"{kind}: {path}"
        elif any(f.url is None for f in c.files):
            where = "not here: a mirror only (--mirror DIR)"
        else:
            where = "not here: `tokkit corpus get` downloads it"
        licences = "; ".join(lic.split(" (")[0] for lic in c.licenses)  # details: corpus info
        table.add_row(c.name, c.language, str(len(c.files)), _mb(c.bytes), licences, where)
    for alias, names in catalog.aliases.items():
        total = sum(catalog.corpora[n].bytes for n in names)
        files = sum(len(catalog.corpora[n].files) for n in names)
        table.add_row(alias, "alias", str(files), _mb(total), "", f"= {' + '.join(names)}")
    Console(soft_wrap=False).print(table)


@corpus.command("info")
@click.argument("name")
def info(name: str) -> None:
    """Show every file of corpus NAME: bytes, sha256, source, licence, URL.

    \b
    Example:
      tokkit corpus info heldout
    """
    catalog = load_catalog()
    out = Console()
    for c in catalog.resolve(name):
        table = Table(title=f"{c.name} ({c.language}): {c.description}", title_justify="left")
        for column in ("file", "bytes", "sha256", "source", "licence"):
            table.add_column(column, justify="right" if column == "bytes" else "left",
                             overflow="fold")
        for f in c.files:
            table.add_row(f.path, f"{f.bytes:,}", f.sha256[:16] + "…", f.source, f.license)
        out.print(table)
