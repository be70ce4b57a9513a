"""Write a sentencepiece BPE model as a ``transformers`` tokenizer dir whose ids equal sentencepiece's.

``transformers``' own conversion of a LLaMA ``tokenizer.model`` disagrees with sentencepiece: it
ranks merges by piece id rather than score (``▁▁`` is id 259 with score −1e9, so it merges first)
and its ``Metaspace`` step adds no ``▁`` to a line that already starts with a space. So we build the
``tokenizer.json`` ourselves, stage by stage, the way sentencepiece encodes:

* normalizer: prepend ``▁`` to non-empty text (``add_dummy_prefix``) and turn every space into
  ``▁`` (``escape_whitespaces``); no pre-tokenizer, so a whole line is one BPE word;
* model: BPE whose merges are every split ``left + right`` of every normal piece into two normal
  pieces, ranked by the piece's score (highest first) — sentencepiece merges the adjacent pair
  whose concatenation has the highest score; characters outside the vocabulary fall back to
  ``<0xXX>`` byte pieces;
* decoder: ``▁`` → space, bytes fused back into UTF-8, the dummy-prefix space stripped.

``tokenizer_config.json`` names ``TokenizersBackend`` so ``AutoTokenizer.from_pretrained`` loads
the ``tokenizer.json`` as written instead of rebuilding a LLaMA pipeline from vocab and merges.

Two settings need care so that every reader of the dir agrees with sentencepiece:

* **Text that spells a control token** (``<s>``, ``</s>``, ``<unk>``: 4,062 WikiText lines hold a
  literal ``<unk>``) is text to sentencepiece, which never produces a control piece from input.
  ``tokenizers`` matches added tokens in text unless ``encode_special_tokens`` is set, a flag its
  ``tokenizer.json`` cannot store; so :func:`build_hf_tokenizer` sets it on the object it returns and
  the config says ``split_special_tokens: true``, the key ``transformers`` (and tokkit's loader)
  turn into that flag. Someone loading the file with bare ``tokenizers`` sets
  ``tok.encode_special_tokens = True`` themselves.
* **BOS/EOS**: ``transformers`` 5 drops ``add_bos_token``/``add_eos_token`` from
  ``tokenizer_config.json`` when a ``tokenizer.json`` exists, then reads them as False; setting
  ``tok.add_eos_token = True`` rebuilds the post-processor from those and loses BOS (Llama 3.2's
  files behave the same). It still merges the keys of ``special_tokens_map.json`` into its
  constructor's arguments, so the flags are written there too (and in the config, for readers
  that take them from there); loaded, ``add_bos_token`` reads True and toggling either keeps the other.
* **User-defined pieces** (Mistral v3's ``[REFERENCE_DOC_0]``…): sentencepiece cuts them out
  of the *normalized* text and never merges across them, so the dummy ``▁`` is prepended once, to
  the whole text. ``tokenizers``' added tokens cannot do that (normalized ones are matched with
  the prefix included, unnormalized ones get the prefix on every stretch between them), so the
  export isolates them with a ``Split`` pre-tokenizer on the normalized text instead, and turns on
  ``ignore_merges`` so a stretch that is a whole piece (the symbol) is emitted as that piece. That
  is exact only if BPE builds every other piece from its own text (else a line that is such a
  piece would differ): :func:`build_hf_tokenizer` checks it and refuses a model where it fails.
  One case stays different: a stretch right after a user-defined symbol that spells a control or
  byte piece exactly, to the end of the text or the next symbol (``[REFERENCE_DOC_1]<0x41>``:
  sentencepiece reads ``<0x41>`` as text, the export emits the byte piece).

Exact parity needs distinct scores among the pieces a line can merge (sentencepiece breaks score
ties by position, a ranked merge list cannot); :func:`score_ties` finds them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tokkit.errors import InputError
from tokkit.llama.spm_io import ModelProto

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
before BPE and never merged: see the module docstring)."""


def _check_bpe(model: ModelProto) -> None:
    if model.trainer_spec.model_type != model.trainer_spec.BPE:
        raise InputError(
            "the tokenizer.json export needs a sentencepiece BPE model (LLaMA's is BPE); "
            "pass a BPE tokenizer.model"
        )
    spec = model.normalizer_spec
    if spec.name not in ("identity", "") or spec.precompiled_charsmap:
        raise InputError(
            f"the tokenizer.json export supports the 'identity' normalizer (LLaMA's), not '{spec.name}'; "
            "pass a LLaMA-style tokenizer.model"
        )
    spaced = [p.piece for p in model.pieces if p.type == USER_DEFINED and ("▁" in p.piece or " " in p.piece)]
    if spaced:
        raise InputError(
            f"the model has a user-defined piece holding a space ({spaced[0]!r}), which the tokenizer.json "
            "export cannot match like sentencepiece; pass a model whose user_defined_symbols have no spaces"
        )
    if model.trainer_spec.treat_whitespace_as_suffix:
        raise InputError("treat_whitespace_as_suffix models are not supported; pass a LLaMA-style model")


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
    counts = Counter(
        p.score for p in model.pieces if p.type in MERGEABLE and len(p.piece) > 1
    )
    return Counter({score: n for score, n in counts.items() if n > 1})


