"""The whole job end to end: corpus → dedup → tokenizer → extended LLaMA → shards → a few CPT steps.

Every stage is one library call whose output lands in its own numbered folder of the run dir
(default ``runs/pipeline/``), written atomically, so the run can be inspected stage by stage and an
interrupted run resumes at the first unfinished stage (same config). ``report.md`` and
``report.json`` at the end gather each stage's figures.

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

Analyze runs after extend (the issue lists it before) so it can compare all three tokenizers.
The LLaMA tokenizer is needed as the base (its licence forbids shipping it): ``llama_tokenizer``
in the config, else ``$TOKKIT_LLAMA_TOKENIZER``, else ``../shared/fixtures/llama/tokenizer.model``
beside the project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

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
STAGES = ("sample", "dedup", "train", "extend", "analyze", "model", "resize", "shard", "cpt")
STAGE_DIRS = {
    "sample": "00-sample", "dedup": "01-dedup", "train": "02-bpe", "extend": "03-extend",
    "analyze": "04-analyze", "model": "05-model", "resize": "06-resized", "shard": "07-shards",
    "cpt": "08-cpt",
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "dedup": {"granularity": "paragraph", "threshold": 0.8},
    "train": {"vocab_size": 8000, "special_tokens": ["<|endoftext|>"]},
    "extend": {"zh_vocab": 8000},
    "analyze": {"max_mb": 0.5},
    "model": {"hidden_size": 64, "num_layers": 2, "seed": 0},
    "resize": {"init": "subword-mean"},
    "shard": {"seq_len": 128, "val_fraction": 0.02, "workers": 0},
    "cpt": {"train": "embeddings", "steps": 20, "batch_tokens": 1024, "micro_batch": 8, "lr": 3e-3,
            "warmup_steps": 2, "eval_every": 10, "eval_sequences": 16, "save_every": 10, "log_every": 1,
            "threads": 1},
}


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
        """A stage's settings: the defaults overridden by the config's table."""
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
    """Copy the first ``max_mb`` MB of each corpus (split evenly over its files, cut at a line)."""
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
                if budget is None:
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


def kept_files(dedup_dir: Path, corpus: str | None = None) -> list[Path]:
    """The corpus files a dedup run wrote (its dir also holds manifest.json and removed.jsonl)."""
    manifest = json.loads((dedup_dir / "manifest.json").read_text(encoding="utf-8"))
    outputs = [str(row["output"]) for row in manifest["files"]]
    if corpus is not None:
        outputs = [o for o in outputs if Path(o).parts[0] == corpus]
    return [dedup_dir / o for o in outputs if (dedup_dir / o).is_file()]


# ---------------------------------------------------------------------------- the stages


def _pick(settings: Mapping[str, Any], cls: type, stage: str, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in settings.items() if k not in drop}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(
            f"{stage} settings: unknown {', '.join(unknown)}; known: {', '.join(sorted(known - set(drop)))}"
        )
    return values


def _stage_classes() -> dict[str, tuple[type, tuple[str, ...]]]:
    """Each stage table's config class and the keys the pipeline sets itself."""
    from tokkit.cpt.config import CPTConfig
    from tokkit.dedup.config import DedupConfig
    from tokkit.llama.extend import ExtendConfig
    from tokkit.llama.resize import ResizeConfig
    from tokkit.shards.writer import ShardConfig
    from tokkit.train.config import BPEConfig

    return {"dedup": (DedupConfig, ()), "train": (BPEConfig, ()), "extend": (ExtendConfig, ()),
            "resize": (ResizeConfig, ()), "shard": (ShardConfig, ()),
            "cpt": (CPTConfig, ("model", "shards", "output"))}


TOP_LEVEL_TYPES: dict[str, Any] = {"run_dir": str, "corpora": str | tuple[str, ...], "sample_mb": float,
                                   "heldout": str | tuple[str, ...], "llama_tokenizer": str}
