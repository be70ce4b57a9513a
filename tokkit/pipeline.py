"""The whole job end to end: corpus → dedup → tokenizer → extended LLaMA → shards → a few CPT steps.

Every stage is one :class:`Stage` (a name, an output folder, typed settings, ``run``) in
:data:`STAGE_LIST`; the runner gives each a :class:`Context` and its numbered folder of the run dir
(default ``runs/pipeline/``), which the stage writes atomically with one library call, so the run can
be inspected stage by stage and an interrupted run resumes at the first unfinished stage (same
config). ``report.md`` and ``report.json`` at the end gather each stage's figures.

=========  ==========================================================================  ============
stage      what                                                                        output
=========  ==========================================================================  ============
sample     the first ``sample_mb`` MB of every corpus, spread over its files             00-sample/
dedup      exact + MinHash near-duplicate removal (paragraphs: catches licence text)   01-dedup/
train      byte-level BPE from scratch on the deduplicated corpus                     02-bpe/
extend     a Chinese sentencepiece model merged into LLaMA's tokenizer                03-extend/
analyze    LLaMA vs extended vs our BPE on the held-out text (tokens, bytes/token)    04-analyze/
model      a tiny random LLaMA with LLaMA's 32,000-row vocabulary (no download)        05-model/
resize     its embeddings and LM head grown to the extended vocabulary                06-resized/
shard      the deduplicated corpus tokenized with the extended tokenizer, packed       07-shards/
cpt        a few stage-1 steps (embeddings + LM head) on the shards                   08-cpt/
=========  ==========================================================================  ============

Analyze runs after extend (the issue lists it before) so it can compare all three tokenizers. The
Chinese model trains on the corpora ``[extend] chinese`` names (default ``zh``); held-out files are
sorted by the language their name starts with (``zh_zizhitongjian.txt``).
The LLaMA tokenizer is needed as the base (its licence forbids shipping it): ``llama_tokenizer``
in the config, else ``$TOKKIT_LLAMA_TOKENIZER``, else ``../shared/fixtures/llama/tokenizer.model``
beside the project.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from tokkit.atomic import (
    check_apart,
    check_output_dir,
    mark_output,
    output_lock,
    remove_output,
    write_text_atomic,
)
from tokkit.errors import InputError, MissingDependencyError, OutputExistsError
from tokkit.progress import NULL_PROGRESS
from tokkit.settings import type_problems
from tokkit.types import Progress

CONFIG_FILE = "pipeline.json"


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """The run, as read from ``CONFIG.toml`` (every key optional; docs/cpt.md has an example).

    ``corpora`` are catalog names (``en``, ``zh``) or paths; ``sample_mb`` caps each corpus (0 =
    all of it); ``heldout`` is a catalog name or paths for analysis; one table per stage passes
    its keys to that stage's own config (:class:`~tokkit.dedup.config.DedupConfig`,
    :class:`~tokkit.train.config.BPEConfig`, :class:`~tokkit.shards.ShardConfig`,
    :class:`~tokkit.cpt.CPTConfig`, …).
    """

    run_dir: str = "runs/pipeline"
    corpora: tuple[str, ...] = ("en", "zh")
    sample_mb: float = 3.0
    heldout: tuple[str, ...] = ("heldout",)
    llama_tokenizer: str = ""
    dedup: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    extend: Mapping[str, Any] = field(default_factory=dict)
    analyze: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] = field(default_factory=dict)
    resize: Mapping[str, Any] = field(default_factory=dict)
    shard: Mapping[str, Any] = field(default_factory=dict)
    cpt: Mapping[str, Any] = field(default_factory=dict)

    def stage(self, name: str) -> dict[str, Any]:
        """A built-in stage's settings: its defaults overridden by the config's table."""
        return {**DEFAULTS.get(name, {}), **dict(getattr(self, name))}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in DEFAULTS:
            data[name] = self.stage(name)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> PipelineConfig:
        """The config of ``data`` (a parsed TOML), checked whole first: every bad key is one line
        of the :class:`InputError`, naming the key and the type it needs."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        from tokkit.settings import conforms

        problems = type_problems({k: v for k, v in data.items() if k in TOP_LEVEL_TYPES}, TOP_LEVEL_TYPES)
        problems += [f"{name} must be a table of settings (a [{name}] section)"
                     for name in DEFAULTS if name in data and not isinstance(data[name], Mapping)]
        values = {k: v for k, v in data.items()  # the good keys, so the tables are checked too
                  if (conforms(v, TOP_LEVEL_TYPES[k]) if k in TOP_LEVEL_TYPES else isinstance(v, Mapping))}
        for key in ("corpora", "heldout"):
            if key in values:
                raw = values[key]
                values[key] = (raw,) if isinstance(raw, str) else tuple(raw)
        config = cls(**values)
        problems += config_problems(config)
        if problems:
            raise InputError("\n".join(f"{source}: {p}" for p in problems))
        return config

    @classmethod
    def load(cls, path: str | Path) -> PipelineConfig:
        path = Path(path)
        try:
            import tomllib
        except ImportError:  # Python 3.10: tomli is a dependency there
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such config file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{path}: not valid TOML ({err})") from None
        return cls.from_dict(data, source=str(path))


