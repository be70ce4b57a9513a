"""Corpus readers: formats, splits, compression, and every kind of bad input the issue names."""

from __future__ import annotations

import gzip
import json
import logging
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from tokkit.corpus import decode
from tokkit.corpus.readers import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    ReadOptions,
    ReadStats,
    corpus_bytes,
    iter_files,
    read_documents,
    read_texts,
)
from tokkit.errors import EncodingError, InputError


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, compressed according to its suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def texts(paths, **kw) -> list[str]:
    return list(read_texts(paths, ReadOptions(**kw)))


class Task:
    """A ProgressTask that records what it was told."""

    def __init__(self) -> None:
        self.done = 0

    def advance(self, n: int = 1) -> None:
        assert n >= 0
        self.done += n

    def update_total(self, total: int | None) -> None:
        pass


# --- text files and splits -------------------------------------------------------------------

SAMPLE = b"first line\nsecond line\n\n  \nthird para\nstill third\n"


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz", ".txt.zst"])
def test_splits_exact(tmp_path: Path, suffix: str) -> None:
    f = write(tmp_path / f"a{suffix}", SAMPLE)
    assert texts([f], split="file") == [SAMPLE.decode()]
    assert texts([f], split="line") == ["first line", "second line", "third para", "still third"]
    assert texts([f], split="paragraph") == ["first line\nsecond line", "third para\nstill third"]
    assert texts([f], split="line", keep_empty=True) == [
        "first line", "second line", "", "  ", "third para", "still third"]


