from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokkit.errors import InputError
from tokkit.load import load_tokenizer
from tokkit.shards.framing import framing_for


def test_llama_sentencepiece_uses_bos_1_and_eos_2(llama_model: Path) -> None:
    framing = framing_for(load_tokenizer(llama_model), llama_model)
    assert (framing.bos_id, framing.eos_id) == (1, 2)


def test_eos_only_when_the_tokenizer_has_no_bos(bpe_dir: Path) -> None:
    tok = load_tokenizer(bpe_dir)
    framing = framing_for(tok, bpe_dir)
    assert framing.bos_id is None
    assert framing.eos_id == tok.special_tokens["<|endoftext|>"]


def test_tokenizer_config_decides_and_bos_equal_to_eos_is_dropped(tmp_path: Path, make_bpe) -> None:
    directory = make_bpe(tmp_path / "t", ["hello world"] * 5, special=("<s>", "</s>", "<|endoftext|>"))
    tok = load_tokenizer(directory)
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}))
    assert framing_for(tok, directory).bos_id is None
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": {"content": "<s>"}, "eos_token": "</s>"}))
    framing = framing_for(tok, directory)
    assert (framing.bos_id, framing.eos_id) == (tok.special_tokens["<s>"], tok.special_tokens["</s>"])
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": False}))
    assert framing_for(tok, directory).bos_id is None
    assert framing_for(tok, directory, bos="<s>").bos_id == tok.special_tokens["<s>"]


def test_a_tokenizer_without_eos_is_refused_with_the_fix(tmp_path: Path, make_bpe) -> None:
    directory = make_bpe(tmp_path / "t", ["hello world"] * 5, special=("<pad>",))
    with pytest.raises(InputError, match="`eos=TOKEN`"):
        framing_for(load_tokenizer(directory), directory)
    with pytest.raises(InputError, match="not a single token"):
        framing_for(load_tokenizer(directory), directory, eos="<nope>")
    assert framing_for(load_tokenizer(directory), directory, eos="<pad>").eos_id == 0
