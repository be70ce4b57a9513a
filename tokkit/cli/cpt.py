"""``tokkit cpt``: continued pretraining of a causal LM on token shards."""

from __future__ import annotations

import os

import click
from rich.table import Table

from tokkit.cli.common import default_of, quiet
from tokkit.cli.cpt_display import LiveLine
from tokkit.cpt.config import CPTConfig
from tokkit.progress import console


@click.command("cpt")
@click.option("--model", required=True, type=click.Path(),
              help="transformers model dir (config.json + weights + its tokenizer), e.g. a resize output.")
@click.option("--shards", required=True, type=click.Path(), help="A `tokkit shard` output dir.")
@click.option("-o", "--output", type=click.Path(file_okay=False), default="ckpt", show_default=True,
              help="Run dir: cpt.json, log.jsonl, checkpoints/, final/ (the trained model).")
@click.option("--train", "stage", type=click.Choice(["embeddings", "all"]), default=default_of(CPTConfig, "train"),
              show_default=True,
              help="Stage 1: embeddings + LM head only; stage 2: all weights (or LoRA with --lora-r).")
@click.option("--lora-r", type=int, default=default_of(CPTConfig, "lora_r"), show_default=True,
              help="With --train all: LoRA rank on attention/MLP projections (0 = full fine-tuning).")
@click.option("--lora-alpha", type=float, default=default_of(CPTConfig, "lora_alpha"), show_default=True, help="LoRA scaling numerator.")
@click.option("--steps", type=int, default=default_of(CPTConfig, "steps"), show_default=True, help="Optimizer steps.")
@click.option("--batch-tokens", type=int, default=None,
              help="Global tokens per optimizer step (all GPUs, all accumulation micro-steps) "
                   "[default: 524288 on CUDA, 4096 on a CPU; on --resume, the checkpoint's].")
@click.option("--micro-batch", type=int, default=default_of(CPTConfig, "micro_batch"), show_default=True,
              help="Sequences per forward pass per device; accumulation fills the rest.")
@click.option("--lr", type=float, default=default_of(CPTConfig, "lr"), show_default=True, help="Peak learning rate (AdamW).")
@click.option("--min-lr-ratio", type=float, default=default_of(CPTConfig, "min_lr_ratio"), show_default=True,
              help="Cosine floor as a fraction of --lr.")
@click.option("--warmup-steps", type=int, default=None, help="Linear warmup [default: 5% of --steps].")
@click.option("--weight-decay", type=float, default=default_of(CPTConfig, "weight_decay"), show_default=True)
@click.option("--grad-clip", type=float, default=default_of(CPTConfig, "grad_clip"), show_default=True, help="Max gradient norm (0 = off).")
@click.option("--eval-every", type=int, default=default_of(CPTConfig, "eval_every"), show_default=True, help="Validation every N steps (0 = off).")
@click.option("--eval-sequences", type=int, default=default_of(CPTConfig, "eval_sequences"), show_default=True,
              help="Validation sequences per evaluation (the first N of the val split).")
@click.option("--save-every", type=int, default=default_of(CPTConfig, "save_every"), show_default=True,
              help="Checkpoint every N steps (0 = only at the end).")
@click.option("--log-every", type=int, default=default_of(CPTConfig, "log_every"), show_default=True, help="JSONL/display line every N steps.")
@click.option("--seed", type=int, default=default_of(CPTConfig, "seed"), show_default=True)
@click.option("--device", default=default_of(CPTConfig, "device"), show_default=True, help="auto (CUDA if present), cpu, cuda.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default=default_of(CPTConfig, "precision"), show_default=True,
              help="auto: bf16 autocast on CUDA, fp32 on CPU.")
@click.option("--threads", type=int, default=default_of(CPTConfig, "threads"), show_default=True,
              help="torch CPU threads (0 = torch's default; 1 is fastest for tiny models).")
