"""Ctrl-C ends any command within two seconds: one line, no traceback, no half-written output.

Python turns SIGINT into ``KeyboardInterrupt`` only between bytecodes, so a command inside a long
native call (sentencepiece's or ``tokenizers``' training, a numpy pass, freeing a large count
table) would not notice a Ctrl-C for minutes. The signal module also writes every signal number to
a "wakeup" pipe the moment it arrives; a watchdog thread reads that pipe and, if the command has not
finished unwinding :data:`GRACE_SECONDS` later, ends the process itself the same way the main
thread would: temporaries removed, workers killed, one line, exit code 130.

The normal path (the main thread reaching :func:`exit_interrupted` through ``KeyboardInterrupt``)
also ends with ``os._exit``: a run's cleanup already happened while the exception unwound (temp
outputs removed by :mod:`tokkit.atomic`), and what is left, tearing down gigabytes of counts or
joining worker pools at interpreter exit, is exactly what made Ctrl-C hang.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing import forkserver, resource_tracker
from pathlib import Path
from typing import NoReturn

from tokkit.atomic import LIVE_TEMPORARIES
from tokkit.pool import fork_safe, interrupts_held

GRACE_SECONDS = 1.2
"""How long the main thread gets to unwind by itself before the watchdog ends the process."""

INTERRUPTED = "interrupted; no output was written (re-run to start again)"
"""The line for a command whose outputs are all written atomically (nothing is kept)."""

_describe: Callable[[], str | None] | None = None

_exiting = threading.Lock()
_installed = False
_received = False


def install_watchdog() -> None:
    """Once per process, from the main thread: watch for SIGINT."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGINT)
    ours = current is signal.default_int_handler or getattr(current, "tokkit_starting", False)
    if not hasattr(signal, "set_wakeup_fd") or not ours:
        return  # SIGINT ignored (a background job) or handled by someone else: leave it alone
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    signal.signal(signal.SIGINT, _on_interrupt)
    thread = threading.Thread(target=_watch, args=(read,), name="tokkit-interrupt-watchdog", daemon=True)
    with interrupts_held():  # the thread inherits the mask: SIGINT is always the main thread's
        fork_safe(thread).start()
    _installed = True


def say_on_interrupt(describe: Callable[[], str | None] | None) -> None:
    """Make the interrupt line ``describe()`` (what the command keeps, and whether a re-run
    resumes) instead of :data:`INTERRUPTED`; it returns None while that line is still true. Called
    at the moment of the interrupt, possibly from the watchdog thread: keep it cheap."""
    global _describe
    _describe = describe


def interrupt_message() -> str:
    """The line Ctrl-C prints now: the command's own (:func:`say_on_interrupt`) or the default."""
    if _describe is not None:
        try:
            line = _describe()
        except Exception:
            line = None
        if line:
            return line
    return INTERRUPTED


def received() -> bool:
    """Whether Ctrl-C was pressed: an error that follows it (a library reporting the interrupted
    callback as its own failure) is reported as the interrupt it is."""
    return _received


def _on_interrupt(signum: int, frame: object) -> None:
    global _received
    _received = True
    raise KeyboardInterrupt


def guarded() -> bool:
    """Whether this process ends itself on Ctrl-C (the real ``tokkit`` entry point), so the CLI
    may ``os._exit``; in-process callers (tests, notebooks) get a plain ``SystemExit``."""
    return _installed


def _watch(read: int) -> None:
    while True:
        try:
            data = os.read(read, 512)
        except OSError:
            return
        if signal.SIGINT in data:
            time.sleep(GRACE_SECONDS)
            if not _exiting.acquire(timeout=0.5):  # the main thread is exiting but stuck: end anyway
                os.write(2, f"\nerror: {interrupt_message()}\n".encode())
                os._exit(130)
            _exiting.release()
            exit_interrupted(interrupt_message())  # raw write: the main thread may hold the console's lock


def exit_interrupted(message: str, say: Callable[[str], None] | None = None) -> NoReturn:
    """Remove live temporaries, kill worker processes, print ``error: message``, exit 130 now.

    Whoever comes first (the main thread or the watchdog) does it; the other waits for the end.
    ``say`` prints the line (the CLI's console); without it the line is written to fd 2 directly.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut this short
    _exiting.acquire()
    try:
        for path in list(LIVE_TEMPORARIES):
            _remove(path)
        _kill_children()
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stdout
            sys.stdout.flush()
        if say is not None:
            say(message)
            sys.stderr.flush()
        else:
            os.write(2, f"\nerror: {message}\n".encode())
    finally:
        os._exit(130)


def _kill_children() -> None:
    """Kill and reap worker processes and multiprocessing's helpers (whose resource tracker would
    otherwise warn about the semaphores of pools that were never shut down)."""
    helpers = [getattr(resource_tracker._resource_tracker, "_pid", None),
               getattr(forkserver._forkserver, "_forkserver_pid", None)]
    for pid in helpers:  # first, so the tracker never sees a half-finished worker's messages
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    # and never relaunched (with a warning) by a pool thread still registering a semaphore
    resource_tracker.register = resource_tracker.unregister = _nothing  # type: ignore[assignment]
    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    deadline = time.monotonic() + 0.5
    for child in children:
        child.join(timeout=max(0.0, deadline - time.monotonic()))
    for pid in helpers:  # reap them (never wait: a pid that is not ours any more would block)
        if pid:
            with contextlib.suppress(OSError):
                os.waitpid(pid, os.WNOHANG)


def _nothing(*_args: object) -> None:
    return None


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
