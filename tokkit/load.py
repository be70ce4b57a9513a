"""The two registries: open any tokenizer tokkit knows, make any trainer it knows.

Open any tokenizer tokkit knows: its own output dirs, ``tokenizer.json``, sentencepiece
``.model``, a ``transformers`` tokenizer dir, ``tiktoken:<encoding>`` (tiktoken itself), or a
tiktoken rank file (``*.tiktoken``, Llama 3's ``tokenizer.model``: tokkit's own byte-level BPE with
tiktoken's ids, see :meth:`~tokkit.models.bpe.ByteLevelBPETokenizer.from_tiktoken_file`).

A tokkit output dir holds ``tokkit.json`` (which kind and backend wrote it, the training config and
run statistics); :data:`KINDS` maps its ``kind`` to the class that loads it, so new algorithms
register one line here (or call :func:`register_kind`) and every later stage can open their output.

:data:`TRAINERS` maps ``(algorithm, backend)`` to the trainer that makes that kind of tokenizer;
:func:`make_trainer` is what the CLI, the pipeline and the benchmarks call, so a new algorithm or
backend is one line here (or :func:`register_trainer`) and every caller can train it.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from tokkit.errors import InputError
from tokkit.types import Tokenizer, Trainer

META_FILE = "tokkit.json"

KINDS: dict[str, str | type[Tokenizer]] = {
    "hf": "tokkit.backends.hf:HFTokenizer",
    "spm": "tokkit.backends.spm:SPMTokenizer",
    "bpe": "tokkit.models.bpe:ByteLevelBPETokenizer",
    "wordpiece": "tokkit.models.wordpiece:WordPieceTokenizer",
    "unigram": "tokkit.models.unigram:UnigramTokenizer",
    "tiktoken": "tokkit.backends.tiktoken:TiktokenTokenizer",
}
"""Tokenizer kind → ``module:Class`` (imported on first use) or the class, with a ``load(path)``
classmethod."""

TrainerFactory = Callable[[Any], Trainer]
"""``(config) -> Trainer``: a trainer class, or any callable that builds one from its config."""

TRAINERS: dict[tuple[str, str], str | TrainerFactory] = {
    ("bpe", "scratch"): "tokkit.train.bpe:BPETrainer",
    ("bpe", "hf"): "tokkit.backends.bpe:HFBPETrainer",
    ("bpe", "spm"): "tokkit.backends.bpe:SPMBPETrainer",
    ("wordpiece", "scratch"): "tokkit.train.wordpiece:WordPieceTrainer",
    ("wordpiece", "hf"): "tokkit.backends.wordpiece:HFWordPieceTrainer",
    ("unigram", "scratch"): "tokkit.train.unigram:UnigramTrainer",
    ("unigram", "hf"): "tokkit.backends.unigram:HFUnigramTrainer",
    ("unigram", "spm"): "tokkit.backends.unigram:SPMUnigramTrainer",
}
"""``(algorithm, backend)`` → ``module:Class`` (imported on first use) or a factory ``(config) -> Trainer``."""


def _resolve(entry: str | Any) -> Any:
    if not isinstance(entry, str):
        return entry
    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)


def register_kind(kind: str, tokenizer: str | type[Tokenizer]) -> None:
    """Let :func:`load_tokenizer` open output dirs whose ``tokkit.json`` says ``kind``."""
    KINDS[kind] = tokenizer


def tokenizer_class(kind: str) -> type[Tokenizer]:
    try:
        entry = KINDS[kind]
    except KeyError:
        raise InputError(f"unknown tokenizer kind '{kind}'; known: {', '.join(KINDS)}") from None
    return cast("type[Tokenizer]", _resolve(entry))


def register_trainer(algorithm: str, backend: str, factory: str | TrainerFactory) -> None:
    """Let :func:`make_trainer` (and so every caller) build ``algorithm`` on ``backend``."""
    TRAINERS[(algorithm, backend)] = factory


def trainer_pairs(algorithm: str | None = None) -> list[tuple[str, str]]:
    """The known ``(algorithm, backend)`` pairs, of one ``algorithm`` when given."""
    return [pair for pair in TRAINERS if algorithm is None or pair[0] == algorithm]


def make_trainer(algorithm: str, backend: str, config: Any) -> Trainer:
    """The trainer for ``algorithm`` on ``backend``, built from ``config``; raise
    :class:`InputError` naming the known pairs if there is none."""
    try:
        entry = TRAINERS[(algorithm, backend)]
    except KeyError:
        known = ", ".join(f"{a}/{b}" for a, b in TRAINERS)
        raise InputError(
            f"no trainer for algorithm={algorithm!r} with backend={backend!r}; known: {known}"
        ) from None
    return cast("Trainer", _resolve(entry)(config))


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
        # spm.model first: an spm trainer's own model beside the tokenizer.json made from it
        for name, kind in (("spm.model", "spm"), ("tokenizer.json", "hf"), ("tokenizer.model", "spm")):
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
