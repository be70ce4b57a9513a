"""What the CLI tests share: running tokkit as a user would, a corpus, one check of a clean failure.

Helpers come as fixtures (``run``, ``run_main``, ``assert_clean_failure``, ``make_corpus``,
``start_locked``, ``train_cli``) so that
test modules never import from one another or from this file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tokkit.atomic import TMP_PREFIX, lock_path
from tokkit.cli import main
from tokkit.shards.writer import partial_dir

GOOD = "It was the best of times, it was the worst of times.\n话说天下大势，分久必合，合久必分。\n"
"""Two lines of English and Chinese; the train-* tests repeat them to make a corpus."""

Proc = subprocess.CompletedProcess[str]


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Proc:
    code = "from tokkit.cli import main; main()"  # the real entry point: it owns the process
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def run() -> Callable[..., Proc]:
    """The real console entry point in a subprocess: exit codes and stderr as a user sees them.

    ``run(*args, env=None)`` returns the :class:`subprocess.CompletedProcess`.
    """
    return _run


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> Callable[..., Proc]:
    """``tokkit.cli.main`` in this process (faster than a subprocess), same exit code and streams."""

    def call(*args: str) -> Proc:
        code = 0
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)

    return call


def _assert_clean_failure(proc: Proc, *needles: str, code: int | None = None,
                          output: Path | None = None) -> str:
    assert proc.returncode != 0, proc.stderr
    if code is not None:
        assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr  # one line (a progress bar or warnings may precede it)
    assert proc.stderr.rstrip().splitlines()[-1] == errors[0], proc.stderr  # and it is said last
    for needle in needles:
        assert needle in errors[0], proc.stderr
    assert proc.stdout == "", proc.stdout
    if output is not None:
        assert not output.exists(), f"{output} was written"
        assert not list(output.parent.glob(f"{TMP_PREFIX}*")), "a temporary output was left behind"
        assert not partial_dir(output).exists(), "the shard writer's partial output was left behind"
        assert not list(output.parent.glob(f".{output.name}.*")), "a lock, partial or old copy was left behind"
    return errors[0]


@pytest.fixture
def assert_clean_failure() -> Callable[..., str]:
    """Check that a run failed as a user should see it; return its ``error:`` line.

    ``assert_clean_failure(proc, *needles, code=None, output=None)``: a non-zero exit code
    (``code`` exactly, if given), no traceback, exactly one ``error:`` line on stderr, said last and
    holding every needle, nothing on stdout, and (given ``output``) nothing written there, not even
    a temporary.
    """
    return _assert_clean_failure


@pytest.fixture
def make_corpus(tmp_path: Path) -> Callable[..., Path]:
    """``make_corpus(repeats)``: a folder holding one file of :data:`GOOD` repeated."""

    def make(repeats: int = 40) -> Path:
        path = tmp_path / "corpus" / "a.txt"
        path.parent.mkdir()
        path.write_text(GOOD * repeats, encoding="utf-8")
        return path.parent

    return make


@pytest.fixture
def corpus(make_corpus: Callable[..., Path]) -> Path:
    """A small corpus folder (80 lines) the train-* commands learn a tokenizer from."""
    return make_corpus(40)


def _start_locked(args: list[str], output: Path, *, capture: bool = False) -> subprocess.Popen[str]:
    """Start ``tokkit *args`` in a subprocess and return once it holds ``output``'s lock (or has
    ended, or 120 s passed: the caller checks). ``capture`` keeps its stdout/stderr to read."""
    code = "import sys; from tokkit.cli import main; main(sys.argv[1:])"
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=out, text=True)
    lock = lock_path(output)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if lock.read_text().strip() == str(proc.pid):
                break
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    return proc


@pytest.fixture
def start_locked() -> Callable[..., subprocess.Popen[str]]:
    """``start_locked(args, output, capture=False)``: a tokkit run that holds ``output``'s lock."""
    return _start_locked


def _train_cli(algorithm: str, corpus: Path, vocab: int, backend: str, out: Path) -> dict[str, Any]:
    """``tokkit train-<algorithm> CORPUS --vocab N --backend B -o OUT`` in-process: it succeeds,
    prints the run's table, and its ``tokkit.json`` names the pair; returns that record."""
    from click.testing import CliRunner

    from tokkit.cli import cli
    from tokkit.load import read_meta

    result = CliRunner().invoke(cli, [f"train-{algorithm}", str(corpus), "--vocab", str(vocab),
                                      "--backend", backend, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "chars/token" in result.output and "peak memory" in result.output
    meta = read_meta(out)
    assert meta["algorithm"] == algorithm and meta["backend"] == backend
    return meta


@pytest.fixture
def train_cli() -> Callable[..., dict[str, Any]]:
    """``train_cli(algorithm, corpus, vocab, backend, out)``: a checked train-* run, its record."""
    return _train_cli
