"""Progress reporting that the library can call without knowing about terminals.

Library functions take an optional :class:`tokkit.types.Progress`; :data:`NULL_PROGRESS`
swallows updates; :class:`NativePhase` opens a *phase* (``unit=PHASE``) around a library's
native training. The bars that draw them are :mod:`tokkit.progress_bars` (rich), the CLI's
choice: importing this module loads no rich, so neither does any library module that reports
progress (``tests/test_package.py``). ``console``, ``rich_progress`` and ``RichProgress`` are
forwarded from there on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tokkit.types import Progress, ProgressTask

T = TypeVar("T")


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass

    def update_total(self, total: int | None) -> None:
        pass


class _NullProgress:
    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask:
        return _NullTask()


NULL_PROGRESS: Progress = _NullProgress()


PHASE = "phase"
"""The ``unit`` of a task that cannot count its work (a library's native training): it shows
a live elapsed time, and ends (freezes) when advanced once."""


_BARS = ("console", "rich_progress", "RichProgress", "REFRESH_SECONDS", "PHASE_TICK_SECONDS")


def __getattr__(name: str) -> Any:
    """The rich display's names, imported only when asked for (the CLI asks; the library never)."""
    if name in _BARS:
        from tokkit import progress_bars

        return getattr(progress_bars, name)
    raise AttributeError(f"module 'tokkit.progress' has no attribute {name!r}")


class NativePhase:
    """A library that trains in native code after it has read its input: :meth:`feed` passes the
    input through, then opens a live phase (elapsed time, redrawn every second) that :meth:`end`
    closes, so a silent wait of minutes is never a frozen screen.

    >>> phase = NativePhase(NULL_PROGRESS, "training in sentencepiece")
    >>> list(phase.feed(["a", "b"])); phase.end()
    ['a', 'b']
    """

    def __init__(self, progress: Progress, description: str) -> None:
        self.progress = progress
        self.description = description
        self._task: ProgressTask | None = None

    def feed(self, items: Iterable[T]) -> Iterator[T]:
        yield from items
        if self._task is None:
            self._task = self.progress.task(self.description, unit=PHASE)

    def end(self) -> None:
        if self._task is not None:
            self._task.advance()
            self._task = None
