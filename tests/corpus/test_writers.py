"""Writers: what is written reads back the same, in every format; nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tokkit.corpus.readers import ReadOptions, read_documents
from tokkit.corpus.writers import DocumentWriter, format_of, write_documents
from tokkit.errors import InputError
from tokkit.types import Document

TEXTS = ["héllo wörld", "中文，没有空格", "tab\tinside", "emoji 🙂", "x" * 10_000]
DOCS = [Document(id=f"d{i}", text=t) for i, t in enumerate(TEXTS)]


@pytest.mark.parametrize("name", ["a.txt", "a.txt.gz", "a.txt.zst", "a.jsonl", "a.jsonl.gz",
                                  "a.jsonl.zst", "a.json", "a.parquet"])
def test_round_trip_through_the_readers(tmp_path: Path, name: str) -> None:
    assert write_documents(DOCS, tmp_path / name) == len(DOCS)
    back = [d.text for d in read_documents([tmp_path / name], ReadOptions(split="line"))]
    assert back == TEXTS
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_paragraph_and_file_splits_round_trip(tmp_path: Path) -> None:
    paras = [Document(id="p0", text="first line\nsecond line"), Document(id="p1", text="next para")]
    write_documents(paras, tmp_path / "p.txt", split="paragraph")
    assert [d.text for d in read_documents([tmp_path / "p.txt"], ReadOptions(split="paragraph"))] == \
        ["first line\nsecond line", "next para"]
    write_documents([Document(id="f", text="whole\n\nfile\n")], tmp_path / "f.txt", split="file")
    assert (tmp_path / "f.txt").read_text() == "whole\n\nfile\n"


def test_jsonl_records_keep_id_and_meta(tmp_path: Path) -> None:
    docs = [Document(id="x", text="t", meta={"url": "u", "n": 3})]
    write_documents(docs, tmp_path / "a.jsonl", text_field="content")
    assert json.loads((tmp_path / "a.jsonl").read_text()) == {"id": "x", "url": "u", "n": 3,
                                                              "content": "t"}
    write_documents(docs, tmp_path / "b.jsonl", with_id=False)
    assert json.loads((tmp_path / "b.jsonl").read_text()) == {"url": "u", "n": 3, "text": "t"}


def test_parquet_columns_and_empty_file(tmp_path: Path) -> None:
    write_documents(DOCS, tmp_path / "a.parquet")
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.column_names == ["id", "text"] and table.column("id").to_pylist()[0] == "d0"
    assert write_documents([], tmp_path / "empty.parquet") == 0
    assert pq.read_table(tmp_path / "empty.parquet").num_rows == 0


def test_many_rows_span_row_groups(tmp_path: Path) -> None:
    docs = [Document(id=str(i), text=f"row {i}") for i in range(2500)]
    with DocumentWriter(tmp_path / "a.parquet", row_group_rows=1000) as writer:
        for doc in docs:
            writer.write(doc)
    assert writer.count == 2500
    assert pq.read_table(tmp_path / "a.parquet").column("text").to_pylist() == [d.text for d in docs]


def test_compressed_output_is_deterministic(tmp_path: Path) -> None:
    write_documents(DOCS, tmp_path / "a.jsonl.gz")
    first = (tmp_path / "a.jsonl.gz").read_bytes()
    write_documents(DOCS, tmp_path / "a.jsonl.gz")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == first


def test_error_midway_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.jsonl"
    target.write_text("old\n")

    def broken():  # type: ignore[no-untyped-def]
        yield DOCS[0]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_documents(broken(), target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]


def test_format_detection_and_bad_combinations(tmp_path: Path) -> None:
    assert format_of("x/a.jsonl.zst") == ("jsonl", ".zst")
    assert format_of("a.PARQUET") == ("parquet", None)
    assert format_of("notes") == ("txt", None)
    with pytest.raises(InputError, match="parquet"):
        DocumentWriter(tmp_path / "a.parquet.gz")
    with pytest.raises(InputError, match="split"):
        write_documents(DOCS, tmp_path / "a.txt", split="sentence")
    with DocumentWriter(tmp_path / "a.txt") as writer, pytest.raises(InputError, match="records"):
        writer.write_record({"text": "x"})
    assert not list(tmp_path.glob(".tmp-*"))
