"""Write a :class:`ByteLevelVocab` as what the ecosystem loads: a tiktoken rank file, a
``tokenizer.json`` + transformers dir, and a Tekken json.

* **rank file**: ``base64(token) id`` per line in id order, so ``tiktoken.Encoding(name,
  pat_str=..., mergeable_ranks=load_tiktoken_bpe(path), special_tokens=...)`` encodes with the
  same ids (an extended Llama 3 file is the base file byte for byte, then the new lines);
* **tokenizer.json**: the base's own file with ``model.vocab`` extended and ``model.merges``
  re-derived from the ranks (every split of every token into two tokens, in id order: what makes
  ``tokenizers`` merge as tiktoken does), or the base's merge list with the new merges appended
  when it is an explicit one; every other stage (pre-tokenizer, post-processor, decoder, added
  tokens, ``ignore_merges``) is the base's. Without a base file one is built: Split(pattern) +
  ByteLevel, ByteLevel decoder, the specials as added tokens;
* **transformers dir**: that ``tokenizer.json`` plus the base's ``tokenizer_config.json`` (chat
  template, bos/eos, added tokens) and ``special_tokens_map.json``, so ``AutoTokenizer`` loads it;
* **Tekken json**: the base's json with ``vocab`` replaced (ranks = id - specials) and
  ``default_vocab_size`` grown; the base's unused ranks beyond its vocabulary size are dropped,
  since the new tokens take their places.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

from tokkit.errors import InputError
from tokkit.llama.bytelevel_io import (
    SPECIAL_TOKENS_MAP,
    TOKENIZER_CONFIG,
    TOKENIZER_JSON,
    ByteLevelVocab,
    display_vocab,
)
from tokkit.models.bpe_bytes import display

KNOWN_BOS_EOS: dict[str, tuple[str, str]] = {
    "llama3": ("<|begin_of_text|>", "<|end_of_text|>"),
}
"""Base name → (bos, eos) for bases read without a ``tokenizer_config.json``."""


def rank_file_bytes(vocab: ByteLevelVocab) -> bytes:
    """The tiktoken rank file: ``base64 id`` lines in id order."""
    lines = [base64.b64encode(token) + b" " + str(id).encode()
             for token, id in sorted(vocab.ranks.items(), key=lambda item: item[1])]
    return b"\n".join(lines) + b"\n"


def tokenizer_json(vocab: ByteLevelVocab) -> dict[str, Any]:
    """The ``tokenizer.json`` of ``vocab`` (the base's stages kept, see the module docstring)."""
    merges = [f"{display(left)} {display(right)}" for left, right in vocab.derived_merges()]
    if vocab.hf_json is not None:
        data = copy.deepcopy({k: v for k, v in vocab.hf_json.items() if k != "model"})
        model = {k: v for k, v in vocab.hf_json["model"].items() if k not in ("vocab", "merges")}
        if vocab.hf_json["model"]["merges"] and not isinstance(vocab.hf_json["model"]["merges"][0], str):
            merges_out: list[Any] = [m.split(" ") for m in merges]
        else:
            merges_out = merges
        data["model"] = {**model, "vocab": model_vocab(vocab), "merges": merges_out}
        return data
    bos = _bos_eos(vocab)[0]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": id, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for s, id in sorted(vocab.special_tokens.items(), key=lambda item: item[1])
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": vocab.pattern}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": None if bos is None else {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [vocab.special_tokens[bos]], "tokens": [bos]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
            "ignore_merges": vocab.ignore_merges, "vocab": model_vocab(vocab), "merges": merges,
        },
    }


def model_vocab(vocab: ByteLevelVocab) -> dict[str, int]:
    """``model.vocab``, holding the specials too when they sit below a regular id.

    ``tokenizers`` numbers an added token missing from ``model.vocab`` after the model's last
    entry, so specials in a gap (Llama 3's 128000…128255 once tokens follow them, Tekken's 0…999)
    must be in ``model.vocab`` under their own ids; merges never produce them.
    """
    regular = display_vocab(vocab.ranks)
    top = max(vocab.ranks.values())
    if all(id > top for id in vocab.special_tokens.values()):
        return regular
    merged = {**regular, **vocab.special_tokens}
    return dict(sorted(merged.items(), key=lambda item: item[1]))


def _bos_eos(vocab: ByteLevelVocab) -> tuple[str | None, str | None]:
    if vocab.hf_config is not None:
        return _token_name(vocab.hf_config.get("bos_token")), _token_name(vocab.hf_config.get("eos_token"))
    if vocab.format == "tekken":
        return "<s>", "</s>"
    return KNOWN_BOS_EOS.get(vocab.name, (None, None))


def _token_name(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("content")) if value.get("content") is not None else None
    return None if value is None else str(value)


def tokenizer_config(vocab: ByteLevelVocab) -> dict[str, Any]:
    """``tokenizer_config.json``: the base's (chat template, bos/eos) or a minimal fast-tokenizer one."""
    if vocab.hf_config is not None:
        config = copy.deepcopy(vocab.hf_config)
    else:
        bos, eos = _bos_eos(vocab)
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False,
                  "model_input_names": ["input_ids", "attention_mask"]}
        config.update({k: v for k, v in (("bos_token", bos), ("eos_token", eos)) if v is not None})
    config["added_tokens_decoder"] = {
        str(id): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                  "single_word": False, "special": True}
        for s, id in sorted(vocab.special_tokens.items(), key=lambda item: item[1])
    }
    return config


def write_transformers_dir(vocab: ByteLevelVocab, directory: str | Path) -> list[Path]:
    """``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` into ``directory``."""
    directory = Path(directory)
    written = [directory / TOKENIZER_JSON, directory / TOKENIZER_CONFIG]
    _write_json(written[0], tokenizer_json(vocab), compact=True)
    _write_json(written[1], tokenizer_config(vocab))
    if vocab.hf_special_map is not None:
        written.append(directory / SPECIAL_TOKENS_MAP)
        _write_json(written[-1], vocab.hf_special_map)
    return written


def tekken_json(vocab: ByteLevelVocab) -> dict[str, Any]:
    """The Tekken json of an extended Tekken vocabulary."""
    if vocab.tekken is None:
        raise InputError(f"{vocab.source}: not a Tekken base; the Tekken json is written for Tekken bases only")
    specials = len(vocab.special_tokens)
    entries = []
    for at, (token, id) in enumerate(sorted(vocab.ranks.items(), key=lambda item: item[1])):
        if id - specials != at:
            raise InputError(f"{vocab.source}: ids are not contiguous after the specials; cannot write Tekken")
        try:
            text: str | None = token.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        entries.append({"rank": at, "token_bytes": base64.b64encode(token).decode(), "token_str": text})
    data = copy.deepcopy(vocab.tekken)
    data["config"]["num_vocab_tokens"] = len(entries)
    data["config"]["default_vocab_size"] = len(entries) + specials
    return {"config": data.pop("config"), "vocab": entries, **data}


def _write_json(path: Path, data: Any, *, compact: bool = False) -> None:
    text = json.dumps(data, ensure_ascii=False) if compact else json.dumps(data, indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def write_tekken(vocab: ByteLevelVocab, path: str | Path) -> Path:
    path = Path(path)
    _write_json(path, tekken_json(vocab), compact=True)
    return path


def write_rank_file(vocab: ByteLevelVocab, path: str | Path) -> Path:
    if not vocab.ranked:
        raise InputError(f"{vocab.source}: has an explicit merge list; a tiktoken rank file cannot express it")
    path = Path(path)
    path.write_bytes(rank_file_bytes(vocab))
    return path
