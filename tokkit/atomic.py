"""Write outputs so an interrupted, concurrent or mistaken run never loses data.

- Everything is written into a temporary sibling (``.tmp-NAME.XXXXXXXX``) and renamed into place
  at the end; a crash leaves only that sibling, which the next run on ``NAME`` removes.
- Every output directory carries tokkit's record (``tokkit.json``, a ``manifest.json``) or else a
  marker file (:data:`MARKER`): ``force`` replaces only a directory tokkit wrote, and never an output that is, holds or sits inside one of the run's inputs.
- Replacing renames the old output to ``.NAME.old`` before the new one takes its place; a kill
  between the two renames leaves the complete old copy there, and the next run restores it.
- A run holds an exclusive lock (``.NAME.lock``, ``flock``) on its output from start to end: a
  second run into the same output stops at once with one line instead of deleting the first's
  temp files. Temps are only cleaned under that lock, so a live run's temps are never touched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tokkit.errors import (
    InputError,
    NotTokkitOutputError,
    OutputBusyError,
    OutputExistsError,
    TokkitError,
)

log = logging.getLogger("tokkit")

TMP_PREFIX = ".tmp-"
MARKER = ".tokkit-output"
"""The file every tokkit output directory carries; ``force`` replaces only directories holding it."""
_TMP_SUFFIX = re.compile(r"[a-z0-9_]{8}")  # what mkdtemp/mkstemp append after our prefix
_held: dict[str, int] = {}  # outputs whose lock this process holds (re-entrant use)

LIVE_TEMPORARIES: set[Path] = set()
"""Temporaries (and lock files) this process is writing, for a process that must exit without
unwinding (the CLI's Ctrl-C watchdog, :mod:`tokkit.cli.interrupt`) to remove them first."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def old_path(target: Path) -> Path:
    """Where a replaced output waits until its successor is in place."""
    return target.with_name(f".{target.name}.old")


def trash_path(target: Path) -> Path:
    """Where an output being deleted goes first, so a half-deleted copy is never mistaken for it."""
    return target.with_name(f".{target.name}.trash")


def lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- what may be replaced


def mark_output(directory: str | Path) -> None:
    """Make ``directory`` recognisably a tokkit output: :data:`MARKER` (constant bytes, so hashes of
    the dir stay stable), unless it already holds tokkit's own record (``tokkit.json``, a manifest)."""
    if not is_tokkit_output(directory):
        (Path(directory) / MARKER).write_text('{"tokkit": "output"}\n', encoding="utf-8")


def _json_has(path: Path, key: str) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and key in data


def is_tokkit_output(directory: str | Path) -> bool:
    """Whether ``directory`` was written by tokkit: its marker, or the files older versions wrote."""
    path = Path(directory)
    return (
        (path / MARKER).is_file()
        or (path / "tokkit.json").is_file()  # trainers, extend-llama, resize
        or ((path / "pipeline.json").is_file() and (path / "stages").is_dir())
        or ((path / "cpt.json").is_file() and (path / "log.jsonl").is_file())
        or _json_has(path / "manifest.json", "tokkit_version")  # dedup, shard
    )


def _input_root(raw: str | Path) -> Path | None:
    """The existing path an input names (a glob's directory part), or None (a name, a URL)."""
    parts = Path(raw).parts
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            parts = parts[:i]
            break
    path = Path(*parts) if parts else Path(".")
    return path if path.exists() else None


def check_apart(output: str | Path, inputs: Iterable[str | Path]) -> None:
    """Refuse an ``output`` equal to, inside or above any of ``inputs`` (it would delete or mix into them)."""
    out = Path(os.path.realpath(output))
    for raw in inputs:
        root = _input_root(raw)
        if root is None:
            continue
        inp = Path(os.path.realpath(root))
        if out == inp:
            how = "is the input"
        elif inp.is_relative_to(out):
            how = "contains the input"
        elif out.is_relative_to(inp):
            how = "is inside the input"
        else:
            continue
        raise InputError(f"{output}: the output {how} {raw}; writing it there would destroy or mix into "
                         "the input; choose an output path outside every input")


def check_output_dir(target: str | Path, *, force: bool, inputs: Iterable[str | Path] = (),
                     ours: bool = False) -> None:
    """Fail before any work when ``target`` cannot be written: an input, a file, an existing output
    without ``force``, or (with ``force``) a directory tokkit did not write (unless ``ours``: a cache)."""
    target = Path(target)
    check_apart(target, inputs)
    if target.exists() and not target.is_dir():
        raise InputError(f"{target}: exists and is not a directory; choose another `output`")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise OutputExistsError(str(target))
        if not ours and not is_tokkit_output(target):
            raise NotTokkitOutputError(str(target), MARKER)


# ---------------------------------------------------------------------------- lock and recovery


def recover(target: str | Path) -> None:
    """Finish what a killed run on ``target`` left behind (call under :func:`output_lock`).

    A ``.NAME.old`` with no ``NAME`` is the complete previous output of a replace killed between
    its renames: it is restored. Beside a ``NAME`` it is done with, as are ``.NAME.trash`` and
    temps of dead runs.
    """
    target = Path(target)
    old = old_path(target)
    if old.exists():
        if target.exists():
            _remove(old)
        else:
            old.rename(target)
            log.warning("%s: restored the previous output (a replace of it was interrupted)", target)
    trash = trash_path(target)
    if trash.exists():
        _remove(trash)
    prefix = f"{TMP_PREFIX}{target.name}."
    for stale in target.parent.glob(f"{TMP_PREFIX}{glob_escape(target.name)}.*"):
        if _TMP_SUFFIX.fullmatch(stale.name[len(prefix):]):  # not another output's (NAME.v2) temps
            _remove(stale)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


class UnwritableOutputError(TokkitError):
    """An output cannot be created where it was asked for; ``os_error`` says why."""

    def __init__(self, target: Path, os_error: OSError) -> None:
        super().__init__(f"{target}: cannot write there ({os_error.strerror or os_error}); "
                         "choose an output in a folder you can write to")
        self.target = target
        self.os_error = os_error


def unwritable(target: Path, err: OSError) -> UnwritableOutputError:
    return UnwritableOutputError(target, err)


def _lock_owner(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        pid = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return pid if pid.isdigit() else ""


@contextmanager
def output_lock(target: str | Path) -> Iterator[None]:
    """Hold ``target``'s exclusive lock for the block, then tidy what dead runs left (:func:`recover`).

    Raises :class:`~tokkit.errors.OutputBusyError` at once if another process holds it. Re-entrant
    within a process, so a command can lock its output early and :func:`atomic_dir` later.
    """
    target = Path(target)
    key = os.path.realpath(target)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    try:
        import fcntl
    except ImportError:  # no flock (Windows): runs are not serialized
        fcntl = None  # type: ignore[assignment]
    path = lock_path(target)
    fd = -1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise unwritable(target, err) from None
    if fcntl is not None:
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            except OSError as err:
                raise unwritable(target, err) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _lock_owner(fd)
                os.close(fd)
                raise OutputBusyError(str(target), owner) from None
            try:  # the previous owner unlinks the file on release: make sure ours is the live one
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        LIVE_TEMPORARIES.add(path)
    _held[key] = 1
    try:
        recover(target)
        yield
    finally:
        del _held[key]
        if fd >= 0:
            path.unlink(missing_ok=True)  # while still holding it (see the inode check above)
            os.close(fd)
            LIVE_TEMPORARIES.discard(path)


# ---------------------------------------------------------------------------- writing


def publish_dir(source: Path, target: Path) -> None:
    """Rename the finished ``source`` to ``target``, replacing an existing one recoverably."""
    if target.exists():
        old = old_path(target)
        _remove(old)
        target.rename(old)  # a kill from here until the next rename: recover() restores old
        source.rename(target)
        _remove(old)
    else:
        source.rename(target)


def remove_output(target: str | Path) -> None:
    """Delete the output ``target`` (checked by :func:`check_output_dir`) so a kill midway leaves
    only ``.NAME.trash``, which the next run removes, never a half-deleted ``NAME``."""
    target = Path(target)
    trash = trash_path(target)
    _remove(trash)
    target.rename(trash)
    _remove(trash)


@contextmanager
def atomic_dir(target: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = (),
               ours: bool = False) -> Iterator[Path]:
    """Yield a fresh temp directory; on success it replaces ``target`` in one rename, marked as ours.

    Refuses (see :func:`check_output_dir`) an output among ``inputs``, and an existing non-empty
    ``target`` unless ``force`` -- and with ``force`` one tokkit did not write, unless ``ours``
    (the caller owns ``target`` whatever it holds, e.g. a cache). Holds :func:`output_lock`.
    """
    target = Path(target)
    with output_lock(target):
        check_output_dir(target, force=force, inputs=inputs, ours=ours)
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent))
        except OSError as err:
            raise unwritable(target, err) from None
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        LIVE_TEMPORARIES.add(tmp)
        try:
            yield tmp
            if not ours:
                mark_output(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            LIVE_TEMPORARIES.discard(tmp)
            raise
        publish_dir(tmp, target)
        LIVE_TEMPORARIES.discard(tmp)


@contextmanager
def atomic_file(target: str | Path, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp sibling for writing; on success rename it over ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    LIVE_TEMPORARIES.add(Path(name))
    try:
        with open(name, mode, **open_kwargs) as f:
            yield f
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    finally:
        LIVE_TEMPORARIES.discard(Path(name))


def write_text_atomic(target: str | Path, text: str) -> None:
    """Replace ``target`` by ``text`` in one rename: a reader sees the old or the new file, whole."""
    with atomic_file(target, "w", encoding="utf-8") as f:
        f.write(text)
