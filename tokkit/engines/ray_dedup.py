"""Dedup on Ray Data: the local engine's stages, run over partitions, with the same result.

Stages (each a Ray Data operator over partitions = runs of whole input files, see
:mod:`tokkit.engines.ray_runtime`):

1. **signatures**: a task reads its files (:func:`tokkit.dedup.reading.read_corpus`), computes
   :func:`tokkit.dedup.pipeline.compute_features` batch by batch and writes them to one parquet
   file per partition (ids, lengths, exact keys, MinHash signatures; no text).
2. **band keys → buckets**: every shingled document's :func:`~tokkit.dedup.lsh.band_keys` and
   every exact key are hash-shuffled (``groupby`` on ``key % shuffle_partitions``), so each bucket
   lands whole in one group; :func:`~tokkit.dedup.lsh.bucket_pairs` and
   :func:`~tokkit.dedup.pipeline.exact_pairs` find the documents that have a twin.
3. **clusters**: only those *candidate documents* travel to the driver, where the local engine's
   :func:`~tokkit.dedup.pipeline.cluster_documents` clusters them. This is exact, not an
   approximation: a document that shares no bucket with any other is a singleton whatever else
   happens, every bucket with two or more members is entirely among the candidates, and the
   candidates keep corpus order, so candidate pairs, verified pairs, components, kept documents
   and similarities are those of the local engine (union-find roots and ``keep`` ties follow the
   order). Driver memory grows with the duplicates (25 bytes + a signature each), not the corpus.
4. **filter**: a task per partition writes its files' kept documents in their own format.

``removed.jsonl`` and ``manifest.json`` are then written by the driver exactly as the local
engine writes them (plus an ``engine`` entry). Everything goes into one :func:`tokkit.atomic.atomic_dir`:
a failed job publishes nothing. Multi-node clusters need the inputs and ``output``'s parent on a
filesystem every node sees (tasks write into the output's temp directory).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.atomic import atomic_dir, atomic_file
from tokkit.corpus.readers import ReadOptions, ReadStats, file_format, iter_files
from tokkit.corpus.writers import SEPARATORS
from tokkit.dedup.config import DedupConfig, EncodingFallback
from tokkit.dedup.ids import WHOLE_FILE, KeptRecords, document_id
from tokkit.dedup.pipeline import (
    KEPT,
    LEGACY_DIR,
    DedupReport,
    Features,
    cluster_documents,
    compute_features,
    exact_pairs,
    relative_outputs,
    write_kept_file,
    write_removed_and_manifest,
)
from tokkit.dedup.reading import (
    find_legacy_files,
    is_text_file,
    read_corpus,
    read_corpus_batches,
    read_options_for,
    transcode_legacy,
)
from tokkit.engines.ray_runtime import (
    RayOptions,
    cluster_cpus,
    map_partitions,
    plan_partitions,
    portable_errors,
    ray_errors,
    ray_session,
    remove_strays,
    task_options,
)
from tokkit.errors import InputError
from tokkit.progress import NULL_PROGRESS
from tokkit.resources import peak_rss_mb
from tokkit.types import Progress

StageHook = Callable[[str, int], None]
"""Called at the start of every partition task with (stage, partition): instrumentation, tests."""

FEATURES_DIR = ".features"


# ---------------------------------------------------------------------------- partition specs


def _spec(partition: int, files: Sequence[Path], indices: Sequence[int],
          legacy: dict[Path, Path], rel: Sequence[Path]) -> dict[str, Any]:
    return {"partition": partition, "spec": json.dumps({
        "partition": partition,
        "files": [[i, str(files[i]), str(legacy.get(files[i], "")), str(rel[i])] for i in indices],
    })}


def _specs(batch: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    for raw in batch["spec"]:
        yield json.loads(str(raw))


def _partition_files(spec: dict[str, Any]) -> tuple[list[int], list[Path], dict[Path, Path], list[str]]:
    indices = [int(f[0]) for f in spec["files"]]
    paths = [Path(f[1]) for f in spec["files"]]
    legacy = {Path(f[1]): Path(f[2]) for f in spec["files"] if f[2]}
    rel = [str(f[3]) for f in spec["files"]]
    return indices, paths, legacy, rel


def _features_path(directory: str, partition: int) -> Path:
    return Path(directory) / f"part-{partition:05d}.parquet"


# ---------------------------------------------------------------------------- stage 1: signatures


def _fixed_binary(array: np.ndarray) -> Any:
    import pyarrow as pa

    array = np.ascontiguousarray(array)
    width = array.itemsize * (array.shape[1] if array.ndim == 2 else 1)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(array),
                                                [None, pa.py_buffer(array.tobytes())])


def _from_fixed_binary(column: Any, dtype: Any, width: int) -> np.ndarray:
    array = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if len(array) == 0:
        return np.zeros((0, width), dtype=dtype)
    item = np.dtype(dtype).itemsize * width
    data = np.frombuffer(array.buffers()[1], dtype=np.uint8)[array.offset * item:(array.offset + len(array)) * item]
    return data.view(dtype).reshape(len(array), width).copy()


def _features_of(paths: list[Path], indices: list[int], legacy: dict[Path, Path],
                 options: ReadOptions, stats: ReadStats,
                 cfg: DedupConfig) -> tuple[list[str], list[int], Features, int]:
    """ids, global file index, features and UTF-8 bytes of a partition's documents.

    Batched like the local engine's pass 1 (features do not depend on the batching).
    """
    ids: list[str] = []
    file_of: list[int] = []
    parts: list[Features] = []
    texts: list[str] = []
    chars = text_bytes = 0
    for index, doc in read_corpus(paths, options, stats=stats, legacy=legacy):
        ids.append(doc.id)
        file_of.append(indices[index])
        texts.append(doc.text)
        chars += len(doc.text)
        text_bytes += len(doc.text.encode("utf-8", "surrogatepass"))
        if len(texts) >= cfg.batch_docs or chars >= cfg.batch_chars:
            parts.append(compute_features(texts, cfg))
            texts, chars = [], 0
    if texts:
        parts.append(compute_features(texts, cfg))
    if not parts:
        parts = [compute_features([], cfg)]
    feats = Features(keys=np.concatenate([p.keys for p in parts]).reshape(-1, 16),
                     lengths=np.concatenate([p.lengths for p in parts]),
                     signatures=np.concatenate([p.signatures for p in parts]).reshape(-1, cfg.num_perm),
                     shingled=np.concatenate([p.shingled for p in parts]))
    if all(_sets_of(p) is not None for p in parts):
        sets = [_sets_of(p) for p in parts]
        sizes = np.concatenate([np.diff(o) for _, o in sets])  # type: ignore[misc]
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        feats.sets = np.concatenate([v for v, _ in sets]).astype(np.uint32)  # type: ignore[misc]
        feats.set_offsets = offsets
    return ids, file_of, feats, text_bytes


def _sets_of(features: Features) -> tuple[np.ndarray, np.ndarray] | None:
    """(sets, set_offsets) when the config verifies pairs by exact Jaccard, else None."""
    sets, offsets = getattr(features, "sets", None), getattr(features, "set_offsets", None)
    return None if sets is None or offsets is None else (sets, offsets)


@portable_errors
def _signature_partition(batch: dict[str, np.ndarray], *, config: dict[str, Any],
                         read: dict[str, Any], features_dir: str,
                         hook: StageHook | None) -> Iterator[dict[str, np.ndarray]]:
    """Stage 1 for one partition: documents → features parquet; yields a one-row summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cfg = DedupConfig.from_dict(config)
    options = ReadOptions(**read)
    for spec in _specs(batch):
        partition = int(spec["partition"])
        if hook is not None:
            hook("signatures", partition)
        indices, paths, legacy, _ = _partition_files(spec)
        stats = ReadStats()
        ids, file_of, feats, text_bytes = _features_of(paths, indices, legacy, options, stats, cfg)
        keys, sigs, shingled, lengths = feats.keys, feats.signatures, feats.shingled, feats.lengths
        columns = {
            "file": pa.array(np.asarray(file_of, dtype=np.int32)),
            "id": pa.array(ids, type=pa.string()),
            "length": pa.array(lengths),
            "shingled": pa.array(shingled),
            "key": _fixed_binary(keys),
            "sig": _fixed_binary(np.asarray(sigs)),
        }
        sets = _sets_of(feats)
        if sets is not None:
            columns["set"] = pa.LargeListArray.from_arrays(pa.array(sets[1]), pa.array(sets[0]))
        table = pa.table(columns)
        with atomic_file(_features_path(features_dir, partition), "wb") as f:
            pq.write_table(table, f)
        yield {
            "partition": np.array([partition]),
            "documents": np.array([len(ids)], dtype=np.int64),
            "text_bytes": np.array([text_bytes], dtype=np.int64),
            "without_shingles": np.array([int((~shingled).sum())], dtype=np.int64),
            "stats": np.array([json.dumps(asdict(stats))], dtype=object),
        }


