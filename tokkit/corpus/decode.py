"""Bytes to text for every reader: UTF-8 with the readers' rules (see :mod:`tokkit.corpus.readers`).

A file is sniffed first (empty, UTF-16 or NUL-bearing files are skipped, a UTF-8 byte-order mark
dropped); then text is read in runs of whole lines about 1 MiB long, decoded in one go unless a
run holds bad bytes, and a unit (line, file or record) that is too large, holds a NUL or invalid
UTF-8 is reported at its byte offset or dropped as ``encoding_errors`` says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import IO

from tokkit.corpus.decompress import Source
from tokkit.corpus.options import Batch, ReadOptions, ReadStats
from tokkit.errors import EncodingError, InputError

log = logging.getLogger("tokkit")

_SNIFF_BYTES = 8192
_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def sniff_skip(src: Source, stats: ReadStats) -> bool:
    """Skip empty and binary (NUL-bearing or UTF-16) files with a warning; drop a UTF-8 BOM."""
    head = src.stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # type: ignore[attr-defined]
    reason = None
    if not head:
        stats.skipped_empty += 1
        reason = "empty file, skipped"
    elif head.startswith(_UTF16_BOMS):
        stats.skipped_binary += 1
        reason = "looks like UTF-16 (byte-order mark), skipped; re-encode it to UTF-8"
    elif (nul := head.find(b"\x00")) >= 0:
        stats.skipped_binary += 1
        reason = f"binary file (NUL byte at offset {nul}), skipped"
    if reason:
        stats.skipped_paths.append(str(src.path))
        log.warning("%s: %s", src.path, reason)
        return True
    if head.startswith(_BOM):
        src.stream.read(len(_BOM))
        src.base = len(_BOM)
    return False


def cap_advice(src: Source) -> str:
    """``max_document_bytes`` large enough for the whole file (in whole MiB), when its size says (not
    compressed)."""
    if src.compression:
        return "`max_document_bytes`"
    return f"`max_document_bytes={-(-src.path.stat().st_size // (1 << 20)) << 20}` or more"


def _line_fix(src: Source) -> str:
    """What to do about a line over the cap. Not split='file': the file holds the line, so it is
    over the cap too (and that advice sent users back here)."""
    return f"it is not line-oriented text: re-wrap it into lines, or raise {cap_advice(src)}"


def too_large(src: Source, what: str, offset: int | None, cap: int, fix: str) -> InputError:
    where = "" if offset is None else f" at byte offset {offset}{src.where()}"
    return InputError(f"{src.path}: {what}{where} is larger than max_document_bytes={cap:,}; {fix}")


def decode_unit(data: bytes, offset: int, src: Source, options: ReadOptions,
                 stats: ReadStats, unit: str) -> str | None:
    """Decode one unit (line, file or record); ``None`` means it was dropped (warned, counted)."""
    nul = data.find(b"\x00")
    if nul >= 0:
        stats.skipped_nul += 1
        src.warn_once("nul", f"NUL byte at byte offset {offset + nul}{src.where()} (binary data?), "
                      f"{unit} dropped (further ones in this file are counted, not reported)")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        where = offset + err.start
        if options.encoding_errors == "strict":
            reason = "invalid UTF-8" + (" in the decompressed stream" if src.compression else "")
            raise EncodingError(str(src.path), where, reason) from None
        if options.encoding_errors == "skip":
            stats.skipped_invalid_utf8 += 1
            src.warn_once("utf8", f"invalid UTF-8 at byte offset {where}{src.where()}, {unit} "
                          "dropped (further ones in this file are counted, not reported)")
            return None
        stats.replaced_invalid_utf8 += 1
        src.warn_once("utf8", f"invalid UTF-8 at byte offset {where}{src.where()} replaced by "
                      "U+FFFD (further ones in this file are counted, not reported)")
        text = data.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n") if "\r" in text else text


def line_regions(src: Source, cap: int) -> Iterator[tuple[int, bytes]]:
    """Yield (offset, bytes) runs of whole lines read 1 MiB at a time.

    Each run ends with ``\\n`` except a last line without one. A line longer than ``cap`` is an
    error raised after holding at most ``cap`` + 1 MiB of it.
    """
    offset = src.base
    pending: list[bytes] = []
    pending_len = 0
    fix = _line_fix(src)
    while chunk := src.stream.read(_CHUNK):
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            pending.append(chunk)
            pending_len += len(chunk)
            if pending_len > cap:
                raise too_large(src, "a line", offset, cap, fix)
            continue
        region = b"".join((*pending, chunk[:cut])) if pending else chunk[:cut]
        if len(region) > cap:
            start = 0
            while start < len(region):
                end = region.index(b"\n", start) + 1
                if end - start - 1 > cap:
                    raise too_large(src, "a line", offset + start, cap, fix)
                start = end
        yield offset, region
        offset += len(region)
        rest = chunk[cut:]
        pending, pending_len = ([rest], len(rest)) if rest else ([], 0)
    if pending:
        yield offset, b"".join(pending)


def region_lines(region: bytes, offset: int, src: Source, options: ReadOptions,
                  stats: ReadStats) -> list[str | None]:
    """Split a run of lines; decode it in one go unless it holds bad bytes (then line by line)."""
    try:
        text = region.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"  # take the careful path below
    if "\x00" not in text:
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines: list[str | None] = list(text.split("\n"))
        if text.endswith("\n"):
            lines.pop()
        elif lines and lines[-1].endswith("\r"):  # type: ignore[union-attr]
            lines[-1] = lines[-1][:-1]  # type: ignore[index]
        return lines
    out: list[str | None] = []
    pieces = region.split(b"\n")
    if region.endswith(b"\n"):
        pieces.pop()
    pos = offset
    for piece in pieces:
        start, pos = pos, pos + len(piece) + 1
        out.append(decode_unit(piece.removesuffix(b"\r"), start, src, options, stats, "line"))
    return out


def read_capped(stream: IO[bytes], cap: int) -> tuple[bytes | None, bool]:
    """(the rest of ``stream``, or ``None`` as soon as it exceeds ``cap`` bytes; whether a newline
    was seen). Read by chunks so a small file never costs a ``cap``-sized allocation."""
    parts: list[bytes] = []
    total = 0
    newline = False
    while chunk := stream.read(min(_CHUNK, cap + 1 - total)):
        parts.append(chunk)
        newline = newline or b"\n" in chunk
        total += len(chunk)
        if total > cap:
            return None, newline
    return b"".join(parts), newline


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def filter_lines(lines: list[str | None], first: int, options: ReadOptions,
            want_ids: bool) -> Batch:
    """The lines worth yielding, and their line numbers when asked."""
    if options.keep_empty:
        texts = [line for line in lines if line is not None]
        ids = [i for i, line in enumerate(lines, first) if line is not None] if want_ids else None
    else:
        texts = [line for line in lines if line and not line.isspace()]
        ids = ([i for i, line in enumerate(lines, first) if line and not line.isspace()]
               if want_ids else None)
    return ids, texts
