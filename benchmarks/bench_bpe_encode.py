"""Encoding throughput of the from-scratch BPE encoder beside tiktoken, sentencepiece, tokenizers.

All encode the held-out text (Dracula + 资治通鉴) line by line in this one process, one thread:

* **tokkit**: our encoder with our merges (32000, trained on en+zh), cold cache at the start;
* **tiktoken**: the *same merges* loaded into ``tiktoken.Encoding`` (same pattern, so the ids
  must agree — checked), i.e. the same work done by tiktoken's Rust core;
* **tokenizers**: our exported ``tokenizer.json`` loaded by ``tokenizers`` (ids checked too);
* **sentencepiece**: the LLaMA tokenizer (a different vocabulary; throughput only).

Target (issue 2): tokkit ≥ 1 MB/s; on the Chinese text ≥ 1.5 MB/s (long Han chunks are cut into
cached pieces where no token lies across two characters).

    python benchmarks/bench_bpe_encode.py --model vocab/bpe32k      # a saved tokkit BPE dir
    python benchmarks/bench_bpe_encode.py                            # trains the merges first
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokkit.models.bpe import ByteLevelBPETokenizer

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKKIT_SHARED", ROOT.parent / "shared"))


def our_tokenizer(args: argparse.Namespace) -> ByteLevelBPETokenizer:
    from tokkit.models.bpe import ByteLevelBPETokenizer

    if args.model:
        return ByteLevelBPETokenizer.load(args.model)
    # Same merges as ours (bench_bpe_train.py checks that), learned faster by the library.
    import json

    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    from tokkit.corpus.readers import read_texts
    from tokkit.models.pretokenize import resolve_pattern

    print(f"training merges @ {args.vocab} on {[p.name for p in args.corpus]} ...", flush=True)
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(resolve_pattern("gpt4")), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    hf.train_from_iterator(read_texts(args.corpus, split="line"), trainers.BpeTrainer(
        vocab_size=args.vocab, min_frequency=2, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    model = json.loads(hf.to_str())["model"]
    vocab = model["vocab"]
    return ByteLevelBPETokenizer([(vocab[a], vocab[b]) for a, b in model["merges"]], pattern="gpt4")


def throughput(encode: Callable[[str], list[int]], lines: list[str]) -> tuple[float, list[list[int]]]:
    start = time.perf_counter()
    out = [encode(line) for line in lines]
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a saved tokkit BPE (dir or bpe.model)")
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--corpus", nargs="+", type=Path,
                        default=[SHARED / "corpora" / "en", SHARED / "corpora" / "zh"])
    parser.add_argument("--heldout", type=Path, default=SHARED / "corpora" / "heldout")
    parser.add_argument("--spm", type=Path, default=SHARED / "fixtures" / "llama" / "tokenizer.model")
    args = parser.parse_args()

    import tempfile

    import sentencepiece as spm
    import tiktoken
    from tokenizers import Tokenizer

    ours = our_tokenizer(args)
    texts = {name: (args.heldout / f).read_text(encoding="utf-8").splitlines()
             for name, f in (("en", "en_dracula.txt"), ("zh", "zh_zizhitongjian.txt"))}
    texts["all"] = texts["en"] + texts["zh"]
    sizes = {k: sum(len(t.encode()) for t in v) for k, v in texts.items()}

    ranks = {ours.token_bytes(i): i for i in range(ours.vocab_size)}
    tik = tiktoken.Encoding(name="tokkit-bpe", pat_str=ours.pattern, mergeable_ranks=ranks,
                            special_tokens={})
    with tempfile.TemporaryDirectory() as tmp:
        ours.save(tmp)
        hf = Tokenizer.from_file(str(Path(tmp) / "tokenizer.json"))
    sp = spm.SentencePieceProcessor(model_file=str(args.spm)) if args.spm.exists() else None

    from tokkit.models.bpe import ByteLevelBPETokenizer

    rows = []
    for part in ("en", "zh", "all"):
        fresh = ByteLevelBPETokenizer(ours.merges, pattern=ours.pattern,
                                      special_tokens=list(ours.special_tokens))  # cold cache per part
        encoders: dict[str, Callable[[str], list[int]]] = {
            "tokkit (from scratch)": fresh.encode,
            "tiktoken (same merges)": tik.encode_ordinary,
            "tokenizers (our json)": lambda s: hf.encode(s, add_special_tokens=False).ids,
        }
        if sp is not None:
            encoders["sentencepiece (LLaMA)"] = lambda s: sp.encode(s)
        results = {name: throughput(fn, texts[part]) for name, fn in encoders.items()}
        reference = results["tokkit (from scratch)"][1]
        for name, (seconds, ids) in results.items():
            same = "-" if "sentencepiece" in name else ("yes" if ids == reference else "NO")
            rows.append((part, name, sizes[part] / seconds / 1e6, same))
    print(f"held-out text: en {sizes['en'] / 1e6:.2f} MB, zh {sizes['zh'] / 1e6:.2f} MB, "
          f"line by line, one thread; vocab {ours.vocab_size}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'text':<5}{'encoder':<25}{'MB/s':>8}  same ids as tokkit")
    for part, name, rate, same in rows:
        print(f"{part:<5}{name:<25}{rate:>8.2f}  {same}")


if __name__ == "__main__":
    main()
