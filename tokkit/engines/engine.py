"""Which engine runs a stage (``local`` or ``ray``), chosen once and called the same way.

:class:`Engine` takes the local function's arguments, so a caller (a CLI command, a script, the
pipeline) does not know which engine runs it; :data:`ENGINES` is the table of the known names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tokkit.engines.ray_runtime import RayOptions
from tokkit.errors import InputError
from tokkit.types import Tokenizer

EngineName = Literal["local", "ray"]
ENGINES: tuple[EngineName, ...] = ("local", "ray")


@dataclass(frozen=True)
class Engine:
    """Which engine runs a stage; ``ray`` holds the Ray knobs when it is Ray (defaults if None)."""

    name: EngineName = "local"
    ray: RayOptions | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise InputError(f"unknown engine '{self.name}'; known: {', '.join(ENGINES)}")
        if self.name == "local" and self.ray is not None:
            raise InputError("Engine: ray options only apply with name='ray'")

    def dedup(self, paths: Sequence[str | Path], output: str | Path, **kwargs: Any) -> Any:
        """:func:`tokkit.dedup.dedup_corpus` or its Ray twin, same arguments, same output."""
        if self.name == "ray":
            from tokkit.engines.ray_dedup import ray_dedup_corpus

            return ray_dedup_corpus(paths, output, options=self.ray, **kwargs)
        from tokkit.dedup import dedup_corpus

        return dedup_corpus(paths, output, **kwargs)

    def shard(self, paths: Sequence[str | Path], tokenizer: str | Path | Tokenizer, output: str | Path,
              **kwargs: Any) -> Any:
        """:func:`tokkit.shards.write_shards` or its Ray twin (shards cut per partition; Ray's
        workers open the tokenizer from its path, so they need one)."""
        if self.name == "ray":
            if not isinstance(tokenizer, str | Path):
                raise InputError("Engine('ray').shard: Ray's workers open the tokenizer from its path; "
                                 "pass the path, not a tokenizer object")
            from tokkit.engines.ray_shard import ray_write_shards

            return ray_write_shards(paths, tokenizer, output, options=self.ray, **kwargs)
        from tokkit.shards.writer import write_shards

        return write_shards(paths, tokenizer, output, **kwargs)

    def train_bpe(self, config: Any, *, corpus: Sequence[str | Path], output: str | Path,
                  **kwargs: Any) -> Any:
        """:func:`tokkit.train.run.train_to_dir` of the from-scratch BPE trainer, or its Ray twin
        (chunks counted on Ray, merges on the driver, same merges; no held-out slice)."""
        if self.name == "ray":
            from tokkit.engines.ray_bpe import ray_train_bpe_to_dir

            return ray_train_bpe_to_dir(config, corpus=corpus, output=output, options=self.ray,
                                        **kwargs)
        from tokkit.train.bpe import BPETrainer
        from tokkit.train.run import train_to_dir

        return train_to_dir(BPETrainer(config), corpus=corpus, output=output, algorithm="bpe",
                            backend="scratch", config=config.to_dict(), **kwargs)
