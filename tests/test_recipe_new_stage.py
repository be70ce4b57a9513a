"""The "new pipeline stage" recipe of docs/architecture.md, followed by a test and touching no library
file: a toy stage (words per deduplicated file) is one :class:`~tokkit.pipeline.Stage` subclass, put
in a stage list after ``dedup``; the runner gives it its folder, records its figures, puts its line
in the report, and reuses it when the same run is resumed.

In the package the stage would be its class in ``tokkit/pipeline.py`` and its place in
``STAGE_LIST`` (plus a ``PipelineConfig`` field if it takes a ``[table]`` from the TOML).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tokkit.atomic import atomic_dir
from tokkit.errors import InputError
from tokkit.pipeline import (
    STAGE_LIST,
    Context,
    PipelineConfig,
    Stage,
    config_problems,
    kept_files,
    run_pipeline,
)

RAN: Counter[str] = Counter()


class WordCountStage(Stage):
    """Words per file of the deduplicated corpus, counting words of at least ``min_length`` characters."""

    name, folder = "words", "01b-words"
    defaults: ClassVar[dict[str, Any]] = {"min_length": 1}
    types: ClassVar[dict[str, Any]] = {"min_length": int}

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        RAN[self.name] += 1
        min_length = ctx.settings(self)["min_length"]
        counts = {f.name: sum(len(w) >= min_length for w in f.read_text(encoding="utf-8").split())
                  for f in kept_files(ctx.output("dedup"))}
        with atomic_dir(output, force=True) as tmp:
            (tmp / "counts.json").write_text(json.dumps(counts))
        return {"files": len(counts), "words": sum(counts.values())}

    def summary(self, figures: dict[str, Any]) -> str:
        return f"{figures['words']} words in {figures['files']} files"


def _stages() -> list[Stage]:
    """The built-in stages up to dedup, then the toy one (the later stages need torch and minutes)."""
    names = [s.name for s in STAGE_LIST]
    return [*STAGE_LIST[: names.index("dedup") + 1], WordCountStage()]


def test_a_new_stage_is_one_class_run_recorded_reported_and_reused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("one two three\nfour five\n\nsix seven eight nine\n", encoding="utf-8")
    (corpus / "b.txt").write_text("one two three\nfour five\n\nten\n", encoding="utf-8")  # a repeated paragraph
    llama = tmp_path / "llama.model"
    llama.write_bytes(b"the toy stages never read it")
    config = PipelineConfig(run_dir=str(tmp_path / "run"), corpora=(str(corpus),), heldout=(str(corpus),),
                            llama_tokenizer=str(llama), sample_mb=0)
    RAN.clear()
    first = run_pipeline(config, stages=_stages())
    assert [s.name for s in first.stages] == ["sample", "dedup", "words"] and RAN == {"words": 1}
    words = first.stages[-1]
    run = tmp_path / "run"
    assert words.output == str(run / "01b-words") and not words.reused
    counts = json.loads((run / "01b-words" / "counts.json").read_text())
    assert sum(counts.values()) == words.figures["words"] == 10  # the repeated paragraph is dropped once
    assert json.loads((run / "stages" / "words.json").read_text())["figures"] == words.figures
    assert "| words | `01b-words/` |" in first.report.read_text() and "10 words in 2 files" in first.report.read_text()
    again = run_pipeline(config, stages=_stages())
    assert all(s.reused for s in again.stages) and RAN == {"words": 1}
    assert again.stages[-1].figures == words.figures


def test_a_new_stages_settings_are_checked_like_the_built_in_ones() -> None:
    class Strict(WordCountStage):
        defaults: ClassVar[dict[str, Any]] = {"min_length": "long"}

    problems = config_problems(PipelineConfig(), [Strict()])
    assert problems == ['[words] min_length = "long": expected an integer']
    with pytest.raises(InputError, match="min_length"):
        run_pipeline(PipelineConfig(), stages=[Strict()])
