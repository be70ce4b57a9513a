"""One tokens-per-Han-character figure (issue 14.8): analyze's headline and Markdown (which the
pipeline report embeds, and whose figure its analyze rows copy), extend-llama's and extend's
before/after tables (the comparisons and the CLI table built from them) show the same number for the same tokenizer and text, and the
per-script row is named apart."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import sentencepiece as spm

from tokkit.analyze.compression import AnalyzeConfig, analyze
from tokkit.analyze.report import markdown
from tokkit.han import TITLE, han_chars, tokens_per_han_char


@pytest.fixture(scope="module")
def zh_lines(heldout: Path) -> list[str]:
    with open(heldout / "zh_zizhitongjian.txt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in itertools.islice(f, 400) if line.strip()]


def test_every_report_shows_one_tokens_per_han_char(zh_lines: list[str], llama_model: Path,
                                                     tmp_path: Path) -> None:
    from tokkit.cli.llama import comparison_table
    from tokkit.llama.bytelevel_extend import compare as compare_bytelevel
    from tokkit.llama.compare import compare as compare_spm

    text = tmp_path / "zh.txt"
    text.write_text("\n".join(zh_lines) + "\n", encoding="utf-8")
    sp = spm.SentencePieceProcessor(model_file=str(llama_model))
    want = tokens_per_han_char(sum(map(len, sp.encode(zh_lines))), sum(map(han_chars, zh_lines)))
    assert want is not None and 1.0 < want < 3.0

    report = analyze([str(llama_model)], {"zh": [text]}, config=AnalyzeConfig())
    figures = next(r.figures for r in report.results if r.file is None)
    assert figures["tokens_per_han_char"] == pytest.approx(want, rel=1e-12)
    # the per-script row is another quantity (tokens spent on Han only), under another name
    assert figures["scripts"]["han"]["token_cost_per_char"] < want
    assert "tokens_per_char" not in figures["scripts"]["han"]

    spm_cmp = compare_spm("zh", zh_lines, sp, sp)
    byte_cmp = compare_bytelevel("zh", zh_lines, sp.encode, sp.encode)
    for c in (spm_cmp, byte_cmp):
        assert c.tokens_per_han_before == c.tokens_per_han_after == pytest.approx(want, rel=1e-12)

    md = markdown(report)
    rows = [line for line in md.splitlines() if line.startswith(f"| {TITLE} |")]
    assert rows == [f"| {TITLE} | {want:.3f} |"]
    assert not re.search(r"^\| tokens/char by script", md, re.M)
    table = comparison_table("t", [spm_cmp], lambda c: 0.0)
    row = next(i for i, cell in enumerate(table.columns[0].cells) if cell == TITLE)
    assert [list(col.cells)[row] for col in table.columns[1:]] == [f"{want:.3f}"] * 2