def _special(model: ModelProto, kind: int) -> str | None:
    return next((p.piece for p in model.pieces if p.type == kind), None)


def _piece_or_none(model: ModelProto, id_: int) -> str | None:
    return model.pieces[id_].piece if 0 <= id_ < len(model.pieces) else None


def user_defined(model: ModelProto) -> list[str]:
    """The model's user-defined pieces (matched whole in text, never merged)."""
    return [p.piece for p in model.pieces if p.type == USER_DEFINED]


def unbuilt_pieces(model: ModelProto) -> list[str]:
    """Multi-character normal pieces that sentencepiece's BPE does not build from their own text."""
    from tokkit.llama.spm_io import new_model, processor

    plain = new_model()
    plain.CopyFrom(model)
    plain.normalizer_spec.add_dummy_prefix = False
    sp = processor(plain)
    pieces = [(i, p.piece) for i, p in enumerate(model.pieces) if p.type in MERGEABLE and len(p.piece) > 1]
    encoded = sp.encode([piece.replace("▁", " ") for _, piece in pieces])
    return [piece for (i, piece), ids in zip(pieces, encoded, strict=True) if ids != [i]]


def build_hf_tokenizer(model: ModelProto) -> Any:
    """A ``tokenizers.Tokenizer`` that encodes like sentencepiece with ``model``."""
    import regex
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.models import BPE

    _check_bpe(model)
    vocab: dict[str, int] = {}
    for i, p in enumerate(model.pieces):
        if p.piece in vocab:
            raise InputError(f"piece {p.piece!r} appears twice (ids {vocab[p.piece]} and {i}); the model is corrupt")
        vocab[p.piece] = i
    spec = model.trainer_spec
    unk = _piece_or_none(model, spec.unk_id) or _special(model, UNKNOWN)
    user = user_defined(model)
    if user and (unbuilt := unbuilt_pieces(model)):
        raise InputError(
            f"the model has user-defined pieces and {len(unbuilt)} pieces BPE cannot build from their own "
            f"text (e.g. {unbuilt[0]!r}), so the tokenizer.json export cannot match sentencepiece; "
            "extend with intermediate pieces (the default) or pass a model without user_defined_symbols"
        )
    tokenizer = Tokenizer(
        BPE(
            vocab=vocab,
            merges=bpe_merges(model),
            unk_token=unk,
            fuse_unk=True,
            byte_fallback=spec.byte_fallback,
            ignore_merges=bool(user),
        )
    )
    steps: list[Any] = []
    if model.normalizer_spec.add_dummy_prefix:
        steps.append(normalizers.Prepend("▁"))
    if model.normalizer_spec.escape_whitespaces:
        steps.append(normalizers.Replace(" ", "▁"))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = None
    if user:  # longest first: sentencepiece's prefix matcher takes the longest symbol
        alternation = "|".join(regex.escape(u) for u in sorted(user, key=len, reverse=True))
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(alternation), behavior="isolated")
    dec = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if model.normalizer_spec.add_dummy_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tokenizer.decoder = decoders.Sequence(dec)
    specials = [p.piece for p in model.pieces if p.type in (UNKNOWN, CONTROL)]
    tokenizer.add_special_tokens(
        [AddedToken(s, special=True, normalized=False) for s in specials]
    )
    tokenizer.encode_special_tokens = True  # "<s>" typed in text is text, as in sentencepiece
    bos = _piece_or_none(model, spec.bos_id)
    if bos is not None:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, vocab[bos])]
        )
    return tokenizer


def _config(model: ModelProto) -> dict[str, object]:
    spec = model.trainer_spec
    names = {
        "bos_token": _piece_or_none(model, spec.bos_id),
        "eos_token": _piece_or_none(model, spec.eos_id),
        "unk_token": _piece_or_none(model, spec.unk_id),
        "pad_token": _piece_or_none(model, spec.pad_id),
    }
    return {k: v for k, v in names.items() if v is not None}


def write_hf_tokenizer(
    model: ModelProto, directory: str | Path, *, tokenizer: Any = None
) -> list[Path]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``.

    ``tokenizer`` is :func:`build_hf_tokenizer`'s result if the caller already has it. The caller
    writes ``tokenizer.model`` beside them; ``AutoTokenizer.from_pretrained(directory)`` then loads
    the fast tokenizer exactly as written.
    """
    directory = Path(directory)
    tokenizer = tokenizer if tokenizer is not None else build_hf_tokenizer(model)
    tokenizer.save(str(directory / TOKENIZER_JSON))
    specials = _config(model)
    flags = {"add_bos_token": "bos_token" in specials, "add_eos_token": False}
    config = {
        # TokenizersBackend takes tokenizer.json as is; LlamaTokenizer would rebuild Metaspace.
        "tokenizer_class": "TokenizersBackend",
        **specials,
        **flags,
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1_000_000_000_000_000_019_884_624_838_656,
        "sp_model_kwargs": {},
    }
    _write_json(directory / TOKENIZER_CONFIG, config)
    _write_json(directory / SPECIAL_TOKENS_MAP, {**specials, **flags})
    return [directory / TOKENIZER_JSON, directory / TOKENIZER_CONFIG, directory / SPECIAL_TOKENS_MAP]


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
