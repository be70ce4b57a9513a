"""The corpus catalog: mirror → cache → download, verified, with nothing half-written left behind.

Downloads are tested against a local ``http.server`` in a thread; nothing here touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tokkit.corpus import catalog as cat
from tokkit.corpus.catalog import (
    Catalog,
    ChecksumError,
    CorpusUnavailableError,
    fetch_corpus,
    get_corpus,
    load_catalog,
    member_pattern,
    normalize_text,
)
from tokkit.corpus.readers import iter_files
from tokkit.errors import InputError, TokkitError

# --- a local web server ----------------------------------------------------------------------


class Server:
    """Serves ``routes`` (path → bytes); ``truncate`` paths announce more bytes than they send."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the user's mirror or cache settings, nor writes to ~/.cache."""
    monkeypatch.delenv(cat.MIRROR_ENV, raising=False)
    monkeypatch.setenv(cat.CACHE_ENV, str(tmp_path / "default-cache"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_catalog(tmp_path: Path, files: dict[str, dict], *, name: str = "toy",
                 aliases: dict | None = None) -> Catalog:
    """A catalog of one corpus ``name`` whose files are given as path → catalog fields."""
    entries = [
        {"path": path, "source": f"test:{path}", "license": "CC0", **fields}
        for path, fields in files.items()
    ]
    raw = {"version": 1, "default": [name], "aliases": aliases or {},
           "corpora": [{"name": name, "language": "en", "description": "test", "licenses": ["CC0"],
                        "bytes": sum(e["bytes"] for e in entries), "files": entries}]}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return load_catalog(path)


def entry(data: bytes, url: str, **extra: object) -> dict:
    return {"bytes": len(data), "sha256": sha(data), "url": url, **extra}


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


A = b"alpha text\n" * 100
B = "béta 文本\n".encode() * 50


# --- the real catalog ------------------------------------------------------------------------

def test_real_catalog_shape() -> None:
    catalog = load_catalog()
    assert list(catalog.corpora) == ["en", "zh", "heldout", "neardup", "large", "parallel"]
    assert catalog.aliases["sample"] == ("en", "zh") and catalog.default == ("en", "zh")
    assert [c.name for c in catalog.resolve("sample")] == ["en", "zh"]
    for corpus in catalog.corpora.values():
        assert corpus.files and corpus.bytes == sum(f.bytes for f in corpus.files)
        assert all(len(f.sha256) == 64 for f in corpus.files)
        if corpus.name == "large":  # cut from a repository's files: no URL gives these bytes
            assert all(f.url is None and f.text_bytes and f.text_sha256 for f in corpus.files)
        else:
            assert all(f.url and f.url.startswith("https://") for f in corpus.files)
    parallel = catalog.corpora["parallel"].files
    assert {f.path.split(".")[1] for f in parallel} == {"de", "en", "es", "fr", "id", "it", "ja",
                                                        "pt", "zh-tw"}
    assert all(f.transform == "gunzip" and f.url and f.url.startswith(
        "https://deb.debian.org/debian/pool/main/d/debian-reference/") for f in parallel)
    with pytest.raises(InputError, match="unknown corpus 'fr'; choose one of: en, zh"):
        catalog.resolve("fr")


def test_real_catalog_matches_the_manifest(corpora: Path) -> None:
    manifest = json.loads((corpora / "MANIFEST.json").read_text(encoding="utf-8"))
    files = {f.path: f for c in load_catalog().corpora.values() for f in c.files}
    assert set(files) == {e["path"] for e in manifest}
    for e in manifest:
        f = files[e["path"]]
        assert (f.sha256, f.bytes, f.source, f.license) == (e["sha256"], e["bytes"], e["source"],
                                                            e["license"])
        assert (f.text_bytes, f.text_sha256) == (e.get("text_bytes"), e.get("text_sha256"))


def test_the_catalog_is_what_the_build_script_makes(corpora: Path) -> None:
    """corpora/catalog.json is scripts/build_catalog.py's output for the mirror's manifest."""
    import importlib.util

    script = cat.catalog_path().parents[1] / "scripts" / "build_catalog.py"
    spec = importlib.util.spec_from_file_location("build_catalog", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    manifest = json.loads((corpora / "MANIFEST.json").read_text(encoding="utf-8"))
    assert module.build(manifest) == json.loads(cat.catalog_path().read_text(encoding="utf-8"))


def test_mirror_only_corpus_says_so(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path, {"toy/a.txt.zst": {"bytes": 3, "sha256": sha(b"abc"),
                                                        "text_bytes": 9, "text_sha256": "0" * 64}})
    assert catalog.corpora["toy"].files[0].url is None
    with pytest.raises(CorpusUnavailableError) as err:
        get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path)
    message = str(err.value)
    assert message.startswith("toy/a.txt.zst is available from a mirror only")
    assert "`mirror=DIR`" in message and "\n" not in message
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "a.txt.zst").write_bytes(b"abc")
    assert get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path) == \
        tmp_path / "toy"


