"""``tokkit extend-llama`` and ``tokkit resize-embeddings``: the Chinese-LLaMA recipe, done correctly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from rich.table import Table

from tokkit.cli.common import corpus_argument, corpus_options, default_of, quiet, read_options
from tokkit.errors import InputError
from tokkit.han import TITLE as HAN_TITLE
from tokkit.llama.extend import ExtendConfig
from tokkit.llama.resize import ResizeConfig
from tokkit.progress import console, rich_progress

if TYPE_CHECKING:
    from tokkit.llama.compare import Comparison
    from tokkit.llama.recipe import ExtendRun

C = TypeVar("C", bound="Comparison")

DEFAULT_ZH_VOCAB = 20000


def _catalog_paths(name: str, option: str) -> list[Path]:
    """A sample corpus of the catalog; an :class:`InputError` naming ``option`` if unavailable."""
    try:
        from tokkit.corpus.catalog import get_corpus

        return [Path(get_corpus(name))]
    except ImportError:
        raise InputError(f"the sample '{name}' corpus is not available here; pass {option}") from None


def _heldout(zh: Sequence[str], en: Sequence[str], skip: bool) -> dict[str, list[str | Path]]:
    """Held-out files to compare on: the options, else the catalog's held-out corpus if present."""
    if skip:
        return {}
    if zh or en:
        return {name: list(paths) for name, paths in (("zh", zh), ("en", en)) if paths}
    try:
        (root,) = _catalog_paths("heldout", "--heldout-zh/--heldout-en PATH")
    except Exception:
        console.print("[yellow]no held-out text found; pass --heldout-zh/--heldout-en for the before/after table[/]")
        return {}
    found = {name: sorted(root.glob(f"{name}_*.txt")) for name in ("zh", "en")}
    return {name: list(paths) for name, paths in found.items() if paths}


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def comparison_table(title: str, comparisons: Sequence[C], change: Callable[[C], float],
                     extra: Sequence[tuple[str, Callable[[C], tuple[str, str]]]] = ()) -> Table:
    """The before/after table of held-out texts that ``extend-llama`` and ``extend`` print:
    a pair of columns a text, the shared figures, then ``extra`` rows; ``change`` is the relative
    change in tokens shown beside the count after."""
    table = Table(title=title)
    table.add_column("held-out")
    for c in comparisons:
        table.add_column(f"{c.name} before", justify="right")
        table.add_column(f"{c.name} after", justify="right")
    rows: list[tuple[str, Callable[[C], tuple[str, str]]]] = [
        ("lines", lambda c: (str(c.lines), "")),
        ("tokens", lambda c: (f"{c.tokens_before:,}", f"{c.tokens_after:,} ({change(c):+.1%})")),
        (HAN_TITLE, lambda c: (_fmt(c.tokens_per_han_before), _fmt(c.tokens_per_han_after))),
        ("bytes / token", lambda c: (_fmt(c.bytes_per_token_before, 2), _fmt(c.bytes_per_token_after, 2))),
        ("lines changed", lambda c: ("", str(c.changed_lines))),
        *extra,
    ]
    for label, cells in rows:
        table.add_row(label, *[v for c in comparisons for v in cells(c)])
    return table


def print_extend_report(run: ExtendRun) -> None:
    """Before/after table on held-out text, plus the merge counts."""
    summary = run.result.summary()
    console.print(comparison_table(
        f"extend-llama → {run.output}  ({summary['base_pieces']} → {summary['vocab_size']} pieces)",
        run.comparisons, lambda c: -c.token_reduction,
        [("tokenizer.json ≠ spm", lambda c: ("", "—" if c.hf_mismatch is None else str(c.hf_mismatch)))]))
    console.print(
        f"appended {summary['appended']} pieces ({summary['appended_from_zh']} from the Chinese model, "
        f"{summary['intermediates']} intermediates for reachability; "
        f"{summary['skipped']['overlap']} already in the base, {summary['skipped']['non_cjk']} non-CJK skipped, "
        f"{len(summary['dropped_unreachable'])} unreachable dropped); score policy "
        f"{summary['config']['score_policy']}; base ids 0–{summary['base_pieces'] - 1} unchanged",
        highlight=False, soft_wrap=True,  # one line, whatever the terminal width
    )
    if any(c.hf_mismatch for c in run.comparisons):
        console.print(
            "[yellow]warning: tokenizer.json differs from sentencepiece on some lines "
            "(score ties under --score-policy zero); use the default policy for exact parity[/]"
        )


@click.command("extend-llama")
@corpus_argument
@click.option("--base", required=True, type=click.Path(),
              help="LLaMA's tokenizer.model, or a transformers LLaMA tokenizer dir holding it.")
