"""One shard run per output at a time: the exclusive lock every tokkit output takes.

Two ``tokkit shard`` runs into one ``output`` share its ``.<name>.partial/`` directory; without a lock
the second deletes the first's live temp files. The lock is :func:`tokkit.atomic.output_lock`
(``flock`` on a ``.<name>.lock`` sibling, dropped by the kernel when its holder dies, re-entrant
within a process so the Ray engine's :func:`~tokkit.atomic.atomic_dir` can take it again).
"""

from __future__ import annotations

from tokkit.atomic import lock_path, output_lock
from tokkit.errors import OutputBusyError

__all__ = ["OutputBusyError", "lock_path", "output_lock"]
