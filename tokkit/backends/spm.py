"""A sentencepiece ``.model`` behind tokkit's :class:`Tokenizer` interface."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sentencepiece as spm

from tokkit.errors import InputError

SPM_MODEL = "spm.model"
log = logging.getLogger("tokkit")


def train_from_iterator(texts: Iterable[str], **options: Any) -> None:
    """``SentencePieceTrainer.train(sentence_iterator=texts, **options)``, except that an error
    the iterator raises (a reader's one-line :class:`~tokkit.errors.TokkitError`, Ctrl-C) comes
    out as itself: sentencepiece turns it into ``RuntimeError("INTERNAL: ... At: <frames>")``.
    """
    raised: list[BaseException] = []

    def relay() -> Iterator[str]:
        try:
            yield from texts
        except BaseException as err:
            raised.append(err)
            raise

    try:
        spm.SentencePieceTrainer.train(sentence_iterator=relay(), **options)
    except RuntimeError:
        if raised:
            raise raised[0] from None
        raise


class SPMTokenizer:
    """Wraps a ``SentencePieceProcessor``; ``encode`` adds no BOS/EOS (raw text → ids)."""

    kind = "spm"

    def __init__(self, processor: spm.SentencePieceProcessor, model_bytes: bytes) -> None:
        self.sp = processor
        self.model_bytes = model_bytes

    @classmethod
    def from_bytes(cls, model_bytes: bytes) -> SPMTokenizer:
        sp = spm.SentencePieceProcessor()
        sp.LoadFromSerializedProto(model_bytes)
        return cls(sp, model_bytes)

    @property
    def vocab_size(self) -> int:
        return int(self.sp.GetPieceSize())

    @property
    def special_tokens(self) -> Mapping[str, int]:
        return {
            self.sp.IdToPiece(i): i
            for i in range(self.vocab_size)
            if self.sp.IsControl(i) or self.sp.IsUnknown(i)
        }

    def encode(self, text: str) -> list[int]:
        return list(self.sp.EncodeAsIds(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(ids) for ids in self.sp.EncodeAsIds(list(texts))]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.sp.DecodeIds(list(ids)))

    def id_to_token(self, id: int) -> str:
        if not 0 <= id < self.vocab_size:
            raise IndexError(f"id {id} is outside the vocabulary of {self.vocab_size}")
        return str(self.sp.IdToPiece(id))

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / SPM_MODEL
        path.write_bytes(self.model_bytes)
        with open(directory / "spm.vocab", "w", encoding="utf-8") as f:
            for i in range(self.vocab_size):
                f.write(f"{self.sp.IdToPiece(i)}\t{self.sp.GetScore(i):g}\n")
        self.save_hf(directory)
        return path

    def save_hf(self, directory: str | Path) -> list[Path]:
        """``tokenizer.json`` (+ the ``transformers`` config files) with sentencepiece's ids
        (:mod:`tokkit.backends.spm_hf`); a model the export does not support gets none, with a warning."""
        from tokkit.backends.spm_hf import parse_model, write_hf_tokenizer

        try:
            return write_hf_tokenizer(parse_model(self.model_bytes), directory)
        except InputError as err:
            log.warning("%s: no tokenizer.json written: %s", directory, err)
            return []

    @classmethod
    def load(cls, path: str | Path) -> SPMTokenizer:
        path = Path(path)
        if path.is_dir():
            candidates = [path / SPM_MODEL, path / "tokenizer.model"]
            path = next((p for p in candidates if p.exists()), candidates[0])
        try:
            data = path.read_bytes()
        except OSError as err:
            raise InputError(f"{path}: cannot read ({err.strerror})") from None
        try:
            return cls.from_bytes(data)
        except Exception:
            raise InputError(f"{path}: not a sentencepiece model; pass a .model file") from None
