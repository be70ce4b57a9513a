"""Training configs shared by from-scratch trainers and library backends.

One config per algorithm, keyword-only, saved with every output (``tokkit.json``) so a vocabulary
can always be traced to how it was made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from tokkit.errors import InputError

Backend = Literal["scratch", "hf", "spm"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """What every algorithm shares.

    ``vocab_size`` is the final size including the base alphabet and the special tokens.
    """

    vocab_size: int
    special_tokens: tuple[str, ...] = ()
    min_frequency: int = 2

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["special_tokens"] = list(self.special_tokens)
        return data

    def check(self) -> None:
        if self.min_frequency < 0:
            raise InputError(f"--min-frequency must be ≥ 0, got {self.min_frequency}")
        if len(set(self.special_tokens)) != len(self.special_tokens):
            raise InputError("--special: the same special token is given twice")


@dataclass(frozen=True, kw_only=True)
class BPEConfig(TrainConfig):
    """Byte-level BPE: 256 byte symbols + merges + special tokens = ``vocab_size``.

    ``pattern`` is a built-in split pattern name (``gpt2``, ``gpt4``/``cl100k``, ``o200k``) or a
    custom regex; ``workers`` processes count pre-tokenized chunks (None: all cores).
    """

    pattern: str = "gpt4"
    workers: int | None = None

    def check(self) -> None:
        super().check()
        floor = 256 + len(self.special_tokens)
        if self.vocab_size < floor:
            raise InputError(
                f"--vocab {self.vocab_size} is smaller than the byte alphabet (256) plus "
                f"{len(self.special_tokens)} special tokens; use --vocab {floor} or more"
            )
