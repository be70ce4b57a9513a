"""The ordered process map and the ordered executor window: input order kept, whatever the worker
count."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future

from tokkit.pool import map_in_order, submit_in_order


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_come_back_in_input_order_from_worker_processes() -> None:
    out = list(map_in_order(_square_and_pid, range(20), workers=2))
    assert [item for item, _ in out] == list(range(20))
    assert [square for _, (square, _) in out] == [x * x for x in range(20)]
    assert os.getpid() not in {pid for _, (_, pid) in out}  # counted in workers


def test_one_item_or_one_worker_runs_in_process() -> None:
    for items, workers in (([3], 2), ([1, 2, 3], 1)):
        out = list(map_in_order(_square_and_pid, items, workers=workers))
        assert [square for _, (square, _) in out] == [x * x for x in items]
        assert {pid for _, (_, pid) in out} == {os.getpid()}
    assert list(map_in_order(_square_and_pid, [], workers=2)) == []


def test_submit_in_order_keeps_order_and_bounds_the_window() -> None:
    from concurrent.futures import ThreadPoolExecutor

    submitted: list[int] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        def submit(x: int) -> Future[int]:
            submitted.append(x)
            return pool.submit(lambda: x * x)

        seen = []
        for item, square in submit_in_order(submit, range(10), window=3):
            # when item k comes back, at most k + 3 items were handed to the pool
            assert len(submitted) <= item + 3
            seen.append((item, square))
        assert seen == [(x, x * x) for x in range(10)]


def test_submit_in_order_cancels_what_is_pending_when_stopped() -> None:
    from concurrent.futures import ThreadPoolExecutor

    futures: list[Future[int]] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        gate = threading.Event()

        def submit(x: int) -> Future[int]:
            futures.append(pool.submit(gate.wait if x else (lambda: True)))
            return futures[-1]

        jobs = submit_in_order(submit, range(5), window=3)
        assert next(jobs) == (0, True)
        jobs.close()
        gate.set()
    assert len(futures) == 3 and futures[2].cancelled()


def test_workers_mean_the_same_everywhere() -> None:
    """0 (or the older None) = every core, 1 = in this process, N = N; negative is refused."""
    import os

    import pytest

    from tokkit.errors import InputError
    from tokkit.pool import worker_count

    cores = os.cpu_count() or 1
    assert worker_count(0) == worker_count(None) == cores
    assert (worker_count(1), worker_count(3)) == (1, 3)
    with pytest.raises(InputError, match="0 \\(auto\\), 1 \\(in-process\\)"):
        worker_count(-1)
