"""``tokkit pipeline`` end to end with its default config: seconds per stage against the 10-minute
target on a fresh clone (the default test suite runs only a marked-slow tiny version of it).

    python benchmarks/bench_pipeline.py                 # default config, temp run dir
    python benchmarks/bench_pipeline.py my-run.toml     # any config
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

TARGET_SECONDS = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", help="A pipeline TOML [default: the built-in defaults].")
    args = parser.parse_args()
    console = Console()

    from tokkit.pipeline import PipelineConfig, StageResult, run_pipeline, stage_summary

    config = PipelineConfig.load(args.config) if args.config else PipelineConfig()
    with tempfile.TemporaryDirectory(prefix="bench_pipeline.") as tmp:
        config = replace(config, run_dir=str(Path(tmp) / "run"))

        def show(result: StageResult) -> None:
            console.print(f"{result.name:<8} {result.seconds:7.1f} s  {stage_summary(result)}", highlight=False)

        start = time.perf_counter()
        result = run_pipeline(config, on_stage=show)
        total = time.perf_counter() - start
    table = Table(title="tokkit pipeline (default config)" if not args.config else f"tokkit pipeline {args.config}")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    for stage in result.stages:
        table.add_row(stage.name, f"{stage.seconds:,.1f}", f"{100 * stage.seconds / total:.0f}%")
    table.add_row("[bold]total[/]", f"[bold]{total:,.1f}[/]", f"target ≤ {TARGET_SECONDS:.0f} s")
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS {peak:,.0f} MB; {'within' if total <= TARGET_SECONDS else 'OVER'} the target. "
                  "Timings on a shared machine are noisy.")


if __name__ == "__main__":
    main()
