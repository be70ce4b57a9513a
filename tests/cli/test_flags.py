"""The CLI prints the library's argument references as the running command's flags (issue 15.4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import click
import pytest

from tokkit.cli.flags import speak_flags
from tokkit.errors import OutputExistsError


@click.command()
@click.argument("corpus")
@click.option("--vocab", "vocab_size", type=int)
@click.option("-o", "--output")
@click.option("--force", is_flag=True)
@click.option("--verify/--no-verify", default=True)
@click.option("--split")
@click.option("--encoding-errors")
@click.option("--max-document-mb", type=float)
def _command(**_: object) -> None:
    """A command with the shapes the table must handle."""


@pytest.mark.parametrize(("python", "cli"), [
    ("use `vocab_size=258`", "use --vocab 258"),
    ("choose another `output` or pass `force=True`", "choose another -o or pass --force"),
    ("or `verify=False`", "or --no-verify"),
    ("read it with `split='line'`", "read it with --split line"),
    ("pass `encoding_errors='replace'|'skip'`", "pass --encoding-errors replace|skip"),
    ("raise `max_document_bytes`", "raise --max-document-mb"),
    ("raise `max_document_bytes=3145728` or more", "raise --max-document-mb 3 or more"),  # MiB
    ("check `corpus`", "check CORPUS"),
    ("`em_sub_iterations` must be ≥ 1", "`em_sub_iterations` must be ≥ 1"),  # no flag: left in Python
    ("re-shard with `seq_len=8`", "re-shard with --seq-len 8"),  # another command's (ELSEWHERE)
    ("`ray start --head`", "`ray start --head`"),
    ("rebuild with `write_shards(..., force=True)`", "rebuild with `tokkit shard ... --force`"),
    ("`print(x)`", "`print(x)`"),
])
def test_argument_references_become_the_commands_flags(python: str, cli: str) -> None:
    assert speak_flags(python, _command) == cli


def test_without_a_command_the_message_is_the_librarys() -> None:
    assert speak_flags("use `vocab_size=258`", None) == "use `vocab_size=258`"


def test_a_library_error_reaches_the_user_in_flags_and_a_python_caller_in_arguments(
    tmp_path: Path, run_main: Callable[..., CompletedProcess[str]],
    assert_clean_failure: Callable[..., str], make_corpus: Callable[..., Path],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    assert "choose another `output` or pass `force=True`" in str(OutputExistsError(str(out)))
    proc = run_main("-q", "train-bpe", str(make_corpus()), "--vocab", "300", "-o", str(out))
    line = assert_clean_failure(proc)
    assert line == f"error: {out} already exists; choose another -o or pass --force to replace it"


def test_a_logged_library_warning_is_shown_in_flags_too() -> None:
    import logging

    from tokkit.cli.flags import FlagsFilter

    record = logging.LogRecord("tokkit", logging.WARNING, __file__, 1,
                               "%s: raise `max_document_bytes=%d` or more", ("big.txt", 2 << 20), None)
    with click.Context(_command):
        assert FlagsFilter().filter(record)
    assert record.getMessage() == "big.txt: raise --max-document-mb 2 or more"
    outside = logging.LogRecord("tokkit", logging.WARNING, __file__, 1, "use `vocab_size=258`", None, None)
    assert FlagsFilter().filter(outside) and outside.getMessage() == "use `vocab_size=258`"  # no command
