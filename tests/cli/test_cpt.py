from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tokkit.cli import cli


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tokkit.llama.tiny import build_tiny_llama
    from tokkit.shards import ShardConfig, write_shards

    root = tmp_path_factory.mktemp("cli_cpt")
    texts = [f"line {i} says hello to the {['sea', 'sky', 'hill'][i % 3]}" for i in range(400)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    (root / "tok").mkdir()
    tok.save(str(root / "tok" / "tokenizer.json"))
    (root / "c.txt").write_text("\n".join(texts), encoding="utf-8")
    write_shards([root / "c.txt"], root / "tok", root / "shards",
                 config=ShardConfig(seq_len=16, val_fraction=0.1, workers=1))
    build_tiny_llama(root / "model", vocab_size=tok.get_vocab_size(), max_position_embeddings=64)
    shutil.copy2(root / "tok" / "tokenizer.json", root / "model" / "tokenizer.json")
    build_tiny_llama(root / "wrong", vocab_size=tok.get_vocab_size() + 10, max_position_embeddings=64)
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
