"""The contract between sharding and training: ``manifest.json`` beside the ``.bin`` shards.

A trainer must never read shards made with another tokenizer, so the manifest pins the tokenizer
by a hash of its vocabulary (id → token string, plus special tokens: exactly what the model's
embedding rows are indexed by) and records the sha256 of its defining files for the record. Every
shard is listed with its token count and sha256, so a reader can refuse a truncated or tampered
file before training on it.

The manifest carries its own ``checksum`` (sha256 of its canonical JSON without that field), so
an edited field is caught even when the edit is self-consistent; :mod:`tokkit.shards.verify` then
checks the whole record against the files on disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokkit.errors import InputError
from tokkit.types import Tokenizer

MANIFEST_FILE = "manifest.json"
FORMAT = "tokkit-shards"
VERSION = 2
"""2: the manifest carries its own ``checksum``."""
SPLITS = ("train", "val")

DEFINING_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "spm.model",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
)
"""Files that define a tokenizer's ids; their sha256 are recorded (informative, not compared).

``tokkit.json`` is left out: it records how and how fast a tokenizer was trained (timings), which
would make two identical shard runs write different manifests, and the files beside it are what
define the tokens."""


class ShardIntegrityError(InputError):
    """A shard directory does not match its manifest, or the manifest does not match itself."""


def manifest_checksum(data: Mapping[str, Any]) -> str:
    """sha256 of a manifest's canonical JSON (sorted keys, no spaces), ``checksum`` left out."""
    body = {key: value for key, value in data.items() if key != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def sha256_file(path: str | Path, *, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def vocab_hash(tokenizer: Tokenizer) -> str:
    """sha256 of the id → token table, the thing a model's embedding rows are indexed by.

    Format-independent on purpose: a sentencepiece ``tokenizer.model`` and the ``tokenizer.json``
    converted from it index the same rows (libraries disagree on which tokens they flag as
    special, so flags are left out), and a model saved with either still matches its shards.
    """
    digest = hashlib.sha256()
    for i in range(tokenizer.vocab_size):
        digest.update(tokenizer.id_to_token(i).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def defining_files(directory: str | Path) -> dict[str, str]:
    """``{file name: sha256}`` of the defining files present in a tokenizer dir (or one file)."""
    path = Path(directory)
    if path.is_file():
        return {path.name: sha256_file(path)}
    return {name: sha256_file(path / name) for name in DEFINING_FILES if (path / name).is_file()}


@dataclass(frozen=True, kw_only=True)
class TokenizerInfo:
    """Which tokenizer made the shards, and how documents were framed."""

    path: str
    vocab_size: int
    vocab_hash: str
    bos_id: int | None
    eos_id: int
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ShardInfo:
    """One ``.bin`` file: a run of whole ``seq_len`` sequences (the last shard may end short).

    ``start``/``end`` are (document index, token offset within that framed document) of the first
    token in the shard and of the first token after it: the resume point of the next shard and a
    map from shard back to corpus documents.
    """

    file: str
    tokens: int
    sha256: str
    documents: int
    start: tuple[int, int]
    end: tuple[int, int]

    def sequences(self, seq_len: int) -> int:
        return self.tokens // seq_len

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShardInfo:
        return cls(
            file=str(data["file"]),
            tokens=int(data["tokens"]),
            sha256=str(data["sha256"]),
            documents=int(data["documents"]),
            start=(int(data["start"][0]), int(data["start"][1])),
            end=(int(data["end"][0]), int(data["end"][1])),
        )


@dataclass(frozen=True, kw_only=True)
class SplitInfo:
    documents: int
    tokens: int
    sequences: int
    shards: tuple[ShardInfo, ...]


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """Everything a trainer needs to trust a shard directory."""

    tokenizer: TokenizerInfo
    dtype: str
    seq_len: int
    splits: Mapping[str, SplitInfo]
    config: Mapping[str, Any] = field(default_factory=dict)
    corpus: Mapping[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    version: int = VERSION
    tokkit_version: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for split in data["splits"].values():
            for shard in split["shards"]:
                shard["start"], shard["end"] = list(shard["start"]), list(shard["end"])
            split["shards"] = list(split["shards"])
        data["checksum"] = manifest_checksum(data)
        return data

    def save(self, directory: str | Path) -> Path:
        """Write ``manifest.json`` atomically (it is the last file a shard run writes)."""
        from tokkit.atomic import atomic_file

        path = Path(directory) / MANIFEST_FILE
        with atomic_file(path, encoding="utf-8") as f:
            f.write(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Manifest:
        directory = Path(directory)
        path = directory / MANIFEST_FILE
        if not directory.is_dir():
            raise InputError(f"{directory}: no such shard directory; run `tokkit shard` first")
        if not path.is_file():
            raise InputError(
                f"{path}: missing; {directory} is not a finished shard directory "
                "(re-run `tokkit shard` to finish or resume it)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise InputError(f"{path}: not a tokkit shard manifest (format={data.get('format')!r})")
            if int(data.get("version", 0)) > VERSION:
                raise InputError(
                    f"{path}: manifest version {data['version']} is newer than this tokkit "
                    f"understands ({VERSION}); upgrade tokkit"
                )
            if "checksum" not in data:
                raise InputError(
                    f"{path}: the manifest carries no checksum (written by an older tokkit, or edited); "
                    "rebuild the shards with `write_shards(..., force=True)`"
                )
            if data["checksum"] != manifest_checksum(data):
                raise ShardIntegrityError(
                    f"{path}: the manifest's checksum does not match its content (the manifest was "
                    "edited or damaged); rebuild the shards with `write_shards(..., force=True)`"
                )
            tok = data["tokenizer"]
            splits = {
                name: SplitInfo(
                    documents=int(s["documents"]),
                    tokens=int(s["tokens"]),
                    sequences=int(s["sequences"]),
                    shards=tuple(ShardInfo.from_json(x) for x in s["shards"]),
                )
                for name, s in data["splits"].items()
            }
            return cls(
                tokenizer=TokenizerInfo(
                    path=str(tok["path"]),
                    vocab_size=int(tok["vocab_size"]),
                    vocab_hash=str(tok["vocab_hash"]),
                    bos_id=None if tok.get("bos_id") is None else int(tok["bos_id"]),
                    eos_id=int(tok["eos_id"]),
                    files=dict(tok.get("files", {})),
                ),
                dtype=str(data["dtype"]),
                seq_len=int(data["seq_len"]),
                splits=splits,
                config=dict(data.get("config", {})),
                corpus=dict(data.get("corpus", {})),
                version=int(data["version"]),
                tokkit_version=str(data.get("tokkit_version", "")),
            )
        except InputError:
            raise
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, AttributeError,
                IndexError) as err:
            raise InputError(f"{path}: unreadable shard manifest ({err!r}); re-run `tokkit shard`") from None

    def split(self, name: str) -> SplitInfo:
        try:
            return self.splits[name]
        except KeyError:
            raise InputError(f"shard manifest has no '{name}' split (has: {', '.join(self.splits)})") from None


def token_dtype(vocab_size: int) -> str:
    """The narrowest numpy dtype that holds every id: uint16 up to 65,536 tokens, else uint32."""
    if vocab_size <= 0:
        raise InputError(f"vocabulary size {vocab_size} is not positive; check the tokenizer")
    return "uint16" if vocab_size <= 1 << 16 else "uint32"
