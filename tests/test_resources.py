"""The memory figures runs report about themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tokkit.resources import MemoryWatch, tree_pss_mb


def test_tree_memory_includes_child_processes() -> None:
    alone = tree_pss_mb()
    # a child that touches 200 MiB, then waits to be measured
    child = subprocess.Popen([sys.executable, "-c",
                              "import sys, time; b = b'x' * (200 << 20); print(flush=True); time.sleep(30)"],
                             stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"\n"
        assert tree_pss_mb() > alone + 180
        assert tree_pss_mb(child.pid) > 180
    finally:
        child.kill()
        child.wait()
    assert tree_pss_mb(child.pid) == 0  # gone


class Recorder:
    def __init__(self) -> None:
        self.advanced = 0

    def task(self, description: str, total: int | None = None, *, unit: str = ""):  # type: ignore[no-untyped-def]
        recorder = self

        class Task:
            def advance(self, n: int = 1) -> None:
                recorder.advanced += n

            def update_total(self, total: int | None) -> None:
                pass

        return Task()


def test_memory_watch_samples_on_progress_at_most_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    samples: list[float] = []
    monkeypatch.setattr("tokkit.resources.tree_pss_mb", lambda: samples.append(1.0) or 100.0 + len(samples))
    inner = Recorder()
    monkeypatch.setattr("tokkit.resources.SAMPLE_SECONDS", 3600.0)
    watch = MemoryWatch(inner)
    task = watch.task("reading", 10, unit="bytes")
    for _ in range(5):
        task.advance(2)
    assert inner.advanced == 10  # passed on
    assert len(samples) == 1 and watch.peak_mb == 101.0  # first advance samples, then throttled
    monkeypatch.setattr("tokkit.resources.SAMPLE_SECONDS", 0.0)
    eager = MemoryWatch(inner)
    eager_task = eager.task("merging")
    eager_task.advance()
    eager_task.advance()
    assert eager.peak_mb == 103.0


def test_training_samples_its_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BPE counting in two worker processes: the memory watch sees them while they run."""
    import psutil

    import tokkit.resources
    import tokkit.train.bpe_count
    from tokkit.corpus.readers import ReadOptions
    from tokkit.train.bpe import BPETrainer
    from tokkit.train.config import BPEConfig
    from tokkit.train.run import train_to_dir

    monkeypatch.setattr(tokkit.train.bpe_count, "BATCH_CHARS", 20_000)  # many batches for the pool
    monkeypatch.setattr(tokkit.resources, "SAMPLE_SECONDS", 0.0)  # the run is shorter than one interval
    # children left by earlier tests (a forkserver, a resource tracker) do not count
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    seen_workers: list[int] = []
    measure = tokkit.resources.tree_pss_mb

    def counting_children(pid: int | None = None) -> float:
        seen_workers.append(len({p.pid for p in psutil.Process().children(recursive=True)} - before))
        return measure(pid)

    monkeypatch.setattr(tokkit.resources, "tree_pss_mb", counting_children)
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"line {i} 中文 text\n" for i in range(20_000)), encoding="utf-8")
    report = train_to_dir(BPETrainer(BPEConfig(vocab_size=300, workers=2)), corpus=[corpus],
                          output=tmp_path / "out", algorithm="bpe", backend="scratch", config={},
                          read_options=ReadOptions(split="line"))
    assert max(seen_workers) >= 2  # sampled while the counting workers were alive
    assert report.peak_tree_mb > 0 and report.peak_rss_mb > 0
    assert '"peak_tree_mb"' in (tmp_path / "out" / "tokkit.json").read_text(encoding="utf-8")


def test_own_peak_is_this_process_and_zero_for_no_process() -> None:
    import os

    from tokkit.resources import own_peak_mb, peak_rss_mb

    mine = own_peak_mb()
    assert 5 < mine <= peak_rss_mb(children=False) + 1  # VmHWM and ru_maxrss: the same peak
    assert abs(own_peak_mb(os.getpid()) - mine) < 50
    assert own_peak_mb(2**31 - 1) == 0.0  # no such process
