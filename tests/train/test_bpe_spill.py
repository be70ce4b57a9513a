"""Chunk counting that spills sorted runs to disk: the same merges, and no file left behind."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import tokkit.train.bpe_count as bpe_count
from tokkit.train.bpe import BPETrainer
from tokkit.train.bpe_merge_numba import available
from tokkit.train.bpe_spill import (
    ENTRY_BYTES,
    WORKER_BYTES,
    counter_limit,
    counting_workers,
    merge_runs,
    read_run,
    write_run,
)
from tokkit.train.config import BPEConfig

TEXTS = [f"line {i} 第{i}行 low lower lowest 我们学习中文 {i * 7919 % 1000} " + "汉字" * (i % 7)
         for i in range(600)] + ["汉字" * 2000 + " word" * 30, "\ud800 lone surrogate", ""]
KERNELS = ["python"] + (["numba"] if available() else [])


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Batches of ~2 kB (many per corpus) and temp files under ``tmp_path``."""
    monkeypatch.setattr(bpe_count, "BATCH_CHARS", 2000)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("kernel", KERNELS)
def test_spilling_learns_the_merges_of_an_unbounded_run(kernel: str, small_batches: Path) -> None:
    unbounded = BPETrainer(BPEConfig(vocab_size=700, workers=1, merge_kernel=kernel))
    expected = unbounded.train(TEXTS).merges
    assert unbounded.stats["spilled_runs"] == 0
    bounded = BPETrainer(BPEConfig(vocab_size=700, workers=1, merge_kernel=kernel,
                                   max_memory=400 * ENTRY_BYTES))  # 100 chunks in the counter
    assert bounded.train(TEXTS).merges == expected and len(expected) == 700 - 256
    assert bounded.stats["spilled_runs"] > 5
    assert bounded.stats["unique_chunks"] == unbounded.stats["unique_chunks"]
    assert list(small_batches.iterdir()) == []  # the spill directory is gone


def test_spilled_runs_are_removed_when_training_is_interrupted(small_batches: Path) -> None:
    seen: list[list[Path]] = []

    def texts() -> Iterator[str]:
        for i, text in enumerate(TEXTS):
            if i == 400:
                seen.append(list(small_batches.rglob("run-*.bin")))
                raise KeyboardInterrupt
            yield text

    with pytest.raises(KeyboardInterrupt):
        BPETrainer(BPEConfig(vocab_size=700, workers=1, max_memory=400 * ENTRY_BYTES)).train(texts())
    assert len(seen[0]) > 2  # runs were on disk when the interrupt came
    assert list(small_batches.iterdir()) == []


def test_merged_runs_sum_equal_chunks_in_sorted_order(tmp_path: Path) -> None:
    first = write_run(Counter({"b": 2, "a": 1, "汉": 4, "": 1}), tmp_path, 0)
    second = write_run(Counter({"b": 3, "c": 1, "\ud800": 2}), tmp_path, 1)
    assert list(read_run(first)) == [(b"", 1), (b"a", 1), (b"b", 2), ("汉".encode(), 4)]
    read: list[int] = []

    class Task:
        def advance(self, n: int = 1) -> None:
            read.append(n)

        def update_total(self, total: int | None) -> None:
            pass

    utf8, lengths, weights = merge_runs([first, second], Task())
    assert sum(read) == first.stat().st_size + second.stat().st_size
    assert utf8.tobytes() == b"abc" + "汉".encode() + "\ud800".encode("utf-8", "surrogatepass")
    assert lengths.tolist() == [0, 1, 1, 1, 3, 3] and weights.tolist() == [1, 1, 5, 1, 4, 2]
    empty = merge_runs([])
    assert [len(a) for a in empty] == [0, 0, 0]


def test_counter_limit_follows_max_memory() -> None:
    assert counter_limit(1 << 30) == (1 << 30) // 4 // ENTRY_BYTES
    assert counter_limit(1) == 1


