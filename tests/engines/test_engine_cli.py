"""``--engine`` options: dispatch, refusals, the install hint, and a light ``import tokkit``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from tokkit.cli.engine import Engine, engine_options, make_engine
from tokkit.engines.ray_runtime import RayOptions, ray_session
from tokkit.errors import InputError, MissingDependencyError


@click.command()
@click.argument("inputs", nargs=-1)
@click.option("-o", "--output", required=True)
@engine_options(shuffle=True)
def dedup_command(inputs: tuple[str, ...], output: str, engine: Engine) -> None:
    """A command wired like ``tokkit dedup``: the engine does the work."""
    report = engine.dedup(list(inputs), output)
    click.echo(json.dumps({"engine": engine.name, "counts": report.counts}))


def test_ray_knobs_without_the_ray_engine_are_refused() -> None:
    assert make_engine("local") == Engine("local")
    with pytest.raises(InputError, match="--ray-address, --partition-mb only apply with --engine ray"):
        make_engine("local", ray_address="auto", partition_mb=8)
    with pytest.raises(InputError, match="`partition_mb=0`"):
        make_engine("ray", partition_mb=0)
    engine = make_engine("ray", ray_address="auto", max_retries=0)
    assert engine.ray == RayOptions(address="auto", max_retries=0)


def test_the_engine_option_dispatches_to_the_same_result(
    ray_instance: Any, corpora: Path, tmp_path: Path
) -> None:
    books = [str(corpora / "zh" / "三字经.txt"), str(corpora / "zh" / "千字文.txt")]
    runner = CliRunner()
    local = runner.invoke(dedup_command, [*books, "-o", str(tmp_path / "a")])
    ray = runner.invoke(dedup_command, [*books, "-o", str(tmp_path / "b"), "--engine", "ray",
                                        "--partition-mb", "0.01", "--max-retries", "1"])
    assert local.exit_code == 0 and ray.exit_code == 0, (local.output, ray.output)
    assert json.loads(local.stdout)["engine"] == "local" and json.loads(ray.stdout)["engine"] == "ray"
    assert json.loads(local.stdout)["counts"] == json.loads(ray.stdout)["counts"]
    assert (tmp_path / "a" / "三字经.txt").read_bytes() == (tmp_path / "b" / "三字经.txt").read_bytes()
    help_text = runner.invoke(dedup_command, ["--help"]).output
    for option in ("--engine [local|ray]", "--ray-address", "--partition-mb", "--max-retries"):
        assert option in help_text


def test_without_ray_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'tokkit\[ray\]'"), \
            ray_session(RayOptions()):
        pass


def test_importing_tokkit_and_the_engines_does_not_import_ray() -> None:
    code = ("import sys, tokkit, tokkit.engines, tokkit.cli.engine; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_shuffle_partitions_is_offered_only_where_a_ray_engine_shuffles() -> None:
    """Only dedup's Ray engine shuffles (its LSH band keys); train-bpe's and shard's Ray engines
    map over files and never read the knob, so they do not offer it (train-bpe did, doing nothing)."""
    from tokkit.cli import cli

    runner = CliRunner()
    for command, offered in (("dedup", True), ("shard", False), ("train-bpe", False)):
        help_text = runner.invoke(cli, [command, "--help"]).output
        assert ("--shuffle-partitions" in help_text) is offered, (command, help_text)
        assert "--partition-mb" in help_text and "--max-retries" in help_text, command
    refused = runner.invoke(cli, ["train-bpe", "--engine", "ray", "--shuffle-partitions", "8"])
    assert refused.exit_code == 2 and "No such option '--shuffle-partitions'" in refused.output


@pytest.mark.parametrize("shuffle", [True, False])
def test_the_knobs_a_command_offers_reach_its_engine(shuffle: bool) -> None:
    @click.command()
    @engine_options(shuffle=shuffle)
    def show(engine: Engine) -> None:
        click.echo(repr(engine.ray))

    args = ["--engine", "ray", "--partition-mb", "8", "--max-retries", "1"]
    args += ["--shuffle-partitions", "5"] if shuffle else []
    result = CliRunner().invoke(show, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == repr(RayOptions(partition_mb=8.0, max_retries=1,
                                                    shuffle_partitions=5 if shuffle else 0))
