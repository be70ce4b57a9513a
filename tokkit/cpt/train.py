"""The continued-pretraining loop: PyTorch + ``transformers``, one process per device.

Plain ``python``/``tokkit cpt`` trains on one CPU or GPU; ``torchrun --nproc-per-node N -m tokkit
cpt ...`` trains data-parallel (``torch.distributed`` DDP): each rank reads its slice of every
global batch straight from the memory-mapped shards, gradients are averaged by DDP, rank 0 logs and
saves. bf16 autocast on CUDA (fp32 master weights), fp32 on CPU; gradient accumulation to reach
``batch_tokens``; cosine learning rate with linear warmup; validation loss every ``eval_every``
steps; checkpoints every ``save_every`` steps that resume bit-exactly (same losses as a run that
never stopped). The final model (LoRA merged) is saved under ``<output>/final`` as a plain
``transformers`` directory with the tokenizer beside it, ready for the next stage.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit.atomic import (
    atomic_dir,
    check_apart,
    check_output_dir,
    mark_output,
    output_lock,
    remove_output,
)
from tokkit.cpt.checkpoint import (
    base_fingerprint,
    checkpoint_dir,
    checkpoint_dirs,
    load_checkpoint,
    read_state,
    save_checkpoint,
)
from tokkit.cpt.compat import check_compatible, model_vocab_size
from tokkit.cpt.config import CPU_BATCH_TOKENS, GPU_BATCH_TOKENS, CPTConfig
from tokkit.cpt.data import BatchPlan
from tokkit.cpt.display import LOG_FILE, JsonlLog
from tokkit.cpt.run_dir import RunDir
from tokkit.cpt.steps import StepReport, StepWatch
from tokkit.errors import InputError, MissingDependencyError, OutputExistsError, TokkitError

if TYPE_CHECKING:
    import torch

    from tokkit.types import Progress

log = logging.getLogger("tokkit")

FINAL_DIR = "final"
TOKENIZER_SIDE_FILES = (
    "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
    "spm.model", "spm.vocab",
)


@dataclass
class CPTResult:
    """What a run did: enough for an end-of-run table and the pipeline report."""

    output: Path
    final_dir: Path
    steps: int
    tokens: int
    seconds: float
    tokens_per_second: float
    train_loss: float
    val_losses: dict[int, float] = field(default_factory=dict)
    trainable_parameters: int = 0
    total_parameters: int = 0
    resumed_from: int | None = None
    device: str = "cpu"
    precision: str = "fp32"


def lr_at(step: int, config: CPTConfig) -> float:
    """Linear warmup to ``lr`` over ``warmup`` steps, then cosine down to ``min_lr_ratio · lr``."""
    warmup = config.warmup
    if warmup and step < warmup:
        return config.lr * (step + 1) / warmup
    span = max(1, config.steps - warmup)
    progress = min(1.0, (step - warmup) / span)
    floor = config.min_lr_ratio
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def _import_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(err.name or "torch", "cpt") from None
    return torch


@dataclass
class _Dist:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(torch: Any, device_kind: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return _Dist(world, dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")))


def _set_trainable(model: Any, config: CPTConfig) -> None:
    from tokkit.cpt.lora import apply_lora

    embeddings = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    if config.train == "all" and not config.lora_r:
        for param in model.parameters():
            param.requires_grad_(True)
        return
    for param in model.parameters():
        param.requires_grad_(False)
    if config.lora_r:
        wrapped = apply_lora(model, r=config.lora_r, alpha=config.lora_alpha, targets=config.lora_targets)
        if not wrapped:
            raise InputError(
                f"`lora_r`: no linear layer named {', '.join(config.lora_targets)} in {config.model}"
            )
    embeddings.requires_grad_(True)
    if head is not None:
        head.weight.requires_grad_(True)


def _load_model(directory: str, torch: Any) -> Any:
    """The base model in fp32, from safetensors only: pickled ``.bin`` weights can run code."""
    from transformers import AutoModelForCausalLM

    try:
        with _quiet_transformers():
            return AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, use_safetensors=True)
    except OSError as err:
        raise InputError(
            f"{directory}: no loadable safetensors weights ({str(err).splitlines()[0]}); tokkit never "
            "loads pickled weights (.bin), which can run code: re-save the model with "
            "save_pretrained(safe_serialization=True)"
        ) from None


def _prepare_output(config: CPTConfig, *, resume: bool, force: bool, dist: _Dist) -> Path | None:
    """Return the checkpoint to resume from (or None); refuse to clobber a previous run."""
    output = Path(config.output)
    check_apart(output, [config.model, config.shards])
    checkpoints = checkpoint_dirs(output)
    if resume and checkpoints:
        return checkpoints[-1][1]
    if resume:
        log.warning("%s: no checkpoint to resume from; starting from step 0", output)
    if output.exists() and any(output.iterdir()):
        if not force and not resume:
            raise OutputExistsError(str(output)) if not checkpoints else InputError(
                f"{output}: holds a run up to step {checkpoints[-1][0]}; pass `resume=True` to continue "
                "it or `force=True` to start over"
            )
        check_output_dir(output, force=True)  # never a folder tokkit did not write
        if dist.main:
            remove_output(output)
    return None


class CPTInterrupted(TokkitError):
    """Ctrl-C after a checkpoint was written: the run stays on disk, to be resumed."""

    exit_code = 130


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No tqdm bars from ``transformers`` while it loads or saves: tokkit draws its own."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def default_batch_tokens(device_type: str, *, seq_len: int, sequences_per_pass: int = 1) -> int:
    """Tokens per step when none is given: :data:`GPU_BATCH_TOKENS` on a GPU, :data:`CPU_BATCH_TOKENS`
    on a CPU, where a LLaMA-scale batch takes minutes per step; at least one forward pass on every
    device (``sequences_per_pass`` = micro-batch × devices)."""
    floor = seq_len * sequences_per_pass
    return max(GPU_BATCH_TOKENS if device_type == "cuda" else CPU_BATCH_TOKENS, floor)


def _saved_batch_tokens(output: Path, resume: bool) -> int | None:
    """The batch of the checkpoint a resume will continue (an exact resume needs the same)."""
    checkpoints = checkpoint_dirs(output) if resume else []
    if not checkpoints:
        return None
    value = read_state(checkpoints[-1][1])["config"].get("batch_tokens")
    return value if isinstance(value, int) else None


def _save_final(model: Any, config: CPTConfig, output: Path) -> Path:
    from tokkit.cpt.lora import merge_lora

    merge_lora(model)
    target = output / FINAL_DIR
    with atomic_dir(target, force=True) as tmp, _quiet_transformers():
        model.save_pretrained(str(tmp))
        for name in TOKENIZER_SIDE_FILES:
            source = Path(config.model) / name
            if source.is_file():
                shutil.copy2(source, tmp / name)
    return target


def evaluate(model: torch.nn.Module, sequences: Any, *, count: int, micro_batch: int, device: Any,
             autocast: Callable[[], Any], dist: _Dist) -> float | None:
    """Mean next-token loss over the first ``count`` validation sequences (all ranks share)."""
    import torch

    count = min(count, len(sequences))
    if count == 0:
        return None
    mine = list(range(dist.rank, count, dist.world_size))
    total = torch.zeros(2, dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(mine), micro_batch):
            ids = torch.from_numpy(sequences.batch(mine[i : i + micro_batch])).to(device)
            with autocast():
                loss = model(input_ids=ids, labels=ids).loss
            total[0] += loss.double() * len(ids)
            total[1] += len(ids)
    if dist.world_size > 1:
        import torch.distributed as tdist

        tdist.all_reduce(total)
    model.train(was_training)
    return float(total[0] / total[1])


def run_cpt(
    config: CPTConfig,
    *,
    resume: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    watch: StepWatch | None = None,
    tokenizer_check: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> CPTResult:
    """Train per ``config``; see the module doc. ``on_step(step, loss)`` runs after each step.

    Steps are reported to ``progress`` (one task, as every stage does), and to ``watch`` with the
    loss, val loss, lr and tokens/s (the ``tokkit cpt`` command's live line); cpt draws nothing itself.
    """
    config.validate()
    torch = _import_torch()
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _run(config, torch, resume=resume, force=force, progress=progress, watch=watch,
                    tokenizer_check=tokenizer_check, on_step=on_step)
    finally:
        torch.set_num_threads(threads)


def _run(
    config: CPTConfig,
    torch: Any,
    *,
    resume: bool,
    force: bool,
    progress: Progress | None,
    watch: StepWatch | None,
    tokenizer_check: bool,
    on_step: Callable[[int, float], None] | None,
) -> CPTResult:
    from tokkit.shards.reader import open_shards

    # ids at or beyond the model's embedding rows are refused here, not as an IndexError mid-step
    shards = open_shards(config.shards, verify=config.verify_shards, vocab_size=model_vocab_size(config.model))
    check_compatible(config.model, shards.manifest, shards=config.shards, require_tokenizer=tokenizer_check)
    device_kind = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device_kind.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("`device='cuda'`: no CUDA device is visible; use `device='cpu'`")
    dist = _setup_distributed(torch, device_kind.split(":")[0])
    device = torch.device(f"cuda:{dist.local_rank}" if device_kind == "cuda" else device_kind)
    precision = config.precision if config.precision != "auto" else ("bf16" if device.type == "cuda" else "fp32")
    output = Path(config.output)
    batch_tokens = (config.batch_tokens or _saved_batch_tokens(output, resume)
                    or default_batch_tokens(device.type, seq_len=shards.manifest.seq_len,
                                         sequences_per_pass=config.micro_batch * dist.world_size))
    config = replace(config, batch_tokens=batch_tokens)  # saved resolved: a resume elsewhere keeps it
    train_seqs = shards.sequences("train")
    plan = BatchPlan(sequences=len(train_seqs), seq_len=shards.manifest.seq_len,
                     batch_tokens=batch_tokens, micro_batch=config.micro_batch,
                     world_size=dist.world_size, seed=config.seed)
    reached = [0]  # the last finished step, for the interrupt message
    try:
        with output_lock(output) if dist.main else nullcontext():  # one run per output dir
            resume_from = _prepare_output(config, resume=resume, force=force, dist=dist)
            if dist.world_size > 1:  # rank 0 may have cleared the output dir (force)
                import torch.distributed as tdist

                tdist.barrier()
            with RunDir(output, fresh=resume_from is None and dist.main) as run_dir:
                return _train(config, torch, run_dir=run_dir, resume_from=resume_from, plan=plan,
                              train_seqs=train_seqs, val_seqs=shards.sequences("val"), dist=dist,
                              device=device, precision=precision, progress=progress, watch=watch,
                              on_step=on_step, reached=reached)
    except KeyboardInterrupt:
        checkpoints = checkpoint_dirs(output) if dist.main else []
        if not checkpoints:
            raise  # nothing was written (or kept): the plain interrupt message is the truth
        raise CPTInterrupted(
            f"interrupted at step {reached[0]}; {output} keeps the run up to its checkpoint of step "
            f"{checkpoints[-1][0]}: re-run with `resume=True` to continue it (or `force=True` to start over)"
        ) from None


def _train(
    config: CPTConfig,
    torch: Any,
    *,
    run_dir: RunDir,
    resume_from: Path | None,
    plan: BatchPlan,
    train_seqs: Any,
    val_seqs: Any,
    dist: _Dist,
    device: Any,
    precision: str,
    progress: Progress | None,
    watch: StepWatch | None,
    on_step: Callable[[int, float], None] | None,
    reached: list[int],
) -> CPTResult:
    def autocast() -> Any:
        if precision == "bf16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return nullcontext()

    output = run_dir.output
    torch.manual_seed(config.seed)
    model = _load_model(config.model, torch)
    _set_trainable(model, config)
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]
    no_decay = [p for p in trainable if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=config.betas,
    )
    start = 0
    last_loss = float("nan")
    if resume_from is not None:
        saved = load_checkpoint(resume_from, model=model, optimizer=optimizer, rank=dist.rank)
        if saved.get("base") != base_fingerprint(config.model):
            raise InputError(f"{resume_from}: was trained from another base model than {config.model}")
        try:
            before = CPTConfig.from_dict(saved["config"])
        except TypeError as err:  # a required setting missing, say
            raise InputError(f"{resume_from}: its config is not a CPT config ({err}); "
                             "delete the checkpoint or start over with `force=True`") from None
        changed = config.resumable_with(before)
        if changed:
            raise InputError(
                f"{resume_from}: cannot resume exactly with changed {', '.join(changed)}; "
                "use the checkpoint's settings or `force=True` to start over"
            )
        start = reached[0] = int(saved["step"])
        loss = saved.get("loss")
        last_loss = float(loss) if isinstance(loss, (int, float)) else float("nan")
    if dist.main:
        config.save(run_dir.path)
        mark_output(run_dir.path)

    ddp_model: Any = model
    if dist.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        ddp_model = DistributedDataParallel(model, device_ids=[dist.local_rank] if device.type == "cuda" else None)

    n_trainable = sum(p.numel() for p in trainable)
    n_total = sum(p.numel() for p in model.parameters())
    logbook = (JsonlLog(run_dir.path / LOG_FILE, resume_step=start if resume_from is not None else None)
               if dist.main else None)
    if logbook is not None and resume_from is None:
        logbook.write("start", step=0, config=config.to_dict(), world_size=dist.world_size,
                      device=str(device), precision=precision, trainable_parameters=n_trainable,
                      total_parameters=n_total, tokens_per_step=plan.tokens_per_step,
                      accumulation=plan.accumulation)
    val_losses: dict[int, float] = {}

    def run_eval(step: int) -> float | None:
        loss = evaluate(model, val_seqs, count=config.eval_sequences, micro_batch=config.micro_batch,
                        device=device, autocast=autocast, dist=dist)
        if loss is not None:
            val_losses[step] = loss
            if logbook is not None:
                logbook.write("val", step=step, val_loss=loss)
        return loss

    if len(val_seqs) == 0 and config.eval_every and dist.main:
        log.warning("%s: the val split holds no whole sequence; no validation loss (re-shard with a larger `val_fraction`)",
                    config.shards)
    state = {"base": base_fingerprint(config.model), "config": config.to_dict()}
    began = time.perf_counter()
    window_start, window_tokens = began, 0
    model.train()
    with StepReport(total=config.steps, start=start, progress=progress if dist.main else None,
                    watch=watch if dist.main else None) as live:
        if start == 0 and config.eval_every:
            live.update(step=0, val=run_eval(0))
        for step in range(start, config.steps):
            lr = lr_at(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            micro = plan.micro_batches(step, dist.rank)
            step_loss = torch.zeros((), dtype=torch.float64, device=device)
            for i, indices in enumerate(micro):
                ids = torch.from_numpy(train_seqs.batch(indices)).to(device)
                sync = nullcontext() if (dist.world_size == 1 or i == len(micro) - 1) else ddp_model.no_sync()
                with sync, autocast():
                    loss = ddp_model(input_ids=ids, labels=ids).loss / len(micro)
                loss.backward()
                step_loss += loss.detach().double()
                live.partial(step + (i + 1) / len(micro))  # an ETA long before the first step ends
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if dist.world_size > 1:
                import torch.distributed as tdist

                tdist.all_reduce(step_loss)
                step_loss /= dist.world_size
            last_loss = float(step_loss)
            if not math.isfinite(last_loss):
                raise InputError(f"loss became {last_loss} at step {step + 1}; lower `lr` or check the data")
            done = reached[0] = step + 1
            window_tokens += plan.tokens_per_step
            if done % config.log_every == 0 or done == config.steps:
                now = time.perf_counter()
                tps = window_tokens / max(now - window_start, 1e-9)
                window_start, window_tokens = now, 0
                if logbook is not None:
                    logbook.write("train", step=done, loss=last_loss, lr=lr, tokens=done * plan.tokens_per_step,
                                  tokens_per_s=tps, elapsed=now - began)
                live.update(step=done, loss=last_loss, lr=lr, tokens_per_s=tps)
            else:
                live.update(step=done)
            if config.eval_every and (done % config.eval_every == 0 or done == config.steps):
                live.update(step=done, val=run_eval(done))
            if (config.save_every and done % config.save_every == 0) or done == config.steps:
                save_checkpoint(run_dir.path if dist.main else output, step=done, model=model,
                                optimizer=optimizer, state={**state, "loss": last_loss}, rank=dist.rank,
                                world_size=dist.world_size, after_save=run_dir.publish)
                if logbook is not None:
                    logbook.write("checkpoint", step=done, path=str(checkpoint_dir(output, done)))
            if on_step is not None:
                on_step(done, last_loss)
    seconds = time.perf_counter() - began
    trained_tokens = (config.steps - start) * plan.tokens_per_step
    final = output / FINAL_DIR
    if dist.main:
        final = _save_final(model, config, output)
        if logbook is not None:
            logbook.write("done", step=config.steps, loss=last_loss, final=str(final), seconds=seconds)
            logbook.close()
    if dist.world_size > 1:
        import torch.distributed as tdist

        tdist.barrier()
    return CPTResult(
        output=output, final_dir=final, steps=config.steps, tokens=trained_tokens, seconds=seconds,
        tokens_per_second=trained_tokens / max(seconds, 1e-9), train_loss=last_loss,
        val_losses=val_losses, trainable_parameters=n_trainable, total_parameters=n_total,
        resumed_from=start if resume_from is not None else None, device=str(device), precision=precision,
    )
