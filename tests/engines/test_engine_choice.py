"""The engine choice lives in the library (issue 15.2): ``Engine(name)`` with the known names in
``ENGINES``, so scripts pick ``local`` or ``ray`` as the CLI's ``--engine`` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokkit.dedup.config import DedupConfig
from tokkit.engines import ENGINES, Engine, RayOptions
from tokkit.errors import InputError


def test_unknown_engine_names_the_known_ones() -> None:
    assert ENGINES == ("local", "ray")
    with pytest.raises(InputError, match="unknown engine 'spark'; known: local, ray"):
        Engine("spark")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="ray options only apply with name='ray'"):
        Engine("local", RayOptions())


def test_local_engine_runs_the_local_dedup(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("one paragraph here\n\none paragraph here\n\nanother one\n")
    report = Engine("local").dedup([corpus], tmp_path / "out", config=DedupConfig(granularity="paragraph"))
    assert report.counts["documents"] == 3 and report.counts["kept"] == 2
    assert report.counts["removed_exact"] == 1


def test_the_ray_engine_needs_a_tokenizer_path_not_an_object(tmp_path: Path) -> None:
    from tokkit.train.bpe import BPETrainer
    from tokkit.train.config import BPEConfig

    tok = BPETrainer(BPEConfig(vocab_size=260, special_tokens=("<|endoftext|>",), workers=1)).train(["ab ab"])
    with pytest.raises(InputError, match=r"Engine\('ray'\)\.shard: .*pass the path, not a tokenizer object"):
        Engine("ray").shard([tmp_path], tok, tmp_path / "out")
