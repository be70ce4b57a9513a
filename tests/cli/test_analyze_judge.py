"""``tokkit analyze`` with the paper figures: --parallel, --compare, --html, and their errors."""

from __future__ import annotations

import json
from pathlib import Path


def _parallel(corpora: Path, root: Path) -> Path:
    folder = root / "parallel"
    folder.mkdir()
    for lang in ("en", "fr", "ja"):
        text = (corpora / "parallel" / f"debian_reference.{lang}.txt").read_text(encoding="utf-8")
        (folder / f"ref.{lang}.txt").write_text("\n".join(text.split("\n")[:150]), encoding="utf-8")
    return folder


def test_parallel_html_and_json(corpora: Path, heldout: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                run_main) -> None:
    folder = _parallel(corpora, tmp_path)
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "tiktoken:o200k_base",
                    "-c", str(heldout / "en_dracula.txt"), "--max-bytes", "60000",
                    "--parallel", str(folder), "--html", str(tmp_path / "r.html"),
                    "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    assert "premium over English" in proc.stdout and "Rényi efficiency" in proc.stdout
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["schema"] == "tokkit.analyze/2" and data["compare"] is None
    assert [p["tokenizer"] for p in data["parity"]] == ["cl100k_base", "o200k_base"]
    for p in data["parity"]:
        assert p["premium"]["en"] == 1.0 and p["premium"]["ja"] > 1.0 and 0 < p["gini"] < 1
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count('class="line"') == 2 * 2  # two sample lines × two tokenizers


def test_compare_needs_no_positional_tokenizers(heldout: Path, llama_model: Path,  # type: ignore[no-untyped-def]
                                                tmp_path: Path, run_main) -> None:
    proc = run_main("-q", "analyze", "--compare", str(llama_model), str(llama_model),
                    "-c", str(heldout / "en_dracula.txt"), "--max-bytes", "20000", "--no-judge",
                    "--json", str(tmp_path / "c.json"))
    assert proc.returncode == 0, proc.stderr
    compare = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["compare"]
    assert compare["changed_lines"] == 0 and compare["new_tokens"] == 0
    assert compare["scripts"]["latin"]["tokens_saved"] == 0


def test_bad_parallel_folder_and_html_to_stdout(heldout: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                run, assert_clean_failure) -> None:
    (tmp_path / "one.de.txt").write_text("nur eine Sprache\n", encoding="utf-8")
    proc = run("analyze", "tiktoken:cl100k_base", "-c", str(heldout / "en_dracula.txt"),
               "--max-bytes", "5000", "--parallel", str(tmp_path), "--no-judge")
    assert_clean_failure(proc, str(tmp_path), "at least two")
    proc = run("analyze", "tiktoken:cl100k_base", "-c", str(heldout / "en_dracula.txt"),
               "--html", "-")
    assert_clean_failure(proc, "--html -", "file name")
    proc = run("analyze", "-c", str(heldout / "en_dracula.txt"))
    assert_clean_failure(proc, "no tokenizer given", "--compare BASE EXTENDED")
