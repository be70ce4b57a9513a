"""`tokkit train-wordpiece` on real commands: outputs, table, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli, main
from tokkit.load import load_tokenizer, read_meta

GOOD = "It was the best of times, it was the worst of times.\n话说天下大势，分久必合，合久必分。\n" * 40


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess: exit codes and stderr as a user sees them."""
    code = "import sys; from tokkit.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``tokkit.cli.main`` in this process (faster than a subprocess), same exit code and stderr."""

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        code = 0
        try:
            main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)

    return call


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus" / "a.txt"
    path.parent.mkdir()
    path.write_text(GOOD, encoding="utf-8")
    return path.parent


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
        assert {p.name for p in out.iterdir()} == {"wordpiece.json", "vocab.txt", "tokenizer.json", "tokkit.json"}


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["train-wordpiece", "--help"])
    assert result.exit_code == 0
    assert "tokkit train-wordpiece corpus/ --vocab 32000" in result.output


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr  # one line (a progress bar may precede it)
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_bad_input(tmp_path: Path, corpus: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert_clean_failure(run("train-wordpiece", str(tmp_path / "missing"), "-o", str(out)),
                         "no such file or directory")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nbad \xff byte\n")
    assert_clean_failure(run_main("train-wordpiece", str(bad), "-o", str(out)),
                         "invalid UTF-8 at byte offset 14")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert_clean_failure(run_main("-q", "train-wordpiece", str(empty), "-o", str(out)), "no documents")
    assert_clean_failure(run_main("train-wordpiece", str(corpus), "--vocab", "20", "-o", str(out)),
                         "is smaller than the", "--limit-alphabet")
    assert_clean_failure(run_main("train-wordpiece", str(corpus), "--vocab", "-5", "-o", str(out)), "--vocab")
    assert not out.exists()


def test_existing_output_needs_force(corpus: Path, tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    proc = run("train-wordpiece", str(corpus), "--vocab", "120", "-o", str(out))
    assert_clean_failure(proc, "already exists", "--force")
    assert (out / "keep.txt").exists()
    ok = run_main("-q", "train-wordpiece", str(corpus), "--vocab", "120", "-o", str(out), "--force")
    assert ok.returncode == 0, ok.stderr
    assert not (out / "keep.txt").exists() and (out / "wordpiece.json").exists()
