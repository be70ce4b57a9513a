"""The CLI's progress bars: byte-counting tasks read in MB, others as counts."""

from __future__ import annotations

import io
import threading
import time

from rich.console import Console

from tokkit import progress_bars as progress_module
from tokkit.progress import NULL_PROGRESS, NativePhase
from tokkit.progress_bars import rich_progress


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


def _terminal(monkeypatch) -> io.StringIO:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr(progress_module, "console", Console(file=out, width=200, force_terminal=True))
    return out


def test_a_finished_bar_stops_counting_time(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A stage done in no time still shows 0:00:00 when the display closes 1.2 s later."""
    out = _terminal(monkeypatch)
    with rich_progress() as bars:
        bars.task("counting chunks", unit="bytes").advance(1_000_000)
        time.sleep(1.2)
        bars.task("merging pairs", total=10).advance(10)
    last = [line for line in out.getvalue().splitlines() if "counting chunks" in line][-1]
    assert "0:00:00" in last and "0:00:01" not in last, last


def test_a_native_phase_shows_live_elapsed_time_then_freezes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """sentencepiece/tokenizers report nothing while they train: the phase redraws itself."""
    out = _terminal(monkeypatch)
    with rich_progress() as bars:
        phase = NativePhase(bars, "training in sentencepiece")
        assert list(phase.feed(["a", "b"])) == ["a", "b"]
        time.sleep(2.3)
        live = out.getvalue()  # drawn by the ticker alone: nothing advanced meanwhile
        phase.end()
        time.sleep(1.2)
    assert "0:00:02" in live
    assert "training in" in out.getvalue()
    assert threading.active_count() == 1 or not any(t.name == "tokkit-phase-ticker" for t in threading.enumerate())
    last = [line for line in out.getvalue().splitlines() if "training in" in line][-1]
    assert "0:00:02" in last and "0:00:03" not in last, last


def test_clear_drops_finished_stages_so_closing_does_not_print_them_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr(progress_module, "console", Console(file=out, width=200, force_terminal=False))
    with rich_progress() as bars:
        bars.task("stage one", total=2).advance(2)
        bars.clear()
        bars.task("stage two", total=2).advance(2)
    assert "stage two" in out.getvalue() and "stage one" not in out.getvalue()
