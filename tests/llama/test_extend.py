"""Merging Chinese pieces into the real LLaMA model: ids, scores, order, compression, English."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tokkit.corpus.cjk import han_count, has_cjk
from tokkit.errors import InputError, TokkitError
from tokkit.llama.extend import (
    LAST_RESORT_SCORE,
    ExtendConfig,
    ExtendResult,
    check_base_unchanged,
    extend_model,
    policy_scores,
    zh_candidates,
)
from tokkit.llama.spm_io import ModelProto, processor


def test_base_ids_types_and_scores_are_unchanged(base: ModelProto, extended: ExtendResult) -> None:
    assert len(base.pieces) == 32000
    merged = extended.model
    for i in range(32000):
        a, b = base.pieces[i], merged.pieces[i]
        assert (a.piece, a.score, a.type) == (b.piece, b.score, b.type), i
    assert merged.normalizer_spec == base.normalizer_spec
    sp_base, sp_merged = processor(base), processor(merged)
    for i in (0, 1, 2, 3, 259, 29871, 31999):
        assert sp_base.id_to_piece(i) == sp_merged.id_to_piece(i)


def test_appends_exactly_the_non_overlapping_zh_pieces_in_zh_order(
    base: ModelProto, zh: ModelProto, extended: ExtendResult
) -> None:
    known = {p.piece for p in base.pieces}
    expected = [p for p in zh_candidates(zh) if p not in known]
    appended = [p.piece for p in extended.model.pieces[32000:]]
    from_zh = [p for p in appended if extended.origin[p] == "zh"]
    assert from_zh == expected  # deterministic order: the Chinese model's score order
    assert len(appended) == len(set(appended)) == len(expected) + len(extended.intermediates)
    assert not known & set(appended)
    assert extended.skipped["overlap"] == sum(1 for p in zh_candidates(zh) if p in known) > 500
    assert extended.vocab_size == 32000 + len(appended)
    assert all(p.type == 1 for p in extended.model.pieces[32000:])


def test_default_scores_sit_below_every_regular_base_score_distinct_in_float32(
    base: ModelProto, extended: ExtendResult
) -> None:
    floor = min(p.score for p in base.pieces if p.type == 1 and p.score > LAST_RESORT_SCORE)
    assert floor == -31740.0  # LLaMA's last regular piece; its whitespace runs sit at -1e9
    scores = np.array([p.score for p in extended.model.pieces[32000:]], dtype=np.float32)
    assert scores[0] == floor - 1 and np.all(np.diff(scores) == -1)
    assert len(np.unique(scores)) == len(scores)


def test_tokens_per_han_char_drop_by_at_least_45_percent(
    base: ModelProto, extended: ExtendResult, zh_lines: list[str]
) -> None:
    han = sum(map(han_count, zh_lines))
    before = sum(map(len, processor(base).encode(zh_lines))) / han
    after = sum(map(len, processor(extended.model).encode(zh_lines))) / han
    assert before == pytest.approx(1.856, abs=0.01)
    assert after <= before * 0.55, (before, after)


def test_only_cjk_keeps_english_identical_on_every_held_out_line(
    base: ModelProto, zh: ModelProto, en_lines: list[str]
) -> None:
    result = extend_model(base, zh, ExtendConfig(only_cjk=True))
    assert all(has_cjk(p.piece) for p in result.model.pieces[32000:])
    before = processor(base).encode(en_lines)
    after = processor(result.model).encode(en_lines)
    assert before == after
    known = {p.piece for p in base.pieces}
    non_cjk = [p for p in zh_candidates(zh) if p not in known and not has_cjk(p)]
    assert result.skipped["non_cjk"] == len(non_cjk) > 0  # Latin pieces of the zh model, left out


@pytest.mark.parametrize("policy", ["above-base", "zero"])
def test_other_score_policies(policy: str, base: ModelProto, zh: ModelProto, extended: ExtendResult) -> None:
    result = extend_model(base, zh, ExtendConfig(score_policy=policy))  # type: ignore[arg-type]
    check_base_unchanged(base, result.model)
    assert [p.piece for p in result.model.pieces] == [p.piece for p in extended.model.pieces]
    scores = [p.score for p in result.model.pieces[32000:]]
    if policy == "zero":
        assert set(scores) == {0.0}
    else:
        top = max(p.score for p in base.pieces if p.type == 1)
        assert min(scores) > top and len(set(scores)) == len(scores)
        assert scores == sorted(scores, reverse=True)


def test_policy_scores_refuse_to_collide_in_float32(toy_bpe: Callable[..., ModelProto]) -> None:
    base = toy_bpe([("a", -1.0), ("b", -5e7)])  # float32 spacing at 5e7 is 4
    with pytest.raises(TokkitError, match="distinct float32"):
        policy_scores(base, 10, "below-base")
    assert policy_scores(base, 3, "zero") == [0.0, 0.0, 0.0]


def test_bad_config_and_non_bpe_base(toy_bpe: Callable[..., ModelProto]) -> None:
    with pytest.raises(InputError, match="score policy"):
        ExtendConfig(score_policy="best")  # type: ignore[arg-type]
    unigram = toy_bpe([("a", -1.0)])
    unigram.trainer_spec.model_type = unigram.trainer_spec.UNIGRAM
    with pytest.raises(InputError, match="not BPE"):
        extend_model(unigram, unigram)
