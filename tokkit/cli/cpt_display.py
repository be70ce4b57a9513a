"""``tokkit cpt``'s live line on stderr: step n/N, loss, val loss, lr, tokens/s, elapsed, ETA.

A :class:`~tokkit.cpt.steps.StepWatch`: the library reports, the command draws. ``partial`` moves
the bar within a step (per micro-batch), so the ETA appears long before a slow first step ends; a
finished bar stops its clock.
"""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _Bar

from tokkit.progress import console


class LiveLine:
    """The rich line of one run (nothing is drawn before :meth:`begin` nor after :meth:`end`)."""

    def __init__(self) -> None:
        self._bar = _Bar(
            TextColumn("[bold]cpt[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss [cyan]{task.fields[loss]}[/] val [magenta]{task.fields[val]}[/] "
                       "lr {task.fields[lr]} [green]{task.fields[tps]}[/] tok/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def begin(self, *, total: int, start: int) -> None:
        self._task = self._bar.add_task("cpt", total=total, completed=start, loss="—", val="—", lr="—", tps="—")
        self._bar.start()

    def partial(self, steps: float) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=steps)

    def update(self, *, step: int, loss: float | None = None, val: float | None = None,
               lr: float | None = None, tokens_per_s: float | None = None) -> None:
        if self._task is None:
            return
        fields: dict[str, str] = {}
        if loss is not None:
            fields["loss"] = f"{loss:.4f}"
        if val is not None:
            fields["val"] = f"{val:.4f}"
        if lr is not None:
            fields["lr"] = f"{lr:.2e}"
        if tokens_per_s is not None:
            fields["tps"] = f"{tokens_per_s:,.0f}"
        self._bar.update(self._task, completed=step, **fields)  # type: ignore[arg-type]

    def end(self) -> None:
        self._bar.stop()
