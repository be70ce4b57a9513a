"""tokkit analyze vs the tokenizer library's own batch encode, on the same text, in one run.

Target: tokkit's overhead over the library's batch encode is at most 10%. For each tokenizer and
corpus, the text is read once into memory and cut into the batches ``analyze`` uses (256 KB for
worker processes, 1 MB in-process); then, best of ``--repeat`` runs each:

- ``library``: the library's batch encode of every batch (sentencepiece ``EncodeAsIds(list)``,
  tiktoken ``encode_ordinary_batch``, tokenizers ``encode_batch``), on 256 KB and on 1 MB batches
  (whichever the library does faster is its figure); for tiktoken also a plain loop of
  ``encode_ordinary``, which is faster than its thread-pool batch on a 2-core machine, and for
  tokenizers also ``encode_batch_fast`` (no offsets: what tokkit calls), each with the ids read out
  of its ``Encoding`` objects, as any caller must;
- ``tokkit``: everything ``analyze`` does per batch (encode, text tally, id histogram, split
  characters, round trip) on the same text, in ``--workers`` processes (analyze's default for a
  large corpus: one per CPU; the pool is started before timing, as the library's model is loaded
  before timing, and its start-up is printed apart) and in this process (``workers=1``);
- ``own cpu``: CPU seconds of tokkit's own per-batch work alone (text tally + id tally, on ids
  encoded beforehand) and its share of the library's encode CPU; where the library hands ids over
  as Python lists (sentencepiece), also the CPU of merely reading them into one numpy array, the
  floor of any tally written in Python;
- ``end-to-end``: ``tokkit.analyze.analyze`` on the files, reading and start-up included (one run).

    python benchmarks/bench_analyze.py                       # LLaMA, cl100k_base, o200k_base
    python benchmarks/bench_analyze.py --corpus ../shared/corpora/zh --max-bytes 8000000
    python benchmarks/bench_analyze.py --tokenizer path/to/tokenizer.json --max-bytes 500000
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.analyze.compression import AnalyzeConfig, _batches, _sample, analyze
from tokkit.analyze.measure import Measurer, measure_batches, open_tokenizers, text_tally
from tokkit.analyze.parallel import MeasurePool
from tokkit.analyze.scripts import script_table
from tokkit.corpus.readers import ReadStats, iter_files

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best process CPU seconds of ``repeat`` runs (CPU time is steadier on a
    shared machine; it counts every thread, the library's included)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def library_anchors(tok: Any) -> dict[str, Callable[[list[str]], Any]]:
    kind = getattr(tok, "kind", "")
    if kind == "spm":
        return {"EncodeAsIds(batch)": lambda texts: tok.sp.EncodeAsIds(texts)}
    if kind == "tiktoken":
        enc = tok.encoding
        return {"encode_ordinary_batch": enc.encode_ordinary_batch,
                "encode_ordinary loop": lambda texts: [enc.encode_ordinary(t) for t in texts]}
    if kind == "hf":
        # the ids are what any caller needs, so the anchor reads them out of the Encodings too
        return {"encode_batch": lambda texts: [e.ids for e in tok.hf.encode_batch(texts, add_special_tokens=False)],
                "encode_batch_fast": lambda texts: [e.ids for e in tok.hf.encode_batch_fast(
                    texts, add_special_tokens=False)]}
    return {"encode loop": lambda texts: [tok.encode(t) for t in texts]}


def read_batches(corpus: str, config: AnalyzeConfig, batch_bytes: int) -> list[tuple[str, list[str], list[bytes]]]:
    stats = ReadStats()
    return list(_batches(_sample(list(iter_files([corpus], stats)), config, stats), batch_bytes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", action="append", default=None,
                        help="tokenizer spec (repeatable); default LLaMA + cl100k_base + o200k_base")
    parser.add_argument("--corpus", action="append", default=None,
                        help="corpus file or folder (repeatable); default the two held-out files")
    parser.add_argument("--max-bytes", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes for tokkit's figure (default: one per CPU)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    specs = args.tokenizer or [str(SHARED / "fixtures/llama/tokenizer.model"),
                               "tiktoken:cl100k_base", "tiktoken:o200k_base"]
    corpora = args.corpus or [str(SHARED / "corpora/heldout/zh_zizhitongjian.txt"),
                              str(SHARED / "corpora/heldout/en_dracula.txt")]
    config = AnalyzeConfig(max_bytes=args.max_bytes)
    script_table()
    start = time.perf_counter()
    named = open_tokenizers(specs)
    measurers = [Measurer(n) for n in named]
    print(f"load + vocabulary tables: {time.perf_counter() - start:.2f} s for {len(specs)} tokenizers "
          f"(cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f})")
    print(f"{'corpus':<22} {'tokenizer':<12} {'MB':>5} {'library anchor':<22} {'batch':>6} "
          f"{'library s':>9} {f'tokkit x{args.workers}':>9} {'overhead':>8}   {'tokkit x1':>9} {'overhead':>8}"
          f"   {'own cpu':>7} {'of lib':>7}")
    for corpus in corpora:
        batches = read_batches(corpus, config, config.batch_size(2))
        big_batches = read_batches(corpus, config, config.batch_size(1))
        megabytes = sum(len(e) for _, _, enc in batches for e in enc) / 1e6
        for m in measurers:
            def in_process(m: Measurer = m, batches: list[tuple[str, list[str], list[bytes]]] = big_batches) -> None:
                for _ in measure_batches([m], batches):
                    pass

            started = time.perf_counter()
            with MeasurePool([m], args.workers) as pool:
                def in_workers(pool: MeasurePool = pool,
                               batches: list[tuple[str, list[str], list[bytes]]] = batches) -> None:
                    for _ in pool.measure(batches):
                        pass

                in_workers(batches=[("", ["x"], [b"x"])] * args.workers)  # every worker up
                startup = time.perf_counter() - started
                workers_wall = best(in_workers, args.repeat)[0]
            process_wall = best(in_process, args.repeat)[0]
            encoded_ids = [m.encode_batch(texts) for _, texts, _ in big_batches]

            def own_work(m: Measurer = m, batches: list[tuple[str, list[str], list[bytes]]] = big_batches,
                         encoded_ids: list[list[list[int]]] = encoded_ids) -> None:
                for (_, texts, encoded), ids in zip(batches, encoded_ids, strict=True):
                    text_tally(texts, encoded)
                    m.tally(texts, encoded, ids)

            own_cpu = best(own_work, args.repeat)[1]

            def read_ids(encoded_ids: list[list[list[int]]] = encoded_ids) -> None:
                # the least any tally must do with ids handed over as Python lists
                for ids in encoded_ids:
                    if ids and not isinstance(ids[0], np.ndarray):
                        np.fromiter(itertools.chain.from_iterable(ids), np.int64, sum(map(len, ids)))

            read_cpu = best(read_ids, args.repeat)[1]
            lib_cpus = []
            for label, encode in library_anchors(m.tokenizer).items():
                figures = []
                for size, these in (("256KB", batches), ("1MB", big_batches)):
                    def library(encode: Callable[[list[str]], Any] = encode,
                                these: list[tuple[str, list[str], list[bytes]]] = these) -> None:
                        for _, texts, _ in these:
                            encode(texts)

                    figures.append((*best(library, args.repeat), size))
                lib_wall, lib_cpu, size = min(figures)
                lib_cpus.append(lib_cpu)
                print(f"{Path(corpus).name:<22} {m.named.name:<12} {megabytes:>5.2f} {label:<22} {size:>6} "
                      f"{lib_wall:>9.3f} {workers_wall:>9.3f} {100 * (workers_wall / lib_wall - 1):>7.1f}%   "
                      f"{process_wall:>9.3f} {100 * (process_wall / lib_wall - 1):>7.1f}%   "
                      f"{own_cpu:>7.3f} {100 * own_cpu / lib_cpu:>6.1f}%")
            n_ids = sum(len(ids) for batch in encoded_ids for ids in batch)
            reading = (f"; {n_ids:,} ids: encode {1e9 * lib_cpus[0] / n_ids:.0f} ns CPU per id, reading "
                       f"them into numpy alone {1e9 * read_cpu / n_ids:.1f} ns = "
                       f"{100 * read_cpu / lib_cpus[0]:.0f}% of the encode") if read_cpu > 1e-3 else ""
            print(f"{'':<22} {m.named.name:<12} worker start-up (fork, to a one-line batch on each): {startup:.2f} s{reading}")
    for workers, judge in ((1, False), (args.workers, False), (args.workers, True)):
        start = time.perf_counter()
        analyze(specs, {Path(c).name: [c] for c in corpora},
                config=AnalyzeConfig(max_bytes=args.max_bytes, workers=workers, judge=judge))
        what = "with the judged figures (efficiency, words, Han coverage, health)" if judge else \
            "the compression figures"
        print(f"end-to-end analyze, workers={workers}, {what} (reading, start-up, {len(specs)} "
              f"tokenizers, {len(corpora)} corpora, tables cached): "
              f"{time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
