"""Checkpoint state files hold data only: they round-trip exactly and nothing in them can run code."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from tokkit.cpt.safe_state import load_optimizer, load_rng, save_optimizer, save_rng  # noqa: E402
from tokkit.errors import InputError  # noqa: E402

TOKKIT = Path(__file__).resolve().parents[2] / "tokkit"


def _draws() -> tuple[float, float, float, list[float]]:
    return random.random(), random.gauss(0, 1), float(np.random.rand()), torch.rand(4).tolist()


def test_rng_state_round_trips_for_python_numpy_and_torch(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.gauss(0, 1)  # leaves a cached second normal in Python's state
    np.random.standard_normal()  # and in numpy's
    save_rng(tmp_path / "rng.safetensors")
    expected = _draws()
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    load_rng(tmp_path / "rng.safetensors", fix="start over")
    assert _draws() == expected


def _adamw() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 3))
    decay = [p for p in model.parameters() if p.ndim >= 2]
    other = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                  lr=1e-2, betas=(0.9, 0.95))
    return model, optimizer


def _step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    model(torch.randn(8, 5, generator=gen)).pow(2).mean().backward()
    optimizer.step()
    optimizer.zero_grad()


def test_optimizer_state_round_trips_and_the_next_step_is_identical(tmp_path: Path) -> None:
    model, optimizer = _adamw()
    for seed in range(3):
        _step(model, optimizer, seed)
    save_optimizer(optimizer, tmp_path / "opt.safetensors")
    twin, twin_optimizer = _adamw()
    twin.load_state_dict(model.state_dict())
    load_optimizer(twin_optimizer, tmp_path / "opt.safetensors", fix="start over")
    a, b = optimizer.state_dict(), twin_optimizer.state_dict()
    assert a["param_groups"] == b["param_groups"]  # betas stay a tuple, weight decay per group
    assert a["state"].keys() == b["state"].keys()
    for key, values in a["state"].items():
        assert all(torch.equal(values[name], b["state"][key][name]) for name in values)
    _step(model, optimizer, 7)
    _step(twin, twin_optimizer, 7)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), twin.parameters(), strict=True))


def test_a_damaged_or_foreign_state_file_is_one_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "rng.safetensors"
    bad.write_bytes(b"\x80\x04not safetensors at all")
    with pytest.raises(InputError, match=r"rng\.safetensors: not a safetensors file.*start over"):
        load_rng(bad, fix="start over")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))  # no tokkit metadata
    _, optimizer = _adamw()
    with pytest.raises(InputError, match="no tokkit state"):
        load_optimizer(optimizer, tmp_path / "plain.safetensors", fix="start over")


def test_nothing_in_tokkit_unpickles() -> None:
    """Issue 12's acceptance as a rule: every torch.load passes weights_only=True; no pickle.load."""
    offenders = []
    for path in sorted(TOKKIT.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"torch\.load\(([^()]|\([^()]*\))*\)", source):
            if "weights_only=True" not in match.group(0):
                offenders.append(f"{path}: {match.group(0)}")
        for match in re.finditer(r"pickle\.loads?\(|allow_pickle=True|Unpickler\(", source):
            offenders.append(f"{path}: {match.group(0)}")
    assert offenders == []
