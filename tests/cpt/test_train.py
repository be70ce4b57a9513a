from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tokkit.cpt import CPTConfig, run_cpt  # noqa: E402
from tokkit.cpt.display import read_log  # noqa: E402
from tokkit.cpt.train import lr_at  # noqa: E402
from tokkit.errors import InputError, OutputExistsError  # noqa: E402


def _config(assets: dict[str, Path], output: Path, **overrides: object) -> CPTConfig:
    settings: dict[str, object] = {
        "model": str(assets["model"]), "shards": str(assets["shards"]), "output": str(output),
        "steps": 100, "batch_tokens": 32 * 8, "micro_batch": 8, "lr": 1e-2, "warmup_steps": 5,
        "eval_every": 50, "eval_sequences": 32, "save_every": 0, "log_every": 10, "seed": 0, "threads": 1,
    }
    settings.update(overrides)
    return CPTConfig(**settings)  # type: ignore[arg-type]


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(directory / "model.safetensors"))


def test_stage1_lowers_heldout_loss_and_changes_only_embeddings_and_head(
    cpt_assets: dict[str, Path], tmp_path: Path
) -> None:
    result = run_cpt(_config(cpt_assets, tmp_path / "run", train="embeddings"))
    assert set(result.val_losses) == {0, 50, 100}
    assert result.val_losses[100] < result.val_losses[0] - 1.0, result.val_losses
    assert result.val_losses[0] == pytest.approx(math.log(320), abs=0.3)  # untrained: ~uniform
    before, after = _weights(cpt_assets["model"]), _weights(result.final_dir)
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed == {"model.embed_tokens.weight", "lm_head.weight"}
    assert result.trainable_parameters == 2 * 320 * 64
    events = read_log(tmp_path / "run" / "log.jsonl")
    assert [e["step"] for e in events if e["event"] == "train"] == list(range(10, 101, 10))
    assert events[-1]["event"] == "done"
    assert (result.final_dir / "tokenizer.json").is_file()  # the next stage gets the tokenizer too


