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

import json
import os
import sys
import tempfile
from pathlib import Path

from harness import heldout_lines, run_child, train_in_child, training_arguments


def child(backend: str, vocab: int, corpus: list[str], out: str) -> None:
    """Train one model and save it; print what the parent needs as JSON."""
    from tokkit.train.config import UnigramConfig

    train_in_child("unigram", backend, UnigramConfig(vocab_size=vocab, input_sentence_size=0), corpus, out)


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
    parser = training_arguments(__doc__)
    parser.add_argument("--backends", nargs="+", default=["scratch", "spm"],
                        help="scratch, spm, hf (tokenizers: one run did not finish in 22 min on the default mix)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.vocab, args.corpus, args.out)
        return

    from tokkit.train.unigram_quality import heldout_quality

    heldout = heldout_lines()
    rows = {}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            out = Path(tmp) / backend
            print(f"training {backend} ...", file=sys.stderr, flush=True)
            result = run_child(__file__, backend, args.vocab, args.corpus, out, tree_memory=True)
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
