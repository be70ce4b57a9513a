"""Read every byte-level BPE vocabulary format into one shape: ranks, split pattern, specials.

Llama 3, Qwen 2/3 and Mistral's Tekken models ship a byte-level BPE in one of four forms:

* a **tiktoken rank file** (Llama 3's ``tokenizer.model``): one ``base64(token) rank`` per line.
  It holds neither the split pattern nor the special tokens: they come from the caller, else from
  a ``tokenizer.json`` beside the file, else from :data:`KNOWN_RANK_FILES` (Llama 3, by sha256);
* a **``tokenizer.json``** with a ByteLevel BPE model (Llama 3.2's, Qwen's): vocabulary as ByteLevel
  display strings, a merge list, added tokens. ``ignore_merges`` (Llama 3.1+): a pre-token that is a
  whole vocabulary entry is emitted as is, without merging;
* a **transformers tokenizer dir** holding either of the above plus ``tokenizer_config.json``
  (chat template, bos/eos), which writers carry over;
* **Tekken** (``tekken_*.json``): ranks in order with base64 bytes, the pattern in ``config``, and
  ``default_num_special_tokens`` specials *before* the ranks: id = rank + that number.

Each becomes a :class:`ByteLevelVocab`: ``ranks`` maps token bytes to the model's id. A
vocabulary is *ranked* (``merges is None``) when, as in tiktoken, any adjacent pair whose
concatenation is a token merges, lowest id first; a ``tokenizer.json`` whose merge list is exactly
the list re-derived from its ranks (every split of every token into two tokens, the way
transformers converts tiktoken files) is ranked too. Otherwise (Qwen's trained merge list) the
vocabulary keeps its explicit ``merges``: only those pairs merge, in that order.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from tokkit.errors import InputError, MissingDependencyError
from tokkit.models.bpe_bytes import display, undisplay
from tokkit.models.pretokenize import GPT2_PATTERN

VocabFormat = Literal["tiktoken", "tokenizer.json", "tekken"]

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
"""Llama 3's split pattern (meta-llama's ``tokenizer.py``; also in its ``tokenizer.json``)."""

LLAMA3_SPECIALS: tuple[str, ...] = (
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
    *(f"<|reserved_special_token_{i}|>" for i in range(2, 247)),
)
"""Llama 3.1's 256 special tokens, ids 128000… right after the 128,000 ranks."""

KNOWN_RANK_FILES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55": (
        "llama3", LLAMA3_PATTERN, LLAMA3_SPECIALS),
}
"""sha256 of a rank file → (name, split pattern, specials placed right after the ranks)."""

TEKKEN_DEPRECATED_SPECIALS: tuple[str, ...] = (
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]",
    "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
    "[TOOL_CONTENT]",
)
"""What mistral_common assumes for a Tekken file without ``special_tokens`` (v3 and older)."""
TEKKEN_FILLER = "<SPECIAL_{id}>"

TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
RANK_FILE = "tokenizer.model"