def test_document_ids_point_back_to_the_source(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", SAMPLE)
    docs = list(read_documents([f], ReadOptions(split="line")))
    assert [d.id for d in docs] == [f"{f}:0", f"{f}:1", f"{f}:4", f"{f}:5"]
    assert {d.source for d in docs} == {str(f)}
    paragraphs = list(read_documents([f], ReadOptions(split="paragraph")))
    assert [d.id for d in paragraphs] == [f"{f}:0", f"{f}:1"]
    assert [d.id for d in read_documents([f])] == [str(f)]


def test_crlf_and_no_final_newline(tmp_path: Path) -> None:
    f = write(tmp_path / "w.txt", b"one\r\ntwo\r\n\r\nthree\r")
    assert texts([f], split="line") == ["one", "two", "three"]
    assert texts([f], split="paragraph") == ["one\ntwo", "three"]
    assert texts([f], split="file") == ["one\ntwo\n\nthree\r"]  # a lone CR is kept


def test_utf8_bom_dropped_at_file_start_only(tmp_path: Path) -> None:
    f = write(tmp_path / "bom.txt", b"\xef\xbb\xbfhello\nmid\xef\xbb\xbfdle\n")
    assert texts([f], split="line") == ["hello", "mid\ufeffdle"]
    assert texts([f], split="file") == ["hello\nmid\ufeffdle\n"]
    j = write(tmp_path / "bom.jsonl", b'\xef\xbb\xbf{"text": "x"}\n')
    assert texts([j]) == ["x"]


def test_stats_count_what_was_yielded(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "héllo\n世界\n\n".encode())
    stats = ReadStats()
    out = list(read_texts([tmp_path], ReadOptions(split="line"), stats=stats))
    assert out == ["héllo", "世界"]
    assert (stats.files, stats.documents, stats.bytes) == (1, 2, len("héllo世界".encode()))
    assert "1 files, 2 documents" in stats.summary()


def test_read_texts_keywords_over_options(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", SAMPLE)
    assert list(read_texts([f], ReadOptions(split="line"), keep_empty=True))[2] == ""
    assert list(read_texts(f, split="paragraph")) == texts([f], split="paragraph")  # a bare path


@pytest.mark.parametrize("bad", [{"split": "lines"}, {"encoding_errors": "ignore"},
                                 {"max_document_bytes": 0}, {"max_document_bytes": -5},
                                 {"text_field": ""}])
def test_nonsensical_options_are_input_errors(bad: dict) -> None:
    with pytest.raises(InputError):
        ReadOptions(**bad)


# --- invalid UTF-8 ---------------------------------------------------------------------------

BAD_AT = 23  # byte offset of the invalid byte in BAD
BAD = b"good line\nanother one\nx\xffy\nlast line\n"
assert BAD.index(b"\xff") == BAD_AT


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz", ".txt.zst"])
@pytest.mark.parametrize("split", ["file", "line", "paragraph"])
def test_invalid_utf8_names_file_and_offset(tmp_path: Path, suffix: str, split: str) -> None:
    f = write(tmp_path / f"bad{suffix}", BAD)
    with pytest.raises(EncodingError) as err:
        texts([f], split=split)
    message = str(err.value)
    assert err.value.offset == BAD_AT and err.value.path == str(f)
    assert f"{f}: invalid UTF-8" in message and f"byte offset {BAD_AT}" in message
    assert "`encoding_errors=" in message and "\n" not in message
    assert ("decompressed" in message) == (suffix != ".txt")


def test_invalid_utf8_offset_counts_the_bom(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.txt", b"\xef\xbb\xbf" + BAD)
    with pytest.raises(EncodingError) as err:
        texts([f], split="line")
    assert err.value.offset == BAD_AT + 3


def test_invalid_utf8_replace_and_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = write(tmp_path / "bad.txt", BAD + b"\xfe\n")
    stats = ReadStats()
    out = list(read_texts([f], ReadOptions(split="line", encoding_errors="replace"), stats=stats))
    assert out == ["good line", "another one", "x\ufffdy", "last line", "\ufffd"]
    assert stats.replaced_invalid_utf8 == 2
    stats = ReadStats()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tokkit"):
        out = list(read_texts([f], ReadOptions(split="line", encoding_errors="skip"), stats=stats))
    assert out == ["good line", "another one", "last line"]
    assert stats.skipped_invalid_utf8 == 2
    warnings = [r.getMessage() for r in caplog.records if "invalid UTF-8" in r.getMessage()]
    assert len(warnings) == 1 and f"byte offset {BAD_AT}" in warnings[0]  # once per file
    # split=file: the file is the unit that is dropped
    stats = ReadStats()
    assert list(read_texts([f], ReadOptions(encoding_errors="skip"), stats=stats)) == []
    assert stats.skipped_invalid_utf8 == 1


def test_latin1_edition_fails_at_its_first_non_utf8_byte(corpora: Path) -> None:
    """A real Latin-1 Gutenberg edition: the offset is the first byte Python refuses."""
    path = corpora / "neardup" / "sherlock_holmes" / "1661-8.txt"
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError) as expected:
        data.decode("utf-8")
    with pytest.raises(EncodingError) as err:
        texts([path], split="line")
    assert err.value.offset == expected.value.start


# --- empty, binary, NUL ----------------------------------------------------------------------

def test_empty_and_binary_files_skipped_and_counted(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "a_empty.txt", b"")
    write(tmp_path / "b_empty.txt.gz", b"")
    write(tmp_path / "c_binary.txt", b"PK\x03\x04\x00\x00binary")
    write(tmp_path / "d_utf16.txt", "hello".encode("utf-16"))
    write(tmp_path / "e_empty.parquet", b"")
    write(tmp_path / "f_good.txt", b"text\n")
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="tokkit"):
        out = list(read_texts([tmp_path], stats=stats))
    assert out == ["text\n"]
    assert (stats.skipped_empty, stats.skipped_binary, stats.files) == (3, 2, 1)
    assert len(stats.skipped_paths) == 5
    log = caplog.text
    assert "a_empty.txt: empty file, skipped" in log
    assert "c_binary.txt: binary file (NUL byte at offset 4)" in log
    assert "UTF-16" in log and "re-encode it to UTF-8" in log


def test_nul_mid_file_drops_only_its_line(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    head = b"".join(b"line %05d\n" % i for i in range(2000))  # 22 kB, past the 8 KiB sniff
    f = write(tmp_path / "n.txt", head + b"bad\x00line\nok\n\x00\n")
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="tokkit"):
        out = list(read_texts([f], ReadOptions(split="line"), stats=stats))
    assert len(out) == 2001 and out[-1] == "ok"
    assert stats.skipped_nul == 2 and stats.skipped_binary == 0
    assert caplog.text.count("NUL byte") == 1 and f"offset {len(head) + 3}" in caplog.text
    paragraphs = texts([f], split="paragraph")
    assert paragraphs[-1].endswith("line 01999\nok")
    stats = ReadStats()
    assert list(read_texts([f], ReadOptions(split="file"), stats=stats)) == []
    assert stats.skipped_nul == 1


# --- huge documents --------------------------------------------------------------------------

def test_huge_line_is_a_clear_error_with_bounded_memory(tmp_path: Path) -> None:
    cap = 4 * 2**20
    f = tmp_path / "one_line.txt"
    with f.open("wb") as out:
        out.write(b"short\n")
        for _ in range(40):
            out.write(b"x" * 2**20)  # 40 MiB without a newline
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as err:
            texts([f], split="line", max_document_bytes=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert f"{f}: a line at byte offset 6 is larger than max_document_bytes=4,194,304" in message
    assert "`max_document_bytes=42991616` or more" in message and "\n" not in message
    assert "split='file'" not in message  # the file holds the line: that split is over the cap too
    assert peak < 3 * cap


def test_default_cap_stops_a_100mb_line(tmp_path: Path) -> None:
    f = tmp_path / "huge.txt"
    with f.open("wb") as out:
        for _ in range(100):
            out.write(b"y" * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="max_document_bytes=67,108,864"):
            texts([f], split="line")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * DEFAULT_MAX_DOCUMENT_BYTES


def test_cap_boundary_is_exact(tmp_path: Path) -> None:
    f = write(tmp_path / "b.txt", b"a" * 100 + b"\n" + b"b" * 101 + b"\n")
    with pytest.raises(InputError, match="byte offset 101"):
        texts([f], split="line", max_document_bytes=100)
    assert texts([f], split="line", max_document_bytes=101) == ["a" * 100, "b" * 101]
    with pytest.raises(InputError, match="the file"):
        texts([f], split="file", max_document_bytes=201)
    assert len(texts([f], split="file", max_document_bytes=204)) == 1
    with pytest.raises(InputError, match=r"paragraph 0 \(from line 1\) is larger"):
        texts([f], split="paragraph", max_document_bytes=150)
    g = write(tmp_path / "p.txt", b"a\n\n" + b"b" * 60 + b"\n" + b"c" * 60 + b"\n")
    with pytest.raises(InputError, match=r"paragraph 1 \(from line 3\) is larger"):
        texts([g], split="paragraph", max_document_bytes=100)


def test_huge_jsonl_record_and_json_array(tmp_path: Path) -> None:
    j = write(tmp_path / "a.jsonl", b'{"text": "' + b"z" * 5000 + b'"}\n')
    with pytest.raises(InputError, match="record on line 1"):
        texts([j], max_document_bytes=1000)
    a = write(tmp_path / "a.json", json.dumps([{"text": "z" * 5000}]).encode())
    with pytest.raises(InputError, match="convert it to JSON Lines"):
        texts([a], max_document_bytes=1000)


# --- compression -----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".txt.gz", ".txt.zst"])
def test_truncated_compressed_file(tmp_path: Path, suffix: str) -> None:
    data = b"".join(b"line number %d\n" % i for i in range(50_000))
    f = write(tmp_path / f"t{suffix}", data)
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(InputError) as err:
        texts([f], split="line")
    assert f"{f}: corrupt or truncated" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("suffix", [".txt.gz", ".txt.zst"])
def test_not_actually_compressed(tmp_path: Path, suffix: str) -> None:
    f = tmp_path / f"plain{suffix}"
    f.write_bytes(b"this is plain text, not compressed\n" * 10)
    with pytest.raises(InputError, match="corrupt or truncated"):
        texts([f])


def test_multi_frame_zstd_and_multi_member_gzip(tmp_path: Path) -> None:
    z = zstandard.ZstdCompressor()
    (tmp_path / "m.txt.zst").write_bytes(z.compress(b"one\n") + z.compress(b"two\n"))
    (tmp_path / "m.txt.gz").write_bytes(gzip.compress(b"three\n") + gzip.compress(b"four\n"))
    assert texts([tmp_path / "m.txt.zst"], split="line") == ["one", "two"]
    assert texts([tmp_path / "m.txt.gz"], split="line") == ["three", "four"]


# --- paths -----------------------------------------------------------------------------------

def test_missing_path_fails_before_reading_anything(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", b"x\n")
    stream = read_texts([good, tmp_path / "nope.txt"])
    with pytest.raises(InputError, match=r"nope\.txt: no such file or directory"):
        next(stream)


def test_glob_matching_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="matches no files"):
        list(iter_files([str(tmp_path / "*.jsonl")]))
    with pytest.raises(InputError, match="no corpus paths"):
        list(iter_files([]))


def test_directory_order_is_deterministic(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    for name in ["b/z.txt", "b/a.txt", "a.txt", "c/d/e.jsonl", "Z.txt", ".hidden.txt",
                 ".git/x.txt", "image.png", "b/notes.md"]:
        write(tmp_path / name, b'{"text": "t"}\n')
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="tokkit"):
        files = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path], stats)]
    assert files == ["Z.txt", "a.txt", "b/a.txt", "b/notes.md", "b/z.txt", "c/d/e.jsonl"]
    assert stats.skipped_unsupported == 1 and "image.png" in caplog.text
    globbed = [p.relative_to(tmp_path).as_posix() for p in iter_files([str(tmp_path / "**/*.txt")])]
    assert globbed == ["Z.txt", "a.txt", "b/a.txt", "b/z.txt"]
    # a file reached twice is read once
    twice = list(iter_files([tmp_path / "a.txt", tmp_path]))
    assert len(twice) == len(files)


