"""Analysis in worker processes gives exactly the in-process report, whatever the start method."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tokkit.analyze import parallel
from tokkit.analyze.compression import (
    BATCH_BYTES,
    PARALLEL_MIN_BYTES,
    WORKER_BATCH_BYTES,
    AnalyzeConfig,
    analyze,
)
from tokkit.analyze.measure import Measurer, open_tokenizers
from tokkit.errors import TokkitError
from tokkit.train.bpe import BPETrainer
from tokkit.train.config import BPEConfig
from tokkit.types import Tokenizer


@pytest.fixture
def two_files(tmp_path: Path, sample_texts: list[str]) -> Path:
    """The tricky sample split over two files, so by-file results and file boundaries are covered."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    half = len(sample_texts) // 2
    (folder / "a.txt").write_text("\n".join(sample_texts[:half]) + "\n", encoding="utf-8")
    (folder / "b.txt").write_text("\n".join(sample_texts[half:]) + "\n", encoding="utf-8")
    return folder


def report(tokenizers: Sequence[Any], corpus: Path, workers: int) -> dict[str, Any]:
    # 4 KB batches: dozens of batches, so several are in flight on each worker
    config = AnalyzeConfig(by_file=True, batch_bytes=4096, workers=workers)
    data = analyze(tokenizers, {"c": [corpus]}, config=config).to_json()
    data["config"].pop("workers")
    return data


def test_workers_report_what_one_process_reports(
    two_files: Path, llama_model: Path, hf_byte_level: Path, hf_wordpiece: Path, spm_unigram: Path
) -> None:
    specs = [str(llama_model), str(hf_byte_level), str(hf_wordpiece), str(spm_unigram), "tiktoken:o200k_base"]
    one = report(specs, two_files, workers=1)
    assert len(one["results"]) == len(specs) * 3  # the corpus and its two files
    assert report(specs, two_files, workers=2) == one
    assert report(specs, two_files, workers=3) == one


def test_tokenizer_objects_reach_workers_by_pickle(two_files: Path, training_text: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With threads running, workers start from a fresh interpreter (forkserver), so the measurers,
    tokenizers included, travel by pickle: tokkit's own from-scratch tokenizer too."""
    tok = BPETrainer(BPEConfig(vocab_size=400, workers=1)).train(training_text[:2000])
    one = report([tok], two_files, workers=1)
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    monkeypatch.setattr(parallel, "pool_context", lambda: multiprocessing.get_context(method))
    assert parallel.can_ship([Measurer(n) for n in open_tokenizers([tok])])
    assert report([tok], two_files, workers=2) == one


class NotPicklable:
    """A tokenizer wrapper holding a lambda: it cannot travel by pickle."""

    kind = "custom"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.encode = lambda text: inner.encode(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_unpicklable_tokenizer_falls_back_to_one_process(two_files: Path, training_text: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    tok = NotPicklable(BPETrainer(BPEConfig(vocab_size=400, workers=1)).train(training_text[:2000]))
    monkeypatch.setattr(parallel, "pool_context", lambda: multiprocessing.get_context("spawn"))
    started: list[int] = []
    monkeypatch.setattr(parallel.MeasurePool, "__init__", lambda self, m, w: started.append(w))
    data = report([tok], two_files, workers=2)
    assert started == [] and data["results"][0]["figures"]["documents"] > 0


class OutOfVocabulary(Tokenizer):
    """Reports a vocabulary of 10 but emits id 99: analysis must refuse it, from a worker too
    (the batch members and ``vocab_bytes`` are the protocol's plain ones)."""

    kind = "broken"
    vocab_size = 10
    special_tokens: Mapping[str, int] = {}

    def encode(self, text: str) -> list[int]:
        return [99]

    def decode(self, ids: Sequence[int]) -> str:
        return ""

    def id_to_token(self, id: int) -> str:
        return f"t{id}"


class DiesInWorkers(OutOfVocabulary):
    """Encodes fine in the parent, kills the process anywhere else (a worker killed mid-batch)."""

    def __init__(self) -> None:
        self.parent = os.getpid()

    def encode(self, text: str) -> list[int]:
        if os.getpid() != self.parent:
            os._exit(3)
        return [1]


def test_a_dead_worker_is_a_clean_error(two_files: Path) -> None:
    with pytest.raises(TokkitError, match=r"worker process died or could not start.*`workers=1`"):
        report([DiesInWorkers()], two_files, workers=2)


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_errors_arrive_as_the_same_clean_error(two_files: Path, workers: int) -> None:
    with pytest.raises(TokkitError, match="produced id 99 outside its vocabulary of 10"):
        report([OutOfVocabulary()], two_files, workers=workers)


def test_auto_workers_only_for_a_large_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    auto = AnalyzeConfig()
    assert auto.worker_count(PARALLEL_MIN_BYTES - 1) == 1
    assert auto.worker_count(PARALLEL_MIN_BYTES) == 4
    assert AnalyzeConfig(workers=3).worker_count(10) == 3
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert auto.worker_count(10 * PARALLEL_MIN_BYTES) == 1
    assert (auto.batch_size(1), auto.batch_size(4)) == (BATCH_BYTES, WORKER_BATCH_BYTES)
    assert AnalyzeConfig(batch_bytes=100).batch_size(4) == 100
    with pytest.raises(TokkitError, match="`workers=-1`"):
        AnalyzeConfig(workers=-1)
