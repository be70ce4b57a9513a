"""A training run's directory, which appears only once there is something to resume."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from tokkit.atomic import atomic_dir


class RunDir:
    """Where a run's files go: a temp sibling of ``output`` until the first checkpoint, then ``output``.

    Before a checkpoint there is nothing to resume, so a fresh run that stops early (Ctrl-C, an
    error, kill -9) must leave nothing behind: its ``cpt.json`` and ``log.jsonl`` wait in the temp
    dir (:func:`tokkit.atomic.atomic_dir`), which the first checkpoint renames into place. A resumed
    run writes into ``output`` directly.
    """

    def __init__(self, output: Path, *, fresh: bool) -> None:
        self.output = output
        self._pending = ExitStack()
        self.path = self._pending.enter_context(atomic_dir(output)) if fresh else output

    def publish(self) -> None:
        """Rename the temp dir into place (once; the first checkpoint is in it)."""
        if self.path != self.output:
            self._pending.close()
            self.path = self.output

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._pending.__exit__(kind, value, tb)  # on an error: the temp dir goes
