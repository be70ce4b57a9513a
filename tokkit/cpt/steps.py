"""How a cpt run reports its steps: to ``progress`` like every stage, and to a watcher for more.

The library draws nothing itself. Steps advance one ``"cpt steps"`` task of the caller's
:class:`~tokkit.types.Progress` (the pipeline's bars, the CLI's); a :class:`StepWatch` (the
``tokkit cpt`` command's live line) also gets the figures a bar has no room for: loss, val loss,
learning rate, tokens/s, and progress within a step.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from tokkit.types import Progress, ProgressTask


class StepWatch(Protocol):
    """Told about every step of a run; ``partial`` moves within a step (per micro-batch)."""

    def begin(self, *, total: int, start: int) -> None: ...

    def partial(self, steps: float) -> None: ...

    def update(self, *, step: int, loss: float | None = None, val: float | None = None,
               lr: float | None = None, tokens_per_s: float | None = None) -> None: ...

    def end(self) -> None: ...


class StepReport:
    """One run's reporting: whole steps to ``progress``, everything to ``watch``; a context manager."""

    def __init__(self, *, total: int, start: int, progress: Progress | None = None,
                 watch: StepWatch | None = None) -> None:
        self._total, self._start, self._done = total, start, start
        self._task: ProgressTask | None = None if progress is None else \
            progress.task("cpt steps" + (f" (from {start:,})" if start else ""), total=total - start)
        self._watch = watch

    def __enter__(self) -> StepReport:
        if self._watch is not None:
            self._watch.begin(total=self._total, start=self._start)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._watch is not None:
            self._watch.end()

    def partial(self, steps: float) -> None:
        if self._watch is not None:
            self._watch.partial(steps)

    def update(self, *, step: int, loss: float | None = None, val: float | None = None,
               lr: float | None = None, tokens_per_s: float | None = None) -> None:
        if step > self._done:
            if self._task is not None:
                self._task.advance(step - self._done)
            self._done = step
        if self._watch is not None:
            self._watch.update(step=step, loss=loss, val=val, lr=lr, tokens_per_s=tokens_per_s)