@dataclass
class StageResult:
    name: str
    output: str
    seconds: float
    figures: dict[str, Any]
    reused: bool = False


@dataclass
class PipelineResult:
    run_dir: Path
    stages: list[StageResult]
    seconds: float
    report: Path


# ---------------------------------------------------------------------------- helpers


def find_llama_tokenizer(configured: str = "") -> Path:
    """The LLaMA base tokenizer: the config's, ``$TOKKIT_LLAMA_TOKENIZER``, else
    ``fixtures/llama/tokenizer.model`` in ``$TOKKIT_SHARED``, beside the corpus mirror
    (``$TOKKIT_CORPUS_MIRROR/..``) or in ``../shared`` beside the project."""
    from tokkit.corpus.catalog import project_root

    candidates = [configured] if configured else []
    if os.environ.get("TOKKIT_LLAMA_TOKENIZER"):
        candidates.append(os.environ["TOKKIT_LLAMA_TOKENIZER"])
    fixture = Path("fixtures") / "llama" / "tokenizer.model"
    if os.environ.get("TOKKIT_SHARED"):
        candidates.append(str(Path(os.environ["TOKKIT_SHARED"]) / fixture))
    from tokkit.corpus.catalog import mirror_candidates

    candidates += [str(mirror.parent / fixture) for mirror, _ in mirror_candidates()]
    root = project_root() or Path.cwd()
    candidates.append(str(root.parent / "shared" / fixture))
    for candidate in candidates:
        path = Path(candidate)
        if path.is_dir():
            path = path / "tokenizer.model"
        if path.is_file():
            return path
        if configured and candidate == configured:
            raise InputError(f"llama_tokenizer = {configured!r}: no such file; point it at LLaMA's tokenizer.model")
    raise InputError(
        "LLaMA's tokenizer.model is needed as the base to extend; set llama_tokenizer in the config "
        "or TOKKIT_LLAMA_TOKENIZER to its path"
    )


def resolve_corpus(spec: str, progress: Progress) -> Path:
    """A catalog name (``en``) or a path."""
    path = Path(spec)
    if path.exists():
        return path
    from tokkit.corpus.catalog import get_corpus

    return get_corpus(spec, progress=progress)


