"""Benchmark ``extend-llama``: the full recipe (20000-piece Chinese model on the sample zh corpus).

Prints, in one run, for each score policy: tokens, tokens per Han character and bytes/token on
held-out Chinese (资治通鉴) and English (Dracula) before/after, English lines changed, pieces
appended/intermediates/unreachable, and how many held-out lines the exported ``tokenizer.json``
encodes differently from sentencepiece — beside two library anchors: ``transformers``' own
conversion of the same ``tokenizer.model`` (which ranks merges by id) and the original
Chinese-LLaMA merge (score 0, no reachability repair). Also times training, merging and encoding.

Usage (from the project root)::

    python benchmarks/bench_extend.py                      # full: 20000 pieces, all of corpora zh
    python benchmarks/bench_extend.py --zh-vocab 8000 --zh-max-mb 2   # the tests' quick model
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tokkit.llama.compare import compare, hf_mismatches
from tokkit.llama.extend import ExtendConfig, extend_model
from tokkit.llama.hf_export import build_hf_tokenizer
from tokkit.llama.recipe import read_lines
from tokkit.llama.spm_io import parse_model, processor, read_model
from tokkit.llama.zh_model import ZhModelConfig, train_zh_model

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
console = Console(width=220)


def transformers_conversion_mismatch(model_bytes: bytes, lines: list[str], reference: list[list[int]]) -> int | None:
    """Lines where transformers' own LlamaTokenizer conversion of ``model_bytes`` differs."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tokenizer.model").write_bytes(model_bytes)
        (Path(tmp) / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer"}))
        tok = AutoTokenizer.from_pretrained(tmp)
        got = tok(lines, add_special_tokens=False)["input_ids"]
    return sum(g != list(r) for g, r in zip(got, reference, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=SHARED / "fixtures" / "llama" / "tokenizer.model")
    parser.add_argument("--zh-corpus", type=Path, default=SHARED / "corpora" / "zh")
    parser.add_argument("--heldout", type=Path, default=SHARED / "corpora" / "heldout")
    parser.add_argument("--zh-vocab", type=int, default=20000)
    parser.add_argument("--zh-max-mb", type=float, default=None)
    parser.add_argument("--zh-model", type=Path, default=None, help="skip training; use this model")
    parser.add_argument("--save-zh-model", type=Path, default=None)
    args = parser.parse_args()

    base_bytes = args.base.read_bytes()
    base = read_model(args.base)
    zh_lines = read_lines([args.heldout / "zh_zizhitongjian.txt"])
    en_lines = read_lines([args.heldout / "en_dracula.txt"])

    t0 = time.perf_counter()
    if args.zh_model:
        zh = read_model(args.zh_model, "--zh-model")
        train_s, run = 0.0, {"bytes": None, "sentences": None}
    else:
        config = ZhModelConfig(
            vocab_size=args.zh_vocab, max_bytes=int(args.zh_max_mb * 2**20) if args.zh_max_mb else None
        )
        data, run = train_zh_model([args.zh_corpus], config)
        train_s = time.perf_counter() - t0
        zh = parse_model(data, "zh")
        if args.save_zh_model:
            args.save_zh_model.write_bytes(data)
    console.print(f"Chinese model: {len(zh.pieces)} pieces, trained in {train_s:.1f} s "
                  f"on {run['bytes'] or 0:,} bytes / {run['sentences'] or 0:,} sentences")

    sp_base = processor(base)
    t = time.perf_counter()
    base_zh_ids = sp_base.encode(zh_lines)
    base_en_ids = sp_base.encode(en_lines)
    spm_encode_s = time.perf_counter() - t
    hf_base = build_hf_tokenizer(base)
    t = time.perf_counter()
    base_mis = hf_mismatches(hf_base, base_zh_ids, zh_lines) + hf_mismatches(hf_base, base_en_ids, en_lines)
    hf_encode_s = time.perf_counter() - t
    conv_base_zh = transformers_conversion_mismatch(base_bytes, zh_lines, base_zh_ids)
    conv_base_en = transformers_conversion_mismatch(base_bytes, en_lines, base_en_ids)

    variants = [
        ("below-base (default)", ExtendConfig()),
        ("below-base --only-cjk", ExtendConfig(only_cjk=True)),
        ("above-base", ExtendConfig(score_policy="above-base")),
        ("zero (Chinese-LLaMA + repair)", ExtendConfig(score_policy="zero")),
        ("zero, no repair (Chinese-LLaMA)", ExtendConfig(score_policy="zero", add_intermediates=False,
                                                         max_repair_rounds=0)),
    ]
    table = Table(title=f"extend-llama: LLaMA 32000 + Chinese {len(zh.pieces)} (held-out 资治通鉴 / Dracula)")
    for col in ("variant", "vocab", "appended", "interm.", "unreach.\nbefore", "dropped", "merge s",
                "zh tok/Han", "zh Δtokens", "zh B/tok", "en B/tok", "en lines\nchanged",
                "tokenizer.json\n≠ spm (zh/en)", "transformers conv.\n≠ spm (zh/en)"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    zh_base = compare("zh", zh_lines, sp_base, sp_base)
    en_base = compare("en", en_lines, sp_base, sp_base)
    table.add_row("LLaMA base", "32000", "—", "—", "—", "—", "—", f"{zh_base.tokens_per_han_before:.3f}",
                  "—", f"{zh_base.bytes_per_token_before:.2f}", f"{en_base.bytes_per_token_before:.2f}", "—",
                  f"{base_mis}", f"{conv_base_zh}/{conv_base_en}")
    for name, config in variants:
        t = time.perf_counter()
        result = extend_model(base, zh, config)
        merge_s = time.perf_counter() - t
        sp = processor(result.model)
        hf = build_hf_tokenizer(result.model)
        zh_c = compare("zh", zh_lines, sp_base, sp, hf)
        en_c = compare("en", en_lines, sp_base, sp, hf)
        conv = ""
        if config.score_policy == "below-base" and not config.only_cjk:
            ref_zh = [list(x) for x in sp.encode(zh_lines)]
            ref_en = [list(x) for x in sp.encode(en_lines)]
            merged_bytes = result.model.SerializeToString()
            conv = (f"{transformers_conversion_mismatch(merged_bytes, zh_lines, ref_zh)}/"
                    f"{transformers_conversion_mismatch(merged_bytes, en_lines, ref_en)}")
        table.add_row(
            name, str(result.vocab_size), str(len(result.appended)), str(len(result.intermediates)),
            str(result.unreachable_before_repair), str(len(result.dropped_unreachable)), f"{merge_s:.1f}",
            f"{zh_c.tokens_per_han_after:.3f}", f"{-zh_c.token_reduction:+.1%}",
            f"{zh_c.bytes_per_token_after:.2f}", f"{en_c.bytes_per_token_after:.2f}", str(en_c.changed_lines),
            f"{zh_c.hf_mismatch}/{en_c.hf_mismatch}", conv or "—",
        )
    console.print(table)
    console.print(
        f"held-out: {len(zh_lines)} zh lines, {len(en_lines)} en lines; encoding both with sentencepiece "
        f"{spm_encode_s:.2f} s, with our tokenizer.json (tokenizers) {hf_encode_s:.2f} s; "
        "Chinese-LLaMA's published merge: 1.86 → 0.96 tokens/Han on 资治通鉴."
    )


if __name__ == "__main__":
    main()
