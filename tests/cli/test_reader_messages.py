"""Reader errors as a user meets them (issue 12.9): no Python frames inside the line, advice that
does not send --split line and --split file to each other, a single-object .json read as one record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.errors import EncodingError, InputError

LINE = "hello world number {} and more words\n"


def _late_bad_byte(path: Path) -> Path:
    """Over the reader's 1 MiB first chunk, so the trainer is already consuming lines when the
    invalid byte at the very end is met."""
    path.write_bytes("".join(LINE.format(i) for i in range(40_000)).encode() + b"caf\xe9\n")
    return path


@pytest.mark.parametrize("args", [
    ["train-unigram", "{corpus}", "--vocab", "60", "--backend", "spm"],
    ["train-bpe", "{corpus}", "--vocab", "300", "--backend", "spm"],
    ["extend-llama", "--base", "{llama}", "--zh-vocab", "1000", "--zh-corpus", "{corpus}", "--no-compare"],
])
def test_a_reader_error_inside_sentencepiece_is_the_readers_line(  # type: ignore[no-untyped-def]
    args: list[str], tmp_path: Path, llama_model: Path, run_main, assert_clean_failure
) -> None:
    """Was: `sentencepiece refused the training run: INTERNAL: EncodingError: ... At: .../readers.py(391)`."""
    corpus = _late_bad_byte(tmp_path / "c.txt")
    out = tmp_path / "out"
    argv = [a.format(corpus=corpus, llama=llama_model) for a in args]
    line = assert_clean_failure(run_main("-q", *argv, "-o", str(out)), code=2, output=out)
    size = corpus.stat().st_size
    assert line == (f"error: {corpus}: invalid UTF-8 at byte offset {size - 2}; re-encode the file to UTF-8 "
                    "or pass --encoding-errors replace|skip")


def test_sentencepiece_gives_back_the_iterators_own_exception() -> None:
    from tokkit.backends.spm import train_from_iterator

    def texts():  # type: ignore[no-untyped-def]
        yield from (LINE.format(i) for i in range(500))
        raise EncodingError("corpus.txt", 7)

    with pytest.raises(EncodingError) as err:
        train_from_iterator(texts(), model_writer=__import__("io").BytesIO(), vocab_size=50, minloglevel=2)
    assert "At:" not in str(err.value) and str(err.value).startswith("corpus.txt: invalid UTF-8 at byte offset 7")


def test_one_long_line_over_the_cap_gets_advice_that_works_under_either_split(tmp_path: Path) -> None:
    """A 3 MB line under a 1 MiB cap: --split line said "use --split file", --split file said "use
    --split line". Both now say the one thing that helps: re-wrap it or raise the cap to 3 MiB."""
    path = tmp_path / "one.txt"
    path.write_text("x" * 3_000_000 + "\n")
    messages = {}
    for split in ("line", "paragraph", "file"):
        with pytest.raises(InputError) as err:
            list(read_texts([path], ReadOptions(split=split, max_document_bytes=1 << 20)))  # type: ignore[arg-type]
        messages[split] = str(err.value)
    for message in messages.values():
        assert message.startswith(f"{path}: ") and "`max_document_bytes=3145728` or more" in message, message
        assert "`split=" not in message, message  # no pointing at the other split
    # where the other split does help, it is still the advice
    lines = tmp_path / "lines.txt"
    lines.write_text("short line\n" * 60_000)
    with pytest.raises(InputError, match=r"read it with `split='line'` or 'paragraph'"):
        list(read_texts([lines], ReadOptions(split="file", max_document_bytes=500_000)))


@pytest.mark.parametrize("content, texts", [
    ('{\n  "text": "hello there",\n  "id": 1\n}\n', ["hello there"]),  # was "invalid JSON"
    ('  {"text":\n "one record"}', ["one record"]),
    ('{"text": "a b"}\n{"text": "c d"}\n', ["a b", "c d"]),  # JSON Lines in a .json
    ('[{"text": "a"},\n {"text": "b"}]\n', ["a", "b"]),
    ('{"text": "only"}', ["only"]),
])
def test_a_json_file_is_one_document_or_json_lines(tmp_path: Path, content: str, texts: list[str]) -> None:
    path = tmp_path / "records.json"
    path.write_text(content, encoding="utf-8")
    assert list(read_texts([path])) == texts


def test_a_broken_single_object_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "text": "a",\n  oops\n}\n')
    with pytest.raises(InputError, match=r"bad\.json: invalid JSON at line 3 column 3"):
        list(read_texts([path]))
    json.loads('{"text": "a"}')  # (the valid form, for contrast)
