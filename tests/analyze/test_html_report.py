"""The HTML report, opened in a real browser: headless Chromium parses the page, and the DOM it
builds must hold exactly one token span per id for every sample and tokenizer.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it where it can); without it the
browser test skips with the reason. The screenshot is kept in ``$TOKKIT_ARTIFACTS`` (default
``.artifacts/`` in the project) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sentencepiece as spm

from tokkit.analyze.compression import AnalyzeConfig, analyze
from tokkit.analyze.html_report import sample_lines, write_html
from tokkit.analyze.measure import open_tokenizers
from tokkit.analyze.parity import measure_parity
from tokkit.load import load_tokenizer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


class Lines(HTMLParser):
    """Each ``div.line``: its tokenizer, announced id count and the token spans inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, object]] = []
        self._in: dict[str, object] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div" and (a.get("class") or "").split() == ["line"]:
            self._in = {"tokenizer": a["data-tokenizer"], "ids": int(a["data-ids"] or -1),
                        "spans": 0, "text": ""}
            self._depth = 1
            self.lines.append(self._in)
        elif self._in is not None:
            self._depth += tag == "div"
            if tag == "span" and "tok" in (a.get("class") or "").split():
                self._in["spans"] = int(self._in["spans"]) + 1  # type: ignore[call-overload]

    def handle_endtag(self, tag: str) -> None:
        if self._in is not None and tag == "div":
            self._depth -= 1
            if self._depth == 0:
                self._in = None


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, heldout: Path, corpora: Path,
         llama_model: Path) -> tuple[Path, list[str], dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("html")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in ("zh_zizhitongjian.txt", "en_dracula.txt"):
        lines = (heldout / name).read_text(encoding="utf-8").split("\n")[:300]
        (corpus / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    parallel = root / "parallel"
    parallel.mkdir()
    for lang in ("en", "de", "zh-tw"):
        text = (corpora / "parallel" / f"debian_reference.{lang}.txt").read_text(encoding="utf-8")
        (parallel / f"book.{lang}.txt").write_text("\n".join(text.split("\n")[:200]),
                                                   encoding="utf-8")
    specs = ["tiktoken:cl100k_base", str(llama_model)]
    report = analyze(specs, {"sample": [corpus]}, config=AnalyzeConfig(workers=1))
    report.parity = [p.to_json() for p in measure_parity(specs, parallel)]
    samples = {"sample": sample_lines([corpus])}
    path = write_html(report, root / "report.html", open_tokenizers(specs), samples)
    return path, specs, samples


def test_page_is_self_contained_and_small(page: tuple[Path, list[str], dict[str, list[str]]]
                                          ) -> None:
    path, _, samples = page
    text = path.read_text(encoding="utf-8")
    assert len(path.read_bytes()) < 300_000
    for remote in ("<script", "<link", "src=", "@import", "url("):
        assert remote not in text
    assert "Parity across languages" in text and "zh-tw" in text
    assert len(samples["sample"]) == 4  # two lines of each file
    assert any("\u4e00" <= c <= "\u9fff" for line in samples["sample"] for c in line)


def _ids(spec: str, text: str) -> list[int]:
    """The library's own ids, not tokkit's wrapper."""
    if spec.startswith("tiktoken:"):
        return list(load_tokenizer(spec).encoding.encode_ordinary(text))  # type: ignore[attr-defined]
    return list(spm.SentencePieceProcessor(model_file=spec).encode(text))


def test_browser_renders_one_span_per_token(page: tuple[Path, list[str], dict[str, list[str]]]
                                            ) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH: install Debian's chromium package (.ci/run does, as root)")
    path, specs, samples = page
    profile = path.parent / "chromium-profile"
    run = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*run, "--dump-dom", path.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    parser = Lines()
    parser.feed(dom)
    names = [t.name for t in open_tokenizers(specs)]
    lines = samples["sample"]
    assert len(parser.lines) == len(lines) * len(specs)
    for k, found in enumerate(parser.lines):
        line, spec = lines[k // len(specs)], specs[k % len(specs)]
        assert found["tokenizer"] == names[k % len(specs)]
        assert found["spans"] == found["ids"] == len(_ids(spec, line)), (spec, line)
    artifacts = Path(os.environ.get("TOKKIT_ARTIFACTS", ROOT / ".artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "analyze-report.png"
    shot.unlink(missing_ok=True)
    subprocess.run([*run, f"--screenshot={shot}", "--window-size=1200,2000", path.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
