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
    with pytest.raises(InputError, match=r"lower it to `zh_config\.vocab_size=[0-9]+` or add text"):
        train_zh_model([small], ZhModelConfig(vocab_size=5000))
    with pytest.raises(InputError, match="too small"):
        ZhModelConfig(vocab_size=10)
    with pytest.raises(InputError, match="no Chinese corpus"):
        train_zh_model([], ZhModelConfig(vocab_size=200))
    with pytest.raises(InputError, match="UTF-8"):
        (tmp_path / "bad.txt").write_bytes("天下".encode() + b"\xff\xfe\n" * 3)
        train_zh_model([tmp_path / "bad.txt"], ZhModelConfig(vocab_size=200))


def test_vocab_below_the_characters_says_raise_it(tmp_path: Path) -> None:
    """A corpus of 400 distinct characters needs 400+ pieces: the fix is a larger vocab_size."""
    han = [chr(0x4E00 + i) for i in range(400)]
    small = tmp_path / "varied.txt"
    small.write_text("\n".join("".join(han[(i + j) % 400] for j in range(40)) for i in range(400)) + "\n",
                     encoding="utf-8")
    with pytest.raises(InputError) as err:
        train_zh_model([small], ZhModelConfig(vocab_size=200))
    message = str(err.value)
    assert "raise it to `zh_config.vocab_size=40" in message and str(small) in message
    assert "lower" not in message
    needed = int(message.rsplit("`zh_config.vocab_size=", 1)[1].split("`")[0])
    data, _ = train_zh_model([small], ZhModelConfig(vocab_size=needed))  # the advice works
    assert data


def test_only_overlong_lines_name_the_file_and_the_limit(tmp_path: Path) -> None:
    long = tmp_path / "long.txt"
    long.write_text(("天下大势分久必合" * 700 + "\n") * 3, encoding="utf-8")  # 16,800 bytes a line
    with pytest.raises(InputError) as err:
        train_zh_model([long], ZhModelConfig(vocab_size=200))
    message = str(err.value)
    assert str(long) in message and "max_sentence_length (16384 bytes)" in message
    assert "INTERNAL" not in message and "shorter lines" in message
