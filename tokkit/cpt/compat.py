"""Refuse to train a model on shards made for another tokenizer, before any weight is loaded.

Ids are only meaningful with the tokenizer that produced them: a model whose embedding table has a
different number of rows, or whose own tokenizer maps ids to other tokens, would train silently on
garbage. The check reads the model's ``config.json`` and its tokenizer files, never the weights.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tokkit.errors import InputError
from tokkit.shards.manifest import Manifest

log = logging.getLogger("tokkit")

TOKENIZER_FILES = ("tokkit.json", "tokenizer.json", "tokenizer.model", "spm.model")


def _model_config(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise InputError(f"{path}: missing; `model` must be a transformers model directory")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not readable JSON ({err}); is this a transformers model dir?") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: not a JSON object; is this a transformers model dir?")
    text = config.get("text_config")
    return {**text, **{k: v for k, v in config.items() if v is not None}} if isinstance(text, dict) else config


def model_vocab_size(model_dir: str | Path) -> int:
    try:
        return int(_model_config(model_dir)["vocab_size"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{Path(model_dir) / 'config.json'}: no readable vocab_size ({err!r}); "
                         "is this a causal LM config?") from None


def model_positions(model_dir: str | Path) -> int | None:
    """``max_position_embeddings``: the longest sequence the model was built for (None if unsaid)."""
    value = _model_config(model_dir).get("max_position_embeddings")
    return value if isinstance(value, int) and value > 0 else None


def check_compatible(model_dir: str | Path, manifest: Manifest, *, shards: str | Path,
                     require_tokenizer: bool = True) -> None:
    """Raise :class:`InputError` naming the fix unless the model and the shards agree.

    The model directory should carry its tokenizer (``tokenizer.json`` / ``tokenizer.model``, as
    ``tokkit resize-embeddings`` writes it); its vocabulary hash must equal the manifest's. The
    model may have more rows than the tokenizer has tokens (``pad_to_multiple_of`` padding),
    never fewer. Its positions must hold a whole sequence (``seq_len``): past them, rotary or
    learned position embeddings are extrapolated or fail, and the loss is meaningless. With ``require_tokenizer=False`` a model without tokenizer files is accepted when
    its row count equals the vocabulary size.
    """
    model_dir = Path(model_dir)
    positions = model_positions(model_dir)
    if positions is not None and manifest.seq_len > positions:
        raise InputError(
            f"{shards}: its sequences are {manifest.seq_len:,} tokens but {model_dir} has "
            f"{positions:,} positions (max_position_embeddings); re-shard with `seq_len={positions}` "
            "or less, or train a model with more positions"
        )
    rows = model_vocab_size(model_dir)
    vocab = manifest.tokenizer.vocab_size
    size_mismatch = InputError(
        f"{model_dir}: the model has {rows:,} embedding rows but {shards} was made with a "
        f"tokenizer of {vocab:,} tokens ({manifest.tokenizer.path}); resize the model to that "
        "tokenizer (tokkit resize-embeddings) or re-shard with the model's tokenizer"
    )
    if rows < vocab:
        raise size_mismatch
    if not any((model_dir / name).is_file() for name in TOKENIZER_FILES):
        if rows != vocab:
            raise size_mismatch
        if require_tokenizer:
            raise InputError(
                f"{model_dir}: no tokenizer files beside the model, so the shards' tokenizer cannot "
                "be verified; save the tokenizer into the model dir or pass `tokenizer_check=False`"
            )
        log.warning("%s: no tokenizer beside the model; checked the vocab size only", model_dir)
        return
    from tokkit.load import load_tokenizer
    from tokkit.shards.manifest import vocab_hash

    tokenizer = load_tokenizer(model_dir)
    if tokenizer.vocab_size != vocab or vocab_hash(tokenizer) != manifest.tokenizer.vocab_hash:
        raise InputError(
            f"{model_dir}: the model's tokenizer ({tokenizer.vocab_size:,} tokens) differs from the "
            f"one that made {shards} ({manifest.tokenizer.path}, {vocab:,} tokens); re-shard with "
            f"`tokenizer={model_dir}`"
        )
    if rows > vocab:
        log.info("%s: %d padding rows beyond the tokenizer's %d tokens (never produced)",
                 model_dir, rows - vocab, vocab)
