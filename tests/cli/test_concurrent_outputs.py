"""Two real runs into one output: the first keeps it, the second stops at once with one line (issue 12.3).

The first run is frozen (SIGSTOP) the moment it holds the output's lock, so the second always
meets a live owner, however fast or loaded the machine is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tokkit.atomic import lock_path


def _frozen_owner(start_locked: Callable[..., subprocess.Popen[str]], args: list[str],
                  output: Path) -> subprocess.Popen[str]:
    """Start ``tokkit *args`` and stop it as soon as it holds ``output``'s lock."""
    proc = start_locked(args, output, capture=True)
    lock = lock_path(output)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGSTOP)
    if proc.poll() is not None or not lock.is_file() or lock.read_text().strip() != str(proc.pid):
        proc.kill()
        pytest.fail(f"the first run never held the lock: {proc.communicate()}")
    return proc


def _second_is_refused(args: list[str], output: Path, owner: subprocess.Popen[str], run, assert_clean_failure  # type: ignore[no-untyped-def]
                       ) -> None:
    start = time.monotonic()
    proc = run(*args, "--force")
    assert_clean_failure(proc, str(output), f"another run (pid {owner.pid}) is writing it")
    assert time.monotonic() - start < 30


def _corpus(root: Path) -> Path:
    root.mkdir()
    for i in range(4):
        (root / f"part{i}.txt").write_text(
            "".join(f"line {j} of part {i}: the quick brown fox {j % 97} jumps\n" for j in range(6000)),
            encoding="utf-8")
    return root


@pytest.mark.parametrize("command", [
    ["dedup"],
    ["train-bpe", "--vocab", "300", "--backend", "hf"],
])
def test_second_run_into_the_same_output_gets_one_line_and_the_first_wins(  # type: ignore[no-untyped-def]
    command: list[str], tmp_path: Path, run, assert_clean_failure, start_locked
) -> None:
    corpus = _corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    args = [command[0], str(corpus), *command[1:], "-o", str(out)]
    owner = _frozen_owner(start_locked, ["-q", *args], out)
    try:
        _second_is_refused(["-q", *args], out, owner, run, assert_clean_failure)
    finally:
        os.kill(owner.pid, signal.SIGCONT)
    _, err = owner.communicate(timeout=300)
    assert owner.returncode == 0, err
    assert (out / ("manifest.json" if command[0] == "dedup" else "tokkit.json")).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out"]  # no lock, temp or stray file


def test_second_pipeline_into_the_same_run_dir_gets_one_line(  # type: ignore[no-untyped-def]
    tmp_path: Path, llama_model: Path, corpora: Path, run, assert_clean_failure, start_locked
) -> None:
    pytest.importorskip("torch")
    run_dir = tmp_path / "run"
    config = tmp_path / "p.toml"
    config.write_text(f'run_dir = "{run_dir}"\ncorpora = ["{corpora / "zh"}"]\nheldout = ["{corpora / "zh"}"]\n'
                      f'sample_mb = 0.05\nllama_tokenizer = "{llama_model}"\n', encoding="utf-8")
    owner = _frozen_owner(start_locked, ["-q", "pipeline", str(config)], run_dir)
    try:
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        _second_is_refused(["-q", "pipeline", str(config)], run_dir, owner, run, assert_clean_failure)
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # it touched nothing
    finally:
        owner.kill()
        owner.communicate()
