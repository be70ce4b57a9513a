"""A tiny random LLaMA checkpoint: real ``transformers`` code and file layout, seconds on a CPU.

Tests and benchmarks of embedding resizing, sharding and continued pretraining need a model that
loads with ``AutoModelForCausalLM`` exactly like LLaMA-7B does, without downloading one.
"""

from __future__ import annotations

from pathlib import Path

from tokkit.atomic import atomic_dir
from tokkit.errors import InputError, MissingDependencyError


def build_tiny_llama(
    directory: str | Path,
    *,
    vocab_size: int,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    tie: bool = False,
    num_heads: int = 4,
    max_position_embeddings: int = 2048,
    force: bool = False,
) -> Path:
    """Write a randomly initialised ``LlamaForCausalLM`` (config + safetensors) to ``directory``.

    Same ``seed`` → bit-identical weights. ``tie`` ties the LM head to the input embeddings.

    >>> build_tiny_llama("tiny", vocab_size=32000)  # doctest: +SKIP
    PosixPath('tiny')
    """
    if vocab_size < 1 or hidden_size < 1 or num_layers < 1 or num_heads < 1:
        raise InputError("vocab_size, hidden_size, num_layers and num_heads must be positive")
    if hidden_size % num_heads or (hidden_size // num_heads) % 2:
        raise InputError(
            f"hidden_size {hidden_size} must split into {num_heads} heads of even size; "
            "pick a multiple of 2 × num_heads"
        )
    try:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError as err:
        raise MissingDependencyError(err.name or "torch", "cpt") from None

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 8 // 3 // 8 * 8 or 8,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=tie,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=None,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.eval()
    directory = Path(directory)
    with atomic_dir(directory, force=force) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
    return directory
