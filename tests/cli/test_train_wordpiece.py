"""`tokkit train-wordpiece` on real commands: outputs, table, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tokkit.load import load_tokenizer


@pytest.mark.parametrize("backend", ["scratch", "hf"])
def test_trains_and_writes_a_loadable_tokenizer(backend: str, corpus: Path, tmp_path: Path,
                                                 train_cli: Callable[..., dict[str, Any]]) -> None:
    out = tmp_path / "vocab" / backend
    meta = train_cli("wordpiece", corpus, 120, backend, out)
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
