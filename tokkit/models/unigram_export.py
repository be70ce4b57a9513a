"""Unigram models in the libraries' formats: a sentencepiece ``ModelProto`` and a ``tokenizer.json``.

Both carry tokkit's per-character rules (:mod:`tokkit.models.unigram_normalize`) compiled into
sentencepiece's ``precompiled_charsmap``, so ``SentencePieceProcessor`` and ``tokenizers``
normalize every string as tokkit does. ``tokenizers``' ``Precompiled`` step applies the charsmap
per grapheme and, when a grapheme of under 6 bytes starts with a mapped character, keeps only that
character's replacement (``ｘ`` + U+0304 loses the mark). So the ``tokenizer.json`` puts the
:data:`~tokkit.models.unigram_normalize.DELETED` marker, a grapheme boundary, after every mapped
character first and removes the markers afterwards: every mapped character is then a grapheme of
its own.
"""

from __future__ import annotations

from typing import Any

from tokkit.errors import InputError
from tokkit.models.unigram import SPACE, PieceType, UnigramSettings, UnigramTokenizer
from tokkit.models.unigram_normalize import (
    DELETED,
    RULE_NAMES,
    char_rules,
    onig_class,
    precompiled_charsmap,
)

_TYPE_TO_PROTO = {"normal": 1, "unknown": 2, "control": 3, "user_defined": 4, "unused": 5, "byte": 6}
_PROTO_TO_TYPE: dict[int, PieceType] = {
    1: "normal", 2: "unknown", 3: "control", 4: "user_defined", 5: "unused", 6: "byte"}
UNIGRAM = 1


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
    model.normalizer_spec.name = RULE_NAMES[tok.settings.normalization]
    model.normalizer_spec.precompiled_charsmap = precompiled_charsmap(tok.settings.normalization)
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
    ours = {name: kind for kind, name in RULE_NAMES.items()}
    if rule not in ("nfkc", "identity", *ours):
        raise InputError(f"sentencepiece normalization '{rule}' is not supported; use nfkc or identity")
    settings = UnigramSettings(normalization=ours.get(rule, rule),  # type: ignore[arg-type]
                               add_dummy_prefix=model.normalizer_spec.add_dummy_prefix,
                               byte_fallback=model.trainer_spec.byte_fallback,
                               exact_ties=rule in ours)
    return UnigramTokenizer([p.piece for p in model.pieces], [p.score for p in model.pieces],
                            types=[_PROTO_TO_TYPE[p.type] for p in model.pieces], settings=settings)


def to_hf(tok: UnigramTokenizer) -> Any:
    """The same model as a ``tokenizers.Tokenizer``: the rules (see the module doc), whitespace
    collapsed and stripped, ``▁`` for every space and before the text, then one Unigram lattice
    over the whole line as in sentencepiece (no pre-tokenizer)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
    )

    vocab = [(p, s if t == "normal" or t == "byte" else 0.0)
             for p, s, t in zip(tok.pieces, tok.scores, tok.types, strict=True)]
    hf = Tokenizer(models.Unigram(vocab, unk_id=tok.unk_id, byte_fallback=tok.settings.byte_fallback))
    normalization = tok.settings.normalization
    mapped = [c for c in char_rules(normalization) if c != DELETED]
    steps: list[Any] = [
        normalizers.Replace(DELETED, ""),
        normalizers.Replace(Regex(f"(?<={onig_class(mapped)})"), DELETED),
        normalizers.Precompiled(precompiled_charsmap(normalization, with_deleted=False)),
        normalizers.Replace(DELETED, ""),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Strip(),
    ]
    if tok.settings.add_dummy_prefix:
        steps.append(normalizers.Prepend(SPACE))  # (only to non-empty text)
    steps += [normalizers.Replace(" ", SPACE), normalizers.Replace(Regex(f"{SPACE}+\\z"), "")]
    hf.normalizer = normalizers.Sequence(steps)
    hf.pre_tokenizer = None
    scheme = "always" if tok.settings.add_dummy_prefix else "never"
    decoder_steps: list[Any] = [decoders.Metaspace(replacement=SPACE, prepend_scheme=scheme)]
    if tok.settings.byte_fallback:
        decoder_steps = [decoders.ByteFallback(), decoders.Fuse(), *decoder_steps]
    hf.decoder = decoders.Sequence(decoder_steps)
    hf.add_special_tokens([AddedToken(p, special=True, normalized=False)
                           for p, t in zip(tok.pieces, tok.types, strict=True) if t == "control"])
    return hf
