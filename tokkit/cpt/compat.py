"""Refuse to train a model on shards made for another tokenizer, before any weight is loaded.

Ids are only meaningful with the tokenizer that produced them: a model whose embedding table has a
different number of rows, or whose own tokenizer maps ids to other tokens, would train silently on
garbage. The check reads the model's ``config.json`` and its tokenizer files, never the weights.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tokkit.errors import InputError
from tokkit.shards.manifest import Manifest

log = logging.getLogger("tokkit")

TOKENIZER_FILES = ("tokkit.json", "tokenizer.json", "tokenizer.model", "spm.model")


def model_vocab_size(model_dir: str | Path) -> int:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise InputError(f"{path}: missing; --model must be a transformers model directory")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        return int(config.get("vocab_size") or config["text_config"]["vocab_size"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: no readable vocab_size ({err!r}); is this a causal LM config?") from None


def check_compatible(model_dir: str | Path, manifest: Manifest, *, shards: str | Path,
                     require_tokenizer: bool = True) -> None:
    """Raise :class:`InputError` naming the fix unless the model and the shards agree.

    The model directory should carry its tokenizer (``tokenizer.json`` / ``tokenizer.model``, as
    ``tokkit resize-embeddings`` writes it); its vocabulary hash must equal the manifest's. With
    ``require_tokenizer=False`` a model without tokenizer files is accepted on vocab size alone.
    """
    model_dir = Path(model_dir)
    rows = model_vocab_size(model_dir)
    vocab = manifest.tokenizer.vocab_size
    if rows != vocab:
        raise InputError(
            f"{model_dir}: the model has {rows:,} embedding rows but {shards} was made with a "
            f"tokenizer of {vocab:,} tokens ({manifest.tokenizer.path}); resize the model to that "
            "tokenizer (tokkit resize-embeddings) or re-shard with the model's tokenizer"
        )
    if not any((model_dir / name).is_file() for name in TOKENIZER_FILES):
        if require_tokenizer:
            raise InputError(
                f"{model_dir}: no tokenizer files beside the model, so the shards' tokenizer cannot "
                "be verified; save the tokenizer into the model dir or pass --no-tokenizer-check"
            )
        log.warning("%s: no tokenizer beside the model; checked the vocab size only", model_dir)
        return
    from tokkit.load import load_tokenizer
    from tokkit.shards.manifest import vocab_hash

    model_hash = vocab_hash(load_tokenizer(model_dir))
    if model_hash != manifest.tokenizer.vocab_hash:
        raise InputError(
            f"{model_dir}: the model's tokenizer differs from the one that made {shards} "
            f"({manifest.tokenizer.path}): same size, different tokens; re-shard with "
            f"--tokenizer {model_dir}"
        )
