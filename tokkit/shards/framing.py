"""How one document becomes a run of ids in the packed stream: ``[BOS] ids EOS``.

The convention follows the tokenizer, so a model continues to see what it saw in pretraining:

1. ``tokenizer_config.json`` (a ``transformers`` dir): ``eos_token`` ends every document;
   ``bos_token`` starts it unless ``add_bos_token`` is false or BOS is the same token as EOS
   (GPT-2 style ``<|endoftext|>``).
2. Otherwise the tokenizer's special tokens: sentencepiece/LLaMA ``<s>`` … ``</s>`` (ids 1 and 2 in
   LLaMA) when both exist; else EOS only, the first of ``</s>``, ``<|endoftext|>``,
   ``<|end_of_text|>``, ``<eos>``, ``<|eos|>``.

Both can be overridden (``bos="none"``, ``eos="<|im_end|>"``). A tokenizer without any EOS is
refused: documents packed back to back must stay separable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokkit.errors import InputError
from tokkit.types import Tokenizer

EOS_CANDIDATES = ("</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>", "<|eos|>")
AUTO = "auto"
NONE = "none"


@dataclass(frozen=True, kw_only=True)
class Framing:
    """Ids put around every document; ``bos_id`` is ``None`` for EOS-only tokenizers."""

    bos_id: int | None
    eos_id: int


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def _tokenizer_config(path: Path) -> dict[str, Any]:
    config = (path if path.is_dir() else path.parent) / "tokenizer_config.json"
    if not config.is_file():
        return {}
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{config}: unreadable ({err}); fix or delete it") from None
    return data if isinstance(data, dict) else {}


def _id_of(tokenizer: Tokenizer, token: str, where: str) -> int:
    special = tokenizer.special_tokens
    if token in special:
        return int(special[token])
    ids = tokenizer.encode(token)
    if len(ids) == 1 and tokenizer.id_to_token(ids[0]) == token:
        return int(ids[0])
    raise InputError(f"{where}: token {token!r} is not a single token of the tokenizer; pick another")


def framing_for(
    tokenizer: Tokenizer, path: str | Path | None, *, bos: str = AUTO, eos: str = AUTO
) -> Framing:
    """Work out BOS/EOS for the tokenizer at ``path`` (see the module doc for the rules); ``None``
    for a tokenizer object, which has no ``tokenizer_config.json`` beside it."""
    config = _tokenizer_config(Path(path)) if path is not None else {}
    special = tokenizer.special_tokens
    where = str(path) if path is not None else f"the {tokenizer.kind} tokenizer"

    if eos != AUTO:
        eos_token: str | None = eos
    else:
        eos_token = _token_text(config.get("eos_token"))
        if eos_token is None:
            eos_token = next((t for t in EOS_CANDIDATES if t in special), None)
    if eos_token is None:
        raise InputError(
            f"{where}: the tokenizer has no end-of-document token (looked for "
            f"{', '.join(EOS_CANDIDATES)}); pass `eos=TOKEN`"
        )
    eos_id = _id_of(tokenizer, eos_token, where)

    if bos == NONE:
        bos_token: str | None = None
    elif bos != AUTO:
        bos_token = bos
    elif config:
        bos_token = _token_text(config.get("bos_token"))
        if config.get("add_bos_token") is False:
            bos_token = None
    else:
        bos_token = "<s>" if "<s>" in special and eos_token == "</s>" else None
    bos_id = None if bos_token is None else _id_of(tokenizer, bos_token, where)
    if bos_id == eos_id:
        bos_id = None
    return Framing(bos_id=bos_id, eos_id=eos_id)
