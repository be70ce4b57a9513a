"""``tokkit pipeline``: the whole job end to end on the sample corpora (the README's main command)."""

from __future__ import annotations

import os

import click
from rich.table import Table

from tokkit.cli.common import quiet
from tokkit.progress import console, rich_progress


@click.command("pipeline")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--run-dir", type=click.Path(file_okay=False), default=None,
              help="Run directory [default: the config's run_dir, else runs/pipeline].")
@click.option("--force", is_flag=True, help="Delete an existing run dir and start over.")
@click.pass_context
def pipeline(ctx: click.Context, config_file: str | None, run_dir: str | None, force: bool) -> None:
    """Run dedup → train → extend → analyze → tiny model → resize → shard → CPT end to end.

    Every stage's output lands in a numbered folder of the run dir, with report.md/report.json
    at the end. Without CONFIG_FILE, runs on the en + zh sample corpora with small settings
    (minutes on a laptop CPU); docs/cpt.md lists every setting. Re-running with the same config
    reuses finished stages.

    \b
    Examples:
      tokkit pipeline
      tokkit pipeline my-run.toml -o runs/big --force
    """
    from dataclasses import replace

    from tokkit.pipeline import PipelineConfig, StageResult, run_pipeline, stage_summary

    config = PipelineConfig.load(config_file) if config_file else PipelineConfig()
    if run_dir:
        config = replace(config, run_dir=run_dir)
    silent = quiet(ctx)
    # one display: the libraries' own tqdm bars (transformers, huggingface_hub) would interleave
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    with rich_progress(disable=silent) as progress:

        def announce(result: StageResult) -> None:
            progress.clear()  # the stage's bars go: its ✓ line says how it went, once
            if not silent:
                how = "reused" if result.reused else f"{result.seconds:,.1f} s"
                console.print(f"[bold green]✓[/] {result.name:<8} [dim]{how}[/]  {stage_summary(result)}",
                              highlight=False)

        result = run_pipeline(config, force=force, progress=progress, on_stage=announce)
    if not silent:
        table = Table(title=f"pipeline → {result.run_dir} ({result.seconds:,.0f} s)")
        for column in ("stage", "output", "seconds"):
            table.add_column(column, justify="right" if column == "seconds" else "left")
        for stage in result.stages:
            table.add_row(stage.name, stage.output, f"{stage.seconds:,.1f}" + (" (reused)" if stage.reused else ""))
        console.print(table)
        console.print(f"report: {result.report}")
    click.echo(str(result.report))
