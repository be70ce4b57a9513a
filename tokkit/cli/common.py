"""What every command shares: error handling, logging, corpus options, the progress switch."""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from rich.logging import RichHandler
from rich.markup import escape

from tokkit.corpus.readers import DEFAULT_MAX_DOCUMENT_BYTES, ReadOptions
from tokkit.errors import TokkitError
from tokkit.progress import console

F = TypeVar("F", bound=Callable[..., Any])


def setup_logging(level: int) -> None:
    from tokkit.cli.flags import FlagsFilter

    logger = logging.getLogger("tokkit")
    handler = RichHandler(console=console, show_time=False, show_path=False)
    handler.addFilter(FlagsFilter())  # warnings name the library's arguments; print them as flags
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def fail(message: str, code: int = 1) -> None:
    """Print ``message`` as ``error:`` lines (one per line of it: e.g. one per bad setting) and exit."""
    for line in message.splitlines() or [""]:
        fail_line(line)
    sys.exit(code)


def run_cli(group: click.Group, argv: Sequence[str]) -> Any:
    """Run ``group``; a :class:`TokkitError` or Ctrl-C becomes one line and an exit code.

    In the real entry point (:func:`tokkit.cli.interrupt.guarded`) Ctrl-C ends the process at once
    (see :mod:`tokkit.cli.interrupt`); in-process callers get ``SystemExit(130)``.
    """
    from tokkit.cli.interrupt import received

    try:
        return group.main(list(argv), prog_name="tokkit", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _interrupted()
    except TokkitError as err:
        if err.exit_code == 130:  # Ctrl-C, told by the code it stopped: what it kept (cpt's checkpoint)
            _interrupted(str(err))
        if received():  # e.g. "sentencepiece training failed: KeyboardInterrupt"
            _interrupted()
        fail(str(err), err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except Exception:
        if received():
            _interrupted()
        raise
    return None


def _interrupted(message: str | None = None) -> None:
    from tokkit.cli.interrupt import exit_interrupted, guarded, interrupt_message

    message = message or interrupt_message()
    if guarded():
        exit_interrupted(message, say=lambda line: fail_line(line))
    fail(message, 130)


def fail_line(message: str) -> None:
    """The one red ``error:`` line a failed command ends with."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def quiet(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("quiet"))


READ_OPTIONS = ("split", "text_field", "encoding_errors", "max_document_mb")
"""The read options (:class:`ReadOptions`) every corpus-reading command takes, by parameter name."""


def _remember_max_document(ctx: click.Context, _param: click.Parameter, value: float) -> float:
    """Keep ``--max-document-mb`` in the context so commands need no extra parameter for it."""
    ctx.meta["tokkit.max_document_mb"] = value
    return value


def default_of(config: type, name: str) -> Any:
    """The default of dataclass ``config``'s field ``name``, so an option's default is stated once,
    in the library (``tests/cli/test_defaults.py`` holds every option named after a field to it)."""
    for f in dataclasses.fields(config):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            raise ValueError(f"{config.__name__}.{name} has no default")
    raise ValueError(f"{config.__name__} has no field {name!r}")


def make_corpus_options(*, split: bool = True, max_document: bool = True,
                        encodings: Sequence[str] = ("strict", "replace", "skip"),
                        encoding_help: str = "Invalid UTF-8: stop with an error, replace with U+FFFD, or "
                                             "skip the document.") -> Callable[[F], F]:
    """The read options, for a command that reads documents its own way (``dedup``: no ``--split``,
    its units are ``--granularity``; one more ``--encoding-errors`` choice)."""
    decorators = [
        *([click.option("--split", type=click.Choice(["file", "paragraph", "line"]), default="line",
                        show_default=True,
                        help="Text files: one document per file, per blank-line paragraph, or per line.")]
          if split else []),
        click.option("--text-field", default=default_of(ReadOptions, "text_field"), show_default=True,
                     help="Field holding the text in jsonl/json/parquet records."),
        click.option("--encoding-errors", type=click.Choice(list(encodings)),
                     default=default_of(ReadOptions, "encoding_errors"), show_default=True, help=encoding_help),
        *([click.option("--max-document-mb", type=click.FloatRange(min=0, min_open=True),
                        default=DEFAULT_MAX_DOCUMENT_BYTES // 2**20,
                        show_default=True, expose_value=False, callback=_remember_max_document,
                        help="Refuse documents (a line, paragraph or file) larger than this many MiB.")]
          if max_document else []),
    ]

    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


corpus_options = make_corpus_options()
"""Options every corpus-reading command takes (see :class:`ReadOptions`)."""


def corpus_argument(f: F) -> F:
    """``CORPUS...``: the corpus a command reads is positional (files, folders, globs)."""
    return click.argument("corpus", nargs=-1, type=click.Path())(f)


def workers_option(auto: str) -> Callable[[F], F]:
    """``--workers N``, one meaning everywhere: 0 = auto (``auto`` says what that is), 1 = in-process,
    N = N processes."""
    return click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
                        help=f"Processes: 0 = auto ({auto}), 1 = in-process, N = N processes.")


def read_options(split: str, text_field: str, encoding_errors: str) -> ReadOptions:
    """The :class:`ReadOptions` of the corpus options of the running command."""
    ctx = click.get_current_context(silent=True)
    max_document_mb = ctx.meta.get("tokkit.max_document_mb", 64) if ctx else 64
    return ReadOptions(
        split=split,  # type: ignore[arg-type]
        text_field=text_field,
        encoding_errors=encoding_errors,  # type: ignore[arg-type]
        max_document_bytes=int(max_document_mb * (1 << 20)),
    )
