"""Checkpoints that resume exactly: trainable weights, optimizer, RNG states and the step.

Only the trainable tensors are saved (stage 1 on a 7B model: the embedding and LM-head rows, not
13 GB of frozen weights); frozen weights come back from the base model, whose ``config.json`` hash
is recorded so a resume against a different base is refused. The data position needs no state:
batches are a pure function of the step (:mod:`tokkit.cpt.data`).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tokkit.atomic import atomic_dir
from tokkit.errors import InputError

if TYPE_CHECKING:
    import torch

CHECKPOINTS = "checkpoints"
STATE_FILE = "state.json"
WEIGHTS_FILE = "trainable.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def base_fingerprint(model_dir: str | Path) -> str:
    return hashlib.sha256((Path(model_dir) / "config.json").read_bytes()).hexdigest()


def checkpoint_dirs(output: str | Path) -> list[tuple[int, Path]]:
    """Finished checkpoints under ``output``, oldest first."""
    root = Path(output) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def rng_state() -> dict[str, Any]:
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: param.detach().to("cpu").contiguous()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def save_checkpoint(
    output: str | Path,
    *,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    rank: int = 0,
    world_size: int = 1,
    keep: int = 2,
) -> Path | None:
    """Write ``checkpoints/step-NNNNNNNN/`` atomically (rank 0), keeping the newest ``keep``.

    Every rank saves its RNG state beside it (``rng-<rank>.pt``); call on all ranks.
    """
    import torch

    target = Path(output) / CHECKPOINTS / f"step-{step:08d}"
    if world_size > 1:
        import torch.distributed as dist

        dist.barrier()
    if rank == 0:
        from safetensors.torch import save_file

        with atomic_dir(target, force=True) as tmp:
            save_file(trainable_tensors(model), str(tmp / WEIGHTS_FILE))
            torch.save(optimizer.state_dict(), tmp / OPTIMIZER_FILE)
            torch.save(rng_state(), tmp / "rng-0.pt")
            (tmp / STATE_FILE).write_text(json.dumps({**state, "step": step}, indent=2), encoding="utf-8")
        for _, old in checkpoint_dirs(output)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    if world_size > 1:
        import torch.distributed as dist

        dist.barrier()
        if rank > 0:
            torch.save(rng_state(), target / f"rng-{rank}.pt")
        dist.barrier()
    return target if rank == 0 else None


def load_checkpoint(
    directory: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, rank: int = 0
) -> dict[str, Any]:
    """Restore weights, optimizer and RNG in place; return the saved state (with ``step``)."""
    import torch
    from safetensors.torch import load_file

    state: dict[str, Any] = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    tensors = load_file(str(directory / WEIGHTS_FILE))
    params = dict(model.named_parameters())
    expected = {name for name, p in params.items() if p.requires_grad}
    if set(tensors) != expected:
        missing = sorted(expected - set(tensors))[:3]
        raise InputError(
            f"{directory}: the checkpoint's trainable weights do not match this run "
            f"(e.g. {missing or sorted(set(tensors) - expected)[:3]}); resume with the same --train/--lora-r"
        )
    with torch.no_grad():
        for name, tensor in tensors.items():
            params[name].copy_(tensor.to(params[name].device))
    optimizer.load_state_dict(torch.load(directory / OPTIMIZER_FILE, map_location="cpu", weights_only=True))
    rng_file = directory / f"rng-{rank}.pt"
    if rng_file.is_file():
        set_rng_state(torch.load(rng_file, weights_only=False))
    return state
