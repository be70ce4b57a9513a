"""Property tests: whatever the text, line endings, BOM, compression and read-chunk size, the
readers return exactly what a whole-file reference computes, and invalid UTF-8 is reported at
the offset Python's own decoder finds."""

from __future__ import annotations

import gzip
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkit.corpus import decode
from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.errors import EncodingError

line_text = st.text(st.characters(blacklist_characters="\n\r\x00", blacklist_categories=["Cs"]),
                    max_size=40)
SUFFIXES = [".txt", ".txt.gz", ".txt.zst"]


@contextmanager
def chunk_size(n: int) -> Iterator[None]:
    old = decode._CHUNK
    decode._CHUNK = n
    try:
        yield
    finally:
        decode._CHUNK = old


def write(directory: Path, suffix: str, data: bytes) -> Path:
    path = directory / f"doc{suffix}"
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    elif suffix.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def reference_paragraphs(lines: list[str]) -> list[str]:
    out, block = [], []
    for line in lines:
        if line and not line.isspace():
            block.append(line)
        elif block:
            out.append("\n".join(block))
            block = []
    if block:
        out.append("\n".join(block))
    return out


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line_text, max_size=30), crlf=st.lists(st.booleans(), min_size=30),
       bom=st.booleans(), final_newline=st.booleans(), suffix=st.sampled_from(SUFFIXES),
       chunk=st.sampled_from([1, 2, 3, 5, 16, 1 << 20]))
def test_any_text_reads_like_the_reference(lines: list[str], crlf: list[bool], bom: bool,
                                           final_newline: bool, suffix: str, chunk: int) -> None:
    endings = ["\r\n" if c else "\n" for c in crlf]
    body = "".join(line + end for line, end in zip(lines, endings, strict=False))
    if lines and not final_newline:
        body = body[: -len(endings[len(lines) - 1])]
    data = (b"\xef\xbb\xbf" if bom else b"") + body.encode()
    expected_lines = [line for line in lines if line and not line.isspace()]
    with tempfile.TemporaryDirectory() as tmp, chunk_size(chunk):
        path = write(Path(tmp), suffix, data)
        assert list(read_texts([path], split="line")) == expected_lines
        assert list(read_texts([path], split="paragraph")) == reference_paragraphs(lines)
        whole = body.replace("\r\n", "\n")
        assert list(read_texts([path], split="file")) == ([whole] if whole.strip() else [])


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line_text, min_size=1, max_size=20), where=st.integers(0, 10_000),
       bad=st.sampled_from([b"\xff", b"\xc3", b"\xe4\xb8", b"\xed\xa0\x80", b"\x80\x80"]),
       suffix=st.sampled_from(SUFFIXES), chunk=st.sampled_from([1, 4, 1 << 20]),
       split=st.sampled_from(["line", "paragraph", "file"]))
def test_invalid_utf8_offset_is_pythons(lines: list[str], where: int, bad: bytes, suffix: str,
                                        chunk: int, split: str) -> None:
    data = "\n".join(lines).encode() + b"\n"
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10]
    cut = starts[where % len(starts)]
    data = data[:cut] + bad + data[cut:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        expected = err.start
    with tempfile.TemporaryDirectory() as tmp, chunk_size(chunk):
        path = write(Path(tmp), suffix, data)
        try:
            list(read_texts([path], ReadOptions(split=split)))  # type: ignore[arg-type]
        except EncodingError as err:
            assert err.offset == expected
        else:
            raise AssertionError("invalid UTF-8 was not reported")
        replaced = list(read_texts([path], split=split, encoding_errors="replace"))
        assert "\ufffd" in "".join(replaced)


@settings(max_examples=100, deadline=None)
@given(records=st.lists(st.text(st.characters(blacklist_categories=["Cs"]), max_size=30),
                        max_size=20),
       ascii_only=st.booleans(), suffix=st.sampled_from([".jsonl", ".jsonl.gz", ".json"]))
def test_jsonl_round_trip(records: list[str], ascii_only: bool, suffix: str) -> None:
    """Any text survives JSON escaping (NUL, newlines, CR, emoji) exactly; blanks are skipped."""
    if suffix == ".json":
        data = json.dumps([{"text": r} for r in records], ensure_ascii=ascii_only).encode()
    else:
        data = "".join(json.dumps({"text": r, "n": 1}, ensure_ascii=ascii_only) + "\n"
                       for r in records).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), suffix, data)
        got = list(read_texts([path]))
    assert got == [r for r in records if r and not r.isspace()]