TABLE_TYPES: dict[str, dict[str, Any]] = {
    "analyze": {"max_mb": float},
    "model": {"hidden_size": int, "num_layers": int, "seed": int, "tie": bool, "num_heads": int},
}
"""The keys of the stage tables that have no config class of their own."""


def _stage_types() -> dict[str, tuple[type | None, dict[str, Any]]]:
    """Each stage table: its config class (None: no class) and its keys' types."""
    from tokkit.llama.zh_model import ZhModelConfig
    from tokkit.settings import field_types

    tables: dict[str, tuple[type | None, dict[str, Any]]] = {}
    for stage, (cls, drop) in _stage_classes().items():
        hints = {k: v for k, v in field_types(cls).items() if k not in drop}
        if stage == "extend":  # zh_* keys configure the Chinese sentencepiece model
            hints["zh_vocab"] = int
            hints.update({f"zh_{k}": v for k, v in field_types(ZhModelConfig).items() if k != "vocab_size"})
        tables[stage] = (cls, hints)
    for stage, hints in TABLE_TYPES.items():
        tables[stage] = (None, hints)
    return tables


def config_problems(config: PipelineConfig) -> list[str]:
    """Every bad setting of ``config``, one line each: a wrong type, an unknown key, a bad value."""
    problems = type_problems({f.name: getattr(config, f.name) for f in fields(config)
                              if f.name in TOP_LEVEL_TYPES}, TOP_LEVEL_TYPES)
    if isinstance(config.sample_mb, (int, float)) and not problems and config.sample_mb < 0:
        problems.append(f"sample_mb = {config.sample_mb}: must be >= 0 (0 = the whole corpus)")
    placeholders = {"cpt": {"model": "model", "shards": "shards", "output": "output"}}
    for stage, (cls, hints) in _stage_types().items():
        settings = config.stage(stage)
        unknown = sorted(set(settings) - set(hints))
        if unknown:
            problems.append(f"{stage} settings: unknown {', '.join(unknown)}; known: {', '.join(sorted(hints))}")
        bad = type_problems(settings, hints, where=f"[{stage}]")
        problems += bad
        if cls is None or unknown or bad:
            continue
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()
                  if not k.startswith("zh_")}
        try:  # the stage's own value checks (ranges, combinations), before anything runs
            made = cls(**values, **placeholders.get(stage, {}))
            check = getattr(made, "check", None) or getattr(made, "validate", None)
            if check is not None:
                check()
        except InputError as err:  # said in arguments (`lora_r=4`); the TOML spells it lora_r = 4
            problems.append(f"[{stage}] " + _as_toml(str(err)))
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


def check_settings(config: PipelineConfig) -> None:
    """Refuse a misspelt setting, a value of the wrong type or a missing ``cpt`` extra before the
    first stage runs (and before the run dir exists), not minutes in."""
    import importlib.util

    for package in ("torch", "transformers", "safetensors"):
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, "cpt")
    problems = config_problems(config)
    if problems:
        raise InputError("\n".join(problems))


def run_pipeline(
    config: PipelineConfig | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
) -> PipelineResult:
    """Run every stage in order (see the module doc); reuse the finished stages of the same run."""
    config = config or PipelineConfig()
    progress = progress or NULL_PROGRESS
    check_settings(config)
    llama = find_llama_tokenizer(config.llama_tokenizer)
    with output_lock(config.run_dir):  # a second run into the same run dir stops here
        return _run_locked(config, llama, force=force, progress=progress, on_stage=on_stage)


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


