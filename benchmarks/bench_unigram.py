"""Unigram training: tokkit's from-scratch trainer beside sentencepiece and `tokenizers`, one run.

Each trainer runs in its own child process (wall time and peak RSS of that child alone), on the
same corpus read the same way (``split=line``), at the same vocab size and normalization (NFKC).
Held-out quality is measured on ``../shared/corpora/heldout`` by one Viterbi for every model
(:func:`tokkit.train.unigram_quality.heldout_quality`): average log-likelihood per character
(higher is better) and tokens per character (lower is better).

    python benchmarks/bench_unigram.py                 # 32 MB en+zh at vocab 32000
    python benchmarks/bench_unigram.py --vocab 8000 --corpus ../shared/corpora/en/moby_dick.txt

Targets (issue 3): scratch time ≤ 1.0× sentencepiece's, memory ≤ 2×, log-likelihood/char and
tokens/char at least as good as sentencepiece's (reported within 1% / 2%).

Memory is reported twice: ``peak MB`` is the trainer process's own peak RSS, ``tree MB`` the peak
of the summed PSS of that process and its worker processes (sampled every 0.1 s; shared
copy-on-write pages counted once), which is what a multi-process trainer really holds.
The default backends are ``scratch spm``; ``--backends scratch spm hf`` adds `tokenizers`, whose
UnigramTrainer did not finish within 22 minutes on the default en+zh mix (one run, stopped by
hand, on the 2-core development machine; this script sets no time limit).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tokkit.resources import tree_pss_mb

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = [SHARED / "corpora" / "en", SHARED / "corpora" / "zh"]
HELDOUT = SHARED / "corpora" / "heldout"


def child(backend: str, vocab: int, corpus: list[str], out: str) -> None:
    """Train one model and save it; print what the parent needs as JSON."""
    from tokkit.corpus.readers import ReadOptions, read_texts
    from tokkit.load import make_trainer
    from tokkit.train.config import UnigramConfig

    config = UnigramConfig(vocab_size=vocab, input_sentence_size=0)
    start = time.perf_counter()
    trainer = make_trainer("unigram", backend, config)
    tok = trainer.train(read_texts(corpus, ReadOptions(split="line")))
    seconds = time.perf_counter() - start
    tok.save(out)
    print(json.dumps({"seconds": seconds, "vocab_size": tok.vocab_size,
                      "stats": {k: v for k, v in getattr(trainer, "stats", {}).items() if isinstance(v, int | float)}}))


def run_child(backend: str, vocab: int, corpus: list[str], out: Path) -> dict[str, object]:
    proc = subprocess.Popen([sys.executable, __file__, "--child", backend, "--vocab", str(vocab),
                             "--out", str(out), "--corpus", *corpus], stdout=subprocess.PIPE, text=True)
    tree_peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            tree_peak[0] = max(tree_peak[0], tree_pss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    output = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{backend} child failed (status {status})")
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    result["tree_mb"] = tree_peak[0]
    return result


def load_as_unigram(backend: str, out: Path):  # type: ignore[no-untyped-def]
    """Every model as our UnigramTokenizer, so one Viterbi scores them all."""
    from tokkit.models.unigram import UnigramTokenizer
    from tokkit.models.unigram_export import from_model_proto

    if backend == "spm":
        return from_model_proto((out / "spm.model").read_bytes())
    if backend == "hf":
        model = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        pieces = [p for p, _ in model["vocab"]]
        types = ["unknown" if i == model["unk_id"] else "normal" for i in range(len(pieces))]
        types = ["control" if p in ("<s>", "</s>") else t for p, t in zip(pieces, types, strict=True)]
        return UnigramTokenizer(pieces, [s for _, s in model["vocab"]], types=types)
    return UnigramTokenizer.load(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--corpus", nargs="+", default=[str(p) for p in DEFAULT_CORPUS])
    parser.add_argument("--backends", nargs="+", default=["scratch", "spm"],
                        help="scratch, spm, hf (tokenizers: one run did not finish in 22 min on the default mix)")
    parser.add_argument("--child")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.vocab, args.corpus, args.out)
        return

    from tokkit.train.unigram_quality import heldout_quality

    heldout = [line for f in sorted(HELDOUT.glob("*.txt"))
               for line in f.read_text(encoding="utf-8").splitlines()]
    rows = {}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            out = Path(tmp) / backend
            print(f"training {backend} ...", file=sys.stderr, flush=True)
            result = run_child(backend, args.vocab, args.corpus, out)
            result.update(heldout_quality(load_as_unigram(backend, out), heldout))
            rows[backend] = result
            print(json.dumps({backend: result}), file=sys.stderr, flush=True)
    print(f"\nUnigram, vocab {args.vocab}, corpus {' + '.join(args.corpus)}")
    print(f"{'backend':<10}{'time s':>9}{'peak MB':>9}{'tree MB':>9}{'vocab':>7}{'loglik/char':>13}"
          f"{'tokens/char':>13}")
    for backend, r in rows.items():
        print(f"{backend:<10}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}{r['tree_mb']:>9.0f}{r['vocab_size']:>7}"
              f"{r['loglik_per_char']:>13.4f}{r['tokens_per_char']:>13.4f}")
    if "scratch" in rows and "spm" in rows:
        ours, spm = rows["scratch"], rows["spm"]
        print("\nscratch vs sentencepiece: "
              f"time {ours['seconds'] / spm['seconds']:.2f}× (target ≤ 1.0), "
              f"memory {max(ours['peak_mb'], ours['tree_mb']) / max(spm['peak_mb'], spm['tree_mb']):.2f}× "
              "(the larger of peak and tree on each side; target ≤ 2), "
              f"loglik/char {ours['loglik_per_char'] / spm['loglik_per_char']:.4f}× "
              "(≤ 1.01 means within 1%, < 1 better), "
              f"tokens/char {ours['tokens_per_char'] / spm['tokens_per_char']:.4f}× (target ≤ 1.02)")
    print(f"load average (1 5 15 min) at the start: {' '.join(f'{x:.2f}' for x in load_start)}, "
          f"at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