def _read_features(features_dir: str, partition: int, num_perm: int) -> dict[str, np.ndarray]:
    import pyarrow.parquet as pq

    table = pq.read_table(_features_path(features_dir, partition))
    columns = {
        "file": table.column("file").to_numpy(),
        "id": np.asarray(table.column("id").to_pylist(), dtype=object),
        "length": table.column("length").to_numpy(),
        "shingled": table.column("shingled").to_numpy(zero_copy_only=False),
        "key": _from_fixed_binary(table.column("key"), np.uint8, 16),
        "sig": _from_fixed_binary(table.column("sig"), np.uint32, num_perm),
    }
    if "set" in table.column_names:
        lists = table.column("set").combine_chunks()
        offsets = lists.offsets.to_numpy()
        values = lists.values.to_numpy()
        ragged = np.empty(len(lists), dtype=object)
        for i in range(len(lists)):
            ragged[i] = values[offsets[i] : offsets[i + 1]]
        columns["set"] = ragged
    return columns


# ---------------------------------------------------------------------------- stage 2: buckets


@portable_errors
def _bucket_rows(batch: dict[str, np.ndarray], *, features_dir: str, offsets: dict[int, int],
                 config: dict[str, Any], shuffle_partitions: int,
                 hook: StageHook | None) -> Iterator[dict[str, np.ndarray]]:
    """One row per (document, band) and per exact key, tagged with its shuffle partition."""
    from tokkit.dedup.lsh import band_keys

    cfg = DedupConfig.from_dict(config)
    bands, rows = cfg.lsh_params()
    for spec in _specs(batch):
        partition = int(spec["partition"])
        if hook is not None:
            hook("buckets", partition)
        feats = _read_features(features_dir, partition, cfg.num_perm)
        docs = offsets[partition] + np.arange(len(feats["length"]), dtype=np.int64)
        # documents shorter than min_length are never removed (nor bucketed by the local engine)
        eligible = feats["length"] >= getattr(cfg, "min_length", 0)
        if cfg.near:
            sel = np.flatnonzero(feats["shingled"] & eligible)
            keys = band_keys(feats["sig"][sel], bands, rows).ravel()
            yield _tagged(keys, np.zeros(len(keys), np.uint64),
                          np.tile(np.arange(bands, dtype=np.int16), len(sel)),
                          np.repeat(docs[sel], bands), shuffle_partitions)
        if cfg.exact:
            sel = np.flatnonzero(eligible)
            halves = feats["key"][sel].view(np.uint64)  # (n, 2): a 16-byte digest as two words
            yield _tagged(halves[:, 0].copy(), halves[:, 1].copy(),
                          np.full(len(sel), -1, np.int16), docs[sel], shuffle_partitions)


