"""``tokkit pipeline``: the whole job end to end on the sample corpora (the README's main command)."""

from __future__ import annotations

import os

import click
from rich.table import Table

from tokkit.cli.common import quiet
from tokkit.cli.interrupt import say_on_interrupt
from tokkit.progress import console, rich_progress


@click.command("pipeline")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "run_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory [default: the config's run_dir, else runs/pipeline].")
@click.option("--run-dir", "old_run_dir", type=click.Path(file_okay=False), default=None, hidden=True,
              help="The old spelling of -o/--output.")
@click.option("--force", is_flag=True, help="Delete an existing run dir and start over.")
@click.pass_context
def pipeline(ctx: click.Context, config_file: str | None, run_dir: str | None, old_run_dir: str | None,
             force: bool) -> None:
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
    run_dir = run_dir or old_run_dir
    if run_dir:
        config = replace(config, run_dir=run_dir)
    silent = quiet(ctx)
    finished: list[str] = []
    say_on_interrupt(lambda: _what_is_kept(config.run_dir, finished))
    # one display: the libraries' own tqdm bars (transformers, huggingface_hub) would interleave
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    with rich_progress(disable=silent) as progress:

        def announce(result: StageResult) -> None:
            finished.append(result.name)
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


def _what_is_kept(run_dir: str, finished: list[str]) -> str:
    """The Ctrl-C line: finished stages stay in the run dir and a re-run reuses them; the stage
    that was running left nothing (its output is written atomically) and starts again."""
    if not finished:
        return (f"interrupted before the first stage finished; nothing is kept in {run_dir} "
                "(re-run to start again)")
    return (f"interrupted; {run_dir} keeps the {len(finished)} finished stages ({', '.join(finished)}): "
            "re-running it (without --force) resumes after them (the stage that was running starts again, "
            "or from the checkpoint or finished shards it kept)")