def sample_corpus(sources: Mapping[str, Path], output: Path, *, max_mb: float) -> dict[str, Any]:
    """Copy the first ``max_mb`` MB of each corpus (split evenly over its files, cut at a line;
    compressed and parquet files whole, a cut one would be corrupt)."""
    from tokkit.atomic import atomic_dir
    from tokkit.corpus.readers import iter_files

    figures: dict[str, Any] = {}
    with atomic_dir(output, force=True) as tmp:
        for name, source in sources.items():
            files = list(iter_files([source]))
            budget = int(max_mb * 1e6 / max(1, len(files))) if max_mb else None
            total = 0
            for path in files:
                target = tmp / name / (path.relative_to(source) if source.is_dir() else path.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                if budget is None or not _cuttable(path):
                    shutil.copyfile(path, target)
                    total += target.stat().st_size
                    continue
                with open(path, "rb") as src:
                    data = src.read(budget)
                    rest = src.read(1)
                if rest and b"\n" in data:
                    data = data[: data.rindex(b"\n") + 1]
                target.write_bytes(data)
                total += len(data)
            figures[name] = {"files": len(files), "bytes": total}
    return figures


def _cuttable(path: Path) -> bool:
    """Whether the first bytes of ``path`` are a readable file too: not for compressed files or
    parquet (a cut gzip stream is corrupt), which the sample takes whole."""
    from tokkit.corpus.formats import file_format, format_for

    fmt = format_for(path)
    return file_format(path)[1] is None and not (fmt is not None and fmt.binary)


def original_paths(message: str, ctx: Context) -> str:
    """``message`` with the sample stage's copies named as the files they were copied from.

    A sample is a prefix of its file (:func:`sample_corpus`), so byte offsets in it are the
    file's; an error about ``00-sample/<corpus>/<file>`` is an error about ``<file>``, one about
    ``00-sample`` one about the corpora."""
    sample = ctx.output("sample")
    for name, source in ctx.corpora.items():
        copy = sample / name if source.is_dir() else sample / name / source.name
        message = message.replace(str(copy), str(source))
    return message.replace(str(sample), ", ".join(map(str, ctx.corpora.values())))  # the whole sample


def kept_files(dedup_dir: Path, corpus: str | None = None) -> list[Path]:
    """The corpus files a dedup run wrote (its dir also holds manifest.json and removed.jsonl)."""
    manifest = json.loads((dedup_dir / "manifest.json").read_text(encoding="utf-8"))
    outputs = [str(row["output"]) for row in manifest["files"]]
    if corpus is not None:
        outputs = [o for o in outputs if Path(o).parts[0] == corpus]
    return [dedup_dir / o for o in outputs if (dedup_dir / o).is_file()]


# ---------------------------------------------------------------------------- the stage contract


@dataclass
class Context:
    """What a stage is given: the run's config and inputs, and every stage's output folder."""

    config: PipelineConfig
    llama: Path
    corpora: dict[str, Path]
    heldout: list[Path]
    run_dir: Path
    folders: dict[str, Path]
    progress: Progress = NULL_PROGRESS

    def output(self, stage: str) -> Path:
        """The output folder of ``stage`` (an earlier stage's, to read what it wrote)."""
        return self.folders[stage]

    def settings(self, stage: Stage) -> dict[str, Any]:
        """``stage``'s settings: its defaults overridden by the config's table of its name."""
        return {**stage.defaults, **dict(getattr(self.config, stage.name, None) or {})}


class Stage:
    """One step of the pipeline: a name, an output folder, typed settings and ``run``.

    ``run(ctx, output)`` writes ``output`` (atomically: a library call with ``force=True``) and
    returns the figures the run record (``stages/<name>.json``) and the report keep. The runner
    decides the rest once for every stage: a recorded stage of the same run is reused, an
    unrecorded output is removed and redone (``resumes``: continued instead, as cpt does from its
    checkpoint). ``config_class`` names (``module:Class``) the library config its ``[name]`` table
    goes to, type-checked and ``check()``-ed before anything runs (``None``: only the ``types``
    listed); ``fixed`` are that class's fields the pipeline sets itself (placeholders for the
    check); ``types`` adds table keys of its own.
    """

    name: ClassVar[str]
    folder: ClassVar[str]
    config_class: ClassVar[str | None] = None
    defaults: ClassVar[Mapping[str, Any]] = {}
    fixed: ClassVar[Mapping[str, Any]] = {}
    types: ClassVar[Mapping[str, Any]] = {}
    resumes: ClassVar[bool] = False

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        raise NotImplementedError

    def summary(self, figures: dict[str, Any]) -> str:
        """One line of the most telling figures (the ✓ line and report.md)."""
        return ""

    def settings_class(self) -> type | None:
        """The class ``config_class`` names, imported now (``import tokkit.pipeline`` stays light)."""
        if self.config_class is None:
            return None
        module, _, name = self.config_class.partition(":")
        return getattr(importlib.import_module(module), name)

    def table_types(self) -> dict[str, Any]:
        """Every key of the stage's table and the type its value needs."""
        from tokkit.settings import field_types

        cls = self.settings_class()
        own = field_types(cls) if cls is not None else {}
        return {**{k: v for k, v in own.items() if k not in self.fixed}, **self.types}

    def check(self, settings: Mapping[str, Any]) -> None:
        """The settings class's own value checks (ranges, combinations): an :class:`InputError`."""
        if self.config_class is not None:
            made = self.config(settings, **self.fixed)
            check = getattr(made, "check", None) or getattr(made, "validate", None)
            if check is not None:
                check()

    def config(self, settings: Mapping[str, Any], **given: Any) -> Any:
        """The settings class made from the table's keys (not ``types``' own) and ``given`` (the
        ``fixed`` fields' real values), as the stage passes it to the library."""
        cls = self.settings_class()
        assert cls is not None
        known = {f.name for f in fields(cls)} - set(self.fixed)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items() if k in known},
                   **given)


