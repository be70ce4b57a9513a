"""Local engine vs Ray Data on this machine, and what a cluster would need for 1 TB.

Runs ``tokkit dedup`` (paragraph granularity) and ``tokkit shard`` on a slice of the real sample
corpora with the local engine and with a local Ray instance of ``--workers`` CPUs, checks that
the results agree (dedup: identical kept files and counts; shards: identical token streams), and
prints throughput side by side. Ray's start-up (``ray.init`` and the first tasks that start the
worker processes) is timed apart: it is paid once per cluster, not per terabyte.

It then measures the cost of one partition of each stage (the very task functions, run
in-process, one partition at a time) and prints a simulated scaling table: the wall time of
``P`` partitions on ``W`` workers is ``ceil(P / W)`` rounds of the mean partition cost plus the
driver's share (measured, scaled by the number of partitions), from which the cluster size for
1 TB can be read off. Assumptions: workers as fast as one core here, input read at that speed
from shared storage, and a duplicate rate like the sample's (the driver clusters only documents
with a twin). On a shared 2-core machine timings are noisy; re-run for stable figures.

    python benchmarks/bench_ray.py --mb 4 --partition-mb 0.5
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"


def build_corpus(directory: Path, megabytes: float, piece_mb: float) -> list[Path]:
    """Whole files of en/ and zh/ interleaved, about ``megabytes`` in all, copied to a temp dir
    with a few re-published copies (exact and re-wrapped) so dedup has work to do."""
    en = sorted((CORPORA / "en").glob("*.txt"))
    zh = sorted((CORPORA / "zh").glob("*.txt"))
    files: list[Path] = []
    size = 0
    directory.mkdir(parents=True)
    for i, src in enumerate(p for pair in zip(zh, en, strict=False) for p in pair):
        text = src.read_text(encoding="utf-8")[: int(piece_mb * 1e6 / 2)]
        dst = directory / f"{i:03d}-{src.name}"
        dst.write_text(text, encoding="utf-8")
        files.append(dst)
        size += dst.stat().st_size
        if i % 3 == 0:  # a re-published copy: same paragraphs, other wrapping
            copy = directory / f"{i:03d}-copy-{src.name}"
            copy.write_text(text.replace("\n\n", "\n\n\n").replace("，", ", "), encoding="utf-8")
            files.append(copy)
            size += copy.stat().st_size
        if size >= megabytes * 1e6:
            break
    return sorted(files)


def train_tokenizer(files: list[Path], directory: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((p.read_text(encoding="utf-8") for p in files), trainer)
    directory.mkdir(parents=True)
    tok.save(str(directory / "tokenizer.json"))
    return directory


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def partition_costs(files: list[Path], partition_mb: float, work: Any) -> list[float]:
    """Seconds of ``work(partition_files)`` for every partition, run in this process."""
    from tokkit.engines.ray_runtime import plan_partitions

    costs = []
    for part in plan_partitions(files, int(partition_mb * 1e6)):
        _, seconds = timed(work, [files[i] for i in part])
        costs.append(seconds)
    return costs


def dedup_partition_work(config: Any, scratch: Path) -> Any:
    from tokkit.corpus.readers import ReadOptions, ReadStats
    from tokkit.engines.ray_dedup import _features_of

    options = ReadOptions(split="paragraph")

    def work(paths: list[Path]) -> None:
        _features_of(paths, list(range(len(paths))), {}, options, ReadStats(), config)

    return work


def shard_partition_work(tokenizer: Path, config: Any, scratch: Path) -> Any:
    """One partition's work as the Ray engine does it (the same pack_partition and encoder)."""
    from tokkit.corpus.readers import ReadOptions, ReadStats, read_documents
    from tokkit.engines.ray_shard import _encoder
    from tokkit.shards.manifest import SPLITS, token_dtype
    from tokkit.shards.stream import ShardStream
    from tokkit.shards.writer import pack_partition, tokenizer_info

    framing, info = tokenizer_info(tokenizer, config)
    encode = _encoder(str(tokenizer))
    counter = iter(range(10**9))

    def work(paths: list[Path]) -> None:
        directory = scratch / f"p{next(counter)}"
        directory.mkdir(parents=True)
        streams = {s: ShardStream(s, directory, tokens_per_shard=config.shard_tokens,
                                  dtype=token_dtype(info.vocab_size)) for s in SPLITS}
        texts = (d.text for d in read_documents(paths, ReadOptions(split="line"), stats=ReadStats()))
        pack_partition(texts, streams, encode, framing, config)

    return work


