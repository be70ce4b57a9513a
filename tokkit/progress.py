"""Progress reporting that the library can call without knowing about terminals.

Library functions take an optional :class:`tokkit.types.Progress`; :data:`NULL_PROGRESS`
swallows updates, :class:`RichProgress` draws bars (the CLI's choice).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichProgressBar
from rich.text import Text

if TYPE_CHECKING:
    from tokkit.types import Progress, ProgressTask

console = Console(stderr=True)
"""The one console for messages and bars; stdout stays clean for data (e.g. JSON)."""


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass

    def update_total(self, total: int | None) -> None:
        pass


class _NullProgress:
    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask:
        return _NullTask()


NULL_PROGRESS: Progress = _NullProgress()


REFRESH_SECONDS = 0.1
"""Bars are redrawn when work advances, at most this often."""


@dataclass
class _RichTask:
    owner: RichProgress
    id: TaskID

    def advance(self, n: int = 1) -> None:
        self.owner.bar.advance(self.id, n)
        self.owner.refresh()

    def update_total(self, total: int | None) -> None:
        self.owner.bar.update(self.id, total=total)
        self.owner.refresh(force=True)


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

    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask:
        task = _RichTask(self, self.bar.add_task(description, total=total, unit=unit))
        self.refresh(force=True)
        return task

    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._drawn >= REFRESH_SECONDS:
            self._drawn = now
            self.bar.refresh()


class _AmountColumn(ProgressColumn):
    """``done/total``: in MB for tasks that count bytes (``unit="bytes"``), else as counts."""

    def render(self, task: Task) -> Text:
        done, total = int(task.completed), task.total
        if task.fields.get("unit") == "bytes":
            shown = f"{done / 1e6:,.1f}" + ("" if total is None else f"/{total / 1e6:,.1f}") + " MB"
        else:
            shown = f"{done:,}" + ("" if total is None else f"/{int(total):,}")
        return Text(shown, style="progress.download")


@contextmanager
def rich_progress(*, disable: bool = False) -> Iterator[Progress]:
    """Open a live rich progress display for the duration of the block."""
    bar = _RichProgressBar(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        _AmountColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=disable,
        auto_refresh=False,
    )
    with bar:
        yield RichProgress(bar)
