"""`tokkit train-unigram` on real commands: outputs for all backends, sampling note, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sentencepiece as spm
from click.testing import CliRunner

from tokkit.cli import cli, main
from tokkit.load import load_tokenizer, read_meta

GOOD = "It was the best of times, it was the worst of times.\n话说天下大势，分久必合，合久必分。\n" * 60


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


@pytest.mark.parametrize("backend", ["scratch", "hf", "spm"])
def test_trains_and_writes_a_loadable_tokenizer(backend: str, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vocab" / backend
    result = CliRunner().invoke(cli, ["train-unigram", str(corpus), "--vocab", "60", "--backend",
                                      backend, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "chars/token" in result.output and "peak memory" in result.output
    meta = read_meta(out)
    assert meta["algorithm"] == "unigram" and meta["backend"] == backend
    tok = load_tokenizer(out)
    assert tok.vocab_size <= 60
    assert tok.decode(tok.encode("the best of times")) == "the best of times"
    if backend == "scratch":
        assert {p.name for p in out.iterdir()} == {
            "unigram.json", "unigram.vocab", "spm.model", "tokenizer.json", "tokkit.json"}
        sp = spm.SentencePieceProcessor(model_file=str(out / "spm.model"))
        assert list(sp.EncodeAsIds("the best of 天下")) == tok.encode("the best of 天下")


def test_sampling_is_said(corpus: Path, tmp_path: Path) -> None:
    proc = run("train-unigram", str(corpus), "--vocab", "60", "--backend", "spm",
               "--input-sentence-size", "101", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "random sample of 101 of" in proc.stderr
    assert read_meta(tmp_path / "out")["report"]["trainer"]["sampled_sentences"] == 101


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["train-unigram", "--help"])
    assert result.exit_code == 0
    assert "tokkit train-unigram corpus/ --vocab 32000" in result.output


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr  # one line (a progress bar may precede it)
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_bad_input(tmp_path: Path, corpus: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert_clean_failure(run("train-unigram", str(tmp_path / "missing"), "-o", str(out)),
                         "no such file or directory")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert_clean_failure(run_main("-q", "train-unigram", str(binary), "-o", str(out)), "no documents")
    assert_clean_failure(run_main("train-unigram", str(corpus), "--vocab", "10", "-o", str(out)),
                         "is smaller than the", "--byte-fallback")
    assert_clean_failure(run_main("train-unigram", str(corpus), "--vocab", "100", "--byte-fallback",
                             "-o", str(out)), "no room")
    assert_clean_failure(run_main("train-unigram", str(corpus), "--character-coverage", "2", "-o", str(out)),
                         "--character-coverage")
    assert_clean_failure(run_main("train-unigram", str(corpus), "--input-sentence-size", "50", "-o", str(out)),
                         "--input-sentence-size")
    assert not out.exists()
    ok = run_main("-q", "train-unigram", str(corpus), "--vocab", "300", "--byte-fallback", "-o", str(out))
    assert ok.returncode == 0, ok.stderr
    tok = load_tokenizer(out)
    assert tok.decode(tok.encode("天下 ☃ 합")) == "天下 ☃ 합"  # unseen characters as bytes
