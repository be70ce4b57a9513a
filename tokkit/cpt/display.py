"""What a training run keeps: a JSONL log on disk (the live line is the CLI's, ``cli/cpt_display.py``).

The log (``log.jsonl``, one JSON object per line with an ``event`` of ``train``, ``val``,
``checkpoint`` or ``done``) is the record a plotting script or a dashboard reads; the live line is for
the person watching. On resume the log is cut back to the checkpoint's step so it never shows the
same step twice; a torn last line (a kill mid-write) is dropped there, and the cut-back log is
written whole or not at all.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tokkit.atomic import atomic_file
from tokkit.errors import InputError

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
