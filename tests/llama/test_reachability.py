"""Every appended multi-character piece must be producible by sentencepiece's BPE."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tokkit.llama.extend import ExtendConfig, extend_model
from tokkit.llama.spm_io import ModelProto, new_model, processor


def _alone(model: ModelProto, text: str) -> list[str]:
    copy = new_model()
    copy.CopyFrom(model)
    copy.normalizer_spec.add_dummy_prefix = False
    return list(processor(copy).encode(text, out_type=str))


def test_golden_intermediate_for_a_piece_the_base_merge_splits(toy_bpe: Callable[..., ModelProto]) -> None:
    # Base merges b+c first; "abcd" then sits as a|bc|d and neither "abc" nor "bcd" exists.
    base = toy_bpe([("bc", -1.0), ("a", -2.0), ("b", -3.0), ("c", -4.0), ("d", -5.0)])
    zh = toy_bpe([("ab", 0.0), ("cd", -1.0), ("abcd", -2.0), ("a", -3.0), ("b", -4.0), ("c", -5.0), ("d", -6.0)])
    naive = extend_model(base, zh, ExtendConfig(add_intermediates=False))
    assert naive.unreachable_before_repair == 1 and naive.dropped_unreachable == ["abcd"]
    assert [p.piece for p in naive.model.pieces[8:]] == ["ab", "cd"]

    fixed = extend_model(base, zh, ExtendConfig())
    assert fixed.intermediates == ["abc"]
    assert [p.piece for p in fixed.model.pieces[8:]] == ["ab", "cd", "abc", "abcd"]
    assert [p.score for p in fixed.model.pieces[8:]] == [-6.0, -7.0, -8.0, -9.0]
    assert _alone(fixed.model, "abcd") == ["abcd"]
    assert _alone(naive.model, "abcd") == ["a", "bc", "d"]


def test_real_llama_chinese_llama_examples_become_reachable(base: ModelProto, toy_bpe: Callable[..., ModelProto]) -> None:
    # A Chinese model holding only the long pieces: LLaMA alone cannot build them.
    words = ["中华人民共和国", "越来越"]
    zh = toy_bpe([(w, -float(i)) for i, w in enumerate(words)], base)
    for policy in ("below-base", "zero"):
        result = extend_model(base, zh, ExtendConfig(score_policy=policy))  # type: ignore[arg-type]
        assert result.unreachable_before_repair == 2
        assert not result.dropped_unreachable
        assert set(result.intermediates) >= {"中华", "越来"}
        sp = processor(result.model)
        for word in words:
            assert _alone(result.model, word) == [word]
            assert word in sp.encode(f"我们{word}好", out_type=str)
        dropped = extend_model(base, zh, ExtendConfig(score_policy=policy, add_intermediates=False))  # type: ignore[arg-type]
        assert sorted(dropped.dropped_unreachable) == sorted(words)
        assert len(dropped.model.pieces) == 32000


def test_every_appended_piece_of_a_unigram_model_is_reachable_after_repair(base: ModelProto, toy_bpe: Callable[..., ModelProto]) -> None:
    # Unigram pieces are not closed under BPE splits: many are unreachable until repaired.
    pieces = ["中国人民", "人民共和国", "不知道", "越来越多", "天下大势", "分久必合", "合久必分"]
    zh = toy_bpe([(w, -float(i)) for i, w in enumerate(pieces)], base)
    zh.trainer_spec.model_type = zh.trainer_spec.UNIGRAM
    result = extend_model(base, zh, ExtendConfig(only_cjk=True))
    assert result.unreachable_before_repair >= 5
    appended = [p.piece for p in result.model.pieces[32000:]]
    assert all(_alone(result.model, p) == [p] for p in appended if len(p) > 1)
    assert set(pieces) <= set(appended)


@pytest.mark.parametrize("policy", ["below-base", "above-base", "zero"])
def test_quick_chinese_model_pieces_are_all_reachable(policy: str, base: ModelProto, zh: ModelProto) -> None:
    result = extend_model(base, zh, ExtendConfig(score_policy=policy))  # type: ignore[arg-type]
    multi = [p.piece for p in result.model.pieces[32000:] if len(p.piece) > 1]
    copy = new_model()
    copy.CopyFrom(result.model)
    copy.normalizer_spec.add_dummy_prefix = False
    encoded = processor(copy).encode(multi, out_type=str)
    assert [list(e) for e in encoded] == [[p] for p in multi]
    assert not result.dropped_unreachable
