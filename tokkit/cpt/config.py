"""What a continued-pretraining run is: saved as ``cpt.json`` beside its checkpoints.

Two stages, after Chinese-LLaMA: ``train="embeddings"`` (stage 1) trains only the input embeddings
and the LM head, so the new tokens' rows learn while the transformer stays frozen; ``train="all"``
(stage 2) trains every weight, or, with ``lora_r > 0``, low-rank adapters on the attention and MLP
projections plus the embeddings and LM head in full (the Chinese-LLaMA recipe).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tokkit.atomic import atomic_file
from tokkit.errors import InputError

Stage = Literal["embeddings", "all"]
Precision = Literal["auto", "fp32", "bf16"]

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CONFIG_FILE = "cpt.json"
GPU_BATCH_TOKENS = 1 << 19
"""The default global batch on CUDA: ~0.5 M tokens per step, the scale of LLaMA-style recipes."""
CPU_BATCH_TOKENS = 4096
"""The default on a CPU: a step of a tiny model in well under a second, a 7B model's at all."""


@dataclass(frozen=True, kw_only=True)
class CPTConfig:
    """One training run. ``batch_tokens`` is the global batch per optimizer step (all devices,
    all accumulation micro-steps); it is rounded down to whole sequences that split evenly over
    ``micro_batch × devices``. ``None`` sizes it to the device (:data:`GPU_BATCH_TOKENS` on CUDA,
    :data:`CPU_BATCH_TOKENS` but at least one sequence on a CPU) or, on resume, takes the
    checkpoint's; the run saves the number it used. ``threads`` sets torch's CPU threads (0 = torch's default); one
    thread is fastest for tiny models and on a busy machine, where OpenMP threads spin.
    """

    model: str
    shards: str
    output: str
    train: Stage = "embeddings"
    lora_r: int = 0
    lora_alpha: float = 16.0
    lora_targets: tuple[str, ...] = LORA_TARGETS
    steps: int = 1000
    batch_tokens: int | None = None
    micro_batch: int = 1
    lr: float = 2e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int | None = None
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_sequences: int = 64
    save_every: int = 500
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    precision: Precision = "auto"
    verify_shards: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        checks = [
            (self.train in ("embeddings", "all"), f"`train={self.train!r}` must be 'embeddings' or 'all'"),
            (self.lora_r >= 0, f"`lora_r={self.lora_r!r}` must be >= 0"),
            (not (self.lora_r and self.train == "embeddings"),
             "`lora_r` needs `train='all'` (stage 1 trains only embeddings and the LM head)"),
            (self.steps >= 1, f"`steps={self.steps!r}` must be >= 1"),
            (self.batch_tokens is None or self.batch_tokens >= 1,
             f"`batch_tokens={self.batch_tokens!r}` must be positive"),
            (self.micro_batch >= 1, f"`micro_batch={self.micro_batch!r}` must be >= 1"),
            (self.lr > 0, f"`lr={self.lr!r}` must be positive"),
            (0 <= self.min_lr_ratio <= 1, f"min_lr_ratio {self.min_lr_ratio} must be in [0, 1]"),
            (self.warmup_steps is None or self.warmup_steps >= 0,
             f"`warmup_steps={self.warmup_steps!r}` must be >= 0"),
            (self.grad_clip >= 0, f"`grad_clip={self.grad_clip!r}` must be >= 0 (0 = off)"),
            (self.eval_every >= 0 and self.save_every >= 0 and self.log_every >= 1,
             "`eval_every`/`save_every` must be >= 0 (0 = off) and `log_every` >= 1"),
            (self.threads >= 0, f"`threads={self.threads!r}` must be >= 0 (0 = torch's default)"),
            (self.eval_sequences >= 1, f"`eval_sequences={self.eval_sequences!r}` must be >= 1"),
            (self.precision in ("auto", "fp32", "bf16"), f"`precision={self.precision!r}`: auto, fp32 or bf16"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)

    @property
    def warmup(self) -> int:
        """Warmup steps: as given (at most ``steps``), else 5% of the run."""
        if self.warmup_steps is not None:
            return min(self.warmup_steps, self.steps)
        return max(1, self.steps // 20)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, directory: str | Path) -> Path:
        """Write ``cpt.json`` whole or not at all (a kill mid-write leaves the previous one)."""
        path = Path(directory) / CONFIG_FILE
        with atomic_file(path, encoding="utf-8") as f:
            f.write(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CPTConfig:
        data = dict(data)
        for key in ("lora_targets", "betas"):
            if key in data:
                data[key] = tuple(data[key])
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown CPT settings: {', '.join(unknown)}")
        return cls(**data)

    def resumable_with(self, other: CPTConfig) -> list[str]:
        """Settings that differ from a checkpoint's and would break an exact resume."""
        fixed = ("shards", "train", "lora_r", "lora_alpha", "lora_targets", "batch_tokens",
                 "micro_batch", "seed")
        return [name for name in fixed if getattr(self, name) != getattr(other, name)]
