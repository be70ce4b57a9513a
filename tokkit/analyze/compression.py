"""How many tokens a corpus costs under each tokenizer, and why: ``analyze`` and its figures.

The corpus is read once, in batches of about 1 MB, each from one file; every tokenizer encodes each
batch with its own batch encoder (:mod:`tokkit.analyze.measure` tallies them). Files arrive one
after the other, so per-file results are computed as soon as a file ends and its tallies dropped.
Definitions of every figure are in docs/analyze.md.

>>> report = analyze(["tiktoken:cl100k_base"], {"zh": ["zh.txt"]})  # doctest: +SKIP
>>> report.results[0].figures["tokens_per_han_char"]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.analyze.judge import Judge, efficiency_figures
from tokkit.analyze.lexicon import SAMPLE_BYTES, Lexicon, lexicon
from tokkit.analyze.measure import (
    Measurer,
    TextTally,
    TokenTally,
    measure_batches,
    open_tokenizers,
    text_tally,
)
from tokkit.analyze.parallel import MeasurePool, can_ship
from tokkit.analyze.scripts import HAN, OTHER, SCRIPTS
from tokkit.analyze.token_bytes import FALLBACK, PARTIAL, UNKNOWN, TokenTable
from tokkit.batches import batched
from tokkit.corpus.readers import ReadOptions, ReadStats, iter_files, read_documents
from tokkit.errors import InputError
from tokkit.han import tokens_per_han_char
from tokkit.progress import NULL_PROGRESS
from tokkit.types import Progress, ProgressTask, Tokenizer

log = logging.getLogger("tokkit")

BATCH_BYTES = 1 << 20
"""Text per batch in this process: the libraries' batch encoders and numpy amortize their per-call
cost best around here."""
WORKER_BATCH_BYTES = 1 << 18
"""Text per batch sent to a worker process: smaller, so the workers stay evenly loaded to the end."""
PARALLEL_MIN_BYTES = 2 << 20
"""``workers=0`` analyzes in worker processes from this much text on. Forked, they start in
~0.05 s; from a process running threads of its own they start by forkserver (~1–2 s), which pays
off only on larger corpora (pass ``workers=1`` there for small ones)."""


@dataclass(frozen=True, kw_only=True)
class AnalyzeConfig:
    """How to read and sample the corpus.

    ``max_bytes`` caps the UTF-8 text read per corpus, split evenly over its files (so a folder of
    books is sampled from every book); the last document of a file is cut at a character boundary.
    ``by_file`` adds one result per file beside the per-corpus one. ``batch_bytes``: text per
    batch (``None``: :meth:`batch_size`). ``workers``: processes that
    encode and tally (1 = this process, 0 = one per CPU from :data:`PARALLEL_MIN_BYTES` of text
    on); the figures never depend on it.
    """

    read: ReadOptions = field(default_factory=lambda: ReadOptions(split="line"))
    max_bytes: int | None = None
    by_file: bool = False
    batch_bytes: int | None = None
    workers: int = 0
    judge: bool = True

    def __post_init__(self) -> None:
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise InputError(f"`max_bytes={self.max_bytes}`: must be a positive number of bytes")
        if self.batch_bytes is not None and self.batch_bytes <= 0:
            raise InputError(f"batch_bytes {self.batch_bytes}: must be positive")
        if self.workers < 0:
            raise InputError(f"`workers={self.workers}`: pass 0 (auto), 1 (in-process) or more")

    def batch_size(self, workers: int) -> int:
        """``batch_bytes``, or by default :data:`BATCH_BYTES` in-process, :data:`WORKER_BATCH_BYTES`
        with workers."""
        if self.batch_bytes is not None:
            return self.batch_bytes
        return WORKER_BATCH_BYTES if workers > 1 else BATCH_BYTES

    def worker_count(self, planned_bytes: int) -> int:
        """Processes to use for ``planned_bytes`` of text (1 = analyze in this process)."""
        if self.workers:
            return self.workers
        cpus = os.cpu_count() or 1
        return cpus if cpus > 1 and planned_bytes >= PARALLEL_MIN_BYTES else 1


# --- figures ---------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


Figure = Callable[[TextTally, TokenTally, TokenTable, int], Any]
"""``(text, tokens, table, vocab_size) -> value``: one figure from the tallies :func:`figures` gets."""

EXTRA_FIGURES: dict[str, Figure] = {}
"""Figures added with :func:`register_figure`, computed after the built-in ones."""


def register_figure(key: str, compute: Figure) -> None:
    """Add a figure to every result under ``key`` (show it with
    :func:`tokkit.analyze.report.register_column`); built-in keys cannot be replaced."""
    if key in _BUILT_IN_KEYS:
        raise InputError(f"figure key '{key}' is a built-in figure; choose another key")
    EXTRA_FIGURES[key] = compute


def figures(text: TextTally, tokens: TokenTally, table: TokenTable, vocab_size: int) -> dict[str, Any]:
    """Every figure of one tokenizer on one text (see docs/analyze.md for definitions), then the
    registered ones (:data:`EXTRA_FIGURES`)."""
    out = _built_in_figures(text, tokens, table, vocab_size)
    for key, compute in EXTRA_FIGURES.items():
        out[key] = compute(text, tokens, table, vocab_size)
    return out


def _built_in_figures(text: TextTally, tokens: TokenTally, table: TokenTable,
                      vocab_size: int) -> dict[str, Any]:
    hist = tokens.histogram
    n_tokens = int(hist.sum())
    used = hist > 0
    flags = table.flags
    fallback = int(hist[(flags & FALLBACK).astype(bool)].sum())
    unknown = int(hist[(flags & UNKNOWN).astype(bool)].sum())
    partial = int(hist[(flags & PARTIAL).astype(bool)].sum())
    han_chars = int(text.script_chars[HAN])
    han_whole = int(hist @ table.han_whole)
    script_tokens = hist.astype(np.float64) @ table.scripts + tokens.split_scripts
    script_tokens[OTHER] += float(hist[table.lengths == 0].sum())
    scripts = {}
    for i, name in enumerate(SCRIPTS):
        chars, nbytes, cost = int(text.script_chars[i]), int(text.script_bytes[i]), float(script_tokens[i])
        scripts[name] = {
            "chars": chars,
            "bytes": nbytes,
            "bytes_per_char": _ratio(nbytes, chars),
            "tokens": cost,
            "token_cost_per_char": _ratio(cost, chars),
            "bytes_per_token": _ratio(nbytes, cost),
        }
    n_used = int(used.sum())
    return {
        **efficiency_figures(hist, vocab_size),
        "documents": text.documents,
        "chars": text.chars,
        "bytes": text.bytes,
        "words": text.words,
        "han_chars": han_chars,
        "tokens": n_tokens,
        "chars_per_token": _ratio(text.chars, n_tokens),
        "bytes_per_token": _ratio(text.bytes, n_tokens),
        "tokens_per_char": _ratio(n_tokens, text.chars),
        "tokens_per_han_char": tokens_per_han_char(n_tokens, han_chars),
        "tokens_per_word": _ratio(n_tokens, text.words),
        "byte_fallback_tokens": fallback,
        "byte_fallback_rate": _ratio(fallback, n_tokens),
        "unk_tokens": unknown,
        "unk_rate": _ratio(unknown, n_tokens),
        "partial_char_tokens": partial,
        "partial_char_rate": _ratio(partial, n_tokens),
        "han_whole": han_whole,
        "han_split": tokens.han_split,
        "han_whole_share": _ratio(han_whole, han_chars),
        "han_split_share": _ratio(tokens.han_split, han_chars),
        "vocab_size": vocab_size,
        "vocab_used": n_used,
        "vocab_utilization": _ratio(n_used, vocab_size),
        "mean_token_bytes": _ratio(int(table.lengths[used].sum()), n_used),
        "mean_token_chars": _ratio(int(table.nchars[used].sum()), n_used),
        "roundtrip_exact": tokens.roundtrip_exact,
        "roundtrip_rate": _ratio(tokens.roundtrip_exact, text.documents),
        "scripts": scripts,
    }


_BUILT_IN_KEYS = frozenset({
    "renyi_efficiency", "shannon_efficiency", "documents", "chars", "bytes", "words", "han_chars",
    "tokens", "chars_per_token", "bytes_per_token", "tokens_per_char", "tokens_per_han_char",
    "tokens_per_word", "byte_fallback_tokens", "byte_fallback_rate", "unk_tokens", "unk_rate",
    "partial_char_tokens", "partial_char_rate", "han_whole", "han_split", "han_whole_share",
    "han_split_share", "vocab_size", "vocab_used", "vocab_utilization", "mean_token_bytes",
    "mean_token_chars", "roundtrip_exact", "roundtrip_rate", "scripts", "health",
    "words_whole_share", "han_vocab_coverage", "han_top_coverage", "han_distinct", "han_top",
})


def versus(figs: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Ratios against the baseline tokenizer on the same text (``0.53`` = 0.53× its tokens)."""
    return {
        "tokens_ratio": _ratio(figs["tokens"], base["tokens"]),
        "scripts": {
            name: _ratio(figs["scripts"][name]["tokens"], base["scripts"][name]["tokens"])
            for name in SCRIPTS
        },
    }


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Result:
    """One tokenizer on one corpus (``file`` is None) or one file of it."""

    tokenizer: str
    corpus: str
    file: str | None
    figures: dict[str, Any]
    vs_baseline: dict[str, Any] | None = None