@dataclass(frozen=True, kw_only=True)
class ByteLevelVocab:
    """A byte-level BPE vocabulary: what every format reduces to and every writer starts from."""

    ranks: dict[bytes, int]
    """Token bytes → id. Ranked vocabularies merge lowest id first, as tiktoken does."""
    pattern: str
    special_tokens: dict[str, int]
    merges: list[tuple[bytes, bytes]] | None = None
    """An explicit merge list (``tokenizer.json`` not derived from ranks); None: ranked."""
    ignore_merges: bool = False
    format: VocabFormat = "tiktoken"
    source: str = ""
    name: str = "bytelevel"
    hf_json: dict[str, Any] | None = field(default=None, repr=False)
    """The ``tokenizer.json`` read (its pipeline stages are written back unchanged)."""
    hf_config: dict[str, Any] | None = field(default=None, repr=False)
    """``tokenizer_config.json`` (chat template, bos/eos...) and ``special_tokens_map.json``."""
    hf_special_map: dict[str, Any] | None = field(default=None, repr=False)
    tekken: dict[str, Any] | None = field(default=None, repr=False)
    """The Tekken json without its ``vocab`` (config, special_tokens, image...)."""
    derived: list[tuple[bytes, bytes]] | None = field(default=None, repr=False, compare=False)
    """:meth:`derived_merges` when already known (read from a file, or extended from a base's)."""

    @property
    def ranked(self) -> bool:
        return self.merges is None

    @cached_property
    def next_id(self) -> int:
        """The first id after every regular and special id: where appended tokens start."""
        return 1 + max(max(self.ranks.values()), max(self.special_tokens.values(), default=-1))

    @property
    def vocab_size(self) -> int:
        """Ids in use (regular + special); an embedding needs at least :attr:`next_id` rows."""
        return len(self.ranks) + len(self.special_tokens)

    def tokens_by_id(self) -> dict[int, bytes]:
        return {id: token for token, id in self.ranks.items()}

    def derived_merges(self) -> list[tuple[bytes, bytes]]:
        """The merge list equivalent to the ranks: every split of every token into two tokens,
        ordered by the token's id, then by the ids of the two parts (transformers' conversion of
        tiktoken files, so a Llama 3 ``tokenizer.json`` holds exactly this list)."""
        if self.merges is not None:
            return list(self.merges)
        if self.derived is None:
            object.__setattr__(self, "derived", derive_merges(self.ranks))
        assert self.derived is not None
        return list(self.derived)

    def with_tokens(self, new: Iterable[bytes], merges: Iterable[tuple[bytes, bytes]] = ()) -> ByteLevelVocab:
        """This vocabulary with ``new`` tokens appended at :attr:`next_id`…; an explicit merge list
        gets ``merges`` appended (ranked ones need none)."""
        ranks = dict(self.ranks)
        next_id = self.next_id
        added = list(new)
        for token in added:
            if token in ranks:
                raise InputError(f"token {token!r} is already in the vocabulary; it cannot be appended")
            ranks[token] = next_id
            next_id += 1
        if self.merges is not None:
            return replace(self, ranks=ranks, merges=[*self.merges, *merges], derived=None)
        derived = None
        if self.derived is not None:
            derived = _extend_derived(self.derived, self.ranks, ranks, added)
        return replace(self, ranks=ranks, derived=derived)

    def tokenizer(self) -> Any:
        """tokkit's own :class:`~tokkit.models.bpe.ByteLevelBPETokenizer` with these ids: the
        derived merges for a ranked vocabulary (a chunk that is a token is emitted whole, as
        tiktoken does), else the explicit list (whole chunks only with ``ignore_merges``)."""
        from tokkit.models.bpe import ByteLevelBPETokenizer

        whole = self.ignore_merges or (self.ranked and self.format != "tokenizer.json")
        return ByteLevelBPETokenizer.from_vocab(self.ranks, self.derived_merges(), pattern=self.pattern,
                                                special_tokens=self.special_tokens, whole_chunks=whole)

    def tiktoken_encoding(self) -> Any:
        """``tiktoken.Encoding`` with these ranks, pattern and specials (ranked vocabularies only)."""
        if not self.ranked:
            raise InputError(
                f"{self.source}: its merge list is not derived from ranks, so tiktoken cannot encode it; "
                "use the tokenizer.json"
            )
        try:
            import tiktoken
        except ImportError:
            raise MissingDependencyError("tiktoken", "analyze") from None
        return tiktoken.Encoding(self.name, pat_str=self.pattern, mergeable_ranks=self.ranks,
                                 special_tokens=self.special_tokens)


def derive_merges(ranks: Mapping[bytes, int]) -> list[tuple[bytes, bytes]]:
    """Every split ``left + right`` of each token into two tokens, by token id, then part ids."""
    merges: list[tuple[bytes, bytes]] = []
    get = ranks.get
    for token, _ in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        local = [(token[:i], token[i:]) for i in range(1, len(token))
                 if token[:i] in ranks and token[i:] in ranks]
        local.sort(key=lambda pair: (get(pair[0]), get(pair[1])))
        merges += local
    return merges


