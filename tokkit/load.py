"""Open any tokenizer tokkit knows: its own output dirs, ``tokenizer.json``, sentencepiece
``.model``, a ``transformers`` tokenizer dir, ``tiktoken:<encoding>`` (tiktoken itself), or a
tiktoken rank file (``*.tiktoken``, Llama 3's ``tokenizer.model``: tokkit's own byte-level BPE with
tiktoken's ids, see :meth:`~tokkit.models.bpe.ByteLevelBPETokenizer.from_tiktoken_file`).

A tokkit output dir holds ``tokkit.json`` (which kind and backend wrote it, the training config and
run statistics); :data:`KINDS` maps its ``kind`` to the class that loads it, so new algorithms
register one line here and every later stage can open their output.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, cast

from tokkit.errors import InputError
from tokkit.types import Tokenizer

META_FILE = "tokkit.json"

KINDS: dict[str, str] = {
    "hf": "tokkit.backends.hf:HFTokenizer",
    "spm": "tokkit.backends.spm:SPMTokenizer",
    "bpe": "tokkit.models.bpe:ByteLevelBPETokenizer",
    "wordpiece": "tokkit.models.wordpiece:WordPieceTokenizer",
    "unigram": "tokkit.models.unigram:UnigramTokenizer",
    "tiktoken": "tokkit.backends.tiktoken:TiktokenTokenizer",
}
"""Tokenizer kind → ``module:Class`` with a ``load(path)`` classmethod."""


def tokenizer_class(kind: str) -> type[Tokenizer]:
    try:
        module, _, name = KINDS[kind].partition(":")
    except KeyError:
        raise InputError(f"unknown tokenizer kind '{kind}'; known: {', '.join(KINDS)}") from None
    return cast("type[Tokenizer]", getattr(importlib.import_module(module), name))


def read_meta(directory: str | Path) -> dict[str, Any]:
    """The ``tokkit.json`` of an output dir ({} when absent)."""
    path = Path(directory) / META_FILE
    if not path.exists():
        return {}
    try:
        return cast("dict[str, Any]", json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: unreadable tokkit metadata ({err}); re-run the training") from None


def write_meta(directory: str | Path, meta: dict[str, Any]) -> Path:
    path = Path(directory) / META_FILE
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_tokenizer(spec: str | Path) -> Tokenizer:
    """Open a tokenizer from a path or ``tiktoken:NAME``; raise :class:`InputError` if unknown."""
    text = str(spec)
    if text.startswith("tiktoken:"):
        return tokenizer_class("tiktoken").load(text.removeprefix("tiktoken:"))
    path = Path(spec)
    if not path.exists():
        raise InputError(f"{path}: no such tokenizer file or directory")
    if path.is_dir():
        meta = read_meta(path)
        if "kind" in meta:
            return tokenizer_class(meta["kind"]).load(path)
        for name, kind in (("tokenizer.json", "hf"), ("tokenizer.model", "spm"), ("spm.model", "spm")):
            if (path / name).exists():
                if name == "tokenizer.model":  # sentencepiece, or Llama 3's tiktoken ranks
                    return load_tokenizer(path / name)
                return tokenizer_class(kind).load(path / name)
        raise InputError(
            f"{path}: no tokkit.json, tokenizer.json or tokenizer.model inside; "
            "point at a tokenizer directory or file"
        )
    if path.suffix == ".json":
        return tokenizer_class("hf").load(path)
    if path.suffix in (".tiktoken", ".model"):
        from tokkit.models.bpe_ranks import is_rank_file

        if is_rank_file(path):  # OpenAI's encodings, Llama 3's tokenizer.model
            from tokkit.models.bpe import ByteLevelBPETokenizer

            return ByteLevelBPETokenizer.from_tiktoken_file(path)
        if _starts_with_brace(path):  # tokkit's own bpe.model (JSON)
            return tokenizer_class("bpe").load(path)
        if path.suffix == ".model":
            return tokenizer_class("spm").load(path)
    raise InputError(
        f"{path}: unknown tokenizer file; expected tokenizer.json, a .model, a tiktoken rank file "
        "or a directory"
    )


def _starts_with_brace(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(1) == b"{"
    except OSError:
        return False
