"""The report formats: JSON (checked against the schema in docs/analyze.md), Markdown, PNG."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tokkit.analyze.compression import SCHEMA, AnalyzeConfig, Report, analyze
from tokkit.analyze.plot import write_plot
from tokkit.analyze.report import markdown, write_json, write_markdown
from tokkit.analyze.scripts import SCRIPTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "analyze.md"


def documented_keys() -> dict[str, set[str]]:
    """Section title → the backticked keys of its table, from docs/analyze.md."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            sections[current] = set()
        elif current and (m := re.match(r"\| `([a-z_]+)` \|", line)):
            sections[current].add(m.group(1))
    return sections


@pytest.fixture(scope="module")
def report(heldout: Path, llama_model: Path) -> Report:
    corpora = {"zh": [heldout / "zh_zizhitongjian.txt"], "en": [heldout / "en_dracula.txt"]}
    return analyze([llama_model, "tiktoken:cl100k_base"], corpora,
                   config=AnalyzeConfig(max_bytes=40_000, by_file=True))


def test_json_matches_the_documented_schema(report: Report, tmp_path: Path) -> None:
    path = write_json(report, tmp_path / "out.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    doc = documented_keys()
    assert set(data) == doc["Top level"]
    assert data["schema"] == SCHEMA and data["baseline"] == "llama"
    assert data["scripts"] == list(SCRIPTS)
    assert all(set(t) == doc["tokenizers[]"] for t in data["tokenizers"])
    assert all(set(c) == doc["corpora[]"] for c in data["corpora"])
    assert len(data["results"]) == 2 * 2 * 2  # tokenizers × corpora × (corpus + its one file)
    for r in data["results"]:
        assert set(r) == doc["results[]"]
        judged = doc["judged figures"] if r["file"] is None else set()
        assert set(r["figures"]) == doc["figures"] | judged
        if r["file"] is None:
            assert set(r["figures"]["health"]) == doc["health"]
        assert set(r["figures"]["scripts"]) == set(SCRIPTS)
        for entry in r["figures"]["scripts"].values():
            assert set(entry) == doc["figures.scripts.&lt;script&gt;"]
        if r["tokenizer"] == "llama":
            assert r["vs_baseline"] is None
        else:
            assert set(r["vs_baseline"]) == doc["vs_baseline"]
            assert set(r["vs_baseline"]["scripts"]) == set(SCRIPTS)
    assert set(data["config"]) == {"read", "max_bytes", "by_file", "batch_bytes", "workers", "judge"}


def test_ratios_and_sampling(report: Report) -> None:
    llama = report.result("llama", "zh").figures
    cl100k = report.result("cl100k_base", "zh")
    assert cl100k.vs_baseline is not None
    assert cl100k.vs_baseline["tokens_ratio"] == pytest.approx(cl100k.figures["tokens"] / llama["tokens"])
    han = cl100k.vs_baseline["scripts"]["han"]
    assert han == pytest.approx(cl100k.figures["scripts"]["han"]["tokens"] / llama["scripts"]["han"]["tokens"])
    # --max-bytes: at most 40,000 bytes, cut at a character boundary, and per-file rows equal the
    # corpus rows when the corpus is one file
    assert 39_990 <= llama["bytes"] <= 40_000
    file_row = report.result("llama", "zh", str(report.corpora[0]["files"][0])).figures
    assert file_row == {k: v for k, v in llama.items() if k in file_row}
    assert "health" in llama and "health" not in file_row  # judged once per corpus
    # English has no Han characters: the ratio is null, not a division error
    assert report.result("llama", "en").figures["tokens_per_han_char"] is None


def test_markdown_has_both_tables(report: Report, tmp_path: Path) -> None:
    text = markdown(report)
    assert "| figure | llama | cl100k_base |" in text
    assert "| token cost/char by script | chars | UTF-8 bytes/char | llama | cl100k_base |" in text
    zh = report.result("cl100k_base", "zh").figures
    assert f"| han | {zh['scripts']['han']['chars']:,} | 3.00 |" in text
    ratio = report.result("cl100k_base", "zh").vs_baseline["tokens_ratio"]  # type: ignore[index]
    assert f"{ratio:.2f}× llama" in text
    assert write_markdown(report, tmp_path / "t.md").read_text(encoding="utf-8").startswith("**zh")


def test_plot_is_a_png(report: Report, tmp_path: Path) -> None:
    path = write_plot(report, tmp_path / "plot.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically


def test_the_chart_leaves_out_whitespace_and_noise_scripts() -> None:
    """LLaMA's dummy prefix made whitespace the tallest bar of every Chinese chart."""
    from tokkit.analyze.plot import chart_scripts
    from tokkit.analyze.scripts import SCRIPTS

    first = {s: {"chars": 0} for s in SCRIPTS}
    first.update({"whitespace": {"chars": 5_000}, "han": {"chars": 90_000}, "punctuation": {"chars": 9_000},
                  "latin": {"chars": 100}})
    assert chart_scripts(first) == [s for s in SCRIPTS if s in ("han", "punctuation")]