def by_language(files: list[Path], languages: tuple[str, ...] = ("zh", "en")) -> dict[str, list[Path]]:
    """Held-out files by language, as the held-out corpus names them: ``<language>_<title>.txt``
    (``zh_zizhitongjian.txt``); languages without a file are left out."""
    named = {lang: [p for p in files if p.name.split("_", 1)[0] == lang] for lang in languages}
    return {lang: paths for lang, paths in named.items() if paths}


# ---------------------------------------------------------------------------- the stages


class SampleStage(Stage):
    """The first ``sample_mb`` MB of every corpus (the top-level setting), spread over its files."""

    name, folder = "sample", "00-sample"

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        return sample_corpus(ctx.corpora, output, max_mb=ctx.config.sample_mb)

    def summary(self, figures: dict[str, Any]) -> str:
        return "; ".join(f"{k}: {v['bytes'] / 1e6:,.1f} MB in {v['files']} files" for k, v in figures.items())


class DedupStage(Stage):
    """Exact + MinHash near-duplicate removal (paragraphs: catches licence text)."""

    name, folder = "dedup", "01-dedup"
    defaults: ClassVar[Mapping[str, Any]] = {"granularity": "paragraph", "threshold": 0.8}

    config_class = "tokkit.dedup.config:DedupConfig"

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.dedup.pipeline import dedup_corpus

        try:
            report = dedup_corpus([ctx.output("sample")], output, config=self.config(ctx.settings(self)),
                                  force=True, progress=ctx.progress)
        except InputError as err:  # about a sample copy: name the user's file (offsets are the same)
            raise InputError(original_paths(str(err), ctx)) from None
        used = report.manifest.get("config", {})
        return {"counts": report.counts, "bytes": report.manifest.get("bytes", {}),
                "granularity": used.get("granularity", "document"), "near_min_words": used.get("near_min_words")}

    def summary(self, figures: dict[str, Any]) -> str:
        from tokkit.dedup.summary import summary_line

        return summary_line(figures.get("counts", {}), granularity=figures.get("granularity", "document"),
                            near_min_words=figures.get("near_min_words"))


class TrainStage(Stage):
    """Byte-level BPE from scratch on the deduplicated corpus."""

    name, folder = "train", "02-bpe"
    defaults: ClassVar[Mapping[str, Any]] = {"vocab_size": 8000, "special_tokens": ["<|endoftext|>"]}

    config_class = "tokkit.train.config:BPEConfig"

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.corpus.readers import ReadOptions
        from tokkit.load import make_trainer
        from tokkit.train.run import train_to_dir

        bpe = self.config(ctx.settings(self))
        bpe.check()
        report = train_to_dir(make_trainer("bpe", "scratch", bpe), corpus=list(kept_files(ctx.output("dedup"))),
                              output=output, algorithm="bpe", backend="scratch", config=bpe.to_dict(),
                              read_options=ReadOptions(split="line"), force=True, progress=ctx.progress)
        return {"vocab_size": report.vocab_size, "documents": report.documents, "corpus_bytes": report.corpus_bytes,
                "heldout_bytes_per_token": report.bytes_per_token, "heldout_chars_per_token": report.chars_per_token}

    def summary(self, figures: dict[str, Any]) -> str:
        return f"vocab {_fmt(figures['vocab_size'])}, held-out bytes/token {_fmt(figures['heldout_bytes_per_token'])}"


