"""Resource figures a run reports about itself (shared by training and dedup)."""

from __future__ import annotations


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
