"""tiktoken rank files: read them, and re-derive the merge list a rank table implies.

A tiktoken vocabulary is a table ``token bytes → rank`` with no merge list: its encoder merges
any adjacent pair whose concatenation is a token, lowest rank first. tokkit's encoder applies a
merge list, so the merges are recovered as minbpe's ``GPT4Tokenizer`` does: for each token of two
bytes or more, run that BPE on its own bytes with only the lower ranks; the two parts it ends in
are the pair that makes it, at the token's rank (:func:`split_by_lower_ranks`). A token the lower ranks cannot bring to two
parts has no merge (tiktoken emits it only when a whole chunk spells it; so does tokkit).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from itertools import pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any
from unittest import mock

from tokkit.atomic import atomic_file
from tokkit.errors import InputError, MissingDependencyError, TokkitError

RANKS_SUFFIX = ".tiktoken"
"""The suffix of OpenAI's rank files (``cl100k_base.tiktoken``)."""

LLAMA3_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
"""Llama 3's split pattern (Meta's ``llama_models`` tokenizer; its ``tokenizer.json`` has the same)."""

LLAMA3_SPECIALS = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
    *(f"<|reserved_special_token_{2 + i}|>" for i in range(256 - 11)),
]
"""Llama 3.1/3.2's 256 special tokens, numbered from 128,000 after the ranks (Meta's list)."""

LLAMA3_SHA256 = "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55"
"""sha256 of Meta's Llama 3 ``tokenizer.model`` (128,000 ranks)."""


def is_rank_file(path: Path) -> bool:
    """Does ``path`` look like a tiktoken rank file (``base64 rank`` lines), not a protobuf?"""
    try:
        with path.open("rb") as f:
            head = f.readline(4096)
    except OSError:
        return False
    parts = head.split()
    if len(parts) != 2 or not parts[1].isdigit():
        return False
    try:
        base64.b64decode(parts[0], validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def read_tiktoken_ranks(path: str | Path) -> dict[bytes, int]:
    """The ``token bytes → rank`` table of a tiktoken rank file (``<base64 token> <rank>`` lines)."""
    path = Path(path)
    ranks: dict[bytes, int] = {}
    try:
        with path.open("rb") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    token, rank = line.split()
                    ranks[base64.b64decode(token, validate=True)] = int(rank)
                except (ValueError, binascii.Error):
                    raise InputError(
                        f"{path}: line {number} is not '<base64 token> <rank>'; "
                        "point at a tiktoken rank file"
                    ) from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror}); point at a tiktoken rank file") from None
    if not ranks:
        raise InputError(f"{path}: no ranks inside; point at a tiktoken rank file")
    return ranks


def derive_merges(ranks: Mapping[bytes, int]) -> list[tuple[bytes, bytes]]:
    """The merge list ``ranks`` implies, in rank order: ``(left, right)`` per reachable token."""
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise InputError(f"ranks: byte {missing[0]:#04x} has no rank; a byte-level vocabulary needs all 256")
    merges: list[tuple[bytes, bytes]] = []
    for token, rank in sorted(ranks.items(), key=itemgetter(1)):
        if len(token) > 1:
            parts = split_by_lower_ranks(ranks, token, rank)
            if len(parts) == 2:
                merges.append((parts[0], parts[1]))
    return merges


def cached_merges(ranks: Mapping[bytes, int]) -> list[tuple[bytes, bytes]]:
    """:func:`derive_merges`, remembered on disk (``$TOKKIT_CACHE/bpe-merges``, else
    ``~/.cache/tokkit/bpe-merges``) under the sha256 of the table: deriving o200k's takes seconds,
    reading them back a fraction of one. A cache file that does not fit the table is ignored."""
    ordered = sorted(ranks.items(), key=itemgetter(1))
    digest = hashlib.sha256()
    for token, rank in ordered:
        digest.update(base64.b64encode(token) + b" %d\n" % rank)
    root = os.environ.get("TOKKIT_CACHE")
    path = (Path(root) if root else Path.home() / ".cache" / "tokkit") / "bpe-merges"
    path = path / f"{digest.hexdigest()}.txt"
    by_rank = {rank: token for token, rank in ordered}
    try:
        merges = [(by_rank[int(a)], by_rank[int(b)]) for a, b in map(str.split, path.read_text().splitlines())]
        if all(left + right in ranks for left, right in merges):
            return merges
    except (OSError, ValueError, KeyError):
        pass
    merges = derive_merges(ranks)
    try:
        with atomic_file(path, encoding="utf-8") as f:
            f.writelines(f"{ranks[left]} {ranks[right]}\n" for left, right in merges)
    except OSError:
        pass  # a read-only home: derive again next time
    return merges