class ExtendStage(Stage):
    """A Chinese sentencepiece model merged into LLaMA's tokenizer.

    The Chinese model trains on the deduplicated corpora named in ``chinese`` (default: ``zh``; all
    of them when none is); ``zh_vocab`` and the other ``zh_*`` keys configure it
    (:class:`~tokkit.llama.zh_model.ZhModelConfig`), the rest is :class:`~tokkit.llama.extend.ExtendConfig`.
    """

    name, folder = "extend", "03-extend"
    defaults: ClassVar[Mapping[str, Any]] = {"zh_vocab": 8000}

    config_class = "tokkit.llama.extend:ExtendConfig"

    @property
    def types(self) -> dict[str, Any]:  # type: ignore[override]  # ZhModelConfig's fields, imported late
        from tokkit.llama.zh_model import ZhModelConfig
        from tokkit.settings import field_types

        zh = {f"zh_{k}": v for k, v in field_types(ZhModelConfig).items() if k != "vocab_size"}
        return {"zh_vocab": int, **zh, "chinese": str | tuple[str, ...]}

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.corpus.readers import iter_files
        from tokkit.llama.recipe import extend_llama
        from tokkit.llama.zh_model import ZhModelConfig

        settings = ctx.settings(self)
        zh_vocab = int(settings.pop("zh_vocab", 8000))
        chinese = settings.pop("chinese", ("zh",))
        chinese = (chinese,) if isinstance(chinese, str) else tuple(chinese)
        zh_settings = {k.removeprefix("zh_"): settings.pop(k) for k in list(settings) if k.startswith("zh_")}
        dedup = ctx.output("dedup")
        zh = [f for name in ctx.corpora if name in chinese for f in kept_files(dedup, name)]
        run = extend_llama(ctx.llama, output, zh_corpus=zh or kept_files(dedup),
                           zh_config=ZhModelConfig(vocab_size=zh_vocab, **zh_settings),
                           config=self.config(settings), heldout=by_language(list(iter_files(ctx.heldout))),
                           force=True, progress=ctx.progress)
        summary = run.result.summary()
        return {
            "base_pieces": summary["base_pieces"], "vocab_size": summary["vocab_size"], "appended": summary["appended"],
            "comparisons": [
                {"name": c.name, "tokens_before": c.tokens_before, "tokens_after": c.tokens_after,
                 "reduction": round(1 - c.tokens_after / c.tokens_before, 4) if c.tokens_before else None}
                for c in run.comparisons
            ],
        }

    def summary(self, figures: dict[str, Any]) -> str:
        parts = [f"{_fmt(figures['base_pieces'])} → {_fmt(figures['vocab_size'])} pieces"]
        parts += [f"{c['name']}: {_fmt(c['tokens_before'])} → {_fmt(c['tokens_after'])} tokens"
                  for c in figures["comparisons"]]
        return "; ".join(parts)


class AnalyzeStage(Stage):
    """LLaMA vs extended vs our BPE on the held-out text (tokens, bytes/token), ``max_mb`` of each."""

    name, folder = "analyze", "04-analyze"
    defaults: ClassVar[Mapping[str, Any]] = {"max_mb": 0.5}
    types: ClassVar[Mapping[str, Any]] = {"max_mb": float}

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.analyze.compression import AnalyzeConfig, analyze
        from tokkit.analyze.report import write_json, write_markdown
        from tokkit.atomic import atomic_dir
        from tokkit.corpus.readers import iter_files

        max_mb = float(ctx.settings(self).get("max_mb", 1.0))
        files = list(iter_files(ctx.heldout))
        corpora = by_language(files) or {"heldout": files}
        tokenizers = [ctx.llama, ctx.output("extend"), ctx.output("train")]
        report = analyze([str(t) for t in tokenizers], corpora,
                         config=AnalyzeConfig(max_bytes=int(max_mb * 1e6) if max_mb else None), progress=ctx.progress)
        with atomic_dir(output, force=True) as tmp:
            write_json(report, tmp / "report.json")
            write_markdown(report, tmp / "report.md")
        rows = []
        for r in report.results:
            if r.file is None:
                rows.append({"tokenizer": r.tokenizer, "corpus": r.corpus, "tokens": r.figures.get("tokens"),
                             "bytes_per_token": r.figures.get("bytes_per_token"),
                             "tokens_per_han_char": r.figures.get("tokens_per_han_char")})
        return {"results": rows}

    def summary(self, figures: dict[str, Any]) -> str:
        return "; ".join(f"{r['tokenizer']}/{r['corpus']} {_fmt(r['bytes_per_token'])} B/tok"
                         for r in figures["results"])


class ModelStage(Stage):
    """A tiny random LLaMA with LLaMA's 32,000-row vocabulary (no download)."""

    name, folder = "model", "05-model"
    defaults: ClassVar[Mapping[str, Any]] = {"hidden_size": 64, "num_layers": 2, "seed": 0}
    types: ClassVar[Mapping[str, Any]] = {"hidden_size": int, "num_layers": int, "seed": int, "tie": bool, "num_heads": int}

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.llama.tiny import build_tiny_llama
        from tokkit.load import load_tokenizer

        settings = ctx.settings(self)
        vocab = load_tokenizer(ctx.llama).vocab_size
        seq_len = int(ctx.config.stage("shard").get("seq_len", 128))
        build_tiny_llama(output, vocab_size=vocab, max_position_embeddings=max(seq_len, 64), force=True,
                         **{k: v for k, v in settings.items() if k in self.types})
        return {"vocab_size": vocab, **settings}

    def summary(self, figures: dict[str, Any]) -> str:
        return f"vocab {_fmt(figures['vocab_size'])}, hidden {figures.get('hidden_size')}, {figures.get('num_layers')} layers"


