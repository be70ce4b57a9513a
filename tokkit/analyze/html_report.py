"""``write_html``: the HTML report, one self-contained page to look at, tiktokenizer-style.

Everything is inline (CSS, SVG charts, no script, no font or CDN), so the file opens from a file URL
on a machine with no network and stays a few hundred KB for the sample corpora. Each sample line is
shown once per tokenizer as coloured token spans: one ``<span class="tok">`` per token id, its
``title`` giving the id and the bytes (hover), byte-fallback pieces and partial-character tokens
marked; the DOM test in tests/analyze counts those spans against the tokenizer's ids.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokkit.analyze.compression import Report
from tokkit.analyze.measure import Measurer, NamedTokenizer
from tokkit.analyze.token_bytes import FALLBACK, PARTIAL, SPECIAL, UNKNOWN
from tokkit.atomic import atomic_file
from tokkit.han import TITLE as HAN_TITLE

SAMPLE_CHARS = 240
"""A sample line is cut to this many characters: enough to see the splits, small pages."""
PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fed7aa", "#a5f3fc",
           "#f5d0fe")
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#111;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ddd;padding:2px 8px;
text-align:right}th:first-child,td:first-child{text-align:left}
.sample{margin:.6em 0 1.2em}.who{font-weight:600;font-size:.85em;color:#555;margin-top:.3em}
.line{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
.tok{border-radius:3px;padding:0 1px;margin:0 1px 0 0}
.tok.fallback{outline:2px solid #dc2626;font-size:.75em}
.tok.partial{outline:2px dashed #d97706;font-size:.75em}
.tok.special{background:#e5e7eb!important;color:#6b7280}
.n{color:#555;font-size:.85em}svg text{font:12px system-ui,sans-serif}
"""


@dataclass
class Span:
    id: int
    text: str
    bytes_hex: str
    kind: str  # "", "fallback", "partial", "special"
    of: str = ""  # the character(s) a byte piece is part of


def token_spans(m: Measurer, text: str) -> list[Span]:
    """One span per id of ``text`` under ``m``'s tokenizer."""
    ids = [int(i) for i in m.encode_batch([text])[0]]
    spans = []
    for i in ids:
        surface = m.table.surfaces[i] if 0 <= i < m.table.size else b""
        flags = int(m.table.flags[i]) if 0 <= i < m.table.size else UNKNOWN
        if flags & FALLBACK:
            kind = "fallback"
        elif flags & PARTIAL:
            kind = "partial"
        elif flags & (SPECIAL | UNKNOWN):
            kind = "special"
        else:
            kind = ""
        if kind in ("fallback", "partial"):
            shown = "".join(f"\\x{b:02x}" for b in surface)
        elif surface:
            shown = surface.decode("utf-8", errors="replace")
        else:
            shown = m.tokenizer.id_to_token(i) if kind == "special" else "?"
        spans.append(Span(i, shown, surface.hex(" "), kind))
    _name_split_characters(spans, [m.table.surfaces[s.id] if 0 <= s.id < m.table.size else b""
                                   for s in spans])
    return spans


def _name_split_characters(spans: list[Span], surfaces: list[bytes]) -> None:
    """Tell each run of byte pieces which character(s) its bytes make, as ``explain`` does: the
    run's first span shows them, the others a dot (their bytes are in the hover)."""
    start, buf = 0, b""
    for k, span in enumerate(spans):
        if span.kind not in ("fallback", "partial"):
            start, buf = k + 1, b""
            continue
        buf += surfaces[k]
        try:
            whole = buf.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for n, piece in enumerate(spans[start:k + 1]):
            piece.of = whole
            piece.text = whole if n == 0 else "·"  # the character once, its other pieces dots
        start, buf = k + 1, b""


