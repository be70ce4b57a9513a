"""Resource figures a run reports about itself, and handing memory back (shared by the stages)."""

from __future__ import annotations

import contextlib
import ctypes
import sys


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


def release_free_memory() -> None:
    """Give freed heap memory back to the OS. glibc keeps it for reuse, and after the big numpy
    temporaries of counting and seeding the trainer held ~250 MB it no longer used. A no-op off
    glibc."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
