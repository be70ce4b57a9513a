"""BPE chunk counting alone (issue 16): tokkit's two counting kernels beside two references, in one run.

The counting phase of BPE training reads the corpus, splits it with the GPT-4 pattern and counts
the distinct chunks. Each counter runs in its own child process (this script with ``--child``) on
the same lines (one text a line, as the CLI reads them); the parent samples the child's process
tree (PSS, ``tokkit.resources.tree_pss_mb``) for the peak.

* ``tokkit-regex``: ``count_chunks(kernel="regex")``, the path before the compiled kernel
  (``regex`` ``findall`` + a ``Counter`` per batch in the workers, pickled back and merged);
* ``tokkit``: ``count_chunks()`` as the trainer calls it (``kernel="auto"``: the compiled GPT-4
  scanner and counter of ``tokkit.train.bpe_count_numba``);
* ``tokkit-bounded``: the same with ``max_chunks`` from ``--max-memory`` (sorted runs spilled);
* ``hf-pretok``: ``tokenizers``' pre-tokenizer (``Split`` on the GPT-4 pattern, Rust) and a
  ``Counter``, in this one process;
* ``rustbpe``: rustbpe's whole ``train_from_iterator`` at vocab 257 (its parallel counting and a
  single merge): the time the Rust trainer spends before its merge loop.

tokkit's kernels must agree exactly (distinct chunks, chunk total, documents, bytes; the tests
hold the chunk-by-chunk equality); the references' distinct chunks are printed beside them.

    python benchmarks/bench_bpe_count.py                                  # en + zh (33.3 MB)
    python benchmarks/bench_bpe_count.py --corpus ../shared/corpora/large --limit-mb 100
    python benchmarks/bench_bpe_count.py --corpus ../shared/corpora/large ../shared/corpora/en

Measured (2026-12-02, 2 cores shared with other engineers' jobs at the load averages given, so
times are upper bounds; peak is the process tree's PSS; counts agreed in every run):

* sample, 33.3 MB en+zh (711,860 distinct chunks), load ~8: tokkit-regex 12.8-16.4 s / 270 MB,
  tokkit 7.0-7.4 s / 273 MB (1.8-2.2x), hf-pretok 15.6 s / 120 MB; at load ~2.5, rustbpe at vocab
  257 took 13.6 s / 618 MB (its counting and pair setup, one merge);
* 100 MB of large/ (4,038,224 distinct), load ~7: tokkit-regex 46.7 s / 729 MB, tokkit 23.7 s /
  734 MB (1.97x), tokkit-bounded (1GB: 4 runs) 47.6 s / 457 MB, hf-pretok 41.3 s / 544 MB; at load
  ~5, rustbpe at vocab 257 took 126.1 s / 2886 MB;
* 341.9 MB large/ + en/ (12,103,620 distinct, 22.7 M chunks), load ~5: tokkit-regex 102.1 s /
  2088 MB, tokkit 62.2 s / 2047 MB (1.64x).

Where the time goes now: the workers' share fell ~5x (30 MB of classical Chinese: 1.9 s of
findall + Counter + pickling to 0.35 s), so the main process is the bound: it reads the corpus
(zstd, decoding, line splitting: ~1.5 s per 100 MB unloaded) and adds every batch's distinct
chunks to the one ``Counter`` (a cache miss or two per chunk at millions of chunks: ~3-4 s per
100 MB of large/), both of which only workers reading their own files and a counts interface
other than one ``Counter`` would remove. Spilling costs ~3-6 s a run (sorting 1.3 M strings).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = [SHARED / "corpora" / "en", SHARED / "corpora" / "zh"]
COUNTERS = ("tokkit-regex", "tokkit", "tokkit-bounded", "hf-pretok", "rustbpe")


def lines(args: argparse.Namespace) -> Iterator[str]:
    """The corpus as the CLI reads it (one text per line), up to ``--limit-mb``."""
    from tokkit.corpus.readers import read_texts

    limit = args.limit_mb * 1e6 if args.limit_mb else None
    size = 0
    for line in read_texts(args.corpus, split="line"):
        yield line
        if limit is not None:
            size += len(line.encode("utf-8"))
            if size >= limit:
                return


def child(args: argparse.Namespace) -> None:
    """Count one way; write seconds and what was counted."""
    from tokkit.models.pretokenize import GPT4_PATTERN

    start = time.perf_counter()
    result: dict = {}
    if args.child.startswith("tokkit"):
        from tokkit.progress import NULL_PROGRESS
        from tokkit.train.bpe_count import count_chunks
        from tokkit.train.bpe_spill import counter_limit, merge_runs, spill_directory

        kernel = "regex" if args.child == "tokkit-regex" else "auto"
        bounded = args.child == "tokkit-bounded"
        with spill_directory() as spill:
            counted = count_chunks(lines(args), GPT4_PATTERN, workers=args.workers,
                                   task=NULL_PROGRESS.task("counting"), kernel=kernel,
                                   max_chunks=counter_limit(args.max_memory) if bounded else None,
                                   spill=spill)
            seconds = time.perf_counter() - start
            if counted.runs:  # outside the timing: the merge phase reads the runs
                _, _, weights = merge_runs(counted.runs)
                distinct, total = len(weights), int(weights.sum())
            else:
                distinct, total = len(counted.counts), sum(counted.counts.values())
        result = {"distinct": distinct, "chunks": total, "documents": counted.documents,
                  "bytes": counted.corpus_bytes, "runs": len(counted.runs)}
    elif args.child == "hf-pretok":
        from collections import Counter

        from tokenizers import Regex, pre_tokenizers

        split = pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated").pre_tokenize_str
        counts: Counter[str] = Counter()
        for line in lines(args):
            counts.update(piece for piece, _ in split(line))
        seconds = time.perf_counter() - start
        result = {"distinct": len(counts), "chunks": sum(counts.values())}
    else:
        import rustbpe

        rustbpe.Tokenizer().train_from_iterator(lines(args), 257, pattern=GPT4_PATTERN)
        seconds = time.perf_counter() - start
    Path(args.out).write_text(json.dumps({"seconds": seconds, **result}))


def run_child(which: str, args: argparse.Namespace, out: Path) -> dict:
    import importlib.util

    import psutil

    from tokkit.resources import tree_pss_mb

    module = {"hf-pretok": "tokenizers", "rustbpe": "rustbpe"}.get(which)
    if module is not None and importlib.util.find_spec(module) is None:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "note": f"not installed (pip install {module})"}
    command = [sys.executable, __file__, "--child", which, "--out", str(out), "--corpus", *map(str, args.corpus),
               "--max-memory", str(args.max_memory), "--workers", str(args.workers)]
    if args.limit_mb:
        command += ["--limit-mb", str(args.limit_mb)]
    proc = psutil.Popen(command)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_pss_mb(proc.pid))
        time.sleep(0.1)
    if proc.returncode:
        return {"seconds": float("nan"), "peak_mb": peak, "note": f"exit code {proc.returncode}"}
    return {**json.loads(out.read_text()), "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit-mb", type=float, default=None, help="stop reading after this many MB")
    parser.add_argument("--workers", type=int, default=0, help="tokkit's workers (0: every core)")
    parser.add_argument("--max-memory", default="1GB", help="tokkit-bounded's memory limit")
    parser.add_argument("--counters", nargs="+", choices=COUNTERS,
                        default=["tokkit-regex", "tokkit", "hf-pretok", "rustbpe"])
    parser.add_argument("--child", choices=COUNTERS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from tokkit.resources import parse_size

    args.max_memory = parse_size(str(args.max_memory))
    if args.child:
        child(args)
        return
    from harness import check_corpus

    check_corpus(args.corpus)
    print(f"corpus: {', '.join(p.name for p in args.corpus)}"
          + (f" (first {args.limit_mb:g} MB)" if args.limit_mb else "")
          + f", GPT-4 pattern, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.counters:
            results[name] = run_child(name, args, Path(tmp) / f"{name}.json")
            r = results[name]
            print(f"  {name}: {r['seconds']:.1f} s, {r['peak_mb']:.0f} MB {r.get('note', '')} "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    size = next((r["bytes"] / 1e6 for r in results.values() if "bytes" in r), float("nan"))
    print(f"\n{'counter':<16}{'seconds':>9}{'peak MB':>9}{'s/100MB':>9}{'distinct':>12}{'chunks':>13}{'runs':>6}")
    for name, r in results.items():
        print(f"{name:<16}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}{100 * r['seconds'] / size:>9.2f}"
              f"{r.get('distinct', ''):>12}{r.get('chunks', ''):>13}{r.get('runs', ''):>6}  {r.get('note', '')}")
    keys = ("distinct", "chunks", "documents", "bytes")
    ours = {n: tuple(r.get(k) for k in keys) for n, r in results.items() if n.startswith("tokkit") and "bytes" in r}
    if len(ours) > 1:
        print(f"tokkit kernels ({', '.join(ours)}): counts "
              + ("agree" if len(set(ours.values())) == 1 else f"DIFFER {ours}"))
    if "tokkit-regex" in ours and "tokkit" in ours:
        print(f"tokkit: {results['tokkit-regex']['seconds'] / results['tokkit']['seconds']:.2f}x faster "
              f"than the regex kernel")


if __name__ == "__main__":
    main()
