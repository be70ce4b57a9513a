"""Corpus input: lazy readers and the catalog of sample corpora."""

from tokkit.corpus.readers import (
    ReadOptions,
    ReadStats,
    corpus_bytes,
    iter_files,
    read_documents,
    read_texts,
)

__all__ = ["ReadOptions", "ReadStats", "corpus_bytes", "iter_files", "read_documents", "read_texts"]
