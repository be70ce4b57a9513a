"""Outputs: replaced only when they are tokkit's, never over an input, recoverably, one run at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokkit.atomic import MARKER, atomic_dir, lock_path, old_path, output_lock
from tokkit.errors import (
    InputError,
    NotTokkitOutputError,
    OutputBusyError,
    OutputExistsError,
    TokkitError,
)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _write(target: Path, text: str, *, force: bool = False) -> None:
    with atomic_dir(target, force=force) as tmp:
        (tmp / "data.txt").write_text(text)


def test_outputs_are_marked_and_force_replaces_only_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(out, "one")
    assert (out / MARKER).is_file()
    _write(out, "two", force=True)
    assert (out / "data.txt").read_text() == "two"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputExistsError):
        _write(plain, "x")
    with pytest.raises(NotTokkitOutputError, match=r"plain: not a tokkit output.*delete the directory yourself"):
        _write(plain, "x", force=True)
    assert _tree(plain) == {"thesis.tex": b"years of work"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "plain"]  # no lock, temp or old copy


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_an_output_overlapping_an_input_is_refused(tmp_path: Path, where: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("text\n")
    (corpus / MARKER).write_text("{}")  # even a corpus that looks like an output
    output = {"same": corpus, "inside": corpus / "sub", "above": tmp_path}[where]
    with pytest.raises(InputError, match="outside every input"), \
            atomic_dir(output, force=True, inputs=[corpus / "*.txt"]):
        pass
    assert _tree(corpus) == {MARKER: b"{}", "a.txt": b"text\n"}


KILL_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
from tokkit.atomic import atomic_dir

target = Path(sys.argv[1])
rename = Path.rename

def rename_then_die(self, dest):
    result = rename(self, dest)
    if self == target:  # the old output moved aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
    return result

Path.rename = rename_then_die
with atomic_dir(target, force=True) as tmp:
    (tmp / "data.txt").write_text("new")
"""


def test_a_kill_between_the_two_renames_of_a_replace_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(out, "old")
    proc = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(out)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not out.exists()  # killed exactly between the renames
    # the next run finds the complete old copy and restores it before anything else
    with pytest.raises(OutputExistsError):
        _write(out, "next")
    assert (out / "data.txt").read_text() == "old"
    assert not old_path(out).exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    _write(out, "next", force=True)
    assert (out / "data.txt").read_text() == "next"


HOLD = """
import sys, time
from tokkit.atomic import atomic_dir
with atomic_dir(sys.argv[1], force=True) as tmp:
    (tmp / "data.txt").write_text("first")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_writer_of_the_same_output_stops_and_the_first_wins(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen([sys.executable, "-c", HOLD, str(out), "3"], stdout=subprocess.PIPE, text=True, env=env)
    assert first.stdout is not None and first.stdout.readline() == "holding\n"
    with pytest.raises(OutputBusyError, match=rf"out: another run \(pid {first.pid}\) is writing it"):
        _write(out, "second", force=True)
    with pytest.raises(OutputBusyError), output_lock(out):
        pass
    temps = [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-out.")]
    assert len(temps) == 1 and (temps[0] / "data.txt").read_text() == "first"  # the loser cleaned nothing
    assert first.wait(timeout=60) == 0
    assert (out / "data.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    _write(out, "after", force=True)  # the lock is free again
    assert (out / "data.txt").read_text() == "after"


def test_the_lock_is_reentrant_and_released_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_lock(out):
        assert lock_path(out).read_text().strip() == str(os.getpid())
        _write(out, "inner")  # atomic_dir inside a command's own lock
    assert not lock_path(out).exists()
    with pytest.raises(RuntimeError), atomic_dir(out, force=True):
        raise RuntimeError("boom")
    assert (out / "data.txt").read_text() == "inner"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    start = time.perf_counter()
    _write(out, "again", force=True)
    assert time.perf_counter() - start < 5


def test_stale_temps_of_a_dead_run_go_but_another_outputs_temps_stay(tmp_path: Path) -> None:
    (tmp_path / ".tmp-out.abcd1234").mkdir()  # a dead run of "out"
    (tmp_path / ".tmp-out.v2.abcd1234").mkdir()  # a run of "out.v2": not ours to clean
    _write(tmp_path / "out", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-out.v2.abcd1234", "out"]


def test_an_output_where_nothing_can_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(TokkitError, match=r"a-file/out: cannot write there \(.*\); choose an output in a folder"):
        _write(blocker / "out", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
