"""One shard run per output at a time: an exclusive lock beside the output.

Two ``tokkit shard`` runs into one ``-o`` share its ``.<name>.partial/`` directory; without a lock
the second deletes the first's live temp files. The lock is ``flock`` on a ``.<name>.lock``
sibling: the kernel drops it when its holder dies (even by ``kill -9``), so a stale lock file never
blocks a later run, and the holder removes the file when it is done.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tokkit.errors import TokkitError


class OutputBusyError(TokkitError):
    """Another live run is writing the same output."""


def lock_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f".{output.name}.lock")


@contextlib.contextmanager
def output_lock(output: str | Path) -> Iterator[None]:
    """Hold the output's lock for the block, or raise :class:`OutputBusyError` at once."""
    import fcntl

    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise OutputBusyError(
                f"{output}: another run (pid {holder}) is writing it; wait for it to finish or choose "
                "another -o"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the previous holder removed the file between our open and our lock
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