@click.option("--zh-vocab", type=int, is_flag=False, flag_value=DEFAULT_ZH_VOCAB, default=None,
              metavar="[N]",
              help=f"Train a Chinese sentencepiece model of N pieces [N: {DEFAULT_ZH_VOCAB}].")
@click.option("--zh-corpus", multiple=True, type=click.Path(), hidden=True,
              help="The old spelling of CORPUS.")
@click.option("--zh-model", type=click.Path(), default=None,
              help="Use this Chinese sentencepiece model instead of training one.")
@click.option("--zh-max-mb", type=float, default=None,
              help="Train on only the first N MB of the Chinese corpus (quick runs).")
@click.option("--only-cjk", is_flag=True,
              help="Append only pieces containing CJK characters, so English cannot change.")
@click.option("--score-policy", type=click.Choice(["below-base", "above-base", "zero"]),
              default=default_of(ExtendConfig, "score_policy"), show_default=True,
              help="Scores of new pieces (see docs/extend-llama.md); 'zero' reproduces Chinese-LLaMA.")
@click.option("--drop-unreachable", is_flag=True,
              help="Drop pieces BPE cannot produce instead of adding intermediate pieces.")
@click.option("--heldout-zh", multiple=True, type=click.Path(),
              help="Held-out Chinese for the before/after table [default: the sample held-out text].")
@click.option("--heldout-en", multiple=True, type=click.Path(),
              help="Held-out English for the before/after table [default: the sample held-out text].")
@click.option("--no-compare", is_flag=True, help="Skip the before/after table.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output dir [default: vocab/llama-zh-N].")
@click.option("--force", is_flag=True, help="Replace an existing output dir.")
@corpus_options
@click.pass_context
def extend_llama(ctx: click.Context, corpus: tuple[str, ...], base: str, zh_vocab: int | None, zh_corpus: tuple[str, ...],
                 zh_model: str | None, zh_max_mb: float | None, only_cjk: bool, score_policy: str,
                 drop_unreachable: bool, heldout_zh: tuple[str, ...], heldout_en: tuple[str, ...],
                 no_compare: bool, output: str | None, force: bool, split: str, text_field: str,
                 encoding_errors: str) -> None:
    """Extend LLaMA's tokenizer with Chinese pieces (the Chinese-LLaMA recipe).

    Trains a Chinese sentencepiece BPE model on CORPUS (Chinese text: files, dirs, globs; default:
    the sample zh corpus) or takes --zh-model, appends its pieces that the
    base lacks after id 31999 (base ids and scores unchanged), adds intermediate pieces so every
    new piece is reachable by BPE, and writes tokenizer.model plus a transformers tokenizer dir
    whose ids equal sentencepiece's. Prints a before/after table on held-out Chinese and English.

    \b
    Example:
      tokkit extend-llama zh/ --base llama/tokenizer.model --zh-vocab 20000 -o vocab/llama-zh
      tokkit extend-llama --base llama/ --zh-model zh.model --only-cjk -o vocab/llama-zh-cjk
    """
    from tokkit.llama.extend import ExtendConfig
    from tokkit.llama.recipe import extend_llama as run_extend
    from tokkit.llama.zh_model import ZhModelConfig

    zh_corpus = corpus + zh_corpus
    if zh_model is not None and (zh_vocab is not None or zh_corpus or zh_max_mb is not None):
        raise InputError("--zh-model takes an existing model; drop --zh-vocab, CORPUS and --zh-max-mb")
    if zh_max_mb is not None and zh_max_mb <= 0:
        raise InputError(f"--zh-max-mb {zh_max_mb} must be positive")
    vocab = zh_vocab if zh_vocab is not None else DEFAULT_ZH_VOCAB
    zh_config = None
    paths: list[str | Path] = []
    if zh_model is None:
        zh_config = ZhModelConfig(
            vocab_size=vocab,
            max_bytes=int(zh_max_mb * 2**20) if zh_max_mb is not None else None,
        )
        paths = list(zh_corpus) if zh_corpus else list(_catalog_paths("zh", "a Chinese CORPUS (files, dirs)"))
    config = ExtendConfig(
        score_policy=score_policy,  # type: ignore[arg-type]
        only_cjk=only_cjk,
        add_intermediates=not drop_unreachable,
    )
    out = Path(output) if output else Path("vocab") / f"llama-zh-{vocab}"
    with rich_progress(disable=quiet(ctx)) as progress:
        run = run_extend(
            base,
            out,
            zh_model=zh_model,
            zh_corpus=paths,
            zh_config=zh_config,
            config=config,
            heldout=_heldout(heldout_zh, heldout_en, no_compare),
            read_options=read_options(split, text_field, encoding_errors),
            force=force,
            progress=progress,
        )
    if not quiet(ctx):
        print_extend_report(run)


