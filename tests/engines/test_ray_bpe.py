"""BPE chunk counting on Ray against the local engine: the same counts, the same merges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tokkit.cli import cli
from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.engines.ray_bpe import ray_count_chunks
from tokkit.engines.ray_runtime import RayOptions
from tokkit.load import load_tokenizer, read_meta
from tokkit.models.pretokenize import GPT4_PATTERN
from tokkit.progress import NULL_PROGRESS
from tokkit.train.bpe import BPETrainer
from tokkit.train.bpe_count import count_chunks
from tokkit.train.bpe_spill import spill_directory
from tokkit.train.config import BPEConfig

READ = ReadOptions(split="line")
SMALL_PARTS = RayOptions(partition_mb=0.02, max_retries=1)


@pytest.fixture(scope="module")
def corpus(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real English and Chinese text in several small files (several partitions)."""
    root = tmp_path_factory.mktemp("bpe-corpus")
    moby = (corpora / "en" / "moby_dick.txt").read_text(encoding="utf-8")[20_000:80_000]
    (root / "moby.txt").write_text(moby, encoding="utf-8")
    zh = (corpora / "zh" / "史记.txt").read_text(encoding="utf-8").splitlines()[:200]
    (root / "shiji.txt").write_text("\n".join(zh) + "\n", encoding="utf-8")
    return [corpora / "zh" / "三字经.txt", root / "moby.txt", corpora / "zh" / "千字文.txt", root / "shiji.txt"]


def test_ray_counts_are_the_local_counts_and_give_its_merges(ray_instance: Any, corpus: list[Path]) -> None:
    local = count_chunks(read_texts(corpus, READ), GPT4_PATTERN, workers=1, task=NULL_PROGRESS.task("x"))
    ray = ray_count_chunks(corpus, GPT4_PATTERN, read_options=READ, options=SMALL_PARTS)
    assert ray.counts == local.counts and len(local.counts) > 5000
    assert (ray.documents, ray.corpus_bytes) == (local.documents, local.corpus_bytes)
    config = BPEConfig(vocab_size=1200, workers=1)
    expected = BPETrainer(config).train(read_texts(corpus, READ)).merges
    assert BPETrainer(config).train_counted(ray).merges == expected and len(expected) == 1200 - 256
    with spill_directory() as spill:  # the driver spills as local counting does
        spilled = ray_count_chunks(corpus, GPT4_PATTERN, read_options=READ, options=SMALL_PARTS,
                                   max_chunks=1000, spill=spill)
        assert len(spilled.runs) >= 2 and not spilled.counts
        assert BPETrainer(config).train_counted(spilled).merges == expected


def test_train_bpe_on_ray_learns_the_local_merges_of_every_document(
        ray_instance: Any, corpus: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "ray"
    result = CliRunner().invoke(cli, ["-q", "train-bpe", *map(str, corpus), "--vocab", "900",
                                      "--engine", "ray", "--partition-mb", "0.02", "-o", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    config = BPEConfig(vocab_size=900, special_tokens=("<|endoftext|>",))
    expected = BPETrainer(config).train(read_texts(corpus, READ)).merges
    assert load_tokenizer(out).merges == expected  # type: ignore[attr-defined]
    report = read_meta(out)["report"]
    assert report["trainer"]["engine"] == "ray" and report["heldout_documents"] == 0
    assert report["documents"] == sum(1 for _ in read_texts(corpus, READ))
    refused = CliRunner().invoke(cli, ["train-bpe", str(corpus[0]), "--engine", "ray", "--backend", "hf",
                                       "-o", str(tmp_path / "hf")])
    assert refused.exit_code != 0 and "drop --backend hf" in str(refused.exception)
