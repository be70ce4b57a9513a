"""Low-rank adapters (LoRA, Hu et al. 2021) for stage-2 training, in a few lines of torch.

Hand-written rather than ``peft`` (not a tokkit dependency): tokkit needs only the plain recipe —
``W x + (α/r)·B A x`` on chosen ``nn.Linear`` layers, ``B`` starting at zero so training starts from
the base model exactly — and a merge back into ordinary weights, so the saved model is a plain
``transformers`` checkpoint that needs nothing from tokkit to load.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _module() -> type:
    import torch
    from torch import nn

    class LoRALinear(nn.Module):
        """A frozen ``nn.Linear`` plus a trainable rank-``r`` update."""

        def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
            super().__init__()
            self.base = base
            self.base.weight.requires_grad_(False)
            if self.base.bias is not None:
                self.base.bias.requires_grad_(False)
            self.scaling = alpha / r
            device = base.weight.device
            self.lora_A = nn.Parameter(torch.empty(r, base.in_features, device=device))
            self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, device=device))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            update = (x.to(self.lora_A.dtype) @ self.lora_A.T) @ self.lora_B.T
            return self.base(x) + (update * self.scaling).to(x.dtype)

        def merged(self) -> nn.Linear:
            delta = (self.lora_B @ self.lora_A) * self.scaling
            with torch.no_grad():
                self.base.weight.add_(delta.to(self.base.weight.dtype))
            return self.base

    return LoRALinear


_LORA_CLASS: type | None = None


def lora_linear_class() -> type:
    global _LORA_CLASS
    if _LORA_CLASS is None:
        _LORA_CLASS = _module()
    return _LORA_CLASS


def apply_lora(model: torch.nn.Module, *, r: int, alpha: float, targets: tuple[str, ...]) -> int:
    """Wrap every ``nn.Linear`` whose name ends in one of ``targets``; return how many."""
    from torch import nn

    lora = lora_linear_class()
    wrapped = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Linear) and child_name in targets:
                setattr(module, child_name, lora(child, r, alpha))
                wrapped += 1
        del name
    return wrapped


def merge_lora(model: torch.nn.Module) -> int:
    """Fold every adapter into its base weight, restoring plain ``nn.Linear`` layers."""
    lora = lora_linear_class()
    merged = 0
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, lora):
                setattr(module, child_name, child.merged())  # type: ignore[operator]
                merged += 1
    return merged
