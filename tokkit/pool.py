"""Workers: which start method, an ordered map for the trainers' counting passes, and an ordered
window over any executor (analyze and the shard writer).

Both BPE chunk counting and Unigram word counting send ~1 MB batches of text to worker processes
and merge what comes back in input order (so the result never depends on the worker count), with
at most ``2 × workers`` batches in flight so memory holds a few batches, never the corpus."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from multiprocessing.context import BaseContext
from multiprocessing.pool import AsyncResult
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def pool_context() -> BaseContext:
    """``fork`` while single-threaded (cheap, and no ``__main__`` guard needed in scripts);
    ``forkserver`` once threads run (another thread could hold a lock at fork); tokkit's progress
    bars run no thread, so CLI commands fork."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def map_in_order(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` for each item, in input order, on ``workers`` processes.

    One worker or a single item runs in-process: starting a pool would cost more than the work.
    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one).
    """
    items = iter(items)
    head = list(itertools.islice(items, 2 if workers > 1 else 1))
    if len(head) < 2:
        for item in itertools.chain(head, items):
            yield item, fn(item)
        return
    in_flight: deque[tuple[T, AsyncResult[R]]] = deque()
    with pool_context().Pool(workers) as pool:
        for item in itertools.chain(head, items):
            in_flight.append((item, pool.apply_async(fn, (item,))))
            while len(in_flight) >= 2 * workers:
                done, result = in_flight.popleft()
                yield done, result.get()
        while in_flight:
            done, result = in_flight.popleft()
            yield done, result.get()


def submit_in_order(submit: Callable[[T], Future[R]], items: Iterable[T], window: int) -> Iterator[tuple[T, R]]:
    """``(item, result)`` for each item, in input order, with at most ``window`` items submitted and
    not yet yielded (so a pool works ahead by that much, and memory holds that many batches).

    ``submit`` hands one item to an executor (``lambda x: pool.submit(fn, x)``); when the consumer
    stops early, whatever is still pending is cancelled.
    """
    pending: deque[tuple[T, Future[R]]] = deque()
    try:
        for item in items:
            pending.append((item, submit(item)))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _, future in pending:
            future.cancel()
