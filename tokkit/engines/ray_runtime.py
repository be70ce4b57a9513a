"""Where Ray runs and how its failures come back: one session, one set of knobs, one-line errors.

A job either starts a private local Ray instance (``address=None``: ``num_cpus`` workers, an
object store of ``object_store_mb``, shut down afterwards) or joins a running cluster
(``address="auto"`` after ``ray start --head``, or ``ray://host:10001``), which it leaves running.
If Ray is already initialised in this process (a notebook, a test session), that instance is used
as is and left alone.

Work is cut into *partitions*: runs of whole input files in corpus order of about
``partition_mb`` MB (a bigger file is a partition of its own). A partition is the unit of
scheduling, of retry and of output (see the engines), so a killed worker costs one partition, not
the job: Ray re-runs it up to ``max_retries`` times; after that the job fails with one line and
the atomic output directory is never published. Ray is imported only here, inside functions:
``import tokkit`` stays light.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from tokkit.atomic import TMP_PREFIX
from tokkit.errors import InputError, MissingDependencyError, TokkitError

log = logging.getLogger("tokkit")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, kw_only=True)
class RayOptions:
    """How to run a job on Ray. None of these change the result, only where and how fast.

    ``partition_mb``: input MB per partition (task); bigger means fewer tasks and less overhead,
    smaller means finer load balancing, cheaper retries and less memory per worker.
    ``shuffle_partitions``: hash partitions of the dedup band-key shuffle (0: 4 per CPU).
    ``object_store_mb`` / ``num_cpus`` apply to a local instance only (a cluster has its own).
    ``max_retries``: re-runs of a partition whose worker died (crash, OOM kill, lost node).
    """

    address: str | None = None
    num_cpus: int | None = None
    object_store_mb: int | None = None
    partition_mb: float = 64.0
    shuffle_partitions: int = 0
    max_retries: int = 3

    def check(self) -> RayOptions:
        if self.num_cpus is not None and self.num_cpus < 1:
            raise InputError(f"`num_cpus={self.num_cpus}`: must be >= 1, e.g. 2")
        if self.object_store_mb is not None and self.object_store_mb < 80:
            raise InputError(f"`object_store_mb={self.object_store_mb}`: Ray needs at least 80, e.g. 2000")
        if not self.partition_mb > 0:
            raise InputError(f"`partition_mb={self.partition_mb}`: must be positive, e.g. 64")
        if self.shuffle_partitions < 0:
            raise InputError(f"`shuffle_partitions={self.shuffle_partitions}`: must be >= 0 (0 = 4 per CPU)")
        if self.max_retries < 0:
            raise InputError(f"`max_retries={self.max_retries}`: must be >= 0, e.g. 3")
        if self.address is not None and (self.num_cpus is not None or self.object_store_mb is not None):
            log.warning("`num_cpus`/`object_store_mb` apply to a local instance; ignored for %s",
                        self.address)
        return self

    @property
    def partition_bytes(self) -> int:
        return max(1, int(self.partition_mb * 1e6))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_ray() -> Any:
    """``ray`` with Ray Data, or a one-line install hint."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingDependencyError("ray[data]", "ray") from None
    return ray


@contextmanager
def ray_session(options: RayOptions) -> Iterator[Any]:
    """Yield the ``ray`` module connected to the instance ``options`` asks for."""
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if options.address is None:
            kwargs["num_cpus"] = options.num_cpus or os.cpu_count() or 1
            if options.object_store_mb is not None:
                kwargs["object_store_memory"] = int(options.object_store_mb * 2**20)
        try:
            ray.init(address=options.address, **kwargs)
        except ConnectionError as err:
            raise InputError(
                f"`address={options.address!r}`: no Ray cluster there ({err}); start one with "
                "`ray start --head` or drop `address` to run a local instance"
            ) from None
        started = True
    configure_data_context(ray)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def configure_data_context(ray: Any) -> None:
    """Quiet, order-preserving Ray Data (outputs are put in corpus order by the engines anyway)."""
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.max_errored_blocks = 0
    # one "execution finished" line per stage is noise beside tokkit's own progress bars
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # A sort-based shuffle starts no aggregator actors: seconds instead of tens on a small
    # instance, and the dedup shuffle has few, large groups anyway.
    ctx.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED


def cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def task_options(options: RayOptions) -> dict[str, Any]:
    """Remote args of every partition task: retry worker deaths, never a user error."""
    return {"num_cpus": 1, "max_retries": options.max_retries, "retry_exceptions": False}


