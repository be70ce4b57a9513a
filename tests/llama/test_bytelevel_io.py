"""Reading byte-level vocabularies: Llama 3's rank file and tokenizer.json, Tekken, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tokkit.errors import InputError
from tokkit.llama.bytelevel_extend import chunk_encoder
from tokkit.llama.bytelevel_io import (
    LLAMA3_PATTERN,
    ByteLevelVocab,
    derive_merges,
    read_bytelevel,
    read_tekken,
    read_tiktoken,
)
from tokkit.llama.bytelevel_write import rank_file_bytes, tekken_json, tokenizer_json


@pytest.fixture(scope="module")
def llama3_dir(llama3_model: Path) -> Path:
    return llama3_model.parent


@pytest.fixture(scope="module")
def llama3(llama3_dir: Path) -> ByteLevelVocab:
    return read_bytelevel(llama3_dir / "tokenizer.model")


def test_llama3_rank_file_reads_with_the_specials_of_its_tokenizer_json(llama3: ByteLevelVocab) -> None:
    assert llama3.format == "tiktoken" and llama3.ranked
    assert len(llama3.ranks) == 128_000 and sorted(llama3.ranks.values()) == list(range(128_000))
    assert llama3.pattern == LLAMA3_PATTERN
    assert llama3.special_tokens["<|begin_of_text|>"] == 128_000
    assert llama3.special_tokens["<|eot_id|>"] == 128_009
    assert llama3.special_tokens["<|image|>"] == 128_256  # Llama 3.2's extra, from tokenizer.json
    assert llama3.next_id == 128_257
    assert llama3.hf_config is not None  # tokenizer_config.json carried for the writers


def test_a_lone_llama3_rank_file_is_known_by_its_hash(llama3_dir: Path, tmp_path: Path) -> None:
    shutil.copy(llama3_dir / "tokenizer.model", tmp_path / "tokenizer.model")
    alone = read_tiktoken(tmp_path / "tokenizer.model")
    assert alone.name == "llama3" and alone.pattern == LLAMA3_PATTERN
    assert len(alone.special_tokens) == 256
    assert alone.special_tokens["<|reserved_special_token_246|>"] == 128_255
    assert alone.next_id == 128_256
    # the rank file written back is the base file byte for byte
    assert rank_file_bytes(alone) == (llama3_dir / "tokenizer.model").read_bytes()


def test_tokenizer_json_merges_are_recognised_as_derived_from_ranks(
    llama3: ByteLevelVocab, llama3_dir: Path
) -> None:
    from_json = read_bytelevel(llama3_dir / "tokenizer.json")
    assert from_json.format == "tokenizer.json"
    assert from_json.ranks == llama3.ranks and from_json.ranked
    assert from_json.special_tokens == llama3.special_tokens
    data = json.loads((llama3_dir / "tokenizer.json").read_text(encoding="utf-8"))
    written = tokenizer_json(from_json)
    assert written["model"]["merges"] == data["model"]["merges"]
    assert written["model"]["vocab"] == data["model"]["vocab"]


def test_tekken_ids_follow_its_specials(tekken_file: Path) -> None:
    tekken = read_tekken(tekken_file)
    assert len(tekken.special_tokens) == 1000 and tekken.special_tokens["<s>"] == 1
    assert tekken.special_tokens["<SPECIAL_999>"] == 999
    assert len(tekken.ranks) == 130_072  # default_vocab_size 131072 minus the specials
    assert tekken.ranks[b"\x00"] == 1000 and tekken.next_id == 131_072
    # mistral_common's own rule: tiktoken ranks, ids shifted by the specials
    data = json.loads(tekken_file.read_text(encoding="utf-8"))
    encoding = tekken.tiktoken_encoding()
    text = "Les Misérables: 话说天下大势，分久必合。"
    import tiktoken

    plain = tiktoken.Encoding("t", pat_str=data["config"]["pattern"], special_tokens={},
                              mergeable_ranks={t: i - 1000 for t, i in tekken.ranks.items()})
    assert encoding.encode_ordinary(text) == [i + 1000 for i in plain.encode_ordinary(text)]
    # written back unextended, the Tekken json keeps every used entry and the config
    again = tekken_json(tekken)
    assert again["vocab"] == data["vocab"][:130_072]
    assert again["config"]["default_vocab_size"] == 131_072


def test_explicit_merge_lists_keep_their_order(tmp_path: Path) -> None:
    """A trained tokenizer.json (not derived from ranks) is read with its merge list, and the
    chunk encoder follows it as tokenizers does."""
    from tokenizers import Tokenizer

    from tokkit.backends.bpe import HFBPETrainer
    from tokkit.train.config import BPEConfig

    texts = ["the cat sat on the mat, then the cat ran", "低头思故乡，举头望明月"] * 50
    trained = HFBPETrainer(BPEConfig(vocab_size=300, min_frequency=1)).train(texts)
    path = trained.save(tmp_path)
    vocab = read_bytelevel(path)
    hf = Tokenizer.from_file(str(path))
    if vocab.ranked:  # possible only if the trained list happens to equal the derived one
        assert vocab.derived_merges() == derive_merges(vocab.ranks)
    assert vocab.merges is None or len(vocab.merges) == 300 - 256
    encode = chunk_encoder(vocab)
    for chunk in ["the", " cat", " mat", "低头思故乡", " then"]:
        assert encode(chunk) == hf.encode(chunk, add_special_tokens=False).ids


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"IQ== 0\nnot-a-line\n", "tokenizer.model:2: not a tiktoken rank line"),
        (b"IQ== 0\nIQ== 1\n", "appears twice"),
        (b"IQ== 0\nIg== 1\n", "not a byte-level BPE vocabulary"),
    ],
)
def test_bad_rank_files_name_the_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "tokenizer.model"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_tiktoken(path, pattern="gpt4", special_tokens={})


def test_an_unknown_rank_file_asks_for_its_pattern(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.model"
    path.write_bytes(b"".join(__import__("base64").b64encode(bytes([b])) + f" {b}\n".encode()
                              for b in range(256)))
    with pytest.raises(InputError, match="pass pattern= and special_tokens="):
        read_tiktoken(path)
    assert read_tiktoken(path, pattern="gpt4", special_tokens={"<s>": 256}).next_id == 257


def test_other_formats_get_a_one_line_fix(llama_model: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"sentencepiece model.*extend-llama"):
        read_bytelevel(llama_model)
    with pytest.raises(InputError, match="no such file"):
        read_bytelevel(tmp_path / "missing.model")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json: not valid JSON"):
        read_bytelevel(tmp_path / "bad.json")
    (tmp_path / "wp.json").write_text(json.dumps({"model": {"type": "WordPiece"}}), encoding="utf-8")
    with pytest.raises(InputError, match="not BPE"):
        read_bytelevel(tmp_path / "wp.json")
    with pytest.raises(InputError, match=r"holds no tokenizer\.json"):
        read_bytelevel(tmp_path)
