"""Unigram models in the libraries' formats: a sentencepiece ``ModelProto`` and a ``tokenizer.json``.

The ``.model`` carries sentencepiece's own compiled normalization rules (``nfkc`` or
``identity``), taken from the library, so ``SentencePieceProcessor`` normalizes as we do.
"""

from __future__ import annotations

import functools
from typing import Any

from tokkit.errors import InputError
from tokkit.models.unigram import SPACE, PieceType, UnigramSettings, UnigramTokenizer

_TYPE_TO_PROTO = {"normal": 1, "unknown": 2, "control": 3, "user_defined": 4, "unused": 5, "byte": 6}
_PROTO_TO_TYPE: dict[int, PieceType] = {
    1: "normal", 2: "unknown", 3: "control", 4: "user_defined", 5: "unused", 6: "byte"}
UNIGRAM = 1


@functools.cache
def _normalizer_spec(rule: str) -> bytes:
    import sentencepiece as spm

    return bytes(spm.SentencePieceNormalizer(rule_name=rule).serialized_normalizer_spec())


def to_model_proto(tok: UnigramTokenizer) -> bytes:
    """Serialize as a sentencepiece unigram ``ModelProto`` (what a ``.model`` file holds)."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()  # type: ignore[attr-defined]
    for piece, score, kind in zip(tok.pieces, tok.scores, tok.types, strict=True):
        entry = model.pieces.add()
        entry.piece = piece
        entry.score = score
        entry.type = _TYPE_TO_PROTO[kind]
    spec = model.trainer_spec
    spec.model_type = UNIGRAM
    spec.vocab_size = len(tok.pieces)
    spec.byte_fallback = tok.settings.byte_fallback
    spec.unk_id = tok.unk_id
    ids = {p: i for i, p in enumerate(tok.pieces)}
    spec.bos_id = ids.get("<s>", -1)
    spec.eos_id = ids.get("</s>", -1)
    spec.pad_id = ids.get("<pad>", -1)
    model.normalizer_spec.ParseFromString(_normalizer_spec(tok.settings.normalization))
    model.normalizer_spec.add_dummy_prefix = tok.settings.add_dummy_prefix
    model.normalizer_spec.remove_extra_whitespaces = True
    model.normalizer_spec.escape_whitespaces = True
    return bytes(model.SerializeToString())


def from_model_proto(data: bytes) -> UnigramTokenizer:
    """Read a sentencepiece unigram ``.model`` into our tokenizer (pieces, scores, types)."""
    from google.protobuf.message import DecodeError
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()  # type: ignore[attr-defined]
    try:
        model.ParseFromString(data)
    except DecodeError:
        raise InputError("not a sentencepiece model; pass a .model file") from None
    if model.trainer_spec.model_type != UNIGRAM:
        raise InputError("this sentencepiece model is not a unigram model (model_type != UNIGRAM)")
    rule = model.normalizer_spec.name or "nmt_nfkc"
    if rule not in ("nfkc", "identity"):
        raise InputError(f"sentencepiece normalization '{rule}' is not supported; use nfkc or identity")
    settings = UnigramSettings(normalization=rule,  # type: ignore[arg-type]
                               add_dummy_prefix=model.normalizer_spec.add_dummy_prefix,
                               byte_fallback=model.trainer_spec.byte_fallback)
    return UnigramTokenizer([p.piece for p in model.pieces], [p.score for p in model.pieces],
                            types=[_PROTO_TO_TYPE[p.type] for p in model.pieces], settings=settings)


def to_hf(tok: UnigramTokenizer) -> Any:
    """The same model as a ``tokenizers.Tokenizer`` (Unigram model, Metaspace pre-tokenizer)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
    )

    vocab = [(p, s if t == "normal" or t == "byte" else 0.0)
             for p, s, t in zip(tok.pieces, tok.scores, tok.types, strict=True)]
    hf = Tokenizer(models.Unigram(vocab, unk_id=tok.unk_id, byte_fallback=tok.settings.byte_fallback))
    steps: list[Any] = [normalizers.NFKC()] if tok.settings.normalization == "nfkc" else []
    steps += [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    hf.normalizer = normalizers.Sequence(steps)
    scheme = "always" if tok.settings.add_dummy_prefix else "never"
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme=scheme)
    decoder_steps: list[Any] = [decoders.Metaspace(replacement=SPACE, prepend_scheme=scheme)]
    if tok.settings.byte_fallback:
        decoder_steps = [decoders.ByteFallback(), decoders.Fuse(), *decoder_steps]
    hf.decoder = decoders.Sequence(decoder_steps)
    hf.add_special_tokens([AddedToken(p, special=True, normalized=False)
                           for p, t in zip(tok.pieces, tok.types, strict=True) if t == "control"])
    return hf
