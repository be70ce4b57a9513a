"""Sharding throughput beside the raw fast tokenizer, and peak memory vs corpus size.

Anchor: ``tokenizers.Tokenizer.encode_batch`` on the same texts already in memory (the bare
tokenization work, using all cores through Rust threads). Ours: the whole ``write_shards`` run —
reading files, tokenizing, framing, packing, hashing, writing shards and the manifest — in a fresh
process per configuration so its peak RSS (process + workers) is measured alone. Target: ours
≥ 80% of the anchor's MB/s. Memory: the same run on the corpus listed once and twice; peak RSS must
not grow with the corpus.

    python benchmarks/bench_shard.py                      # sample corpora (en + zh), LLaMA tokenizer
    python benchmarks/bench_shard.py --corpus data/ --tokenizer vocab/llama-zh --workers 1 2 4
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
LLAMA = ROOT.parent / "shared" / "fixtures" / "llama" / "tokenizer.model"

CHILD = """
import json, resource, sys, time
from tokkit.corpus.readers import ReadOptions
from tokkit.shards import ShardConfig, write_shards
args = json.loads(sys.argv[1])
start = time.perf_counter()
m = write_shards(args["paths"], args["tokenizer"], args["out"], force=True,
                 config=ShardConfig(seq_len=args["seq_len"], workers=args["workers"]),
                 read_options=ReadOptions(split="line"))
seconds = time.perf_counter() - start
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": seconds, "tokens": sum(s.tokens for s in m.splits.values()),
                  "bytes": m.corpus["bytes"], "documents": m.corpus["documents"], "peak_mb": peak / 1024}))
"""


ANCHOR = """
import json, sys, time
from tokenizers import Tokenizer
from tokkit.corpus.readers import ReadOptions, read_texts
args = json.loads(sys.argv[1])
texts = list(read_texts(args["paths"], ReadOptions(split="line")))
fast = Tokenizer.from_file(args["tokenizer"] + "/tokenizer.json")
start = time.perf_counter()
encoded = fast.encode_batch(texts, add_special_tokens=False)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "tokens": sum(len(e.ids) for e in encoded),
                  "bytes": sum(len(t.encode("utf-8")) for t in texts)}))
"""


def llama_fast_tokenizer(directory: Path) -> Path:
    """The LLaMA sentencepiece model as a fast ``tokenizer.json`` (tokkit's exporter)."""
    from tokkit.llama.hf_export import write_hf_tokenizer
    from tokkit.llama.spm_io import read_model

    directory.mkdir(parents=True, exist_ok=True)
    write_hf_tokenizer(read_model(LLAMA, "--tokenizer"), directory)
    return directory


def run_child(code: str, **payload: object) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, json.dumps(payload)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="*", help="Files/dirs [default: the en + zh sample corpora].")
    parser.add_argument("--tokenizer", help="Tokenizer dir with tokenizer.json [default: LLaMA, converted].")
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2],
                        help="Worker counts to compare (1 = in-process, the default for tokenizer.json).")
    parser.add_argument("--seq-len", type=int, default=2048)
    args = parser.parse_args()
    console = Console()

    from tokkit.corpus.readers import iter_files

    with tempfile.TemporaryDirectory(prefix="bench_shard.") as tmp_name:
        tmp = Path(tmp_name)
        if args.corpus:
            paths = list(args.corpus)
        else:
            from tokkit.corpus.catalog import default_corpus_paths

            paths = [str(p) for p in default_corpus_paths()]
        tokenizer = args.tokenizer or str(llama_fast_tokenizer(tmp / "llama"))

        # Every run in a fresh process (ru_maxrss survives exec, so the parent stays small), the
        # anchor before and after ours: on a shared machine the load drifts during the runs.
        anchors = [run_child(ANCHOR, paths=paths, tokenizer=tokenizer)]
        ours = {w: run_child(CHILD, paths=paths, tokenizer=tokenizer, out=str(tmp / f"out{w}"),
                             seq_len=args.seq_len, workers=w) for w in args.workers}
        anchors.append(run_child(ANCHOR, paths=paths, tokenizer=tokenizer))
        best = max(args.workers, key=lambda w: ours[w]["bytes"] / ours[w]["seconds"])
        doubled = tmp / "doubled"
        for copy in ("a", "b"):  # real copies: the reader reads a file named twice only once
            for i, path in enumerate(iter_files(paths)):
                target = doubled / copy / f"{i:04d}{''.join(path.suffixes)}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        memory_runs = {"1×": ours[best], "2×": run_child(CHILD, paths=[str(doubled)], tokenizer=tokenizer,
                                                         out=str(tmp / "mem2"), seq_len=args.seq_len,
                                                         workers=best)}
        text_bytes = anchors[0]["bytes"]
        anchor_s = sum(a["seconds"] for a in anchors) / len(anchors)
        anchor_tokens = anchors[0]["tokens"]
        anchor_mbs = text_bytes / 1e6 / anchor_s

        table = Table(title=f"sharding {text_bytes / 1e6:,.1f} MB ({', '.join(paths)}), seq_len {args.seq_len}")
        for col in ("run", "seconds", "MB/s", "M tokens/s", "% of anchor", "peak RSS MB"):
            table.add_column(col, justify="right" if col != "run" else "left")
        table.add_row("anchor: tokenizers encode_batch (in memory; mean of "
                      f"{anchors[0]['seconds']:.1f} s before, {anchors[1]['seconds']:.1f} s after)",
                      f"{anchor_s:.2f}", f"{anchor_mbs:.2f}",
                      f"{anchor_tokens / anchor_s / 1e6:.2f}", "100%", "—")
        for workers, r in ours.items():
            mbs = r["bytes"] / 1e6 / r["seconds"]
            table.add_row(f"tokkit write_shards, workers={workers}", f"{r['seconds']:.2f}", f"{mbs:.2f}",
                          f"{r['tokens'] / r['seconds'] / 1e6:.2f}", f"{100 * mbs / anchor_mbs:.0f}%",
                          f"{r['peak_mb']:.0f}")
        console.print(table)

        memory = Table(title=f"peak memory vs corpus size (workers={best})")
        for col in ("corpus", "MB", "tokens", "peak RSS MB"):
            memory.add_column(col, justify="right" if col != "corpus" else "left")
        for label, r in memory_runs.items():
            memory.add_row(label, f"{r['bytes'] / 1e6:,.1f}", f"{int(r['tokens']):,}", f"{r['peak_mb']:.0f}")
        console.print(memory)
        console.print("Timings on a shared machine are noisy; compare rows of the same run.")


if __name__ == "__main__":
    main()
