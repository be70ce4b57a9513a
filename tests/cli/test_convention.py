"""The CLI says the same thing the same way (issue 15.8): every command against one convention.

The convention (README's "Command-line convention" table): the corpus a command reads is the
positional ``CORPUS...``; a tokenizer it uses is ``-t/--tokenizer``; its output is ``-o/--output``;
``--workers`` means 0 = auto, 1 = in-process, N = N processes; the read options are the one set
from ``tokkit.cli.common.make_corpus_options``. Old spellings stay as hidden aliases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess

import click
import pytest

from tokkit.cli import COMMANDS, cli
from tokkit.cli.common import READ_OPTIONS

READS_DIFFERENTLY = {"dedup": {"split", "max_document_mb"}}
"""Read options a command does without, and why: dedup's units are --granularity (a document or
a paragraph of one) and it streams records without a size cap."""


def _leaves() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                leaf = command.get_command(ctx, sub)
                assert leaf is not None
                yield f"{name} {sub}", leaf
        else:
            yield name, command


LEAVES = dict(_leaves())


def _visible(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name or "": p for p in command.params if not getattr(p, "hidden", False)}


@pytest.mark.parametrize("name", list(LEAVES))
def test_every_command_follows_the_convention(name: str) -> None:
    command = LEAVES[name]
    params = _visible(command)
    reads = {key for key in READ_OPTIONS if key in params}
    if reads:  # it reads a corpus: CORPUS... positional, the whole set of read options
        corpus = params.get("corpus")
        assert isinstance(corpus, click.Argument) and corpus.nargs == -1, f"{name}: CORPUS... positional"
        assert reads == set(READ_OPTIONS) - READS_DIFFERENTLY.get(name, set()), f"{name}: read options"
    for param in params.values():
        opts = set(param.opts)
        if isinstance(param, click.Argument):
            assert param.name not in ("tokenizer", "tokenizers", "inputs", "corpora"), \
                f"{name}: {param.name} must not be positional (only CORPUS is)"
            continue
        if "-o" in opts or "--output" in opts:
            assert param.opts == ["-o", "--output"], f"{name}: the output is -o/--output, not {param.opts}"
        if "--tokenizer" in opts or "-t" in opts:
            assert param.opts == ["-t", "--tokenizer"], f"{name}: a tokenizer is -t/--tokenizer"
        if "--corpus" in opts or "-c" in opts:
            pytest.fail(f"{name}: the corpus is positional, not {param.opts}")
        if param.name == "workers":
            assert isinstance(param.type, click.IntRange) and param.type.min == 0 and param.default == 0, \
                f"{name}: --workers is 0 = auto, 1 = in-process, N = N processes"


def test_the_checks_cover_the_corpus_commands() -> None:
    """The test cannot pass by finding no command: these read a corpus, these take a tokenizer."""
    readers = {n for n, c in LEAVES.items() if "text_field" in _visible(c)}
    assert readers == {"train-bpe", "train-wordpiece", "train-unigram", "analyze", "dedup",
                       "extend-llama", "extend", "shard"}
    takers = {n for n, c in LEAVES.items() if any("-t" in p.opts for p in _visible(c).values())}
    assert takers == {"analyze", "explain", "shard", "resize-embeddings"}


def _parse(name: str, *args: str) -> dict[str, object]:
    command = LEAVES[name]
    with command.make_context(name, list(args)) as ctx:
        return dict(ctx.params)


@pytest.mark.parametrize(("name", "old", "new"), [
    ("analyze", ["tok", "-c", "corpus"], ["corpus", "-t", "tok"]),
    ("explain", ["tok", "text"], ["text", "-t", "tok"]),
    ("shard", ["corpus", "--tokenizer", "tok"], ["corpus", "-t", "tok"]),
    ("resize-embeddings", ["--model", "m", "--tokenizer", "tok", "-o", "o"], ["--model", "m", "-t", "tok", "-o", "o"]),
    ("pipeline", ["--run-dir", "runs/x"], ["-o", "runs/x"]),
    ("extend-llama", ["--base", "b", "--zh-corpus", "zh"], ["zh", "--base", "b"]),
    ("extend", ["--base", "b", "--zh-corpus", "zh"], ["zh", "--base", "b"]),
    ("dedup", ["in.txt", "-o", "out"], ["in.txt", "-o", "out"]),
])
def test_old_spellings_still_parse(name: str, old: list[str], new: list[str]) -> None:
    """Scripts do not break: the old spelling parses (its values land in a hidden alias the command
    merges, checked end to end for analyze below)."""
    assert _parse(name, *old) and _parse(name, *new)


def test_workers_zero_is_auto_everywhere() -> None:
    for name in ("train-bpe", "analyze", "shard", "extend"):
        assert _parse(name, *(["x", "-t", "tok"] if name in ("analyze", "shard") else ["--base", "b"]
                               if name == "extend" else []))["workers"] == 0, name


def test_analyze_old_and_new_spellings_give_the_same_report(
    tmp_path: Path, llama_model: Path, run_main: Callable[..., CompletedProcess[str]],
) -> None:
    corpus = tmp_path / "zh.txt"
    corpus.write_text("话说天下大势，分久必合，合久必分。\nIt was the best of times.\n" * 20, encoding="utf-8")
    new = run_main("-q", "analyze", str(corpus), "-t", str(llama_model), "--json", "-", "--no-judge")
    old = run_main("-q", "analyze", str(llama_model), "-c", str(corpus), "--json", "-", "--no-judge")
    assert new.returncode == old.returncode == 0, new.stderr + old.stderr
    figures = [json.loads(p.stdout)["corpora"] for p in (new, old)]
    assert figures[0] == figures[1]


def test_analyze_refuses_both_spellings_at_once(run_main: Callable[..., CompletedProcess[str]]) -> None:
    proc = run_main("analyze", "a", "-t", "tok", "-c", "corpus")
    assert proc.returncode == 2 and "not both" in proc.stderr