def scaling_table(name: str, mb: float, costs: list[float], partition_mb: float,
                  fixed_seconds: float, driver_per_mb: float) -> None:
    """Simulated wall time for P partitions × W workers, and 1 TB read-offs.

    ``T = ceil(P / W) × cost of one partition + fixed + driver_per_mb × MB``: the partitions run
    in rounds on W workers; ``fixed`` is the per-job overhead (Ray Data start of each stage);
    the driver's serial work (dedup: clustering the candidates) grows with the data.
    """
    per_mb = sum(costs) / mb
    per_part = per_mb * partition_mb
    print(f"\n{name}: measured {per_mb:.3f} core-s/MB ({1 / per_mb:.2f} MB/s per core) over "
          f"{len(costs)} partitions = {per_part:.2f} s per {partition_mb:g} MB partition; "
          f"fixed {fixed_seconds:.1f} s per job; serial driver {driver_per_mb * 1000:.1f} ms/MB")
    workers = [1, 2, 8, 32, 128, 512, 2048]
    rows = [(p, partition_mb) for p in (len(costs), 1_000, 16_000, int(1e6 / partition_mb))]
    rows.append((int(1e6 / 64), 64.0))  # 1 TB in the default 64 MB partitions
    print("partitions \\ workers".ljust(30) + "".join(f"{w:>10}" for w in workers))
    for p, size in rows:
        row = f"{p:>10,} x {size:g} MB ({p * size / 1e3:>7.1f} GB)"
        cells = [_human(math.ceil(p / w) * per_mb * size + fixed_seconds + driver_per_mb * p * size)
                 for w in workers]
        print(row.ljust(30) + "".join(f"{c:>10}" for c in cells))
    total = 1e6 * per_mb  # core-seconds for 1 TB
    serial = 1e6 * driver_per_mb
    print(f"1 TB = {total / 3600:,.0f} core-hours of parallel work + {serial / 3600:,.1f} h serial on the "
          f"driver; workers needed for the parallel part within:")
    for hours in (1, 8, 24):
        print(f"  {hours:>2} h: {math.ceil(total / (hours * 3600)):,} workers "
              f"({int(1e6 / partition_mb):,} partitions of {partition_mb:g} MB)")


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=4.0, help="corpus size (MB of real text)")
    parser.add_argument("--partition-mb", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray instance")
    args = parser.parse_args()

    import ray

    from tokkit.corpus.readers import ReadOptions
    from tokkit.dedup import DedupConfig, dedup_corpus
    from tokkit.engines import RayOptions, ray_dedup_corpus, ray_write_shards
    from tokkit.shards import ShardConfig, open_shards, write_shards

    scratch = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        files = build_corpus(scratch / "corpus", args.mb, args.partition_mb / 2)
        mb = sum(p.stat().st_size for p in files) / 1e6
        print(f"corpus: {len(files)} files, {mb:.1f} MB of en/zh sample text (with re-published copies)")
        options = RayOptions(partition_mb=args.partition_mb)

        _, init_s = timed(ray.init, num_cpus=args.workers, include_dashboard=False, log_to_driver=False,
                          configure_logging=False)
        warm_cfg = DedupConfig(granularity="paragraph")
        _, warm_s = timed(ray_dedup_corpus, files[:2], scratch / "warm", config=warm_cfg,
                          options=RayOptions(partition_mb=0.001))
        print(f"Ray start-up: ray.init {init_s:.1f} s, first job (starts {args.workers} workers) {warm_s:.1f} s")

        # ---- dedup
        config = DedupConfig(granularity="paragraph")
        local, local_s = timed(dedup_corpus, files, scratch / "dedup-local", config=config)
        remote, ray_s = timed(ray_dedup_corpus, files, scratch / "dedup-ray", config=config, options=options)
        same = (local.counts == remote.counts and all(
            (scratch / "dedup-local" / p.name).read_bytes() == (scratch / "dedup-ray" / p.name).read_bytes()
            for p in (scratch / "dedup-local").glob("*.txt")))
        print(f"\n{'dedup (paragraphs)':<22}{'seconds':>9}{'MB/s':>8}{'docs/s':>10}   stages (s)")
        docs = local.counts["documents"]
        print(f"{'local':<22}{local_s:>9.1f}{mb / local_s:>8.2f}{docs / local_s:>10,.0f}   "
              f"signatures {local.pass1_seconds:.1f}, clusters {local.cluster_seconds:.1f}, "
              f"writing {local.pass2_seconds:.1f}")
        print(f"{f'ray ({args.workers} workers)':<22}{ray_s:>9.1f}{mb / ray_s:>8.2f}{docs / ray_s:>10,.0f}   "
              f"signatures {remote.pass1_seconds:.1f}, buckets+clusters {remote.cluster_seconds:.1f}, "
              f"writing {remote.pass2_seconds:.1f}; {remote.manifest['engine']['partitions']} partitions")
        print(f"identical kept files and counts: {same}; removed {local.counts['removed']:,} of {docs:,}")

        # ---- shards
        tokenizer = train_tokenizer(files, scratch / "tok")
        shard_cfg = ShardConfig(seq_len=1024, tokens_per_shard=1 << 20, val_fraction=0.005,
                                workers=args.workers)
        read = ReadOptions(split="line")
        m_local, local_shard_s = timed(write_shards, files, tokenizer, scratch / "shards-local",
                                       config=shard_cfg, read_options=read)
        m_ray, ray_shard_s = timed(ray_write_shards, files, tokenizer, scratch / "shards-ray",
                                   config=shard_cfg, read_options=read, options=options)
        import numpy as np

        same_stream = all(
            np.array_equal(np.concatenate(list(open_shards(scratch / "shards-local").tokens(s))),
                           np.concatenate(list(open_shards(scratch / "shards-ray").tokens(s))))
            for s in ("train", "val") if m_local.splits[s].tokens)
        tokens = sum(s.tokens for s in m_local.splits.values())
        print(f"\n{'shard':<22}{'seconds':>9}{'MB/s':>8}{'tokens/s':>12}")
        print(f"{f'local ({args.workers} processes)':<22}{local_shard_s:>9.1f}{mb / local_shard_s:>8.2f}"
              f"{tokens / local_shard_s:>12,.0f}")
        print(f"{f'ray ({args.workers} workers)':<22}{ray_shard_s:>9.1f}{mb / ray_shard_s:>8.2f}"
              f"{tokens / ray_shard_s:>12,.0f}")
        print(f"identical token streams: {same_stream}; {tokens:,} tokens; "
              f"{m_ray.config['engine']['partitions']} partitions")
        ray.shutdown()

        # ---- per-partition costs → scaling tables
        dedup_costs = partition_costs(files, args.partition_mb, dedup_partition_work(config, scratch))
        driver = remote.manifest["engine"]["driver_cluster_seconds"]
        # fixed: what the Ray run spent beyond the task work spread over its workers and the driver
        fixed = max(0.0, ray_s - sum(dedup_costs) / args.workers - driver)
        scaling_table("dedup", mb, dedup_costs, args.partition_mb, fixed, driver / mb)
        shard_costs = partition_costs(files, args.partition_mb,
                                      shard_partition_work(tokenizer, shard_cfg, scratch / "shard-scratch"))
        fixed = max(0.0, ray_shard_s - sum(shard_costs) / args.workers)
        scaling_table("shard", mb, shard_costs, args.partition_mb, fixed, 0.0)
        print("\n(dedup's parallel cost counts the signature stage, which dominates; the serial driver "
              f"share is for this sample's duplicate rate, {local.counts['removed'] / docs:.0%} removed: "
              "it grows with the candidates, not the corpus)")
        print(json.dumps({"mb": round(mb, 2), "dedup_local_s": round(local_s, 2), "dedup_ray_s": round(ray_s, 2),
                          "shard_local_s": round(local_shard_s, 2), "shard_ray_s": round(ray_shard_s, 2),
                          "ray_init_s": round(init_s, 1), "ray_first_job_s": round(warm_s, 1)}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
