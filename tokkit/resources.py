"""Resource figures a run reports about itself, and handing memory back (shared by the stages)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokkit.types import Progress, ProgressTask


def peak_rss_mb(*, children: bool = True) -> float:
    """Peak resident memory in MiB, so every run's report measures it the same way.

    With ``children`` the larger of this process's peak and that of its finished children
    (Linux ``ru_maxrss``); without, this process's alone. Off POSIX: current RSS via psutil.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if not children:
        return own / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def own_peak_mb(pid: int | None = None) -> float:
    """A process's own peak resident memory in MiB (Linux ``VmHWM``; this process by default).

    Unlike ``ru_maxrss`` it does not start from the peak of the parent a child was forked from, so
    a measuring child reports what its own work took. Off Linux: this process's
    :func:`peak_rss_mb`, 0.0 for another process.
    """
    try:
        with open(f"/proc/{'self' if pid is None else pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb(children=False) if pid is None else 0.0


MEMORY_SHARE = 0.5
"""The share of the machine's memory a run may use when no ``max_memory`` is given."""


def default_max_memory() -> int:
    """Bytes a run may use by default: :data:`MEMORY_SHARE` of the machine's memory."""
    import psutil

    return int(psutil.virtual_memory().total * MEMORY_SHARE)


def parse_size(text: str) -> int:
    """Bytes in ``text``: ``1GB``, ``512MB``, ``1.5G``, ``2GiB``, ``800k`` or a plain number (decimal
    units are powers of 1000, ``iB`` units of 1024). Raises ``ValueError`` with the accepted forms."""
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?)(b?)\s*", text.lower())
    if not match or (match.group(3) and not match.group(2)):
        raise ValueError(f"'{text}' is not a size; write e.g. 1GB, 512MB, 2GiB or a number of bytes")
    number, unit, binary, _ = match.groups()
    scale = (1024 if binary else 1000) ** " kmgt".index(unit or " ")
    return int(float(number) * scale)


def release_free_memory() -> None:
    """Give freed heap memory back to the OS. glibc keeps it for reuse, and after the big numpy
    temporaries of counting and seeding the trainer held ~250 MB it no longer used. A no-op off
    glibc."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def tree_pss_mb(pid: int | None = None) -> float:
    """Summed proportional set size (PSS) of a process and all its descendants, in MiB.

    PSS splits each shared page between the processes sharing it, so a forked worker's copy of its
    parent counts once and the sum is what the whole run holds. RSS where PSS cannot be read; 0 for
    a process that is gone.
    """
    import psutil

    total = 0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(os.getpid() if pid is None else pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                try:
                    total += proc.memory_full_info().pss
                except (psutil.AccessDenied, AttributeError):
                    total += proc.memory_info().rss
    return total / 2**20


SAMPLE_SECONDS = 2.0
"""How often at most :class:`MemoryWatch` samples: finding the children reads every process's
``/proc`` entry (~1 ms here, tens of ms on a crowded server), and peaks last longer than this."""


class MemoryWatch:
    """A :class:`~tokkit.types.Progress` that also records :func:`tree_pss_mb` of this process tree
    whenever one of its tasks advances (at most every :data:`SAMPLE_SECONDS`), passing everything on.

    Sampling on progress needs no thread of its own, so it never changes how worker pools start
    (:func:`tokkit.pool.pool_context`); the trainers advance their tasks while their workers run.
    A peak between two updates goes unseen, so the figure can read low (the Unigram workers'
    peaks fall inside E-steps, between updates).
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._last = -float("inf")
        self.peak_mb = 0.0

    def sample(self) -> None:
        self._last = time.monotonic()
        self.peak_mb = max(self.peak_mb, tree_pss_mb())

    def task(self, description: str, total: int | None = None, *, unit: str = "") -> ProgressTask:
        return _WatchedTask(self, self._progress.task(description, total, unit=unit))

    def _advanced(self) -> None:
        if time.monotonic() - self._last >= SAMPLE_SECONDS:
            self.sample()


class _WatchedTask:
    def __init__(self, watch: MemoryWatch, task: ProgressTask) -> None:
        self._watch = watch
        self._task = task

    def advance(self, n: int = 1) -> None:
        self._task.advance(n)
        self._watch._advanced()

    def update_total(self, total: int | None) -> None:
        self._task.update_total(total)
