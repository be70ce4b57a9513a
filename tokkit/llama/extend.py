"""Merge a Chinese sentencepiece model's pieces into LLaMA's ``ModelProto``.

Base pieces keep their ids, types and scores exactly, so every id a LLaMA checkpoint knows still
means the same thing. New pieces (Chinese-model pieces the base lacks, in the Chinese model's
order: score descending, then id) are appended as ``NORMAL`` pieces with scores set by the
score policy (see ``docs/extend-llama.md``):

``below-base`` (default)
    every new piece scores below the lowest regular base score, in the Chinese model's order
    (``floor − 1``, ``floor − 2``, …). Base merges always run first, so text the base already
    segments well keeps its segmentation, and the new pieces then merge in the order the Chinese
    model learnt them. The scores are distinct integers, exact in float32, so the ``transformers``
    tokenizer (a ranked merge list) reproduces sentencepiece exactly. LLaMA's whitespace-only
    pieces sit at −1e9 as a last resort; the floor ignores them (−1e9 − k is not distinct in
    float32: the spacing there is 64).
``above-base``
    the same order, ranked above every base merge: the original recipe's intent with distinct scores.
``zero``
    the original Chinese-LLaMA recipe: every new piece scores 0, above all base merges, and
    sentencepiece breaks the many ties by position; a ranked merge list cannot, so ~18% of
    Chinese lines encode differently in ``transformers``. For reproduction only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tokkit.corpus.cjk import has_cjk
from tokkit.errors import InputError, TokkitError
from tokkit.llama.hf_export import MERGEABLE, NORMAL
from tokkit.llama.reachability import Encoder, repair
from tokkit.llama.spm_io import ModelProto, new_model, processor

ScorePolicy = Literal["below-base", "above-base", "zero"]
SCORE_POLICIES: tuple[str, ...] = ("below-base", "above-base", "zero")
LAST_RESORT_SCORE = -1e8
"""Base scores at or below this are last-resort merges (LLaMA's whitespace runs at −1e9)."""


@dataclass(frozen=True, kw_only=True)
class ExtendConfig:
    """How pieces are merged (saved in ``tokkit.json``)."""

    score_policy: ScorePolicy = "below-base"
    only_cjk: bool = False
    add_intermediates: bool = True
    max_repair_rounds: int = 8

    def __post_init__(self) -> None:
        if self.score_policy not in SCORE_POLICIES:
            raise InputError(
                f"unknown score policy '{self.score_policy}'; use one of {', '.join(SCORE_POLICIES)}"
            )
        if self.max_repair_rounds < 0:
            raise InputError("max_repair_rounds must be >= 0")


@dataclass
class ExtendResult:
    """The merged model and an account of every piece that was or was not appended."""

    model: ModelProto
    base_size: int
    appended: list[str]
    origin: dict[str, str]
    intermediates: list[str] = field(default_factory=list)
    dropped_unreachable: list[str] = field(default_factory=list)
    dropped_chars: list[str] = field(default_factory=list)
    unreachable_before_repair: int = 0
    repair_rounds: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    config: ExtendConfig = field(default_factory=ExtendConfig)

    @property
    def vocab_size(self) -> int:
        return len(self.model.pieces)

    def summary(self) -> dict[str, Any]:
        return {
            "base_pieces": self.base_size,
            "vocab_size": self.vocab_size,
            "appended": len(self.appended),
            "appended_from_zh": sum(1 for p in self.appended if self.origin[p] == "zh"),
            "intermediates": len(self.intermediates),
            "unreachable_before_repair": self.unreachable_before_repair,
            "repair_rounds": self.repair_rounds,
            "dropped_unreachable": self.dropped_unreachable,
            "dropped_missing_char": len(self.dropped_chars),
            "skipped": self.skipped,
            "config": asdict(self.config),
        }


def _float32(x: float) -> float:
    import numpy as np

    return float(np.float32(x))


def policy_scores(base: ModelProto, count: int, policy: ScorePolicy) -> list[float]:
    """Scores for ``count`` appended pieces, best first, exact and distinct in float32."""
    if policy == "zero":
        return [0.0] * count
    regular = [p.score for p in base.pieces if p.type in MERGEABLE and p.score > LAST_RESORT_SCORE]
    if not regular:
        raise InputError("the base model has no regular pieces to rank new pieces against")
    if policy == "below-base":
        start = min(regular)
        scores = [_float32(start - (k + 1)) for k in range(count)]
    else:
        start = max(regular)
        scores = [_float32(start + (count - k)) for k in range(count)]
    beyond = all(x < start for x in scores) if policy == "below-base" else all(x > start for x in scores)
    if len(set(scores)) != count or not beyond:
        raise TokkitError(
            f"cannot give {count} new pieces distinct float32 scores next to base score {start}; "
            "use `score_policy='zero'`"
        )
    return scores


def _assemble(base: ModelProto, order: Sequence[str], policy: ScorePolicy) -> ModelProto:

    model = new_model()
    model.CopyFrom(base)
    for piece, score in zip(order, policy_scores(base, len(order), policy), strict=True):
        new = model.pieces.add()
        new.piece = piece
        new.score = score
        new.type = NORMAL
    model.trainer_spec.vocab_size = len(model.pieces)
    return model


def _encoder(base: ModelProto, policy: ScorePolicy) -> Encoder:
    """Encode texts with the merged model (new pieces in ``order``), without a dummy prefix."""

    def encode(order: list[str], texts: Sequence[str]) -> list[list[str]]:
        model = _assemble(base, order, policy)
        model.normalizer_spec.add_dummy_prefix = False
        return [list(p) for p in processor(model).encode(list(texts), out_type=str)]

    return encode


def zh_candidates(zh: ModelProto) -> list[str]:
    """The Chinese model's normal pieces, best first (score descending, then id)."""
    ranked = sorted(
        (-p.score, i, p.piece) for i, p in enumerate(zh.pieces) if p.type == NORMAL
    )
    return [piece for *_, piece in ranked]


def extend_model(base: ModelProto, zh: ModelProto, config: ExtendConfig | None = None) -> ExtendResult:
    """Append ``zh``'s new pieces to ``base``; every appended multi-character piece is reachable."""
    config = config or ExtendConfig()
    if base.trainer_spec.model_type != base.trainer_spec.BPE:
        raise InputError("the base model is not BPE; extend-llama merges into a BPE model like LLaMA's")
    known = {p.piece for p in base.pieces}
    skipped = {"overlap": 0, "non_cjk": 0, "special": 0}
    skipped["special"] = sum(1 for p in zh.pieces if p.type != NORMAL)
    order: list[str] = []
    for piece in zh_candidates(zh):
        if piece in known:
            skipped["overlap"] += 1
        elif config.only_cjk and not has_cjk(piece):
            skipped["non_cjk"] += 1
        else:
            order.append(piece)
    origin = dict.fromkeys(order, "zh")
    # BPE starts from characters: each one a new piece uses must be in the vocabulary.
    present = known | set(order)
    chars: list[str] = []
    dropped_chars: list[str] = []
    for piece in order:
        missing = [c for c in dict.fromkeys(piece) if c not in present]
        if config.only_cjk and any(not has_cjk(c) for c in missing):
            dropped_chars.append(piece)
            continue
        chars.extend(missing)
        present.update(missing)
    order = [p for p in order if p not in set(dropped_chars)] + chars
    origin.update(dict.fromkeys(chars, "intermediate"))
    allowed = has_cjk if config.only_cjk else (lambda piece: True)
    fixed = repair(
        order,
        _encoder(base, config.score_policy),
        known=known,
        allowed=allowed,
        add_intermediates=config.add_intermediates,
        max_rounds=config.max_repair_rounds,
    )
    origin.update(dict.fromkeys(fixed.intermediates, "intermediate"))
    model = _assemble(base, fixed.pieces, config.score_policy)
    result = ExtendResult(
        model=model,
        base_size=len(base.pieces),
        appended=fixed.pieces,
        origin={p: origin[p] for p in fixed.pieces},
        intermediates=chars + fixed.intermediates,
        dropped_unreachable=fixed.dropped,
        dropped_chars=dropped_chars,
        unreachable_before_repair=fixed.unreachable_before,
        repair_rounds=fixed.rounds,
        skipped=skipped,
        config=config,
    )
    check_base_unchanged(base, model)
    return result


def check_base_unchanged(base: ModelProto, merged: ModelProto) -> None:
    """Raise unless ids ``0 … len(base)-1`` keep their piece, score and type exactly."""
    if len(merged.pieces) < len(base.pieces):
        raise TokkitError("the merged model lost base pieces; this is a bug in tokkit")
    for i, (a, b) in enumerate(zip(base.pieces, merged.pieces, strict=False)):
        if (a.piece, a.score, a.type) != (b.piece, b.score, b.type):
            raise TokkitError(f"base id {i} ({a.piece!r}) changed in the merged model; this is a bug in tokkit")
