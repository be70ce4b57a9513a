"""Defaults are stated once: an option named after a field of the config its command builds has
that field's default (the option reads it with ``cli.common.default_of``), except the choices the
CLI makes on purpose, listed here with the reason."""

from __future__ import annotations

import dataclasses
from typing import Any

import click
import pytest

from tokkit.analyze.compression import AnalyzeConfig
from tokkit.cli import cli
from tokkit.corpus.options import ReadOptions
from tokkit.cpt.config import CPTConfig
from tokkit.dedup.config import DedupConfig
from tokkit.llama.extend import ExtendConfig
from tokkit.llama.resize import ResizeConfig
from tokkit.shards.writer import ShardConfig
from tokkit.train.bpe_continue import ContinueConfig
from tokkit.train.config import BPEConfig, UnigramConfig, WordPieceConfig

CONFIGS: dict[str, tuple[type, ...]] = {
    "train-bpe": (BPEConfig, ReadOptions),
    "train-unigram": (UnigramConfig, ReadOptions),
    "train-wordpiece": (WordPieceConfig, ReadOptions),
    "dedup": (DedupConfig, ReadOptions),
    "shard": (ShardConfig, ReadOptions),
    "cpt": (CPTConfig,),
    "extend-llama": (ExtendConfig, ReadOptions),
    "resize-embeddings": (ResizeConfig,),
    "extend": (ContinueConfig, ReadOptions),
    "analyze": (AnalyzeConfig, ReadOptions),
}
"""Command → the configs its options fill."""

RENAMED = {"special": "special_tokens", "stage": "train"}
"""Option parameters whose config field has another name."""

CLI_OWN = {
    ("train-bpe", "vocab_size"): "a vocabulary size is the caller's choice in the library",
    ("train-unigram", "vocab_size"): "the same",
    ("train-wordpiece", "vocab_size"): "the same",
    ("train-bpe", "special"): "the CLI adds <|endoftext|> so that its tokenizers can pack shards",
    ("cpt", "model"): "required in both",
    ("cpt", "shards"): "required in both",
    ("cpt", "output"): "the CLI writes to ./ckpt unless told; the library needs a path",
    ("extend", "add"): "how many tokens to add is the caller's choice in the library",
    **{(command, "split"): "the commands read text files by line (README); the library by file"
       for command, configs in CONFIGS.items() if ReadOptions in configs},
}


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _option_default(param: click.Parameter) -> Any:
    default = param.default
    if isinstance(param, click.Option) and param.is_flag and type(default).__name__ == "Sentinel":
        return False  # a plain flag with no default given: off
    return tuple(default) if isinstance(default, list) else default


def mirrored_options() -> list[tuple[str, str, Any, Any]]:
    """(command, parameter, option default, config default) for every option named after a field."""
    found = []
    for name, configs in CONFIGS.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None, name
        for param in command.params:
            field_name = RENAMED.get(param.name or "", param.name)
            for config in configs:
                fields = {f.name: f for f in dataclasses.fields(config)}
                if field_name in fields:
                    found.append((name, param.name or "", _option_default(param), _default(fields[field_name])))
                    break
    return found


@pytest.mark.parametrize(("command", "param", "option", "config"), mirrored_options(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_an_option_has_its_config_fields_default(command: str, param: str, option: Any, config: Any) -> None:
    if (command, param) in CLI_OWN:
        assert option != config, f"{command} --{param} now equals the library's default: drop it from CLI_OWN"
    else:
        assert option == config, f"{command} --{param}: {option!r} on the CLI, {config!r} in the library"


def test_the_check_sees_the_commands_options() -> None:
    """Not vacuous: dozens of options mirror a config field (a rename would quietly drop them)."""
    seen = {(command, param) for command, param, _, _ in mirrored_options()}
    assert len(seen) > 60
    assert {("train-bpe", "pattern"), ("dedup", "threshold"), ("cpt", "lr"), ("shard", "seq_len"),
            ("train-unigram", "special"), ("cpt", "stage")} <= seen
