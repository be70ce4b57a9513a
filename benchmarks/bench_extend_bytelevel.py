"""Extend Llama 3 (and Tekken) for Chinese with continued BPE, beside tokenizers' BpeTrainer, then
resize a tiny Llama-3-architecture model and compare the inits (issue 17).

1. **extend**: ``tokkit extend`` of Llama 3's ``tokenizer.model`` with ``--add`` merges on the
   sample Chinese (18 MB): time and peak memory, beside ``tokenizers``' BpeTrainer learning the same
   number of merges from scratch on the same text with the same pre-tokenizer (each in its own
   process, so each peak is its own). Then the acceptance checks on the held-out files: tokens per
   Han character, English lines changed, new tokens reachable, and the ids of tiktoken (written
   rank file), tokenizers (written tokenizer.json) and transformers (AutoTokenizer on the written
   dir) against each other on every line. ``--tekken-add`` does the same for Mistral's Tekken.
2. **resize**: a tiny ``LlamaForCausalLM`` with Llama 3's vocabulary, trained a few hundred CPU
   steps on the sample English + Chinese with the base tokenizer, resized with each init; English
   loss (held-out Dracula, per token) before/after resizing, Chinese loss (held-out 资治通鉴, bits
   per character) right after and after ``--cpt-steps`` of stage-1 CPT (embeddings + head only).
   ``+silent`` rows use ``head_init="silent"`` (:mod:`tokkit.llama.silent_head`), calibrated on
   200 lines of the English *training* sample, so the held-out English measures whether the
   silence carries over to unseen English. ``--tie`` for a tied head; ``--resize-only DIR`` (an
   extension written before) and ``--pretrained DIR`` (a checkpoint pretrained as here) skip
   steps already done.

Usage (from the project root; the full run takes tens of minutes on 2 loaded cores)::

    python benchmarks/bench_extend_bytelevel.py
    python benchmarks/bench_extend_bytelevel.py --add 4000 --zh-max-mb 3 --pretrain-steps 50 --cpt-steps 20
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import SHARED, sample_lines
from rich.console import Console
from rich.table import Table

console = Console(width=160)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_tokkit(args: argparse.Namespace) -> dict[str, Any]:
    from tokkit.corpus.readers import ReadOptions
    from tokkit.llama.bytelevel_extend import extend_bytelevel
    from tokkit.train.bpe_continue import ContinueConfig

    start = time.perf_counter()
    run = extend_bytelevel(args.base, args.out, zh_corpus=[args.corpora / "zh"], config=ContinueConfig(add=args.add),
                           read_options=ReadOptions(split="line"), max_bytes=_max_bytes(args), workers=1, force=True)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), **run.extension.summary()}


def phase_hf(args: argparse.Namespace) -> dict[str, Any]:
    from tokkit.backends.bpe import HFBPETrainer
    from tokkit.corpus.readers import ReadOptions, read_texts
    from tokkit.llama.bytelevel_extend import _bounded
    from tokkit.llama.bytelevel_io import LLAMA3_PATTERN
    from tokkit.train.config import BPEConfig

    start = time.perf_counter()
    texts = _bounded(read_texts([args.corpora / "zh"], ReadOptions(split="line")), _max_bytes(args))
    HFBPETrainer(BPEConfig(vocab_size=256 + args.add, min_frequency=2, pattern=LLAMA3_PATTERN)).train(texts)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}


def _max_bytes(args: argparse.Namespace) -> int | None:
    return None if args.zh_max_mb is None else int(args.zh_max_mb * 2**20)


def _child(phase: str, args: argparse.Namespace, base: Path, add: int, out: Path) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--phase", phase, "--base", str(base), "--add", str(add), "--out", str(out),
            "--corpora", str(args.corpora)]
    if args.zh_max_mb is not None:
        argv += ["--zh-max-mb", str(args.zh_max_mb)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_extension(out: Path, heldout: dict[str, list[str]], rank_file: str) -> dict[str, Any]:
    """The acceptance checks on a written extension: ids of every library on every line."""
    import tiktoken
    import tiktoken.load
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from tokkit.corpus.cjk import han_count
    from tokkit.llama.bytelevel_io import read_bytelevel

    meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    vocab = read_bytelevel(out)
    base_next = meta["base"]["next_id"]
    base_vocab = read_bytelevel(meta["base"]["path"])
    ours = vocab.tokenizer()
    encoders = {
        "tokkit": ours.encode,
        "tiktoken": tiktoken.Encoding("ext", pat_str=vocab.pattern, special_tokens=vocab.special_tokens,
                                      mergeable_ranks=tiktoken.load.load_tiktoken_bpe(str(out / rank_file))
                                      ).encode_ordinary,
        "tokenizers": (lambda hf: lambda t: hf.encode(t, add_special_tokens=False).ids)(
            Tokenizer.from_file(str(out / "tokenizer.json"))),
        "transformers": (lambda auto: lambda t: auto.encode(t, add_special_tokens=False))(
            AutoTokenizer.from_pretrained(out)),
    }
    base = base_vocab.tiktoken_encoding().encode_ordinary
    new = {i: t for t, i in vocab.ranks.items() if i >= base_next}
    result: dict[str, Any] = {"added": len(new)}
    for name, encode in encoders.items():
        result[f"unreachable {name}"] = sum(encode(t.decode("utf-8", "replace")) != [i] for i, t in new.items())
    reference = encoders["tiktoken"]
    decode = vocab.tiktoken_encoding().decode
    for label, lines in heldout.items():
        ids = [reference(line) for line in lines]
        before = [base(line) for line in lines]
        han = sum(map(han_count, lines))
        result[f"{label} tokens/Han before"] = sum(map(len, before)) / han if han else None
        result[f"{label} tokens/Han after"] = sum(map(len, ids)) / han if han else None
        result[f"{label} lines changed"] = sum(a != b for a, b in zip(before, ids, strict=True))
        result[f"{label} round-trip failures"] = sum(decode(x) != line for x, line in zip(ids, lines, strict=True))
        for name in ("tokkit", "tokenizers", "transformers"):
            result[f"{label} {name} ≠ tiktoken"] = sum(encoders[name](line) != x for line, x in zip(lines, ids, strict=True))
    return result


# --- resize table ----------------------------------------------------------------------------


def _windows(encode: Any, lines: list[str], length: int, bos: int, eos: int) -> Any:
    import torch

    stream: list[int] = []
    for line in lines:
        stream += [bos, *encode(line), eos]
    n = len(stream) // (length + 1)
    return torch.tensor(stream[: n * (length + 1)]).view(n, length + 1)


def _train(model: Any, data: Any, steps: int, batch: int, lr: float, seed: int, embeddings_only: bool = False) -> None:
    import torch

    if embeddings_only:  # stage-1 CPT: only the embeddings and the head learn
        for p in model.parameters():
            p.requires_grad_(False)
        for p in (model.get_input_embeddings().weight, model.get_output_embeddings().weight):
            p.requires_grad_(True)
    params = [p for p in model.parameters() if p.requires_grad]
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        rows = data[torch.randint(len(data), (batch,), generator=gen)]
        loss = model(input_ids=rows, labels=rows).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
    model.eval()


def _nll(model: Any, encode: Any, lines: list[str], bos: int, max_len: int = 128) -> tuple[float, int, int]:
    """Total NLL (nats) of ``lines`` after BOS, tokens and characters scored."""
    import torch

    total, tokens, chars = 0.0, 0, 0
    with torch.no_grad():
        for line in lines:
            ids = [bos, *encode(line)][: max_len + 1]
            if len(ids) < 2:
                continue
            x = torch.tensor([ids])
            logits = model(input_ids=x).logits[0, :-1].float()
            total += float(torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum"))
            tokens += len(ids) - 1
            chars += len(line) if len(ids) <= max_len else len(line) * (len(ids) - 1) // len(encode(line))
    return total, tokens, chars


def resize_table(args: argparse.Namespace, extended: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from tokkit.llama.bytelevel_extend import read_lines
    from tokkit.llama.bytelevel_io import read_bytelevel
    from tokkit.llama.resize import ResizeConfig, quiet_transformers, resize_embeddings
    from tokkit.llama.tiny import build_tiny_llama

    torch.set_num_threads(2)
    meta = json.loads((extended / "tokkit.json").read_text(encoding="utf-8"))
    base = read_bytelevel(meta["base"]["path"])
    vocab = read_bytelevel(extended)
    base_enc, ext_enc = base.tiktoken_encoding().encode_ordinary, vocab.tiktoken_encoding().encode_ordinary
    bos, eos = base.special_tokens["<|begin_of_text|>"], base.special_tokens["<|end_of_text|>"]
    zh_train = sample_lines([args.corpora / "zh"], int(args.train_mb * 2**20), seed=1)
    en_train = sample_lines([args.corpora / "en"], int(args.train_mb * 2**20), seed=2)
    zh_eval = read_lines([args.corpora / "heldout" / "zh_zizhitongjian.txt"])[: args.eval_lines]
    en_eval = read_lines([args.corpora / "heldout" / "en_dracula.txt"])[: args.eval_lines]
    table = Table(title=f"tiny Llama 3 (hidden {args.hidden}, {args.layers} layers, {base.next_id:,} → "
                        f"{vocab.next_id:,} rows, {'tied' if args.tie else 'untied'} head): held-out loss")
    for col in ("init", "English nats/token after resize", "Δ vs base", "Chinese bits/char at step 0",
                f"after {args.cpt_steps} CPT steps"):
        table.add_column(col, justify="left" if col == "init" else "right")
    with tempfile.TemporaryDirectory() as tmp_name, quiet_transformers():
        tmp = Path(tmp_name)
        t = time.perf_counter()
        if args.pretrained:
            model = AutoModelForCausalLM.from_pretrained(args.pretrained)
            pretrained = args.pretrained
        else:
            tiny = build_tiny_llama(tmp / "tiny", vocab_size=base.next_id, hidden_size=args.hidden,
                                    num_layers=args.layers, tie=args.tie)
            model = AutoModelForCausalLM.from_pretrained(tiny)
            _train(model, _windows(base_enc, zh_train + en_train, args.seq, bos, eos), args.pretrain_steps,
                   args.batch, 3e-3, seed=0)
            model.save_pretrained(tmp / "pretrained")
            pretrained = tmp / "pretrained"
        en_base, en_tokens, _ = _nll(model, base_enc, en_eval, bos)
        zh_nats, _, zh_chars = _nll(model, base_enc, zh_eval, bos)
        done = f"loaded {args.pretrained}" if args.pretrained else f"pretrained {args.pretrain_steps} steps"
        console.print(f"{done} in {time.perf_counter() - t:.0f} s: English "
                      f"{en_base / en_tokens:.4f} nats/token, Chinese {zh_nats / math.log(2) / zh_chars:.3f} bits/char "
                      "(base tokenizer)")
        table.add_row("base (no resize)", f"{en_base / en_tokens:.6f}", "", f"{zh_nats / math.log(2) / zh_chars:.3f}", "")
        cpt_data = _windows(ext_enc, zh_train, args.seq, bos, eos)
        calibration = en_train[:200]
        for name in args.inits.split(","):
            init, _, head = name.partition("+")
            out = tmp / f"resized-{name}"
            report = resize_embeddings(pretrained, extended, out, calibration=calibration if head else (),
                                       config=ResizeConfig(init=init, head_init=head or "same"))  # type: ignore[arg-type]
            if report.silent:
                console.print(f"{name}: {report.silent}")
            resized = AutoModelForCausalLM.from_pretrained(out)
            en, _, _ = _nll(resized, ext_enc, en_eval, bos)
            zh0, _, chars0 = _nll(resized, ext_enc, zh_eval, bos)
            _train(resized, cpt_data, args.cpt_steps, args.batch, 1e-3, seed=1, embeddings_only=True)
            zh1, _, chars1 = _nll(resized, ext_enc, zh_eval, bos)
            row = (name, f"{en / en_tokens:.6f}", f"{(en - en_base) / en_tokens:+.2e}",
                   f"{zh0 / math.log(2) / chars0:.3f}", f"{zh1 / math.log(2) / chars1:.3f}")
            table.add_row(*row)
            console.print(" | ".join(row))  # each row as it is measured (the whole table comes last)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=["tokkit", "hf"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base", type=Path, default=SHARED / "fixtures" / "llama3" / "tokenizer.model")
    parser.add_argument("--tekken", type=Path, default=SHARED / "fixtures" / "mistral" / "tekken_240911.json")
    parser.add_argument("--corpora", type=Path, default=SHARED / "corpora")
    parser.add_argument("--add", type=int, default=24000)
    parser.add_argument("--tekken-add", type=int, default=24000, help="0: skip Tekken")
    parser.add_argument("--zh-max-mb", type=float, default=None)
    parser.add_argument("--train-mb", type=float, default=1.0)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--pretrain-steps", type=int, default=300)
    parser.add_argument("--cpt-steps", type=int, default=200)
    parser.add_argument("--eval-lines", type=int, default=200)
    parser.add_argument("--skip-resize", action="store_true")
    parser.add_argument("--inits", default="mean,multivariate,subword-mean,mean+silent,subword-mean+silent",
                        help="resize inits to compare; +silent: head_init='silent'")
    parser.add_argument("--tie", action="store_true", help="a tied LM head")
    parser.add_argument("--resize-only", type=Path, default=None, help="only the resize table, on this extension")
    parser.add_argument("--pretrained", type=Path, default=None, help="start from this pretrained tiny model")
    args = parser.parse_args()
    if args.phase:
        result = (phase_tokkit if args.phase == "tokkit" else phase_hf)(args)
        print(json.dumps(result, default=str))
        return

    from tokkit.llama.bytelevel_extend import read_lines

    if args.resize_only:
        resize_table(args, args.resize_only)
        console.print("[dim]measured on a shared 2-core machine under load from other jobs[/]")
        return
    heldout = {"zh": read_lines([args.corpora / "heldout" / "zh_zizhitongjian.txt"]),
               "en": read_lines([args.corpora / "heldout" / "en_dracula.txt"])}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        runs = [("Llama 3", args.base, args.add, "tokenizer.model")]
        if args.tekken_add:
            runs.append(("Tekken", args.tekken, args.tekken_add, f"{args.tekken.stem}.tiktoken"))
        perf = Table(title="continued BPE (tokkit extend) beside tokenizers' BpeTrainer from scratch, same text")
        for col in ("run", "merges", "seconds", "peak MB"):
            perf.add_column(col, justify="left" if col == "run" else "right")
        checks: dict[str, dict[str, Any]] = {}
        for label, base, add, rank_file in runs:
            ours = _child("tokkit", args, base, add, tmp / label)
            perf.add_row(f"tokkit extend {label}", f"{ours['added']:,}", f"{ours['seconds']:.1f}", f"{ours['peak_mb']:.0f}")
            if label == "Llama 3":
                hf = _child("hf", args, base, add, tmp / "hf")
                perf.add_row("tokenizers BpeTrainer (from bytes)", f"{add:,}", f"{hf['seconds']:.1f}", f"{hf['peak_mb']:.0f}")
            checks[label] = check_extension(tmp / label, heldout, rank_file)
        console.print(perf)
        table = Table(title="acceptance checks on the held-out files (every line)")
        table.add_column("check")
        for label in checks:
            table.add_column(label, justify="right")
        for key in checks["Llama 3"]:
            values = [checks[label].get(key) for label in checks]
            table.add_row(key, *[f"{v:.4f}" if isinstance(v, float) else str(v) for v in values])
        console.print(table)
        if not args.skip_resize:
            resize_table(args, tmp / "Llama 3")
    console.print("[dim]measured on a shared 2-core machine under load from other jobs[/]")


if __name__ == "__main__":
    main()
