"""A sentencepiece model (BPE or Unigram) as a ``tokenizer.json`` that gives sentencepiece's ids.

``tokenizers`` runs normalizer → model → decoder; sentencepiece runs its normalizer and then one
BPE merge loop or one Unigram lattice over the whole line. We rebuild sentencepiece's steps:

* **normalizer**: the model's own ``precompiled_charsmap`` (Unigram ``nfkc``; none for
  ``identity``), then, with ``remove_extra_whitespaces``, leading spaces stripped and runs
  collapsed (only ``" "``: a tab or newline is a character like any other; a typed ``▁`` is not
  a space there), trailing ``▁`` stripped after escaping (a typed one too), then ``▁`` before
  non-empty text (``add_dummy_prefix``) and for every space (``escape_whitespaces``); no
  pre-tokenizer, so a whole line is one BPE word or one lattice, as in sentencepiece.
* **BPE** (:func:`bpe_merges`): the merges are every split of every normal piece into two normal
  pieces, ranked by the piece's score. sentencepiece merges the adjacent pair whose concatenation
  scores highest; its trainer gives every piece its own score (``-id``), so the ranked list is
  exact (:func:`score_ties` finds the ties a merge list cannot mirror). Control, unknown and byte
  pieces are never merged into, so text that spells ``<s>`` or ``<0x41>`` stays text.
* **Unigram**: every piece with its score. ``tokenizers``' lattice matches *every* vocabulary
  string, sentencepiece's only normal and user-defined pieces, so text spelling a control, unknown
  or byte piece (WikiText holds thousands of literal ``<unk>``) would become that piece. The
  export makes those strings unreachable: after normalization every first character of such a
  piece (``<``, ``[``, ...) is followed by :data:`GUARD` (a noncharacter), and the normal pieces
  are spelled the same way, so a segmentation of the text is a segmentation of the guarded text
  and back. An unknown guarded character and its guard fuse into the one unknown piece
  sentencepiece gives; under ``byte_fallback`` the guard would add its own bytes, so there an
  unknown first character is spelled as the byte pieces it falls back to instead (``<`` →
  ``<0x3C>``, which the lattice takes whole). The decoder drops the guard.
* **user-defined pieces** (tokkit's ``special_tokens`` for ``spm`` BPE, Mistral v3's
  ``[REFERENCE_DOC_k]``): sentencepiece cuts them out of the *normalized* text and never merges
  across them, so the dummy ``▁`` is prepended once, to the whole text. ``tokenizers``' added
  tokens cannot do that (normalized ones are matched with the prefix included, unnormalized ones
  get the prefix on every stretch between them), so a ``Split`` pre-tokenizer isolates them in
  the normalized text and ``ignore_merges`` emits a stretch that is a whole piece (the symbol) as
  that piece. That is exact only if BPE builds every other piece from its own text
  (:func:`unbuilt_pieces`; sentencepiece's BPE trainer's models do), checked. One case stays
  different: a stretch right after a symbol that spells a control or byte piece exactly, to the
  end of the text or the next symbol (``<|endoftext|><unk>``: sentencepiece reads ``<unk>`` as
  text, the export emits the unknown piece). User-defined pieces holding a space are refused.
* **control pieces** (``<s>``, ``</s>``, ``<unk>``) are not added tokens: sentencepiece never
  makes one from text, so bare ``tokenizers`` needs no ``encode_special_tokens`` flag. BOS is added
  by the post-processor; ``transformers`` registers them from ``tokenizer_config.json`` and
  ``split_special_tokens: true`` keeps their spelling text there too.

Two more boundaries, both in Unigram models: ``tokenizers``' lattice sums scores in float64,
sentencepiece's in float32, so two segmentations that score the same (``0`` + ``00`` and ``00`` +
``0``) are told apart by rounding and may come out in the other order; and the ``Precompiled`` step
normalizes a grapheme of under 6 bytes as a whole, and when only its first character has a rule it
keeps that character's replacement and drops the rest (``"ｘ̄"``: sentencepiece ``x`` + U+0304,
``tokenizers`` ``x``). :func:`normalizes_apart` tells such text; the parity tests check that every
other text matches.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tokkit.errors import InputError

ModelProto = Any
"""``sentencepiece_model_pb2.ModelProto`` (generated protobuf code without type stubs)."""

TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"

NORMAL = 1
UNKNOWN = 2
CONTROL = 3
USER_DEFINED = 4
UNUSED = 5
BYTE = 6
MERGEABLE = (NORMAL,)
"""Piece types sentencepiece's BPE produces by merging (user-defined pieces are matched whole
before BPE and never merged)."""
BPE_TYPE = 2
UNIGRAM_TYPE = 1
SPACE = "▁"
GUARD = "\U0010ffff"
"""A noncharacter: put after the first character of every piece text must not spell (Unigram)."""


def parse_model(data: bytes) -> ModelProto:
    """``data`` (a ``.model`` file's bytes) as a ``ModelProto``."""
    from google.protobuf.message import DecodeError
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()  # type: ignore[attr-defined]
    try:
        model.ParseFromString(data)
    except DecodeError:
        raise InputError("not a sentencepiece model; pass a .model file") from None
    return model


def _check(model: ModelProto) -> None:
    spec = model.trainer_spec
    if spec.model_type not in (BPE_TYPE, UNIGRAM_TYPE):
        raise InputError("the tokenizer.json export needs a sentencepiece BPE or Unigram model; "
                         "pass one trained with model_type=bpe or unigram")
    if spec.treat_whitespace_as_suffix:
        raise InputError("treat_whitespace_as_suffix models are not supported; pass a model trained "
                         "without it")
    unused = [p.piece for p in model.pieces if p.type == UNUSED]
    if unused:
        raise InputError(f"the model has {len(unused)} unused pieces (e.g. {unused[0]!r}), which "
                         "the tokenizer.json export does not reproduce; pass a model without them")
    spaced = [p.piece for p in model.pieces if p.type == USER_DEFINED and (SPACE in p.piece or " " in p.piece)]
    if spaced:
        raise InputError(
            f"the model has a user-defined piece holding a space ({spaced[0]!r}), which the tokenizer.json "
            "export cannot match like sentencepiece; pass a model whose user_defined_symbols have no spaces"
        )
    seen: dict[str, int] = {}
    for i, p in enumerate(model.pieces):
        if p.piece in seen:
            raise InputError(f"piece {p.piece!r} appears twice (ids {seen[p.piece]} and {i}); "
                             "the model is corrupt")
        seen[p.piece] = i
        if GUARD in p.piece:
            raise InputError(f"piece {i} holds U+10FFFF, the export's guard character; "
                             "pass a model without it")


def bpe_merges(model: ModelProto) -> list[tuple[str, str]]:
    """Every ``(left, right)`` pair sentencepiece could merge, in the order it prefers them.

    Ordered by the score of the concatenation (highest first), then its id, then the split point.
    """
    mergeable = {p.piece: i for i, p in enumerate(model.pieces) if p.type in MERGEABLE}
    ranked: list[tuple[float, int, int, str, str]] = []
    for piece, i in mergeable.items():
        score = model.pieces[i].score
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in mergeable and right in mergeable:
                ranked.append((-score, i, cut, left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def score_ties(model: ModelProto) -> Counter[float]:
    """Scores shared by more than one multi-character mergeable piece (ties a merge list can't mirror)."""
    counts = Counter(p.score for p in model.pieces if p.type in MERGEABLE and len(p.piece) > 1)
    return Counter({score: n for score, n in counts.items() if n > 1})


def user_defined(model: ModelProto) -> list[str]:
    """The model's user-defined pieces (matched whole in text, never merged)."""
    return [p.piece for p in model.pieces if p.type == USER_DEFINED]


def unbuilt_pieces(model: ModelProto) -> list[str]:
    """Multi-character normal pieces that sentencepiece's BPE does not build from their own text."""
    import sentencepiece as spm

    plain = parse_model(model.SerializeToString())
    plain.normalizer_spec.add_dummy_prefix = False
    sp = spm.SentencePieceProcessor(model_proto=plain.SerializeToString())
    pieces = [(i, p.piece) for i, p in enumerate(model.pieces) if p.type in MERGEABLE and len(p.piece) > 1]
    encoded = sp.encode([piece.replace(SPACE, " ") for _, piece in pieces])
    return [piece for (i, piece), ids in zip(pieces, encoded, strict=True) if ids != [i]]


def _piece_or_none(model: ModelProto, id_: int) -> str | None:
    return model.pieces[id_].piece if 0 <= id_ < len(model.pieces) else None


def _unk_piece(model: ModelProto) -> str | None:
    return _piece_or_none(model, model.trainer_spec.unk_id) or next(
        (p.piece for p in model.pieces if p.type == UNKNOWN), None)


def _normalizer_steps(model: ModelProto) -> list[Any]:
    from tokenizers import Regex, normalizers

    spec = model.normalizer_spec
    steps: list[Any] = []
    if spec.precompiled_charsmap:
        steps.append(normalizers.Precompiled(spec.precompiled_charsmap))
    if spec.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Replace(Regex(r"\A +"), "")]
    if spec.add_dummy_prefix:
        steps.append(normalizers.Prepend(SPACE))  # (only to non-empty text)
    if spec.escape_whitespaces:
        steps.append(normalizers.Replace(" ", SPACE))
    if spec.remove_extra_whitespaces:  # after escaping, so a typed "▁" at the end goes too
        steps.append(normalizers.Replace(Regex(f"[ {SPACE}]+\\z"), ""))
    return steps


def guards(model: ModelProto) -> dict[str, str]:
    """``{character: replacement}`` that keeps text from spelling a control, unknown or byte piece
    in a Unigram export (module doc): each first character of such a piece becomes itself +
    :data:`GUARD`, or, when it is unknown under ``byte_fallback``, the byte pieces it falls back to."""
    single = {p.piece for p in model.pieces if p.type == NORMAL and len(p.piece) == 1}
    firsts = sorted({p.piece[0] for p in model.pieces if p.type in (CONTROL, UNKNOWN, BYTE) and p.piece})
    return {c: (c + GUARD if c in single or not model.trainer_spec.byte_fallback
                else "".join(f"<0x{b:02X}>" for b in c.encode("utf-8"))) for c in firsts}


def _guard(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) for c in text)


def build_hf_tokenizer(model: ModelProto) -> Any:
    """A ``tokenizers.Tokenizer`` that encodes like sentencepiece with ``model`` (module doc)."""
    import regex
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE, Unigram

    _check(model)
    spec = model.trainer_spec
    user = [p.piece for p in model.pieces if p.type == USER_DEFINED]
    steps = _normalizer_steps(model)
    dec: list[Any] = []
    if spec.model_type == BPE_TYPE:
        if user and (unbuilt := unbuilt_pieces(model)):
            raise InputError(
                f"the model has user-defined pieces and {len(unbuilt)} pieces BPE cannot build from their "
                f"own text (e.g. {unbuilt[0]!r}), so the tokenizer.json export cannot match sentencepiece; "
                "pass a model without user_defined_symbols or with every piece built by its merges")
        vocab = {p.piece: i for i, p in enumerate(model.pieces)}
        tokenizer = Tokenizer(BPE(vocab=vocab, merges=bpe_merges(model), unk_token=_unk_piece(model),
                                  fuse_unk=True, byte_fallback=spec.byte_fallback, ignore_merges=bool(user)))
    else:
        if user:
            raise InputError(f"the model has {len(user)} user-defined pieces (e.g. {user[0]!r}); the "
                             "Unigram export supports control symbols only; pass a model trained with "
                             "control_symbols instead")
        table = guards(model)
        pieces = [(_guard(p.piece, table) if p.type == NORMAL else p.piece,
                   p.score if p.type in (NORMAL, BYTE) else 0.0) for p in model.pieces]
        unk_id = spec.unk_id if 0 <= spec.unk_id < len(pieces) else 0
        tokenizer = Tokenizer(Unigram(pieces, unk_id=unk_id, byte_fallback=spec.byte_fallback))
        steps += [normalizers.Replace(c, r) for c, r in table.items()]
        dec.append(decoders.Replace(GUARD, ""))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = None
    if user:  # longest first: sentencepiece's prefix matcher takes the longest symbol
        alternation = "|".join(regex.escape(u) for u in sorted(user, key=len, reverse=True))
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(alternation), behavior="isolated")
    unk = _unk_piece(model)
    if unk is not None:  # (a token at a time: the spelling "<", "unk", ">" stays text)
        dec.insert(0, decoders.Replace(unk, " \u2047 "))  # sentencepiece's " ⁇ "
    dec += [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if model.normalizer_spec.add_dummy_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tokenizer.decoder = decoders.Sequence(dec)
    bos = _piece_or_none(model, spec.bos_id)
    if bos is not None:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, spec.bos_id)])
    return tokenizer