@click.command("resize-embeddings")
@click.option("--model", "model_dir", required=True, type=click.Path(),
              help="A transformers LLaMA checkpoint dir (config.json + safetensors).")
@click.option("-t", "--tokenizer", "tokenizer_dir", required=True, type=click.Path(),
              help="The extended tokenizer (an extend-llama or extend output dir).")
@click.option("-o", "--output", required=True, type=click.Path(), help="Output checkpoint dir.")
@click.option("--init", type=click.Choice(["subword-mean", "mean", "multivariate", "random"]), default=default_of(ResizeConfig, "init"),
              show_default=True,
              help="New rows: mean of the base rows of the token's base pieces, of all rows, transformers' multivariate sample, or random.")
@click.option("--pad-to-multiple-of", type=int, default=None,
              help="Round the embedding rows up to a multiple of N (e.g. 64).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --init random.")
@click.option("--head-init", type=click.Choice(["same", "silent"]), default=default_of(ResizeConfig, "head_init"), show_default=True,
              help="LM-head rows: as --init, or then moved so the base's loss on --calibration text "
                   "(its own domain, e.g. English) is unchanged to float precision (untied heads).")
@click.option("--calibration", "calibration_paths", multiple=True, type=click.Path(),
              help="Text files (one line per example) of the base model's own domain, for --head-init silent.")
@click.option("--calibration-lines", type=click.IntRange(min=1), default=200, show_default=True,
              help="Lines of --calibration run through the base model.")
@click.option("--force", is_flag=True, help="Replace an existing output dir.")
@click.pass_context
def resize_embeddings(ctx: click.Context, model_dir: str, tokenizer_dir: str, output: str, init: str,
                      pad_to_multiple_of: int | None, seed: int, head_init: str, calibration_paths: tuple[str, ...],
                      calibration_lines: int, force: bool) -> None:
    """Grow a LLaMA checkpoint's embeddings and LM head to an extended vocabulary.

    Base rows stay bit-identical (logits of base tokens are unchanged); new rows are initialised
    by --init. Tied and untied heads are handled. Writes config + safetensors and a copy of the
    tokenizer, so AutoModelForCausalLM and AutoTokenizer load OUT directly.

    \b
    Example:
      tokkit resize-embeddings --model llama-7b/ --tokenizer vocab/llama-zh -o llama-7b-zh/ \\
          --init subword-mean --pad-to-multiple-of 64
      tokkit resize-embeddings --model llama3-8b/ --tokenizer vocab/llama3-zh -o llama3-zh/ \\
          --head-init silent --calibration english.txt
    """
    from tokkit.llama.resize import ResizeConfig
    from tokkit.llama.resize import resize_embeddings as run_resize

    config = ResizeConfig(init=init, pad_to_multiple_of=pad_to_multiple_of, seed=seed,  # type: ignore[arg-type]
                          head_init=head_init)  # type: ignore[arg-type]
    if head_init == "silent" and not calibration_paths:
        raise InputError("--head-init silent needs --calibration FILE (text of the base model's own domain)")
    calibration: list[str] = []
    if calibration_paths:
        from tokkit.corpus.readers import ReadOptions, read_texts

        for line in read_texts(list(calibration_paths), ReadOptions(split="line")):
            if line.strip():
                calibration.append(line)
            if len(calibration) >= calibration_lines:
                break
    with console.status("resizing embeddings", spinner="dots") if not quiet(ctx) else nullcontext():
        report = run_resize(model_dir, tokenizer_dir, output, config=config, calibration=calibration, force=force)
    if not quiet(ctx):
        table = Table(title=f"resize-embeddings → {report.output}", show_header=False)
        table.add_row("embedding rows", f"{report.base_rows:,} → {report.new_rows:,}")
        table.add_row("tokenizer pieces", f"{report.tokenizer_size:,}")
        table.add_row("LM head", "tied" if report.tied else "untied (resized too)")
        table.add_row("init", report.init)
        if report.silent:
            table.add_row("head", f"silent on {report.silent['positions']:,} calibration positions "
                                  f"(new logits ≤ {report.silent['worst_gap']:.1f} nats vs the base normaliser; "
                                  f"{report.silent['against']} positions not reachable)")
        table.add_row("dtype", report.dtype)
        table.add_row("time", f"{report.seconds:.1f} s")
        console.print(table)

