"""tokkit: make and judge tokenizers, and extend a LLaMA vocabulary for Chinese.

The public API lives here:

>>> from tokkit import BPEConfig, load_tokenizer, make_trainer
>>> tok = make_trainer("bpe", "scratch", BPEConfig(vocab_size=300)).train(["some text", "更多文本"])

Every name loads on first use (module ``__getattr__``), and heavy libraries (torch,
transformers) are imported only by the stages that need them, so ``import tokkit`` costs nothing
(which also keeps the CLI's start-up window before its Ctrl-C handler short: tokkit/__main__.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokkit.backends.bpe import HFBPETrainer, SPMBPETrainer
    from tokkit.backends.unigram import HFUnigramTrainer, SPMUnigramTrainer
    from tokkit.backends.wordpiece import HFWordPieceTrainer
    from tokkit.corpus import ReadOptions, ReadStats, read_documents, read_texts
    from tokkit.errors import InputError, TokkitError
    from tokkit.load import (
        load_tokenizer,
        make_trainer,
        register_kind,
        register_trainer,
        trainer_pairs,
    )
    from tokkit.train.bpe import BPETrainer
    from tokkit.train.config import BPEConfig, TrainConfig, UnigramConfig, WordPieceConfig
    from tokkit.train.run import TrainReport, train_to_dir
    from tokkit.train.unigram import UnigramTrainer
    from tokkit.train.wordpiece import WordPieceTrainer
    from tokkit.types import Document, Tokenizer, Trainer

__version__ = "0.1.0"

_LAZY = {
    **dict.fromkeys(("ReadOptions", "ReadStats", "read_documents", "read_texts"), "tokkit.corpus"),
    **dict.fromkeys(("InputError", "TokkitError"), "tokkit.errors"),
    **dict.fromkeys(("load_tokenizer", "make_trainer", "register_kind", "register_trainer", "trainer_pairs"),
                    "tokkit.load"),
    **dict.fromkeys(("BPEConfig", "TrainConfig", "UnigramConfig", "WordPieceConfig"), "tokkit.train.config"),
    **dict.fromkeys(("Document", "Tokenizer", "Trainer"), "tokkit.types"),
    "BPETrainer": "tokkit.train.bpe",
    "WordPieceTrainer": "tokkit.train.wordpiece",
    "UnigramTrainer": "tokkit.train.unigram",
    "HFBPETrainer": "tokkit.backends.bpe",
    "SPMBPETrainer": "tokkit.backends.bpe",
    "HFWordPieceTrainer": "tokkit.backends.wordpiece",
    "HFUnigramTrainer": "tokkit.backends.unigram",
    "SPMUnigramTrainer": "tokkit.backends.unigram",
    "TrainReport": "tokkit.train.run",
    "train_to_dir": "tokkit.train.run",
}

__all__ = [
    "BPEConfig",
    "BPETrainer",
    "Document",
    "HFBPETrainer",
    "HFUnigramTrainer",
    "HFWordPieceTrainer",
    "InputError",
    "ReadOptions",
    "ReadStats",
    "SPMBPETrainer",
    "SPMUnigramTrainer",
    "Tokenizer",
    "TokkitError",
    "TrainConfig",
    "TrainReport",
    "Trainer",
    "UnigramConfig",
    "UnigramTrainer",
    "WordPieceConfig",
    "WordPieceTrainer",
    "__version__",
    "load_tokenizer",
    "make_trainer",
    "read_documents",
    "read_texts",
    "register_kind",
    "register_trainer",
    "train_to_dir",
    "trainer_pairs",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'tokkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
