"""Which files a corpus is: paths, folders (walked recursively, sorted) and glob patterns."""

from __future__ import annotations

import glob as _glob
import logging
import os
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
    are not followed. A file reached twice is read once.
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
        else:
            raise InputError(f"{raw}: no such file or directory; check the corpus path")
    seen: set[Path] = set()

    def first_time(p: Path) -> bool:
        key = p.resolve()
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
                if first_time(child):
                    yield child


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
