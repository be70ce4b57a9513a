"""The pipeline's run dir and state files, with every stage replaced by a fake that only writes its
folder: --force never deletes a plain folder or an input (issue 12.2), and an empty or truncated
``pipeline.json`` / ``stages/<stage>.json`` never ends in a traceback (issue 12.5)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import tokkit.pipeline as pipeline
from tokkit.atomic import atomic_dir
from tokkit.errors import InputError, NotTokkitOutputError, OutputExistsError
from tokkit.pipeline import STAGES, PipelineConfig, run_pipeline

FAKED = {"dedup": "DedupStage", "train": "TrainStage", "extend": "ExtendStage", "analyze": "AnalyzeStage",
         "model": "ModelStage", "resize": "ResizeStage", "shard": "ShardStage", "cpt": "CptStage"}
"""Each stage's class, whose ``run`` the fakes replace."""


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Counter[str]:
    """Fake stages; the counter says how often each one really ran."""
    calls: Counter[str] = Counter()
    llama = tmp_path / "llama.model"
    llama.write_bytes(b"not used by the fakes")
    monkeypatch.setattr(pipeline, "check_settings", lambda config, stages=None: None)
    monkeypatch.setattr(pipeline, "find_llama_tokenizer", lambda configured="": llama)
    monkeypatch.setattr(pipeline, "kept_files", lambda dedup_dir, corpus=None: [])
    monkeypatch.setattr(pipeline, "stage_summary", lambda result, stages=None: str(result.figures))

    def fake(stage: str) -> Any:
        def work(*args: Any, **kwargs: Any) -> dict[str, Any]:
            calls[stage] += 1
            output = next(a for a in reversed(args) if isinstance(a, Path))
            with atomic_dir(output, force=True) as tmp:
                (tmp / "done").write_text(stage)
            return {"stage": stage}
        return work

    for stage, name in FAKED.items():
        monkeypatch.setattr(getattr(pipeline, name), "run", fake(stage))
    original = pipeline.sample_corpus

    def sample(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls["sample"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "sample_corpus", sample)
    return calls


def _config(tmp_path: Path, run_dir: Path) -> PipelineConfig:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "zh.txt").write_text("你好世界\n" * 10, encoding="utf-8")
    return PipelineConfig(run_dir=str(run_dir), corpora=(str(corpus),), heldout=(str(corpus),))


def test_fakes_run_every_stage_once_then_reuse(ran: Counter[str], tmp_path: Path) -> None:
    config = _config(tmp_path, tmp_path / "run")
    run_pipeline(config)
    run_pipeline(config)
    assert ran == Counter(STAGES)


def test_force_never_deletes_a_plain_folder_named_as_run_dir(ran: Counter[str], tmp_path: Path) -> None:
    """A config's ``run_dir`` pointing at a plain folder ran ``shutil.rmtree`` on it."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "photos.txt").write_text("irreplaceable")
    config = _config(tmp_path, home)
    with pytest.raises(OutputExistsError):
        run_pipeline(config)
    with pytest.raises(NotTokkitOutputError, match=r"home: not a tokkit output"):
        run_pipeline(config, force=True)
    assert sorted(p.name for p in home.iterdir()) == ["photos.txt"] and not ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "home", "llama.model"]


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_a_run_dir_overlapping_an_input_is_refused_before_anything_is_written(
    ran: Counter[str], tmp_path: Path, where: str
) -> None:
    corpus = tmp_path / "corpus"
    run_dir = {"same": corpus, "inside": corpus / "run", "above": tmp_path}[where]
    config = _config(tmp_path, run_dir)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InputError, match="outside every input"):
        run_pipeline(config, force=True)
    assert sorted(tmp_path.rglob("*")) == before and not ran


def test_force_replaces_an_earlier_run(ran: Counter[str], tmp_path: Path) -> None:
    config = _config(tmp_path, tmp_path / "run")
    run_pipeline(config)
    (tmp_path / "run" / "stale").write_text("x")
    run_pipeline(config, force=True)
    assert not (tmp_path / "run" / "stale").exists() and ran == Counter({s: 2 for s in STAGES})


@pytest.mark.parametrize("content", ["", '{"run_dir": "ru'])
def test_an_empty_or_truncated_pipeline_json_is_one_line(ran: Counter[str], tmp_path: Path, content: str) -> None:
    config = _config(tmp_path, tmp_path / "run")
    run_pipeline(config)
    (tmp_path / "run" / "pipeline.json").write_text(content)
    with pytest.raises(InputError, match=r"pipeline\.json: unreadable .*`force=True`") as err:
        run_pipeline(config)
    assert "\n" not in str(err.value)
    run_pipeline(config, force=True)  # still a tokkit run dir: --force starts it over
    assert json.loads((tmp_path / "run" / "pipeline.json").read_text())["run_dir"] == str(tmp_path / "run")


@pytest.mark.parametrize("content", ["", '{"seconds": 1.5, "figu', "[]"])
def test_an_empty_or_truncated_stage_record_means_the_stage_is_redone(
    ran: Counter[str], tmp_path: Path, content: str
) -> None:
    config = _config(tmp_path, tmp_path / "run")
    run_pipeline(config)
    (tmp_path / "run" / "stages" / "train.json").write_text(content)
    result = run_pipeline(config)
    assert ran["train"] == 2 and all(ran[s] == 1 for s in STAGES if s != "train")
    assert [s.name for s in result.stages if not s.reused] == ["train"]
    assert json.loads((tmp_path / "run" / "stages" / "train.json").read_text())["figures"] == {"stage": "train"}


def test_state_files_are_written_whole(ran: Counter[str], tmp_path: Path) -> None:
    run_pipeline(_config(tmp_path, tmp_path / "run"))
    run = tmp_path / "run"
    for state in [run / "pipeline.json", run / "report.json", *sorted((run / "stages").iterdir())]:
        json.loads(state.read_text())
    assert not [p for p in run.rglob(".tmp-*")]


FAKE_RUN_TEMPLATE = """
import sys, time
from pathlib import Path
import tokkit.pipeline as pipeline
from tokkit.atomic import atomic_dir

