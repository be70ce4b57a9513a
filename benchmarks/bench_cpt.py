"""Continued-pretraining throughput: ``tokkit cpt``'s loop beside a bare PyTorch loop.

Anchor: the same model, micro-batch and optimizer in the plainest loop there is (random token
batches already in memory, forward + backward + AdamW step), so the difference is what tokkit's
loop adds: memory-mapped batches, accumulation, scheduling, logging, the live display. On CUDA it
also reports MFU: model FLOPs per token (6·N for the weights + 12·layers·hidden·seq_len for
attention, PaLM appendix B) × tokens/s ÷ the GPU's peak bf16 FLOP/s (``--peak-tflops``, else a
table of common GPUs).

    python benchmarks/bench_cpt.py                     # CPU: tiny LLaMA (2 layers, hidden 64)
    python benchmarks/bench_cpt.py --hidden 768 --layers 12 --seq-len 1024 --micro-batch 8   # a GPU
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PEAK_BF16_TFLOPS = {"H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0,
                    "RTX 4090": 165.0, "RTX 3090": 71.0, "V100": 125.0, "T4": 65.0}


def build_assets(tmp: Path, *, seq_len: int, hidden: int, layers: int, corpus_mb: float) -> tuple[Path, Path, int]:
    """A fast LLaMA tokenizer, shards of a slice of the sample corpora, and a random LLaMA."""
    from tokkit.corpus.readers import ReadOptions, read_texts
    from tokkit.llama.hf_export import write_hf_tokenizer
    from tokkit.llama.spm_io import read_model
    from tokkit.llama.tiny import build_tiny_llama
    from tokkit.shards import ShardConfig, write_shards

    tok_dir = tmp / "tokenizer"
    tok_dir.mkdir()
    write_hf_tokenizer(read_model(SHARED / "fixtures" / "llama" / "tokenizer.model", "--tokenizer"), tok_dir)
    budget, lines = int(corpus_mb * 1e6), []
    for text in read_texts([SHARED / "corpora" / "en", SHARED / "corpora" / "zh"], ReadOptions(split="line")):
        lines.append(text)
        budget -= len(text.encode("utf-8"))
        if budget <= 0:
            break
    (tmp / "corpus.txt").write_text("\n".join(lines), encoding="utf-8")
    manifest = write_shards([tmp / "corpus.txt"], tok_dir, tmp / "shards",
                            config=ShardConfig(seq_len=seq_len, val_fraction=0.01))
    vocab = manifest.tokenizer.vocab_size
    heads = max(1, hidden // 64)
    build_tiny_llama(tmp / "model", vocab_size=vocab, hidden_size=hidden, num_layers=layers, num_heads=heads,
                     max_position_embeddings=seq_len)
    shutil.copy2(tok_dir / "tokenizer.json", tmp / "model" / "tokenizer.json")
    return tmp / "model", tmp / "shards", vocab


def bare_loop(model_dir: Path, *, vocab: int, seq_len: int, micro_batch: int, steps: int, lr: float,
              device: str, bf16: bool) -> float:
    """Tokens/s of the plainest training loop on the same model (all weights trained)."""
    from contextlib import nullcontext

    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95))
    batches = [torch.randint(0, vocab, (micro_batch, seq_len), device=device) for _ in range(4)]
    cast = torch.autocast(device_type="cuda", dtype=torch.bfloat16) if bf16 else nullcontext()

    def step(i: int) -> None:
        x = batches[i % len(batches)]
        with cast:
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for i in range(3):  # warm up
        step(i)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * micro_batch * seq_len / (time.perf_counter() - start)


def flops_per_token(n_params: int, layers: int, hidden: int, seq_len: int) -> float:
    return 6.0 * n_params + 12.0 * layers * hidden * seq_len


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest for tiny models).")
    parser.add_argument("--corpus-mb", type=float, default=1.0)
    parser.add_argument("--peak-tflops", type=float, help="GPU peak bf16 TFLOP/s for MFU.")
    args = parser.parse_args()
    console = Console()

    import torch

    from tokkit.cpt import CPTConfig, run_cpt

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench_cpt.") as tmp_name:
        tmp = Path(tmp_name)
        model, shards, vocab = build_assets(tmp, seq_len=args.seq_len, hidden=args.hidden, layers=args.layers,
                                            corpus_mb=args.corpus_mb)
        batch_tokens = args.seq_len * args.micro_batch
        anchor = bare_loop(model, vocab=vocab, seq_len=args.seq_len, micro_batch=args.micro_batch,
                           steps=args.steps, lr=1e-4, device=device, bf16=device == "cuda")
        rows = []
        for stage in ("all", "embeddings"):
            config = CPTConfig(model=str(model), shards=str(shards), output=str(tmp / f"run-{stage}"),
                               train=stage, steps=args.steps + 3, batch_tokens=batch_tokens,  # type: ignore[arg-type]
                               micro_batch=args.micro_batch, lr=1e-4, eval_every=0, save_every=0,
                               log_every=1, threads=args.threads if device == "cpu" else 0)
            result = run_cpt(config, display=False)
            rows.append((stage, result))
        n_params = rows[0][1].total_parameters
        per_token = flops_per_token(n_params, args.layers, args.hidden, args.seq_len)
        peak = args.peak_tflops
        if device == "cuda" and peak is None:
            name = torch.cuda.get_device_name()
            peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)

        title = (f"CPT on {device}: LLaMA {args.layers} layers × hidden {args.hidden}, vocab {vocab:,}, "
                 f"{n_params / 1e6:,.1f}M params, seq_len {args.seq_len}, micro-batch {args.micro_batch}")
        table = Table(title=title)
        for col in ("loop", "tokens/s", "% of bare loop", "MFU"):
            table.add_column(col, justify="right" if col != "loop" else "left")

        def mfu(tps: float) -> str:
            return f"{100 * tps * per_token / (peak * 1e12):.1f}%" if device == "cuda" and peak else "—"

        table.add_row("anchor: bare PyTorch loop (all weights)", f"{anchor:,.0f}", "100%", mfu(anchor))
        for stage, result in rows:
            # run_cpt's figure includes 3 warm-up steps; take the steady state from its log
            from tokkit.cpt.display import read_log

            steps = [e for e in read_log(Path(result.output) / "log.jsonl") if e["event"] == "train"][3:]
            tps = sum(e["tokens_per_s"] for e in steps) / len(steps)
            table.add_row(f"tokkit cpt --train {stage}", f"{tps:,.0f}",
                          f"{100 * tps / anchor:.0f}%" if stage == "all" else "—", mfu(tps) if stage == "all" else "—")
        console.print(table)
        console.print("Timings on a shared machine are noisy; compare rows of the same run.")


if __name__ == "__main__":
    main()