def test_counting_workers_are_those_that_fit_beside_the_counter() -> None:
    """Two workers take ~250 MB: under ``--max-memory 300MB`` they alone broke the limit (the sample
    peaked at 467 MB while counting); the counting now runs in this process there."""
    used = 104_000_000  # the interpreter with numba loaded, as measured
    assert counting_workers(300_000_000, 2, in_use=used) == 1
    assert counting_workers(1_000_000_000, 2, in_use=used) == 2
    assert counting_workers(1_000_000_000, 16, in_use=used) == (750_000_000 - used) // WORKER_BYTES == 4
    assert counting_workers(12_000_000_000, 16, in_use=used) == 16
    assert counting_workers(300_000_000, 1, in_use=used) == 1
    assert counting_workers(1_000, 2, in_use=used) == 1  # nothing fits: still one process


def test_a_tight_max_memory_counts_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int | None] = []
    real = bpe_count.count_chunks

    def count_chunks(*args: object, workers: int | None, **kwargs: object) -> object:
        asked.append(workers)
        return real(*args, workers=workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("tokkit.train.bpe.count_chunks", count_chunks)
    tight = BPETrainer(BPEConfig(vocab_size=300, workers=2, max_memory=300_000_000)).train(TEXTS)
    # far above any test process's RSS (torch and Ray loaded by earlier tests), so two workers fit
    roomy = BPETrainer(BPEConfig(vocab_size=300, workers=2, max_memory=100_000_000_000)).train(TEXTS)
    assert asked == [1, 2] and tight.merges == roomy.merges


def test_the_spill_directory_is_a_live_temporary_while_it_exists(tmp_path: Path) -> None:
    from tokkit.atomic import LIVE_TEMPORARIES
    from tokkit.train.bpe_spill import spill_directory

    with spill_directory(tmp_path) as spill:
        assert spill in LIVE_TEMPORARIES and spill.parent == tmp_path  # the watchdog removes it
    assert spill not in LIVE_TEMPORARIES and not spill.exists()


def test_a_merge_phase_beyond_max_memory_is_said(small_batches: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="tokkit"):
        BPETrainer(BPEConfig(vocab_size=300, workers=1, max_memory=10_000)).train(TEXTS)
    assert "the merge phase needs about" in caplog.text and "more than `max_memory`" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="tokkit"):
        BPETrainer(BPEConfig(vocab_size=300, workers=1, max_memory=1 << 30)).train(TEXTS)
    assert "merge phase" not in caplog.text


@pytest.mark.skipif(not available(), reason="numba is not installed (tokkit[fast])")
@pytest.mark.parametrize("block", [7, 1 << 20])
def test_runs_merged_to_a_file_lay_out_as_the_merged_arrays_do(tmp_path: Path, block: int) -> None:
    """The bounded path lays chunks out from one merged run file read in blocks (a record may
    span many): the same slots and weights as from the chunks' arrays."""
    import numpy as np

    from tokkit.train.bpe_spans import Spans
    from tokkit.train.bpe_spill import merge_runs_to_file

    first = write_run(Counter({"b": 2, "a": 1, "汉字" * 9: 4, "": 1}), tmp_path, 0)
    second = write_run(Counter({"b": 3, "c": 1, "\ud800": 2, "汉字" * 9: 1}), tmp_path, 1)
    merged = merge_runs_to_file([first, second], tmp_path / "merged.bin")
    assert (merged.chunks, merged.heavy, merged.utf8_bytes) == (6, 3, 1 + 1 + 1 + 54 + 3)
    assert list(read_run(merged.path)) == [(b"", 1), (b"a", 1), (b"b", 5), (b"c", 1),
                                           ("汉字".encode() * 9, 5), ("\ud800".encode("utf-8", "surrogatepass"), 2)]
    want = Spans.from_utf8(*merge_runs([first, second]), 2, 300)
    got = Spans.from_run(merged, 2, 300, block=block)
    assert np.array_equal(got.sym, want.sym) and got.light_from == want.light_from
    assert got.heavy_weight.tolist() == want.heavy_weight.tolist() == [5, 5, 2]
    assert np.array_equal(got.heavy_start, want.heavy_start)
