"""Library-backed BPE trainers: same call as the from-scratch one, real library behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
from tokenizers import Tokenizer

from tokkit.backends.bpe import HFBPETrainer, SPMBPETrainer
from tokkit.corpus import read_texts
from tokkit.errors import InputError
from tokkit.train.config import BPEConfig

SAMPLES = ["Hello, world! 你好，世界。", "", "emoji 🤗🎉 and tabs\t\tand  spaces", "a" * 2000]


@pytest.fixture(scope="module")
def lines(heldout: Path) -> list[str]:
    texts = read_texts([heldout], split="line")
    return [t for _, t in zip(range(6000), texts, strict=False)]


def test_hf_trainer_exact_vocab_and_roundtrip(lines: list[str], tmp_path: Path) -> None:
    config = BPEConfig(vocab_size=700, special_tokens=("<|endoftext|>", "<pad>"))
    trainer = HFBPETrainer(config)
    tok = trainer.train(iter(lines))
    assert tok.vocab_size == 700
    assert tok.special_tokens == {"<|endoftext|>": 0, "<pad>": 1}
    assert trainer.stats["documents"] == len(lines)
    for text in SAMPLES:
        assert tok.decode(tok.encode(text)) == text
    path = tok.save(tmp_path)
    reloaded = Tokenizer.from_file(str(path))
    assert reloaded.encode(SAMPLES[0], add_special_tokens=False).ids == tok.encode(SAMPLES[0])


def test_spm_trainer_byte_fallback(lines: list[str], tmp_path: Path) -> None:
    trainer = SPMBPETrainer(BPEConfig(vocab_size=4000, special_tokens=("<|endoftext|>",)))
    tok = trainer.train(iter(lines))
    assert tok.vocab_size == 4000
    assert trainer.stats["sampled"] is False
    sp = spm.SentencePieceProcessor(model_file=str(tok.save(tmp_path)))
    assert sp.GetPieceSize() == 4000
    assert sp.IsByte(sp.PieceToId("<0x00>"))
    text = "Zebra 🦓 in 資治通鑑"  # characters unseen in training fall back to bytes
    ids = tok.encode(text)
    assert any(sp.IsByte(i) for i in ids)
    assert tok.decode(ids) == text
    assert "<|endoftext|>" in {sp.IdToPiece(i) for i in tok.encode("a <|endoftext|> b")}


def test_spm_trainer_sampling_is_reported(lines: list[str]) -> None:
    trainer = SPMBPETrainer(BPEConfig(vocab_size=3000), input_sentence_size=1000)
    trainer.train(iter(lines))
    assert trainer.stats["sampled"] is True


def test_spm_vocab_smaller_than_alphabet_is_a_clear_error(lines: list[str]) -> None:
    with pytest.raises(InputError, match=r"`vocab_size=300` is smaller than the \d+ pieces"):
        SPMBPETrainer(BPEConfig(vocab_size=300)).train(iter(lines))


def test_vocab_smaller_than_bytes_plus_specials() -> None:
    with pytest.raises(InputError, match="use `vocab_size=258` or more"):
        HFBPETrainer(BPEConfig(vocab_size=257, special_tokens=("<a>", "<b>"))).train(iter(["x"]))
