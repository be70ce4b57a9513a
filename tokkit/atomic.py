"""Write outputs so an interrupted run never leaves a half-written result.

Everything is written into a temporary sibling and renamed into place at the end; a crash leaves
only a ``.tmp-*`` sibling that the next run removes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tokkit.errors import OutputExistsError

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _clean_stale(target: Path) -> None:
    for stale in target.parent.glob(f"{TMP_PREFIX}{target.name}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextmanager
def atomic_dir(target: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a fresh temp directory; on success it replaces ``target`` in one rename.

    Refuses an existing non-empty ``target`` unless ``force``.
    """
    target = Path(target)
    if target.exists() and any(target.iterdir()) and not force:
        raise OutputExistsError(str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(target)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f"{TMP_PREFIX}{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(target)


@contextmanager
def atomic_file(target: str | Path, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp sibling for writing; on success rename it over ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with open(name, mode, **open_kwargs) as f:
            yield f
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
