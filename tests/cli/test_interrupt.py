"""Ctrl-C at any moment: every command that starts workers (or a library's native trainer) exits
within two seconds, with one line and no traceback, leaves no output and no process behind, and
the same command then runs to the end.

Real processes, real signals: the command runs as ``tokkit`` does, in its own process group, and
SIGINT goes to the whole group, as a terminal's Ctrl-C does (workers receive it too).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokkit.shards.writer import partial_dir

EXIT_SECONDS = 2.0
MOMENTS = (0.9, 1.7, 2.5)
"""Seconds after start: while reading, while counting/training, and later. Not earlier: in the
first ~0.3 s the interpreter is still importing tokkit, before the CLI can catch a Ctrl-C."""

COMMANDS: dict[str, list[str]] = {
    "train-bpe scratch": ["train-bpe", "{en_all}", "{zh}", "--vocab", "3000", "--workers", "2", "-o", "{out}"],
    "train-bpe hf": ["train-bpe", "{en_all}", "{zh}", "--vocab", "3000", "--backend", "hf", "-o", "{out}"],
    "train-bpe spm": ["train-bpe", "{en_all}", "{zh}", "--vocab", "8000", "--backend", "spm", "-o", "{out}"],
    "train-unigram": ["train-unigram", "{en_all}", "{zh_book}", "--vocab", "6000", "-o", "{out}"],
    "dedup": ["dedup", "{en_all}", "{zh}", "-o", "{out}"],
    "shard": ["shard", "{en_all}", "{zh}", "--tokenizer", "{llama}", "--workers", "2", "--seq-len", "256", "-o", "{out}"],
    "analyze": ["analyze", "{llama}", "tiktoken:cl100k_base", "-c", "{en}", "--workers", "2",
                "--json", "{out}"],
}


BOOKS = ("war_and_peace.txt", "don_quixote.txt", "middlemarch.txt")
"""7.4 MB of English (``{en_all}``; ``{en}`` is the first, 3.3 MB): every command is still
working at the last moment, and the re-runs stay short. sentencepiece, fast on English alone, also
gets the Chinese corpus (``{zh}``, 18 MB), as all do now that they are faster; the Unigram trainer
(slow on all of it) one 2 MB book of it (``{zh_book}``)."""


@pytest.fixture(scope="module")
def english(corpora: Path) -> Path:
    return corpora / "en"


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tokkit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=cwd)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. A zombie (exited, waiting for its new parent,
    PID 1, to reap it) does not count: it holds nothing but a pid, and reaping is not ours."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _args(name: str, english: Path, llama: Path, out: Path) -> list[str]:
    args: list[str] = []
    for arg in COMMANDS[name]:
        if arg == "{en_all}":
            args += [str(english / book) for book in BOOKS]
        else:
            args.append(arg.format(en=english / BOOKS[0], zh=english.parent / "zh",
                                   zh_book=english.parent / "zh" / "三国志.txt", llama=llama, out=out))
    return args


@pytest.mark.parametrize("name", list(COMMANDS))
def test_ctrl_c_at_any_moment_exits_fast_and_clean_then_a_rerun_succeeds(
    name: str, english: Path, llama_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    if name == "analyze":
        out = tmp_path / "report.json"
    for moment in MOMENTS:
        proc = _start(_args(name, english, llama_model, out), cwd=tmp_path)
        time.sleep(moment)
        assert proc.poll() is None, f"{name} finished before {moment} s: the test needs a longer run"
        os.killpg(proc.pid, signal.SIGINT)
        sent = time.monotonic()
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"{name}: still running 30 s after Ctrl-C at {moment} s")
        took = time.monotonic() - sent
        assert took < EXIT_SECONDS, f"{name}: Ctrl-C at {moment} s took {took:.2f} s"
        assert proc.returncode == 130, (moment, stderr)
        assert "Traceback" not in stderr, (moment, stderr)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert errors == ["error: interrupted; no output was written (re-run to start again)"], (moment, stderr)
        assert stdout == ""
        assert not out.exists(), f"{name}: {out} written after Ctrl-C at {moment} s"
        resumable = partial_dir(out)  # shard keeps its verified finished shards to resume from
        left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p != resumable]
        assert not left, f"{name}: {left} left after Ctrl-C at {moment} s"
        deadline = time.monotonic() + 1.0  # workers killed by the parent are gone within moments
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _group_alive(proc.pid), f"{name}: a worker outlived Ctrl-C at {moment} s by 1 s"

    rerun = subprocess.run([sys.executable, "-m", "tokkit", "-q", *_args(name, english, llama_model, out)],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert out.exists()