@dataclass
class Report:
    """Everything one ``analyze`` run measured; :meth:`to_json` is the documented schema."""

    config: AnalyzeConfig
    tokenizers: list[dict[str, Any]]
    corpora: list[dict[str, Any]]
    results: list[Result]
    parity: list[dict[str, Any]] = field(default_factory=list)
    compare: dict[str, Any] | None = None

    @property
    def baseline(self) -> str:
        return str(self.tokenizers[0]["name"])

    def result(self, tokenizer: str, corpus: str, file: str | None = None) -> Result:
        for r in self.results:
            if (r.tokenizer, r.corpus, r.file) == (tokenizer, corpus, file):
                return r
        raise KeyError((tokenizer, corpus, file))

    def to_json(self) -> dict[str, Any]:
        from tokkit import __version__

        config = asdict(self.config)
        config["read"] = asdict(self.config.read)
        return {
            "schema": SCHEMA,
            "tokkit_version": __version__,
            "config": config,
            "baseline": self.baseline,
            "scripts": list(SCRIPTS),
            "tokenizers": self.tokenizers,
            "corpora": self.corpora,
            "results": [asdict(r) for r in self.results],
            "parity": self.parity,
            "compare": self.compare,
        }


SCHEMA = "tokkit.analyze/2"


def _sample(files: Sequence[Path], config: AnalyzeConfig, stats: ReadStats) -> Iterator[tuple[str, str]]:
    """Yield (source file, text) of a corpus, within ``max_bytes`` split evenly over its files."""
    budget = None if config.max_bytes is None else max(1, config.max_bytes // max(1, len(files)))
    for path in files:
        left = budget
        for doc in read_documents([path], config.read, stats=stats):
            text = doc.text
            if left is not None:
                raw = text.encode("utf-8")
                if len(raw) > left:
                    text = raw[:left].decode("utf-8", errors="ignore")
                    if text:
                        yield doc.source, text
                    break
                left -= len(raw)
            yield doc.source, text
            if left == 0:
                break


def _batches(pairs: Iterator[tuple[str, str]], batch_bytes: int) -> Iterator[tuple[str, list[str], list[bytes]]]:
    """Group texts into batches of one source file each, about ``batch_bytes`` UTF-8 bytes long."""
    triples = ((source, text, text.encode("utf-8")) for source, text in pairs)
    for batch in batched(triples, batch_bytes, size=lambda t: len(t[2]), key=lambda t: t[0]):
        yield batch[0][0], [text for _, text, _ in batch], [raw for _, _, raw in batch]


def analyze(
    tokenizers: Sequence[str | Path | Tokenizer],
    corpora: Mapping[str, Sequence[str | Path]] | Sequence[str | Path],
    *,
    config: AnalyzeConfig | None = None,
    progress: Progress | None = None,
) -> Report:
    """Measure every tokenizer on every corpus; the first tokenizer is the baseline.

    ``corpora`` maps a corpus name to its paths (files, folders, globs); a plain list of paths
    makes one corpus per path, named after it.
    """
    config = config or AnalyzeConfig()
    progress = progress or NULL_PROGRESS
    if not tokenizers:
        raise InputError("no tokenizer given; name at least one (a path or tiktoken:NAME)")
    if not isinstance(corpora, Mapping):
        corpora = {Path(p).name or str(p): [p] for p in corpora}
    if not corpora:
        raise InputError("no corpus given; pass `corpora=PATH`")
    named = open_tokenizers(tokenizers)
    measurers = [Measurer(n) for n in named]
    judges = [Judge(m.tokenizer, m.table, m.encode_batch) for m in measurers] if config.judge \
        else None
    stats = {name: ReadStats() for name in corpora}
    # a file named twice in one corpus is read once
    files = {name: list(dict.fromkeys(iter_files(paths, stats[name]))) for name, paths in corpora.items()}
    planned = {name: _planned_bytes(files[name], config) for name in corpora}
    task = progress.task("analyzing", total=sum(planned.values()), unit="bytes")
    results: list[Result] = []
    corpus_info: list[dict[str, Any]] = []
    with ExitStack() as stack:
        workers = config.worker_count(sum(planned.values()))
        if workers > 1 and not can_ship(measurers):
            log.info("analyze: a tokenizer cannot be sent to worker processes; analyzing in-process")
            workers = 1
        pool = stack.enter_context(MeasurePool(measurers, workers)) if workers > 1 else None
        for corpus, paths in corpora.items():
            batches = _batches(_sample(files[corpus], config, stats[corpus]), config.batch_size(workers))
            measured = pool.measure(batches) if pool else measure_batches(measurers, batches)
            corpus_results = _analyze_corpus(measurers, corpus, paths, measured, planned[corpus],
                                             task, config, corpus_info)
            if judges is not None:
                lex = lexicon(text for _, text in _sample(
                    files[corpus], replace(config, max_bytes=min(config.max_bytes or SAMPLE_BYTES,
                                                                 SAMPLE_BYTES)), ReadStats()))
                _judge(corpus_results, judges, lex)
            for r in corpus_results:
                r.figures.pop("_histogram", None)
            results += corpus_results
    tokenizer_info = [
        {
            "name": m.named.name,
            "spec": m.named.spec,
            "kind": m.tokenizer.kind,
            "vocab_size": m.tokenizer.vocab_size,
            "byte_fallback": m.table.byte_fallback,
        }
        for m in measurers
    ]
    return Report(config=config, tokenizers=tokenizer_info, corpora=corpus_info, results=results)


def _judge(results: list[Result], judges: Sequence[Judge], lex: Lexicon) -> None:
    """Add the judged figures to a corpus' whole-corpus results (one per tokenizer, in order)."""
    whole = [r for r in results if r.file is None]
    for result, judge in zip(whole, judges, strict=True):
        result.figures.update(judge.lexicon_figures(lex))
        result.figures["health"] = judge.health(result.figures["_histogram"])


def _analyze_corpus(measurers: Sequence[Measurer], corpus: str, paths: Sequence[str | Path],
                    measured: Iterator[tuple[str, TextTally, list[TokenTally]]], planned: int,
                    task: ProgressTask, config: AnalyzeConfig,
                    corpus_info: list[dict[str, Any]]) -> list[Result]:
    """Sum one corpus's measured batches into its results (and its files' with ``by_file``)."""
    corpus_text = TextTally()
    corpus_tokens = [m.empty() for m in measurers]
    file_results: list[Result] = []
    seen: list[str] = []
    # files arrive one after the other, so a file's tallies are dropped once it is reported:
    # memory stays one histogram per tokenizer (plus one per file being read with by_file)
    file_text: TextTally | None = None
    file_tokens: list[TokenTally] = []
    done = 0
    for source, batch_text, tallies in measured:
        if not seen or seen[-1] != source:
            if file_text is not None:
                file_results += _results(measurers, corpus, seen[-1], file_text, file_tokens)
            seen.append(source)
            file_text = TextTally() if config.by_file else None
            file_tokens = [m.empty() for m in measurers] if config.by_file else []
        corpus_text.add(batch_text)
        for total, tally in zip(corpus_tokens, tallies, strict=True):
            total.add(tally)
        if file_text is not None:
            file_text.add(batch_text)
            for total, tally in zip(file_tokens, tallies, strict=True):
                total.add(tally)
        task.advance(batch_text.bytes)
        done += batch_text.bytes
    if file_text is not None:
        file_results += _results(measurers, corpus, seen[-1], file_text, file_tokens)
    task.advance(max(0, planned - done))
    if not corpus_text.documents:
        shown = ", ".join(map(str, paths))
        raise InputError(
            f"{shown}: no text to analyze (empty, binary or blank files); pass a corpus with text"
        )
    corpus_info.append({
        "name": corpus,
        "paths": [str(p) for p in paths],
        "files": seen,
        "documents": corpus_text.documents,
        "bytes": corpus_text.bytes,
        "sampled": config.max_bytes is not None,
    })
    return _results(measurers, corpus, None, corpus_text, corpus_tokens) + file_results


def _results(measurers: Sequence[Measurer], corpus: str, file: str | None, text: TextTally,
             tallies: Sequence[TokenTally]) -> list[Result]:
    """One result per tokenizer on the same text, ratios against the first."""
    out: list[Result] = []
    base: dict[str, Any] | None = None
    for m, tally in zip(measurers, tallies, strict=True):
        figs = figures(text, tally, m.table, m.tokenizer.vocab_size)
        if file is None:
            figs["_histogram"] = tally.histogram  # for the judged figures; popped before returning
        out.append(Result(m.named.name, corpus, file, figs, None if base is None else versus(figs, base)))
        base = base or figs
    return out


def measure_texts(
    tokenizers: Sequence[str | Path | Tokenizer], texts: Sequence[str]
) -> list[dict[str, Any]]:
    """The figures of each tokenizer on in-memory ``texts`` (each one document), in one batch."""
    texts = list(texts)
    encoded = [t.encode("utf-8") for t in texts]
    text = text_tally(texts, encoded)
    out = []
    for named in open_tokenizers(tokenizers):
        m = Measurer(named)
        out.append(figures(text, m.measure(texts, encoded), m.table, named.tokenizer.vocab_size))
    return out


def _planned_bytes(files: Sequence[Path], config: AnalyzeConfig) -> int:
    size = sum(p.stat().st_size for p in files)
    return size if config.max_bytes is None else min(size, config.max_bytes)
