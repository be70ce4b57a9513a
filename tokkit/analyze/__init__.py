"""Compression analysis: how many tokens text costs under each tokenizer, and why.

``analyze`` streams corpora through several tokenizers and returns a :class:`Report` (figures per
corpus, file and Unicode script class; ratios against the first tokenizer); ``explain`` shows how one
string is split. ``report``/``plot`` render a Report as a rich table, Markdown, JSON or a PNG.
"""

from __future__ import annotations

from tokkit.analyze.compression import AnalyzeConfig, Report, Result, analyze, measure_texts
from tokkit.analyze.explain import Explanation, explain
from tokkit.analyze.measure import open_tokenizers
from tokkit.analyze.scripts import SCRIPTS
from tokkit.analyze.token_bytes import TokenTable, token_table

__all__ = [
    "SCRIPTS",
    "AnalyzeConfig",
    "Explanation",
    "Report",
    "Result",
    "TokenTable",
    "analyze",
    "explain",
    "measure_texts",
    "open_tokenizers",
    "token_table",
]
