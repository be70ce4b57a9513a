"""Grow a LLaMA checkpoint's input embeddings and LM head to an extended vocabulary.

Rows of base ids are copied bit for bit, so a base token on base-tokenized input gets the same
logit as before. New rows are initialised by one of:

``subword-mean`` (default)
    the mean of the base rows of the pieces the *base* tokenizer splits the new token's text
    into (``中国`` → the byte pieces of 中 and 国): the model starts out reading a new token
    roughly as it read the same text before, so loss right after resizing stays close to the
    base model's (``benchmarks/bench_extend.py`` measures it);
``mean``
    the mean of all base rows (what ``transformers`` approximates with ``mean_resizing``);
``random``
    ``N(0, initializer_range)``, as for an untrained model: the baseline.

The LM head gets the same treatment with its own rows (a tied head is the embedding matrix).
``pad_to_multiple_of`` rounds the row count up (tensor-core friendly); padding rows are never
produced by the tokenizer and get the ``mean`` (or ``random``) rows.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from tokkit.atomic import atomic_dir
from tokkit.errors import InputError, MissingDependencyError
from tokkit.llama.hf_export import write_hf_tokenizer
from tokkit.llama.spm_io import ModelProto, new_model, processor, read_model
from tokkit.load import read_meta, write_meta

InitMethod = Literal["mean", "subword-mean", "random"]
INIT_METHODS: tuple[str, ...] = ("subword-mean", "mean", "random")
TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@dataclass(frozen=True, kw_only=True)
class ResizeConfig:
    """How new rows are made (saved in the output's ``tokkit.json``)."""

    init: InitMethod = "subword-mean"
    pad_to_multiple_of: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.init not in INIT_METHODS:
            raise InputError(f"unknown init '{self.init}'; use one of {', '.join(INIT_METHODS)}")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise InputError(f"--pad-to-multiple-of {self.pad_to_multiple_of} must be a positive integer")


@dataclass(frozen=True, kw_only=True)
class ResizeReport:
    """What :func:`resize_embeddings` did."""

    output: Path
    base_rows: int
    tokenizer_size: int
    new_rows: int
    tied: bool
    init: str
    dtype: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output"] = str(self.output)
        return data


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence ``transformers``' own progress bars and info logs inside tokkit's output."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _import_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(err.name or "torch", "cpt") from None
    return torch


def base_tokenizer(extended: ModelProto, base_size: int) -> ModelProto:
    """The base model inside an extended one: its first ``base_size`` pieces, no dummy prefix.

    Encoding a piece's text with it (``▁`` kept literally) gives the base pieces of that text.
    """
    base = new_model()
    base.CopyFrom(extended)
    del base.pieces[base_size:]
    base.trainer_spec.vocab_size = base_size
    base.normalizer_spec.add_dummy_prefix = False
    return base


def subword_ids(extended: ModelProto, base_size: int) -> list[list[int]]:
    """For each new id ``base_size …``: the base ids its text splits into."""
    sp = processor(base_tokenizer(extended, base_size))
    texts = [extended.pieces[i].piece for i in range(base_size, len(extended.pieces))]
    return [list(ids) for ids in sp.encode(texts)]


def _new_rows(weight: Any, base: int, extra: int, pieces: list[list[int]], config: ResizeConfig,
              std: float, generator: Any) -> Any:
    """``extra`` rows for a ``[base, dim]`` matrix; the first ``len(pieces)`` are real tokens."""
    import torch

    source = weight[:base].float()
    dim = source.shape[1]
    if config.init == "random":
        return torch.randn(extra, dim, generator=generator) * std
    mean = source.mean(dim=0)
    rows = mean.expand(extra, dim).clone()
    if config.init == "subword-mean":
        real = [k for k, ids in enumerate(pieces) if ids]
        if real:
            flat = torch.tensor([i for k in real for i in pieces[k]])
            owner = torch.tensor([n for n, k in enumerate(real) for _ in pieces[k]])
            sums = torch.zeros(len(real), dim).index_add_(0, owner, source[flat])
            counts = torch.bincount(owner, minlength=len(real)).unsqueeze(1)
            rows[torch.tensor(real)] = sums / counts
    return rows


def resize_embeddings(
    model_dir: str | Path,
    tokenizer_dir: str | Path,
    output: str | Path,
    *,
    config: ResizeConfig | None = None,
    force: bool = False,
) -> ResizeReport:
    """Resize the checkpoint at ``model_dir`` to the vocabulary of ``tokenizer_dir``; write ``output``.

    ``tokenizer_dir`` is an ``extend-llama`` output (or any dir with a ``tokenizer.model`` whose
    first pieces are the model's vocabulary). The output holds config + safetensors and a copy
    of the tokenizer files, so ``AutoModelForCausalLM`` and ``AutoTokenizer`` both load it.
    """
    config = config or ResizeConfig()
    start = time.perf_counter()
    model_dir, tokenizer_dir = Path(model_dir), Path(tokenizer_dir)
    if not (model_dir / "config.json").is_file():
        raise InputError(f"{model_dir}: no config.json; pass --model a transformers checkpoint dir")
    extended = read_model(tokenizer_dir, "--tokenizer")
    meta = read_meta(tokenizer_dir) if tokenizer_dir.is_dir() else {}
    base_pieces = meta.get("extend", {}).get("base_pieces")
    torch = _import_torch()
    from transformers import AutoConfig, AutoModelForCausalLM

    with quiet_transformers():
        try:
            model_config = AutoConfig.from_pretrained(model_dir)
        except Exception as err:
            raise InputError(f"{model_dir}/config.json: not a transformers config ({err})") from None
        rows = int(model_config.vocab_size)
        size = len(extended.pieces)
        if base_pieces is not None and int(base_pieces) != rows:
            raise InputError(
                f"vocab mismatch: {tokenizer_dir} extends a base of {base_pieces} pieces but "
                f"{model_dir} has {rows} embedding rows; extend the tokenizer this model was trained with"
            )
        if size < rows:
            raise InputError(
                f"vocab mismatch: {tokenizer_dir} has {size} pieces, fewer than the {rows} embedding rows "
                f"of {model_dir}; pass the extended tokenizer dir as --tokenizer"
            )
        try:
            model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto")
        except Exception as err:
            raise InputError(f"{model_dir}: cannot load the checkpoint ({type(err).__name__}: {err})") from None
    embed = model.get_input_embeddings()
    if embed.weight.shape[0] != rows:
        raise InputError(
            f"{model_dir}: config says {rows} tokens but the embedding has {embed.weight.shape[0]} rows; "
            "fix config.json"
        )
    head = model.get_output_embeddings()
    tied = head is None or head.weight.data_ptr() == embed.weight.data_ptr()
    old_embed = embed.weight.detach().clone()
    old_head = None if tied else head.weight.detach().clone()
    pieces = subword_ids(extended, rows) if config.init == "subword-mean" else []
    with quiet_transformers(), torch.no_grad():
        model.resize_token_embeddings(
            size, pad_to_multiple_of=config.pad_to_multiple_of, mean_resizing=False
        )
        embed = model.get_input_embeddings()
        new_total = int(embed.weight.shape[0])
        extra = new_total - rows
        generator = torch.Generator().manual_seed(config.seed)
        std = float(getattr(model.config, "initializer_range", 0.02))
        if extra:
            embed.weight[rows:] = _new_rows(old_embed, rows, extra, pieces, config, std, generator).to(
                embed.weight.dtype
            )
            if not tied:
                head = model.get_output_embeddings()
                head.weight[rows:] = _new_rows(old_head, rows, extra, pieces, config, std, generator).to(
                    head.weight.dtype
                )
        if not torch.equal(model.get_input_embeddings().weight[:rows], old_embed) or (
            old_head is not None and not torch.equal(model.get_output_embeddings().weight[:rows], old_head)
        ):
            raise InputError("base rows changed while resizing; this is a bug in tokkit")
    with atomic_dir(output, force=force, inputs=[model_dir, tokenizer_dir]) as tmp, quiet_transformers():
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer_dir.is_dir() and (tokenizer_dir / "tokenizer.json").is_file():
            for name in TOKENIZER_FILES:
                if (tokenizer_dir / name).is_file():
                    shutil.copyfile(tokenizer_dir / name, tmp / name)
        else:
            write_hf_tokenizer(extended, tmp)
        (tmp / "tokenizer.model").write_bytes(extended.SerializeToString())
        report = ResizeReport(
            output=Path(output),
            base_rows=rows,
            tokenizer_size=size,
            new_rows=new_total,
            tied=tied,
            init=config.init,
            dtype=str(old_embed.dtype).removeprefix("torch."),
            seconds=time.perf_counter() - start,
        )
        write_meta(tmp, {
            "kind": "spm",
            "recipe": "resize-embeddings",
            "model": str(model_dir),
            "tokenizer": str(tokenizer_dir),
            "resize_config": asdict(config),
            "report": report.to_dict(),
        })
    return report
