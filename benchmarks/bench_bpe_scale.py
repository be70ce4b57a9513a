"""BPE training at the user's scale: tokkit from scratch beside rustbpe, tokenizers and bpeasy, in one run.

Each trainer runs in its own child process (this script with ``--child``) on the same text and split
pattern (GPT-4's); the parent samples the child's process tree (the child and its workers, PSS via
``tokkit.resources.tree_pss_mb``) for the peak. Prints time, peak memory, their growth per MB and
whether the merge lists agree (tokenizers is the reference for tokkit's merges; rustbpe breaks
ties its own way, so its agreement is shown, not required).

    python benchmarks/bench_bpe_scale.py                           # 33.8 MB en+zh @ 32000
    python benchmarks/bench_bpe_scale.py --scale large100          # 100 MB of large/ @ 64000
    python benchmarks/bench_bpe_scale.py --scale full              # large/ + en/ (344 MB) @ 64000,
                                                                   # plus tokkit --max-memory 1GB
    python benchmarks/bench_bpe_scale.py --hostile                 # one-line inputs, tokkit alone (both loops)
    python benchmarks/bench_bpe_scale.py --trainers tokkit-numba tokkit-ray   # Ray counting, same merges
    python benchmarks/bench_bpe_scale.py --corpus ../shared/corpora/large --limit-mb 100 --vocab 64000

Trainers: ``tokkit`` (the Python merge loop), ``tokkit-numba`` (the compiled loop, the default
when numba is installed), ``tokkit-bounded`` (the default kernel with ``--max-memory``: counting
spills sorted runs; its merges must equal ``tokkit-numba``'s and its peak stay under the limit),
``tokkit-ray`` (the chunks counted by Ray Data on a local instance, ``--engine ray``; whole files
only, its merges must equal the local engine's), ``rustbpe``, ``tokenizers`` and ``bpeasy`` (each skipped with a note when not installed). The
targets (issue 16): tokkit ≤ 1.0× rustbpe's time and ≤ 0.5× the smaller of rustbpe's and
tokenizers' peak memory.

``--hostile`` trains the issue-16 pathological inputs: one 4 MB line (``"汉字" * 500_000 +
" word" * 200_000``) at vocab 300 (target < 30 s) and a 50 MB single line of classical Chinese
(``large/classical_*.txt.zst`` decompressed, newlines removed) at vocab 8000 (target < 300 s,
< 2 GB). The machine this ran on has 2 cores shared with other jobs: read times as upper bounds.

Measured 2026-12-02, later session (the loop on spans, bounded by a PairBudget; 2 shared cores, load 1-6; memory
is process-tree PSS; every run in one invocation unless said):

* sample, 33.3 MB @ 32000, load ~1.5: tokkit-numba 10.6 s / 384 MB, rustbpe 27.8 s / 912 MB,
  tokenizers 69.8 s / 1780 MB: 0.38× rustbpe's time, 0.42× the smaller anchor's memory, merges
  identical to tokenizers' (rustbpe breaks ties its own way from merge 392). With --max-memory
  300MB (tokkit-bounded, load ~5): 320 s / 227 MB (under), 2 runs spilled, 11 recounts in up to 16
  hash partitions, merges identical to the unbounded run's.
* large100, 100 MB of large/ @ 64000, load 3-6: tokkit-numba 117.4 s / 1361 MB (counting 39 s),
  rustbpe 221.4 s / 3811 MB, tokenizers 690.7 s / 8222 MB: 0.53× rustbpe's time, 0.36× its
  memory; merges identical to tokenizers'.
* hostile, load ~1.2: the 4 MB line @ 300 in 1.8 s / 143 MB; the 50 MB line of classical Chinese
  @ 8000 in 22.3 s / 708 MB.
* full, 341.9 MB (large/ + en/) @ 64000, load 3-5 (a bounded run and CI beside it): tokkit-numba
  284.1 s / 3836 MB (counting 90 s, merging 193 s), rustbpe 1046.5 s / 11642 MB, tokenizers
  stopped at 18012 MB (--stop-mb): 0.27× rustbpe's time, 0.33× its memory. tokkit-bounded
  (--max-memory 1GB, run beside it) stayed at 864 MB but was stopped after 3900 s unfinished:
  recounts in many hash partitions are its cost there, and its merges at this size are unshown.

Measured 2026-12-02, last session (the partition hash mixes its own bits; an overflowing recount
extrapolates the partitions it needs), one invocation, load ~2:

* full, 341.9 MB @ 64000: tokkit-numba 133.2 s / 3815 MB, rustbpe 407.3 s / 11643 MB, tokenizers
  stopped at 20038 MB: 0.33× rustbpe's time, 0.33× its memory. tokkit-bounded (--max-memory 1GB):
  312.7 s / 877 MB (under), 11 spilled runs, 31 recounts in up to 64 partitions, merges identical to
  the unbounded run's (digest 809094d66fa1ea6b).
* sample, 33.3 MB @ 32000: tokkit (Python loop) 23.6 s / 826 MB, tokkit-numba 6.9 s / 384 MB,
  rustbpe 13.5 s / 941 MB, tokenizers 28.6 s / 1781 MB; merges identical to tokenizers'.

Measured 2026-12-03 (load ~1.1), ``--trainers tokkit-numba tokkit-bounded --max-memory 300MB``: the
bounded run had risen to 340 MB (the last session's run), over its limit; a probe sampling each
phase put its peak in counting (two workers, 125 MB each beside a 216 MB main process). Counting now takes only the workers that fit (here none: in this
process): tokkit-bounded 13.0 s / 248 MB (under), 2 spilled runs, 13 recounts in up to 16
partitions, merges identical to tokkit-numba's (8.3 s / 391 MB; digest 59ffb811ca085920).
Re-run after the review (idle): tokkit-bounded 10.0 s / 265 MB (under), tokkit-numba 7.0 s / 396 MB,
merges identical.
``--trainers tokkit-numba tokkit-ray`` (idle; through ``ray_train_bpe``, what ``--engine ray``
runs): Ray counting on the sample gives the local engine's merges (digest 59ffb811ca085920 both):
tokkit-ray 18.7 s / 1172 MB (Ray's start-up and processes included; counting 13.4 s), tokkit-numba
7.2 s / 394 MB. (An earlier run at load ~0.6, before the review: 39.1 s and 14.7 s.)
``--hostile`` (load 1.2-2): the 4 MB line @ 300 in 1.8 s / 183 MB (default kernel); the 50 MB
classical line @ 8000 in 18.2 s / 680 MB by the default kernel, 79.4 s / 1670 MB by the Python loop
(``--merge-kernel python``), the same merges. The full sample run (load ~1): tokkit-numba 9.1 s /
409 MB, rustbpe 20.0 s / 915 MB, tokenizers 43.3 s / 1783 MB, bpeasy 143.2 s / 1674 MB (merges as
rustbpe's); the Python loop 34.3 s / 829 MB. tokkit-numba: 0.45× rustbpe's time, 0.45× its memory.
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
TRAINERS = ("tokkit", "tokkit-numba", "tokkit-bounded", "tokkit-ray", "rustbpe", "tokenizers", "bpeasy")
SCALES = {  # name: (corpus, MB limit, vocab, extra trainers)
    "sample": ([SHARED / "corpora" / "en", SHARED / "corpora" / "zh"], None, 32_000, []),
    "large100": ([SHARED / "corpora" / "large"], 100, 64_000, []),
    "full": ([SHARED / "corpora" / "large", SHARED / "corpora" / "en"], None, 64_000, ["tokkit-bounded"]),
}


def lines(args: argparse.Namespace) -> Iterator[str]:
    """The corpus as the CLI reads it (one text per line), or the single line of ``--text-file``."""
    if args.text_file:
        with open(args.text_file, encoding="utf-8") as handle:
            yield handle.read().rstrip("\n")
        return
    from tokkit.corpus.readers import read_texts

    limit = args.limit_mb * 1e6 if args.limit_mb else None
    size = 0
    for line in read_texts(args.corpus, split="line"):
        yield line
        size += len(line.encode("utf-8"))
        if limit is not None and size >= limit:
            return


def child(args: argparse.Namespace) -> None:
    """Train one way; write seconds and the learned tokens (hex bytes, in merge order)."""
    from tokkit.models.pretokenize import GPT4_PATTERN

    start = time.perf_counter()
    extra: dict = {}
    if args.child.startswith("tokkit"):
        from tokkit.train.bpe import BPETrainer
        from tokkit.train.config import BPEConfig

        kernel = {"tokkit": "python", "tokkit-numba": "numba"}.get(args.child, "auto")
        bound = args.max_memory if args.child == "tokkit-bounded" else None
        trainer = BPETrainer(BPEConfig(vocab_size=args.vocab, min_frequency=args.min_frequency,
                                       workers=args.workers, merge_kernel=kernel, max_memory=bound))
        if args.child == "tokkit-ray":  # counted on a local Ray instance, merged here (--engine ray)
            from tokkit.corpus.readers import ReadOptions
            from tokkit.engines.ray_bpe import ray_train_bpe

            if args.text_file or args.limit_mb:
                raise SystemExit("tokkit-ray counts whole files: drop --limit-mb and --hostile")
            tok, trainer, _, _ = ray_train_bpe(trainer.config, args.corpus, read_options=ReadOptions(split="line"))
        else:
            tok = trainer.train(lines(args))
        learned = [tok.token_bytes(i) for i in range(256, tok.vocab_size)]
        extra = dict(trainer.stats)  # a TrainStats mapping
    elif args.child == "rustbpe":
        import rustbpe

        tok = rustbpe.Tokenizer()
        tok.train_from_iterator(lines(args), args.vocab, pattern=GPT4_PATTERN)
        learned = [token for token, rank in sorted(tok.get_mergeable_ranks(), key=lambda t: t[1])][256:]
    elif args.child == "bpeasy":
        import bpeasy

        vocab = bpeasy.train_bpe(lines(args), GPT4_PATTERN, 1 << 20, args.vocab)
        learned = [token for token, rank in sorted(vocab.items(), key=lambda t: t[1])][256:]
    else:
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

        hf = Tokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        hf.train_from_iterator(lines(args), trainers.BpeTrainer(
            vocab_size=args.vocab, min_frequency=args.min_frequency,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
        from tokkit.models.bpe_bytes import DISPLAY_BYTE

        merges = json.loads(hf.to_str())["model"]["merges"]
        learned = [bytes(DISPLAY_BYTE[c] for c in left + right) for left, right in merges]
    seconds = time.perf_counter() - start
    Path(args.out).write_text(json.dumps({"seconds": seconds, "learned": [t.hex() for t in learned],
                                          "stats": extra}))


def run_child(which: str, args: argparse.Namespace, out: Path, extra: list[str]) -> dict:
    import psutil

    from tokkit.resources import tree_pss_mb

    module = {"rustbpe": "rustbpe", "tokenizers": "tokenizers", "bpeasy": "bpeasy"}.get(which)
    if module is not None:
        import importlib.util

        if importlib.util.find_spec(module) is None:
            return {"seconds": float("nan"), "peak_mb": float("nan"), "learned": None, "stats": {},
                    "note": f"not installed (pip install {module})"}
    command = [sys.executable, __file__, "--child", which, "--out", str(out), "--vocab", str(args.vocab),
               "--min-frequency", str(args.min_frequency), "--max-memory", str(args.max_memory), *extra]
    start = time.perf_counter()
    proc = psutil.Popen(command)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_pss_mb(proc.pid))
        time.sleep(0.2)
        timeout = args.bounded_timeout if which == "tokkit-bounded" else args.timeout
        over_time = timeout and time.perf_counter() - start > timeout
        if over_time or peak > args.stop_mb:
            for kid in proc.children(recursive=True):
                kid.kill()
            proc.kill()
            proc.wait()
            why = f"after {timeout:.0f} s" if over_time else f"at {peak:.0f} MB (--stop-mb)"
            return {"seconds": float("nan"), "peak_mb": peak, "learned": None, "stats": {},
                    "note": f"stopped {why}"}
    if proc.returncode:
        return {"seconds": float("nan"), "peak_mb": peak, "learned": None, "stats": {},
                "note": f"exit code {proc.returncode}"}
    result = json.loads(out.read_text())
    result["peak_mb"] = peak
    return result


def compare(args: argparse.Namespace, extra: list[str], size_mb: float, trainers: list[str]) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in trainers:
            results[name] = run_child(name, args, Path(tmp) / f"{name}.json", extra)
            r = results[name]
            print(f"  {name}: {r['seconds']:.1f} s, {r['peak_mb']:.0f} MB {r.get('note', '')}", flush=True)
    print(f"{'trainer':<15}{'train s':>9}{'peak MB':>9}{'s/MB':>8}{'MB/MB':>8}{'tokens':>8}"
          f"{'merges digest':>18}  note")
    for name, r in results.items():
        count = len(r["learned"]) if r["learned"] is not None else 0
        print(f"{name:<15}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}{r['seconds'] / size_mb:>8.2f}"
              f"{r['peak_mb'] / size_mb:>8.1f}{count:>8}{_digest(r['learned']):>18}  {r.get('note', '')}")
    anchors = [results[n]["peak_mb"] for n in ("rustbpe", "tokenizers")
               if n in results and results[n]["learned"] is not None]
    for name, ours in results.items():
        if not name.startswith("tokkit") or ours["learned"] is None:
            continue
        print(f"{name}: {json.dumps(ours['stats'])}")
        parts = []
        rust = results.get("rustbpe")
        if rust and rust["learned"] is not None:
            parts.append(f"time {ours['seconds'] / rust['seconds']:.2f}× rustbpe's (target ≤ 1.0)")
        if anchors:
            parts.append(f"memory {ours['peak_mb'] / min(anchors):.2f}× the smaller anchor's (target ≤ 0.5)")
        if name == "tokkit-bounded":
            parts.append(f"peak {ours['peak_mb']:.0f} MB vs --max-memory {args.max_memory / 1e6:.0f} MB: "
                         + ("under" if ours["peak_mb"] * 2**20 <= args.max_memory else "OVER"))
        print(f"  {name}: " + "; ".join(parts))
        for other_name, other in results.items():
            if other_name.startswith("tokkit") or other["learned"] is None:
                continue
            same = other["learned"] == ours["learned"]
            first = next((i for i, (a, b) in enumerate(zip(ours["learned"], other["learned"], strict=False))
                          if a != b), None)
            print(f"  {name} vs {other_name}: merges "
                  + ("identical" if same else f"differ from merge {first} (lengths "
                     f"{len(ours['learned'])}/{len(other['learned'])})"))
    _agreement(results)


def _digest(learned: list[str] | None) -> str:
    """A short hash of a learned token list: equal merges across runs show equal digests."""
    import hashlib

    return "-" if learned is None else hashlib.sha256("\n".join(learned).encode()).hexdigest()[:16]


def _agreement(results: dict) -> None:
    ours = {n: r["learned"] for n, r in results.items() if n.startswith("tokkit") and r["learned"] is not None}
    if len(ours) > 1:
        same = len({tuple(v) for v in ours.values()}) == 1
        print(f"tokkit variants ({', '.join(ours)}): merges " + ("identical" if same else "DIFFER"))


def hostile(args: argparse.Namespace) -> None:
    import zstandard

    with tempfile.TemporaryDirectory() as tmp:
        four = Path(tmp) / "line4mb.txt"
        four.write_text("汉字" * 500_000 + " word" * 200_000, encoding="utf-8")
        fifty = Path(tmp) / "classical50mb.txt"
        with fifty.open("w", encoding="utf-8") as handle:
            written = 0
            for path in sorted((SHARED / "corpora" / "large").glob("classical_*.txt.zst")):
                with path.open("rb") as raw:
                    reader = zstandard.ZstdDecompressor().stream_reader(raw)
                    text = reader.read().decode("utf-8").replace("\n", "")
                piece = text.encode("utf-8")[: 50_000_000 - written].decode("utf-8", "ignore")
                handle.write(piece)
                written += len(piece.encode("utf-8"))
                if written >= 50_000_000 - 4:
                    break
        for path, vocab, target in ((four, 300, "< 30 s"), (fifty, 8000, "< 300 s, < 2048 MB")):
            args.vocab = vocab
            size = path.stat().st_size / 1e6
            print(f"\n{path.name}: one line, {size:.1f} MB, vocab {vocab} (target {target}), "
                  f"load average {os.getloadavg()[0]:.1f}")
            compare(args, ["--text-file", str(path)], size, args.trainers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit-mb", type=float, default=None, help="stop reading after this many MB")
    parser.add_argument("--text-file", help=argparse.SUPPRESS)
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scale", choices=SCALES, default=None,
                        help="a preset corpus and vocab (sets --corpus, --limit-mb, --vocab)")
    parser.add_argument("--max-memory", default="1GB", help="tokkit-bounded's --max-memory")
    parser.add_argument("--trainers", nargs="+", choices=TRAINERS,
                        default=["tokkit", "tokkit-numba", "rustbpe", "tokenizers", "bpeasy"])
    parser.add_argument("--timeout", type=float, default=900, help="stop a trainer after this many s")
    parser.add_argument("--bounded-timeout", type=float, default=3600,
                        help="the same for tokkit-bounded (it recounts pairs to stay in its memory)")
    parser.add_argument("--stop-mb", type=float, default=20_000,
                        help="stop a trainer whose process tree passes this many MB (the machine's "
                             "24 GB must survive tokenizers at 344 MB)")
    parser.add_argument("--hostile", action="store_true", help="the one-line inputs of issue 16")
    parser.add_argument("--child", choices=TRAINERS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from tokkit.resources import parse_size

    args.max_memory = parse_size(str(args.max_memory))
    if args.scale and not args.child:
        corpus, limit, vocab, more = SCALES[args.scale]
        args.corpus, args.limit_mb, args.vocab = corpus, limit, vocab
        args.trainers = [*args.trainers, *(t for t in more if t not in args.trainers)]
    if args.child:
        child(args)
        return
    if args.hostile:
        if "--trainers" not in sys.argv:
            args.trainers = ["tokkit", "tokkit-numba"]  # the Python loop and the default kernel
        hostile(args)
        return
    from harness import check_corpus

    check_corpus(args.corpus)
    size = sum(len(line.encode("utf-8")) for line in lines(args)) / 1e6
    print(f"corpus {size:.1f} MB ({', '.join(p.name for p in args.corpus)}), vocab {args.vocab}, "
          f"min_frequency {args.min_frequency}, pattern gpt4, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    extra = ["--corpus", *map(str, args.corpus)]
    if args.limit_mb:
        extra += ["--limit-mb", str(args.limit_mb)]
    if args.workers:
        extra += ["--workers", str(args.workers)]
    compare(args, extra, size, args.trainers)


if __name__ == "__main__":
    main()
