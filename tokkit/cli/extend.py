"""``tokkit extend``: extend a byte-level vocabulary (Llama 3, Qwen, Tekken) with continued BPE.

``extend-llama`` stays the SentencePiece LLaMA recipe; this command is for the byte-level family.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tokkit.cli.common import (
    corpus_argument,
    corpus_options,
    default_of,
    quiet,
    read_options,
    workers_option,
)
from tokkit.cli.llama import _catalog_paths, _heldout, comparison_table
from tokkit.errors import InputError
from tokkit.progress import console, rich_progress
from tokkit.train.bpe_continue import ContinueConfig

if TYPE_CHECKING:
    from tokkit.llama.bytelevel_extend import ExtendRun

DEFAULT_ADD = 24000


def print_report(run: ExtendRun) -> None:
    """Before/after table on held-out text, then what was added and where."""
    summary = run.extension.summary()
    cs = run.comparisons
    mismatches = [(f"{label} ≠ reference", lambda c, label=label: ("", str(c.mismatches.get(label, "—"))))
                  for label in sorted({k for c in cs for k in c.mismatches})]
    if cs:
        console.print(comparison_table(
            f"extend → {run.output}  ({summary['base_tokens']:,} + {summary['added']:,} tokens)", cs,
            lambda c: c.tokens_after / max(1, c.tokens_before) - 1, mismatches))
    skipped = summary["skipped"]
    console.print(
        f"added {summary['added']:,} tokens at ids {summary['first_new_id']}–{summary['id_range'] - 1} "
        f"(base ids unchanged; {summary['dropped_unreachable']} unreachable dropped, "
        f"{skipped['partial']} partial-character and {skipped['non_cjk']} non-CJK candidates skipped; "
        f"last merge seen {summary['last_count']} times)",
        highlight=False, soft_wrap=True,
    )
    if summary["added"] < run.meta["extend_config"]["add"]:
        console.print(f"[yellow]only {summary['added']} tokens reached the minimum frequency; "
                      "pass a larger corpus or a lower --min-frequency[/]")


@click.command("extend")
@corpus_argument
@click.option("--base", required=True, type=click.Path(),
              help="A byte-level vocabulary: tiktoken rank file (Llama 3's tokenizer.model), "
                   "tokenizer.json, transformers dir or Tekken json.")
@click.option("--zh-corpus", multiple=True, type=click.Path(), hidden=True,
              help="The old spelling of CORPUS.")
@click.option("--add", type=click.IntRange(min=1), default=DEFAULT_ADD, show_default=True,
              help="New tokens to learn on top of the base's merges.")
@click.option("--min-frequency", type=click.IntRange(min=1), default=default_of(ContinueConfig, "min_frequency"), show_default=True,
              help="Stop when the best pair occurs fewer times than this.")
@click.option("--only-cjk", is_flag=True,
              help="Only add tokens containing a CJK character, so other scripts cannot change.")
@click.option("--allow-partial", is_flag=True,
              help="Allow tokens that end or start inside a UTF-8 character (off: whole characters only).")
@click.option("--zh-max-mb", type=float, default=None, help="Train on only the first N MB of the corpus.")
@click.option("--heldout-zh", multiple=True, type=click.Path(),
              help="Held-out Chinese for the before/after table [default: the sample held-out text].")
@click.option("--heldout-en", multiple=True, type=click.Path(),
              help="Held-out English for the before/after table [default: the sample held-out text].")
@click.option("--no-compare", is_flag=True, help="Skip the before/after table.")
@workers_option("all cores, counting chunks")
@click.option("-o", "--output", type=click.Path(), default=None, help="Output dir [default: vocab/<base>-zh-N].")
@click.option("--force", is_flag=True, help="Replace an existing output dir.")
@corpus_options
@click.pass_context
def extend(ctx: click.Context, corpus: tuple[str, ...], base: str, zh_corpus: tuple[str, ...], add: int,
           min_frequency: int, only_cjk: bool, allow_partial: bool, zh_max_mb: float | None, heldout_zh: tuple[str, ...],
           heldout_en: tuple[str, ...], no_compare: bool, workers: int, output: str | None,
           force: bool, split: str, text_field: str, encoding_errors: str) -> None:
    """Extend a byte-level BPE vocabulary (Llama 3, Qwen, Mistral Tekken) for Chinese.

    Encodes CORPUS (Chinese text: files, dirs, globs; default: the sample zh corpus) with the
    base's own pre-tokenizer and merges, learns --add new merges on top, and appends the new tokens after the base's last id (base ranks and special
    token ids unchanged). Every new token is checked to be reachable. Writes a tokenizer.json +
    transformers dir, an extended tiktoken rank file (and a Tekken json for Tekken bases), and
    prints a before/after table on held-out Chinese and English.

    \b
    Example:
      tokkit extend ../shared/corpora/zh --base ../shared/fixtures/llama3/tokenizer.model \\
          --add 24000 -o vocab/llama3-zh
      tokkit extend --base tekken.json --add 8000 --only-cjk -o vocab/tekken-zh
    """
    from tokkit.llama.bytelevel_extend import extend_bytelevel

    if zh_max_mb is not None and zh_max_mb <= 0:
        raise InputError(f"--zh-max-mb {zh_max_mb} must be positive")
    given = corpus + zh_corpus  # --zh-corpus: the old spelling
    paths = list(given) if given else list(_catalog_paths("zh", "a Chinese CORPUS (files, dirs)"))
    config = ContinueConfig(add=add, min_frequency=min_frequency, only_cjk=only_cjk, allow_partial=allow_partial)
    name = Path(base).stem if Path(base).stem not in ("tokenizer", "") else Path(base).resolve().parent.name
    out = Path(output) if output else Path("vocab") / f"{name}-zh-{add}"
    with rich_progress(disable=quiet(ctx)) as progress:
        run = extend_bytelevel(
            base, out, zh_corpus=paths, config=config,
            heldout=_heldout(heldout_zh, heldout_en, no_compare),
            read_options=read_options(split, text_field, encoding_errors),
            max_bytes=int(zh_max_mb * 2**20) if zh_max_mb is not None else None,
            workers=workers, force=force, progress=progress,
        )
    if not quiet(ctx):
        print_report(run)
