"""Evidence that the initialisation of new embedding rows matters (issue 6, part 3).

1. Pretrain a tiny LLaMA (transformers config, CPU) on the sample corpora (Chinese + English)
   with the *base* LLaMA tokenizer.
2. Extend the tokenizer with Chinese pieces (``extend-llama``) and resize the checkpoint with
   ``--init random | mean | subword-mean``.
3. Report the loss in bits per character on held-out Chinese (资治通鉴) — comparable across
   tokenizers — for the base model with the base tokenizer, right after resizing, and after a
   few hundred continued-pretraining steps on Chinese with the extended tokenizer.

Usage (from the project root; ~10–20 min on 2 CPU cores)::

    python benchmarks/bench_resize_init.py
    python benchmarks/bench_resize_init.py --pretrain-steps 100 --cpt-steps 50   # smoke run
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import torch
from harness import SHARED, sample_lines
from rich.console import Console
from rich.table import Table

from tokkit.llama.recipe import extend_llama, read_lines
from tokkit.llama.resize import ResizeConfig, quiet_transformers, resize_embeddings
from tokkit.llama.spm_io import processor, read_model
from tokkit.llama.tiny import build_tiny_llama
from tokkit.llama.zh_model import ZhModelConfig

console = Console(width=160)


def windows(sp, lines: list[str], length: int) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """Pack ``[BOS] line [EOS]`` streams into rows of ``length + 1`` token ids."""
    stream: list[int] = []
    for ids in sp.encode(lines):
        stream.extend([1, *ids, 2])
    n = len(stream) // (length + 1)
    return torch.tensor(stream[: n * (length + 1)]).view(n, length + 1)


def train(model, data: torch.Tensor, steps: int, batch: int, lr: float, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Plain AdamW with cosine decay; returns the last loss."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * 0.5 * (1 + math.cos(math.pi * s / max(steps, 1)))
    )
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        rows = data[torch.randint(len(data), (batch,), generator=gen)]
        loss = model(input_ids=rows[:, :-1], labels=rows[:, :-1]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
    model.eval()
    return float(loss.detach())


@torch.no_grad()
def bits_per_char(model, sp, lines: list[str], batch: int = 8, max_len: int = 256) -> float:  # type: ignore[no-untyped-def]
    """Total negative log-likelihood of ``lines`` (each after BOS) in bits, per character."""
    total_nats, chars = 0.0, 0
    encoded = [[1, *ids][: max_len + 1] for ids in sp.encode(lines)]
    for start in range(0, len(encoded), batch):
        chunk = encoded[start : start + batch]
        width = max(map(len, chunk))
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.long)
        for i, row in enumerate(chunk):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        targets = ids[:, 1:]
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        total_nats += float((nll * mask[:, 1:]).sum())
    for line, row in zip(lines, encoded, strict=True):
        kept = sp.decode(row[1:]) if len(row) == max_len + 1 else line
        chars += len(kept)
    return total_nats / math.log(2) / chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=SHARED / "fixtures" / "llama" / "tokenizer.model")
    parser.add_argument("--corpora", type=Path, default=SHARED / "corpora")
    parser.add_argument("--zh-vocab", type=int, default=8000)
    parser.add_argument("--zh-max-mb", type=float, default=2.0)
    parser.add_argument("--train-mb", type=float, default=1.0, help="MB of zh and of en text to train on")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--pretrain-steps", type=int, default=400)
    parser.add_argument("--cpt-steps", type=int, default=200)
    parser.add_argument("--eval-lines", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from transformers import AutoModelForCausalLM

    start = time.perf_counter()
    zh_train = sample_lines([args.corpora / "zh"], int(args.train_mb * 2**20), seed=1)
    en_train = sample_lines([args.corpora / "en"], int(args.train_mb * 2**20), seed=2)
    heldout = read_lines([args.corpora / "heldout" / "zh_zizhitongjian.txt"])[: args.eval_lines]
    base_sp = processor(read_model(args.base))

    with tempfile.TemporaryDirectory() as tmp_name, quiet_transformers():
        tmp = Path(tmp_name)
        tiny = build_tiny_llama(tmp / "tiny", vocab_size=32000, hidden_size=args.hidden, num_layers=args.layers)
        model = AutoModelForCausalLM.from_pretrained(tiny)
        pre_data = windows(base_sp, zh_train + en_train, args.seq)
        t = time.perf_counter()
        pre_loss = train(model, pre_data, args.pretrain_steps, args.batch, 3e-3, seed=0)
        pretrain_s = time.perf_counter() - t
        model.save_pretrained(tmp / "pretrained")
        base_bpc = bits_per_char(model, base_sp, heldout)
        console.print(f"pretrained {args.pretrain_steps} steps in {pretrain_s:.0f} s (last loss {pre_loss:.2f}); "
                      f"held-out zh {base_bpc:.3f} bits/char with the base tokenizer")

        extend_llama(args.base, tmp / "vocab", zh_corpus=[args.corpora / "zh"],
                     zh_config=ZhModelConfig(vocab_size=args.zh_vocab,
                                             max_bytes=int(args.zh_max_mb * 2**20)))
        ext_sp = processor(read_model(tmp / "vocab"))
        han_ratio = (sum(len(x) for x in base_sp.encode(heldout)) / sum(len(x) for x in ext_sp.encode(heldout)))
        cpt_data = windows(ext_sp, zh_train, args.seq)
        table = Table(title=f"tiny LLaMA (hidden {args.hidden}, {args.layers} layers): held-out 资治通鉴, bits/char")
        for col in ("model", "tokenizer", "right after resize", f"after {args.cpt_steps} CPT steps", "CPT s"):
            table.add_column(col, justify="left" if col in ("model", "tokenizer") else "right")
        base_model = AutoModelForCausalLM.from_pretrained(tmp / "pretrained")
        t = time.perf_counter()
        train(base_model, windows(base_sp, zh_train, args.seq), args.cpt_steps, args.batch, 1e-3, seed=1)
        table.add_row("base (no resize)", "LLaMA 32000", f"{base_bpc:.3f}",
                      f"{bits_per_char(base_model, base_sp, heldout):.3f}", f"{time.perf_counter() - t:.0f}")
        for init in ("random", "mean", "subword-mean"):
            out = tmp / f"resized-{init}"
            resize_embeddings(tmp / "pretrained", tmp / "vocab", out, config=ResizeConfig(init=init))  # type: ignore[arg-type]
            resized = AutoModelForCausalLM.from_pretrained(out)
            after_resize = bits_per_char(resized, ext_sp, heldout)
            t = time.perf_counter()
            train(resized, cpt_data, args.cpt_steps, args.batch, 1e-3, seed=1)
            table.add_row(f"resized, init {init}", f"extended {len(read_model(tmp / 'vocab').pieces)}",
                          f"{after_resize:.3f}", f"{bits_per_char(resized, ext_sp, heldout):.3f}",
                          f"{time.perf_counter() - t:.0f}")
    console.print(table)
    console.print(f"extended tokenizer uses {1 / han_ratio:.2f}× the base tokens on this held-out text; "
                  f"CPT continues on the same {args.train_mb} MB Chinese sample; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
