"""Library-backed tokenizers and trainers (HF `tokenizers`, `sentencepiece`, `tiktoken`) behind
tokkit's interface: the same iterable of texts in, the same :class:`~tokkit.types.Tokenizer` out.

>>> from tokkit.backends import HFBPETrainer
>>> from tokkit.train.config import BPEConfig
>>> tok = HFBPETrainer(BPEConfig(vocab_size=300)).train(["some text", "更多文本"])

Names load on first use (each module imports its library only when it is needed), so
``import tokkit.backends`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokkit.backends.bpe import HFBPETrainer, SPMBPETrainer
    from tokkit.backends.hf import HFTokenizer
    from tokkit.backends.spm import SPMTokenizer
    from tokkit.backends.tiktoken import TiktokenTokenizer
    from tokkit.backends.unigram import HFUnigramTrainer, SPMUnigramTrainer
    from tokkit.backends.wordpiece import HFWordPieceTrainer

_WHERE = {
    "HFBPETrainer": "bpe",
    "SPMBPETrainer": "bpe",
    "HFUnigramTrainer": "unigram",
    "SPMUnigramTrainer": "unigram",
    "HFWordPieceTrainer": "wordpiece",
    "HFTokenizer": "hf",
    "SPMTokenizer": "spm",
    "TiktokenTokenizer": "tiktoken",
}

__all__ = [
    "HFBPETrainer",
    "HFTokenizer",
    "HFUnigramTrainer",
    "HFWordPieceTrainer",
    "SPMBPETrainer",
    "SPMTokenizer",
    "SPMUnigramTrainer",
    "TiktokenTokenizer",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tokkit.backends' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tokkit.backends.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
