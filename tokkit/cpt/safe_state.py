"""Optimizer and RNG state as safetensors + JSON, so nothing a checkpoint holds can run code.

``torch.save`` writes pickles, and unpickling a file someone planted in a checkpoint runs whatever
it names (even ``weights_only=True`` had such holes in torch < 2.6). Here every tensor goes into a
safetensors file, whose header is plain JSON, and the few non-tensor values (Python's Mersenne
state version, numpy's position, the optimizer's hyperparameters) into that header's metadata.
Reading one back parses data; it never imports or calls anything named in the file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tokkit.errors import InputError

if TYPE_CHECKING:
    import torch

META_KEY = "tokkit"
"""The safetensors metadata entry holding the JSON of the non-tensor values."""


def _save(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    save_file({k: t.detach().to("cpu").contiguous() for k, t in tensors.items()}, str(path),
              metadata={META_KEY: json.dumps(meta)})


def read_safetensors(path: Path, *, fix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of ``path``; a damaged or foreign file is one :class:`InputError`."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {key: f.get_tensor(key) for key in f.keys()}, f.metadata() or {}  # noqa: SIM118
    except FileNotFoundError:
        raise InputError(f"{path}: missing from the checkpoint; {fix}") from None
    except Exception as err:  # safetensors raises its own error types for every kind of damage
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path}: not a safetensors file ({reason}); {fix}") from None


def _load(path: Path, *, fix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, metadata = read_safetensors(path, fix=fix)
    try:
        meta = json.loads(metadata[META_KEY])
    except (KeyError, json.JSONDecodeError):
        meta = None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: no tokkit state in its metadata; {fix}")
    return tensors, meta


# ---------------------------------------------------------------------------- RNG


def save_rng(path: Path) -> None:
    """Python's, numpy's, torch's (and every CUDA device's) generator state."""
    import torch

    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors = {
        "python": torch.tensor(mt, dtype=torch.int64),
        "numpy": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        "torch": torch.get_rng_state(),
    }
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    tensors.update({f"cuda.{i}": state for i, state in enumerate(cuda)})
    meta = {"python": [version, gauss], "numpy": [kind, int(pos), int(has_gauss), float(cached)],
            "cuda_devices": len(cuda)}
    _save(path, tensors, meta)


def load_rng(path: Path, *, fix: str) -> None:
    """Restore what :func:`save_rng` wrote; CUDA states only where CUDA is present."""
    import torch

    tensors, meta = _load(path, fix=fix)
    try:
        version, gauss = meta["python"]
        kind, pos, has_gauss, cached = meta["numpy"]
        random.setstate((version, tuple(int(x) for x in tensors["python"].tolist()), gauss))
        np.random.set_state((kind, tensors["numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(tensors["torch"])
        devices = int(meta.get("cuda_devices", 0))
        if devices and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([tensors[f"cuda.{i}"] for i in range(devices)])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise InputError(f"{path}: not a valid RNG state ({type(err).__name__}: {err}); {fix}") from None


# ---------------------------------------------------------------------------- optimizer


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """``optimizer.state_dict()``: tensors by ``state.<param>.<name>``, the rest as JSON."""
    import torch

    saved = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param, values in saved["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{param}.{name}"] = value
            else:
                scalars.setdefault(str(param), {})[name] = value
    _save(path, tensors, {"param_groups": saved["param_groups"], "scalars": scalars})


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path, *, fix: str) -> None:
    """Restore what :func:`save_optimizer` wrote into ``optimizer`` (same parameter groups)."""
    tensors, meta = _load(path, fix=fix)
    try:
        state: dict[int, dict[str, Any]] = {}
        for key, tensor in tensors.items():
            _, param, name = key.split(".", 2)
            state.setdefault(int(param), {})[name] = tensor
        for param, values in meta["scalars"].items():
            state.setdefault(int(param), {}).update(values)
        groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in group.items()}
                  for group in meta["param_groups"]]
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"{path}: not a valid optimizer state ({type(err).__name__}: {err}); {fix}") from None
