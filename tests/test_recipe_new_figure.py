"""The "new analysis figure" recipe of docs/architecture.md, followed by a test and touching no
library file: a toy figure (the share of a text's characters that are Han), registered with
:func:`register_figure` and shown with :func:`register_column`, then computed by :func:`analyze`
for every tokenizer and printed in the Markdown table like the built-in ones.

In the package the figure would be one entry in ``figures()`` (``tokkit/analyze/compression.py``)
and one ``Column`` in ``COLUMNS`` (``tokkit/analyze/report.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tokkit import BPEConfig, make_trainer
from tokkit.analyze import compression, report
from tokkit.analyze.compression import AnalyzeConfig, analyze, register_figure
from tokkit.analyze.measure import TextTally, TokenTally
from tokkit.analyze.report import Column, markdown, register_column
from tokkit.analyze.token_bytes import TokenTable
from tokkit.errors import InputError


def han_char_share(text: TextTally, tokens: TokenTally, table: TokenTable, vocab_size: int) -> Any:
    return text.script_chars[compression.HAN] / text.chars if text.chars else None


@pytest.fixture
def toy_figure() -> Iterator[None]:
    register_figure("toy_han_char_share", han_char_share)
    register_column(Column("toy Han share", "toy_han_char_share", lambda v: f"{100 * v:.2f}%", 0))
    yield
    compression.EXTRA_FIGURES.pop("toy_han_char_share")
    report.EXTRA_COLUMNS.clear()


def test_a_registered_figure_is_computed_and_shown(toy_figure: None, tmp_path: Path) -> None:
    corpus = tmp_path / "mix.txt"
    corpus.write_text("天下大势\nabcd\n", encoding="utf-8")  # 4 Han of 8 characters
    small = make_trainer("bpe", "scratch", BPEConfig(vocab_size=260, workers=1)).train(["天下 abcd"])
    result = analyze([small, "tiktoken:cl100k_base"], {"mix": [corpus]},
                     config=AnalyzeConfig(judge=True))
    whole = [r for r in result.results if r.file is None]
    assert [r.figures["toy_han_char_share"] for r in whole] == [0.5, 0.5]
    assert "| toy Han share | 50.00% | 50.00% |" in markdown(result)
    # the built-in figures are all there beside it, and the guard against replacing one knows them
    assert set(whole[0].figures) - {"toy_han_char_share"} == compression._BUILT_IN_KEYS


def test_a_built_in_figure_cannot_be_replaced() -> None:
    with pytest.raises(InputError, match="'tokens' is a built-in figure"):
        register_figure("tokens", han_char_share)
