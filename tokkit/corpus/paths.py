"""Which files a corpus is: paths, folders (walked recursively, sorted) and glob patterns."""

from __future__ import annotations

import errno
import glob as _glob
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokkit.corpus.formats import format_for
from tokkit.corpus.options import ReadStats
from tokkit.errors import InputError

log = logging.getLogger("tokkit")


def _as_list(paths: Iterable[str | Path] | str | Path) -> list[str | Path]:
    # A bare string is an iterable of characters: take it as one path, not as "c", "o", ...
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _walk_error(err: OSError) -> None:
    raise InputError(f"{err.filename}: cannot list directory ({err.strerror}); check permissions")


def iter_files(paths: Iterable[str | Path], stats: ReadStats | None = None) -> Iterator[Path]:
    """Expand files, directories (recursively, sorted) and glob patterns into files.

    Every path is checked before the first file is yielded, so a typo in the last path fails at
    once rather than after hours of reading the others. Inside directories, hidden files and
    directories are ignored and files of unknown type skipped (counted); a file named explicitly
    or matched by a glob is always read, as text when its type is unknown. Symlinked directories
    are not followed; named pipes, sockets and devices inside a directory are skipped (reading a
    pipe nobody writes waits forever); a loop of symbolic links is an error. A file reached twice
    is read once.
    """
    stats = stats if stats is not None else ReadStats()
    raws = _as_list(paths)
    if not raws:
        raise InputError("no corpus paths given; pass files, directories or glob patterns")
    roots: list[Path] = []
    for raw in raws:
        path = Path(raw)
        if path.exists():
            roots.append(path)
        elif _glob.has_magic(str(raw)):
            matches = sorted(_glob.glob(str(raw), recursive=True))
            if not matches:
                raise InputError(f"{raw}: the pattern matches no files; check the glob")
            roots.extend(Path(m) for m in matches)
        elif path.is_symlink():
            raise _link_loop(path) if _loops(path) else unreadable(path, FileNotFoundError(raw))
        else:
            raise InputError(f"{raw}: no such file or directory; check the corpus path")
    seen: set[Path] = set()

    def first_time(p: Path) -> bool:
        try:
            key = p.resolve()
        except (OSError, RuntimeError):  # RuntimeError: Python < 3.13 on a symlink loop
            raise _link_loop(p) from None
        if key in seen:
            log.warning("%s: listed more than once, read once", p)
            return False
        seen.add(key)
        return True

    for root in roots:
        if not root.is_dir():
            if first_time(root):
                yield root
            continue
        for top, dirs, files in os.walk(root, onerror=_walk_error):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                child = Path(top) / name
                if format_for(child) is None:
                    stats.skipped_unsupported += 1
                    stats.skipped_paths.append(str(child))
                    log.warning("%s: skipped, not a txt/jsonl/json/parquet file", child)
                    continue
                if not _regular(child):  # a named pipe would block the read forever
                    stats.skipped_unsupported += 1
                    stats.skipped_paths.append(str(child))
                    log.warning("%s: skipped, not a regular file (a named pipe, socket or device)", child)
                    continue
                if first_time(child):
                    yield child


def _link_loop(path: Path) -> InputError:
    return InputError(f"{path}: a loop of symbolic links; remove it or fix the link")


def _loops(path: Path) -> bool:
    try:
        path.stat()
    except OSError as err:
        return err.errno == errno.ELOOP
    return False


def _regular(path: Path) -> bool:
    """Whether ``path`` is a regular file; a broken link or a link loop is an :class:`InputError`
    here, before anything is read (callers stat every file first)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise _link_loop(path) from None
        raise unreadable(path, err) from None


def unreadable(path: Path, err: OSError) -> InputError:
    if isinstance(err, FileNotFoundError):
        what = "a broken symbolic link" if path.is_symlink() else "gone (deleted while reading?)"
        return InputError(f"{path}: {what}; remove it or fix the link")
    return InputError(f"{path}: cannot open ({err.strerror}); check permissions")


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as err:
        raise unreadable(path, err) from None


def corpus_bytes(paths: Iterable[str | Path]) -> int:
    """Total on-disk size of the files ``paths`` expand to (the total for progress bars); 0 for
    no paths (an already expanded, empty file list)."""
    paths = list(paths)
    return sum(file_size(p) for p in iter_files(paths, ReadStats())) if paths else 0
