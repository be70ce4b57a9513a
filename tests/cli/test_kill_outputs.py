"""kill -9 at several moments of a run (and of a --force replace): never half an output, and the
re-run gives exactly what an uninterrupted run gives (issue 12, fault injection)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tokkit.atomic import old_path

COMMANDS = {
    "dedup": (["dedup"], []),
    "train-bpe": (["train-bpe"], ["--vocab", "320"]),
}
"""command, options after the corpus."""
DELAYS = (0.0, 0.1, 0.3, 0.8)
"""Seconds after the run took its output's lock."""


def _corpus(root: Path) -> Path:
    root.mkdir()
    for i in range(3):
        (root / f"part{i}.txt").write_text(
            "".join(f"line {j % 700} of part {i % 2}: the quick brown fox {j % 97} jumps\n" for j in range(5000)),
            encoding="utf-8")
    return root


def _content(output: Path, command: str) -> dict[str, object]:
    """What must be identical between runs (not the timings in the manifests)."""
    files = {p.relative_to(output).as_posix(): p.read_bytes() for p in sorted(output.rglob("*"))
             if p.is_file() and p.name not in ("manifest.json", "tokkit.json", "train_report.json")}
    if command == "dedup":
        manifest = json.loads((output / "manifest.json").read_text())
        files["counts"] = manifest["counts"]
    else:
        files["vocab_size"] = json.loads((output / "tokkit.json").read_text())["report"]["vocab_size"]
    return files


def _args(command: str, corpus: Path, output: Path) -> list[str]:
    head, tail = COMMANDS[command]
    return ["-q", *head, str(corpus), *tail, "-o", str(output)]


def _kill_inside(start_locked: Callable[..., subprocess.Popen[str]], args: list[str], output: Path,
                 delay: float) -> bool:
    """Run ``tokkit *args``, SIGKILL it ``delay`` s after it locked ``output``; whether it was alive."""
    proc = start_locked(args, output)
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return alive


@pytest.mark.parametrize("command", COMMANDS)
def test_kill_9_anywhere_leaves_the_old_output_or_the_new_one_whole(  # type: ignore[no-untyped-def]
    command: str, tmp_path: Path, run_main, start_locked
) -> None:
    corpus = _corpus(tmp_path / "corpus")
    reference = tmp_path / "reference"
    assert run_main(*_args(command, corpus, reference)).returncode == 0
    expected = _content(reference, command)
    out = tmp_path / "out"
    killed = 0
    for delay in DELAYS:
        killed += _kill_inside(start_locked, [*_args(command, corpus, out), "--force"], out, delay)
        # whatever the moment: no output, or a whole one (the old copy parked between the renames
        # of a replace counts: the next run puts it back)
        whole = out if out.exists() else old_path(out)
        if whole.exists():
            assert _content(whole, command) == expected, delay
    assert killed >= 2  # most moments fall inside the run (the machine may finish the late ones)
    proc = run_main(*_args(command, corpus, out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert _content(out, command) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out", "reference"]  # nothing left over
