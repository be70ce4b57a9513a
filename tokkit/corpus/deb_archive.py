"""One file out of a Debian package (``.deb``), with the standard library only.

A ``.deb`` is an ``ar`` archive whose ``data.tar.{xz,gz,bz2,zst}`` member holds the installed
tree. The catalog fetches the ``parallel/`` corpus this way: Debian's mirrors keep every released
package byte for byte, so the text inside verifies against the catalog's sha256 forever.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

AR_MAGIC = b"!<arch>\n"
_HEADER = 60


class DebArchiveError(ValueError):
    """The bytes are not a ``.deb``, or lack the member asked for."""


def _ar_members(data: bytes) -> dict[str, bytes]:
    """The members of an ``ar`` archive: name → bytes (GNU names end with ``/``)."""
    if not data.startswith(AR_MAGIC):
        raise DebArchiveError("not an ar archive (no !<arch> header)")
    members: dict[str, bytes] = {}
    pos = len(AR_MAGIC)
    while pos + _HEADER <= len(data):
        header = data[pos:pos + _HEADER]
        if header[58:60] != b"`\n":
            raise DebArchiveError(f"corrupt ar header at byte {pos}")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        start = pos + _HEADER
        members[name] = data[start:start + size]
        pos = start + size + (size & 1)  # members are padded to an even offset
    return members


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def _open_tar(name: str, payload: bytes) -> tarfile.TarFile:
    if name.endswith(".zst"):
        import zstandard  # a tokkit dependency (readers open .zst corpora)

        payload = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(payload)).read()
        return tarfile.open(fileobj=io.BytesIO(payload), mode="r:")
    return tarfile.open(fileobj=io.BytesIO(payload), mode="r:*")


def read_deb_member(deb: str | Path | bytes, member: str, *, gunzip: bool = False) -> bytes:
    """The bytes of ``member`` (a path in the installed tree, e.g.
    ``usr/share/doc/x/README.gz``) inside a ``.deb``; ``gunzip`` decompresses a ``.gz`` member."""
    data = deb if isinstance(deb, bytes) else Path(deb).read_bytes()
    members = _ar_members(data)
    tar_name = next((n for n in members if n.startswith("data.tar")), None)
    if tar_name is None:
        raise DebArchiveError("no data.tar member: not a Debian package")
    wanted = _clean(member)
    try:
        with _open_tar(tar_name, members[tar_name]) as tar:
            for info in tar:
                if info.isfile() and _clean(info.name) == wanted:
                    extracted = tar.extractfile(info)
                    assert extracted is not None  # a regular file always has a stream
                    body = extracted.read()
                    break
            else:
                raise DebArchiveError(f"no member {wanted} in the package")
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DebArchiveError(f"unreadable {tar_name} ({err})") from None
    if gunzip:
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as err:
            raise DebArchiveError(f"{wanted} is not gzip data ({err})") from None
    return body
