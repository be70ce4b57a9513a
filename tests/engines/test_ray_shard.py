"""The Ray shard engine against the local one: same token streams, shards cut per partition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.engines.ray_runtime import RayOptions
from tokkit.engines.ray_shard import ray_write_shards
from tokkit.load import load_tokenizer
from tokkit.shards import ShardConfig, open_shards, write_shards

from .conftest import KillWorker

CONFIG = ShardConfig(seq_len=64, tokens_per_shard=2048, val_fraction=0.1, workers=1, batch_bytes=4096)
READ = ReadOptions(split="line")


@pytest.fixture(scope="module")
def corpus(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real text in several small files: classical Chinese, English prose, a jsonl file."""
    root = tmp_path_factory.mktemp("shard-corpus")
    moby = (corpora / "en" / "moby_dick.txt").read_text(encoding="utf-8")[20_000:60_000]
    (root / "moby.txt").write_text(moby, encoding="utf-8")
    zh = (corpora / "zh" / "史记.txt").read_text(encoding="utf-8").splitlines()[:300]
    (root / "shiji.txt").write_text("\n".join(zh) + "\n", encoding="utf-8")
    return [corpora / "zh" / "三字经.txt", root / "moby.txt", corpora / "zh" / "千字文.txt", root / "shiji.txt"]


@pytest.fixture(scope="module")
def tokenizer(corpus: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((p.read_text(encoding="utf-8") for p in corpus), trainer)
    directory = tmp_path_factory.mktemp("tok")
    tok.save(str(directory / "tokenizer.json"))
    return directory


@pytest.fixture(scope="module")
def local(corpus: list[Path], tokenizer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "shards"
    write_shards(corpus, tokenizer, out, config=CONFIG, read_options=READ)
    return out


def stream(directory: Path, split: str) -> np.ndarray:
    return np.concatenate([np.asarray(a) for a in open_shards(directory).tokens(split)])


def test_ray_shards_hold_the_local_token_streams_cut_per_partition(
    ray_instance: Any, corpus: list[Path], tokenizer: Path, local: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    manifest = ray_write_shards(corpus, tokenizer, out, config=CONFIG, read_options=READ,
                                options=RayOptions(partition_mb=0.01))
    expected = open_shards(local).manifest
    assert manifest.config["engine"]["partitions"] == 3
    for split in ("train", "val"):
        assert np.array_equal(stream(out, split), stream(local, split))  # byte-identical streams
        ours, theirs = manifest.splits[split], expected.splits[split]
        assert (ours.documents, ours.tokens) == (theirs.documents, theirs.tokens)
        # shards restart at each partition: at most one short shard per partition and split
        short = [s for s in ours.shards if s.tokens != CONFIG.shard_tokens]
        assert len(short) <= 2 * 3
        assert theirs.sequences - 3 <= ours.sequences <= theirs.sequences
    assert manifest.splits["val"].documents > 10
    # documents decode back to the corpus, in order, from the verified shards
    tok = load_tokenizer(tokenizer)
    eos = manifest.tokenizer.eos_id
    decoded = {split: [tok.decode(d[:-1].tolist()) for d in open_shards(out).documents(split)]
               for split in ("train", "val")}
    texts = list(read_texts(corpus, READ))
    val = set(decoded["val"])
    assert decoded["train"] == [t for t in texts if t not in val]
    assert decoded["val"] == [t for t in texts if t in val]
    assert all(int(d[-1]) == eos for d in open_shards(out).documents("val"))
    # shard start/end point at global documents: the last train shard ends at the corpus end
    assert manifest.splits["train"].shards[-1].end == (manifest.corpus["documents"], 0)
    # a re-run verifies the finished output (Ray's part-NNNNN/ layout included) and keeps it
    again = ray_write_shards(corpus, tokenizer, out, config=CONFIG, read_options=READ,
                             options=RayOptions(partition_mb=0.01))
    assert again == manifest


def test_one_partition_gives_the_local_shards_byte_for_byte(
    ray_instance: Any, corpus: list[Path], tokenizer: Path, local: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    manifest = ray_write_shards(corpus, tokenizer, out, config=CONFIG, read_options=READ,
                                options=RayOptions(partition_mb=1000))
    expected = open_shards(local).manifest
    for split in ("train", "val"):
        ours, theirs = manifest.splits[split].shards, expected.splits[split].shards
        assert [s.file for s in ours] == [f"part-00000/{s.file}" for s in theirs]
        assert [(s.tokens, s.sha256, s.documents, s.start, s.end) for s in ours] == [
            (s.tokens, s.sha256, s.documents, s.start, s.end) for s in theirs]
        for a, b in zip(ours, theirs, strict=True):
            assert (out / a.file).read_bytes() == (local / b.file).read_bytes()


def test_a_worker_killed_mid_partition_is_retried_with_the_same_shards(
    ray_instance: Any, corpus: list[Path], tokenizer: Path, tmp_path: Path
) -> None:
    options = RayOptions(partition_mb=0.01)
    clean = ray_write_shards(corpus, tokenizer, tmp_path / "clean", config=CONFIG, read_options=READ,
                             options=options)
    marker = tmp_path / "killed"
    again = ray_write_shards(corpus, tokenizer, tmp_path / "killed-once", config=CONFIG, read_options=READ,
                             options=options, stage_hook=KillWorker(marker, "shard", partition=1))
    assert len(marker.read_text().split()) == 1
    assert again.splits == clean.splits
    files = sorted(p.relative_to(tmp_path / "clean") for p in (tmp_path / "clean").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "killed-once") for p in (tmp_path / "killed-once").rglob("*"))
