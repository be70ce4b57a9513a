"""Training the Chinese sentencepiece model from a streamed corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
import regex

from tokkit.errors import InputError
from tokkit.llama.spm_io import ModelProto
from tokkit.llama.zh_model import ZhModelConfig, train_zh_model


def test_quick_model_matches_the_config(zh: ModelProto) -> None:
    assert len(zh.pieces) == 8000
    assert zh.trainer_spec.model_type == zh.trainer_spec.BPE
    assert zh.normalizer_spec.name == "identity"  # like LLaMA: pieces match raw text
    assert not zh.normalizer_spec.remove_extra_whitespaces
    assert zh.trainer_spec.input_sentence_size == 2_000_000
    pieces = [p.piece for p in zh.pieces]
    assert "，" in pieces and "。" in pieces  # full-width punctuation kept (NFKC would make it ",")
    assert not [p for p in pieces if regex.search(r"\d\d", p)]  # split_digits, as LLaMA


def test_streams_a_bounded_prefix_and_is_deterministic(corpora: Path) -> None:
    book = corpora / "zh" / "三国志.txt"
    config = ZhModelConfig(vocab_size=2500, max_bytes=100_000)
    first, run = train_zh_model([book], config)
    second, _ = train_zh_model([book], config)
    assert first == second
    assert 90_000 < run["bytes"] <= 100_000 and run["files"] == 1
    lines = book.read_text(encoding="utf-8").splitlines()
    assert run["sentences"] < len(lines)
    assert run["config"]["vocab_size"] == 2500


def test_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("\n\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="no Chinese text"):
        train_zh_model([empty], ZhModelConfig(vocab_size=200))
    small = tmp_path / "small.txt"
    small.write_text("天下大势\n" * 50, encoding="utf-8")
    with pytest.raises(InputError, match="lower --zh-vocab"):
        train_zh_model([small], ZhModelConfig(vocab_size=5000))
    with pytest.raises(InputError, match="too small"):
        ZhModelConfig(vocab_size=10)
    with pytest.raises(InputError, match="no Chinese corpus"):
        train_zh_model([], ZhModelConfig(vocab_size=200))
    with pytest.raises(InputError, match="UTF-8"):
        (tmp_path / "bad.txt").write_bytes("天下".encode() + b"\xff\xfe\n" * 3)
        train_zh_model([tmp_path / "bad.txt"], ZhModelConfig(vocab_size=200))
