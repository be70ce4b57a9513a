"""The SentencePiece path on Mistral's v3 model (LLaMA-like, 32,768 pieces, 20 user-defined
``[REFERENCE_DOC_k]`` pieces that sentencepiece cuts out of the text before BPE): the export
matches sentencepiece, and ``extend-llama`` → ``transformers`` → ``resize-embeddings`` works."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokkit.llama.hf_export import build_hf_tokenizer, unbuilt_pieces, user_defined
from tokkit.llama.spm_io import ModelProto, processor, read_model

REFERENCES = ["[REFERENCE_DOC_1]", "a[REFERENCE_DOC_1]b", " [REFERENCE_DOC_10] x", "[REFERENCE_DOC_1",
              "x [REFERENCE_DOC_19][REFERENCE_DOC_0]y z", "中国[REFERENCE_DOC_2]人民", "[INST] hi [/INST]",
              "<s> </s> <unk>", "  two  spaces [REFERENCE_DOC_3]  ", "[REFERENCE_DOC_1]<0x41>x", "[REFERENCE_DOC_1] <s>", ""]


@pytest.fixture(scope="module")
def v3(mistral_v3_model: Path) -> ModelProto:
    return read_model(mistral_v3_model)


@pytest.fixture(scope="module")
def v3_zh(mistral_v3_model: Path, zh_model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokkit.llama.recipe import extend_llama

    out = tmp_path_factory.mktemp("v3") / "mistral-zh"
    extend_llama(mistral_v3_model, out, zh_model=zh_model_file)
    return out


def test_v3_has_user_defined_pieces_and_every_piece_is_built_by_bpe(v3: ModelProto) -> None:
    assert len(v3.pieces) == 32768
    assert len(user_defined(v3)) == 20
    assert unbuilt_pieces(v3) == []


def test_export_matches_sentencepiece(v3: ModelProto, zh_lines: list[str], en_lines: list[str]) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    hf, sp = build_hf_tokenizer(v3), processor(v3)
    lines = zh_lines[:2000] + en_lines[:2000] + REFERENCES
    assert [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)] == sp.encode(lines)
    parts = st.sampled_from(["[REFERENCE_DOC_1]", "[REFERENCE_DOC_12]", "[REFERENCE_DOC_", " ", "中", "ab"])

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(parts | st.text(max_size=4), max_size=8).map("".join))
    def check(text: str) -> None:
        assert hf.encode(text, add_special_tokens=False).ids == sp.encode(text)

    check()


def test_known_exception_a_symbol_followed_by_exactly_a_byte_piece(v3: ModelProto) -> None:
    """Documented in tokkit.llama.hf_export: the stretch after a symbol is a whole piece there."""
    hf, sp = build_hf_tokenizer(v3), processor(v3)
    text = "[REFERENCE_DOC_1]<0x41>"
    assert v3.pieces[836].piece == "<0x41>"
    assert hf.encode(text, add_special_tokens=False).ids == [29473, 769, 836]
    assert sp.encode(text)[:2] == [29473, 769] and 836 not in sp.encode(text)


def test_extend_llama_on_v3_keeps_the_base_and_transformers_agrees(
        v3: ModelProto, v3_zh: Path, zh_lines: list[str], en_lines: list[str]) -> None:
    from transformers import AutoTokenizer

    extended = read_model(v3_zh)
    assert len(extended.pieces) > len(v3.pieces)
    assert [(p.piece, p.type, p.score) for p in extended.pieces[:32768]] == \
        [(p.piece, p.type, p.score) for p in v3.pieces]
    sp, base = processor(extended), processor(v3)
    lines = zh_lines[:1500] + en_lines[:1500] + REFERENCES
    want = sp.encode(lines)
    tok = AutoTokenizer.from_pretrained(v3_zh)
    assert tok(lines, add_special_tokens=False)["input_ids"] == want
    assert tok("[REFERENCE_DOC_4] 中国")["input_ids"] == [1, *sp.encode("[REFERENCE_DOC_4] 中国")]
    assert base.encode(en_lines[:1500]) == want[1500:3000]  # English unchanged
    zh_before = sum(map(len, base.encode(zh_lines[:1500])))
    assert sum(map(len, want[:1500])) < 0.8 * zh_before


def test_resize_embeddings_on_v3(v3_zh: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from tokkit.llama.resize import ResizeConfig, resize_embeddings
    from tokkit.llama.tiny import build_tiny_llama

    tiny = build_tiny_llama(tmp_path / "tiny", vocab_size=32768, hidden_size=16, num_layers=1)
    report = resize_embeddings(tiny, v3_zh, tmp_path / "resized", config=ResizeConfig(init="subword-mean"))
    size = len(read_model(v3_zh).pieces)
    assert (report.base_rows, report.new_rows) == (32768, size)
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "resized")
    assert model.get_input_embeddings().weight.shape[0] == size