class ResizeStage(Stage):
    """The tiny model's embeddings and LM head grown to the extended vocabulary."""

    name, folder = "resize", "06-resized"
    defaults: ClassVar[Mapping[str, Any]] = {"init": "subword-mean"}

    config_class = "tokkit.llama.resize:ResizeConfig"

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.llama.resize import resize_embeddings

        report = resize_embeddings(ctx.output("model"), ctx.output("extend"), output,
                                   config=self.config(ctx.settings(self)), force=True)
        return report.to_dict()

    def summary(self, figures: dict[str, Any]) -> str:
        return f"{_fmt(figures['base_rows'])} → {_fmt(figures['new_rows'])} rows ({figures['init']})"


class ShardStage(Stage):
    """The deduplicated corpus tokenized with the extended tokenizer (from the resized model), packed."""

    name, folder = "shard", "07-shards"
    defaults: ClassVar[Mapping[str, Any]] = {"seq_len": 128, "val_fraction": 0.02, "workers": 0}

    config_class = "tokkit.shards.writer:ShardConfig"

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.corpus.readers import ReadOptions
        from tokkit.shards import write_shards

        manifest = write_shards(list(kept_files(ctx.output("dedup"))), ctx.output("resize"), output,
                                config=self.config(ctx.settings(self)), read_options=ReadOptions(split="line"),
                                force=True, progress=ctx.progress)
        return {
            "dtype": manifest.dtype, "seq_len": manifest.seq_len, "vocab_size": manifest.tokenizer.vocab_size,
            **{f"{name}_{key}": getattr(split, key) for name, split in manifest.splits.items()
               for key in ("documents", "tokens", "sequences")},
        }

    def summary(self, figures: dict[str, Any]) -> str:
        return (f"train {_fmt(figures['train_tokens'])} tokens / {_fmt(figures['train_sequences'])} sequences, "
                f"val {_fmt(figures['val_sequences'])} sequences × {figures['seq_len']} ({figures['dtype']})")


class CptStage(Stage):
    """A few stage-1 steps (embeddings + LM head) on the shards; an interrupted run continues from
    its checkpoint."""

    name, folder = "cpt", "08-cpt"
    defaults: ClassVar[Mapping[str, Any]] = {"train": "embeddings", "steps": 20, "batch_tokens": 1024, "micro_batch": 8, "lr": 3e-3,
                "warmup_steps": 2, "eval_every": 10, "eval_sequences": 16, "save_every": 10, "log_every": 1,
                "threads": 1}
    fixed: ClassVar[Mapping[str, Any]] = {"model": "model", "shards": "shards", "output": "output"}
    resumes = True

    config_class = "tokkit.cpt.config:CPTConfig"

    def run(self, ctx: Context, output: Path) -> dict[str, Any]:
        from tokkit.cpt import run_cpt
        from tokkit.cpt.checkpoint import checkpoint_dirs

        config = self.config(ctx.settings(self), model=str(ctx.output("resize")), shards=str(ctx.output("shard")),
                             output=str(output))
        # an interrupted run continues from its checkpoint; with none there is nothing to say
        result = run_cpt(config, resume=bool(checkpoint_dirs(output)), force=True, progress=ctx.progress)
        vals = sorted(result.val_losses.items())
        return {
            "steps": result.steps, "tokens": result.tokens, "tokens_per_second": round(result.tokens_per_second, 1),
            "train_loss": round(result.train_loss, 4), "val_loss_first": vals[0][1] if vals else None,
            "val_loss_last": vals[-1][1] if vals else None, "trainable_parameters": result.trainable_parameters,
            "total_parameters": result.total_parameters, "final": str(result.final_dir),
        }

    def summary(self, figures: dict[str, Any]) -> str:
        return (f"{figures['steps']} steps, val loss {_fmt(figures['val_loss_first'])} → "
                f"{_fmt(figures['val_loss_last'])}, {_fmt(figures['tokens_per_second'])} tokens/s")


