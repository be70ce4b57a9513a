"""``tokkit train-bpe``: train a byte-level BPE tokenizer, from scratch or with a library."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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
from tokkit.errors import InputError
from tokkit.load import make_trainer, trainer_pairs
from tokkit.progress import console, rich_progress
from tokkit.train.config import MERGE_KERNELS, BPEConfig, TrainConfig
from tokkit.train.run import TrainReport, train_to_dir

DEFAULT_VOCAB = 32000
"""The ``train-*`` commands' ``--vocab`` (the library has none: a vocabulary size is a choice)."""


def resolve_corpus(paths: Sequence[str]) -> list[str | Path]:
    """The given paths, or the default sample corpora (en + zh) when none are given."""
    if paths:
        return list(paths)
    from tokkit.corpus.catalog import default_corpus_paths

    sample = default_corpus_paths()
    console.print(f"[dim]no corpus given: using the sample corpora {', '.join(map(str, sample))}[/]")
    return list(sample)


def default_output(algorithm: str, backend: str, vocab: int, name: str | None) -> Path:
    """``vocab/<name>/`` in the current project: the folder for produced vocabularies."""
    return Path("vocab") / (name or f"{algorithm}-{backend}-{vocab}")


def print_report(report: TrainReport) -> None:
    """The end-of-run table."""
    table = Table(title=f"{report.algorithm} ({report.backend}) → {report.output}", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("corpus", f"{report.corpus_bytes / 1e6:,.1f} MB in {report.documents:,} documents"),
        ("unique chunks", f"{report.unique_chunks:,}" if report.unique_chunks is not None else "—"),
        ("time", f"{report.seconds:,.1f} s"),
        ("peak memory", f"{report.peak_rss_mb:,.0f} MiB"
                        + (f" ({report.peak_tree_mb:,.0f} MiB with workers)"
                           if report.peak_tree_mb > report.peak_rss_mb else "")),
        ("vocab size", f"{report.vocab_size:,}"),
        ("held-out slice", f"{report.heldout_bytes / 1e3:,.0f} kB in {report.heldout_documents:,} documents"),
        ("bytes/token", f"{report.bytes_per_token:.3f}" if report.bytes_per_token else "—"),
        ("chars/token", f"{report.chars_per_token:.3f}" if report.chars_per_token else "—"),
    ]
    skipped = sum(v for k, v in report.read.items() if k.startswith("skipped_"))
    if skipped:
        rows.append(("files/documents skipped", f"{skipped:,} (see warnings)"))
    for label, value in rows:
        table.add_row(label, str(value))
    console.print(table)


def run_training_command(
    ctx: click.Context,
    *,
    trainer_config: TrainConfig,
    algorithm: str,
    backend: str,
    config: dict[str, Any],
    corpus: Sequence[str],
    output: str | None,
    name: str | None,
    force: bool,
    split: str,
    text_field: str,
    encoding_errors: str,
) -> TrainReport:
    """What every ``train-*`` command does after parsing its own options: the trainer comes from
    the library's registry (:func:`tokkit.load.make_trainer`)."""
    trainer = make_trainer(algorithm, backend, trainer_config)
    out = Path(output) if output else default_output(algorithm, backend, config["vocab_size"], name)
    paths = resolve_corpus(corpus)
    with rich_progress(disable=quiet(ctx)) as progress:
        report = train_to_dir(
            trainer,
            corpus=paths,
            output=out,
            algorithm=algorithm,
            backend=backend,
            config=config,
            read_options=read_options(split, text_field, encoding_errors),
            force=force,
            progress=progress,
        )
    if not quiet(ctx):
        print_report(report)
    click.echo(str(out))
    return report