def test_text_transform_reproduces_the_mirror_from_published_bytes(corpora: Path) -> None:
    """The ``text`` transform turns the published editions (BOM + CRLF, or Latin-1) into en/."""
    files = {f.path: f for f in load_catalog().corpora["en"].files}
    for raw, clean in [("neardup/pride_and_prejudice/1342-0.txt", "en/pride_and_prejudice.txt"),
                       ("neardup/sherlock_holmes/1661-8.txt", "en/sherlock_holmes.txt")]:
        assert sha(normalize_text((corpora / raw).read_bytes())) == files[clean].sha256


def test_real_mirror_is_found_and_verified_once(corpora: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With no mirror named, ``../shared/corpora`` beside the project root is used."""
    real_catalog = cat.catalog_path()
    (tmp_path / "project" / "corpora").mkdir(parents=True)
    (tmp_path / "project" / "corpora" / "catalog.json").write_bytes(real_catalog.read_bytes())
    (tmp_path / "shared").symlink_to(corpora.parent)
    monkeypatch.setattr(cat, "project_root", lambda: tmp_path / "project")
    corpora = tmp_path / "shared" / "corpora"
    assert cat.mirror_candidates()[0][0] == corpora
    cache = tmp_path / "cache"
    first = fetch_corpus("heldout", cache_dir=cache)
    assert first.path == corpora / "heldout" and first.origin == "mirror" and first.hashed == 2
    again = fetch_corpus("heldout", cache_dir=cache)
    assert again.hashed == 0  # the sha256 is remembered
    assert fetch_corpus("heldout", cache_dir=cache, verify=True).hashed == 2
    sample = fetch_corpus("sample", cache_dir=cache)
    assert sample.origin == "alias" and sample.path == cache / "sample"
    assert len(list(iter_files([sample.path]))) == len(list(iter_files([corpora / "en",
                                                                         corpora / "zh"])))
    assert cat.default_corpus_paths(cache_dir=cache) == [corpora / "en", corpora / "zh"]


# --- mirrors ---------------------------------------------------------------------------------

def test_mirror_argument_env_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A, "http://127.0.0.1:1/a")})
    for mirror in ("m1", "m2"):
        (tmp_path / mirror / "toy").mkdir(parents=True)
        (tmp_path / mirror / "toy" / "a.txt").write_bytes(A)
    cache = tmp_path / "cache"
    monkeypatch.setenv(cat.MIRROR_ENV, str(tmp_path / "m2"))
    assert get_corpus("toy", catalog=catalog, cache_dir=cache) == tmp_path / "m2" / "toy"
    got = get_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path / "m1")
    assert got == tmp_path / "m1" / "toy"
    with pytest.raises(InputError, match="is not a directory"):
        get_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path / "nope")
    with pytest.raises(CorpusUnavailableError, match="looks like the toy folder itself: pass its "
                       "parent"):
        get_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path / "m1" / "toy")


def test_bad_mirror_falls_back_to_download(tmp_path: Path, server: Server,
                                           caplog: pytest.LogCaptureFixture) -> None:
    server.routes["/a"] = A
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A, server.url + "/a")})
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "a.txt").write_bytes(A.replace(b"alpha", b"ALPHA"))  # same size, other bytes
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="tokkit"):
        fetched = fetch_corpus("toy", catalog=catalog, mirror=mirror, cache_dir=cache)
    assert fetched.origin == "download" and fetched.path == cache / "toy"
    assert (cache / "toy" / "a.txt").read_bytes() == A
    assert "toy/a.txt has sha256" in caplog.text


def test_changed_file_is_rehashed(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A, "http://127.0.0.1:1/a")})
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "a.txt").write_bytes(A)
    cache = tmp_path / "cache"
    assert fetch_corpus("toy", catalog=catalog, mirror=mirror, cache_dir=cache).hashed == 1
    (mirror / "toy" / "a.txt").write_bytes(A.upper())  # same size, new mtime
    st = (mirror / "toy" / "a.txt").stat()
    os.utime(mirror / "toy" / "a.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(CorpusUnavailableError) as err:
        fetch_corpus("toy", catalog=catalog, mirror=mirror, cache_dir=cache)
    assert "toy/a.txt has sha256" in str(err.value)  # the mirror's problem is part of the message


# --- downloads -------------------------------------------------------------------------------

def test_download_verifies_and_caches(tmp_path: Path, server: Server) -> None:
    server.routes.update({"/a": A, "/b": B})
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A, server.url + "/a"),
                                      "toy/sub/b.txt": entry(B, server.url + "/b")})
    cache = tmp_path / "cache"
    fetched = fetch_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path)
    assert fetched.origin == "download" and fetched.downloaded == 2
    assert (cache / "toy" / "a.txt").read_bytes() == A
    assert (cache / "toy" / "sub" / "b.txt").read_bytes() == B
    again = fetch_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path)
    assert (again.origin, again.hashed, len(server.requests)) == ("cache", 0, 2)
    (cache / "toy" / "a.txt").unlink()  # only the missing file is fetched again
    fetch_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path)
    assert server.requests == ["/a", "/b", "/a"]


def test_download_sha_mismatch_leaves_nothing(tmp_path: Path, server: Server) -> None:
    server.routes["/a"] = A + b"changed upstream\n"
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A, server.url + "/a")})
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError) as err:
        get_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path)
    message = str(err.value)
    assert message.startswith(f"toy/a.txt: {server.url}/a gives {len(A) + 17:,} bytes")
    assert "nothing was saved" in message and "\n" not in message
    assert [f for f in files_under(cache) if f != "verified.json"] == []


def test_interrupted_download_leaves_nothing(tmp_path: Path, server: Server) -> None:
    server.routes["/a"] = A * 50
    server.truncate.add("/a")
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A * 50, server.url + "/a")})
    cache = tmp_path / "cache"
    with pytest.raises(CorpusUnavailableError) as err:
        get_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path)
    assert f"cannot download toy/a.txt from {server.url}/a (IncompleteRead" in str(err.value)
    assert [f for f in files_under(cache) if f != "verified.json"] == []


def test_offline_is_one_line_with_url_and_fix(tmp_path: Path, server: Server) -> None:
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A, "http://127.0.0.1:1/a"),
                                      "toy/b.txt": entry(B, server.url + "/missing")})
    with pytest.raises(CorpusUnavailableError) as err:
        get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path)
    message = str(err.value)
    assert message.startswith("cannot download toy/a.txt from http://127.0.0.1:1/a (")
    assert "`mirror=DIR`" in message and cat.MIRROR_ENV in message and "\n" not in message
    catalog = make_catalog(tmp_path, {"toy/b.txt": entry(B, server.url + "/missing")})
    with pytest.raises(CorpusUnavailableError, match="HTTP 404"):
        get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path)


def test_text_transform_on_download(tmp_path: Path, server: Server) -> None:
    published = b"\xef\xbb\xbfline one\r\nline two\r\n"
    clean = b"line one\nline two\n"
    server.routes["/p"] = published
    catalog = make_catalog(tmp_path, {"toy/p.txt": entry(clean, server.url + "/p",
                                                         transform="text")})
    path = get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path)
    assert (path / "p.txt").read_bytes() == clean
    assert normalize_text("café\r\n".encode("latin-1")) == "café\n".encode()


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("Repo-HEAD/", b"")
        for name, data in members.items():
            zf.writestr(f"Repo-HEAD/{name}", data)
    return buf.getvalue()


def test_archive_members_joined_in_sorted_order(tmp_path: Path, server: Server) -> None:
    members = {
        "数据/书/第二/target.txt": "二\r\n".encode(),
        "数据/书/第一/target.txt": "一\n".encode(),
        "数据/书/target.txt": "零".encode(),  # no final newline: one is added
        "数据/书/第一/source.txt": b"not matched\n",
        "数据/别的/target.txt": "其他\n".encode(),
    }
    server.routes["/repo.zip"] = zip_of(members)
    book = "零\n一\n二\n".encode()  # sorted: 书/target, 书/第一/target (一 < 二), 书/第二/target
    other = "其他\n".encode()
    url = server.url + "/repo.zip"
    catalog = make_catalog(tmp_path, {
        "toy/book.txt": entry(book, url, members="数据/书/**/target.txt", transform="text"),
        "toy/other.txt": entry(other, url, members="数据/别的/**/target.txt", transform="text"),
    })
    cache = tmp_path / "cache"
    path = get_corpus("toy", catalog=catalog, cache_dir=cache, mirror=tmp_path)
    assert (path / "book.txt").read_bytes() == book
    assert (path / "other.txt").read_bytes() == other
    assert server.requests == ["/repo.zip"]  # one archive download serves both files
    assert [f for f in files_under(cache) if f != "verified.json"] == ["toy/book.txt",
                                                                        "toy/other.txt"]


def test_archive_mismatch_says_what_was_joined(tmp_path: Path, server: Server) -> None:
    server.routes["/repo.zip"] = zip_of({"d/x/target.txt": b"new text\n"})
    catalog = make_catalog(tmp_path, {"toy/x.txt": entry(b"old text\n", server.url + "/repo.zip",
                                                         members="d/**/target.txt")})
    with pytest.raises(ChecksumError) as err:
        get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path)
    assert "the 1 members d/**/target.txt of" in str(err.value)
    assert "nothing was saved" in str(err.value)
    assert files_under(tmp_path / "c") in ([], ["verified.json"])
    server.routes["/bad.zip"] = b"this is not a zip"
    catalog = make_catalog(tmp_path, {"toy/x.txt": entry(b"x", server.url + "/bad.zip",
                                                         members="d/*.txt")})
    with pytest.raises(CorpusUnavailableError, match="not a valid zip archive"):
        get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path)


def deb_of(members: dict[str, bytes], *, compression: str = "xz") -> bytes:
    """A real Debian package layout: an ar archive of debian-binary, control and data tars."""
    def tar_of(files: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(f"./{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    parts = [("debian-binary", b"2.0\n"), ("control.tar.xz", tar_of({"control": b"Package: x\n"})),
             (f"data.tar.{compression}", tar_of(members))]
    out = [b"!<arch>\n"]
    for name, data in parts:
        out.append(f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode())
        out.append(data + (b"\n" if len(data) % 2 else b""))
    return b"".join(out)


@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_debian_package_member_is_unpacked_and_verified(tmp_path: Path, server: Server,
                                                         compression: str) -> None:
    text = "Debian 参考手册\nline two\n".encode()
    server.routes["/pool/x_1.0_all.deb"] = deb_of(
        {"usr/share/doc/x/x.de.txt.gz": gzip.compress(text), "usr/share/doc/x/other": b"odd"},
        compression=compression)
    server.routes["/pool/bad.deb"] = b"!<arch>\n" + b"not really a header " * 4
    server.routes["/pool/empty.deb"] = b"!<arch>\n"
    url = server.url + "/pool/x_1.0_all.deb"
    catalog = make_catalog(tmp_path, {"toy/x.de.txt": entry(
        text, url, members="usr/share/doc/x/x.de.txt.gz", transform="gunzip")})
    path = get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "c", mirror=tmp_path)
    assert (path / "x.de.txt").read_bytes() == text
    for bad_url, member, expected in [
        (url, "usr/share/doc/x/missing.gz", "no member usr/share/doc/x/missing.gz"),
        (url, "usr/share/doc/x/other", "is not gzip data"),
        (server.url + "/pool/bad.deb", "usr/x.gz", "corrupt ar header"),
        (server.url + "/pool/empty.deb", "usr/x.gz", "no data.tar member"),
    ]:
        catalog = make_catalog(tmp_path, {"toy/y.txt": entry(text, bad_url, members=member,
                                                             transform="gunzip")})
        with pytest.raises(ChecksumError, match=expected) as err:
            get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "d", mirror=tmp_path)
        assert "\n" not in str(err.value) and "`mirror=DIR`" in str(err.value)
        assert files_under(tmp_path / "d") in ([], ["verified.json"])
    catalog = make_catalog(tmp_path, {"toy/z.txt": entry(text + b"!", url, transform="gunzip",
                                                         members="usr/share/doc/x/x.de.txt.gz")})
    with pytest.raises(ChecksumError, match="nothing was saved"):
        get_corpus("toy", catalog=catalog, cache_dir=tmp_path / "e", mirror=tmp_path)


@pytest.mark.parametrize(("glob", "path", "matches"), [
    ("a/**/t.txt", "a/t.txt", True),
    ("a/**/t.txt", "a/b/c/t.txt", True),
    ("a/**/t.txt", "a/b/s.txt", False),
    ("a/*/t.txt", "a/b/c/t.txt", False),
    ("a/?.txt", "a/x.txt", True),
    ("a/[x].txt", "a/x.txt", False),  # brackets are literal here
    ("a.b/*.txt", "aXb/t.txt", False),
])
def test_member_pattern(glob: str, path: str, matches: bool) -> None:
    assert bool(member_pattern(glob).match(path)) is matches


# --- aliases and bad catalogs ----------------------------------------------------------------

def test_alias_directory_of_links(tmp_path: Path) -> None:
    raw = {"version": 1, "default": ["x", "y"], "aliases": {"both": ["x", "y"]}, "corpora": [
        {"name": n, "language": "en", "licenses": ["CC0"], "bytes": len(A),
         "files": [{"path": f"{n}/a.txt", "source": "s", "license": "CC0", **entry(A, "http://127.0.0.1:1/x")}]}
        for n in ("x", "y")]}
    (tmp_path / "catalog.json").write_text(json.dumps(raw))
    catalog = load_catalog(tmp_path / "catalog.json")
    mirror = tmp_path / "mirror"
    for n in ("x", "y"):
        (mirror / n).mkdir(parents=True)
        (mirror / n / "a.txt").write_bytes(A)
    cache = tmp_path / "cache"
    path = get_corpus("both", catalog=catalog, mirror=mirror, cache_dir=cache)
    assert files_under(path) == ["x/a.txt", "y/a.txt"]
    assert (path / "x" / "a.txt").resolve() == (mirror / "x" / "a.txt").resolve()
    inode = path.stat().st_ino
    assert get_corpus("both", catalog=catalog, mirror=mirror, cache_dir=cache) == path
    assert path.stat().st_ino == inode  # not rebuilt when already right


def test_broken_catalog(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text("{not json")
    with pytest.raises(TokkitError, match="not a valid corpus catalog"):
        load_catalog(bad)
    bad.write_text(json.dumps({"corpora": [{"name": "x", "language": "en", "licenses": [],
                                            "files": [{"path": "../etc/passwd", "bytes": 1,
                                                       "sha256": "0", "source": "s",
                                                       "license": "l", "url": "u"}]}]}))
    with pytest.raises(TokkitError, match="not inside x/"):
        load_catalog(bad)
    bad.write_text(json.dumps({"version": 2, "corpora": []}))
    with pytest.raises(TokkitError, match="version 2 needs another tokkit version"):
        load_catalog(bad)


def test_unwritable_cache_is_one_line(tmp_path: Path, server: Server) -> None:
    server.routes["/a"] = A
    catalog = make_catalog(tmp_path, {"toy/a.txt": entry(A, server.url + "/a")},
                           aliases={"all": ["toy"]})
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(TokkitError) as err:
        get_corpus("toy", catalog=catalog, cache_dir=not_a_dir, mirror=tmp_path)
    assert str(err.value).startswith(f"cannot write to the corpus cache {not_a_dir} (")
    assert "`cache_dir=DIR`" in str(err.value)
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "a.txt").write_bytes(A)
    with pytest.raises(TokkitError, match="cannot write to the corpus cache"):
        get_corpus("all", catalog=catalog, cache_dir=not_a_dir, mirror=mirror)
