"""Continued pretraining of a causal LM on token shards (stage 1: embeddings; stage 2: all/LoRA).

torch and transformers (the ``cpt`` extra) are imported only when :func:`run_cpt` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokkit.cpt.config import CPTConfig

if TYPE_CHECKING:
    from tokkit.cpt.train import CPTResult


def run_cpt(config: CPTConfig, **kwargs: Any) -> CPTResult:
    """Train per ``config`` (see :func:`tokkit.cpt.train.run_cpt`)."""
    from tokkit.cpt.train import run_cpt as _run

    return _run(config, **kwargs)


__all__ = ["CPTConfig", "run_cpt"]
