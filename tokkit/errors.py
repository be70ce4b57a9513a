"""Errors that say what happened and how to fix it.

The library raises these; only the CLI turns them into a red one-line message and an exit code.
A message names the argument to change in backticks, as a Python caller writes it
(```vocab_size=258```, ```force=True```); the CLI prints the flag instead (``tokkit/cli/flags.py``).
"""

from __future__ import annotations


class TokkitError(Exception):
    """Base of every error tokkit raises on purpose; its message is one line with the fix."""

    exit_code = 1


class InputError(TokkitError):
    """Bad input data or arguments (a missing path, invalid UTF-8, a vocab too small...)."""

    exit_code = 2


class CorpusError(InputError):
    """The corpus as a whole cannot be used (e.g. every line too long for the trainer). Raised
    where the file names are not known; ``train_to_dir`` puts them in front of the message."""


class EncodingError(InputError):
    """A file is not valid UTF-8; the message names the file and the byte offset."""

    def __init__(self, path: str, offset: int, reason: str = "invalid UTF-8") -> None:
        self.path = path
        self.offset = offset
        super().__init__(
            f"{path}: {reason} at byte offset {offset}; "
            "re-encode the file to UTF-8 or pass `encoding_errors='replace'|'skip'`"
        )


class OutputExistsError(TokkitError):
    """Refuse to overwrite an existing output unless told to (``force=True``)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} already exists; choose another `output` or pass `force=True` to replace it")


class NotTokkitOutputError(TokkitError):
    """Refuse to let ``force`` replace a directory tokkit did not write (a corpus, a model...)."""

    def __init__(self, path: str, marker: str) -> None:
        super().__init__(
            f"{path}: not a tokkit output (no {marker} marker inside), so `force=True` will not replace it; "
            "choose another `output` or delete the directory yourself"
        )


class OutputBusyError(TokkitError):
    """Another run is writing the same output right now."""

    def __init__(self, path: str, owner: str = "") -> None:
        super().__init__(f"{path}: another run (pid {owner or '?'}) is writing it; wait for it to finish or "
                         "choose another `output`")


class MissingDependencyError(TokkitError):
    """An optional dependency is needed for this step."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this step needs '{package}'; install it with: pip install 'tokkit[{extra}]'"
        )
