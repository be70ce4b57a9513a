"""The ``tokkit`` command: a thin client of the library.

Each command group lives in its own module and is imported only when invoked, so ``tokkit --help``
stays fast and a missing optional dependency only affects its own command.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from tokkit import __version__

# command name → "module:attribute" of a click command; modules not present are simply not listed.
COMMANDS: dict[str, str] = {
    "corpus": "tokkit.cli.corpus:corpus",
    "train-bpe": "tokkit.cli.train:train_bpe",
    "train-wordpiece": "tokkit.cli.train_wordpiece:train_wordpiece",
    "train-unigram": "tokkit.cli.train_unigram:train_unigram",
    "analyze": "tokkit.cli.analyze:analyze",
    "explain": "tokkit.cli.analyze:explain",
    "dedup": "tokkit.cli.dedup:dedup",
    "extend-llama": "tokkit.cli.llama:extend_llama",
    "extend": "tokkit.cli.extend:extend",
    "resize-embeddings": "tokkit.cli.llama:resize_embeddings",
    "shard": "tokkit.cli.shard:shard",
    "cpt": "tokkit.cli.cpt:cpt",
    "pipeline": "tokkit.cli.pipeline:pipeline",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if importlib.util.find_spec(COMMANDS[name].split(":")[0])]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        if importlib.util.find_spec(module) is None:
            return None
        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            return _unavailable(cmd_name, err)
        if not any(param.name == "quiet" for param in command.params):
            command.params.append(_QUIET_AFTER)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a library error's argument names become that command's flags."""
        from tokkit.errors import TokkitError

        try:
            return super().invoke(ctx)
        except TokkitError as err:
            name = ctx.invoked_subcommand
            command = self.get_command(ctx, name) if name else None
            if command is not None and len(err.args) == 1 and isinstance(err.args[0], str):
                from tokkit.cli.flags import speak_flags

                err.args = (speak_flags(err.args[0], _leaf(command, ctx)),)
            raise


def _quiet_after(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        from tokkit.cli.common import setup_logging

        ctx.find_root().ensure_object(dict)["quiet"] = True
        setup_logging(logging.ERROR)
    return value


_QUIET_AFTER = click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_quiet_after,
                            help="Only errors; no progress bars or warnings (also before the command).")
"""``tokkit train-bpe ... -q`` as well as ``tokkit -q train-bpe ...``: users put it either side."""


def _leaf(command: click.Command, ctx: click.Context) -> click.Command:
    """The parameters of the command that ran; for a group (``corpus``), those of its subcommands."""
    if not isinstance(command, click.Group):
        return command
    params: dict[str, click.Parameter] = {}
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        for param in _leaf(sub, ctx).params if sub is not None else ():
            params.setdefault(param.name or "", param)
    return click.Command(command.name, params=list(params.values()))


def _unavailable(name: str, err: Exception) -> click.Command:
    """A stand-in for a command whose module cannot load, so ``--help`` still works."""
    reason = f"{type(err).__name__}: {err}"

    def fail() -> None:
        raise click.ClickException(f"'tokkit {name}' is unavailable here ({reason})")

    return click.Command(name, callback=fail, help=f"(unavailable: {reason})")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokkit")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars or warnings.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool) -> None:
    """Make and judge tokenizers; extend a LLaMA vocabulary for Chinese.

    \b
    Example:
      tokkit train-bpe corpus/ --vocab 32000 -o vocab/mybpe
    """
    from tokkit.cli.common import setup_logging

    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    setup_logging(logging.ERROR if quiet else logging.WARNING)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: library errors become one red line on stderr and a non-zero exit.

    Called without ``argv`` (the ``tokkit`` script, ``python -m tokkit``) it owns the process, so
    Ctrl-C ends it within two seconds whatever it is doing (:mod:`tokkit.cli.interrupt`).
    """
    from tokkit.cli.common import run_cli

    if argv is None:
        from tokkit.cli.interrupt import exit_interrupted, install_watchdog, interrupt_message

        try:  # (a Ctrl-C while the handler goes in, or before run_cli's own try, is caught too)
            install_watchdog()
            return run_cli(cli, sys.argv[1:])
        except KeyboardInterrupt:
            exit_interrupted(interrupt_message())
    return run_cli(cli, argv)
