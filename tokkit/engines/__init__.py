"""Run tokkit's stages on a distributed engine (Ray Data) with the local engine's results.

``import tokkit.engines`` does not import Ray; the engines import it when they run and raise
:class:`tokkit.errors.MissingDependencyError` (``pip install 'tokkit[ray]'``) where it is absent.

:class:`Engine` (``local`` or ``ray``) runs dedup and sharding on either with the same arguments.

>>> from tokkit.engines import RayOptions, ray_dedup_corpus
>>> ray_dedup_corpus(["corpus/"], "dedup/", options=RayOptions(address="auto"))  # doctest: +SKIP
"""

from tokkit.engines.engine import ENGINES, Engine
from tokkit.engines.ray_dedup import ray_dedup_corpus
from tokkit.engines.ray_runtime import RayOptions
from tokkit.engines.ray_shard import ray_write_shards

__all__ = ["ENGINES", "Engine", "RayOptions", "ray_dedup_corpus", "ray_write_shards"]