def test_unreadable_file(tmp_path: Path) -> None:
    import os

    f = write(tmp_path / "secret.txt", b"x")
    f.chmod(0)
    try:
        if os.access(f, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(InputError, match="cannot open"):
            texts([f])
    finally:
        f.chmod(0o644)


def test_broken_symlink(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"x\n")
    (tmp_path / "b.txt").symlink_to(tmp_path / "gone.txt")
    with pytest.raises(InputError, match=r"b\.txt: a broken symbolic link; remove it"):
        texts([tmp_path])
    with pytest.raises(InputError, match="a broken symbolic link"):
        corpus_bytes([tmp_path])


def test_progress_counts_on_disk_bytes(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", SAMPLE * 1000)
    write(tmp_path / "b.txt.gz", SAMPLE * 1000)
    write(tmp_path / "c.txt.zst", SAMPLE * 1000)
    write(tmp_path / "d.jsonl", b'{"text": "x"}\n' * 3000)
    write(tmp_path / "e.txt", b"\x00binary")
    write(tmp_path / "f.txt", b"")
    task = Task()
    list(read_texts([tmp_path], ReadOptions(split="line"), progress=task))
    assert task.done == corpus_bytes([tmp_path]) == sum(
        p.stat().st_size for p in tmp_path.iterdir())


# --- jsonl / json ----------------------------------------------------------------------------

def test_jsonl_fields_nulls_strings_and_ids(tmp_path: Path) -> None:
    lines = [{"text": "a", "content": "A"}, {"text": None, "content": "B"}, {}, "plain string",
             {"text": "", "content": "D"}, {"text": "e", "content": "E"}]
    body = "\n".join("" if rec == {} else json.dumps(rec) for rec in lines) + "\n"
    f = write(tmp_path / "d.jsonl.gz", body.encode())
    docs = list(read_documents([f]))
    assert [d.text for d in docs] == ["a", "plain string", "e"]
    assert [d.id for d in docs] == [f"{f}:0", f"{f}:3", f"{f}:5"]
    g = write(tmp_path / "e.jsonl", b'{"content": "A"}\n{"content": "B"}\n')
    assert texts([g], text_field="content") == ["A", "B"]


def test_jsonl_bad_line_and_missing_field(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.jsonl", b'{"text": "ok"}\n{"text": "unterminated\n')
    with pytest.raises(InputError) as err:
        texts([f])
    assert str(err.value).startswith(f"{f}:2: invalid JSON")
    g = write(tmp_path / "field.jsonl", b'{"text": "ok"}\n{"body": "x", "id": 3}\n')
    with pytest.raises(InputError) as err:
        texts([g])
    assert str(err.value) == (f"{g}:line 2: no field 'text' (fields: body, id); "
                              "pass `text_field=NAME`")
    h = write(tmp_path / "num.jsonl", b'{"text": 5}\n')
    with pytest.raises(InputError, match="is a int, not a string"):
        texts([h])
    k = write(tmp_path / "list.jsonl", b"[1, 2]\n")
    with pytest.raises(InputError, match="expected a JSON object"):
        texts([k])


def test_jsonl_invalid_utf8_offset(tmp_path: Path) -> None:
    body = b'{"text": "ok"}\n{"text": "b\xffd"}\n'
    f = write(tmp_path / "u.jsonl.zst", body)
    with pytest.raises(EncodingError) as err:
        texts([f])
    assert err.value.offset == body.index(b"\xff")
    assert texts([f], encoding_errors="skip") == ["ok"]
    assert texts([f], encoding_errors="replace") == ["ok", "b\ufffdd"]


def test_json_array_object_lines(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", b' [{"text": "x"}, {"text": "y"}, "z"]')
    assert [d.id for d in read_documents([a])] == [f"{a}:0", f"{a}:1", f"{a}:2"]
    assert texts([a]) == ["x", "y", "z"]
    b = write(tmp_path / "b.json", b'{"text": "x"}\n{"text": "y"}\n')
    assert texts([b]) == ["x", "y"]
    c = write(tmp_path / "c.json", b'[{"text": "x"},')
    with pytest.raises(InputError, match="invalid JSON at line 1"):
        texts([c])


# --- parquet ---------------------------------------------------------------------------------

def test_parquet_streams_by_row_group(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows_per_group, groups = 2000, 20
    f = tmp_path / "big.parquet"
    schema = pa.schema([("text", pa.string()), ("n", pa.int64())])
    with pq.ParquetWriter(f, schema) as writer:
        for g in range(groups):
            body = [f"group {g} row {i} " + "w" * 500 for i in range(rows_per_group)]
            writer.write_table(pa.table({"text": body, "n": list(range(rows_per_group))},
                                        schema=schema))
    assert pq.ParquetFile(f).num_row_groups == groups
    total_text = groups * rows_per_group * 520
    peak = 0
    count = 0
    task = Task()
    for doc in read_documents([f], progress=task):
        if count % 500 == 0:
            peak = max(peak, pa.total_allocated_bytes())
        if count == 0:
            assert doc.text.startswith("group 0 row 0 ") and doc.id == f"{f}:0"
        count += 1
    assert count == rows_per_group * groups
    assert doc.id == f"{f}:{count - 1}" and doc.text.startswith(f"group {groups - 1} row 1999 ")
    assert peak < total_text / 5  # a row group (~1 MB) at a time, not the 20 MB file
    assert task.done == f.stat().st_size


def test_parquet_bad_inputs(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "t.parquet"
    pq.write_table(pa.table({"body": ["a", None, "", "b"], "n": [1, 2, 3, 4]}), f)
    assert texts([f], text_field="body") == ["a", "b"]
    with pytest.raises(InputError, match="no column 'text' \\(columns: body, n\\)"):
        texts([f])
    with pytest.raises(InputError, match="holds int64, not strings"):
        texts([f], text_field="n")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(f.read_bytes()[:40])
    with pytest.raises(InputError, match="not a readable parquet file"):
        texts([broken])
    gz = write(tmp_path / "t.parquet.gz", f.read_bytes())
    with pytest.raises(InputError, match="decompress it first"):
        texts([gz])


# --- the real corpora ------------------------------------------------------------------------

def test_real_corpora_match_a_plain_reference(corpora: Path) -> None:
    """Line split over en + zh equals the obvious whole-file reference, in sorted order."""
    files = sorted((corpora / "en").glob("*.txt")) + sorted((corpora / "zh").glob("*.txt"))
    expected = []
    for path in files:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
        expected += [line for line in text.split("\n") if line.strip()]
    stats = ReadStats()
    got = list(read_texts([corpora / "en", corpora / "zh"], ReadOptions(split="line"), stats=stats))
    assert got == expected
    assert stats.files == len(files) and stats.documents == len(expected)


def test_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines straddling read chunks come out whole (chunk shrunk to a few bytes)."""
    monkeypatch.setattr(decode, "_CHUNK", 7)
    data = "α line\r\nβ\n\nlonger line here\r\n中文中文中文\nend".encode()
    f = write(tmp_path / "c.txt", data)
    assert texts([f], split="line") == ["α line", "β", "longer line here", "中文中文中文", "end"]
    line_ids = [d.id for d in read_documents([f], ReadOptions(split="line"))]
    assert line_ids == [f"{f}:{i}" for i in (0, 1, 3, 4, 5)]
    paragraphs = list(read_documents([f], ReadOptions(split="paragraph")))
    assert [(d.id, d.text) for d in paragraphs] == [
        (f"{f}:0", "α line\nβ"), (f"{f}:1", "longer line here\n中文中文中文\nend")]
    with pytest.raises(EncodingError) as err:
        texts([write(tmp_path / "d.txt", data + b"\n\xc3")], split="line")
    assert err.value.offset == len(data) + 1


def test_read_stats_add_sums_counts_and_paths() -> None:
    total = ReadStats(files=1, documents=3, bytes=10, skipped_paths=["a"])
    total.add(ReadStats(files=2, documents=1, bytes=5, skipped_nul=1, skipped_paths=["b"]))
    assert (total.files, total.documents, total.bytes, total.skipped_nul) == (3, 4, 15, 1)
    assert total.skipped_paths == ["a", "b"]


@pytest.mark.parametrize("raw", ['{"a": 1}', ' {"a":1} \n', '\ufeff{}', '{"a": 1} x', '{"a": ', '[1,2]', '"s"',
                                 "nul", "  ", '{"a": 1}\u00a0', "1 2", '{"a": "\\ud800"}', "\t[]\r"])
def test_a_json_line_parses_exactly_as_json_loads(raw: str) -> None:
    from tokkit.corpus.read_json import _json_line

    def outcome(parse):  # type: ignore[no-untyped-def]
        try:
            return "ok", repr(parse(raw))
        except json.JSONDecodeError as err:
            return "error", str(err)

    assert outcome(_json_line) == outcome(json.loads)


# --- hostile paths found by tests/cli/test_hostile_inputs.py --------------------------------

def test_a_named_pipe_in_a_folder_is_skipped_not_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Reading a pipe nobody writes waits forever: every command hung on one in a corpus folder."""
    import os

    write(tmp_path / "a.txt", b"x\n")
    os.mkfifo(tmp_path / "pipe.txt")
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="tokkit"):
        assert list(iter_files([tmp_path], stats)) == [tmp_path / "a.txt"]
    assert "pipe.txt: skipped, not a regular file" in caplog.text and stats.skipped_unsupported == 1


def test_a_loop_of_symbolic_links_is_one_line(tmp_path: Path) -> None:
    """Was RuntimeError('Symlink loop from ...') out of Path.resolve, a traceback in every command."""
    write(tmp_path / "good.txt", b"x\n")
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    (tmp_path / "self").symlink_to(tmp_path, target_is_directory=True)  # not followed: no loop
    with pytest.raises(InputError, match=r"a\.txt: a loop of symbolic links; remove it or fix the link"):
        list(iter_files([tmp_path]))
    with pytest.raises(InputError, match=r"a\.txt: a loop of symbolic links"):
        list(iter_files([tmp_path / "a.txt"]))


def test_a_broken_link_in_a_folder_is_refused_when_listed(tmp_path: Path) -> None:
    """dedup, shard and analyze stat every file first: a FileNotFoundError traceback before."""
    write(tmp_path / "a.txt", b"x\n")
    (tmp_path / "b.txt").symlink_to(tmp_path / "gone.txt")
    with pytest.raises(InputError, match=r"b\.txt: a broken symbolic link; remove it or fix the link"):
        list(iter_files([tmp_path]))
    with pytest.raises(InputError, match=r"b\.txt: a broken symbolic link"):
        list(iter_files([tmp_path / "b.txt"]))


def test_json_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    """Was RecursionError out of json.loads, a traceback in every command."""
    deep = b"[" * 100_000 + b"]" * 100_000
    f = write(tmp_path / "deep.jsonl", b'{"text": "ok"}\n' + deep + b"\n")
    with pytest.raises(InputError, match=r"deep\.jsonl:2: JSON nested too deeply to read"):
        texts([f])
    g = write(tmp_path / "deep.json", deep)
    with pytest.raises(InputError, match=r"deep\.json: invalid JSON .*nested too deeply"):
        texts([g])
