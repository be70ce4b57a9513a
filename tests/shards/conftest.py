"""Fixtures for shard tests: a small byte-level BPE tokenizer and a corpus with tricky text."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = [
    "The quick brown fox jumps over the lazy dog.",
    "天下大势，分久必合，合久必分。",
    "emoji 🦊🐶 and tabs\tand  double  spaces",
    "a" * 3000,
    "Zero-width\u200bjoiner and combining é",
    "Short.",
    "中文与 English mixed 123",
] * 12


def byte_bpe(directory: Path, texts: list[str], vocab_size: int = 400,
             special: tuple[str, ...] = ("<|endoftext|>",)) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    return directory


@pytest.fixture(scope="session")
def bpe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return byte_bpe(tmp_path_factory.mktemp("tok") / "bpe", DOCS)


@pytest.fixture(scope="session")
def docs() -> list[str]:
    return list(DOCS)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(DOCS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def make_bpe():  # type: ignore[no-untyped-def]
    """``make_bpe(directory, texts, vocab_size=400, special=(...))`` → a tokenizer dir."""
    return byte_bpe
