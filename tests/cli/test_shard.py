from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory, byte_level_bpe: Callable[[list[str], Path], Path]) -> Path:
    return byte_level_bpe(["hello world", "你好世界"] * 20, tmp_path_factory.mktemp("tok"))


def test_shard_writes_shards_and_a_manifest(tmp_path: Path, tokenizer_dir: Path, run_main,  # type: ignore[no-untyped-def]
                                            assert_clean_failure) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n你好世界\n" * 50, encoding="utf-8")
    out = tmp_path / "shards"
    result = CliRunner().invoke(cli, ["shard", str(corpus), "--tokenizer", str(tokenizer_dir),
                                      "--seq-len", "32", "--val-fraction", "0", "--workers", "1",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits"]["train"]["documents"] == 100
    assert manifest["seq_len"] == 32 and manifest["dtype"] == "uint16"
    again = run_main("shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(out))
    assert_clean_failure(again, "--force")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seq-len", "0"], "--seq-len"),
        (["--tokens-per-shard", "3"], "--tokens-per-shard"),
        (["--val-fraction", "2"], "--val-fraction"),
    ],
)
def test_shard_refuses_nonsense_in_one_line(tmp_path: Path, tokenizer_dir: Path, args: list[str],  # type: ignore[no-untyped-def]
                                            message: str, run_main, assert_clean_failure) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    out = tmp_path / "o"
    proc = run_main("shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(out), *args)
    assert_clean_failure(proc, message, code=2, output=out)


def test_shard_reports_missing_tokenizer_and_binary_corpus(tmp_path: Path, tokenizer_dir: Path,  # type: ignore[no-untyped-def]
                                                           run_main, assert_clean_failure) -> None:
    corpus = tmp_path / "c.bin.txt"
    corpus.write_bytes(b"\x00\x01binary\x00")
    out = tmp_path / "o"
    proc = run_main("shard", str(corpus), "--tokenizer", str(tmp_path / "nope"), "-o", str(out))
    assert_clean_failure(proc, "no such tokenizer", code=2, output=out)
    proc = run_main("-q", "shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(out))
    assert_clean_failure(proc, "no documents", code=2, output=out)


def test_shard_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["shard", "--help"])
    assert result.exit_code == 0 and "tokkit shard corpus/" in result.output


def test_shard_takes_the_engine_options(tmp_path: Path, tokenizer_dir: Path, run_main,  # type: ignore[no-untyped-def]
                                        assert_clean_failure) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    out = tmp_path / "o"
    proc = run_main("shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(out),
                    "--partition-mb", "4")
    assert_clean_failure(proc, "--engine ray", code=2, output=out)
    result = CliRunner().invoke(cli, ["shard", "--help"])
    assert "--engine [local|ray]" in result.output


def test_a_skipped_file_is_reported_once(tmp_path: Path, tokenizer_dir: Path, run) -> None:  # type: ignore[no-untyped-def]
    """The corpus folder is listed once (for the fingerprint, the progress total and the reading)."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("hello world\n" * 50, encoding="utf-8")
    (corpus / "b.csv").write_text("x,y\n", encoding="utf-8")
    proc = run("shard", str(corpus), "--tokenizer", str(tokenizer_dir), "--workers", "1",
               "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("b.csv") == 1, proc.stderr


def test_a_rerun_on_a_finished_dir_verifies_it(tmp_path: Path, tokenizer_dir: Path, run_main,  # type: ignore[no-untyped-def]
                                               assert_clean_failure) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n你好世界\n" * 50, encoding="utf-8")
    out = tmp_path / "shards"
    args = ("shard", str(corpus), "--tokenizer", str(tokenizer_dir), "--seq-len", "32", "--workers", "1",
            "-o", str(out))
    assert run_main(*args).returncode == 0
    again = run_main(*args)
    assert again.returncode == 0 and "already finished; verified" in again.stderr, again.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["splits"]["train"]["shards"][0]["tokens"] -= 1
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert_clean_failure(run_main(*args), "checksum does not match")


def test_two_runs_into_one_output_one_wins_the_other_gets_one_line(tmp_path: Path, tokenizer_dir: Path) -> None:
    """Two real processes: the second is refused while the first writes, and the first is unharmed."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tokkit.shards import open_shards
    from tokkit.shards.lock import lock_path
    from tokkit.shards.writer import partial_dir

    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world 你好世界 and some more words to tokenize\n" * 40_000, encoding="utf-8")
    out = tmp_path / "shards"
    args = [sys.executable, "-m", "tokkit", "-q", "shard", str(corpus), "--tokenizer", str(tokenizer_dir),
            "--seq-len", "64", "--tokens-per-shard", "16384", "--workers", "1", "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(partial_dir(out).glob("*.bin")) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # the first run is writing shards
        # frozen while it holds the lock, so the second surely meets it (an idle machine can
        # otherwise finish the first run before the second starts)
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        finally:
            os.kill(first.pid, signal.SIGCONT)
    finally:
        _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert second.returncode != 0 and "Traceback" not in second.stderr, second.stderr
    errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "another run (pid" in errors[0] and str(out) in errors[0], second.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == "manifest.json" and all(n.endswith(".bin") and n[:-4].split("-")[1].isdigit()
                                               for n in names[1:]), names
    assert len(open_shards(out).manifest.splits["train"].shards) == len(names) - 1 > 1
    assert not lock_path(out).exists() and not partial_dir(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt", "shards"]


def test_ctrl_c_says_what_is_kept_and_the_rerun_resumes(tmp_path: Path, tokenizer_dir: Path, run_main,  # type: ignore[no-untyped-def]
                                                        assert_clean_failure,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tokkit.shards import stream as stream_module
    from tokkit.shards.writer import partial_dir

    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n你好世界\n" * 200, encoding="utf-8")
    out = tmp_path / "shards"
    args = ("shard", str(corpus), "--tokenizer", str(tokenizer_dir), "--seq-len", "16", "--tokens-per-shard", "64",
            "--workers", "1", "-o", str(out))
    finish = stream_module.ShardStream._finish

    def ctrl_c_after(n: int):  # type: ignore[no-untyped-def]
        def crashing_finish(self: stream_module.ShardStream, end: tuple[int, int]) -> None:
            if sum(1 for _ in partial_dir(out).glob("*.bin")) == n:
                raise KeyboardInterrupt
            finish(self, end)
        return crashing_finish

    monkeypatch.setattr(stream_module.ShardStream, "_finish", ctrl_c_after(0))
    proc = run_main(*args)
    assert_clean_failure(proc, "no output was written", code=130, output=out)
    assert "kept" not in proc.stderr
    monkeypatch.setattr(stream_module.ShardStream, "_finish", ctrl_c_after(3))
    proc = run_main(*args)
    assert_clean_failure(proc, "interrupted", code=130)
    said = " ".join(proc.stderr.split())  # the warning may wrap
    assert f"3 finished shards are kept in {partial_dir(out)}" in said and "resumes from them" in said, said
    assert not out.exists()
    monkeypatch.undo()
    again = run_main(*args)
    assert again.returncode == 0 and "resumed: 3 shards" in again.stderr, again.stderr
    import os

    mask = os.umask(0)
    os.umask(mask)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()}
    assert set(modes.values()) == {oct(0o666 & ~mask)}, modes  # shards as every other output (were 0600)


KILL_CONFIG = {"seq_len": 64, "tokens_per_shard": 4096, "val_fraction": 0.05, "workers": 1}


@pytest.fixture(scope="module")
def kill_corpus(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> tuple[Path, Path]:
    """A corpus of ~40 shards and its uninterrupted shards."""
    from tokkit.shards import ShardConfig, write_shards

    root = tmp_path_factory.mktemp("kill")
    corpus = root / "c.txt"
    corpus.write_text("".join(f"line {i}: hello world 你好世界 {i * 7919 % 1000}\n" for i in range(10_000)),
                      encoding="utf-8")
    write_shards([corpus], tokenizer_dir, root / "clean", config=ShardConfig(**KILL_CONFIG))  # type: ignore[arg-type]
    return corpus, root / "clean"


@pytest.mark.parametrize("finished", [0, 2, 20])
def test_kill_9_mid_run_leaves_no_output_and_the_rerun_equals_an_uninterrupted_run(
    tmp_path: Path, tokenizer_dir: Path, kill_corpus: tuple[Path, Path], finished: int
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tokkit.shards import ShardConfig, write_shards
    from tokkit.shards.lock import lock_path
    from tokkit.shards.writer import partial_dir

    corpus, clean = kill_corpus
    out = tmp_path / "out"
    args = [sys.executable, "-m", "tokkit", "-q", "shard", str(corpus), "--tokenizer", str(tokenizer_dir),
            "--seq-len", "64", "--tokens-per-shard", "4096", "--val-fraction", "0.05", "--workers", "1",
            "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while run.poll() is None and time.monotonic() < deadline:
        if lock_path(out).exists() and len(list(partial_dir(out).glob("*.bin"))) >= finished:
            break
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL  # killed mid-run
    assert not out.exists()  # never a half-written output
    write_shards([corpus], tokenizer_dir, out, config=ShardConfig(**KILL_CONFIG))  # type: ignore[arg-type]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {p.name: p.read_bytes() for p in clean.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock, partial or temp left
