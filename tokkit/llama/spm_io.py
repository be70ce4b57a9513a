"""Read and check sentencepiece ``ModelProto``s: the base LLaMA model and the Chinese model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit.errors import InputError

if TYPE_CHECKING:
    import sentencepiece as spm

ModelProto = Any
"""``sentencepiece_model_pb2.ModelProto``: generated protobuf code without type stubs."""

SPM_FILE = "tokenizer.model"


def resolve_model_path(path: str | Path, what: str = "`base`") -> Path:
    """A ``.model`` file, or a ``transformers`` tokenizer dir that holds ``tokenizer.model``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory; pass {what} a sentencepiece tokenizer.model")
    if path.is_dir():
        candidate = path / SPM_FILE
        if not candidate.exists():
            raise InputError(
                f"{path}: no {SPM_FILE} inside; pass {what} a sentencepiece model or a LLaMA tokenizer dir "
                "that holds tokenizer.model"
            )
        return candidate
    return path


def new_model() -> ModelProto:
    """An empty ``ModelProto``."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    return pb.ModelProto()  # type: ignore[attr-defined]


def parse_model(data: bytes, source: str) -> ModelProto:
    """Parse and validate serialized model bytes; raise :class:`InputError` naming ``source``."""
    from google.protobuf.message import DecodeError

    model = new_model()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError):
        model = new_model()
    if not model.pieces or not any(p.type == 1 for p in model.pieces):
        raise InputError(f"{source}: not a sentencepiece model; pass a sentencepiece .model file")
    try:
        processor(model)
    except Exception:
        raise InputError(f"{source}: not a loadable sentencepiece model; pass a valid .model file") from None
    return model


def read_model(path: str | Path, what: str = "`base`") -> ModelProto:
    """Load a sentencepiece model from a file or tokenizer dir."""
    file = resolve_model_path(path, what)
    try:
        data = file.read_bytes()
    except OSError as err:
        raise InputError(f"{file}: cannot read ({err.strerror}); pass {what} a readable file") from None
    return parse_model(data, str(file))


def processor(model: ModelProto) -> spm.SentencePieceProcessor:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(model.SerializeToString())
    return sp