def _extend_derived(base: list[tuple[bytes, bytes]], old: Mapping[bytes, int], ranks: Mapping[bytes, int],
                    added: list[bytes]) -> list[tuple[bytes, bytes]] | None:
    """:func:`derive_merges` of ``ranks`` from the base's list, or None when a base token gains a
    split through a new token (then it is derived afresh). New tokens have the highest ids, so
    their splits go last; a base token gains one only if a new token is its prefix or suffix."""
    starts = sorted(old)
    ends = sorted(token[::-1] for token in old)
    for token in added:
        for table, key in ((starts, token), (ends, token[::-1])):
            at = bisect.bisect_right(table, key)
            while at < len(table) and table[at].startswith(key):
                rest = table[at][len(key):]
                if (rest if table is starts else rest[::-1]) in ranks:
                    return None
                at += 1
    extra: list[tuple[bytes, bytes]] = []
    get = ranks.get
    for token in added:
        local = [(token[:i], token[i:]) for i in range(1, len(token))
                 if token[:i] in ranks and token[i:] in ranks]
        local.sort(key=lambda pair: (get(pair[0]), get(pair[1])))
        extra += local
    return [*base, *extra]


# --- tiktoken rank files ---------------------------------------------------------------------


def read_rank_lines(path: Path) -> dict[bytes, int]:
    """``base64 rank`` lines → ranks; a bad line is an :class:`InputError` naming the line."""
    ranks: dict[bytes, int] = {}
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            token_b64, rank_text = line.split()
            token = base64.b64decode(token_b64, validate=True)
            rank = int(rank_text)
        except (ValueError, binascii.Error):
            raise InputError(
                f"{path}:{number}: not a tiktoken rank line ('base64 rank'); pass a tiktoken rank "
                "file, a tokenizer.json, a transformers dir or a tekken json"
            ) from None
        if token in ranks:
            raise InputError(f"{path}:{number}: token {token!r} appears twice; the rank file is corrupt")
        ranks[token] = rank
    if not ranks:
        raise InputError(f"{path}: empty rank file")
    _check_bytes(ranks, path)
    return ranks


def read_tiktoken(
    path: str | Path,
    *,
    pattern: str | None = None,
    special_tokens: Mapping[str, int] | None = None,
) -> ByteLevelVocab:
    """A tiktoken rank file, its pattern and specials from the arguments, a ``tokenizer.json``
    beside it (same ranks), or :data:`KNOWN_RANK_FILES`."""
    path = Path(path)
    ranks = read_rank_lines(path)
    name = path.stem
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    known = KNOWN_RANK_FILES.get(digest)
    sibling = _sibling_json(path, ranks)
    hf_json = sibling.hf_json if sibling else None
    if pattern is None:
        pattern = sibling.pattern if sibling else known[1] if known else None
    if special_tokens is None:
        if sibling:
            special_tokens = sibling.special_tokens
        elif known:
            start = max(ranks.values()) + 1
            special_tokens = {s: start + i for i, s in enumerate(known[2])}
    if pattern is None or special_tokens is None:
        raise InputError(
            f"{path}: a tiktoken rank file holds no split pattern or special tokens and this one is "
            f"not a known one; put its tokenizer.json beside it or pass pattern= and special_tokens="
        )
    if known:
        name = known[0]
    hf_config, special_map = _read_hf_config(path.parent)
    vocab = ByteLevelVocab(ranks=ranks, pattern=pattern, special_tokens=dict(special_tokens),
                           format="tiktoken", source=str(path), name=name, hf_json=hf_json,
                           hf_config=hf_config, hf_special_map=special_map,
                           ignore_merges=bool(sibling and sibling.ignore_merges),
                           derived=sibling.derived if sibling else None)
    _check_ids(vocab, path)
    return vocab


def _sibling_json(path: Path, ranks: dict[bytes, int]) -> ByteLevelVocab | None:
    other = path.parent / TOKENIZER_JSON
    if not other.is_file():
        return None
    try:
        vocab = read_tokenizer_json(other)
    except InputError:
        return None
    return vocab if vocab.ranks == ranks else None


# --- tokenizer.json --------------------------------------------------------------------------


