"""The "new input format" recipe of docs/architecture.md, followed by a test and touching no
library file: a toy ``.tsv`` reader (a header row, then ``id<TAB>text`` rows) registered with
:func:`register_format`, then found in a folder walk, streamed by :func:`read_documents` (also
gzip-compressed) and trained on through :func:`train_to_dir` like the built-in formats.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tokkit import BPEConfig, InputError, ReadOptions, make_trainer, read_documents, train_to_dir
from tokkit.corpus import formats, register_format


def read_tsv(stream: IO[bytes], path: Path, options: ReadOptions) -> Iterator[tuple[int, str | None]]:
    header = stream.readline().decode("utf-8").rstrip("\n").split("\t")
    if header != ["id", "text"]:
        raise InputError(f"{path}: expected the header 'id<TAB>text', got {header}")
    for row, line in enumerate(stream):
        _, _, text = line.decode("utf-8").rstrip("\n").partition("\t")
        yield row, text.replace("\\n", "\n")


@pytest.fixture
def tsv_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "FORMATS", dict(formats.FORMATS))
    register_format([".tsv"], read_tsv)


ROWS = ["first line\\nsecond line", "天下大势，分久必合", "   ", "the best of times"]


def _write(folder: Path) -> None:
    folder.mkdir()
    body = "id\ttext\n" + "".join(f"{i}\t{row}\n" for i, row in enumerate(ROWS))
    (folder / "a.tsv").write_text(body, encoding="utf-8")
    with gzip.open(folder / "b.tsv.gz", "wt", encoding="utf-8") as f:
        f.write(body)
    (folder / "c.txt").write_text("plain text\n", encoding="utf-8")


def test_a_registered_format_is_read_like_the_built_in_ones(tsv_format: None, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _write(corpus)
    docs = list(read_documents([corpus], ReadOptions(split="line")))
    texts = ["first line\nsecond line", "天下大势，分久必合", "the best of times"]  # blank row dropped
    assert [d.text for d in docs] == [*texts, *texts, "plain text"]
    assert [d.id for d in docs[:3]] == [f"{corpus / 'a.tsv'}:{i}" for i in (0, 1, 3)]
    assert docs[3].id == f"{corpus / 'b.tsv.gz'}:0"

    trainer = make_trainer("bpe", "scratch", BPEConfig(vocab_size=300, workers=1))
    report = train_to_dir(trainer, corpus=[corpus], output=tmp_path / "vocab", algorithm="bpe",
                          backend="scratch", config={}, read_options=ReadOptions(split="line"))
    assert report.documents == 7 and report.read["files"] == 3


def test_without_registration_a_folder_walk_skips_tsv(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _write(corpus)
    assert [d.text for d in read_documents([corpus], ReadOptions(split="line"))] == ["plain text"]


def test_built_in_and_compression_suffixes_cannot_be_taken(tsv_format: None) -> None:
    with pytest.raises(InputError, match=r"'\.jsonl' is a built-in format"):
        register_format([".jsonl"], read_tsv)
    with pytest.raises(InputError, match="not a compression suffix"):
        register_format([".gz"], read_tsv)


def test_the_format_table_tells_writers_and_dedup(tsv_format: None) -> None:
    """One table: dedup treats the registered files as records, and a writer refuses a format it
    was not told how to write back until the registration says (``write=``)."""
    from tokkit.corpus.writers import format_of
    from tokkit.dedup.reading import is_text_file

    assert not is_text_file(Path("a.tsv.gz")) and is_text_file(Path("a.txt"))
    with pytest.raises(InputError, match=r"reads '\.tsv' files but has no writer"):
        format_of("kept/a.tsv")
    register_format([".psv"], read_tsv, write="jsonl")
    assert format_of("kept/a.psv.zst") == ("jsonl", ".zst")
