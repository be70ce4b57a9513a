"""Corpus input: lazy readers and the catalog of sample corpora.

The catalog (``get_corpus``, ``default_corpus_paths``, ``load_catalog``) is imported on first use:
``import tokkit`` should not pay for urllib, zipfile and rich.
"""

from __future__ import annotations

import importlib
from typing import Any

from tokkit.corpus.readers import (
    ReadOptions,
    ReadStats,
    corpus_bytes,
    iter_files,
    read_documents,
    read_texts,
    register_format,
)

_CATALOG_NAMES = ("Catalog", "default_corpus_paths", "fetch_corpus", "get_corpus", "load_catalog")

__all__ = [
    "Catalog",
    "ReadOptions",
    "ReadStats",
    "corpus_bytes",
    "default_corpus_paths",
    "fetch_corpus",
    "get_corpus",
    "iter_files",
    "load_catalog",
    "read_documents",
    "read_texts",
    "register_format",
]


def __getattr__(name: str) -> Any:
    if name in _CATALOG_NAMES:
        return getattr(importlib.import_module("tokkit.corpus.catalog"), name)
    raise AttributeError(f"module 'tokkit.corpus' has no attribute {name!r}")
