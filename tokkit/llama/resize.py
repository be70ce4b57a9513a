"""Grow a LLaMA checkpoint's input embeddings and LM head to an extended vocabulary.

Rows of base ids are copied bit for bit, so a base token on base-tokenized input gets the same
logit as before. New rows are initialised by one of:

``subword-mean`` (default)
    the mean of the base rows of the pieces the *base* tokenizer splits the new token's text
    into (``中国`` → the byte pieces of 中 and 国): the model starts out reading a new token
    roughly as it read the same text before, so loss right after resizing stays close to the
    base model's (``benchmarks/bench_extend.py`` measures it);
``mean``
    the mean of all base rows;
``multivariate``
    a sample of N(mean, 1e-9 · covariance) of the base rows, falling back to the mean when that
    covariance is not positive definite: what ``transformers``' ``resize_token_embeddings`` does by
    default (``mean_resizing=True``), seeded here;
``random``
    ``N(0, initializer_range)``, as for an untrained model: the baseline.

The LM head gets the same treatment with its own rows (a tied head is the embedding matrix).
``head_init="silent"`` then moves the new LM-head rows so that on calibration text of the base's
own domain (English) every new logit sits ``silent_margin`` nats below the base log-normaliser:
the base model's loss on such text is unchanged to float precision, which copying base rows alone
does not give (the new rows enter the softmax). See :mod:`tokkit.llama.silent_head`.
``pad_to_multiple_of`` rounds the row count up (tensor-core friendly); padding rows are never
produced by the tokenizer and get the ``mean`` (or ``random``) rows.

Two kinds of extended tokenizer are accepted: an ``extend-llama`` output (SentencePiece LLaMA,
new pieces right after the model's rows) and a ``tokkit extend`` output (byte-level: Llama 3,
Qwen, Tekken), whose new ids start after the base's last id. A byte-level model's matrix may be
padded beyond its tokenizer (Qwen 2: 151,936 rows for 151,665 tokens): new ids that fall on such
unused rows take them (they are initialised like any new row, and the report counts them), ids
beyond the matrix grow it, and the statistics of ``mean``/``multivariate`` use only the rows of
base tokens, never padding rows.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from tokkit.atomic import atomic_dir
from tokkit.errors import InputError, MissingDependencyError
from tokkit.llama.hf_export import write_hf_tokenizer
from tokkit.llama.silent_head import DEFAULT_MARGIN, final_states, silence_rows
from tokkit.llama.spm_io import ModelProto, new_model, processor, read_model
from tokkit.load import read_meta, write_meta

InitMethod = Literal["mean", "subword-mean", "multivariate", "random"]
INIT_METHODS: tuple[str, ...] = ("subword-mean", "mean", "multivariate", "random")
HeadInit = Literal["same", "silent"]
HEAD_INITS: tuple[str, ...] = ("same", "silent")
CALIBRATION_TOKENS = 256
"""Tokens of each calibration line run through the base model."""
TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "tekken.json", "new_tokens.tsv")


@dataclass(frozen=True, kw_only=True)
class ResizeConfig:
    """How new rows are made (saved in the output's ``tokkit.json``)."""

    init: InitMethod = "subword-mean"
    pad_to_multiple_of: int | None = None
    seed: int = 0
    head_init: HeadInit = "same"
    """``same``: LM-head rows get ``init`` too; ``silent``: then moved until calibration text
    (``resize_embeddings(calibration=...)``) keeps the base's loss exactly."""
    silent_margin: float = DEFAULT_MARGIN

    def __post_init__(self) -> None:
        if self.init not in INIT_METHODS:
            raise InputError(f"unknown init '{self.init}'; use one of {', '.join(INIT_METHODS)}")
        if self.head_init not in HEAD_INITS:
            raise InputError(f"unknown head_init '{self.head_init}'; use one of {', '.join(HEAD_INITS)}")
        if self.silent_margin <= 0:
            raise InputError(f"silent_margin={self.silent_margin} must be positive (nats)")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise InputError(f"`pad_to_multiple_of={self.pad_to_multiple_of}` must be a positive integer")


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
    initialised: int = 0
    """Rows given the init: one per new token (and per base id the matrix had no row for)."""
    padding_taken: int = 0
    """New tokens whose id fell on an unused (padding) row of the base matrix."""
    silent: dict[str, Any] | None = None
    """:class:`~tokkit.llama.silent_head.SilentReport` of ``head_init="silent"``."""
    calibration_skipped: int = 0
    """Calibration lines not used because the extended tokenizer gives them new tokens."""

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


@dataclass(frozen=True)
class RowPlan:
    """Which rows a resize writes: ``targets[k]`` gets the init from ``pieces[k]`` (base ids)."""

    size: int
    """Ids the extended tokenizer uses (the matrix needs at least this many rows)."""
    targets: list[int]
    pieces: list[list[int]]
    base_ids: list[int]
    """Rows of base tokens: the statistics of ``mean``/``multivariate`` come from these."""
    kind: str
    """``spm`` (extend-llama) or ``bytelevel`` (tokkit extend)."""
    padding_taken: int = 0


def _new_rows(weight: Any, base_ids: list[int], extra: int, pieces: list[list[int]], config: ResizeConfig,
              std: float, generator: Any) -> Any:
    """``extra`` rows from the base rows ``base_ids`` of ``weight``; the first ``len(pieces)``
    are real tokens (``pieces[k]``: the base ids of token ``k``), the rest padding."""
    import torch

    source = weight[torch.tensor(base_ids)].float() if len(base_ids) != len(weight) else weight.float()
    dim = source.shape[1]
    if config.init == "random":
        return torch.randn(extra, dim, generator=generator) * std
    mean = source.mean(dim=0)
    rows = mean.expand(extra, dim).clone()
    if config.init == "multivariate" and pieces:
        rows[: len(pieces)] = _multivariate(source, mean, len(pieces), generator)
    if config.init == "subword-mean":
        real = [k for k, ids in enumerate(pieces) if ids]
        if real:
            flat = torch.tensor([i for k in real for i in pieces[k]])
            owner = torch.tensor([n for n, k in enumerate(real) for _ in pieces[k]])
            sums = torch.zeros(len(real), dim).index_add_(0, owner, weight[flat].float())
            counts = torch.bincount(owner, minlength=len(real)).unsqueeze(1)
            rows[torch.tensor(real)] = sums / counts
    return rows


def _multivariate(source: Any, mean: Any, count: int, generator: Any) -> Any:
    """``transformers``' mean resizing: samples of N(mean, 1e-9 · covariance), else the mean."""
    import torch

    centered = source - mean
    covariance = centered.T @ centered / len(source)
    scaled = 1e-9 * covariance
    if not bool(torch.distributions.constraints.positive_definite.check(scaled)):
        return mean.expand(count, len(mean)).clone()
    noise = torch.randn(count, len(mean), generator=generator, dtype=torch.float64)
    factor = torch.linalg.cholesky(scaled.double())
    return (mean.double() + noise @ factor.T).float()


def _spm_plan(tokenizer_dir: Path, rows: int, config: ResizeConfig) -> tuple[RowPlan, ModelProto]:
    extended = read_model(tokenizer_dir, "`tokenizer_dir`")
    meta = read_meta(tokenizer_dir) if tokenizer_dir.is_dir() else {}
    base_pieces = meta.get("extend", {}).get("base_pieces")
    size = len(extended.pieces)
    if base_pieces is not None and int(base_pieces) != rows:
        raise InputError(
            f"vocab mismatch: {tokenizer_dir} extends a base of {base_pieces} pieces but "
            f"the model has {rows} embedding rows; extend the tokenizer this model was trained with"
        )
    if size < rows:
        raise InputError(
            f"vocab mismatch: {tokenizer_dir} has {size} pieces, fewer than the {rows} embedding rows "
            "of the model; pass the extended tokenizer dir as `tokenizer_dir`"
        )
    pieces = subword_ids(extended, rows) if config.init == "subword-mean" else [[] for _ in range(rows, size)]
    return RowPlan(size=size, targets=list(range(rows, size)), pieces=pieces, base_ids=list(range(rows)),
                   kind="spm"), extended


def is_bytelevel_extension(tokenizer_dir: Path) -> bool:
    """Is ``tokenizer_dir`` a ``tokkit extend`` output (a byte-level vocabulary)?"""
    return tokenizer_dir.is_dir() and read_meta(tokenizer_dir).get("recipe") == "extend"


def _bytelevel_plan(tokenizer_dir: Path, rows: int, config: ResizeConfig) -> RowPlan:
    from dataclasses import replace

    from tokkit.llama.bytelevel_extend import chunk_encoder
    from tokkit.llama.bytelevel_io import read_bytelevel

    meta = read_meta(tokenizer_dir)
    vocab = read_bytelevel(tokenizer_dir)
    try:
        base_next = int(meta["base"]["next_id"])
        added = int(meta["extend"]["added"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{tokenizer_dir}/tokkit.json: no base/extend record; re-run tokkit extend") from None
    regular_base = sum(1 for id in vocab.ranks.values() if id < base_next)
    if rows < regular_base:
        raise InputError(
            f"vocab mismatch: {tokenizer_dir} extends a base of {regular_base} regular tokens but the "
            f"model has {rows} embedding rows; extend the tokenizer this model was trained with"
        )
    ids = {**{id: token for token, id in vocab.ranks.items()},
           **{id: name.encode("utf-8") for name, id in vocab.special_tokens.items()}}
    size = max(ids) + 1
    base_ids = sorted(i for i in ids if i < base_next and i < rows)
    targets = sorted(i for i in ids if i >= base_next or i >= rows)
    pieces: list[list[int]] = [[] for _ in targets]
    if config.init == "subword-mean":
        base_ranks = {token: id for token, id in vocab.ranks.items() if id < base_next}
        base_merges = None if vocab.merges is None else vocab.merges[: len(vocab.merges) - added]
        base = replace(vocab, ranks=base_ranks, merges=base_merges, derived=None,
                       special_tokens={s: i for s, i in vocab.special_tokens.items() if i < base_next})
        encode = chunk_encoder(base)
        pieces = [[i for i in encode(ids[t]) if i < rows] if t in vocab.ranks.values() or t >= base_next else []
                  for t in targets]
    return RowPlan(size=size, targets=targets, pieces=pieces, base_ids=base_ids, kind="bytelevel",
                   padding_taken=sum(1 for t in targets if base_next <= t < rows))


def _calibration_ids(tokenizer_dir: Path, extended: ModelProto | None, lines: Sequence[str],
                     rows: int, new_ids: set[int]) -> tuple[list[list[int]], int]:
    """Token ids (BOS first) of each calibration line the base model can read, and how many
    lines were skipped because the extended tokenizer gives them a new token."""
    if (tokenizer_dir / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        tokenizer.encode_special_tokens = True  # text spelling a special token is text
        encoded = [e.ids for e in tokenizer.encode_batch([line for line in lines if line.strip()])]
    elif extended is not None:
        sp = processor(extended)
        bos = [extended.trainer_spec.bos_id] if extended.trainer_spec.bos_id >= 0 else []
        encoded = [bos + list(ids) for ids in sp.encode([line for line in lines if line.strip()])]
    else:
        raise InputError(f"{tokenizer_dir}: no tokenizer.json to encode the calibration text with")
    usable = [ids[: CALIBRATION_TOKENS + 1] for ids in encoded
              if ids and max(ids) < rows and new_ids.isdisjoint(ids)]
    return usable, len(encoded) - len(usable)


def resize_embeddings(
    model_dir: str | Path,
    tokenizer_dir: str | Path,
    output: str | Path,
    *,
    config: ResizeConfig | None = None,
    calibration: Sequence[str] = (),
    force: bool = False,
) -> ResizeReport:
    """Resize the checkpoint at ``model_dir`` to the vocabulary of ``tokenizer_dir``; write ``output``.

    ``tokenizer_dir`` is an ``extend-llama`` output (or any dir with a ``tokenizer.model`` whose
    first pieces are the model's vocabulary) or a ``tokkit extend`` output (byte-level). The
    output holds config + safetensors and a copy of the tokenizer files, so
    ``AutoModelForCausalLM`` and ``AutoTokenizer`` both load it. ``calibration``: lines of the
    base's own domain (English), for ``config.head_init == "silent"``.
    """
    config = config or ResizeConfig()
    if config.head_init == "silent" and not calibration:
        raise InputError("head_init='silent' needs calibration text (lines of the base model's own domain, "
                         "e.g. English): pass calibration=[...]")
    start = time.perf_counter()
    model_dir, tokenizer_dir = Path(model_dir), Path(tokenizer_dir)
    if not (model_dir / "config.json").is_file():
        raise InputError(f"{model_dir}: no config.json; pass `model_dir` a transformers checkpoint dir")
    bytelevel = is_bytelevel_extension(tokenizer_dir)
    extended = None if bytelevel else read_model(tokenizer_dir, "`tokenizer_dir`")
    torch = _import_torch()
    from transformers import AutoConfig, AutoModelForCausalLM

    with quiet_transformers():
        try:
            model_config = AutoConfig.from_pretrained(model_dir)
        except Exception as err:
            raise InputError(f"{model_dir}/config.json: not a transformers config ({err})") from None
        rows = int(model_config.vocab_size)
        if bytelevel:
            plan = _bytelevel_plan(tokenizer_dir, rows, config)
        else:
            plan, extended = _spm_plan(tokenizer_dir, rows, config)
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
    silent_states = None
    skipped = 0
    if config.head_init == "silent":
        sequences, skipped = _calibration_ids(tokenizer_dir, extended, calibration, rows, set(plan.targets))
        silent_states = final_states(model, sequences)
    silent_report = None
    keep = sorted(set(range(rows)) - set(plan.targets))  # base rows, and padding rows nobody takes
    with quiet_transformers(), torch.no_grad():
        model.resize_token_embeddings(
            max(rows, plan.size), pad_to_multiple_of=config.pad_to_multiple_of, mean_resizing=False
        )
        embed = model.get_input_embeddings()
        new_total = int(embed.weight.shape[0])
        padding = list(range(max(rows, plan.size), new_total))
        targets = torch.tensor(plan.targets + padding, dtype=torch.long)
        generator = torch.Generator().manual_seed(config.seed)
        std = float(getattr(model.config, "initializer_range", 0.02))
        if len(targets):
            fresh = _new_rows(old_embed, plan.base_ids, len(targets), plan.pieces, config, std, generator)
            if tied and silent_states is not None:  # the head is the embedding: it moves the inputs too
                fresh, silent_report = silence_rows(fresh, *silent_states, margin=config.silent_margin)
            embed.weight[targets] = fresh.to(embed.weight.dtype)
            if not tied:
                head = model.get_output_embeddings()
                fresh = _new_rows(old_head, plan.base_ids, len(targets), plan.pieces, config, std, generator)
                if silent_states is not None:
                    fresh, silent_report = silence_rows(fresh, *silent_states, margin=config.silent_margin)
                head.weight[targets] = fresh.to(head.weight.dtype)
        kept = torch.tensor(keep, dtype=torch.long)
        if not torch.equal(model.get_input_embeddings().weight[kept], old_embed[kept]) or (
            old_head is not None and not torch.equal(model.get_output_embeddings().weight[kept], old_head[kept])
        ):
            raise InputError("base rows changed while resizing; this is a bug in tokkit")
    with atomic_dir(output, force=force, inputs=[model_dir, tokenizer_dir]) as tmp, quiet_transformers():
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer_dir.is_dir() and (tokenizer_dir / "tokenizer.json").is_file():
            for name in TOKENIZER_FILES:
                if (tokenizer_dir / name).is_file():
                    shutil.copyfile(tokenizer_dir / name, tmp / name)
        elif extended is not None:
            write_hf_tokenizer(extended, tmp)
        if extended is not None:
            (tmp / "tokenizer.model").write_bytes(extended.SerializeToString())
        report = ResizeReport(
            output=Path(output),
            base_rows=rows,
            tokenizer_size=plan.size,
            new_rows=new_total,
            tied=tied,
            init=config.init,
            dtype=str(old_embed.dtype).removeprefix("torch."),
            seconds=time.perf_counter() - start,
            initialised=len(plan.targets),
            padding_taken=plan.padding_taken,
            silent=None if silent_report is None else silent_report.to_dict(),
            calibration_skipped=skipped,
        )
        meta = read_meta(tokenizer_dir) if bytelevel else {}
        write_meta(tmp, {
            "kind": "hf" if bytelevel else "spm",
            "recipe": "resize-embeddings",
            "model": str(model_dir),
            "tokenizer": str(tokenizer_dir),
            "resize_config": asdict(config),
            "report": report.to_dict(),
            **({"base": meta.get("base"), "extend": meta.get("extend")} if bytelevel else {}),
        })
    return report