def backends(algorithm: str) -> list[str]:
    """The ``--backend`` choices of a ``train-*`` command: what the trainer registry holds."""
    return [backend for _, backend in trainer_pairs(algorithm)]


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output``, ``--name`` and ``--force``: shared by every ``train-*`` command."""
    f = click.option("--force", is_flag=True, help="Replace an existing output directory.")(f)
    f = click.option("--name", help="Output name under vocab/ when -o is not given.")(f)
    f = click.option("-o", "--output", type=click.Path(file_okay=False),
                     help="Output directory [default: vocab/<algorithm>-<backend>-<vocab>/].")(f)
    return f


class _Size(click.ParamType):
    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        from tokkit.resources import parse_size

        try:
            size = parse_size(str(value))
        except ValueError as err:
            self.fail(str(err), param, ctx)
        if size <= 0:
            self.fail(f"'{value}' must be more than 0 bytes", param, ctx)
        return size


SIZE = _Size()


@click.command("train-bpe")
@corpus_argument
@click.option("--vocab", "vocab_size", type=int, default=DEFAULT_VOCAB, show_default=True,
              help="Final vocabulary size: 256 bytes + merges + special tokens.")
@click.option("--backend", type=click.Choice(backends("bpe")), default="scratch",
              show_default=True,
              help="scratch: tokkit's own trainer; hf: tokenizers' BpeTrainer; spm: sentencepiece BPE.")
@click.option("--pattern", default=default_of(BPEConfig, "pattern"), show_default=True,
              help="Pre-tokenizer split: gpt2, gpt4 (= cl100k), o200k, or a custom regex.")
@click.option("--special", multiple=True, default=("<|endoftext|>",), show_default=True,
              help="A special token (repeat the option for several).")
@click.option("--min-frequency", type=int, default=default_of(BPEConfig, "min_frequency"), show_default=True,
              help="Stop merging when the best pair occurs fewer times.")
@workers_option("all cores")
@click.option("--merge-kernel", type=click.Choice(MERGE_KERNELS), default=default_of(BPEConfig, "merge_kernel"), show_default=True,
              help="scratch's merge loop: numba (compiled), python, or auto (numba when installed); "
                   "the merges are the same.")
@click.option("--max-memory", type=SIZE, default=None,
              help="Memory the scratch trainer may use, e.g. 8GB [default: half the machine's]. "
                   "Counting spills sorted partial counts to a temp dir beyond a quarter of it; "
                   "the compiled merge loop tracks the pairs that fit and recounts the rest "
                   "(same merges, slower).")
@output_options
@corpus_options
@engine_options()
@click.pass_context
def train_bpe(ctx: click.Context, corpus: tuple[str, ...], vocab_size: int, backend: str,
              pattern: str, special: tuple[str, ...], min_frequency: int, workers: int,
              merge_kernel: str, max_memory: int | None, output: str | None, name: str | None,
              force: bool, split: str, text_field: str, encoding_errors: str,
              engine: Engine) -> None:
    """Train a byte-level BPE tokenizer on CORPUS (files, directories, globs).

    With no CORPUS, trains on the sample corpora (English + Chinese). Writes the tokenizer
    (bpe.model, vocab.txt, tokenizer.json for `tokenizers`/`transformers`) and tokkit.json.

    \b
    Examples:
      tokkit train-bpe corpus/ --vocab 32000
      tokkit train-bpe corpus/ --vocab 32000 --merge-kernel python
      tokkit train-bpe big/ --vocab 64000 --max-memory 4GB
      tokkit train-bpe /data/corpus/ --vocab 64000 --engine ray --ray-address auto
      tokkit train-bpe data/*.jsonl.gz --text-field content --backend hf -o vocab/hf32k

    --engine ray counts the chunks on Ray (a map over runs of files) and merges on this machine:
    the same merges, but every document trains (no held-out slice, so no bytes/token).
    """
    config = BPEConfig(vocab_size=vocab_size, pattern=pattern, special_tokens=tuple(special),
                       min_frequency=min_frequency, workers=workers,
                       merge_kernel=merge_kernel, max_memory=max_memory)
    config.check()
    if engine.name == "ray":
        if backend != "scratch":
            raise InputError(f"--engine ray counts for the scratch trainer; drop --backend {backend}")
        out = Path(output) if output else default_output("bpe", backend, vocab_size, name)
        with rich_progress(disable=quiet(ctx)) as progress:
            report = engine.train_bpe(config, corpus=resolve_corpus(corpus), output=out,
                                      read_options=read_options(split, text_field, encoding_errors),
                                      force=force, progress=progress)
        if not quiet(ctx):
            print_report(report)
        click.echo(str(out))
        return

    run_training_command(ctx, trainer_config=config, algorithm="bpe", backend=backend,
                         config=config.to_dict(), corpus=corpus, output=output, name=name,
                         force=force, split=split, text_field=text_field,
                         encoding_errors=encoding_errors)
