"""Shared, session-scoped inputs for the LLaMA-extension tests: real LLaMA + a quick Chinese model.

The Chinese model is trained on the first 2 MB of the sample zh corpus with 8000 pieces (~2 s);
measured to cut LLaMA's tokens per Han character on held-out 资治通鉴 by ~49% (the recipe's
full 20000 pieces on 18 MB is what ``benchmarks/bench_extend.py`` runs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tokkit.llama.extend import ExtendConfig, ExtendResult, extend_model
from tokkit.llama.recipe import read_lines
from tokkit.llama.spm_io import ModelProto, new_model, parse_model, read_model
from tokkit.llama.zh_model import ZhModelConfig, train_zh_model

QUICK_ZH = ZhModelConfig(vocab_size=8000, max_bytes=2 * 2**20)

ToyBPE = Callable[..., ModelProto]


def toy_bpe_model(pieces: list[tuple[str, float]], base: ModelProto | None = None) -> ModelProto:
    """A BPE model: ``base``'s spec (or a tiny LLaMA-like one), <unk> <s> </s>, then ``pieces``."""
    model = new_model()
    if base is not None:
        model.trainer_spec.CopyFrom(base.trainer_spec)
        model.normalizer_spec.CopyFrom(base.normalizer_spec)
    else:
        model.trainer_spec.model_type = model.trainer_spec.BPE
        model.trainer_spec.unk_id, model.trainer_spec.bos_id, model.trainer_spec.eos_id = 0, 1, 2
        model.trainer_spec.pad_id = -1
        model.normalizer_spec.name = "identity"
        model.normalizer_spec.add_dummy_prefix = True
        model.normalizer_spec.escape_whitespaces = True
    for piece, score, kind in [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)]:
        p = model.pieces.add()
        p.piece, p.score, p.type = piece, score, kind
    for piece, score in pieces:
        p = model.pieces.add()
        p.piece, p.score = piece, score
    return model


@pytest.fixture(scope="session")
def toy_bpe() -> ToyBPE:
    """:func:`toy_bpe_model`, for the tests that build small sentencepiece models by hand."""
    return toy_bpe_model


@pytest.fixture(scope="session")
def base(llama_model: Path) -> ModelProto:
    return read_model(llama_model)


@pytest.fixture(scope="session")
def zh_bytes(corpora: Path) -> bytes:
    data, _ = train_zh_model([corpora / "zh"], QUICK_ZH)
    return data


@pytest.fixture(scope="session")
def zh(zh_bytes: bytes) -> ModelProto:
    return parse_model(zh_bytes, "zh")


@pytest.fixture(scope="session")
def zh_model_file(zh_bytes: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zh") / "zh.model"
    path.write_bytes(zh_bytes)
    return path


@pytest.fixture(scope="session")
def extended(base: ModelProto, zh: ModelProto) -> ExtendResult:
    return extend_model(base, zh, ExtendConfig())


@pytest.fixture(scope="session")
def zh_lines(heldout: Path) -> list[str]:
    return read_lines([heldout / "zh_zizhitongjian.txt"])


@pytest.fixture(scope="session")
def en_lines(heldout: Path) -> list[str]:
    return read_lines([heldout / "en_dracula.txt"])



@pytest.fixture(scope="session")
def extended_dir(llama_model: Path, zh_model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ``extend-llama`` output dir (no held-out comparison, for speed)."""
    from tokkit.llama.recipe import extend_llama

    out = tmp_path_factory.mktemp("vocab") / "llama-zh"
    extend_llama(llama_model, out, zh_model=zh_model_file)
    return out
