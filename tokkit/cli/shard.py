"""``tokkit shard``: tokenize a corpus once into packed, checksummed training shards."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click
from rich.table import Table

from tokkit.cli.common import (
    corpus_argument,
    corpus_options,
    default_of,
    quiet,
    read_options,
    workers_option,
)
from tokkit.cli.engine import Engine, engine_options
from tokkit.cli.interrupt import say_on_interrupt
from tokkit.progress import console, rich_progress
from tokkit.shards.manifest import Manifest
from tokkit.shards.writer import ShardConfig

log = logging.getLogger("tokkit")


def what_is_kept(output: Path) -> str | None:
    """The Ctrl-C line: ``-o`` is not written, but finished shards are kept beside it for the
    resume, and the user should know before deleting anything (None: nothing kept yet)."""
    from tokkit.shards.writer import partial_dir

    partial = partial_dir(output)
    kept = sum(1 for _ in partial.glob("*.bin")) if partial.is_dir() else 0
    if not kept:
        return None
    return (f"interrupted; {output} is not written yet, but {kept} finished shards are kept in "
            f"{partial}: re-running the same command resumes from them")


def print_summary(manifest: Manifest, output: Path, seconds: float) -> None:
    table = Table(title=f"shards → {output}")
    for column in ("split", "documents", "tokens", f"sequences × {manifest.seq_len}", "shards"):
        table.add_column(column, justify="right" if column != "split" else "left")
    for name, split in manifest.splits.items():
        table.add_row(name, f"{split.documents:,}", f"{split.tokens:,}", f"{split.sequences:,}",
                      f"{len(split.shards):,}")
    console.print(table)
    tokens = sum(s.tokens for s in manifest.splits.values())
    mb = manifest.corpus.get("bytes", 0) / 1e6
    bos = manifest.tokenizer.bos_id
    console.print(
        f"{manifest.dtype}, vocab {manifest.tokenizer.vocab_size:,}, "
        f"framing {'BOS ' + str(bos) + ' … ' if bos is not None else ''}EOS {manifest.tokenizer.eos_id}; "
        f"{mb:,.1f} MB in {seconds:,.1f} s ({mb / max(seconds, 1e-9):,.2f} MB/s, "
        f"{tokens / max(seconds, 1e-9):,.0f} tokens/s)",
        highlight=False,
    )


@click.command("shard")
@corpus_argument
@click.option("-t", "--tokenizer", required=True, type=click.Path(),
              help="Tokenizer dir or file (tokenizer.json preferred: the fast path).")
@click.option("-o", "--output", type=click.Path(file_okay=False), default="shards", show_default=True,
              help="Output directory for .bin shards and manifest.json.")
@click.option("--seq-len", type=int, default=default_of(ShardConfig, "seq_len"), show_default=True, help="Tokens per training sequence.")
@click.option("--val-fraction", type=float, default=default_of(ShardConfig, "val_fraction"), show_default=True,
              help="Share of documents (chosen by a hash of their text) held out for validation.")
@click.option("--tokens-per-shard", type=int, default=default_of(ShardConfig, "tokens_per_shard"), show_default=True,
              help="Tokens per .bin file, rounded down to whole sequences.")
@workers_option("in-process with the fast tokenizer's own threads for tokenizer.json, else one per "
                "CPU; same output")
@click.option("--bos", default=default_of(ShardConfig, "bos"), show_default=True,
              help="BOS token before each document: auto (tokenizer's convention), none, or a token.")
@click.option("--eos", default=default_of(ShardConfig, "eos"), show_default=True,
              help="EOS token after each document: auto (tokenizer's convention) or a token.")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@corpus_options
@engine_options()
@click.pass_context
def shard(ctx: click.Context, corpus: tuple[str, ...], tokenizer: str, output: str, seq_len: int,
          val_fraction: float, tokens_per_shard: int, workers: int, bos: str, eos: str, force: bool,
          split: str, text_field: str, encoding_errors: str, engine: Engine) -> None:
    """Tokenize CORPUS (files, dirs, globs) and pack it into fixed-length .bin shards.

    Each document becomes [BOS] ids EOS; documents are packed back to back and cut into
    --seq-len sequences (uint16 when the vocab fits, else uint32), with manifest.json recording
    the tokenizer hash, per-shard token counts and sha256, and the train/val split. Deterministic;
    an interrupted run resumes when re-run (finished shards are verified and skipped). With no
    CORPUS, shards the sample corpora (English + Chinese). --engine ray runs the same stages on
    Ray (shards are then cut per partition; the token stream is identical).

    \b
    Examples:
      tokkit shard corpus/ --tokenizer vocab/llama-zh --seq-len 2048 -o shards/
      tokkit shard data/*.jsonl.gz --text-field content --tokenizer tok/ --workers 8 -o shards/
      tokkit shard /data/corpus/ --tokenizer tok/ -o /data/shards/ --engine ray --ray-address auto
    """
    from tokkit.cli.train import resolve_corpus
    config = ShardConfig(seq_len=seq_len, val_fraction=val_fraction, tokens_per_shard=tokens_per_shard,
                         workers=workers, bos=bos, eos=eos)
    config.validate()
    paths = resolve_corpus(corpus)
    start = time.perf_counter()
    say_on_interrupt(lambda: what_is_kept(Path(output)))
    with rich_progress(disable=quiet(ctx)) as progress:
        manifest = engine.shard(paths, tokenizer, output, config=config,
                                read_options=read_options(split, text_field, encoding_errors),
                                force=force, progress=progress)
    if not quiet(ctx):
        print_summary(manifest, Path(output), time.perf_counter() - start)
    click.echo(str(output))
