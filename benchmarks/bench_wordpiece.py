"""WordPiece training: tokkit's from-scratch trainer beside `tokenizers`' WordPieceTrainer, one run.

Each trainer runs in its own child process (wall time and peak RSS of that child alone), on the
same corpus read the same way (``split=line``), same vocab size and BERT normalization. Held-out
quality on ``../shared/corpora/heldout``: tokens per character and the share of [UNK] tokens.
(The scratch trainer ranks merges by the likelihood score; the library by pair count.)

    python benchmarks/bench_wordpiece.py               # 32 MB en+zh at vocab 32000

Target (issue 3): scratch time ≤ 2× the library's.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from harness import heldout_lines, run_child, train_in_child, training_arguments


def child(backend: str, vocab: int, corpus: list[str], out: str) -> None:
    from tokkit.train.config import WordPieceConfig

    train_in_child("wordpiece", backend, WordPieceConfig(vocab_size=vocab), corpus, out)


def main() -> None:
    args = training_arguments(__doc__).parse_args()
    if args.child:
        child(args.child, args.vocab, args.corpus, args.out)
        return

    from tokkit.backends.hf import HFTokenizer
    from tokkit.models.wordpiece import WordPieceTokenizer

    heldout = heldout_lines()
    chars = sum(len(line) for line in heldout)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("scratch", "hf"):
            out = Path(tmp) / backend
            print(f"training {backend} ...", file=sys.stderr, flush=True)
            result = run_child(__file__, backend, args.vocab, args.corpus, out)
            tok = WordPieceTokenizer.load(out) if backend == "scratch" else HFTokenizer.load(out)
            encoded = [tok.encode(line) for line in heldout]
            unk = tok.special_tokens["[UNK]"]
            tokens = sum(map(len, encoded))
            result["tokens_per_char"] = tokens / chars
            result["unk_share"] = sum(ids.count(unk) for ids in encoded) / tokens
            rows[backend] = result
            print(json.dumps({backend: result}), file=sys.stderr, flush=True)
    print(f"\nWordPiece, vocab {args.vocab}, corpus {' + '.join(args.corpus)}")
    print(f"{'backend':<10}{'time s':>9}{'peak MB':>9}{'vocab':>7}{'tokens/char':>13}{'[UNK] share':>13}")
    for backend, r in rows.items():
        print(f"{backend:<10}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}{r['vocab_size']:>7}"
              f"{r['tokens_per_char']:>13.4f}{r['unk_share']:>13.5f}")
    ours, lib = rows["scratch"], rows["hf"]
    print(f"\nscratch vs tokenizers: time {ours['seconds'] / lib['seconds']:.2f}× (target ≤ 2), "
          f"memory {ours['peak_mb'] / lib['peak_mb']:.2f}×")
    print(json.dumps(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
