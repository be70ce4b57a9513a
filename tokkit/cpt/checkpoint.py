"""Checkpoints that resume exactly: trainable weights, optimizer, RNG states and the step.

Every file is safetensors or JSON (:mod:`tokkit.cpt.safe_state`): a checkpoint is data, and
reading one can never run code. A pickle found in a checkpoint (``*.pt``, what older tokkit
versions wrote, or something planted) is refused, never opened. Only the trainable tensors are saved (stage 1 on a 7B model: the embedding and LM-head rows, not
13 GB of frozen weights); frozen weights come back from the base model, whose ``config.json`` hash
is recorded so a resume against a different base is refused. The data position needs no state:
batches are a pure function of the step (:mod:`tokkit.cpt.data`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit.atomic import atomic_dir
from tokkit.cpt.safe_state import (
    load_optimizer,
    load_rng,
    read_safetensors,
    save_optimizer,
    save_rng,
)
from tokkit.errors import InputError

if TYPE_CHECKING:
    import torch

CHECKPOINTS = "checkpoints"
STATE_FILE = "state.json"
WEIGHTS_FILE = "trainable.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt")
"""Files that may hold pickles; a checkpoint holding one is refused unread."""
_STEP_DIR = re.compile(r"^step-(\d+)$")


def base_fingerprint(model_dir: str | Path) -> str:
    return hashlib.sha256((Path(model_dir) / "config.json").read_bytes()).hexdigest()


def checkpoint_dir(output: str | Path, step: int) -> Path:
    return Path(output) / CHECKPOINTS / f"step-{step:08d}"


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


def rng_file(directory: Path, rank: int) -> Path:
    return directory / f"rng-{rank}.safetensors"


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
    after_save: Callable[[], None] | None = None,
) -> Path | None:
    """Write ``checkpoints/step-NNNNNNNN/`` atomically (rank 0), keeping the newest ``keep``.

    Every rank saves its RNG state beside it (``rng-<rank>.safetensors``); call on all ranks.
    ``after_save`` runs on rank 0 once its files are in place, before the other ranks add theirs.
    """
    target = checkpoint_dir(output, step)
    if world_size > 1:
        import torch.distributed as dist

        dist.barrier()
    if rank == 0:
        from safetensors.torch import save_file

        with atomic_dir(target, force=True) as tmp:
            save_file(trainable_tensors(model), str(tmp / WEIGHTS_FILE))
            save_optimizer(optimizer, tmp / OPTIMIZER_FILE)
            save_rng(rng_file(tmp, 0))
            (tmp / STATE_FILE).write_text(json.dumps({**state, "step": step}, indent=2), encoding="utf-8")
        for _, old in checkpoint_dirs(output)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
        if after_save is not None:
            after_save()
    if world_size > 1:
        import torch.distributed as dist

        dist.barrier()
        if rank > 0:
            save_rng(rng_file(target, rank))
        dist.barrier()
    return target if rank == 0 else None


def read_state(directory: Path) -> dict[str, Any]:
    """The checkpoint's ``state.json`` (step, loss, base fingerprint, config)."""
    path = directory / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: unreadable ({type(err).__name__}); {_fix(directory)}") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int) or not isinstance(
            state.get("config"), dict):
        raise InputError(f"{path}: not a tokkit checkpoint state (no step or config); {_fix(directory)}")
    return state


def _fix(directory: Path) -> str:
    return (f"delete {directory} to resume from an earlier checkpoint, "
            "or start over (`force=True`)")


def refuse_pickles(directory: Path) -> None:
    """Raise :class:`InputError` if ``directory`` holds a file that may be a pickle."""
    found = sorted(p.name for p in directory.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if found:
        raise InputError(
            f"{directory / found[0]}: a pickle file in a checkpoint; tokkit never loads pickles (they "
            f"can run code) and writes none; {_fix(directory)}"
        )


def load_checkpoint(
    directory: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, rank: int = 0
) -> dict[str, Any]:
    """Restore weights, optimizer and RNG in place; return the saved state (with ``step``)."""
    import torch

    refuse_pickles(directory)
    state = read_state(directory)
    fix = _fix(directory)
    tensors, _ = read_safetensors(directory / WEIGHTS_FILE, fix=fix)
    params = dict(model.named_parameters())
    expected = {name for name, p in params.items() if p.requires_grad}
    if set(tensors) != expected:
        missing = sorted(expected - set(tensors))[:3]
        raise InputError(
            f"{directory}: the checkpoint's trainable weights do not match this run "
            f"(e.g. {missing or sorted(set(tensors) - expected)[:3]}); resume with the same `train`/`lora_r`"
        )
    with torch.no_grad():
        for name, tensor in tensors.items():
            if tensor.shape != params[name].shape:
                raise InputError(f"{directory / WEIGHTS_FILE}: {name} has shape {tuple(tensor.shape)}, "
                                 f"the model {tuple(params[name].shape)}; {fix}")
            params[name].copy_(tensor.to(params[name].device))
    load_optimizer(optimizer, directory / OPTIMIZER_FILE, fix=fix)
    if rng_file(directory, rank).is_file():
        load_rng(rng_file(directory, rank), fix=fix)
    return state