def _figure_table(report: Report, corpus: str) -> str:
    rows = [("tokens", "tokens", "{:,}"), ("tokens / char", "tokens_per_char", "{:.3f}"),
            (HAN_TITLE, "tokens_per_han_char", "{:.3f}"),
            ("tokens / word", "tokens_per_word", "{:.3f}"),
            ("Rényi efficiency (α=2.5)", "renyi_efficiency", "{:.3f}"),
            ("Shannon efficiency", "shannon_efficiency", "{:.3f}"),
            ("words kept whole", "words_whole_share", "{:.1%}"),
            ("Han chars in vocab (occurrences)", "han_vocab_coverage", "{:.1%}"),
            ("top Han chars in vocab", "han_top_coverage", "{:.1%}"),
            ("byte-fallback tokens", "byte_fallback_rate", "{:.1%}")]
    health = [("unreachable tokens", "unreachable", "{:,}"),
              ("never used here", "never_used", "{:,}"),
              ("residue candidates", "residue_candidates", "{:,}")]
    names = [t["name"] for t in report.tokenizers]
    figs = [report.result(n, corpus).figures for n in names]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = []
    for title, key, fmt in rows:
        cells = "".join(f"<td>{_fmt(f.get(key), fmt)}</td>" for f in figs)
        body.append(f"<tr><td>{title}</td>{cells}</tr>")
    for title, key, fmt in health:
        cells = "".join(f"<td>{_fmt((f.get('health') or {}).get(key), fmt)}</td>" for f in figs)
        body.append(f"<tr><td>{title}</td>{cells}</tr>")
    return f"<table><tr><th>figure</th>{head}</tr>{''.join(body)}</table>"


def _fmt(value: Any, fmt: str) -> str:
    return "–" if value is None else html.escape(fmt.format(value))


def _bars(title: str, groups: Sequence[str], series: dict[str, list[float | None]]) -> str:
    """A grouped horizontal bar chart as inline SVG: one group per label, one bar per series."""
    names = list(series)
    values = [v for vs in series.values() for v in vs if v is not None]
    top = max(values, default=0.0) or 1.0
    bar, gap, left, width = 12, 10, 110, 520
    height = len(groups) * (len(names) * bar + gap) + 30 + 16 * len(names)
    out = [f'<svg role="img" aria-label="{html.escape(title)}" width="{left + width + 80}" '
           f'height="{height}" xmlns="http://www.w3.org/2000/svg">']
    y = 10
    for g, group in enumerate(groups):
        out.append(f'<text x="0" y="{y + len(names) * bar / 2 + 4}">{html.escape(group)}</text>')
        for s, name in enumerate(names):
            v = series[name][g]
            if v is not None:
                w = width * v / top
                out.append(f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}"'
                           f' fill="{PALETTE[s % len(PALETTE)]}" stroke="#555" stroke-width=".5">'
                           f'<title>{html.escape(name)}: {v:.3f}</title></rect>')
                out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}">{v:.2f}</text>')
            y += bar
        y += gap
    for s, name in enumerate(names):
        out.append(f'<rect x="{left}" y="{y + 16 * s}" width="10" height="10" '
                   f'fill="{PALETTE[s % len(PALETTE)]}"/>'
                   f'<text x="{left + 14}" y="{y + 16 * s + 9}">{html.escape(name)}</text>')
    out.append("</svg>")
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{''.join(out)}</figure>"


def _script_chart(report: Report, corpus: str) -> str:
    names = [t["name"] for t in report.tokenizers]
    from tokkit.analyze.plot import CHART_NOTE, chart_scripts

    used = chart_scripts(report.result(names[0], corpus).figures["scripts"])
    series = {n: [report.result(n, corpus).figures["scripts"][s]["token_cost_per_char"] for s in used]
              for n in names}
    return _bars(f"{corpus}: tokens per character, by script (lower is cheaper; {CHART_NOTE})", used, series)


def _parity_section(report: Report) -> str:
    if not report.parity:
        return ""
    langs = list(report.parity[0]["premium"])
    head = "".join(f"<th>{html.escape(lang)}</th>" for lang in langs)
    rows = "".join(
        f"<tr><td>{html.escape(p['tokenizer'])}</td>"
        + "".join(f"<td>{p['premium'][lang]:.2f}</td>" for lang in langs)
        + f"<td>{p['gini']:.3f}</td></tr>" for p in report.parity)
    chart = _bars("premium over English, per language (1.0 = parity)", langs,
                  {p["tokenizer"]: [p["premium"][lang] for lang in langs] for p in report.parity})
    return (f"<h2>Parity across languages</h2><table><tr><th>tokenizer</th>{head}<th>Gini</th>"
            f"</tr>{rows}</table>{chart}")


