"""``tokkit dedup``: remove exact and near-duplicate documents from a corpus."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from tokkit.cli.common import default_of, make_corpus_options, quiet
from tokkit.cli.engine import Engine, engine_options
from tokkit.dedup.config import DedupConfig
from tokkit.progress import console, rich_progress


def print_report(report: object) -> None:
    """The end-of-run table."""
    from tokkit.dedup.pipeline import DedupReport
    from tokkit.dedup.summary import summary_line

    assert isinstance(report, DedupReport)
    m = report.manifest
    c, b, cfg = m["counts"], m["bytes"], m["config"]
    table = Table(title=f"dedup → {report.output}", show_header=False,
                  caption=summary_line(c, granularity=cfg["granularity"],
                                       near_min_words=cfg.get("near_min_words")))
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    mb_in = b["in"] / 1e6
    rows = [
        ("input", f"{mb_in:,.1f} MB, {c['files']:,} files, {c['documents']:,} {cfg['granularity']}s"),
        ("kept", f"{c['kept']:,} ({c['kept'] / max(1, c['documents']):.1%}), {b['out'] / 1e6:,.1f} MB"),
        ("removed: exact", f"{c['removed_exact']:,}"),
        ("removed: near", f"{c['removed_near']:,}"),
        ("duplicate clusters", f"{c['clusters']:,}"),
        ("LSH", f"{m['lsh']['bands']} bands x {m['lsh']['rows']} rows, threshold {cfg['threshold']}, "
                f"verified by {cfg['verify']} Jaccard"),
        ("candidate / verified pairs", f"{c['candidate_pairs']:,} / {c['verified_pairs']:,}"),
        ("time", f"{report.seconds:,.1f} s (signatures {report.pass1_seconds:,.1f} s, "
                 f"clusters {report.cluster_seconds:,.1f} s, writing {report.pass2_seconds:,.1f} s)"),
        ("throughput", f"{c['documents'] / max(report.seconds, 1e-9):,.0f} docs/s, "
                       f"{mb_in / max(report.seconds, 1e-9):,.1f} MB/s"),
        ("peak memory", f"{report.peak_rss_mb:,.0f} MiB"),
    ]
    if c["legacy_decoded_files"]:
        rows.append(("decoded as Latin-1", f"{c['legacy_decoded_files']:,} files (see warnings)"))
    skipped = sum(v for k, v in m["read"].items() if k.startswith("skipped_") and isinstance(v, int))
    if skipped:
        rows.append(("skipped", f"{skipped:,} files/units (see warnings)"))
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)


@click.command("dedup")
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Output directory: kept documents, removed.jsonl, manifest.json.")
@click.option("--threshold", type=float, default=default_of(DedupConfig, "threshold"), show_default=True,
              help="Estimated Jaccard similarity of shingle sets from which documents are near-duplicates.")
@click.option("--num-perm", type=int, default=default_of(DedupConfig, "num_perm"), show_default=True, help="MinHash permutations.")
@click.option("--ngram", type=int, default=default_of(DedupConfig, "ngram"), show_default=True, help="Units per shingle.")
@click.option("--unit", type=click.Choice(["auto", "char", "word"]), default=default_of(DedupConfig, "unit"), show_default=True,
              help="Shingle unit; auto: characters for CJK-heavy documents, words otherwise.")
@click.option("--granularity", type=click.Choice(["document", "paragraph"]), default=default_of(DedupConfig, "granularity"),
              show_default=True,
              help="Text files: dedup whole files or blank-line paragraphs (records of jsonl/parquet "
                   "are always one document).")
@click.option("--keep", type=click.Choice(["first", "longest"]), default=default_of(DedupConfig, "keep"), show_default=True,
              help="Which document of a duplicate cluster survives (ties: the first).")
@click.option("--seed", type=int, default=default_of(DedupConfig, "seed"), show_default=True, help="MinHash permutation seed.")
@click.option("--min-length", type=click.IntRange(min=0), default=default_of(DedupConfig, "min_length"), show_default=True,
              help="Never remove documents shorter than this many characters (stock lines such as "
                   "'CHAPTER I' at paragraph granularity).")
@click.option("--near-min-words", type=click.IntRange(min=0), default=default_of(DedupConfig, "near_min_words"), show_default=True,
              help="Documents of fewer words (a CJK character is one) are only exact-deduplicated: "
                   "a near-duplicate test on a few words is noise ('    CHAPTER XIII' vs 'Chapter XIII').")
@click.option("--lowercase", is_flag=True, help="Exact dedup ignores case too.")
@click.option("--no-exact", is_flag=True, help="Skip exact dedup (near dedup still merges identical texts).")
@click.option("--no-near", is_flag=True, help="Only exact dedup.")
@click.option("--verify", type=click.Choice(["exact", "estimate"]), default=default_of(DedupConfig, "verify"), show_default=True,
              help="Confirm LSH candidates by exact shingle-set Jaccard or by the MinHash estimate.")
@click.option("--bands", type=int, default=None, help="LSH bands [default: datasketch's optimum].")
@click.option("--rows", type=int, default=None, help="LSH rows per band (with --bands).")
@make_corpus_options(split=False, max_document=False, encodings=("strict", "replace", "skip", "latin1"),
                     encoding_help="Invalid UTF-8: stop; replace with U+FFFD; skip the unit; or (latin1) "
                                   "decode such text files as Windows-1252/Latin-1 (old editions), other "
                                   "records with replace.")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@engine_options(shuffle=True)
@click.pass_context
def dedup(ctx: click.Context, corpus: tuple[str, ...], output: str, threshold: float, num_perm: int,
          ngram: int, unit: str, granularity: str, keep: str, seed: int, min_length: int,
          near_min_words: int, lowercase: bool,
          no_exact: bool, no_near: bool, verify: str, bands: int | None, rows: int | None, text_field: str,
          encoding_errors: str, force: bool, engine: Engine) -> None:
    """Remove exact and near-duplicate documents from CORPUS (files, directories, globs).

    Exact: identical text after NFKC, whitespace collapsing (and --lowercase). Near: MinHash over
    word or character n-grams, LSH bands, estimated Jaccard >= --threshold, clusters by
    union-find; one document per cluster is kept. Kept documents are written in their input's
    format under -o (same relative paths), with removed.jsonl (id, cluster, kept twin,
    similarity, reason) and manifest.json. Nothing is written unless the run completes.

    \b
    Examples:
      tokkit dedup corpus/ -o corpus-dedup/
      tokkit dedup books/ -o books-dedup/ --encoding-errors latin1 --threshold 0.7
      tokkit dedup data/*.jsonl.gz --text-field content --granularity paragraph -o out/
      tokkit dedup /shared/corpus/ -o /shared/dedup/ --engine ray --ray-address auto
    """
    from tokkit.errors import EncodingError, InputError

    config = DedupConfig(threshold=threshold, num_perm=num_perm, ngram=ngram, unit=unit,  # type: ignore[arg-type]
                         granularity=granularity, keep=keep, seed=seed,  # type: ignore[arg-type]
                         min_length=min_length, near_min_words=near_min_words, lowercase=lowercase, exact=not no_exact, near=not no_near,
                         verify=verify, bands=bands, rows=rows).check()  # type: ignore[arg-type]
    try:
        with rich_progress(disable=quiet(ctx)) as progress:
            report = engine.dedup(list(corpus), Path(output), config=config, text_field=text_field,
                                  encoding_errors=encoding_errors, force=force,
                                  progress=progress)
    except EncodingError as err:  # dedup has one more way out: old Latin-1 editions
        raise InputError(f"{err} (or latin1 for Latin-1/Windows-1252 text files)") from None
    if not quiet(ctx):
        print_report(report)
    click.echo(str(report.output))
