from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tokkit.cli import cli


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory, tiny_cpt_assets: Callable[[Path], dict[str, Any]]) -> dict[str, Path]:
    from tokkit.llama.tiny import build_tiny_llama

    root = tmp_path_factory.mktemp("cli_cpt")
    built = tiny_cpt_assets(root)
    build_tiny_llama(root / "wrong", vocab_size=built["vocab_size"] + 10, max_position_embeddings=64)
    return {"shards": root / "shards", "model": root / "model", "wrong": root / "wrong"}


def test_cpt_trains_and_prints_the_final_model_dir(assets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["-q", "cpt", "--model", str(assets["model"]), "--shards",
                                      str(assets["shards"]), "-o", str(out), "--steps", "4",
                                      "--batch-tokens", "64", "--micro-batch", "2", "--threads", "1",
                                      "--eval-every", "2", "--eval-sequences", "4"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out / "final")
    assert (out / "final" / "config.json").is_file() and (out / "final" / "tokenizer.json").is_file()
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "val"] == [0, 2, 4]
    assert json.loads((out / "cpt.json").read_text())["batch_tokens"] == 64


def test_cpt_refuses_a_model_of_another_vocab_in_one_line(assets: dict[str, Path], tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          run_main, assert_clean_failure) -> None:
    out = tmp_path / "run"
    proc = run_main("cpt", "--model", str(assets["wrong"]), "--shards", str(assets["shards"]), "-o",
                    str(out), "--steps", "2")
    assert_clean_failure(proc, "embedding rows", "resize", code=2, output=out)


def test_shards_longer_than_the_model_positions_are_refused(assets: dict[str, Path], tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           run_main, assert_clean_failure) -> None:
    short = assets["model"].parent / "short"
    if not short.exists():
        from tokkit.llama.tiny import build_tiny_llama

        build_tiny_llama(short, vocab_size=json.loads((assets["model"] / "config.json").read_text())["vocab_size"],
                         max_position_embeddings=8)
        shutil.copy2(assets["model"] / "tokenizer.json", short / "tokenizer.json")
    out = tmp_path / "run"
    proc = run_main("cpt", *_small(assets), "--model", str(short), "-o", str(out), "--steps", "1")
    assert_clean_failure(proc, "16 tokens", "8 positions", "--seq-len 8", code=2, output=out)


def test_the_default_batch_fits_the_cpu_and_a_resume_keeps_the_checkpoints(assets: dict[str, Path],
                                                                           tmp_path: Path) -> None:
    out = tmp_path / "run"
    small = [a for a in _small(assets) if a not in ("--batch-tokens", "64")]
    result = CliRunner().invoke(cli, ["-q", "cpt", *small, "-o", str(out), "--steps", "3"])
    assert result.exit_code == 0, result.output
    start = json.loads((out / "log.jsonl").read_text().splitlines()[0])
    assert start["tokens_per_step"] == 4096 and start["accumulation"] == 4096 // 16 // 2
    assert json.loads((out / "cpt.json").read_text())["batch_tokens"] == 4096  # the number used, not None
    run = tmp_path / "run64"
    assert CliRunner().invoke(cli, ["-q", "cpt", *_small(assets), "-o", str(run), "--steps", "1"]).exit_code == 0
    resumed = CliRunner().invoke(cli, ["-q", "cpt", *small, "-o", str(run), "--steps", "2", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((run / "cpt.json").read_text())["batch_tokens"] == 64


def test_a_second_run_into_a_busy_output_gets_one_line(assets: dict[str, Path], tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       run_main, assert_clean_failure) -> None:
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from tokkit.atomic import output_lock\n"
         "with output_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        proc = run_main("cpt", *_small(assets), "-o", str(out), "--steps", "1")
    finally:
        holder.kill()
        holder.wait()
    assert_clean_failure(proc, "another run", f"pid {holder.pid}")
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))  # (the killed holder's .run.lock stays)


def test_cpt_help_shows_torchrun() -> None:
    result = CliRunner().invoke(cli, ["cpt", "--help"])
    assert result.exit_code == 0 and "torchrun --nproc-per-node" in result.output


