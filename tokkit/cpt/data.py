"""Which sequences each optimizer step reads: a pure function of (seed, step), so resuming at
step ``k`` needs no saved iterator state and every device can compute its own share.

Sequences are visited in a fresh seeded permutation each epoch; global batch ``b`` of step ``s``
covers positions ``s·b … s·b + b - 1`` of that endless shuffled stream, and rank ``r`` of ``w``
takes the ``r``-th contiguous ``b / w`` of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tokkit.errors import InputError


@dataclass(kw_only=True)
class BatchPlan:
    """How a global batch of ``batch_tokens`` splits into micro-batches over devices."""

    sequences: int
    seq_len: int
    batch_tokens: int
    micro_batch: int
    world_size: int = 1
    seed: int = 0
    _perm: tuple[int, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.sequences < 1:
            raise InputError(
                "the train split holds no whole sequence; shard more text or lower `seq_len`"
            )
        per_step = self.batch_tokens // self.seq_len
        unit = self.micro_batch * self.world_size
        self.sequences_per_step = per_step // unit * unit
        if self.sequences_per_step < 1:
            raise InputError(
                f"`batch_tokens={self.batch_tokens}` is less than one micro-batch on every device "
                f"({unit} × {self.seq_len} tokens); raise `batch_tokens` or lower `micro_batch`"
            )
        self.accumulation = self.sequences_per_step // unit

    @property
    def tokens_per_step(self) -> int:
        return self.sequences_per_step * self.seq_len

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._perm is None or self._perm[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._perm = (epoch, rng.permutation(self.sequences))
        return self._perm[1]

    def global_batch(self, step: int) -> np.ndarray:
        """Sequence indices of the global batch of ``step`` (0-based)."""
        start = step * self.sequences_per_step
        out = np.empty(self.sequences_per_step, dtype=np.int64)
        for j in range(self.sequences_per_step):
            position = start + j
            epoch, offset = divmod(position, self.sequences)
            out[j] = self._permutation(epoch)[offset]
        return out

    def micro_batches(self, step: int, rank: int = 0) -> list[np.ndarray]:
        """This rank's micro-batches for ``step``, in order."""
        mine = self.global_batch(step).reshape(self.world_size, -1)[rank]
        return [mine[i : i + self.micro_batch] for i in range(0, len(mine), self.micro_batch)]
