"""`tokkit train-wordpiece` on real commands: outputs, table, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli
from tokkit.load import load_tokenizer, read_meta


@pytest.mark.parametrize("backend", ["scratch", "hf"])
def test_trains_and_writes_a_loadable_tokenizer(backend: str, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vocab" / backend
    result = CliRunner().invoke(cli, ["train-wordpiece", str(corpus), "--vocab", "120", "--backend",
                                      backend, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "chars/token" in result.output and "peak memory" in result.output
    meta = read_meta(out)
    assert meta["algorithm"] == "wordpiece" and meta["backend"] == backend
    assert meta["config"]["vocab_size"] == 120
    tok = load_tokenizer(out)
    assert type(tok).__name__ == ("WordPieceTokenizer" if backend == "scratch" else "HFTokenizer")
    assert tok.vocab_size <= 120
    assert tok.decode(tok.encode("best of times")) == "best of times"
    if backend == "scratch":
        assert {p.name for p in out.iterdir()} == {"wordpiece.json", "vocab.txt", "tokenizer.json",
                                                   "tokkit.json", "train_report.json"}


def test_bad_input(tmp_path: Path, corpus: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nbad \xff byte\n")
    assert_clean_failure(run_main("train-wordpiece", str(bad), "-o", str(out)),
                         "invalid UTF-8 at byte offset 14", output=out)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert_clean_failure(run_main("-q", "train-wordpiece", str(empty), "-o", str(out)), "no documents",
                         output=out)
    assert_clean_failure(run_main("train-wordpiece", str(corpus), "--vocab", "20", "-o", str(out)),
                         "is smaller than the", "--limit-alphabet", output=out)
    assert_clean_failure(run_main("train-wordpiece", str(corpus), "--vocab", "-5", "-o", str(out)), "--vocab",
                         output=out)