class _RunsCode:
    """Pickles to a call of ``os.system``: what a planted checkpoint file would do on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os
        import shlex

        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.fixture(scope="module")
def one_step_run(assets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-step run: ``checkpoints/step-00000001/`` holds every file a resume reads."""
    out = tmp_path_factory.mktemp("checkpointed") / "run"
    result = CliRunner().invoke(cli, ["-q", "cpt", *_small(assets), "-o", str(out), "--steps", "1"])
    assert result.exit_code == 0, result.output
    return out


def _small(assets: dict[str, Path]) -> list[str]:
    return ["--model", str(assets["model"]), "--shards", str(assets["shards"]), "--batch-tokens", "64",
            "--micro-batch", "2", "--threads", "1", "--eval-every", "0"]


@pytest.mark.parametrize("planted", ["rng-0.pt", "optimizer.pt", "rng-0.safetensors", "optimizer.safetensors",
                                     "trainable.safetensors", "state.json"])
def test_resume_never_runs_code_from_a_checkpoint(assets: dict[str, Path], one_step_run: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   planted: str, run_main, assert_clean_failure) -> None:
    import torch

    out = tmp_path / "run"
    shutil.copytree(one_step_run, out)
    marker = tmp_path / "code-ran"
    torch.save(_RunsCode(marker), out / "checkpoints" / "step-00000001" / planted)
    proc = run_main("cpt", *_small(assets), "-o", str(out), "--steps", "2", "--resume")
    assert not marker.exists(), "a pickle in the checkpoint ran code"
    line = assert_clean_failure(proc, planted, "step-00000001", code=2)
    assert "--force" in line
    assert not (out / "checkpoints" / "step-00000002").exists()


def test_an_untouched_checkpoint_resumes(assets: dict[str, Path], one_step_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    shutil.copytree(one_step_run, out)
    result = CliRunner().invoke(cli, ["-q", "cpt", *_small(assets), "-o", str(out), "--steps", "2", "--resume"])
    assert result.exit_code == 0, result.output
    assert (out / "checkpoints" / "step-00000002" / "state.json").is_file()
    assert not list(out.rglob("*.pt")), "checkpoints hold pickles"


def _signal_when(proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 120) -> float:
    """Send SIGINT once ``ready()`` holds; return the moment it was sent."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the run never reached the moment to interrupt"
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    return time.monotonic()


def _log_has(run: Path, event: str) -> Callable[[], bool]:
    def ready() -> bool:
        logs = [*run.parent.glob(f".tmp-{run.name}.*/log.jsonl"), run / "log.jsonl"]
        return any(f'"event": "{event}"' in log.read_text() for log in logs if log.is_file())

    return ready


@pytest.mark.parametrize("moment", ["training", "after-checkpoint"])
def test_ctrl_c_ends_cpt_in_two_seconds_and_says_what_it_left(assets: dict[str, Path], tmp_path: Path,
                                                              moment: str) -> None:
    out = tmp_path / "run"
    ready = {"training": _log_has(out, "train"), "after-checkpoint": lambda: (out / "checkpoints").is_dir()}[moment]
    save_every = "3" if moment == "after-checkpoint" else "0"
    args = [*_small(assets), "-o", str(out), "--log-every", "1", "--save-every", save_every]
    proc = subprocess.Popen([sys.executable, "-m", "tokkit", "cpt", *args, "--steps", "1000000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sent = _signal_when(proc, ready)
    try:
        _, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    stopped = time.monotonic() - sent
    assert stopped < 2.0, f"took {stopped:.1f} s to stop"
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and stderr.rstrip().endswith(errors[0]), stderr
    assert not list(tmp_path.glob(".tmp-*")), "a temporary run dir was left behind"
    if moment == "after-checkpoint":
        kept = max(int(p.name.split("-")[1]) for p in (out / "checkpoints").iterdir())
        assert f"checkpoint of step {kept}: re-run with --resume" in errors[0]
        again = ["--resume", "--steps", str(kept + 2)]
    else:
        assert "no output was written" in errors[0] and not out.exists()
        again = ["--steps", "2"]
    result = CliRunner().invoke(cli, ["-q", "cpt", *args, *again])
    assert result.exit_code == 0, result.output
    assert (out / "final" / "config.json").is_file()