@click.option("--resume", is_flag=True, help="Continue the run in --output from its latest checkpoint.")
@click.option("--force", is_flag=True, help="Delete an existing run in --output and start over.")
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check of the shards (sizes are still checked).")
@click.option("--no-tokenizer-check", is_flag=True,
              help="Accept a model dir without tokenizer files (vocab size still checked).")
@click.pass_context
def cpt(ctx: click.Context, model: str, shards: str, output: str, stage: str, lora_r: int, lora_alpha: float,
        steps: int, batch_tokens: int | None, micro_batch: int, lr: float, min_lr_ratio: float,
        warmup_steps: int | None, weight_decay: float, grad_clip: float, eval_every: int,
        eval_sequences: int, save_every: int, log_every: int, seed: int, device: str, precision: str,
        threads: int, resume: bool, force: bool, no_verify: bool, no_tokenizer_check: bool) -> None:
    """Continue pretraining MODEL on SHARDS: stage 1 (embeddings) or stage 2 (all / LoRA).

    Refuses shards made with another tokenizer. Checkpoints resume exactly (--resume). Logs to
    OUTPUT/log.jsonl; the trained model lands in OUTPUT/final. Several GPUs: launch the same
    command with torchrun (see docs/cpt.md).

    \b
    Examples:
      tokkit cpt --model models/llama-zh --shards shards/ -o ckpt/stage1 --train embeddings --steps 2000
      tokkit cpt --model ckpt/stage1/final --shards shards/ -o ckpt/stage2 --train all --lora-r 64
      torchrun --nproc-per-node 8 -m tokkit cpt --model M --shards S -o ckpt/stage1 --batch-tokens 1048576
    """
    # OpenMP threads that spin while waiting make a CPU step many times slower as soon as the cores
    # are shared (6x on the 2-core test machine, bench_cpt_defaults.py); read once, when torch loads,
    # so the variable is set only for that (in-process callers get their environment back).
    wait_policy_set = "OMP_WAIT_POLICY" not in os.environ
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tokkit.cpt import CPTConfig, run_cpt

    config = CPTConfig(
        model=model, shards=shards, output=output, train=stage, lora_r=lora_r,  # type: ignore[arg-type]
        lora_alpha=lora_alpha, steps=steps, batch_tokens=batch_tokens, micro_batch=micro_batch, lr=lr,
        min_lr_ratio=min_lr_ratio, warmup_steps=warmup_steps, weight_decay=weight_decay,
        grad_clip=grad_clip, eval_every=eval_every, eval_sequences=eval_sequences,
        save_every=save_every, log_every=log_every, seed=seed, device=device,
        precision=precision, threads=threads, verify_shards=not no_verify,  # type: ignore[arg-type]
    )
    try:
        result = run_cpt(config, resume=resume, force=force, watch=None if quiet(ctx) else LiveLine(),
                         tokenizer_check=not no_tokenizer_check)
    finally:
        if wait_policy_set:
            os.environ.pop("OMP_WAIT_POLICY", None)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    if not quiet(ctx):
        table = Table(title=f"cpt ({config.train}{f', LoRA r={lora_r}' if lora_r else ''}) → {result.final_dir}",
                      show_header=False)
        table.add_column("figure", style="bold")
        table.add_column("value", justify="right")
        vals = sorted(result.val_losses.items())
        rows = [
            ("steps", f"{result.steps:,}" + (f" (resumed at {result.resumed_from:,})" if result.resumed_from else "")),
            ("device", f"{result.device} ({result.precision})"),
            ("trainable / total parameters", f"{result.trainable_parameters:,} / {result.total_parameters:,}"),
            ("tokens trained", f"{result.tokens:,}"),
            ("throughput", f"{result.tokens_per_second:,.0f} tokens/s"),
            ("final train loss", f"{result.train_loss:.4f}"),
            ("val loss", " → ".join(f"{v:.4f} @{s}" for s, v in (vals[:1] + vals[-1:] if len(vals) > 1 else vals))
             or "—"),
        ]
        for label, value in rows:
            table.add_row(label, value)
        console.print(table)
    click.echo(str(result.final_dir))