def split_by_lower_ranks(ranks: Mapping[bytes, int], token: bytes, below: int) -> list[bytes]:
    """tiktoken's BPE of ``token`` with only ranks below ``below``: merge the adjacent pair whose
    concatenation has the lowest rank (leftmost on a tie) until none has one."""
    parts = [token[k : k + 1] for k in range(len(token))]
    get = ranks.get
    pair_ranks = [get(a + b, below) for a, b in pairwise(parts)]
    while pair_ranks:
        best = min(pair_ranks)
        if best >= below:
            break
        at = pair_ranks.index(best)
        parts[at : at + 2] = [parts[at] + parts[at + 1]]
        del pair_ranks[at]
        if at < len(pair_ranks):
            pair_ranks[at] = get(parts[at] + parts[at + 1], below)
        if at:
            pair_ranks[at - 1] = get(parts[at - 1] + parts[at], below)
    return parts


def llama3_special_tokens(folder: Path | None = None) -> dict[str, int]:
    """Llama 3's special tokens: those of ``folder/tokenizer_config.json`` if there is one (the
    names differ between 3.0 and 3.1+), else Meta's 3.1/3.2 list, from id 128,000."""
    config = None if folder is None else folder / "tokenizer_config.json"
    if config is not None and config.is_file():
        try:
            added = json.loads(config.read_text(encoding="utf-8"))["added_tokens_decoder"]
            return {entry["content"]: int(id) for id, entry in added.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"{config}: no readable added_tokens_decoder; fix or remove the file") from None
    return {text: 128_000 + k for k, text in enumerate(LLAMA3_SPECIALS)}


def known_rank_file(path: Path) -> tuple[str, dict[str, int]] | None:
    """The split pattern and special tokens of a rank file tokkit knows, or None.

    Meta's Llama 3 ``tokenizer.model`` is known by its sha256; OpenAI's by their name
    (``cl100k_base.tiktoken``...), with tiktoken's official pattern, specials and sha256 check.
    """
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest == LLAMA3_SHA256:
        return LLAMA3_PATTERN, llama3_special_tokens(path.parent)
    name = path.name.removesuffix(RANKS_SUFFIX)
    try:
        import tiktoken
    except ImportError:
        return None
    if name not in tiktoken.list_encoding_names():
        return None
    spec = official_spec(name, path)
    if spec is None:  # an encoding of a tiktoken plugin: its own definition
        encoding = tiktoken.get_encoding(name)
        return str(encoding._pat_str), dict(encoding._special_tokens)
    return str(spec["pat_str"]), dict(spec["special_tokens"])


def official_spec(name: str, local: Path) -> dict[str, Any] | None:
    """tiktoken's official definition of encoding ``name`` (``name``, ``pat_str``,
    ``mergeable_ranks``, ``special_tokens``) with its ranks read from the file ``local`` and
    checked against the official sha256; None if tiktoken has no constructor for ``name``.

    The official constructor names its download URL and hash; it is handed ``local`` instead, and
    tiktoken is kept from copying it into its download cache.
    """
    try:
        import tiktoken.load
        from tiktoken_ext import openai_public
    except ImportError:
        raise MissingDependencyError("tiktoken", "analyze") from None
    constructor = openai_public.ENCODING_CONSTRUCTORS.get(name)
    if constructor is None:
        return None
    real_loader = tiktoken.load.load_tiktoken_bpe

    def from_local(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if not url.endswith(f"/{name}{RANKS_SUFFIX}"):
            raise InputError(f"tiktoken:{name}: needs {url}, which is not bundled offline")
        # tiktoken skips its own check when its cache is disabled (TIKTOKEN_CACHE_DIR=""),
        # so check here too: a corrupt cache file must never load silently
        if expected_hash and hashlib.sha256(local.read_bytes()).hexdigest() != expected_hash:
            raise ValueError(f"sha256 of {local} is not {expected_hash}")
        return real_loader(str(local), expected_hash=expected_hash)

    try:
        with mock.patch.object(openai_public, "load_tiktoken_bpe", from_local), \
                mock.patch.dict(os.environ, {"TIKTOKEN_CACHE_DIR": ""}):
            return dict(constructor())
    except ValueError:  # the sha256 check (ours or tiktoken's)
        raise TokkitError(
            f"{local}: bundled tiktoken ranks fail the sha256 check; delete the file and re-run"
        ) from None
