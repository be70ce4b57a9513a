"""What the three train-* commands share, checked once per command: help, a missing corpus, --force."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli

TRAIN = {
    "train-bpe": ["--vocab", "300", "--backend", "hf"],
    "train-unigram": ["--vocab", "60"],
    "train-wordpiece": ["--vocab", "120"],
}
"""Each train-* command with options that train quickly on the ``corpus`` fixture."""

MODEL_FILE = {"train-bpe": "tokenizer.json", "train-unigram": "unigram.json",
              "train-wordpiece": "wordpiece.json"}


@pytest.mark.parametrize("command", TRAIN)
def test_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert f"tokkit {command} corpus/ --vocab 32000" in result.output


@pytest.mark.parametrize("command", TRAIN)
def test_missing_path(command: str, tmp_path: Path, run, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    proc = run(command, str(tmp_path / "nope"), *TRAIN[command], "-o", str(out))
    assert_clean_failure(proc, "no such file or directory", output=out)


@pytest.mark.parametrize("command", TRAIN)
def test_existing_output_needs_force(command: str, corpus: Path, tmp_path: Path, run, run_main,  # type: ignore[no-untyped-def]
                                     assert_clean_failure) -> None:
    """An existing output needs --force; --force replaces a tokkit output but never a plain folder."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious").write_text("keep")
    proc = run(command, str(corpus), *TRAIN[command], "-o", str(out))
    assert_clean_failure(proc, "already exists", "--force")
    proc = run(command, str(corpus), *TRAIN[command], "-o", str(out), "--force")
    assert_clean_failure(proc, str(out), "not a tokkit output", "delete the directory yourself")
    assert (out / "precious").read_text() == "keep"
    (out / "precious").unlink()
    assert run_main("-q", command, str(corpus), *TRAIN[command], "-o", str(out)).returncode == 0
    (out / MODEL_FILE[command]).write_text("stale")
    ok = run_main("-q", command, str(corpus), *TRAIN[command], "-o", str(out), "--force")
    assert ok.returncode == 0, ok.stderr
    assert (out / MODEL_FILE[command]).read_text() != "stale"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out"]  # no lock, temp or old copy


@pytest.mark.parametrize("command", TRAIN)
def test_force_never_replaces_the_corpus(command: str, corpus: Path, tmp_path: Path, run,  # type: ignore[no-untyped-def]
                                         assert_clean_failure) -> None:
    """`train-bpe mycorpus -o mycorpus --force` replaced the corpus by the tokenizer (issue 12.2)."""
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    for output in (corpus, corpus / "tok", corpus.parent):
        proc = run(command, str(corpus), *TRAIN[command], "-o", str(output), "--force")
        line = assert_clean_failure(proc, "outside every input")
        assert str(corpus) in line
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before


def test_a_skipped_file_is_reported_once(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """The corpus folder is listed once (for the progress total and the reading)."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("hello world 你好\n" * 200, encoding="utf-8")
    (corpus / "b.csv").write_text("x,y\n", encoding="utf-8")
    proc = run("train-bpe", str(corpus), "--vocab", "300", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("b.csv") == 1, proc.stderr


EVERY_TRAINER = [
    ("train-bpe", "scratch", ["--vocab", "300"]),
    ("train-bpe", "hf", ["--vocab", "300"]),
    ("train-bpe", "spm", ["--vocab", "300"]),
    ("train-wordpiece", "scratch", ["--vocab", "120"]),
    ("train-wordpiece", "hf", ["--vocab", "120"]),
    ("train-unigram", "scratch", ["--vocab", "60"]),
    ("train-unigram", "hf", ["--vocab", "60"]),
    ("train-unigram", "spm", ["--vocab", "60"]),
]


@pytest.mark.parametrize(("command", "backend", "options"), EVERY_TRAINER)
def test_every_trainer_writes_the_train_report_the_readme_names(
    command: str, backend: str, options: list[str], tmp_path: Path, make_corpus, run_main  # type: ignore[no-untyped-def]
) -> None:
    import json

    out = tmp_path / "out"
    proc = run_main("-q", command, str(make_corpus(200)), *options, "--backend", backend, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "train_report.json").read_text(encoding="utf-8"))
    meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    assert report.pop("format") == "tokkit.train_report/1"
    assert report == meta["report"] and report["backend"] == backend
    assert report["seconds"] > 0 and report["peak_rss_mb"] > 0 and report["heldout_tokens"] > 0
