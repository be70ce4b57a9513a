"""The exported transformers tokenizer must give sentencepiece's ids on every held-out line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokkit.llama.compare import hf_mismatches
from tokkit.llama.extend import ExtendConfig, ExtendResult, extend_model
from tokkit.llama.hf_export import bpe_merges, build_hf_tokenizer, score_ties, write_hf_tokenizer
from tokkit.llama.spm_io import ModelProto, processor

TRICKY = ["", " ", "  leading spaces", "trailing  ", "a\tb\nc", "x" * 5000, "emoji 🦙 and 中文 混合 text",
          "数字 12345 和 3.14", "a <s literal", "▁ already escaped", "\u3000全角空格", "a" + " " * 40 + "b"]


@pytest.fixture(scope="module")
def hf_dir(extended: ExtendResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hf")
    write_hf_tokenizer(extended.model, directory)
    (directory / "tokenizer.model").write_bytes(extended.model.SerializeToString())
    return directory


def test_unmodified_llama_matches_sentencepiece_on_every_line(
    base: ModelProto, zh_lines: list[str], en_lines: list[str]
) -> None:
    hf, sp = build_hf_tokenizer(base), processor(base)
    for lines in (zh_lines, en_lines, TRICKY):
        assert hf_mismatches(hf, sp.encode(lines), lines) == 0


def test_literal_special_tokens_are_text_as_in_sentencepiece(base: ModelProto) -> None:
    # sentencepiece never makes a control piece from input: "<s>" typed in text is "▁<", "s", ">".
    hf, sp = build_hf_tokenizer(base), processor(base)
    for text in ("<s> x", "a</s>b", "<unk>", " <unk> <s></s>", "<s><s>"):
        assert hf.encode(text, add_special_tokens=False).ids == sp.encode(text)
    assert sp.encode("<s> x", out_type=str)[:3] == ["▁<", "s", ">"]
    assert hf.encode("x", add_special_tokens=True).ids == [1, *sp.encode("x")]


def test_merges_are_ranked_by_score_not_id(base: ModelProto) -> None:
    merges = bpe_merges(base)
    rank = {pair: i for i, pair in enumerate(merges)}
    assert merges[0] == ("▁", "t")  # score -1, the best merge
    assert rank[("▁", "▁")] > rank[("e", "r")]  # ▁▁ is id 259 but scores -1e9: last
    assert len(merges) > 31000


def test_transformers_loads_the_dir_as_written_and_matches_on_every_line(
    hf_dir: Path, extended: ExtendResult, zh_lines: list[str], en_lines: list[str]
) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(hf_dir)
    assert len(tok) == extended.vocab_size
    assert type(tok.backend_tokenizer.pre_tokenizer).__name__ == "NoneType"
    sp = processor(extended.model)
    for lines in (zh_lines, en_lines, TRICKY):
        got = tok(lines, add_special_tokens=False)["input_ids"]
        want = [list(ids) for ids in sp.encode(lines)]
        bad = [line for line, g, w in zip(lines, got, want, strict=True) if g != w]
        assert not bad, bad[:3]
    ids = tok("中华文明")["input_ids"]
    assert ids[0] == 1 and ids[1:] == sp.encode("中华文明")  # LLaMA's BOS, like the original
    assert tok.decode(ids, skip_special_tokens=True) == "中华文明"
    assert tok.decode(tok("  two spaces")["input_ids"], skip_special_tokens=True) == "  two spaces"


def test_zero_policy_ties_are_the_known_exception(base: ModelProto, zh: ModelProto, zh_lines: list[str]) -> None:
    zero = extend_model(base, zh, ExtendConfig(score_policy="zero"))
    assert score_ties(zero.model)[0.0] > 1000
    sample = zh_lines[:3000]
    bad = hf_mismatches(build_hf_tokenizer(zero.model), processor(zero.model).encode(sample), sample)
    assert 0.05 < bad / len(sample) < 0.4  # ~18%: sentencepiece breaks ties by position, a merge list cannot


def test_non_bpe_model_is_refused(zh: ModelProto) -> None:
    from tokkit.errors import InputError
    from tokkit.llama.spm_io import new_model

    unigram = new_model()
    unigram.CopyFrom(zh)
    unigram.trainer_spec.model_type = unigram.trainer_spec.UNIGRAM
    with pytest.raises(InputError, match="BPE"):
        build_hf_tokenizer(unigram)


SPECIAL_LITERALS = ("<s>", "</s>", "<unk>")


def test_parity_on_arbitrary_text(extended: ExtendResult) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    hf, sp = build_hf_tokenizer(extended.model), processor(extended.model)
    alphabet = st.sampled_from("中华人民共和国越来越的了是 ▁\t\nab1.，。🦙") | st.characters(exclude_categories=("Cs",))  # lone surrogates are not text
    pieces = st.sampled_from(SPECIAL_LITERALS) | st.text(alphabet=alphabet, max_size=8)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(pieces, max_size=8).map("".join))
    def check(text: str) -> None:
        assert hf.encode(text, add_special_tokens=False).ids == sp.encode(text)

    check()


def test_user_defined_pieces_are_cut_out_like_sentencepiece(base: ModelProto) -> None:
    from tokkit.llama.spm_io import new_model

    model = new_model()
    model.CopyFrom(base)
    for name in ("<|im_start|>", "<|im"):
        piece = model.pieces.add()
        piece.piece, piece.type = name, 4
    hf, sp = build_hf_tokenizer(model), processor(model)
    for text in ("<|im_start|>", "a<|im_start|>b", " <|im_start|> x", "<|im<|im_start|>中文", "x <|im", "<|i"):
        assert hf.encode(text, add_special_tokens=False).ids == sp.encode(text), text


def test_user_defined_pieces_with_spaces_are_refused(base: ModelProto) -> None:
    from tokkit.errors import InputError
    from tokkit.llama.spm_io import new_model

    model = new_model()
    model.CopyFrom(base)
    piece = model.pieces.add()
    piece.piece, piece.type = "▁<|im_start|>", 4
    with pytest.raises(InputError, match="user-defined piece holding a space"):
        build_hf_tokenizer(model)