STAGE_LIST: tuple[Stage, ...] = (SampleStage(), DedupStage(), TrainStage(), ExtendStage(), AnalyzeStage(),
                                 ModelStage(), ResizeStage(), ShardStage(), CptStage())
"""The stages in run order: a new stage is its class above and its place here."""
STAGES = tuple(s.name for s in STAGE_LIST)
STAGE_DIRS = {s.name: s.folder for s in STAGE_LIST}
DEFAULTS: dict[str, dict[str, Any]] = {s.name: dict(s.defaults) for s in STAGE_LIST if s.defaults}


TOP_LEVEL_TYPES: dict[str, Any] = {"run_dir": str, "corpora": str | tuple[str, ...], "sample_mb": float,
                                   "heldout": str | tuple[str, ...], "llama_tokenizer": str}


def config_problems(config: PipelineConfig, stages: Sequence[Stage] | None = None) -> list[str]:
    """Every bad setting of ``config``, one line each: a wrong type, an unknown key, a bad value."""
    problems = type_problems({f.name: getattr(config, f.name) for f in fields(config)
                              if f.name in TOP_LEVEL_TYPES}, TOP_LEVEL_TYPES)
    if isinstance(config.sample_mb, (int, float)) and not problems and config.sample_mb < 0:
        problems.append(f"sample_mb = {config.sample_mb}: must be >= 0 (0 = the whole corpus)")
    tables = [s for s in (STAGE_LIST if stages is None else stages) if s.table_types()]
    for stage in sorted(tables, key=lambda s: s.config_class is None):  # config classes' tables first
        hints = stage.table_types()
        settings = {**stage.defaults, **dict(getattr(config, stage.name, None) or {})}
        unknown = sorted(set(settings) - set(hints))
        if unknown:
            problems.append(f"{stage.name} settings: unknown {', '.join(unknown)}; known: {', '.join(sorted(hints))}")
        bad = type_problems(settings, hints, where=f"[{stage.name}]")
        problems += bad
        if unknown or bad:
            continue
        try:  # the stage's own value checks (ranges, combinations), before anything runs
            stage.check(settings)
        except InputError as err:  # said in arguments (`lora_r=4`); the TOML spells it lora_r = 4
            problems.append(f"[{stage.name}] " + _as_toml(str(err)))
    return problems


def _as_toml(message: str) -> str:
    """A library message's argument references (```lora_r=4```, ```train='x'```) as TOML settings."""
    def setting(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        if value is None:
            return name
        if value[:1] in "'\"":
            value = json.dumps(value[1:-1])
        return f"{name} = {value}"

    return re.sub(r"`([a-z_][a-z0-9_.]*)(?:=([^`]+))?`", setting, message)


def check_settings(config: PipelineConfig, stages: Sequence[Stage] | None = None) -> None:
    """Refuse a misspelt setting, a value of the wrong type or a missing ``cpt`` extra before the
    first stage runs (and before the run dir exists), not minutes in."""
    import importlib.util

    for package in ("torch", "transformers", "safetensors"):
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, "cpt")
    problems = config_problems(config, stages)
    if problems:
        raise InputError("\n".join(problems))


def run_pipeline(
    config: PipelineConfig | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
    stages: Sequence[Stage] | None = None,
) -> PipelineResult:
    """Run every stage in order (see the module doc; ``stages``: another list than
    :data:`STAGE_LIST`); reuse the finished stages of the same run."""
    config = config or PipelineConfig()
    progress = progress or NULL_PROGRESS
    stages = STAGE_LIST if stages is None else tuple(stages)
    check_settings(config, stages)
    llama = find_llama_tokenizer(config.llama_tokenizer)
    with output_lock(config.run_dir):  # a second run into the same run dir stops here
        return _run_locked(config, llama, stages, force=force, progress=progress, on_stage=on_stage)


def read_state(path: Path) -> Any:
    """A state file's JSON, or None if it is missing; one line (no traceback) if it is unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: unreadable ({err}); pass `force=True` to start the run over "
                         "or choose another run dir") from None


def _read_record(path: Path) -> dict[str, Any] | None:
    """A finished stage's record, or None: missing, empty or truncated means "not done"."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("seconds"), (int, float)) and "figures" in data
    return data if ok else None


