"""``python -m tokkit`` and the ``tokkit`` console script: the command's first lines.

A Ctrl-C while Python is still importing the CLI (a second or more on a loaded machine) would
otherwise end in a ``KeyboardInterrupt`` traceback from deep inside an import. Until
:mod:`tokkit.cli.interrupt` takes over, SIGINT ends the process at once with the interrupt line:
nothing has been started or written yet. This module imports nothing of tokkit's, and ``import
tokkit`` itself loads its names lazily, so the window before this handler is the interpreter's own
start-up.
"""

from __future__ import annotations

import os
import signal
from typing import Any

STARTING = "interrupted; no output was written (re-run to start again)"


def _while_starting(signum: int, frame: object) -> None:
    os.write(2, f"\nerror: {STARTING}\n".encode())
    os._exit(130)


_while_starting.tokkit_starting = True  # type: ignore[attr-defined]
"""Marks the handler :func:`tokkit.cli.interrupt.install_watchdog` may replace."""


def main() -> Any:
    """Run the CLI, with Ctrl-C covered from the first line."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _while_starting)
    from tokkit.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    main()