def test_resume_continues_with_identical_losses(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    settings = {"train": "all", "steps": 12, "save_every": 5, "eval_every": 6, "log_every": 1}
    straight = run_cpt(_config(cpt_assets, tmp_path / "straight", **settings))

    class Crash(Exception):
        pass

    def crash_at_8(step: int, loss: float) -> None:
        if step == 8:
            raise Crash

    with pytest.raises(Crash):
        run_cpt(_config(cpt_assets, tmp_path / "resumed", **settings), on_step=crash_at_8)
    with pytest.raises(InputError, match="`resume=True`"):
        run_cpt(_config(cpt_assets, tmp_path / "resumed", **settings))
    resumed = run_cpt(_config(cpt_assets, tmp_path / "resumed", **settings), resume=True)
    assert resumed.resumed_from == 5

    def losses(run: Path) -> list[tuple[int, float]]:
        return [(e["step"], e["loss"]) for e in read_log(run / "log.jsonl") if e["event"] == "train"]

    assert losses(tmp_path / "resumed") == losses(tmp_path / "straight")  # exact, not approx
    assert resumed.val_losses[12] == straight.val_losses[12]
    a, b = _weights(straight.final_dir), _weights(resumed.final_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_lora_trains_adapters_and_saves_a_merged_plain_model(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    result = run_cpt(_config(cpt_assets, tmp_path / "lora", train="all", lora_r=4, steps=8, eval_every=0))
    # per layer, r × (in + out): q,k,v,o (64→64), gate,up (64→128), down (128→64); 2 layers
    lora_params = 2 * 4 * (4 * (64 + 64) + 3 * (64 + 128))
    assert result.trainable_parameters == 2 * 320 * 64 + lora_params
    model = AutoModelForCausalLM.from_pretrained(str(result.final_dir))
    assert not any("lora" in name for name, _ in model.named_parameters())
    before, after = _weights(cpt_assets["model"]), _weights(result.final_dir)
    assert not torch.equal(before["model.layers.0.self_attn.q_proj.weight"],
                           after["model.layers.0.self_attn.q_proj.weight"])
    assert torch.equal(before["model.norm.weight"], after["model.norm.weight"])  # not adapted, frozen


def test_mismatched_vocab_or_tokenizer_is_refused_before_training(
    cpt_assets: dict[str, Path], tmp_path: Path, build
) -> None:
    bpe, learnable_corpus, tiny_llama = build.bpe, build.learnable_corpus, build.tiny_llama
    bigger = tiny_llama(tmp_path / "bigger", vocab_size=400, tokenizer_dir=None)
    with pytest.raises(InputError, match=r"400 embedding rows .* 320 tokens"):
        run_cpt(_config(cpt_assets, tmp_path / "o1", model=str(bigger)))
    other_tok = bpe(tmp_path / "other", [s.upper() for s in learnable_corpus(500)], 320)
    other = tiny_llama(tmp_path / "other_model", vocab_size=320, tokenizer_dir=other_tok)
    with pytest.raises(InputError, match=r"tokenizer \(320 tokens\) differs"):
        run_cpt(_config(cpt_assets, tmp_path / "o2", model=str(other)))
    bare = tiny_llama(tmp_path / "bare", vocab_size=320, tokenizer_dir=None)
    with pytest.raises(InputError, match="no tokenizer files"):
        run_cpt(_config(cpt_assets, tmp_path / "o3", model=str(bare)))
    manifest = json.loads((cpt_assets["shards"] / "manifest.json").read_text())
    assert manifest["tokenizer"]["vocab_size"] == 320
    assert not any((tmp_path / name).exists() for name in ("o1", "o2", "o3"))


def test_existing_output_and_bad_settings_are_refused(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    with pytest.raises(OutputExistsError):
        run_cpt(_config(cpt_assets, tmp_path / "taken", steps=1))
    with pytest.raises(InputError, match=r"`lora_r` needs `train=.all.`"):
        run_cpt(_config(cpt_assets, tmp_path / "o", lora_r=4))
    with pytest.raises(InputError, match="`batch_tokens="):
        run_cpt(_config(cpt_assets, tmp_path / "o", batch_tokens=16))


def test_cosine_schedule_with_warmup() -> None:
    config = CPTConfig(model="m", shards="s", output="o", steps=110, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert lr_at(0, config) == pytest.approx(0.1)
    assert lr_at(9, config) == pytest.approx(1.0)
    assert lr_at(10, config) == pytest.approx(1.0)
    assert lr_at(60, config) == pytest.approx(0.55)
    assert lr_at(110, config) == pytest.approx(0.1)


def _crash_at(step_to_crash: int):  # type: ignore[no-untyped-def]
    class Crash(Exception):
        pass

    def on_step(step: int, loss: float) -> None:
        if step == step_to_crash:
            raise Crash

    return Crash, on_step


def test_a_torn_last_log_line_is_dropped_on_resume(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    settings = {"steps": 6, "save_every": 3, "eval_every": 0, "log_every": 1}
    run_cpt(_config(cpt_assets, tmp_path / "straight", **settings))
    crash, on_step = _crash_at(4)
    with pytest.raises(crash):
        run_cpt(_config(cpt_assets, tmp_path / "run", **settings), on_step=on_step)
    with (tmp_path / "run" / "log.jsonl").open("a") as f:
        f.write('{"event": "train", "step": 5, "lo')  # killed mid-write
    run_cpt(_config(cpt_assets, tmp_path / "run", **settings), resume=True)

    def losses(run: Path) -> list[tuple[int, float]]:
        return [(e["step"], e["loss"]) for e in read_log(run / "log.jsonl") if e["event"] == "train"]

    assert losses(tmp_path / "run") == losses(tmp_path / "straight")


def test_a_log_damaged_before_its_last_line_is_one_clear_error(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    settings = {"steps": 4, "save_every": 2, "eval_every": 0, "log_every": 1}
    crash, on_step = _crash_at(3)
    with pytest.raises(crash):
        run_cpt(_config(cpt_assets, tmp_path / "run", **settings), on_step=on_step)
    path = tmp_path / "run" / "log.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    with pytest.raises(InputError, match=r"log\.jsonl: line 2 is not a JSON record; delete that line"):
        run_cpt(_config(cpt_assets, tmp_path / "run", **settings), resume=True)
    assert path.read_text().splitlines()[1] == "{not json"  # refused, not rewritten


def test_a_failure_before_any_checkpoint_leaves_nothing(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    crash, on_step = _crash_at(2)
    with pytest.raises(crash):
        run_cpt(_config(cpt_assets, tmp_path / "run", steps=10, save_every=5), on_step=on_step)
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()  # a dir the user made stays, empty
    with pytest.raises(crash):
        run_cpt(_config(cpt_assets, tmp_path / "empty", steps=10, save_every=5), on_step=on_step)
    assert list((tmp_path / "empty").iterdir()) == []
    result = run_cpt(_config(cpt_assets, tmp_path / "run", steps=3))  # a plain re-run works
    assert result.steps == 3 and result.resumed_from is None


class _Steps:
    """A :class:`tokkit.types.Progress` that records what it is told."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, int | None]] = []
        self.advanced = 0

    def task(self, description: str, total: int | None = None, *, unit: str = "") -> _Steps:
        self.tasks.append((description, total))
        return self

    def advance(self, n: int = 1) -> None:
        self.advanced += n

    def update_total(self, total: int | None) -> None:
        pass


def test_steps_are_reported_to_a_progress_like_every_stage(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    steps = _Steps()
    run_cpt(_config(cpt_assets, tmp_path / "run", steps=4, save_every=2, eval_every=0), progress=steps)
    assert steps.tasks == [("cpt steps", 4)] and steps.advanced == 4
    resumed = _Steps()
    run_cpt(_config(cpt_assets, tmp_path / "run", steps=6, save_every=2, eval_every=0), progress=resumed,
            resume=True)
    assert resumed.tasks == [("cpt steps (from 4)", 2)] and resumed.advanced == 2


class _Watch:
    """Records what a StepWatch is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def begin(self, *, total: int, start: int) -> None:
        self.events.append(("begin", (total, start)))

    def partial(self, steps: float) -> None:
        self.events.append(("partial", steps))

    def update(self, *, step: int, loss: float | None = None, val: float | None = None,
               lr: float | None = None, tokens_per_s: float | None = None) -> None:
        self.events.append(("update", (step, loss is not None, val is not None)))

    def end(self) -> None:
        self.events.append(("end", None))


def test_a_watch_gets_every_step_and_its_figures_and_cpt_draws_nothing(
        cpt_assets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    watch, steps = _Watch(), _Steps()
    run_cpt(_config(cpt_assets, tmp_path / "run", steps=4, save_every=2, eval_every=2, log_every=2),
            progress=steps, watch=watch)
    names = [name for name, _ in watch.events]
    assert names[0] == "begin" and names[-1] == "end" and watch.events[0][1] == (4, 0)
    updates = [value for name, value in watch.events if name == "update"]
    assert [step for step, _, _ in updates if step] == [1, 2, 2, 3, 4, 4]  # every step, then its val loss
    assert [step for step, loss, _ in updates if loss] == [2, 4]  # the loss every log_every steps
    assert [step for step, _, val in updates if val] == [0, 2, 4]
    assert "partial" in names and steps.advanced == 4
    assert capsys.readouterr().err == ""  # no bar of cpt's own


def test_the_live_line_moves_within_a_step_so_an_eta_shows_before_the_first_step_ends() -> None:
    import time

    from tokkit.cli.cpt_display import LiveLine

    line = LiveLine()
    line.begin(total=10, start=0)
    try:
        bar = line._bar.tasks[0]
        line.partial(0.25)
        time.sleep(0.05)
        line.partial(0.5)
        assert bar.completed == 0.5 and bar.time_remaining is not None and bar.time_remaining > 0
        line.update(step=10, loss=1.5)
        assert bar.finished and bar.fields["loss"] == "1.5000"
    finally:
        line.end()


def test_a_checkpoint_state_without_a_config_is_one_clear_error(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    run_cpt(_config(cpt_assets, tmp_path / "run", steps=1, eval_every=0))
    state = tmp_path / "run" / "checkpoints" / "step-00000001" / "state.json"
    saved = json.loads(state.read_text())
    del saved["config"]["model"]
    state.write_text(json.dumps(saved))
    with pytest.raises(InputError, match=r"step-00000001: its config is not a CPT config"):
        run_cpt(_config(cpt_assets, tmp_path / "run", steps=2, eval_every=0), resume=True)