def open_run_dir(run_dir: Path, settings: dict[str, Any], *, force: bool, inputs: list[Path]) -> None:
    """Make ``run_dir`` ready: new, or the same config's run to resume, or (``force``) an old run to
    replace -- never a folder tokkit did not write, and never one holding an input."""
    check_apart(run_dir, inputs)
    saved = run_dir / CONFIG_FILE
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir}: exists and is not a directory; choose another run dir")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if force:
            check_output_dir(run_dir, force=True)  # NotTokkitOutputError for a plain folder
            remove_output(run_dir)
        else:
            previous = read_state(saved)
            if previous is None:
                raise OutputExistsError(str(run_dir))
            if previous != json.loads(json.dumps(settings)):
                raise InputError(f"{run_dir}: holds a pipeline run with another config; pass `force=True` to start "
                                 "over or choose another run dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    mark_output(run_dir)
    write_text_atomic(saved, json.dumps(settings, indent=2) + "\n")


def _run_locked(config: PipelineConfig, llama: Path, stages: Sequence[Stage], *, force: bool,
                progress: Progress, on_stage: Callable[[StageResult], None] | None) -> PipelineResult:
    run_dir = Path(config.run_dir)
    corpora = {Path(spec).name if Path(spec).exists() else spec: resolve_corpus(spec, progress)
               for spec in config.corpora}
    heldout = [resolve_corpus(spec, progress) for spec in config.heldout]
    open_run_dir(run_dir, config.to_dict(), force=force, inputs=[*corpora.values(), *heldout, llama])
    ctx = Context(config=config, llama=llama, corpora=corpora, heldout=heldout, run_dir=run_dir,
                  folders={s.name: run_dir / s.folder for s in stages}, progress=progress)
    records = run_dir / "stages"
    records.mkdir(exist_ok=True)
    results: list[StageResult] = []
    began = time.perf_counter()
    for stage in stages:
        result = _run_stage(stage, ctx, records / f"{stage.name}.json")
        results.append(result)
        if on_stage is not None:
            on_stage(result)
    seconds = time.perf_counter() - began
    report = _write_report(run_dir, config, results, seconds, stages)
    return PipelineResult(run_dir=run_dir, stages=results, seconds=seconds, report=report)


def _run_stage(stage: Stage, ctx: Context, record: Path) -> StageResult:
    """A recorded stage's figures again, or the stage run and recorded."""
    target = ctx.output(stage.name)
    data = _read_record(record) if target.exists() else None
    if data is not None:
        return StageResult(stage.name, str(target), data["seconds"], data["figures"], reused=True)
    if target.exists() and not stage.resumes:  # an unrecorded stage output is redone (cpt resumes)
        remove_output(target)
    start = time.perf_counter()
    figures = stage.run(ctx, target)
    result = StageResult(stage.name, str(target), time.perf_counter() - start, figures)
    write_text_atomic(record, json.dumps({"seconds": result.seconds, "figures": figures}, indent=2,
                                         ensure_ascii=False, default=str) + "\n")
    return result


# ---------------------------------------------------------------------------- the report


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def stage_summary(result: StageResult, stages: Sequence[Stage] | None = None) -> str:
    """One line of the most telling figures of a stage (its :meth:`Stage.summary`)."""
    stage = next((s for s in (STAGE_LIST if stages is None else stages) if s.name == result.name), None)
    return stage.summary(result.figures) if stage is not None else ""


def _write_report(run_dir: Path, config: PipelineConfig, stages: list[StageResult], seconds: float,
                  stage_list: Sequence[Stage] | None = None) -> Path:
    from tokkit import __version__

    data = {
        "tokkit_version": __version__,
        "seconds": round(seconds, 2),
        "config": config.to_dict(),
        "stages": [asdict(s) for s in stages],
    }
    write_text_atomic(run_dir / "report.json", json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    lines = [
        "# tokkit pipeline report", "",
        f"Run dir `{run_dir}`, {seconds:,.1f} s in total (tokkit {__version__}).", "",
        "| stage | output | seconds | result |", "| --- | --- | ---: | --- |",
    ]
    for s in stages:
        reused = " (reused)" if s.reused else ""
        lines.append(f"| {s.name} | `{Path(s.output).name}/` | {s.seconds:,.1f}{reused} | {stage_summary(s, stage_list)} |")
    analyze = next((s for s in stages if s.name == "analyze"), None)
    if analyze is not None and (Path(analyze.output) / "report.md").is_file():
        lines += ["", "## Tokenizers on the held-out text", "",
                  (Path(analyze.output) / "report.md").read_text(encoding="utf-8")]
    path = run_dir / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
