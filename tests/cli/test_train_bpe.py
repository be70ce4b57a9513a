"""`tokkit train-bpe` on real commands: outputs, end-of-run table, and every kind of bad input."""

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
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus" / "a.txt"
    path.parent.mkdir()
    path.write_text(GOOD, encoding="utf-8")
    return path.parent


@pytest.mark.parametrize("backend", ["hf", "spm"])
def test_trains_and_writes_a_loadable_tokenizer(backend: str, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vocab" / backend
    vocab = "300" if backend == "hf" else "350"
    result = CliRunner().invoke(cli, ["train-bpe", str(corpus), "--vocab", vocab, "--backend",
                                      backend, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "bytes/token" in result.output and "peak memory" in result.output
    assert read_meta(out)["backend"] == backend
    tok = load_tokenizer(out)
    assert tok.vocab_size == int(vocab)
    assert tok.decode(tok.encode("best of 天下")) == "best of 天下"


def test_default_output_is_under_vocab(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["-q", "train-bpe", str(corpus), "--vocab", "300", "--backend", "hf"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "vocab" / "bpe-hf-300" / "tokkit.json").exists()


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["train-bpe", "--help"])
    assert result.exit_code == 0
    assert "tokkit train-bpe corpus/ --vocab 32000" in result.output


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_invalid_utf8_names_file_and_offset(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nbad \xff byte\n")
    out = tmp_path / "out"
    proc = run("train-bpe", str(bad), "--vocab", "300", "--backend", "hf", "-o", str(out))
    assert_clean_failure(proc, f"{bad}: invalid UTF-8 at byte offset 14", "--encoding-errors")
    assert not out.exists()
    ok = run("-q", "train-bpe", str(bad), "--vocab", "300", "--backend", "hf", "-o", str(out),
             "--encoding-errors", "replace")
    assert ok.returncode == 0, ok.stderr


def test_huge_line_is_refused_with_the_fix(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (3 << 20))
    proc = run("train-bpe", str(big), "--vocab", "300", "--backend", "hf", "-o",
               str(tmp_path / "o"), "--max-document-mb", "1")
    assert_clean_failure(proc, str(big), "--max-document-mb")
    assert not (tmp_path / "o").exists()


def test_missing_path(tmp_path: Path) -> None:
    proc = run("train-bpe", str(tmp_path / "nope"), "--backend", "hf", "-o", str(tmp_path / "o"))
    assert_clean_failure(proc, "no such file or directory")


def test_only_empty_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "empty.txt").write_bytes(b"")
    (tmp_path / "c" / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    out = tmp_path / "out"
    proc = run("train-bpe", str(tmp_path / "c"), "--vocab", "300", "--backend", "hf", "-o", str(out))
    assert_clean_failure(proc, "no documents to train on")
    assert "empty file" in proc.stderr and "binary file" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("backend", ["scratch", "hf", "spm"])
def test_vocab_smaller_than_alphabet(backend: str, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("train-bpe", str(corpus), "--vocab", "200", "--backend", backend, "-o", str(out))
    assert_clean_failure(proc, "--vocab 200 is smaller than")
    assert not out.exists()


def test_existing_output_needs_force(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious").write_text("keep")
    proc = run("train-bpe", str(corpus), "--vocab", "300", "--backend", "hf", "-o", str(out))
    assert_clean_failure(proc, "already exists", "--force")
    assert (out / "precious").read_text() == "keep"
    assert run("-q", "train-bpe", str(corpus), "--vocab", "300", "--backend", "hf", "-o", str(out),
               "--force").returncode == 0
    assert not (out / "precious").exists()


def test_spm_vocab_larger_than_learnable(corpus: Path, tmp_path: Path) -> None:
    proc = run("train-bpe", str(corpus), "--vocab", "5000", "--backend", "spm", "-o", str(tmp_path / "o"))
    assert_clean_failure(proc, "--vocab 5000 is more than sentencepiece can learn", "or less")


def test_main_is_importable_without_running() -> None:
    assert callable(main)
