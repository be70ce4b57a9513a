"""The CLI's progress bars: byte-counting tasks read in MB, others as counts."""

from __future__ import annotations

import io

from rich.console import Console

from tokkit import progress as progress_module
from tokkit.progress import NULL_PROGRESS, rich_progress


def test_bytes_show_as_megabytes_and_counts_as_counts(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr(progress_module, "console", Console(file=out, width=200, force_terminal=False))
    with rich_progress() as bars:
        read = bars.task("reading corpus", total=3_000_000, unit="bytes")
        read.advance(1_500_000)
        merges = bars.task("merging pairs", total=31_744)
        merges.advance(12_000)
        open_ended = bars.task("counting words")
        open_ended.advance(7)
    shown = out.getvalue()
    assert "1.5/3.0 MB" in shown and "12,000/31,744" in shown
    # no total: the count alone, after the bar
    line = next(line for line in shown.splitlines() if "counting words" in line)
    assert line.split()[3] == "7"


def test_null_progress_takes_the_same_arguments() -> None:
    task = NULL_PROGRESS.task("anything", 10, unit="bytes")
    task.advance(3)
    task.update_total(None)


def test_bars_start_no_thread_so_worker_pools_fork() -> None:
    """rich's refresh thread would make pool_context fall back to forkserver (a fresh interpreter
    per worker, seconds of start-up) in every CLI command; the bars are redrawn by the work."""
    import multiprocessing
    import threading

    from tokkit.pool import pool_context

    before = threading.active_count()  # other tests (Ray) may have left threads running
    with rich_progress(disable=False) as bars:
        bars.task("reading", 10).advance(3)
        assert threading.active_count() == before
        if before == 1 and "fork" in multiprocessing.get_all_start_methods():
            assert pool_context().get_start_method() == "fork"
