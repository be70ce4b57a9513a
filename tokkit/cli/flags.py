"""The one place that turns the library's argument names into the running command's flags.

The library speaks Python: an error names the argument to change in backticks, as a caller would
write it (``use `vocab_size=258```, ``choose another `output```, ``pass `force=True```). The CLI
prints the same message with the flag of the command that ran (``use --vocab 258``, ``choose
another -o``, ``pass --force``). A name the command has no parameter for is left as it is (the
``pipeline`` command's settings live in its TOML file, whose keys are the library's names).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Callable

import click

ALIASES: dict[str, str] = {
    "max_document_bytes": "max_document_mb",  # bytes → MiB: UNITS
    "output_dir": "output",
    "output": "run_dir",  # pipeline: its -o is the run dir
    "special_tokens": "special",  # train-*
    "zh_corpus": "corpus",  # extend-llama, extend: the Chinese corpus is their CORPUS
    "model": "model_dir",  # resize-embeddings; cpt's parameter is ``model`` itself
    "zh_config.vocab_size": "zh_vocab",  # extend-llama: the Chinese model's ZhModelConfig
    "corpora": "corpus",  # analyze
    "train": "stage",  # cpt: ``CPTConfig.train`` is its ``--train``
    "tokenizer_check": "no_tokenizer_check",  # cpt: the negated flags; only their off value is advised
    "verify_shards": "no_verify",
    "num_cpus": "ray_cpus",  # RayOptions → dedup and shard's --ray-* flags
    "object_store_mb": "ray_object_store_mb",
    "address": "ray_address",
}
"""Library argument name → the click parameter name of a command that spells it differently.
Tried after the name itself, so a command whose parameter has the library's name uses that one."""

_REFERENCE = re.compile(r"`([a-z_][a-z0-9_.]*)(?:=([^`]+))?`")


def speak_flags(message: str, command: click.Command | None) -> str:
    """``message`` with every backticked argument reference the ``command`` takes as its flag."""
    if command is None:
        return message
    params = {param.name: param for param in command.params
              if param.name and not getattr(param, "hidden", False)}  # old spellings are not advised

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        param = params.get(name) or params.get(ALIASES.get(name, "")) or _elsewhere(name)
        if param is None:
            return match.group(0)
        if value is not None and param.name != name and name in UNITS:
            value = UNITS[name](value)
        return _spelled(param, value)

    return _REFERENCE.sub(flag, _CALL.sub(_call, message))


CALLS: dict[str, str] = {"write_shards": "shard"}
"""Library calls a message tells the user to make again (```write_shards(..., force=True)```) →
the command that makes it, shown as ```tokkit shard ... --force```."""

_CALL = re.compile(r"`([a-z_][a-z0-9_]*)\(([^`()]*)\)`")


def _call(match: re.Match[str]) -> str:
    command = _command(CALLS.get(match.group(1), ""))
    if command is None:
        return match.group(0)
    words = [f"tokkit {command.name}"]
    for arg in (part.strip() for part in match.group(2).split(",")):
        words.append(speak_flags(f"`{arg}`", command).strip("`") if arg != "..." else arg)
    return f"`{' '.join(words)}`"


def _command(name: str) -> click.Command | None:
    """The ``tokkit`` command ``name`` (imported on first use), or None."""
    if not name:
        return None
    from tokkit.cli import cli

    return cli.get_command(click.Context(cli), name)


ELSEWHERE: dict[str, str] = {"seq_len": "shard", "val_fraction": "shard", "tokenizer": "shard"}
"""Arguments a message sends the user to another command for (``cpt``: "re-shard with
`seq_len=512`"): shown as that command's flag when the running one has no such parameter."""


def _elsewhere(name: str) -> click.Parameter | None:
    other = _command(ELSEWHERE.get(name, ""))
    params = {param.name: param for param in other.params if not getattr(param, "hidden", False)} \
        if other is not None else {}
    return params.get(name) or params.get(ALIASES.get(name, ""))


def _mib(value: str) -> str:
    mib = int(value) / (1 << 20)
    return f"{mib:g}"


UNITS: dict[str, Callable[[str], str]] = {"max_document_bytes": _mib}
"""Library argument → the value its flag takes for the library's value (the flag counts MiB)."""


def _spelled(param: click.Parameter, value: str | None) -> str:
    if isinstance(param, click.Argument):
        return param.human_readable_name
    if value is None:
        return _preferred(param)
    if isinstance(param, click.Option) and param.is_flag:
        if _literal(value) is False and param.secondary_opts:
            return param.secondary_opts[0]
        return _preferred(param)
    return f"{_preferred(param)} {'|'.join(_shown(choice) for choice in value.split('|'))}"


def _preferred(param: click.Parameter) -> str:
    """``-o`` for the output (the spelling every example uses), else the long flag."""
    if "-o" in param.opts:
        return "-o"
    long = [opt for opt in param.opts if opt.startswith("--")]
    return (long or param.opts)[0]


def _literal(value: str) -> object:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _shown(value: str) -> str:
    """A Python literal as typed on a command line: ``'line'`` → ``line``; other text unchanged."""
    literal = _literal(value.strip())
    return literal if isinstance(literal, str) else value


class FlagsFilter(logging.Filter):
    """Renders warnings the library logs in the running command's flags, like its errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = click.get_current_context(silent=True)
        if ctx is not None and "`" in str(record.msg):
            record.msg = speak_flags(record.getMessage(), ctx.command)
            record.args = None
        return True
