"""What a training run shows and keeps: a live rich line on stderr and a JSONL log on disk.

The log (``log.jsonl``, one JSON object per line with an ``event`` of ``train``, ``val``,
``checkpoint`` or ``done``) is the record a plotting script or a dashboard reads; the display is for
the person watching. On resume the log is cut back to the checkpoint's step so it never shows the
same step twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _Bar

from tokkit.progress import console

LOG_FILE = "log.jsonl"


class JsonlLog:
    """Append-only JSONL records, flushed per line."""

    def __init__(self, path: Path, *, resume_step: int | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and path.exists():
            keep = [
                line for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, event: str, **record: Any) -> None:
        self._file.write(json.dumps({"event": event, **record}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_log(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


class LiveDisplay:
    """One bar: step n/N, loss, val loss, learning rate, tokens/s, elapsed and ETA."""

    def __init__(self, *, total: int, start: int, enabled: bool) -> None:
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
        self._task = self._bar.add_task("cpt", total=total, completed=start,
                                        loss="—", val="—", lr="—", tps="—")

    def __enter__(self) -> LiveDisplay:
        self._bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bar.__exit__(kind, value, tb)

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
        self._bar.update(self._task, completed=step, **fields)  # type: ignore[arg-type]
