"""A tiny LLaMA (2 layers, hidden 64) with its own byte-level BPE, and shards of a learnable text."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

SEQ_LEN = 32


def learnable_corpus(lines: int = 3000, seed: int = 0) -> list[str]:
    """Short sentences from a small grammar: structure a model picks up in a few dozen steps."""
    rng = random.Random(seed)
    subjects = ["the cat", "a dog", "my friend", "the old king", "a small bird", "the teacher"]
    verbs = ["sees", "likes", "follows", "finds", "hears", "paints"]
    objects = ["the river", "a red apple", "the moon", "an open door", "the garden", "a quiet song"]
    return [
        f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} number {i % 17}."
        for i in range(lines)
    ]


def tiny_llama(directory: Path, *, vocab_size: int, tokenizer_dir: Path | None, seed: int = 0,
               tie: bool = False) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=SEQ_LEN * 4, tie_word_embeddings=tie,
                         bos_token_id=None, eos_token_id=0, pad_token_id=None)
    LlamaForCausalLM(config).save_pretrained(str(directory))
    if tokenizer_dir is not None:
        shutil.copy2(tokenizer_dir / "tokenizer.json", directory / "tokenizer.json")
    return directory


def bpe(directory: Path, texts: list[str], vocab_size: int) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    return directory


@pytest.fixture(scope="session")
def cpt_assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tokenizer/, shards/ (seq_len 32, 10% val) and model/ (tiny LLaMA + tokenizer.json)."""
    from tokkit.load import load_tokenizer
    from tokkit.shards import ShardConfig, write_shards

    root = tmp_path_factory.mktemp("cpt")
    texts = learnable_corpus()
    tokenizer = bpe(root / "tokenizer", texts, 320)
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    write_shards([corpus], tokenizer, root / "shards",
                 config=ShardConfig(seq_len=SEQ_LEN, val_fraction=0.1, workers=1))
    vocab = load_tokenizer(tokenizer).vocab_size
    model = tiny_llama(root / "model", vocab_size=vocab, tokenizer_dir=tokenizer)
    return {"root": root, "tokenizer": tokenizer, "shards": root / "shards", "model": model, "corpus": corpus}


@pytest.fixture(scope="session")
def build():  # type: ignore[no-untyped-def]
    """The builders above, for tests that need a model or tokenizer of their own."""
    import types

    return types.SimpleNamespace(bpe=bpe, learnable_corpus=learnable_corpus, tiny_llama=tiny_llama)
