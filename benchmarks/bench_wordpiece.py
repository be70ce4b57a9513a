"""WordPiece training: tokkit's from-scratch trainer beside `tokenizers`' WordPieceTrainer, one run.

Each trainer runs in its own child process (wall time and peak RSS of that child alone), on the
same corpus read the same way (``split=line``), same vocab size and BERT normalization. Held-out
quality on ``../shared/corpora/heldout``: tokens per character and the share of [UNK] tokens.
(The scratch trainer ranks merges by the likelihood score; the library by pair count.)

    python benchmarks/bench_wordpiece.py               # 32 MB en+zh at vocab 32000

Target (issue 3): scratch time ≤ 2× the library's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = [SHARED / "corpora" / "en", SHARED / "corpora" / "zh"]
HELDOUT = SHARED / "corpora" / "heldout"


def child(backend: str, vocab: int, corpus: list[str], out: str) -> None:
    from tokkit.corpus.readers import ReadOptions, read_texts
    from tokkit.load import make_trainer
    from tokkit.train.config import WordPieceConfig

    config = WordPieceConfig(vocab_size=vocab)
    start = time.perf_counter()
    trainer = make_trainer("wordpiece", backend, config)
    tok = trainer.train(read_texts(corpus, ReadOptions(split="line")))
    seconds = time.perf_counter() - start
    tok.save(out)
    print(json.dumps({"seconds": seconds, "vocab_size": tok.vocab_size,
                      "stats": {k: v for k, v in getattr(trainer, "stats", {}).items() if isinstance(v, int | float)}}))


def run_child(backend: str, vocab: int, corpus: list[str], out: Path) -> dict[str, object]:
    proc = subprocess.Popen([sys.executable, __file__, "--child", backend, "--vocab", str(vocab),
                             "--out", str(out), "--corpus", *corpus], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    output = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{backend} child failed (status {status})")
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--corpus", nargs="+", default=[str(p) for p in DEFAULT_CORPUS])
    parser.add_argument("--child")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.vocab, args.corpus, args.out)
        return

    from tokkit.backends.hf import HFTokenizer
    from tokkit.models.wordpiece import WordPieceTokenizer

    heldout = [line for f in sorted(HELDOUT.glob("*.txt"))
               for line in f.read_text(encoding="utf-8").splitlines()]
    chars = sum(len(line) for line in heldout)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("scratch", "hf"):
            out = Path(tmp) / backend
            print(f"training {backend} ...", file=sys.stderr, flush=True)
            result = run_child(backend, args.vocab, args.corpus, out)
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
