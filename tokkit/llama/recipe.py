"""The whole ``extend-llama`` recipe: Chinese model → merge → exports → before/after check.

Output directory (written atomically, nothing replaced without ``force``)::

    tokenizer.model          merged sentencepiece model (base ids 0…N-1 unchanged)
    tokenizer.json           the same tokenizer for ``transformers`` / ``tokenizers``
    tokenizer_config.json    + special_tokens_map.json: ``AutoTokenizer.from_pretrained(dir)``
    zh.model                 the Chinese sentencepiece model whose pieces were merged
    added_pieces.tsv         id, piece, score, origin (zh | intermediate) of every appended piece
    tokkit.json              kind "spm", base, Chinese model, counts, score policy, comparisons
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokkit import __version__
from tokkit.atomic import atomic_dir
from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.errors import InputError
from tokkit.llama.compare import Comparison, compare
from tokkit.llama.extend import ExtendConfig, ExtendResult, extend_model
from tokkit.llama.hf_export import build_hf_tokenizer, write_hf_tokenizer
from tokkit.llama.spm_io import SPM_FILE, parse_model, processor, read_model, resolve_model_path
from tokkit.llama.zh_model import ZhModelConfig, train_zh_model
from tokkit.load import write_meta
from tokkit.types import Progress

ZH_MODEL_FILE = "zh.model"
ADDED_PIECES = "added_pieces.tsv"


@dataclass
class ExtendRun:
    """What :func:`extend_llama` produced: the merge, the comparisons and where it was written."""

    output: Path
    result: ExtendResult
    comparisons: list[Comparison] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def read_lines(paths: Sequence[str | Path]) -> list[str]:
    """Held-out text, one non-empty line per item."""
    return list(read_texts(paths, ReadOptions(split="line")))


def extend_llama(
    base: str | Path,
    output: str | Path,
    *,
    zh_model: str | Path | None = None,
    zh_corpus: Sequence[str | Path] = (),
    zh_config: ZhModelConfig | None = None,
    config: ExtendConfig | None = None,
    heldout: Mapping[str, Sequence[str | Path]] | None = None,
    read_options: ReadOptions | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ExtendRun:
    """Extend the LLaMA tokenizer at ``base`` with Chinese pieces and write ``output``.

    The Chinese model is ``zh_model`` if given, else trained on ``zh_corpus`` with ``zh_config``.
    ``heldout`` maps a name (``zh``, ``en``) to files compared before/after.

    >>> extend_llama("llama/tokenizer.model", "vocab/zh-llama",
    ...              zh_corpus=["corpora/zh"])  # doctest: +SKIP
    """
    config = config or ExtendConfig()
    base_file = resolve_model_path(base, "`base`")
    try:
        base_bytes = base_file.read_bytes()
    except OSError as err:
        raise InputError(f"{base_file}: cannot read ({err.strerror}); pass `base` a readable tokenizer.model") from None
    base_model = parse_model(base_bytes, str(base_file))
    if base_model.trainer_spec.model_type != base_model.trainer_spec.BPE:
        raise InputError(f"{base_file}: not a BPE sentencepiece model; pass LLaMA's tokenizer.model as `base`")
    if zh_model is None and not zh_corpus:
        raise InputError("no Chinese model or corpus; pass `zh_model=PATH` or `zh_corpus=PATH`")
    heldout_lines = {name: read_lines(paths) for name, paths in (heldout or {}).items()}
    inputs = [base, *([zh_model] if zh_model is not None else zh_corpus),
              *(p for paths in (heldout or {}).values() for p in paths)]
    with atomic_dir(output, force=force, inputs=inputs) as tmp:
        if zh_model is not None:
            zh = read_model(zh_model, "`zh_model`")
            zh_bytes = zh.SerializeToString()
            zh_info: dict[str, Any] = {"path": str(zh_model), "trained": False}
        else:
            zh_bytes, run = train_zh_model(
                zh_corpus, zh_config, read_options=read_options, progress=progress
            )
            zh = parse_model(zh_bytes, "the trained Chinese model")
            zh_info = {"trained": True, **run}
        zh_info.update(
            pieces=len(zh.pieces),
            model_type="bpe" if zh.trainer_spec.model_type == zh.trainer_spec.BPE else "unigram",
        )
        task = progress.task("merging pieces", total=None) if progress else None
        result = extend_model(base_model, zh, config)
        if task:
            task.update_total(1)
            task.advance(1)
        merged = processor(result.model)
        hf = build_hf_tokenizer(result.model)
        before = processor(base_model)
        comparisons = [
            compare(name, lines, before, merged, hf) for name, lines in heldout_lines.items()
        ]
        (tmp / SPM_FILE).write_bytes(result.model.SerializeToString())
        (tmp / ZH_MODEL_FILE).write_bytes(zh_bytes)
        write_hf_tokenizer(result.model, tmp, tokenizer=hf)
        with open(tmp / ADDED_PIECES, "w", encoding="utf-8") as f:
            f.write("id\tpiece\tscore\torigin\n")
            for i in range(result.base_size, result.vocab_size):
                p = result.model.pieces[i]
                f.write(f"{i}\t{p.piece}\t{p.score:.9g}\t{result.origin[p.piece]}\n")
        meta = {
            "kind": "spm",
            "backend": "sentencepiece",
            "tokkit_version": __version__,
            "recipe": "extend-llama",
            "vocab_size": result.vocab_size,
            "base": {
                "path": str(base_file),
                "md5": hashlib.md5(base_bytes).hexdigest(),
                "pieces": result.base_size,
            },
            "zh_model": zh_info,
            "score_policy": config.score_policy,
            "extend": result.summary(),
            "extend_config": asdict(config),
            "comparisons": [c.to_dict() for c in comparisons],
            "files": {
                "sentencepiece": SPM_FILE,
                "transformers": ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"],
                "zh_model": ZH_MODEL_FILE,
                "added_pieces": ADDED_PIECES,
            },
        }
        write_meta(tmp, meta)
    return ExtendRun(output=Path(output), result=result, comparisons=comparisons, meta=meta)
