"""From-scratch BPE training beside `tokenizers`' BpeTrainer: wall time, peak memory, same merges?

Each trainer runs in its own child process (this script with ``--child``), fed the same corpus
line by line through tokkit's reader, with the same split pattern. The parent polls the child's
resident memory (summed over the child and its worker processes) to get the peak, and compares
the two merge lists. Targets (issue 2): ours ≤ 1.0× the library's time, ≤ 0.6× its memory,
identical merges.

    python benchmarks/bench_bpe_train.py                      # 32 MB en+zh @ 32000
    python benchmarks/bench_bpe_train.py --vocab 3000 --save vocab/bench-bpe
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = [SHARED / "corpora" / "en", SHARED / "corpora" / "zh"]


def child(args: argparse.Namespace) -> None:
    """Train one way, write merges + timings to ``args.out``."""
    from tokkit.corpus.readers import read_texts
    from tokkit.models.pretokenize import resolve_pattern

    lines = read_texts(args.corpus, split="line")
    start = time.perf_counter()
    if args.child == "ours":
        from tokkit.train.bpe import BPETrainer
        from tokkit.train.config import BPEConfig

        trainer = BPETrainer(BPEConfig(vocab_size=args.vocab, min_frequency=args.min_frequency,
                                       pattern=args.pattern, workers=args.workers))
        tok = trainer.train(lines)
        seconds = time.perf_counter() - start
        merges = [[tok.id_to_token(a), tok.id_to_token(b)] for a, b in tok.merges]
        extra = trainer.stats
        if args.save:
            tok.save(args.save)
    else:
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

        hf = Tokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(resolve_pattern(args.pattern)), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        hf.train_from_iterator(lines, trainers.BpeTrainer(
            vocab_size=args.vocab, min_frequency=args.min_frequency,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
        seconds = time.perf_counter() - start
        merges = json.loads(hf.to_str())["model"]["merges"]
        extra = {}
    Path(args.out).write_text(json.dumps({"seconds": seconds, "merges": merges, "stats": extra}))


def run_child(which: str, args: argparse.Namespace, out: Path) -> dict:
    """Run one trainer in a child process, polling its memory (with its workers) for the peak."""
    import psutil

    command = [sys.executable, __file__, "--child", which, "--out", str(out),
               "--vocab", str(args.vocab), "--min-frequency", str(args.min_frequency),
               "--pattern", args.pattern, "--corpus", *map(str, args.corpus)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.save and which == "ours":
        command += ["--save", str(args.save)]
    start = time.perf_counter()
    proc = psutil.Popen(command)
    peak = 0
    while proc.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(
                c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        time.sleep(0.05)
    if proc.returncode:
        raise SystemExit(f"{which} child failed with exit code {proc.returncode}")
    result = json.loads(out.read_text())
    result["wall"] = time.perf_counter() - start
    result["peak_mb"] = peak / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--pattern", default="gpt4")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--save", type=Path, default=None, help="also save our tokenizer here")
    parser.add_argument("--child", choices=["ours", "hf"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from harness import check_corpus

    check_corpus(args.corpus)

    from tokkit.corpus.readers import corpus_bytes

    size = corpus_bytes(args.corpus)
    print(f"corpus {size / 1e6:.1f} MB ({', '.join(p.name for p in args.corpus)}), vocab {args.vocab}, "
          f"min_frequency {args.min_frequency}, pattern {args.pattern}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        hf = run_child("hf", args, Path(tmp) / "hf.json")
        ours = run_child("ours", args, Path(tmp) / "ours.json")
    same = ours["merges"] == hf["merges"]
    first_diff = next((i for i, (a, b) in enumerate(zip(ours["merges"], hf["merges"], strict=False)) if a != b), None)
    print(f"{'trainer':<22}{'train s':>9}{'process s':>11}{'peak RSS MB':>13}{'merges':>8}")
    for name, r in (("tokenizers BpeTrainer", hf), ("tokkit from scratch", ours)):
        print(f"{name:<22}{r['seconds']:>9.1f}{r['wall']:>11.1f}{r['peak_mb']:>13.0f}{len(r['merges']):>8}")
    print(f"time ratio ours/hf   {ours['seconds'] / hf['seconds']:.2f}  (target ≤ 1.0)")
    print(f"memory ratio ours/hf {ours['peak_mb'] / hf['peak_mb']:.2f}  (target ≤ 0.6)")
    print(f"merges identical     {'yes' if same else 'NO'}"
          + ("" if same else f" (first difference at {first_diff}, lengths {len(ours['merges'])}/{len(hf['merges'])})"))
    print(f"ours: {json.dumps(ours['stats'])}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
