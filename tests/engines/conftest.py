"""One local Ray instance (2 CPUs) shared by every engine test, and a worker-killing hook."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class KillWorker:
    """A stage hook that SIGKILLs the worker running (stage, partition): once, or every time.

    The marker file records the first kill, so the retried task runs normally (``once``).
    """

    def __init__(self, marker: Path, stage: str, partition: int = 0, *, once: bool = True) -> None:
        self.marker, self.stage, self.partition, self.once = str(marker), stage, partition, once

    def __call__(self, stage: str, partition: int) -> None:
        if stage != self.stage or partition != self.partition:
            return
        if self.once and os.path.exists(self.marker):
            return
        with open(self.marker, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[Any]:
    """A 2-CPU local Ray instance for the whole session (Ray takes ~20 s to start here)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tokkit[ray]')")
    from ray import cloudpickle

    # hooks defined here travel to the workers by value (tests are not an importable package)
    cloudpickle.register_pickle_by_value(sys.modules[KillWorker.__module__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()
