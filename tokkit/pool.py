"""Workers: which start method, an ordered map for the trainers' counting passes, and an ordered
window over any executor (analyze and the shard writer).

Both BPE chunk counting and Unigram word counting send ~1 MB batches of text to worker processes
and merge what comes back in input order (so the result never depends on the worker count), with
at most ``2 × workers`` batches in flight so memory holds a few batches, never the corpus.

Ctrl-C is the parent's business: worker processes start with SIGINT blocked
(:func:`interrupts_held`), so a terminal's Ctrl-C, sent to the whole process group, reaches only
the parent, which terminates its workers instead of waiting for them; a worker never prints a
traceback of its own, nor dies of the signal holding a queue lock the parent then waits for."""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from multiprocessing.pool import AsyncResult
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


_FORK_SAFE: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def fork_safe(thread: threading.Thread) -> threading.Thread:
    """Mark a thread that only ever blocks in ``os.read`` and holds no lock a forked child could
    need (the CLI's interrupt watchdog), so that it does not stop :func:`pool_context` forking."""
    _FORK_SAFE.add(thread)
    return thread


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent ends (Linux ``PR_SET_PDEATHSIG``): a
    parent that ends at once on Ctrl-C (``os._exit``) then never leaves a worker behind, busy
    with a batch or waiting on a pipe that a sibling still holds open. Spawned workers call it
    from their initializer; forked ones get it from :class:`_AfterFork`."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent ended before the call: nobody will signal us
        os._exit(1)


class _AfterFork:
    """What every forked worker does first: :func:`die_with_parent`."""

    def __call__(self, _obj: object) -> None:
        die_with_parent()


_AFTER_FORK = _AfterFork()
multiprocessing.util.register_after_fork(_AFTER_FORK, _AFTER_FORK)


def pool_context() -> BaseContext:
    """``fork`` while single-threaded (cheap, and no ``__main__`` guard needed in scripts);
    ``forkserver`` once threads run (another thread could hold a lock at fork); tokkit's progress
    bars run no thread, so CLI commands fork."""
    methods = multiprocessing.get_all_start_methods()
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and t not in _FORK_SAFE]
    if "fork" in methods and not others:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Start processes inside this block and they never see SIGINT.

    The signal is blocked in the calling thread while the block runs; a child inherits the mask
    through fork and exec (every start method), and a Ctrl-C that arrives meanwhile is delivered
    to the parent as soon as the block ends, so none is lost.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process groups to share a Ctrl-C
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def worker_count(workers: int | None) -> int:
    """Processes for a ``workers`` setting, the one meaning every stage gives it: 0 = auto (every
    core here; ``None`` is an older spelling of it), 1 = in this process, N = N processes.

    Stages with a better automatic choice (sharding through a Rust tokenizer, analysis of a small
    corpus) make it themselves before falling back to this.
    """
    if workers is not None and workers < 0:
        from tokkit.errors import InputError

        raise InputError(f"`workers={workers}`: pass 0 (auto), 1 (in-process) or more")
    return workers or os.cpu_count() or 1


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
    with interrupts_held():
        pool = pool_context().Pool(workers)
    try:
        for item in itertools.chain(head, items):
            in_flight.append((item, pool.apply_async(fn, (item,))))
            while len(in_flight) >= 2 * workers:
                done, result = in_flight.popleft()
                yield done, result.get()
        while in_flight:
            done, result = in_flight.popleft()
            yield done, result.get()
    except BaseException:  # an error, Ctrl-C, or the consumer stopping early (GeneratorExit)
        pool.terminate()  # SIGTERM to the workers, whatever they are doing; never a join on work
        raise
    pool.close()
    pool.join()


def submit_in_order(submit: Callable[[T], Future[R]], items: Iterable[T], window: int) -> Iterator[tuple[T, R]]:
    """``(item, result)`` for each item, in input order, with at most ``window`` items submitted and
    not yet yielded (so a pool works ahead by that much, and memory holds that many batches).

    ``submit`` hands one item to an executor (``lambda x: pool.submit(fn, x)``); when the consumer
    stops early, whatever is still pending is cancelled.

    Processes an executor starts inside ``submit`` start with SIGINT blocked (:func:`interrupts_held`).
    """
    pending: deque[tuple[T, Future[R]]] = deque()
    try:
        for item in items:
            with interrupts_held():
                future = submit(item)
            pending.append((item, future))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _, future in pending:
            future.cancel()