def _compare_section(report: Report) -> str:
    c = report.compare
    if not c:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{d['lines']:,}</td><td>{d['changed_lines']:,}</td>"
        f"<td>{d['tokens_before']:,}</td><td>{d['tokens_after']:,}</td>"
        f"<td>{_fmt(d['saved_share'], '{:.1%}')}</td></tr>" for s, d in c["scripts"].items())
    return (f"<h2>Extension: {html.escape(c['base'])} → {html.escape(c['extended'])}</h2>"
            "<table><tr><th>lines by script</th><th>lines</th><th>changed</th><th>tokens before"
            f"</th><th>after</th><th>saved</th></tr>{rows}</table><p>{c['new_tokens']:,} new "
            f"tokens, {c['new_tokens_used']:,} used on this corpus.</p>")


def _samples_section(measurers: Sequence[Measurer], corpus: str, lines: Sequence[str]) -> str:
    out = [f"<h3>{html.escape(corpus)}: sample lines</h3>"]
    for n, line in enumerate(lines):
        out.append(f'<div class="sample" data-sample="{n}">')
        for m in measurers:
            spans = token_spans(m, line)
            body = "".join(
                f'<span class="tok{" " + s.kind if s.kind else ""}" data-id="{s.id}" '
                f'style="background:{PALETTE[k % len(PALETTE)]}" '
                f'title="id {s.id} · {s.bytes_hex or "no bytes"}'
                f'{" · part of " + html.escape(s.of) if s.of else ""}">{html.escape(s.text)}</span>'
                for k, s in enumerate(spans))
            out.append(f'<div class="who">{html.escape(m.named.name)} <span class="n">'
                       f'{len(spans)} tokens</span></div><div class="line" data-tokenizer='
                       f'"{html.escape(m.named.name)}" data-ids="{len(spans)}">{body}</div>')
        out.append("</div>")
    return "".join(out)


def render_html(report: Report, tokenizers: Sequence[NamedTokenizer],
                samples: dict[str, list[str]]) -> str:
    """The page: figures and charts per corpus, parity, the extension diff, token spans."""
    measurers = [Measurer(t) for t in tokenizers]
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>tokkit analyze: "
             f"{html.escape(', '.join(t.name for t in tokenizers))}</title><style>{_CSS}</style>"
             "</head><body><h1>tokkit analyze</h1>"
             f"<p>Baseline: <b>{html.escape(report.baseline)}</b>. Definitions: docs/analyze.md."
             " Hover a token for its id and bytes; <span class='tok fallback'>byte-fallback</span>"
             " and <span class='tok partial'>partial-character</span> tokens are marked.</p>"]
    for c in report.corpora:
        name = c["name"]
        parts.append(f"<h2>{html.escape(name)}</h2><p class=n>{c['documents']:,} documents, "
                     f"{c['bytes']:,} bytes</p>{_figure_table(report, name)}"
                     f"{_script_chart(report, name)}")
        if samples.get(name):
            parts.append(_samples_section(measurers, name, samples[name]))
    parts.append(_parity_section(report))
    parts.append(_compare_section(report))
    parts.append("</body></html>\n")
    return "".join(parts)


def sample_lines(paths: Sequence[str | Path], *, per_file: int = 2, limit: int = 6) -> list[str]:
    """The first ``per_file`` lines of 8+ characters of each file (cut to :data:`SAMPLE_CHARS`),
    at most ``limit`` in all: a folder of English and Chinese shows both."""
    from tokkit.corpus.readers import ReadOptions, iter_files, read_documents

    out: list[str] = []
    for path in iter_files(list(paths)):
        taken = 0
        for doc in read_documents([path], ReadOptions(split="line")):
            text = doc.text.strip()
            if len(text) >= 8:
                out.append(text[:SAMPLE_CHARS])
                taken += 1
            if taken == per_file or len(out) == limit:
                break
        if len(out) == limit:
            break
    return out


def write_html(report: Report, path: str | Path, tokenizers: Sequence[NamedTokenizer],
               samples: dict[str, list[str]]) -> Path:
    path = Path(path)
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write(render_html(report, tokenizers, samples))
    return path
