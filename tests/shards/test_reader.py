from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tokkit.errors import InputError
from tokkit.shards import ShardConfig, ShardIntegrityError, open_shards, write_shards


@pytest.fixture
def shards(tmp_path: Path, corpus: Path, bpe_dir: Path) -> Path:
    write_shards([corpus], bpe_dir, tmp_path / "out",
                 config=ShardConfig(seq_len=16, tokens_per_shard=80, val_fraction=0.0, workers=1))
    return tmp_path / "out"


def test_sequences_span_shards_and_equal_the_token_stream(shards: Path) -> None:
    opened = open_shards(shards)
    stream = np.concatenate(list(opened.tokens("train")))
    seqs = opened.sequences("train")
    assert len(seqs) == len(stream) // 16
    assert np.array_equal(seqs.batch(range(len(seqs))).ravel(), stream[: len(seqs) * 16])
    assert seqs[len(seqs) - 1].dtype == np.int64
    with pytest.raises(IndexError):
        seqs[len(seqs)]


def test_a_tampered_shard_is_rejected_naming_the_file(shards: Path) -> None:
    path = shards / "train-00001.bin"
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ShardIntegrityError, match=r"train-00001\.bin: sha256 does not match"):
        open_shards(shards)
    open_shards(shards, verify=False)  # size still matches: only the checksum catches it


def test_a_truncated_or_missing_shard_is_rejected(shards: Path) -> None:
    path = shards / "train-00000.bin"
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ShardIntegrityError, match="truncated"):
        open_shards(shards, verify=False)
    path.unlink()
    with pytest.raises(ShardIntegrityError, match="missing"):
        open_shards(shards)


def test_a_missing_or_foreign_manifest_is_a_clear_error(shards: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run `tokkit shard` first"):
        open_shards(tmp_path / "nowhere")
    manifest = shards / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format": "other"}))
    with pytest.raises(InputError, match="not a tokkit shard manifest"):
        open_shards(shards)
    manifest.write_text("{not json")
    with pytest.raises(InputError, match="unreadable shard manifest"):
        open_shards(shards)
    manifest.unlink()
    with pytest.raises(InputError, match="not a finished shard directory"):
        open_shards(shards)
