"""Sharding on Ray Data: every partition tokenizes and packs its own documents, in parallel.

A partition (a run of whole input files in corpus order, see :mod:`tokkit.engines.ray_runtime`)
is read, tokenized with the local engine's :func:`~tokkit.shards.pack.encode_batch` and fed to
its own pair of :class:`~tokkit.shards.stream.ShardStream` (train, val), writing
``part-NNNNN/{train,val}-NNNNN.bin`` into the output's temp directory. The driver lists the
shards of all partitions in partition order in one ``manifest.json`` (document indices made
global) and publishes the directory atomically.

**Ordering, compared with the local engine.** Documents, framing, dtype and the train/val split
are the same, and each split's token stream (its shards concatenated in manifest order) is
byte-identical to the local engine's, so :meth:`~tokkit.shards.reader.ShardSet.documents`
returns the corpus in order. What differs is where shards are cut: shards restart at every
partition, so each partition's last shard of a split may be short, and its tail (fewer than
``seq_len`` tokens) is not part of any training sequence. With one partition the shards are
byte-identical to the local engine's. Keep ``partition_mb`` large (the default 64 MB loses at
most ``seq_len`` tokens per 64 MB, well under 0.1 %).

Resuming is the local engine's feature; on Ray a failed partition is retried instead, and a job
that still fails publishes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.atomic import atomic_dir
from tokkit.corpus.readers import ReadOptions, ReadStats, iter_files, read_documents
from tokkit.engines.ray_dedup import StageHook
from tokkit.engines.ray_runtime import (
    RayOptions,
    map_partitions,
    partition_specs,
    portable_errors,
    ray_errors,
    ray_session,
    remove_strays,
)
from tokkit.errors import InputError
from tokkit.shards.framing import Framing
from tokkit.shards.lock import output_lock
from tokkit.shards.manifest import (
    SPLITS,
    Manifest,
    ShardInfo,
    token_dtype,
)
from tokkit.shards.pack import Encoder
from tokkit.shards.stream import ShardStream
from tokkit.shards.writer import (
    ShardConfig,
    build_manifest,
    is_finished,
    make_encoder,
    pack_partition,
    tokenizer_info,
    verify_finished,
)
from tokkit.types import Progress

_ENCODERS: dict[str, Encoder] = {}


def _encoder(tokenizer_path: str) -> Encoder:
    """One tokenizer per worker process, loaded on its first partition."""
    if tokenizer_path not in _ENCODERS:
        # Parallelism comes from Ray's one-CPU tasks; a Rust thread pool each would oversubscribe.
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        _ENCODERS[tokenizer_path] = make_encoder(tokenizer_path)
    return _ENCODERS[tokenizer_path]


def partition_dir(partition: int) -> str:
    return f"part-{partition:05d}"


@portable_errors
def _shard_partition(batch: dict[str, np.ndarray], *, tokenizer_path: str, framing: Framing,
                     config: dict[str, Any], read: dict[str, Any], output: str, dtype: str,
                     hook: StageHook | None) -> Iterator[dict[str, np.ndarray]]:
    """Tokenize and pack one partition; document indices in its ShardInfos are partition-local."""
    cfg = ShardConfig(**config)
    options = ReadOptions(**read)
    for raw in batch["spec"]:
        spec = json.loads(str(raw))
        partition = int(spec["partition"])
        if hook is not None:
            hook("shard", partition)
        directory = Path(output) / partition_dir(partition)
        shutil.rmtree(directory, ignore_errors=True)  # an earlier attempt's leftovers
        directory.mkdir(parents=True)
        encode = _encoder(tokenizer_path)
        streams = {split: ShardStream(split, directory, tokens_per_shard=cfg.shard_tokens, dtype=dtype)
                   for split in SPLITS}
        stats = ReadStats()
        texts = (doc.text for doc in read_documents(spec["files"], options, stats=stats))
        index = pack_partition(texts, streams, encode, framing, cfg)
        if not any(directory.iterdir()):
            directory.rmdir()
        shards = {split: [{**asdict(s), "start": list(s.start), "end": list(s.end)}
                          for s in stream.shards] for split, stream in streams.items()}
        yield {"partition": np.array([partition]), "documents": np.array([index], dtype=np.int64),
               "stats": np.array([json.dumps(asdict(stats))], dtype=object),
               "shards": np.array([json.dumps(shards)], dtype=object)}


def _globalize(shard: ShardInfo, partition: int, offset: int) -> ShardInfo:
    return replace(shard, file=f"{partition_dir(partition)}/{shard.file}",
                   start=(shard.start[0] + offset, shard.start[1]),
                   end=(shard.end[0] + offset, shard.end[1]))


def ray_write_shards(
    paths: Sequence[str | Path],
    tokenizer_path: str | Path,
    output: str | Path,
    *,
    config: ShardConfig | None = None,
    read_options: ReadOptions | None = None,
    force: bool = False,
    progress: Progress | None = None,
    options: RayOptions | None = None,
    stage_hook: StageHook | None = None,
) -> Manifest:
    """:func:`tokkit.shards.write_shards` on Ray (``config.workers`` is Ray's business here).

    >>> ray_write_shards(["corpus/"], "vocab/llama-zh", "shards/",
    ...                  options=RayOptions(address="auto"))  # doctest: +SKIP
    """
    from tokkit.progress import NULL_PROGRESS

    config = config or ShardConfig()
    config.validate()
    options = (options or RayOptions()).check()
    read_options = read_options or ReadOptions(split="line")
    progress = progress or NULL_PROGRESS
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: exists and is not a directory; choose another `output`")
    if not paths:
        raise InputError("no corpus given; pass one or more files or directories")

    framing, info = tokenizer_info(tokenizer_path, config)
    if not force and is_finished(output):  # a re-run verifies the finished output, as locally
        with output_lock(output):
            return verify_finished(output, info, config, paths=paths, read_options=read_options)
    dtype = token_dtype(info.vocab_size)
    stats = ReadStats()
    files = list(iter_files(paths, stats))
    if not files:
        raise InputError(f"{', '.join(map(str, paths))}: no documents to shard; check the corpus path and `split`")
    part_bytes, specs = partition_specs(files, options.partition_bytes)

    with output_lock(output), atomic_dir(output, force=force, inputs=[*paths, tokenizer_path]) as tmp, \
            ray_session(options) as ray, ray_errors("shard"):
        task = progress.task("ray: sharding", total=sum(part_bytes), unit="bytes")
        rows: dict[int, dict[str, Any]] = {}
        if specs:
            dataset = ray.data.from_items(specs, override_num_blocks=len(specs))
            stage = map_partitions(dataset, _shard_partition, options, tokenizer_path=str(tokenizer_path),
                                   framing=framing, config=asdict(config), read=asdict(read_options),
                                   output=str(tmp), dtype=dtype, hook=stage_hook)
            for row in stage.iter_rows():
                rows[int(row["partition"])] = row
                task.advance(part_bytes[int(row["partition"])])
        documents = 0
        shards: dict[str, list[ShardInfo]] = {split: [] for split in SPLITS}
        for p in range(len(specs)):
            row = rows[p]
            stats.add(ReadStats(**json.loads(str(row["stats"]))))
            for split, raw in json.loads(str(row["shards"])).items():
                shards[split].extend(_globalize(ShardInfo.from_json(s), p, documents) for s in raw)
            documents += int(row["documents"])
        if documents == 0:
            raise InputError(f"{', '.join(map(str, paths))}: no documents to shard; check the corpus path and `split`")
        remove_strays(tmp)
        manifest = build_manifest(info, config, shards, paths=paths, read_options=read_options,
                                  stats=stats, documents=documents,
                                  engine={"name": "ray", "partitions": len(specs),
                                          "partition_mb": options.partition_mb})
        manifest.save(tmp)
    return manifest
