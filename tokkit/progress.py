"""Progress reporting that the library can call without knowing about terminals.

Library functions take an optional :class:`tokkit.types.Progress`; :data:`NULL_PROGRESS`
swallows updates, :class:`RichProgress` draws bars (the CLI's choice).
"""

from __future__ import annotations

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


@dataclass
class _RichTask:
    bar: _RichProgressBar
    id: TaskID

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.id, n)

    def update_total(self, total: int | None) -> None:
        self.bar.update(self.id, total=total)


class RichProgress:
    """A :class:`Progress` drawn with rich bars on stderr."""

    def __init__(self, bar: _RichProgressBar) -> None:
        self._bar = bar

    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask:
        return _RichTask(self._bar, self._bar.add_task(description, total=total, unit=unit))


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
    )
    with bar:
        yield RichProgress(bar)
