"""Resizing a tiny Llama-architecture checkpoint to a byte-level extension, padded matrices included.

The base is a small ranked byte-level vocabulary laid out like Llama 3 (256 byte tokens, then
specials right after them); the model's matrix is padded beyond it like Qwen's, so some new tokens
land on padding rows and the rest grow the matrix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tokkit.errors import InputError
from tokkit.llama.bytelevel_extend import extend_bytelevel
from tokkit.llama.bytelevel_io import LLAMA3_PATTERN, ByteLevelVocab, read_bytelevel
from tokkit.llama.bytelevel_write import write_transformers_dir
from tokkit.llama.resize import ResizeConfig, resize_embeddings
from tokkit.llama.tiny import build_tiny_llama
from tokkit.train.bpe_continue import ContinueConfig

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

TEXT = ["天下大势，分久必合，合久必分。", "周末七国分争，并入于秦。", "及秦灭之后，楚、汉分争，又并入于汉。",
        "汉朝自高祖斩白蛇而起义，一统天下。"]
CHARACTERS = sorted({ch for line in TEXT for ch in line})


def _base_ranks() -> dict[bytes, int]:
    """256 bytes, then each character's first two bytes and the whole character (whole
    characters must be base tokens: new tokens may not hold a partial one)."""
    tokens = [bytes([b]) for b in range(256)]
    tokens += sorted({ch.encode()[:2] for ch in CHARACTERS}) + [ch.encode() for ch in CHARACTERS]
    return {token: id for id, token in enumerate(tokens)}


RANKS = _base_ranks()
REGULAR = len(RANKS)
SPECIALS = {name: REGULAR + k for k, name in enumerate(["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"])}
BASE_IDS = REGULAR + len(SPECIALS)
PADDED_ROWS = BASE_IDS + 20
ADD = 30


@pytest.fixture(scope="module")
def extended_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bl")
    base = ByteLevelVocab(ranks=dict(RANKS), pattern=LLAMA3_PATTERN,
                          special_tokens=dict(SPECIALS), name="tiny")
    (root / "base").mkdir()
    write_transformers_dir(base, root / "base")
    corpus = root / "zh.txt"
    corpus.write_text("\n".join(TEXT * 20) + "\n", encoding="utf-8")
    run = extend_bytelevel(root / "base", root / "ext", zh_corpus=[corpus], config=ContinueConfig(add=ADD),
                           workers=1)
    assert len(run.extension.new_ids) == ADD
    return root / "ext"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {"untied": build_tiny_llama(root / "u", vocab_size=PADDED_ROWS),
            "tied": build_tiny_llama(root / "t", vocab_size=PADDED_ROWS, tie=True)}


def _weights(directory: Path) -> dict[str, object]:
    return safetensors_torch.load_file(str(directory / "model.safetensors"))


@pytest.mark.parametrize(("head", "init"), [("untied", "mean"), ("untied", "subword-mean"),
                                            ("untied", "multivariate"), ("tied", "subword-mean")])
def test_new_tokens_take_padding_rows_then_grow_the_matrix(
    head: str, init: str, models: dict[str, Path], extended_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    vocab = read_bytelevel(extended_dir)
    assert vocab.next_id == BASE_IDS + ADD
    report = resize_embeddings(models[head], extended_dir, tmp_path / "out", config=ResizeConfig(init=init))  # type: ignore[arg-type]
    assert report.base_rows == PADDED_ROWS and report.tokenizer_size == BASE_IDS + ADD
    assert report.padding_taken == PADDED_ROWS - BASE_IDS  # the first 20 new ids were padding rows
    assert report.initialised == ADD and report.new_rows == BASE_IDS + ADD  # the other 10 grew it
    before, after = _weights(models[head]), _weights(tmp_path / "out")
    keys = ["model.embed_tokens.weight"] + ([] if head == "tied" else ["lm_head.weight"])
    base_encoding = read_bytelevel(extended_dir.parent / "base").tiktoken_encoding()
    for key in keys:
        old, new = before[key], after[key]
        assert new.shape[0] == BASE_IDS + ADD
        assert torch.equal(new[:BASE_IDS], old[:BASE_IDS])  # bit-identical base rows
        mean = old[:BASE_IDS].mean(dim=0)  # base tokens only: padding rows are not statistics
        fresh = new[BASE_IDS:]
        if init == "mean":
            assert torch.allclose(fresh, mean.expand_as(fresh))
        elif init == "multivariate":
            assert torch.allclose(fresh, mean.expand_as(fresh), atol=1e-3)
            assert not torch.equal(fresh[0], fresh[1])  # sampled, not the bare mean
        else:
            for id in (BASE_IDS, BASE_IDS + 17, BASE_IDS + ADD - 1):
                token = next(t for t, i in vocab.ranks.items() if i == id)
                pieces = base_encoding.encode_ordinary(token.decode("utf-8"))
                assert len(pieces) > 1 and max(pieces) < REGULAR
                assert torch.allclose(new[id], old[pieces].mean(dim=0), atol=1e-6)
    original = AutoModelForCausalLM.from_pretrained(models[head])
    resized = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    ids = torch.tensor([base_encoding.encode_ordinary("The Emperor of China")])
    with torch.no_grad():
        assert torch.equal(resized(ids).logits[..., :BASE_IDS], original(ids).logits[..., :BASE_IDS])


def test_multivariate_is_seeded(models: dict[str, Path], extended_dir: Path, tmp_path: Path) -> None:
    runs = [resize_embeddings(models["untied"], extended_dir, tmp_path / f"r{seed}{k}",
                              config=ResizeConfig(init="multivariate", seed=seed)).output
            for seed, k in ((0, "a"), (0, "b"), (1, "a"))]
    rows = [_weights(r)["model.embed_tokens.weight"][BASE_IDS:] for r in runs]
    assert torch.equal(rows[0], rows[1]) and not torch.equal(rows[0], rows[2])


def test_output_loads_with_the_extended_tokenizer(models: dict[str, Path], extended_dir: Path,
                                                   tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from tokkit.load import load_tokenizer

    out = resize_embeddings(models["untied"], extended_dir, tmp_path / "out",
                            config=ResizeConfig(init="mean", pad_to_multiple_of=64)).output
    assert _weights(out)["model.embed_tokens.weight"].shape[0] == -(-(BASE_IDS + ADD) // 64) * 64
    expected = read_bytelevel(extended_dir).tiktoken_encoding().encode_ordinary(TEXT[0])
    assert AutoTokenizer.from_pretrained(out).encode(TEXT[0], add_special_tokens=False) == expected
    assert load_tokenizer(out).encode(TEXT[0]) == expected
    assert max(expected) >= BASE_IDS  # the new tokens are used


def test_a_model_smaller_than_the_base_is_refused(extended_dir: Path, tmp_path: Path) -> None:
    small = build_tiny_llama(tmp_path / "small", vocab_size=200)
    with pytest.raises(InputError, match=f"vocab mismatch.*{REGULAR} regular tokens.*200 embedding rows"):
        resize_embeddings(small, extended_dir, tmp_path / "x")
    assert not (tmp_path / "x").exists()


ENGLISH = ["The Emperor of China rode north.", "It was a dark and stormy night; the rain fell in torrents.",
           "Dracula's castle stood on the edge of a precipice.", "1234 5678, he said."]


def _english_loss(model_dir: Path, encode: object) -> float:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    total = 0.0
    with torch.no_grad():
        for line in ENGLISH:
            ids = torch.tensor([[SPECIALS["<|begin_of_text|>"], *encode(line)]])  # type: ignore[operator]
            total += float(model(input_ids=ids, labels=ids).loss)
    return total


@pytest.mark.parametrize("head", ["untied", "tied"])
def test_silent_head_keeps_the_english_loss(head: str, extended_dir: Path, tmp_path: Path) -> None:
    """Unpadded (a padded model's unused rows are in its softmax, and new tokens replace them)."""
    model = build_tiny_llama(tmp_path / "m", vocab_size=BASE_IDS, tie=head == "tied")
    encode = read_bytelevel(extended_dir).tiktoken_encoding().encode_ordinary
    assert all(max(encode(line)) < REGULAR for line in ENGLISH)  # English uses no new token
    base = _english_loss(model, encode)
    same = resize_embeddings(model, extended_dir, tmp_path / "same", config=ResizeConfig(init="mean"))
    report = resize_embeddings(model, extended_dir, tmp_path / "silent", calibration=ENGLISH,
                               config=ResizeConfig(init="mean", head_init="silent"))
    assert report.silent is not None and report.silent["against"] == 0
    assert report.silent["worst_gap"] <= -30
    assert abs(_english_loss(same.output, encode) - base) > 1e-3  # the new rows enter the softmax
    assert abs(_english_loss(report.output, encode) - base) < 1e-6
    old, new = _weights(model)["model.embed_tokens.weight"], _weights(report.output)["model.embed_tokens.weight"]
    assert torch.equal(new[:BASE_IDS], old) and new.shape[0] == BASE_IDS + ADD


def test_silent_head_needs_calibration_text(models: dict[str, Path], extended_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="calibration"):
        resize_embeddings(models["untied"], extended_dir, tmp_path / "x", config=ResizeConfig(head_init="silent"))
    assert not (tmp_path / "x").exists()
