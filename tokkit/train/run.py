"""One training run, from corpus paths to a finished output directory.

Every trainer (from scratch or library-backed, any algorithm) goes through :func:`train_to_dir`:
stream the corpus, hold out a small deterministic slice for evaluation, train, measure the slice's
bytes/token and chars/token, and write the tokenizer with a ``tokkit.json`` (what made it, with
which config, on what corpus, how long it took) atomically into place.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tokkit.atomic import atomic_dir, check_output_dir, output_lock
from tokkit.corpus.readers import ReadOptions, ReadStats, corpus_bytes, iter_files, read_texts
from tokkit.errors import CorpusError, InputError
from tokkit.load import write_meta
from tokkit.progress import NULL_PROGRESS
from tokkit.resources import MemoryWatch, peak_rss_mb
from tokkit.types import Progress, Tokenizer, Trainer

HELDOUT_EVERY = 100
"""Every 100th document is held out of training and used to evaluate the result."""
HELDOUT_MAX_BYTES = 4 << 20
"""Cap on the held-out slice kept in memory; later held-out documents go to training."""


@dataclass
class HeldoutSlice:
    """Documents diverted from the training stream for evaluation (bounded in memory)."""

    every: int = HELDOUT_EVERY
    max_bytes: int = HELDOUT_MAX_BYTES
    texts: list[str] = field(default_factory=list)
    bytes: int = 0

    def split(self, texts: Iterator[str]) -> Iterator[str]:
        """Yield the training texts; keep every ``every``-th text (until full) for evaluation."""
        for index, text in enumerate(texts):
            if self.every and index % self.every == self.every - 1 and self.bytes < self.max_bytes:
                self.texts.append(text)
                self.bytes += len(text.encode("utf-8"))
            else:
                yield text


@dataclass
class TrainReport:
    """What a run did, for the end-of-run table and ``tokkit.json``."""

    output: str
    kind: str
    algorithm: str
    backend: str
    vocab_size: int
    corpus_bytes: int
    documents: int
    seconds: float
    peak_rss_mb: float
    peak_tree_mb: float = 0.0
    """Largest summed PSS of this process and its workers seen at progress updates (shared pages
    once; a peak between updates can be missed); ``peak_rss_mb`` is the largest single process."""
    unique_chunks: int | None = None
    heldout_documents: int = 0
    heldout_bytes: int = 0
    heldout_tokens: int = 0
    bytes_per_token: float | None = None
    chars_per_token: float | None = None
    read: dict[str, Any] = field(default_factory=dict)
    trainer: dict[str, Any] = field(default_factory=dict)


def check_output(output: str | Path, *, force: bool, corpus: Sequence[str | Path] = ()) -> None:
    """Fail before hours of training, not after: the output exists (without ``force``), is not a
    tokkit output (with it), or is, holds or sits inside the ``corpus``."""
    check_output_dir(output, force=force, inputs=corpus)


def evaluate(tokenizer: Tokenizer, texts: Sequence[str]) -> tuple[int, int, int]:
    """(tokens, bytes, chars) of ``texts`` under ``tokenizer``."""
    tokens = sum(len(ids) for ids in tokenizer.encode_batch(list(texts)))
    return tokens, sum(len(t.encode("utf-8")) for t in texts), sum(len(t) for t in texts)


def train_to_dir(
    trainer: Trainer,
    *,
    corpus: Sequence[str | Path],
    output: str | Path,
    algorithm: str,
    backend: str,
    config: dict[str, Any],
    read_options: ReadOptions | None = None,
    force: bool = False,
    progress: Progress | None = None,
    heldout: HeldoutSlice | None = None,
) -> TrainReport:
    """Train ``trainer`` on ``corpus`` and write the tokenizer to ``output`` atomically.

    ``output`` is replaced only when training finished; an interrupted run leaves nothing behind.
    The output is locked from the start, so a second run into it stops at once.
    """
    with output_lock(output):
        check_output(output, force=force, corpus=corpus)
        return _train_to_dir(trainer, corpus=corpus, output=output, algorithm=algorithm, backend=backend,
                             config=config, read_options=read_options, force=force, progress=progress,
                             heldout=heldout)


def _train_to_dir(
    trainer: Trainer,
    *,
    corpus: Sequence[str | Path],
    output: str | Path,
    algorithm: str,
    backend: str,
    config: dict[str, Any],
    read_options: ReadOptions | None,
    force: bool,
    progress: Progress | None,
    heldout: HeldoutSlice | None,
) -> TrainReport:
    watch = MemoryWatch(progress or NULL_PROGRESS)
    progress = watch
    read_options = read_options or ReadOptions()
    heldout = heldout if heldout is not None else HeldoutSlice()
    stats = ReadStats()
    files = list(iter_files(corpus, stats))  # listed once: one warning per skipped file
    read_task = progress.task("reading corpus", total=corpus_bytes(files), unit="bytes")
    # (no files: the no-documents error below, not the reader's "no paths given")
    texts = read_texts(files, read_options, stats=stats, progress=read_task) if files else iter(())
    first = next(texts, None)
    if first is None:
        raise InputError(
            f"{', '.join(map(str, corpus))}: no documents to train on (empty or skipped files); "
            "check the corpus path and `split`/`text_field`"
        )
    start = time.perf_counter()
    try:
        tokenizer = trainer.train(heldout.split(itertools.chain([first], texts)), progress=progress)
    except CorpusError as err:
        raise InputError(f"{', '.join(map(str, corpus))}: {err}") from None
    seconds = time.perf_counter() - start
    return publish_training(tokenizer, trainer_stats=dict(getattr(trainer, "stats", {}) or {}),
                            stats=stats, seconds=seconds, watch=watch, corpus=corpus, output=output,
                            algorithm=algorithm, backend=backend, config=config,
                            read_options=read_options, force=force, heldout=heldout)


def publish_training(tokenizer: Tokenizer, *, trainer_stats: dict[str, Any], stats: ReadStats,
                     seconds: float, watch: MemoryWatch, corpus: Sequence[str | Path],
                     output: str | Path, algorithm: str, backend: str, config: dict[str, Any],
                     read_options: ReadOptions, force: bool, heldout: HeldoutSlice) -> TrainReport:
    """Evaluate a trained ``tokenizer`` on the held-out slice and write it with its
    ``tokkit.json`` and ``train_report.json`` atomically into ``output`` (under the caller's lock)."""
    watch.sample()
    report = TrainReport(
        output=str(output),
        kind=tokenizer.kind,
        algorithm=algorithm,
        backend=backend,
        vocab_size=tokenizer.vocab_size,
        corpus_bytes=stats.bytes,
        documents=stats.documents,
        seconds=round(seconds, 3),
        peak_rss_mb=round(peak_rss_mb(), 1),
        peak_tree_mb=round(watch.peak_mb, 1),
        unique_chunks=trainer_stats.get("unique_chunks"),
        read={k: v for k, v in asdict(stats).items() if k != "skipped_paths"},
        trainer=trainer_stats,
    )
    if heldout.texts:
        tokens, nbytes, nchars = evaluate(tokenizer, heldout.texts)
        report.heldout_documents = len(heldout.texts)
        report.heldout_bytes = nbytes
        report.heldout_tokens = tokens
        report.bytes_per_token = round(nbytes / tokens, 4) if tokens else None
        report.chars_per_token = round(nchars / tokens, 4) if tokens else None
    with atomic_dir(output, force=force, inputs=corpus) as tmp:
        tokenizer.save(tmp)
        write_meta(
            tmp,
            {
                "format_version": 1,
                "kind": report.kind,
                "algorithm": algorithm,
                "backend": backend,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "config": config,
                "read_options": asdict(read_options),
                "corpus": [str(p) for p in corpus],
                "report": asdict(report),
            },
        )
        write_train_report(tmp, report)
    return report


TRAIN_REPORT = "train_report.json"


def write_train_report(directory: Path, report: TrainReport) -> None:
    """``train_report.json``: the run's figures (time, peak memory, held-out compression) on their
    own, for scripts and dashboards; ``tokkit.json`` holds them too, beside what made the tokenizer."""
    (directory / TRAIN_REPORT).write_text(
        json.dumps({"format": "tokkit.train_report/1", **asdict(report)}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")