def read_tokenizer_json(path: str | Path) -> ByteLevelVocab:
    """A ``tokenizer.json`` whose model is a ByteLevel BPE (a Split regex + ByteLevel, or ByteLevel
    with its own GPT-2 regex)."""
    path = Path(path)
    data = _read_json(path)
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise InputError(f"{path}: model type {model.get('type')!r} is not BPE; pass a byte-level BPE tokenizer.json")
    if data.get("normalizer") not in (None, {}):
        raise InputError(
            f"{path}: has a normalizer ({data['normalizer'].get('type')}), which byte-level BPE "
            "extension does not support; pass a byte-level tokenizer without one (Llama 3, Qwen)"
        )
    pattern = _byte_level_pattern(data.get("pre_tokenizer"), path)
    try:
        ranks: dict[bytes, int] = {}
        for text, id in model["vocab"].items():
            raw = undisplay(text)
            if raw is None:
                raise InputError(
                    f"{path}: vocabulary entry {text!r} is not a ByteLevel string; is this a "
                    "byte-level BPE (Llama 3, Qwen)?"
                )
            ranks[raw] = int(id)
        specials = {str(t["content"]): int(t["id"]) for t in data.get("added_tokens", [])}
        merges = [_merge_pair(m, path) for m in model["merges"]]
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: corrupt tokenizer.json ({err!r}); pass the file transformers saved") from None
    for special, id in specials.items():  # a special listed in model.vocab too (ids in a gap)
        raw = undisplay(special)
        if raw is not None and ranks.get(raw) == id:
            del ranks[raw]
    _check_bytes(ranks, path)
    derived = derive_merges(ranks)
    explicit = None if merges == derived else merges
    hf_config, special_map = _read_hf_config(path.parent)
    vocab = ByteLevelVocab(ranks=ranks, pattern=pattern, special_tokens=specials, merges=explicit,
                           ignore_merges=bool(model.get("ignore_merges")), format="tokenizer.json",
                           source=str(path), name=path.parent.name or "bytelevel", hf_json=data,
                           hf_config=hf_config, hf_special_map=special_map,
                           derived=derived if explicit is None else None)
    _check_ids(vocab, path)
    return vocab


def _merge_pair(merge: Any, path: Path) -> tuple[bytes, bytes]:
    parts = merge.split(" ") if isinstance(merge, str) else list(merge)
    if len(parts) != 2:
        raise InputError(f"{path}: merge {merge!r} is not a pair; the tokenizer.json is corrupt")
    left, right = undisplay(parts[0]), undisplay(parts[1])
    if left is None or right is None:
        raise InputError(f"{path}: merge {merge!r} is not ByteLevel; pass a byte-level BPE tokenizer.json")
    return left, right


def _byte_level_pattern(pre: Any, path: Path) -> str:
    """The split regex of a byte-level pre-tokenizer (ByteLevel with use_regex: GPT-2's)."""
    steps = pre.get("pretokenizers", []) if isinstance(pre, dict) and pre.get("type") == "Sequence" else [pre]
    kinds = [s.get("type") if isinstance(s, dict) else None for s in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True) and not steps[0].get("add_prefix_space"):
        return GPT2_PATTERN
    if (kinds == ["Split", "ByteLevel"] and "Regex" in steps[0].get("pattern", {})
            and steps[0].get("behavior") == "Isolated" and not steps[0].get("invert")
            and not steps[1].get("use_regex", True) and not steps[1].get("add_prefix_space")):
        return str(steps[0]["pattern"]["Regex"])
    raise InputError(
        f"{path}: pre-tokenizer {kinds} is not a byte-level split tokkit can reproduce "
        "(Split regex + ByteLevel, as Llama 3 and Qwen use)"
    )