def _tagged(key: np.ndarray, key2: np.ndarray, band: np.ndarray, doc: np.ndarray,
            shuffle_partitions: int) -> dict[str, np.ndarray]:
    return {"part": (key % np.uint64(shuffle_partitions)).astype(np.int64), "band": band,
            "key": key, "key2": key2, "doc": doc}


def _twins_in_group(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Documents of one shuffle partition that share a band bucket or an exact key with another."""
    from tokkit.dedup.lsh import bucket_pairs

    found = [np.zeros(0, dtype=np.int64)]
    band, doc = group["band"], group["doc"].astype(np.int64)
    for b in np.unique(band).tolist():
        sel = band == b
        if b < 0:
            order = np.argsort(doc[sel], kind="stable")
            words = np.stack([group["key"][sel][order], group["key2"][sel][order]], axis=1)
            local = exact_pairs(np.ascontiguousarray(words).view(np.uint8).reshape(-1, 16))
            found.append(doc[sel][order][local].ravel())
        else:
            found.append(bucket_pairs(group["key"][sel], doc[sel]).ravel())
    return {"doc": np.unique(np.concatenate(found))}


# ---------------------------------------------------------------------------- stage 3: gather


@portable_errors
def _candidate_rows(batch: dict[str, np.ndarray], *, features_dir: str, offsets: dict[int, int],
                    num_perm: int, candidates: Any,
                    hook: StageHook | None) -> Iterator[dict[str, np.ndarray]]:
    """The features of the candidate documents of a partition (``candidates``: an ObjectRef)."""
    import ray

    wanted = ray.get(candidates)
    for spec in _specs(batch):
        partition = int(spec["partition"])
        if hook is not None:
            hook("gather", partition)
        feats = _read_features(features_dir, partition, num_perm)
        docs = offsets[partition] + np.arange(len(feats["length"]), dtype=np.int64)
        sel = np.isin(docs, wanted)
        if sel.any():
            yield {"doc": docs[sel], **{k: v[sel] for k, v in feats.items()}}


def _rows_of(column: Any) -> np.ndarray:
    """A column of variable-length arrays as a 1-D object array (one uint32 array per row)."""
    out = np.empty(len(column), dtype=object)
    for i, row in enumerate(column):
        out[i] = np.asarray(row, dtype=np.uint32).ravel()
    return out


# ---------------------------------------------------------------------------- stage 4: filter


@portable_errors
def _filter_partition(batch: dict[str, np.ndarray], *, output: str, read: dict[str, Any],
                      removed: Any, hook: StageHook | None) -> Iterator[dict[str, np.ndarray]]:
    """Write the kept documents of a partition's files; one summary row per file."""
    import ray

    removed_ids: set[str] = ray.get(removed)
    options = ReadOptions(**read)
    separator = SEPARATORS[options.split]
    for spec in _specs(batch):
        partition = int(spec["partition"])
        if hook is not None:
            hook("filter", partition)
        indices, paths, legacy, rel = _partition_files(spec)
        numbers: list[list[int]] = [[] for _ in paths]
        stays: list[list[bool]] = [[] for _ in paths]
        texts: list[list[tuple[int, str]]] = [[] for _ in paths]
        for index, found, chunk in read_corpus_batches(paths, options, stats=ReadStats(), legacy=legacy):
            source, text_file = str(paths[index]), is_text_file(paths[index])
            for number, text in zip([WHOLE_FILE] if found is None else found, chunk, strict=True):
                numbers[index].append(number)
                stays[index].append(document_id(source, number) not in removed_ids)
                if text_file:
                    texts[index].append((number, text))
        for local, path in enumerate(paths):
            kept = KeptRecords(np.asarray(numbers[local], dtype=np.int64), np.asarray(stays[local], dtype=bool))
            written = size = 0
            if kept:
                dst = Path(output) / rel[local]
                written = write_kept_file(path, dst, file_format(path)[0], kept,
                                          iter(texts[local]), separator)
                size = dst.stat().st_size
            yield {"file": np.array([indices[local]]), "documents": np.array([len(numbers[local])]),
                   "kept": np.array([written]), "bytes": np.array([size], dtype=np.int64),
                   "output": np.array([rel[local] if written else ""], dtype=object)}


# ---------------------------------------------------------------------------- the driver


def ray_dedup_corpus(paths: Sequence[str | Path], output: str | Path, *,
                     config: DedupConfig | None = None, text_field: str = "text",
                     encoding_errors: EncodingFallback = "strict", force: bool = False,
                     progress: Progress = NULL_PROGRESS, options: RayOptions | None = None,
                     stage_hook: StageHook | None = None) -> DedupReport:
    """:func:`tokkit.dedup.dedup_corpus` on Ray: same arguments, same output (see module doc).

    >>> ray_dedup_corpus(["corpus/"], "corpus-dedup/",
    ...                  options=RayOptions(address="auto"))  # doctest: +SKIP
    """
    config = (config or DedupConfig()).check()
    options = (options or RayOptions()).check()
    started = time.perf_counter()
    stats = ReadStats()
    files = list(iter_files(paths, stats))
    if not files:
        raise InputError(f"{', '.join(map(str, paths))}: no txt/jsonl/json/parquet files to deduplicate")
    read_options = read_options_for(config, text_field, encoding_errors)  # checked before Ray starts
    split = read_options.split
    read = asdict(read_options)
    total_bytes = sum(p.stat().st_size for p in files)
    legacy_files = find_legacy_files(files, encoding_errors)
    plan = plan_partitions(files, options.partition_bytes)
    rel = relative_outputs(files)
    cfg = config.to_dict()

    with atomic_dir(output, force=force, inputs=paths) as tmp, ray_session(options) as ray, ray_errors("dedup"):
        legacy = {p: transcode_legacy(p, tmp / LEGACY_DIR, i) for i, p in enumerate(legacy_files)}
        features_dir = str(tmp / FEATURES_DIR)
        Path(features_dir).mkdir()
        specs = [_spec(p, files, part, legacy, rel) for p, part in enumerate(plan)]

        def partitions() -> Any:
            return ray.data.from_items(specs, override_num_blocks=len(specs))

        # ---- stage 1: documents → features (parquet per partition)
        task = progress.task("ray 1/3: signatures", total=total_bytes, unit="bytes")
        part_bytes = [sum(files[i].stat().st_size for i in part) for part in plan]
        summaries: dict[int, dict[str, Any]] = {}
        stage = map_partitions(partitions(), _signature_partition, options, config=cfg, read=read,
                               features_dir=features_dir, hook=stage_hook)
        for row in stage.iter_rows():
            summaries[int(row["partition"])] = row
            task.advance(part_bytes[int(row["partition"])])
        counts_per_part = [int(summaries[p]["documents"]) for p in range(len(plan))]
        n = sum(counts_per_part)
        if n == 0:
            raise InputError(
                f"{', '.join(map(str, paths))}: no documents to deduplicate (all files empty or skipped)"
            )
        for p in range(len(plan)):
            stats.add(ReadStats(**json.loads(str(summaries[p]["stats"]))))
        text_bytes = sum(int(s["text_bytes"]) for s in summaries.values())
        without_shingles = sum(int(s["without_shingles"]) for s in summaries.values())
        offsets = {p: int(o) for p, o in enumerate(np.cumsum([0, *counts_per_part[:-1]]))}
        pass1 = time.perf_counter()

        # ---- stage 2: band keys + exact keys → hash shuffle → documents with a twin
        shuffle = options.shuffle_partitions or 4 * cluster_cpus(ray)
        task = progress.task("ray 2/3: LSH buckets", total=None)
        buckets = map_partitions(partitions(), _bucket_rows, options, features_dir=features_dir,
                                 offsets=offsets, config=cfg, shuffle_partitions=shuffle,
                                 hook=stage_hook)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
            twins = buckets.groupby("part").map_groups(_twins_in_group, batch_format="numpy",
                                                       **task_options(options))
        found = [np.asarray(b["doc"], dtype=np.int64)
                 for b in twins.iter_batches(batch_format="numpy", batch_size=None)]
        candidates = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
        task.advance(1)

        # ---- stage 3: gather the candidates' features; cluster them with the local engine
        gathered: dict[str, list[np.ndarray]] = {}
        if len(candidates):
            rows_ds = map_partitions(partitions(), _candidate_rows, options,
                                     features_dir=features_dir, offsets=offsets,
                                     num_perm=config.num_perm, candidates=ray.put(candidates),
                                     hook=stage_hook)
            for b in rows_ds.iter_batches(batch_format="numpy", batch_size=None):
                for k, v in b.items():
                    # shingle sets are ragged: Ray hands them back as objects or, when a batch's
                    # sets happen to be equally long, as a 2-D tensor; keep one array per row
                    gathered.setdefault(k, []).append(
                        _rows_of(v) if k == "set" else np.asarray(v))
        cand = {k: np.concatenate(v) for k, v in gathered.items()}
        order = np.argsort(cand["doc"], kind="stable") if cand else np.zeros(0, np.int64)
        cand = {k: v[order] for k, v in cand.items()}
        doc_ids = cand.get("doc", np.zeros(0, np.int64))
        if not np.array_equal(doc_ids, candidates):
            raise InputError(f"{output}: the candidate documents came back incomplete; re-run")
        m = len(doc_ids)
        features = Features(
            keys=cand.get("key", np.zeros((0, 16), np.uint8)).reshape(m, 16),
            lengths=cand.get("length", np.zeros(0, np.int64)).astype(np.int64),
            signatures=cand.get("sig", np.zeros((0, config.num_perm), np.uint32)).reshape(m, config.num_perm),
            shingled=cand.get("shingled", np.zeros(0, bool)).astype(bool),
        )
        if "set" in cand:
            sizes = np.fromiter((len(x) for x in cand["set"]), dtype=np.int64, count=m)
            features.set_offsets = np.zeros(m + 1, dtype=np.int64)
            np.cumsum(sizes, out=features.set_offsets[1:])
            features.sets = (np.concatenate(list(cand["set"])).astype(np.uint32) if m
                             else np.zeros(0, np.uint32))
        elif config.verify == "exact" and m == 0:
            features.set_offsets, features.sets = np.zeros(1, np.int64), np.zeros(0, np.uint32)
        driver_start = time.perf_counter()
        clustering = cluster_documents(features, config, progress=progress)
        clustered = time.perf_counter()

        # ---- stage 4: write the kept documents, partition by partition
        gone = clustering.reason != KEPT
        ids = cand.get("id", np.zeros(0, dtype=object))
        removed_ids = {str(i) for i in ids[gone].tolist()}
        task = progress.task("ray 3/3: writing kept", total=total_bytes, unit="bytes")
        file_rows: list[dict[str, Any]] = [{} for _ in files]
        bytes_out = 0
        written = map_partitions(partitions(), _filter_partition, options, output=str(tmp),
                                 read=read, removed=ray.put(removed_ids), hook=stage_hook)
        for row in written.iter_rows():
            i = int(row["file"])
            bytes_out += int(row["bytes"])
            file_rows[i] = {"input": str(files[i]), "output": str(row["output"]) or None,
                            "documents": int(row["documents"]), "kept": int(row["kept"])}
            task.advance(files[i].stat().st_size)
        import shutil

        shutil.rmtree(features_dir, ignore_errors=True)
        shutil.rmtree(tmp / LEGACY_DIR, ignore_errors=True)
        remove_strays(tmp)

        # ---- removed.jsonl + manifest.json, as the local engine writes them
        manifest = write_removed_and_manifest(
            tmp, ids=ids, clustering=clustering, documents=n, config=config, paths=paths,
            files=files, legacy_files=legacy_files, text_field=text_field,
            encoding_errors=encoding_errors, split=split, stats=stats,
            without_shingles=without_shingles,
            bytes_={"in": total_bytes, "out": bytes_out, "text_in": text_bytes}, file_rows=file_rows,
            engine={"name": "ray", "partitions": len(plan), "candidates": m,
                    "driver_cluster_seconds": round(clustered - driver_start, 3),
                    "shuffle_partitions": shuffle, "options": options.to_dict()})
    done = time.perf_counter()
    return DedupReport(output=Path(output), manifest=manifest, seconds=done - started,
                       pass1_seconds=pass1 - started, cluster_seconds=clustered - pass1,
                       pass2_seconds=done - clustered, peak_rss_mb=peak_rss_mb(children=False),
                       legacy_files=[str(p) for p in legacy_files])
