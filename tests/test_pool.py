"""The trainers' ordered process map: input order kept, whatever the worker count."""

from __future__ import annotations

import os

from tokkit.pool import map_in_order


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
