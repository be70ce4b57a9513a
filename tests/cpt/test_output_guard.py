"""`cpt --force` never deletes its inputs or a folder tokkit did not write (issue 12.2); a fresh
pipeline cpt stage says nothing about resuming (issue 14.9)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tokkit.cpt import CPTConfig, run_cpt
from tokkit.errors import InputError, NotTokkitOutputError


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _config(assets: dict[str, Path], output: Path) -> CPTConfig:
    return CPTConfig(model=str(assets["model"]), shards=str(assets["shards"]), output=str(output),
                     steps=1, batch_tokens=64, micro_batch=2, threads=1, eval_every=0, save_every=0)


@pytest.mark.parametrize("which", ["model", "shards"])
def test_force_never_deletes_the_model_or_the_shards(which: str, cpt_assets: dict[str, Path]) -> None:
    """`cpt --model m --shards s -o m --force` deleted the model."""
    before = _tree(cpt_assets[which])
    for output in (cpt_assets[which], cpt_assets[which] / "run", cpt_assets[which].parent):
        with pytest.raises(InputError, match=f"{output}: the output .* outside every input"):
            run_cpt(_config(cpt_assets, output), force=True)
        with pytest.raises(InputError, match="outside every input"):
            run_cpt(_config(cpt_assets, output), resume=True)
    assert _tree(cpt_assets[which]) == before


def test_force_replaces_a_cpt_run_but_not_a_plain_folder(cpt_assets: dict[str, Path], tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine")
    with pytest.raises(NotTokkitOutputError, match="not a tokkit output"):
        run_cpt(_config(cpt_assets, plain), force=True)
    assert _tree(plain) == {"notes.txt": b"mine"}
    run = tmp_path / "run"
    run_cpt(_config(cpt_assets, run))
    (run / "stale.txt").write_text("old run")
    run_cpt(_config(cpt_assets, run), force=True)
    assert not (run / "stale.txt").exists() and (run / "final" / "config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "run"]


def test_a_fresh_pipeline_cpt_stage_does_not_warn_about_resuming(cpt_assets: dict[str, Path], tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    from tokkit.pipeline import Context, CptStage, PipelineConfig

    config = PipelineConfig(cpt={"steps": 1, "batch_tokens": 64, "micro_batch": 2, "eval_every": 0,
                                 "save_every": 0})
    ctx = Context(config=config, llama=cpt_assets["model"], corpora={}, heldout=[], run_dir=tmp_path,
                  folders={"resize": cpt_assets["model"], "shard": cpt_assets["shards"]})
    with caplog.at_level(logging.WARNING, logger="tokkit"):
        figures = CptStage().run(ctx, tmp_path / "08-cpt")
    assert figures["steps"] == 1
    assert not [r for r in caplog.records if "resume" in r.getMessage()], caplog.text
