"""A PNG of tokens per character by script and tokenizer (one panel per corpus).

matplotlib is imported here only, with the non-interactive Agg backend, so an analysis that asks
for no plot never pays for it and a missing matplotlib only fails this step.
"""

from __future__ import annotations

import io
from pathlib import Path

from tokkit.analyze.compression import Report
from tokkit.analyze.scripts import SCRIPTS
from tokkit.atomic import atomic_file
from tokkit.errors import MissingDependencyError

CHART_NOTE = ("whitespace is not drawn: sentencepiece's dummy prefix '▁' (one per line) is charged to "
              "it, so a line-split corpus shows a whitespace cost that says nothing about spaces")


def chart_scripts(first: dict[str, dict[str, float]]) -> list[str]:
    """The script classes a panel draws: those with at least 0.5% of the characters (two Latin
    letters in a Chinese book are noise), never ``whitespace`` (see :data:`CHART_NOTE`)."""
    total = sum(first[s]["chars"] for s in SCRIPTS)
    return [s for s in SCRIPTS
            if s != "whitespace" and first[s]["chars"] > 0 and first[s]["chars"] >= 0.005 * total]


def plot_png(report: Report) -> bytes:
    """Grouped bars: x = script class (:func:`chart_scripts`), one bar per tokenizer, y = tokens
    per character of that script; the x labels give UTF-8 bytes per character."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("matplotlib", "analyze") from None
    corpus_results = [r for r in report.results if r.file is None]
    corpora = list(dict.fromkeys(r.corpus for r in corpus_results))
    names = [t["name"] for t in report.tokenizers]
    fig, axes = plt.subplots(len(corpora), 1, figsize=(8, 3.2 * len(corpora)), squeeze=False)
    width = 0.8 / max(1, len(names))
    for ax, corpus in zip(axes[:, 0], corpora, strict=True):
        results = {r.tokenizer: r for r in corpus_results if r.corpus == corpus}
        first = results[names[0]].figures["scripts"]
        scripts = chart_scripts(first)
        for k, name in enumerate(names):
            values = [results[name].figures["scripts"][s]["token_cost_per_char"] or 0.0 for s in scripts]
            xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(scripts))]
            ax.bar(xs, values, width=width, label=name)
        ax.set_xticks(range(len(scripts)))
        ax.set_xticklabels([f"{s}\n{first[s]['bytes_per_char']:.1f} B/char" for s in scripts])
        ax.set_ylabel("tokens per character")
        ax.set_title(corpus)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small")
    fig.text(0.01, 0.005, CHART_NOTE, fontsize="x-small", color="0.35", wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def write_plot(report: Report, path: str | Path) -> Path:
    path = Path(path)
    data = plot_png(report)
    with atomic_file(path, "wb") as f:
        f.write(data)
    return path