def _run_locked(config: PipelineConfig, llama: Path, *, force: bool, progress: Progress,
                on_stage: Callable[[StageResult], None] | None) -> PipelineResult:
    run_dir = Path(config.run_dir)
    corpora = {Path(spec).name if Path(spec).exists() else spec: resolve_corpus(spec, progress)
               for spec in config.corpora}
    heldout = [resolve_corpus(spec, progress) for spec in config.heldout]
    open_run_dir(run_dir, config.to_dict(), force=force, inputs=[*corpora.values(), *heldout, llama])

    stages: list[StageResult] = []
    began = time.perf_counter()
    out = {name: run_dir / STAGE_DIRS[name] for name in STAGES}
    records = run_dir / "stages"
    records.mkdir(exist_ok=True)

    def stage(name: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        target = out[name]
        record = records / f"{name}.json"
        data = _read_record(record) if target.exists() else None
        if data is not None:
            result = StageResult(name, str(target), data["seconds"], data["figures"], reused=True)
        else:
            if target.exists() and name != "cpt":  # an unrecorded stage output is redone (cpt resumes)
                remove_output(target)
            start = time.perf_counter()
            figures = work()
            result = StageResult(name, str(target), time.perf_counter() - start, figures)
            write_text_atomic(record, json.dumps({"seconds": result.seconds, "figures": figures}, indent=2,
                                                 ensure_ascii=False, default=str) + "\n")
        stages.append(result)
        if on_stage is not None:
            on_stage(result)
        return result.figures

    stage("sample", lambda: sample_corpus(corpora, out["sample"], max_mb=config.sample_mb))
    stage("dedup", lambda: _dedup(config, out["sample"], out["dedup"], progress))
    kept = kept_files(out["dedup"])
    stage("train", lambda: _train(config, kept, out["train"], progress))
    zh = [f for name in corpora if "zh" in name for f in kept_files(out["dedup"], name)]
    stage("extend", lambda: _extend(config, llama, zh or kept, heldout, out["extend"], progress))
    stage("analyze", lambda: _analyze(config, [llama, out["extend"], out["train"]], heldout, out["analyze"],
                                      progress))
    stage("model", lambda: _model(config, llama, out["model"]))
    stage("resize", lambda: _resize(config, out["model"], out["extend"], out["resize"]))
    stage("shard", lambda: _shard(config, kept, out["resize"], out["shard"], progress))
    stage("cpt", lambda: _cpt(config, out["resize"], out["shard"], out["cpt"], progress))

    seconds = time.perf_counter() - began
    report = _write_report(run_dir, config, stages, seconds)
    return PipelineResult(run_dir=run_dir, stages=stages, seconds=seconds, report=report)


def _dedup(config: PipelineConfig, source: Path, output: Path, progress: Progress) -> dict[str, Any]:
    from tokkit.dedup.config import DedupConfig
    from tokkit.dedup.pipeline import dedup_corpus

    settings = config.stage("dedup")
    report = dedup_corpus([source], output, config=DedupConfig(**_pick(settings, DedupConfig, "dedup")),
                          force=True, progress=progress)
    used = report.manifest.get("config", {})
    return {"counts": report.counts, "bytes": report.manifest.get("bytes", {}),
            "granularity": used.get("granularity", "document"), "near_min_words": used.get("near_min_words")}


def _train(config: PipelineConfig, corpus: list[Path], output: Path, progress: Progress) -> dict[str, Any]:
    from tokkit.corpus.readers import ReadOptions
    from tokkit.load import make_trainer
    from tokkit.train.config import BPEConfig
    from tokkit.train.run import train_to_dir

    settings = config.stage("train")
    if "special_tokens" in settings:
        settings["special_tokens"] = tuple(settings["special_tokens"])
    bpe = BPEConfig(**_pick(settings, BPEConfig, "train"))
    bpe.check()
    report = train_to_dir(make_trainer("bpe", "scratch", bpe), corpus=list(corpus), output=output, algorithm="bpe", backend="scratch",
                          config=bpe.to_dict(), read_options=ReadOptions(split="line"), force=True,
                          progress=progress)
    return {"vocab_size": report.vocab_size, "documents": report.documents, "corpus_bytes": report.corpus_bytes,
            "heldout_bytes_per_token": report.bytes_per_token, "heldout_chars_per_token": report.chars_per_token}


def _extend(config: PipelineConfig, llama: Path, zh_corpus: list[Path], heldout: list[Path], output: Path,
            progress: Progress) -> dict[str, Any]:
    from tokkit.corpus.readers import iter_files
    from tokkit.llama.extend import ExtendConfig
    from tokkit.llama.recipe import extend_llama
    from tokkit.llama.zh_model import ZhModelConfig

    settings = dict(config.stage("extend"))
    zh_vocab = int(settings.pop("zh_vocab", 8000))
    zh_settings = {k.removeprefix("zh_"): settings.pop(k) for k in list(settings) if k.startswith("zh_")}
    files = list(iter_files(heldout))
    named = {"zh": [p for p in files if "zh" in p.name], "en": [p for p in files if "en" in p.name]}
    run = extend_llama(llama, output, zh_corpus=zh_corpus,
                       zh_config=ZhModelConfig(vocab_size=zh_vocab, **zh_settings),
                       config=ExtendConfig(**_pick(settings, ExtendConfig, "extend")),
                       heldout={k: v for k, v in named.items() if v}, force=True, progress=progress)
    summary = run.result.summary()
    return {
        "base_pieces": summary["base_pieces"], "vocab_size": summary["vocab_size"], "appended": summary["appended"],
        "comparisons": [
            {"name": c.name, "tokens_before": c.tokens_before, "tokens_after": c.tokens_after,
             "reduction": round(1 - c.tokens_after / c.tokens_before, 4) if c.tokens_before else None}
            for c in run.comparisons
        ],
    }


def _analyze(config: PipelineConfig, tokenizers: list[Path], heldout: list[Path], output: Path,
             progress: Progress) -> dict[str, Any]:
    from tokkit.analyze.compression import AnalyzeConfig, analyze
    from tokkit.analyze.report import write_json, write_markdown
    from tokkit.atomic import atomic_dir
    from tokkit.corpus.readers import iter_files

    settings = config.stage("analyze")
    max_mb = float(settings.get("max_mb", 1.0))
    files = list(iter_files(heldout))
    corpora = {"zh": [p for p in files if "zh" in p.name], "en": [p for p in files if "en" in p.name]}
    corpora = {k: v for k, v in corpora.items() if v} or {"heldout": files}
    report = analyze([str(t) for t in tokenizers], corpora,
                     config=AnalyzeConfig(max_bytes=int(max_mb * 1e6) if max_mb else None), progress=progress)
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


def _model(config: PipelineConfig, llama: Path, output: Path) -> dict[str, Any]:
    from tokkit.llama.tiny import build_tiny_llama
    from tokkit.load import load_tokenizer

    settings = config.stage("model")
    vocab = load_tokenizer(llama).vocab_size
    seq_len = int(config.stage("shard").get("seq_len", 128))
    build_tiny_llama(output, vocab_size=vocab, max_position_embeddings=max(seq_len, 64), force=True,
                     **{k: v for k, v in settings.items() if k in ("hidden_size", "num_layers", "seed", "tie",
                                                                    "num_heads")})
    return {"vocab_size": vocab, **settings}


def _resize(config: PipelineConfig, model: Path, tokenizer: Path, output: Path) -> dict[str, Any]:
    from tokkit.llama.resize import ResizeConfig, resize_embeddings

    settings = config.stage("resize")
    report = resize_embeddings(model, tokenizer, output, config=ResizeConfig(**_pick(settings, ResizeConfig, "resize")),
                               force=True)
    return report.to_dict()


def _shard(config: PipelineConfig, corpus: list[Path], tokenizer: Path, output: Path,
           progress: Progress) -> dict[str, Any]:
    from tokkit.corpus.readers import ReadOptions
    from tokkit.shards import ShardConfig, write_shards

    settings = config.stage("shard")
    manifest = write_shards(list(corpus), tokenizer, output, config=ShardConfig(**_pick(settings, ShardConfig, "shard")),
                            read_options=ReadOptions(split="line"), force=True, progress=progress)
    return {
        "dtype": manifest.dtype, "seq_len": manifest.seq_len, "vocab_size": manifest.tokenizer.vocab_size,
        **{f"{name}_{key}": getattr(split, key) for name, split in manifest.splits.items()
           for key in ("documents", "tokens", "sequences")},
    }


def _cpt(config: PipelineConfig, model: Path, shards: Path, output: Path, progress: Progress | None) -> dict[str, Any]:
    from tokkit.cpt import CPTConfig, run_cpt
    from tokkit.cpt.checkpoint import checkpoint_dirs

    settings = config.stage("cpt")
    # an interrupted run continues from its checkpoint; with none there is nothing to say
    result = run_cpt(CPTConfig(model=str(model), shards=str(shards), output=str(output),
                               **_pick(settings, CPTConfig, "cpt", drop=("model", "shards", "output"))),
                     resume=bool(checkpoint_dirs(output)), force=True, progress=progress)
    vals = sorted(result.val_losses.items())
    return {
        "steps": result.steps, "tokens": result.tokens, "tokens_per_second": round(result.tokens_per_second, 1),
        "train_loss": round(result.train_loss, 4), "val_loss_first": vals[0][1] if vals else None,
        "val_loss_last": vals[-1][1] if vals else None, "trainable_parameters": result.trainable_parameters,
        "total_parameters": result.total_parameters, "final": str(result.final_dir),
    }


# ---------------------------------------------------------------------------- the report


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def stage_summary(result: StageResult) -> str:
    """One line of the most telling figures of a stage."""
    f = result.figures
    if result.name == "sample":
        return "; ".join(f"{k}: {v['bytes'] / 1e6:,.1f} MB in {v['files']} files" for k, v in f.items())
    if result.name == "dedup":
        from tokkit.dedup.summary import summary_line

        return summary_line(f.get("counts", {}), granularity=f.get("granularity", "document"),
                            near_min_words=f.get("near_min_words"))
    if result.name == "train":
        return f"vocab {_fmt(f['vocab_size'])}, held-out bytes/token {_fmt(f['heldout_bytes_per_token'])}"
    if result.name == "extend":
        parts = [f"{_fmt(f['base_pieces'])} → {_fmt(f['vocab_size'])} pieces"]
        parts += [f"{c['name']}: {_fmt(c['tokens_before'])} → {_fmt(c['tokens_after'])} tokens" for c in f["comparisons"]]
        return "; ".join(parts)
    if result.name == "analyze":
        return "; ".join(f"{r['tokenizer']}/{r['corpus']} {_fmt(r['bytes_per_token'])} B/tok" for r in f["results"])
    if result.name == "resize":
        return f"{_fmt(f['base_rows'])} → {_fmt(f['new_rows'])} rows ({f['init']})"
    if result.name == "shard":
        return (f"train {_fmt(f['train_tokens'])} tokens / {_fmt(f['train_sequences'])} sequences, "
                f"val {_fmt(f['val_sequences'])} sequences × {f['seq_len']} ({f['dtype']})")
    if result.name == "cpt":
        return (f"{f['steps']} steps, val loss {_fmt(f['val_loss_first'])} → {_fmt(f['val_loss_last'])}, "
                f"{_fmt(f['tokens_per_second'])} tokens/s")
    if result.name == "model":
        return f"vocab {_fmt(f['vocab_size'])}, hidden {f.get('hidden_size')}, {f.get('num_layers')} layers"
    return ""


def _write_report(run_dir: Path, config: PipelineConfig, stages: list[StageResult], seconds: float) -> Path:
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
        lines.append(f"| {s.name} | `{Path(s.output).name}/` | {s.seconds:,.1f}{reused} | {stage_summary(s)} |")
    analyze = next((s for s in stages if s.name == "analyze"), None)
    if analyze is not None and (Path(analyze.output) / "report.md").is_file():
        lines += ["", "## Tokenizers on the held-out text", "",
                  (Path(analyze.output) / "report.md").read_text(encoding="utf-8")]
    path = run_dir / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
