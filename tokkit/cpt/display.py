"""What a training run shows and keeps: a live rich line on stderr and a JSONL log on disk.

The log (``log.jsonl``, one JSON object per line with an ``event`` of ``train``, ``val``,
``checkpoint`` or ``done``) is the record a plotting script or a dashboard reads; the display is for
the person watching. On resume the log is cut back to the checkpoint's step so it never shows the
same step twice; a torn last line (a kill mid-write) is dropped there, and the cut-back log is
written whole or not at all.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _Bar

from tokkit.atomic import atomic_file
from tokkit.errors import InputError
from tokkit.progress import console

if TYPE_CHECKING:
    from tokkit.types import Progress, ProgressTask

log = logging.getLogger("tokkit")

LOG_FILE = "log.jsonl"


def _records(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """``(line, record)`` pairs of a log, and whether a torn last line was dropped.

    Only the last line may be torn (records are appended and flushed one by one); a bad line
    anywhere else means the file was edited, and is an :class:`InputError`.
    """
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    records: list[tuple[str, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            if number == len(lines):
                return records, True
            raise InputError(f"{path}: line {number} is not a JSON record; delete that line (or the "
                             "whole log, which only records the run) and resume again")
        records.append((line, record))
    return records, False


class JsonlLog:
    """Append-only JSONL records, flushed per line."""

    def __init__(self, path: Path, *, resume_step: int | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and path.exists():
            records, torn = _records(path)
            if torn:
                log.warning("%s: dropped its torn last line (the run was stopped mid-write)", path)
            with atomic_file(path, encoding="utf-8") as f:
                f.writelines(line + "\n" for line, record in records if _step(record) <= resume_step)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, event: str, **record: Any) -> None:
        self._file.write(json.dumps({"event": event, **record}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _step(record: dict[str, Any]) -> int:
    step = record.get("step", 0)
    return step if isinstance(step, int) else 0


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``log.jsonl``, without a torn last line."""
    return [record for _, record in _records(Path(path))[0]]


class StepDisplay:
    """Training steps as one bar: on ``progress`` when given (a pipeline's display, as every stage
    reports), else cpt's own rich line on stderr (step n/N, loss, val loss, lr, tokens/s, elapsed,
    ETA) when ``enabled``.

    :meth:`partial` moves the bar within a step (per micro-batch), so the ETA appears long before a
    slow first step ends; a finished bar stops its clock.
    """

    def __init__(self, *, total: int, start: int, enabled: bool, progress: Progress | None = None) -> None:
        self._task: ProgressTask | None = None
        self._done = start
        if progress is not None:
            self._task = progress.task("cpt steps" + (f" (from {start:,})" if start else ""), total=total - start)
            enabled = False
        self._bar = _Bar(
            TextColumn("[bold]cpt[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss [cyan]{task.fields[loss]}[/] val [magenta]{task.fields[val]}[/] "
                       "lr {task.fields[lr]} [green]{task.fields[tps]}[/] tok/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._bar_task = self._bar.add_task("cpt", total=total, completed=start,
                                            loss="—", val="—", lr="—", tps="—")

    def __enter__(self) -> StepDisplay:
        self._bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bar.__exit__(kind, value, tb)

    def partial(self, steps: float) -> None:
        """Progress inside a step (``steps`` is fractional); only the bar moves."""
        self._bar.update(self._bar_task, completed=steps)

    def update(self, *, step: int, loss: float | None = None, val: float | None = None,
               lr: float | None = None, tokens_per_s: float | None = None) -> None:
        fields: dict[str, str] = {}
        if loss is not None:
            fields["loss"] = f"{loss:.4f}"
        if val is not None:
            fields["val"] = f"{val:.4f}"
        if lr is not None:
            fields["lr"] = f"{lr:.2e}"
        if tokens_per_s is not None:
            fields["tps"] = f"{tokens_per_s:,.0f}"
        self._bar.update(self._bar_task, completed=step, **fields)  # type: ignore[arg-type]
        if self._task is not None and step > self._done:
            self._task.advance(step - self._done)
        self._done = max(self._done, step)
