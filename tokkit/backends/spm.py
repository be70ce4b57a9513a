"""A sentencepiece ``.model`` behind tokkit's :class:`Tokenizer` interface."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sentencepiece as spm

from tokkit.errors import InputError
from tokkit.vocab_bytes import METASPACE, VocabBytes

SPM_MODEL = "spm.model"
log = logging.getLogger("tokkit")
_VOCAB_BYTES: weakref.WeakKeyDictionary[Any, VocabBytes] = weakref.WeakKeyDictionary()


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

    def encode_batch(self, texts: Sequence[str], *, threads: int | None = None) -> list[list[int]]:
        """The library's batch encode (its own threads, at most ``threads`` when given), its lists
        as they come."""
        if not texts:
            return []
        texts = texts if isinstance(texts, list) else list(texts)
        if threads:
            return self.sp.Encode(texts, num_threads=threads)
        return self.sp.EncodeAsIds(texts)

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.sp.DecodeIds(list(ids)))

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [str(s) for s in self.sp.DecodeIds(list(batch))] if batch else []

    def vocab_bytes(self) -> VocabBytes:
        """``IsByte`` → ``<0xNN>`` is byte NN, ``IsUnknown``/``IsControl`` → no bytes, ``▁`` → a
        space; decode is the concatenation minus the dummy-prefix space when whitespace is escaped
        as a prefix (not a suffix)."""
        cached = _VOCAB_BYTES.get(self.sp)
        if cached is None:
            cached = _VOCAB_BYTES[self.sp] = self._vocab_bytes()
        return cached

    def _vocab_bytes(self) -> VocabBytes:
        from sentencepiece import sentencepiece_model_pb2

        sp = self.sp
        proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
        proto.ParseFromString(self.model_bytes)
        norm = proto.normalizer_spec
        trainer = proto.trainer_spec
        surfaces: list[bytes | None] = []
        fallback, unknown, special = [], [], []
        for i in range(sp.GetPieceSize()):
            piece = sp.IdToPiece(i)
            if sp.IsByte(i):
                fallback.append(i)
                surfaces.append(bytes([int(piece[3:5], 16)]))
            elif sp.IsUnknown(i):
                unknown.append(i)
                surfaces.append(None)
            elif sp.IsControl(i):
                special.append(i)
                surfaces.append(None)
            else:
                surfaces.append(piece.replace(METASPACE, " ").encode("utf-8"))
        concat = norm.escape_whitespaces and not trainer.treat_whitespace_as_suffix
        prefix = (b" " if norm.add_dummy_prefix else b"") if concat else None
        return VocabBytes(surfaces, fallback=fallback, unknown=unknown, special=special,
                          byte_fallback=bool(trainer.byte_fallback), decode_prefix=prefix)

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