def normalizes_apart(model: ModelProto, text: str) -> bool:
    """Whether ``tokenizers``' ``Precompiled`` step and sentencepiece normalize ``text``
    differently with ``model``'s charsmap (the module doc's one boundary; whitespace rules aside)."""
    import sentencepiece as spm
    from tokenizers import normalizers

    charsmap = model.normalizer_spec.precompiled_charsmap
    if not charsmap:
        return False
    ours = spm.SentencePieceNormalizer(model_proto=model.SerializeToString(), add_dummy_prefix=False,
                                       escape_whitespaces=False, remove_extra_whitespaces=False)
    return bool(normalizers.Precompiled(charsmap).normalize_str(text) != ours.normalize(text))


def _specials(model: ModelProto) -> dict[str, str]:
    spec = model.trainer_spec
    names = {
        "bos_token": _piece_or_none(model, spec.bos_id),
        "eos_token": _piece_or_none(model, spec.eos_id),
        "unk_token": _piece_or_none(model, spec.unk_id),
        "pad_token": _piece_or_none(model, spec.pad_id),
    }
    return {k: v for k, v in names.items() if v is not None}


def write_hf_tokenizer(model: ModelProto, directory: str | Path, *, tokenizer: Any = None) -> list[Path]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``:
    ``AutoTokenizer.from_pretrained(directory)`` then loads the fast tokenizer exactly as written.

    ``tokenizer`` is :func:`build_hf_tokenizer`'s result if the caller already has it.
    ``transformers`` 5 drops ``add_bos_token``/``add_eos_token`` from ``tokenizer_config.json``
    when a ``tokenizer.json`` exists but merges ``special_tokens_map.json`` into its constructor's
    arguments, so the flags are written in both.
    """
    directory = Path(directory)
    tokenizer = tokenizer if tokenizer is not None else build_hf_tokenizer(model)
    tokenizer.save(str(directory / TOKENIZER_JSON))
    specials = _specials(model)
    flags = {"add_bos_token": "bos_token" in specials, "add_eos_token": False}
    config = {
        # TokenizersBackend takes tokenizer.json as is; LlamaTokenizer would rebuild Metaspace.
        "tokenizer_class": "TokenizersBackend",
        **specials,
        **flags,
        "split_special_tokens": True,  # "<s>" typed in text is text, as in sentencepiece
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1_000_000_000_000_000_019_884_624_838_656,
        "sp_model_kwargs": {},
    }
    _write_json(directory / TOKENIZER_CONFIG, config)
    _write_json(directory / SPECIAL_TOKENS_MAP, {**specials, **flags})
    return [directory / TOKENIZER_JSON, directory / TOKENIZER_CONFIG, directory / SPECIAL_TOKENS_MAP]


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
