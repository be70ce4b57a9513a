"""The catalog of sample corpora, and getting one onto this machine: mirror, cache, or download.

``corpora/catalog.json`` (built by ``scripts/build_catalog.py``; shipped inside the wheel as
``tokkit/corpus/catalog.json``) lists each corpus' files with bytes, sha256, source, URL and
licence. :func:`get_corpus` returns a local directory holding a corpus, trying in order:

1. a mirror: the ``mirror`` argument, else ``$TOKKIT_CORPUS_MIRROR``, else ``../shared/corpora``
   beside the project root when present. A mirror holds ``<corpus>/<file>`` as in the catalog;
2. the cache: ``cache_dir``, else ``$TOKKIT_CACHE/corpora``, else ``~/.cache/tokkit/corpora``;
3. a download into the cache: to a temp file, sha256-verified, then renamed into place (a
   failed or interrupted download leaves nothing behind).

Sizes are checked on every call; a file's sha256 is computed once and remembered in
``<cache>/verified.json`` keyed by its path, size and mtime, so repeated calls are cheap
(``verify=True`` re-hashes everything).

>>> from tokkit.corpus.catalog import get_corpus
>>> get_corpus("zh")  # doctest: +SKIP
PosixPath('/work/shared/corpora/zh')
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tokkit.atomic import UnwritableOutputError, atomic_dir, atomic_file
from tokkit.corpus.deb_archive import DebArchiveError, read_deb_member
from tokkit.errors import InputError, TokkitError
from tokkit.progress import NULL_PROGRESS
from tokkit.types import Progress

log = logging.getLogger("tokkit")

CATALOG_VERSION = 1
MIRROR_ENV = "TOKKIT_CORPUS_MIRROR"
CACHE_ENV = "TOKKIT_CACHE"
STAMPS_NAME = "verified.json"
USER_AGENT = "tokkit (+https://github.com/tokkit)"
TIMEOUT_SECONDS = 60
_BLOCK = 1 << 20
Transform = Literal["none", "text", "gunzip"]
Origin = Literal["mirror", "cache", "download", "alias"]


class CorpusUnavailableError(TokkitError):
    """A corpus is neither in a mirror nor in the cache, and downloading it failed."""


class ChecksumError(TokkitError):
    """Downloaded bytes do not match the catalog: nothing was kept."""


@dataclass(frozen=True, kw_only=True)
class CatalogFile:
    """One file of a corpus: ``path`` is relative to a mirror (``<corpus>/...``)."""

    path: str
    bytes: int
    sha256: str
    source: str
    license: str
    url: str | None  # None: mirror only (no published file gives these bytes)
    members: str | None = None
    transform: Transform = "none"
    text_bytes: int | None = None  # a compressed file's size and sha256 once decompressed
    text_sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class Corpus:
    name: str
    language: str
    description: str
    licenses: tuple[str, ...]
    bytes: int
    files: tuple[CatalogFile, ...]


@dataclass(frozen=True, kw_only=True)
class Catalog:
    corpora: Mapping[str, Corpus]
    aliases: Mapping[str, tuple[str, ...]]
    default: tuple[str, ...]
    path: Path

    def names(self) -> list[str]:
        return [*self.corpora, *self.aliases]

    def resolve(self, name: str) -> list[Corpus]:
        """The corpora ``name`` stands for (one, or several for an alias such as ``sample``)."""
        if name in self.corpora:
            return [self.corpora[name]]
        if name in self.aliases:
            return [self.corpora[n] for n in self.aliases[name]]
        raise InputError(f"unknown corpus {name!r}; choose one of: {', '.join(self.names())} "
                         "(see `tokkit corpus list`)")


@dataclass
class Fetched:
    """Where :func:`fetch_corpus` found a corpus, for summaries."""

    name: str
    path: Path
    origin: Origin
    files: int
    bytes: int
    hashed: int = 0  # files whose sha256 was computed during this call
    downloaded: int = 0
    parts: list[Fetched] = field(default_factory=list)


# --- locating the catalog, the mirror and the cache --------------------------------------------

def project_root() -> Path | None:
    """The source checkout tokkit runs from (holds ``corpora/catalog.json``), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "corpora" / "catalog.json").is_file() else None


def catalog_path() -> Path:
    root = project_root()
    if root is not None:
        return root / "corpora" / "catalog.json"
    packaged = Path(__file__).with_name("catalog.json")
    if packaged.is_file():
        return packaged
    raise TokkitError("the corpus catalog is missing from this install; reinstall tokkit")


