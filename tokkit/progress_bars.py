"""The rich bars that draw :class:`tokkit.types.Progress` on stderr: the CLI's display.

Bars tell the truth about time: a bar's elapsed time stops at its last update, so a stage that
finished in 3 s keeps showing 3 s while later stages run (rich's own column keeps counting until
the display closes). A *phase* (``unit=PHASE``: a library training in native code, reporting
nothing) shows its elapsed time live, redrawn every second, until its task is advanced once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichProgressBar
from rich.text import Text

from tokkit.progress import PHASE

if TYPE_CHECKING:
    from tokkit.types import ProgressTask

console = Console(stderr=True)
"""The one console for messages and bars; stdout stays clean for data (e.g. JSON)."""


REFRESH_SECONDS = 0.1
"""Bars are redrawn when work advances, at most this often."""

PHASE_TICK_SECONDS = 1.0
"""How often an open phase redraws itself."""


@dataclass
class _RichTask:
    owner: RichProgress
    id: TaskID

    def advance(self, n: int = 1) -> None:
        bar = self.owner.bar
        if bar.tasks[self._index()].fields.get("unit") == PHASE:
            bar.update(self.id, total=1, completed=1, seen=bar.get_time())
            self.owner.phase_ended()
            self.owner.refresh(force=True)
            return
        bar.update(self.id, advance=n, seen=bar.get_time())
        self.owner.refresh()

    def update_total(self, total: int | None) -> None:
        self.owner.bar.update(self.id, total=total, seen=self.owner.bar.get_time())
        self.owner.refresh(force=True)

    def _index(self) -> int:
        return next(i for i, task in enumerate(self.owner.bar.tasks) if task.id == self.id)


class RichProgress:
    """A :class:`Progress` drawn with rich bars on stderr.

    Redrawn by the work itself, not by rich's refresh thread: with no thread running, worker pools
    start by fork (:func:`tokkit.pool.pool_context`), which is cheaper and shares the parent's
    memory. A task that never advances (a library's own training) shows no elapsed time until it
    ends.
    """

    def __init__(self, bar: _RichProgressBar) -> None:
        self.bar = bar
        self._drawn = 0.0
        self._lock = threading.Lock()
        self._phases = 0
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask:
        task = _RichTask(self, self.bar.add_task(description, total=total, unit=unit, seen=None))
        if unit == PHASE:
            self._phase_started()
        self.refresh(force=True)
        return task

    def clear(self) -> None:
        """Drop every bar from the display (a stage is over and said so in a line of its own), so
        that closing the display does not print them all again."""
        for task in list(self.bar.tasks):
            self.bar.remove_task(task.id)
        self.refresh(force=True)

    def _phase_started(self) -> None:
        """Redraw once a second while a phase is open: the library reports nothing meanwhile.

        The only thread the bars ever start, and only around native training (no worker pool is
        started then, so ``pool_context`` still forks everywhere else)."""
        with self._lock:
            self._phases += 1
            if self._ticker is None:
                self._stop.clear()
                self._ticker = threading.Thread(target=self._tick, name="tokkit-phase-ticker", daemon=True)
                self._ticker.start()

    def phase_ended(self) -> None:
        with self._lock:
            self._phases = max(0, self._phases - 1)
            if self._phases == 0 and self._ticker is not None:
                self._stop.set()
                self._ticker = None

    def _tick(self) -> None:
        while not self._stop.wait(PHASE_TICK_SECONDS):
            self.refresh(force=True)

    def close(self) -> None:
        self._stop.set()

    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._drawn >= REFRESH_SECONDS:
            self._drawn = now
            self.bar.refresh()


class _ElapsedColumn(ProgressColumn):
    """Elapsed time up to the task's last update (or now, for an open phase): frozen once the work
    stops, however long the display stays open."""

    def render(self, task: Task) -> Text:
        if task.start_time is None:
            return Text("-:--:--", style="progress.elapsed")
        if task.fields.get("unit") == PHASE and not task.finished:
            end = task.get_time()
        else:
            seen = task.fields.get("seen")
            end = task.start_time if seen is None else seen
        elapsed = timedelta(seconds=int(max(0.0, end - task.start_time)))
        return Text(str(elapsed), style="progress.elapsed")


class _AmountColumn(ProgressColumn):
    """``done/total``: in MB for tasks that count bytes (``unit="bytes"``), else as counts."""

    def render(self, task: Task) -> Text:
        done, total = int(task.completed), task.total
        if task.fields.get("unit") == PHASE:  # nothing to count: the elapsed time says it all
            return Text("")
        if task.fields.get("unit") == "bytes":
            shown = f"{done / 1e6:,.1f}" + ("" if total is None else f"/{total / 1e6:,.1f}") + " MB"
        else:
            shown = f"{done:,}" + ("" if total is None else f"/{int(total):,}")
        return Text(shown, style="progress.download")


@contextmanager
def rich_progress(*, disable: bool = False) -> Iterator[RichProgress]:
    """Open a live rich progress display for the duration of the block."""
    bar = _RichProgressBar(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        _AmountColumn(),
        _ElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=disable,
        auto_refresh=False,
    )
    progress = RichProgress(bar)
    try:
        with bar:
            yield progress
    finally:
        progress.close()