def map_partitions(dataset: Any, fn: Any, options: RayOptions, **fn_kwargs: Any) -> Any:
    """``dataset.map_batches(fn)`` one partition row at a time, with :func:`task_options`.

    Ray 2.60 deprecates passing ``max_retries`` through ``map_batches`` (it will need another
    route by Ray 2.64, hence the pinned range of the ``ray`` extra); the warning is silenced here.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
        return dataset.map_batches(fn, batch_size=1, batch_format="numpy", fn_kwargs=fn_kwargs,
                                   **task_options(options))


def plan_partitions(files: Sequence[Path], partition_bytes: int) -> list[list[int]]:
    """Contiguous runs of file indices of about ``partition_bytes`` each (corpus order kept)."""
    parts: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, path in enumerate(files):
        current.append(index)
        size += path.stat().st_size
        if size >= partition_bytes:
            parts.append(current)
            current, size = [], 0
    if current:
        parts.append(current)
    return parts


def partition_specs(files: Sequence[Path], partition_bytes: int) -> tuple[list[int], list[dict[str, Any]]]:
    """:func:`plan_partitions` as Ray Data rows (``partition``, and ``spec``: its index and files as
    JSON) with each partition's bytes on disk, for a progress bar that advances per partition."""
    plan = plan_partitions(files, partition_bytes)
    part_bytes = [sum(files[i].stat().st_size for i in part) for part in plan]
    specs = [{"partition": p, "spec": json.dumps({"partition": p, "files": [str(files[i]) for i in part]})}
             for p, part in enumerate(plan)]
    return part_bytes, specs


def remove_strays(directory: Path) -> None:
    """Delete temp files of task attempts that died (their retries wrote the real files)."""
    for top, dirs, files in os.walk(directory):
        for name in files:
            if name.startswith(TMP_PREFIX):
                (Path(top) / name).unlink(missing_ok=True)
        dirs[:] = [d for d in dirs if not d.startswith(TMP_PREFIX)]


def _restore_error(cls: type[TokkitError], args: tuple[Any, ...], attrs: dict[str, Any]) -> TokkitError:
    error = TokkitError.__new__(cls)
    error.args = args
    error.__dict__.update(attrs)
    return error


class _PortableError(TokkitError):
    """Carries a TokkitError out of a task: it unpickles as the original class and message.

    Errors such as :class:`~tokkit.errors.EncodingError` take extra constructor arguments, which
    plain exception pickling cannot replay, so Ray would deliver "failed to deserialize".
    """

    def __init__(self, error: TokkitError) -> None:
        super().__init__(str(error))
        self.error = error

    def __reduce__(self) -> Any:
        return _restore_error, (type(self.error), self.error.args, dict(self.error.__dict__))


def portable_errors(fn: F) -> F:
    """Wrap a (generator) task function so its TokkitErrors reach the driver intact."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            yield from fn(*args, **kwargs)
        except TokkitError as err:
            raise _PortableError(err) from None

    return wrapper  # type: ignore[return-value]


def _tokkit_cause(err: BaseException) -> TokkitError | None:
    """The TokkitError a Ray exception wraps, if any (user errors travel inside RayTaskError)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        cause = getattr(current, "cause", None)  # RayTaskError, also as_instanceof_cause's
        if isinstance(cause, TokkitError):
            return cause
        if isinstance(current, TokkitError) and type(current).__module__.startswith("tokkit."):
            return current
        stack.extend([getattr(current, "cause", None), current.__cause__, current.__context__])
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


@contextmanager
def ray_errors(what: str) -> Iterator[None]:
    """Turn anything a Ray job raises into a one-line :class:`TokkitError`.

    A :class:`TokkitError` raised in a task (bad input) comes back as itself; a worker that kept
    dying beyond the retries, or any other failure, becomes one line naming the stage.
    """
    try:
        yield
    except KeyboardInterrupt:
        raise
    except Exception as err:
        if isinstance(err, TokkitError) and type(err).__module__.startswith("tokkit."):
            raise  # raised by the driver itself, not a task
        cause = _tokkit_cause(err)
        if cause is not None:
            raise _rebuild(cause) from None
        raise TokkitError(
            f"Ray {what} failed ({_first_line(err)}); nothing was written. A worker died beyond "
            "`max_retries` (out of memory? lower `partition_mb`) or the cluster went away; re-run"
        ) from None


def _rebuild(err: TokkitError) -> TokkitError:
    """A clean copy of ``err`` (same class and message, no Ray traceback attached)."""
    clone = TokkitError.__new__(type(err))
    clone.args = err.args
    clone.__dict__.update(err.__dict__)
    return clone