def _read_hf_config(directory: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    found = []
    for name in (TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP):
        file = directory / name
        found.append(_read_json(file) if file.is_file() else None)
    return found[0], found[1]


# --- Tekken ----------------------------------------------------------------------------------


def read_tekken(path: str | Path) -> ByteLevelVocab:
    """Mistral's Tekken json: the first ``default_vocab_size - default_num_special_tokens`` ranks,
    ids shifted past the specials (mistral_common's ``Tekkenizer``)."""
    path = Path(path)
    data = _read_json(path)
    try:
        config = data["config"]
        pattern = str(config["pattern"])
        specials_count = int(config["default_num_special_tokens"])
        inner = int(config["default_vocab_size"]) - specials_count
        entries = data["vocab"][:inner]
        ranks = {}
        for at, entry in enumerate(entries):
            if int(entry["rank"]) != at:
                raise InputError(f"{path}: vocab entry {at} has rank {entry['rank']}; the file is corrupt")
            ranks[base64.b64decode(entry["token_bytes"], validate=True)] = at + specials_count
        listed = data.get("special_tokens")
        names = ([str(t["token_str"]) for t in sorted(listed, key=lambda t: int(t["rank"]))]
                 if listed is not None else list(TEKKEN_DEPRECATED_SPECIALS))
    except (KeyError, TypeError, ValueError, binascii.Error) as err:
        raise InputError(f"{path}: corrupt Tekken json ({err!r}); pass mistral's tekken.json") from None
    if len(entries) < inner or len(names) > specials_count:
        raise InputError(f"{path}: config sizes do not match its vocab and special tokens; the file is corrupt")
    names += [TEKKEN_FILLER.format(id=i) for i in range(len(names), specials_count)]
    _check_bytes(ranks, path)
    tekken = {k: v for k, v in data.items() if k != "vocab"}
    return ByteLevelVocab(ranks=ranks, pattern=pattern, special_tokens={s: i for i, s in enumerate(names)},
                          format="tekken", source=str(path), name=path.stem, tekken=tekken)


# --- any of them -----------------------------------------------------------------------------


def read_bytelevel(path: str | Path) -> ByteLevelVocab:
    """Any byte-level vocabulary: a transformers dir, ``tokenizer.json``, Tekken json or rank file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / RANK_FILE).is_file() and _is_rank_file(path / RANK_FILE):
            return read_tiktoken(path / RANK_FILE)
        if (path / TOKENIZER_JSON).is_file():
            return read_tokenizer_json(path / TOKENIZER_JSON)
        tekken = sorted(path.glob("tekken*.json"))
        if tekken:
            return read_tekken(tekken[0])
        raise InputError(
            f"{path}: holds no tokenizer.json, tiktoken tokenizer.model or tekken*.json; "
            "point `base` at a byte-level tokenizer"
        )
    if path.suffix == ".json":
        with path.open("rb") as f:
            head = f.read(4096)
        if b'"config"' in head and b'"vocab"' in head and b'"model"' not in head:
            return read_tekken(path)
        return read_tokenizer_json(path)
    if not _is_rank_file(path):
        raise InputError(
            f"{path}: not a tiktoken rank file (a sentencepiece model? use `tokkit extend-llama`); "
            "pass a tiktoken rank file, a tokenizer.json, a transformers dir or a tekken json"
        )
    return read_tiktoken(path)


def _is_rank_file(path: Path) -> bool:
    with path.open("rb") as f:
        first = f.readline(4096).split()
    if len(first) != 2 or not first[1].isdigit():
        return False
    try:
        base64.b64decode(first[0], validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err}); pass the file as the library saved it") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def _check_bytes(ranks: Mapping[bytes, int], path: Path) -> None:
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise InputError(
            f"{path}: {len(missing)} of the 256 single bytes are not tokens (e.g. {missing[0]:#04x}); "
            "not a byte-level BPE vocabulary"
        )


def _check_ids(vocab: ByteLevelVocab, path: Path) -> None:
    ids = list(vocab.ranks.values()) + list(vocab.special_tokens.values())
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: two tokens share an id (a special over a regular token?); pass consistent files")


def display_vocab(ranks: Mapping[bytes, int]) -> dict[str, int]:
    """``tokenizer.json``'s ``model.vocab``: ByteLevel display string → id, in id order."""
    return {display(token): id for token, id in sorted(ranks.items(), key=lambda item: item[1])}
