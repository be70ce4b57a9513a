"""``--engine local|ray`` and the Ray knobs, shared by ``tokkit dedup``, ``shard`` and ``train-bpe``.

:func:`engine_options` adds the options to a command and hands it one :class:`Engine` (keyword
``engine``) instead of seven loose values; the command calls ``engine.dedup(...)``,
``engine.shard(...)`` or ``engine.train_bpe(...)`` with the arguments of the local function, so a
command does not know which engine runs it. A command gets only the knobs its Ray engine reads:
``--shuffle-partitions`` sizes dedup's LSH shuffle, which no other stage has.

\b
    @click.command("dedup")
    ...
    @engine_options(shuffle=True)
    @click.pass_context
    def dedup(ctx, ..., engine: Engine) -> None:
        report = engine.dedup(inputs, output, config=config, ...)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tokkit.engines.engine import ENGINES, Engine
from tokkit.engines.ray_runtime import RayOptions
from tokkit.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

_RAY_ONLY = {
    "ray_address": "--ray-address",
    "ray_cpus": "--ray-cpus",
    "ray_object_store_mb": "--ray-object-store-mb",
    "partition_mb": "--partition-mb",
    "shuffle_partitions": "--shuffle-partitions",
    "max_retries": "--max-retries",
}


def make_engine(engine: str, ray_address: str | None = None, ray_cpus: int | None = None,
                ray_object_store_mb: int | None = None, partition_mb: float | None = None,
                shuffle_partitions: int | None = None, max_retries: int | None = None) -> Engine:
    """The :class:`Engine` the options ask for; Ray knobs without ``--engine ray`` are refused."""
    given = {"ray_address": ray_address, "ray_cpus": ray_cpus,
             "ray_object_store_mb": ray_object_store_mb, "partition_mb": partition_mb,
             "shuffle_partitions": shuffle_partitions, "max_retries": max_retries}
    if engine == "local":
        stray = [_RAY_ONLY[k] for k, v in given.items() if v is not None]
        if stray:
            raise InputError(f"{', '.join(stray)} only apply with --engine ray; add it or drop them")
        return Engine("local")
    defaults = RayOptions()
    options = RayOptions(
        address=ray_address,
        num_cpus=ray_cpus,
        object_store_mb=ray_object_store_mb,
        partition_mb=defaults.partition_mb if partition_mb is None else partition_mb,
        shuffle_partitions=defaults.shuffle_partitions if shuffle_partitions is None else shuffle_partitions,
        max_retries=defaults.max_retries if max_retries is None else max_retries,
    ).check()
    return Engine("ray", options)


def engine_options(*, shuffle: bool = False) -> Callable[[F], F]:
    """Add ``--engine`` and the Ray knobs; the command receives ``engine: Engine``.

    ``shuffle``: also ``--shuffle-partitions``, for a command whose Ray engine shuffles (dedup);
    elsewhere the option would be accepted and do nothing.
    """
    knobs = [name for name in _RAY_ONLY if shuffle or name != "shuffle_partitions"]

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            engine = kwargs.pop("engine")
            kwargs["engine"] = make_engine(engine, **{name: kwargs.pop(name) for name in knobs})
            return f(*args, **kwargs)

        for decorator in reversed(_options(shuffle)):
            wrapper = decorator(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _options(shuffle: bool) -> list[Callable[[F], F]]:
    options = [
        click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
                     envvar="TOKKIT_ENGINE",
                     help="Run on this machine, or on Ray (a local instance, or --ray-address)."),
        click.option("--ray-address", default=None, metavar="ADDRESS",
                     help="Join a running Ray cluster: 'auto' (after `ray start --head`) or "
                          "ray://HOST:10001 [default: start a local instance; RAY_ADDRESS is honoured]."),
        click.option("--ray-cpus", type=int, default=None,
                     help="CPUs of the local Ray instance [default: all]."),
        click.option("--ray-object-store-mb", type=int, default=None,
                     help="Object store of the local Ray instance, MB (beyond it Ray spills to disk) "
                          "[default: Ray's, 30% of RAM]."),
        click.option("--partition-mb", type=float, default=None,
                     help=f"Input MB per Ray task (runs of whole files) [default: {RayOptions().partition_mb:g}]."),
    ]
    if shuffle:
        options.append(click.option("--shuffle-partitions", type=int, default=None,
                                    help="Hash partitions of the dedup LSH shuffle [default: 4 per cluster CPU]."))
    options.append(click.option("--max-retries", type=int, default=None,
                                help=f"Re-runs of a task whose worker died [default: {RayOptions().max_retries}]."))
    return options
