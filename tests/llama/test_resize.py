"""Resizing a tiny real LlamaForCausalLM to the extended vocabulary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tokkit.errors import InputError, MissingDependencyError, OutputExistsError
from tokkit.llama.resize import ResizeConfig, base_tokenizer, resize_embeddings
from tokkit.llama.spm_io import processor, read_model
from tokkit.llama.tiny import build_tiny_llama

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "m", vocab_size=32000)


@pytest.fixture(scope="module")
def tiny_tied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "t", vocab_size=32000, tie=True)


def _weights(directory: Path) -> dict[str, object]:
    return safetensors_torch.load_file(str(directory / "model.safetensors"))


@pytest.mark.parametrize(
    ("head", "init"),
    [("untied", "subword-mean"), ("untied", "mean"), ("untied", "random"), ("tied", "subword-mean")],
)
def test_base_rows_stay_bit_identical_and_new_rows_follow_the_init(
    head: str, init: str, tiny: Path, tiny_tied: Path, extended_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    tiny = tiny_tied if head == "tied" else tiny

    out = tmp_path / "resized"
    report = resize_embeddings(tiny, extended_dir, out, config=ResizeConfig(init=init, pad_to_multiple_of=64))  # type: ignore[arg-type]
    extended = read_model(extended_dir)
    size = len(extended.pieces)
    assert report.base_rows == 32000 and report.tokenizer_size == size
    assert report.new_rows == -(-size // 64) * 64 and report.new_rows % 64 == 0

    before, after = _weights(tiny), _weights(out)
    tied = "lm_head.weight" not in before
    assert tied == (head == "tied")
    assert report.tied == tied and ("lm_head.weight" not in after) == tied
    keys = ["model.embed_tokens.weight"] + ([] if tied else ["lm_head.weight"])
    for key in keys:
        old, new = before[key], after[key]
        assert new.shape == (report.new_rows, 64)
        assert torch.equal(new[:32000], old)  # bit-identical
        mean = old.mean(dim=0)
        if init == "mean":
            assert torch.allclose(new[32000:], mean.expand(report.new_rows - 32000, 64))
        elif init == "random":
            assert 0.015 < float(new[32000:].std()) < 0.025
            assert not torch.allclose(new[32000], mean, atol=1e-3)
        else:
            sp = processor(base_tokenizer(extended, 32000))
            for token in (32000, 32001, size - 1):
                ids = sp.encode(extended.pieces[token].piece)
                assert ids and max(ids) < 32000
                assert torch.allclose(new[token], old[ids].mean(dim=0), atol=1e-6)
            assert torch.allclose(new[size:], mean.expand(report.new_rows - size, 64))  # padding rows

    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.vocab_size == report.new_rows
    assert model.config.tie_word_embeddings == tied
    original = AutoModelForCausalLM.from_pretrained(tiny)
    ids = torch.tensor([processor(base_tokenizer(extended, 32000)).encode("▁The▁Emperor▁of▁China")])
    with torch.no_grad():
        assert torch.equal(model(ids).logits[..., :32000], original(ids).logits)


def test_output_holds_a_loadable_tokenizer(tiny: Path, extended_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from tokkit.load import load_tokenizer

    out = tmp_path / "resized"
    resize_embeddings(tiny, extended_dir, out, config=ResizeConfig(init="mean"))
    tok = AutoTokenizer.from_pretrained(out)
    sp = processor(read_model(extended_dir))
    assert tok("资治通鉴", add_special_tokens=False)["input_ids"] == sp.encode("资治通鉴")
    assert load_tokenizer(out).encode("资治通鉴") == sp.encode("资治通鉴")


def test_bad_input(tiny: Path, extended_dir: Path, tmp_path: Path) -> None:
    small = build_tiny_llama(tmp_path / "small", vocab_size=1000)
    with pytest.raises(InputError, match="vocab mismatch"):
        resize_embeddings(small, extended_dir, tmp_path / "x")
    with pytest.raises(InputError, match=r"no config\.json"):
        resize_embeddings(tmp_path, extended_dir, tmp_path / "x")
    with pytest.raises(InputError, match=r"no tokenizer\.model"):
        resize_embeddings(tiny, tmp_path, tmp_path / "x")
    with pytest.raises(InputError, match="pad_to_multiple_of"):
        ResizeConfig(pad_to_multiple_of=0)
    with pytest.raises(InputError, match="unknown init"):
        ResizeConfig(init="zeros")  # type: ignore[arg-type]
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        resize_embeddings(tiny, extended_dir, existing, config=ResizeConfig(init="mean"))
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_tiny_llama_is_deterministic_and_validated(tmp_path: Path) -> None:
    a = build_tiny_llama(tmp_path / "a", vocab_size=300, seed=3)
    b = build_tiny_llama(tmp_path / "b", vocab_size=300, seed=3)
    c = build_tiny_llama(tmp_path / "c", vocab_size=300, seed=4)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()
    with pytest.raises(OutputExistsError):
        build_tiny_llama(a, vocab_size=300)
    with pytest.raises(InputError, match="heads"):
        build_tiny_llama(tmp_path / "d", vocab_size=300, hidden_size=30)


def test_missing_torch_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"tokkit\[cpt\]"):
        build_tiny_llama(tmp_path / "t", vocab_size=300)


def test_force_never_replaces_the_model_or_the_tokenizer(tiny: Path, extended_dir: Path) -> None:
    """`resize-embeddings m tok -o m --force` would have replaced the model it reads (issue 12.2)."""
    before = {p.name: p.read_bytes() for p in tiny.iterdir()}
    for output in (tiny, extended_dir, tiny / "resized", tiny.parent):
        with pytest.raises(InputError, match="outside every input"):
            resize_embeddings(tiny, extended_dir, output, force=True)
    assert {p.name: p.read_bytes() for p in tiny.iterdir()} == before