FAKED = {FAKED!r}
root = Path(sys.argv[1])
llama = root / "llama.model"

def fake(stage):
    def work(*args, **kwargs):
        output = next(a for a in reversed(args) if isinstance(a, Path))
        with atomic_dir(output, force=True) as tmp:
            time.sleep(0.05)
            (tmp / "done").write_text(stage)
        return {"stage": stage}
    return work

pipeline.check_settings = lambda config, stages=None: None
pipeline.find_llama_tokenizer = lambda configured="": llama
pipeline.kept_files = lambda dedup_dir, corpus=None: []
pipeline.stage_summary = lambda result, stages=None: str(result.figures)
for stage, name in FAKED.items():
    setattr(getattr(pipeline, name), "run", fake(stage))
pipeline.run_pipeline(pipeline.PipelineConfig(run_dir=str(root / sys.argv[2]), corpora=(str(root / "corpus"),),
                                              heldout=(str(root / "corpus"),)), force=sys.argv[3:] == ["--force"])
"""


FAKE_RUN = FAKE_RUN_TEMPLATE.replace("{FAKED!r}", repr(FAKED))


def _finished(run: Path) -> dict[str, Any]:
    """A run's stage outputs and records (no timings)."""
    return {
        "outputs": {p.relative_to(run).as_posix(): p.read_text() for p in sorted(run.glob("*/done"))},
        "sample": {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted((run / "00-sample").rglob("*"))
                   if p.is_file()},
        "records": {p.name: json.loads(p.read_text())["figures"] for p in sorted((run / "stages").glob("*.json"))},
        "report": [s["figures"] for s in json.loads((run / "report.json").read_text())["stages"]],
    }


def test_kill_9_between_any_two_steps_then_a_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tokkit.atomic import lock_path

    _config(tmp_path, tmp_path / "unused")
    (tmp_path / "llama.model").write_bytes(b"fake")
    assert subprocess.run([sys.executable, "-c", FAKE_RUN, str(tmp_path), "reference"]).returncode == 0
    expected = _finished(tmp_path / "reference")
    assert len(expected["outputs"]) == len(FAKED) and expected["sample"]
    run = tmp_path / "run"
    killed = 0
    for i, delay in enumerate((0.0, 0.02, 0.06, 0.12, 0.2, 0.3)):
        # a resume of what the last kill left, or (every other time) a --force start over
        force = ["--force"] if i % 2 else []
        proc = subprocess.Popen([sys.executable, "-c", FAKE_RUN, str(tmp_path), "run", *force])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if lock_path(run).read_text().strip() == str(proc.pid):
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.001)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        for done in run.glob("*/done"):  # every stage folder there is whole
            assert done.read_text() in STAGES
        for record in (run / "stages").glob("*.json"):  # and every record is whole JSON
            json.loads(record.read_text())
    assert killed >= 3  # (a resume may finish before a late kill)
    assert subprocess.run([sys.executable, "-c", FAKE_RUN, str(tmp_path), "run"]).returncode == 0
    assert _finished(run) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "llama.model", "reference", "run"]


def test_cpt_stage_resumes_only_from_a_checkpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 14.9: a first run (no cpt dir, or one without checkpoints) is not a resume, so cpt
    says nothing about "no checkpoint to resume from"; a run with a checkpoint resumes."""
    import types

    import tokkit.cpt as cpt
    from tokkit.cpt.checkpoint import CHECKPOINTS, STATE_FILE

    asked: list[bool] = []

    def fake_run_cpt(config: Any, *, resume: bool, **kwargs: Any) -> Any:
        asked.append(resume)
        return types.SimpleNamespace(steps=1, tokens=1, tokens_per_second=1.0, train_loss=1.0, val_losses={},
                                     trainable_parameters=1, total_parameters=1, final_dir=tmp_path)

    monkeypatch.setattr(cpt, "run_cpt", fake_run_cpt)
    config = PipelineConfig(run_dir=str(tmp_path / "run"))
    ctx = pipeline.Context(config=config, llama=tmp_path, corpora={}, heldout=[], run_dir=tmp_path,
                           folders={"resize": tmp_path, "shard": tmp_path})
    output = tmp_path / "08-cpt"
    stage = pipeline.CptStage()
    stage.run(ctx, output)
    output.mkdir()
    (output / "log.jsonl").write_text("")
    stage.run(ctx, output)
    step = output / CHECKPOINTS / "step-00000002"
    step.mkdir(parents=True)
    (step / STATE_FILE).write_text("{}")
    stage.run(ctx, output)
    assert asked == [False, False, True]


def test_the_sample_takes_compressed_and_parquet_files_whole(tmp_path: Path) -> None:
    """A cut gzip stream is corrupt: the dedup stage failed on a valid .txt.gz bigger than the sample."""
    import gzip

    from tokkit.corpus.readers import read_texts

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = "".join(f"line {i} of a compressed corpus\n" for i in range(20_000)).encode()
    (corpus / "a.txt.gz").write_bytes(gzip.compress(lines))
    (corpus / "b.txt").write_bytes(lines)
    pipeline.sample_corpus({"c": corpus}, tmp_path / "sample", max_mb=0.01)
    assert len(list(read_texts([tmp_path / "sample" / "c" / "a.txt.gz"], split="line"))) == 20_000
    assert (tmp_path / "sample" / "c" / "b.txt").stat().st_size <= 0.01e6 / 2