def _file(raw: Mapping[str, object]) -> CatalogFile:
    return CatalogFile(
        path=str(raw["path"]), bytes=int(raw["bytes"]), sha256=str(raw["sha256"]),  # type: ignore[call-overload]
        source=str(raw["source"]), license=str(raw["license"]),
        url=str(raw["url"]) if raw.get("url") else None,
        members=str(raw["members"]) if raw.get("members") else None,
        transform=raw.get("transform", "none"),  # type: ignore[arg-type]
        text_bytes=int(raw["text_bytes"]) if raw.get("text_bytes") else None,  # type: ignore[call-overload]
        text_sha256=str(raw["text_sha256"]) if raw.get("text_sha256") else None,
    )


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read the catalog (the project's or the packaged one, or ``path``)."""
    path = Path(path) if path is not None else catalog_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version", 1) != CATALOG_VERSION:
            raise ValueError(f"version {raw.get('version')} needs another tokkit version")
        corpora = {}
        for c in raw["corpora"]:
            files = tuple(_file(f) for f in c["files"])
            for f in files:
                if not f.path.startswith(c["name"] + "/") or ".." in Path(f.path).parts:
                    raise ValueError(f"file {f.path} is not inside {c['name']}/")
                if f.transform not in ("none", "text", "gunzip"):
                    raise ValueError(f"unknown transform {f.transform!r}")
            corpora[c["name"]] = Corpus(
                name=c["name"], language=c["language"], description=c.get("description", ""),
                licenses=tuple(c["licenses"]), bytes=sum(f.bytes for f in files), files=files,
            )
        aliases = {k: tuple(v) for k, v in raw.get("aliases", {}).items()}
        for alias, names in aliases.items():
            if alias in corpora:
                raise ValueError(f"alias {alias} is also a corpus name")
            unknown = [n for n in names if n not in corpora]
            if unknown:
                raise ValueError(f"alias {alias} names unknown corpora {unknown}")
        default = tuple(raw.get("default", ()))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TokkitError(f"{path}: not a valid corpus catalog ({err}); "
                          "rebuild it with scripts/build_catalog.py") from None
    return Catalog(corpora=corpora, aliases=aliases, default=default, path=path)


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser() / "corpora"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tokkit" / "corpora"


def mirror_candidates(mirror: str | Path | None = None) -> list[tuple[Path, str]]:
    """The mirror to look in, with how it was chosen (for messages)."""
    if mirror is not None:
        return [(Path(mirror).expanduser().absolute(), "`mirror`")]
    env = os.environ.get(MIRROR_ENV)
    if env:
        return [(Path(env).expanduser().absolute(), f"${MIRROR_ENV}")]
    root = project_root()
    if root is not None and (root.parent / "shared" / "corpora").is_dir():
        return [(root.parent / "shared" / "corpora", "../shared/corpora beside the project")]
    return []


# --- verification -------------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class _Stamps:
    """sha256 results remembered per (path, size, mtime): re-hash only what changed."""

    def __init__(self, cache_dir: Path) -> None:
        self.file = cache_dir / STAMPS_NAME
        self.changed = False
        try:
            self.data: dict[str, list[object]] = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    @staticmethod
    def _key(path: Path) -> str:
        return str(path.resolve())

    def ok(self, path: Path, st: os.stat_result, sha256: str) -> bool:
        return self.data.get(self._key(path)) == [st.st_size, st.st_mtime_ns, sha256]

    def record(self, path: Path, sha256: str) -> None:
        st = path.stat()
        self.data[self._key(path)] = [st.st_size, st.st_mtime_ns, sha256]
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            with atomic_file(self.file, "w", encoding="utf-8") as f:
                json.dump(self.data, f, indent=0)
        except OSError as err:  # a read-only cache only costs re-hashing next time
            log.debug("cannot save %s: %s", self.file, err)
        self.changed = False


def _check(root: Path, corpus: Corpus, stamps: _Stamps, *, verify: bool, progress: Progress,
           all_files: bool) -> tuple[list[CatalogFile], list[str], int]:
    """Which files under ``root`` are missing or wrong: (bad files, reasons, files hashed).

    Sizes first; sha256 only for files not already stamped (or all with ``verify``). Without
    ``all_files`` hashing stops being worth it once a file is missing (a mirror we cannot use).
    """
    bad: list[CatalogFile] = []
    reasons: list[str] = []
    to_hash: list[tuple[CatalogFile, Path]] = []
    for f in corpus.files:
        path = root / f.path
        try:
            st = path.stat()
        except OSError:
            bad.append(f)
            reasons.append(f"{f.path} is missing")
            continue
        if st.st_size != f.bytes:
            bad.append(f)
            reasons.append(f"{f.path} has {st.st_size:,} bytes, the catalog says {f.bytes:,}")
        elif verify or not stamps.ok(path, st, f.sha256):
            to_hash.append((f, path))
    if bad and not all_files:
        return bad + [f for f, _ in to_hash], reasons, 0
    if to_hash:
        task = progress.task(f"verifying {corpus.name}", total=sum(f.bytes for f, _ in to_hash), unit="bytes")
        for f, path in to_hash:
            digest = sha256_file(path)
            task.advance(f.bytes)
            if digest == f.sha256:
                stamps.record(path, digest)
            else:
                bad.append(f)
                reasons.append(f"{f.path} has sha256 {digest[:12]}…, the catalog says "
                               f"{f.sha256[:12]}…")
    return bad, reasons, len(to_hash)


# --- downloading --------------------------------------------------------------------------------

def normalize_text(raw: bytes) -> bytes:
    """The ``text`` transform: UTF-8 (BOM dropped; Latin-1 when not UTF-8), ``\\r\\n`` → ``\\n``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").encode("utf-8")


def member_pattern(glob: str) -> re.Pattern[str]:
    """A path glob as a regex: ``**/`` spans directories, ``*`` and ``?`` stay within one."""
    parts = re.split(r"(\*\*/|\*|\?)", glob)
    regex = {"**/": "(?:[^/]*/)*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(regex.get(p, re.escape(p)) for p in parts) + r"\Z")


def _offline_hint() -> str:
    return (f"if this machine is offline, pass `mirror=DIR` (a copy of the corpora) or set "
            f"{MIRROR_ENV}")


@contextmanager
def _temp_path(directory: Path, name: str) -> Iterator[Path]:
    """A temp file name beside the final one, removed unless renamed away."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{name}.", dir=directory)
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _download(url: str, dest: Path, label: str, progress: Progress) -> None:
    """Stream ``url`` into ``dest``; any failure becomes one line naming the URL and the fix."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            length = response.headers.get("Content-Length")
            task = progress.task(f"downloading {label}", total=int(length) if length else None, unit="bytes")
            received = 0
            with dest.open("wb") as out:
                while block := response.read(_BLOCK):
                    out.write(block)
                    received += len(block)
                    task.advance(len(block))
            if length and received != int(length):  # read(n) returns short data, no error
                raise http.client.IncompleteRead(b"", int(length) - received)
    except urllib.error.HTTPError as err:
        reason = f"HTTP {err.code} {err.reason}"
    except urllib.error.URLError as err:
        reason = str(err.reason)
    except (OSError, http.client.HTTPException) as err:
        reason = f"{type(err).__name__}: {err}"
    else:
        return
    raise CorpusUnavailableError(f"cannot download {label} from {url} ({reason}); "
                                 f"{_offline_hint()}")


def _mismatch(f: CatalogFile, origin: str, size: int, digest: str) -> ChecksumError:
    return ChecksumError(
        f"{f.path}: {origin} gives {size:,} bytes with sha256 {digest[:12]}…, the catalog "
        f"expects {f.bytes:,} bytes with {f.sha256[:12]}… (the upstream file changed?); nothing "
        "was saved; use `mirror=DIR` with a verified copy")


def _install(data: bytes, f: CatalogFile, cache_root: Path, origin: str,
             stamps: _Stamps) -> None:
    """Verify ``data`` against the catalog, then write it into the cache atomically."""
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != f.bytes or digest != f.sha256:
        raise _mismatch(f, origin, len(data), digest)
    target = cache_root / f.path
    with atomic_file(target, "wb") as out:
        out.write(data)
    stamps.record(target, digest)


def _download_file(f: CatalogFile, cache_root: Path, stamps: _Stamps, progress: Progress) -> None:
    assert f.url is not None  # mirror-only files are refused before any download
    target = cache_root / f.path
    with _temp_path(target.parent, target.name) as tmp:
        _download(f.url, tmp, f.path, progress)
        if f.transform == "none":
            digest = sha256_file(tmp)
            size = tmp.stat().st_size
            if size != f.bytes or digest != f.sha256:
                raise _mismatch(f, f.url, size, digest)
            os.replace(tmp, target)
            stamps.record(target, digest)
        else:
            _install(normalize_text(tmp.read_bytes()), f, cache_root, f.url, stamps)


def _extract_members(archive: Path, pattern: str, url: str) -> tuple[bytes, int]:
    """Concatenate the archive members matching ``pattern`` (paths below the zip's top folder),
    in sorted order, each ending with a newline."""
    regex = member_pattern(pattern)
    try:
        with zipfile.ZipFile(archive) as zf:
            names = {}
            for info in zf.infolist():
                if info.is_dir():
                    continue
                inner = info.filename.split("/", 1)[1] if "/" in info.filename else info.filename
                if regex.match(inner):
                    names[inner] = info
            parts = []
            for inner in sorted(names):
                data = zf.read(names[inner])
                parts.append(data if data.endswith(b"\n") or not data else data + b"\n")
    except zipfile.BadZipFile as err:
        raise CorpusUnavailableError(f"{url}: not a valid zip archive ({err}); "
                                     f"{_offline_hint()}") from None
    if not names:
        raise ChecksumError(f"{url}: no member matches {pattern} (the repository changed?); "
                            "use `mirror=DIR` with a verified copy")
    return b"".join(parts), len(names)


def _download_archive(url: str, files: Sequence[CatalogFile], cache_root: Path, stamps: _Stamps,
                      progress: Progress) -> None:
    with _temp_path(cache_root, "archive.zip") as tmp:
        _download(url, tmp, f"{url.rsplit('/', 3)[-3]} archive", progress)
        for f in files:
            data, count = _extract_members(tmp, f.members or "", url)
            _install(normalize_text(data) if f.transform == "text" else data, f, cache_root,
                     f"the {count} members {f.members} of {url} joined", stamps)


def _download_deb(f: CatalogFile, cache_root: Path, stamps: _Stamps, progress: Progress) -> None:
    """A file that is one member of a Debian package (``gunzip``: stored ``.gz`` there)."""
    assert f.url is not None and f.members is not None
    with _temp_path(cache_root, "package.deb") as tmp:
        _download(f.url, tmp, f"{f.path} (Debian package)", progress)
        try:
            data = read_deb_member(tmp, f.members, gunzip=f.transform == "gunzip")
        except DebArchiveError as err:
            raise ChecksumError(f"{f.url}: {err} (the package changed?); use `mirror=DIR` with "
                                "a verified copy") from None
        _install(data, f, cache_root, f"{f.members} of {f.url}", stamps)


def _mirror_only(files: Sequence[CatalogFile]) -> CorpusUnavailableError:
    f = files[0]
    return CorpusUnavailableError(
        f"{f.path} is available from a mirror only (it was cut from {f.source}, which publishes "
        f"no file with these bytes); pass `mirror=DIR` (a folder holding {f.path.split('/')[0]}/) "
        f"or set {MIRROR_ENV}")


def _download_corpus(files: Sequence[CatalogFile], cache_root: Path, stamps: _Stamps,
                     progress: Progress) -> None:
    unpublished = [f for f in files if f.url is None]
    if unpublished:
        raise _mirror_only(unpublished)
    archives: dict[str, list[CatalogFile]] = {}
    try:
        for f in files:
            assert f.url is not None
            if f.members and f.url.endswith(".deb"):
                _download_deb(f, cache_root, stamps, progress)
            elif f.members:
                archives.setdefault(f.url, []).append(f)
            else:
                _download_file(f, cache_root, stamps, progress)
        for url, group in archives.items():
            _download_archive(url, group, cache_root, stamps, progress)
    finally:
        stamps.save()


# --- the public calls ---------------------------------------------------------------------------

def _fetch_one(corpus: Corpus, *, mirror: str | Path | None, cache_root: Path, verify: bool,
               progress: Progress, stamps: _Stamps) -> Fetched:
    tried: list[str] = []
    for root, how in mirror_candidates(mirror):
        if not root.is_dir():
            if how == "`mirror`" or how.startswith("$"):
                raise InputError(f"{root}: the corpus mirror ({how}) is not a directory; "
                                 "pass the folder that holds en/, zh/, ...")
            continue
        bad, reasons, hashed = _check(root, corpus, stamps, verify=verify, progress=progress,
                                      all_files=False)
        if not bad:
            return Fetched(name=corpus.name, path=root / corpus.name, origin="mirror",
                           files=len(corpus.files), bytes=corpus.bytes, hashed=hashed)
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        if (root / corpus.files[0].path.split("/", 1)[1]).is_file():
            more += f"; {root} looks like the {corpus.name} folder itself: pass its parent"
        tried.append(f"mirror {root} ({how}): {reasons[0]}{more}")
        log.warning("corpus %s: not usable from mirror %s: %s%s", corpus.name, root, reasons[0],
                    more)
    bad, _, hashed = _check(cache_root, corpus, stamps, verify=verify, progress=progress,
                            all_files=True)
    if not bad:
        return Fetched(name=corpus.name, path=cache_root / corpus.name, origin="cache",
                       files=len(corpus.files), bytes=corpus.bytes, hashed=hashed)
    try:
        _download_corpus(bad, cache_root, stamps, progress)
    except CorpusUnavailableError as err:
        if tried:
            raise CorpusUnavailableError(f"{err}; also tried {'; '.join(tried)}") from None
        raise
    except OSError as err:
        raise _unwritable(cache_root, err) from None
    return Fetched(name=corpus.name, path=cache_root / corpus.name, origin="download",
                   files=len(corpus.files), bytes=corpus.bytes, hashed=len(bad),
                   downloaded=len(bad))


def _unwritable(cache_root: Path, err: OSError) -> TokkitError:
    return TokkitError(f"cannot write to the corpus cache {cache_root} ({err.strerror or err}); "
                       f"pass `cache_dir=DIR` (a writable folder) or set {CACHE_ENV}")


def _alias_dir(name: str, parts: list[Fetched], catalog: Catalog, cache_root: Path) -> Path:
    """One directory for an alias: ``<cache>/<alias>/<corpus>/<file>``, links to the real files."""
    links = {
        f.path: part.path.parent / f.path
        for part in parts
        for f in catalog.corpora[part.name].files
    }
    target = cache_root / name
    if target.is_dir():
        present = {p.relative_to(target).as_posix(): p for p in target.rglob("*") if not p.is_dir()}
        if set(present) == set(links) and all(
            p.is_symlink() and Path(os.readlink(p)) == links[rel] for rel, p in present.items()
        ):
            return target
    with atomic_dir(target, force=True, ours=True) as tmp:  # the cache is ours whatever it holds
        for rel, source in links.items():
            link = tmp / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            try:
                link.symlink_to(source)
            except OSError:  # no symlinks here (e.g. Windows without privileges): copy
                shutil.copy2(source, link)
    return target


def fetch_corpus(
    name: str,
    *,
    mirror: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    verify: bool = False,
    catalog: Catalog | None = None,
) -> Fetched:
    """Like :func:`get_corpus`, but also say where the corpus came from (for summaries)."""
    catalog = catalog or load_catalog()
    progress = progress or NULL_PROGRESS
    cache_root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache_root = cache_root.absolute()
    stamps = _Stamps(cache_root)
    try:
        parts = [
            _fetch_one(c, mirror=mirror, cache_root=cache_root, verify=verify, progress=progress,
                       stamps=stamps)
            for c in catalog.resolve(name)
        ]
    finally:
        stamps.save()
    if len(parts) == 1 and name in catalog.corpora:
        return parts[0]
    try:
        path = _alias_dir(name, parts, catalog, cache_root)
    except OSError as err:
        raise _unwritable(cache_root, err) from None
    except UnwritableOutputError as err:
        raise _unwritable(cache_root, err.os_error) from None
    return Fetched(name=name, path=path, origin="alias", files=sum(p.files for p in parts),
                   bytes=sum(p.bytes for p in parts), hashed=sum(p.hashed for p in parts),
                   downloaded=sum(p.downloaded for p in parts), parts=parts)


def get_corpus(
    name: str,
    *,
    mirror: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    verify: bool = False,
    catalog: Catalog | None = None,
) -> Path:
    """A local directory holding corpus ``name`` (``en``, ``zh``, ``heldout``, ``neardup``,
    ``large`` (mirror only), ``parallel``, or the alias ``sample`` = en + zh as one directory of
    links), verified against the catalog.

    Looks in the mirror, then the cache, then downloads (see the module docstring). Raises
    :class:`CorpusUnavailableError` with the URL and the fix when it cannot get the files.
    """
    return fetch_corpus(name, mirror=mirror, cache_dir=cache_dir, progress=progress,
                        verify=verify, catalog=catalog).path


def default_corpus_paths(
    *,
    mirror: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """The default sample corpora (en + zh) as separate directories: what commands read when
    the user names no corpus."""
    catalog = load_catalog()
    return [get_corpus(n, mirror=mirror, cache_dir=cache_dir, progress=progress, catalog=catalog)
            for n in catalog.default]


def where_available(corpus: Corpus, *, mirror: str | Path | None = None,
                    cache_dir: str | Path | None = None) -> tuple[str, Path | None]:
    """Where a corpus is on this machine, by file sizes only (cheap; for listings)."""
    cache_root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    places = [*((root, "mirror") for root, _ in mirror_candidates(mirror)), (cache_root, "cache")]
    for root, kind in places:
        if all((root / f.path).is_file() and (root / f.path).stat().st_size == f.bytes
               for f in corpus.files):
            return kind, root / corpus.name
    return "download", None
