"""tokkit: make and judge tokenizers, and extend a LLaMA vocabulary for Chinese.

The public API lives here; heavy libraries (torch, transformers) are imported only by the stages
that need them.
"""

from __future__ import annotations

from tokkit.corpus import ReadOptions, ReadStats, read_documents, read_texts
from tokkit.errors import InputError, TokkitError
from tokkit.load import load_tokenizer
from tokkit.types import Document, Tokenizer, Trainer

__version__ = "0.1.0"

__all__ = [
    "Document",
    "InputError",
    "ReadOptions",
    "ReadStats",
    "Tokenizer",
    "TokkitError",
    "Trainer",
    "__version__",
    "load_tokenizer",
    "read_documents",
    "read_texts",
]
