"""Check a shard directory as a whole before anything trains on it.

A per-shard sha256 only proves that each listed file is the one the manifest describes. Training
on a dropped entry, a changed ``seq_len`` or ``eos_id``, a ``file`` that points outside the
directory, or ids the model has no embedding row for would still pass, so the manifest is held
to the files it describes and to itself:

- :func:`check_manifest` (metadata only, no token read): the framing ids and dtype fit the
  vocabulary; ``seq_len`` matches the recorded config and every shard but the last of a run is
  exactly the recorded shard size; every ``file`` is a relative ``{split}-NNNNN.bin`` (or Ray's
  ``part-NNNNN/…``) inside the directory, numbered without gaps; shards follow each other in
  corpus order; split and corpus totals equal the sums over the shards; each file's size matches
  its token count, and no ``.bin`` on disk is missing from the manifest.
- :func:`check_tokens` (one read of every shard): its sha256, every id below the vocabulary (and
  below the model's embedding rows when the caller knows them), and a document boundary where the
  manifest puts one (BOS first, EOS last).

Every failure is one :class:`~tokkit.shards.manifest.ShardIntegrityError` line naming the file and
the field.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

import numpy as np

from tokkit.shards.manifest import (
    MANIFEST_FILE,
    SPLITS,
    Manifest,
    ShardInfo,
    ShardIntegrityError,
    token_dtype,
)

REBUILD = "rebuild the shards with `write_shards(..., force=True)`"
SHARD_FILE = re.compile(r"(?:part-(\d{5})/)?(train|val)-(\d{5})\.bin")
"""A shard's ``file`` entry: the local engine's ``train-00003.bin``, Ray's ``part-00001/val-00000.bin``."""
READ_BYTES = 1 << 22


def _fail(where: Path, message: str) -> ShardIntegrityError:
    return ShardIntegrityError(f"{where}: {message}; {REBUILD}")


def _shard_path(directory: Path, shard: ShardInfo, split: str, where: Path) -> tuple[Path, int | None, int]:
    """The shard's path inside ``directory``, its partition (Ray) and its number, or a refusal."""
    name = shard.file
    pure = PurePosixPath(name)
    if pure.is_absolute() or Path(name).is_absolute() or ".." in pure.parts or "\\" in name:
        raise _fail(where, f"shard file {name!r} is not a plain name inside the shard directory")
    match = SHARD_FILE.fullmatch(name)
    if match is None or match.group(2) != split:
        raise _fail(where, f"shard file {name!r} of the {split} split is not named {split}-NNNNN.bin")
    path = directory / name
    root = directory.resolve()
    if not path.resolve().is_relative_to(root):
        raise _fail(where, f"shard file {name!r} resolves outside {directory}")
    partition = None if match.group(1) is None else int(match.group(1))
    return path, partition, int(match.group(3))


def check_manifest(directory: str | Path, manifest: Manifest) -> None:
    """Hold the manifest to itself and to the files on disk, reading no tokens (see the module doc)."""
    directory = Path(directory)
    where = directory / MANIFEST_FILE
    tok = manifest.tokenizer
    vocab = tok.vocab_size
    if vocab <= 0:
        raise _fail(where, f"tokenizer.vocab_size {vocab} is not positive")
    if manifest.dtype != token_dtype(vocab):
        raise _fail(where, f"dtype {manifest.dtype!r} does not fit tokenizer.vocab_size {vocab:,} "
                           f"(expected {token_dtype(vocab)!r})")
    if not 0 <= tok.eos_id < vocab:
        raise _fail(where, f"tokenizer.eos_id {tok.eos_id} is outside the vocabulary (0..{vocab - 1})")
    if tok.bos_id is not None and not 0 <= tok.bos_id < vocab:
        raise _fail(where, f"tokenizer.bos_id {tok.bos_id} is outside the vocabulary (0..{vocab - 1})")
    if tok.bos_id == tok.eos_id:
        raise _fail(where, f"tokenizer.bos_id equals eos_id ({tok.eos_id}); documents would not separate")
    if manifest.config.get("bos") == "none" and tok.bos_id is not None:
        raise _fail(where, f"tokenizer.bos_id is {tok.bos_id} but config.bos is 'none'")

    seq_len = manifest.seq_len
    recorded = manifest.config.get("seq_len")
    if recorded != seq_len:
        raise _fail(where, f"seq_len {seq_len} differs from config.seq_len {recorded}")
    per_shard = manifest.config.get("tokens_per_shard")
    if not isinstance(per_shard, int) or per_shard < seq_len or seq_len < 2:
        raise _fail(where, f"config.tokens_per_shard {per_shard!r} does not hold a sequence of seq_len {seq_len}")
    shard_tokens = per_shard // seq_len * seq_len

    if set(manifest.splits) != set(SPLITS):
        raise _fail(where, f"splits are {sorted(manifest.splits)}, expected {list(SPLITS)}")

    itemsize = np.dtype(manifest.dtype).itemsize
    listed: set[str] = set()
    total_documents = 0
    last_document = 0
    for split_name in SPLITS:
        split = manifest.splits[split_name]
        previous: ShardInfo | None = None
        shards = split.shards
        places = [_shard_path(directory, shard, split_name, where) for shard in shards]
        for k, (shard, (path, partition, number)) in enumerate(zip(shards, places, strict=True)):
            if shard.file in listed:
                raise _fail(where, f"shard file {shard.file!r} is listed twice")
            listed.add(shard.file)
            if k == 0:
                in_order = number == 0
            else:
                _, before, before_number = places[k - 1]
                in_order = (number == before_number + 1) if partition == before else (
                    partition is not None and before is not None and partition > before and number == 0)
            if not in_order:
                after = f"after {shards[k - 1].file}" if k else "first"
                raise _fail(where, f"{shard.file} comes {after}: a shard entry was dropped or reordered")
            last_of_run = k + 1 == len(shards) or places[k + 1][1] != partition
            if not 0 < shard.tokens <= shard_tokens or (not last_of_run and shard.tokens != shard_tokens):
                raise _fail(where, f"{shard.file}: {shard.tokens:,} tokens, but shards hold {shard_tokens:,} "
                                   f"(config.tokens_per_shard {per_shard:,} in whole seq_len {seq_len} sequences)")
            if not shard.start < shard.end or min(*shard.start, *shard.end) < 0:
                raise _fail(where, f"{shard.file}: start {list(shard.start)} is not before end {list(shard.end)}")
            first_doc = shard.start[0] + (1 if shard.start[1] else 0)
            after_doc = shard.end[0] + (1 if shard.end[1] else 0)
            if not (0 if shard.start[1] else 1) <= shard.documents <= max(after_doc - first_doc, 0):
                raise _fail(where, f"{shard.file}: {shard.documents} documents do not fit between start "
                                   f"{list(shard.start)} and end {list(shard.end)}")
            if previous is not None:
                continues = previous.end[1] > 0
                if shard.start < previous.end or (continues and shard.start != previous.end):
                    raise _fail(where, f"{shard.file}: starts at {list(shard.start)} but {previous.file} ends at "
                                       f"{list(previous.end)}: a shard entry was dropped or reordered")
            if not path.is_file():
                raise ShardIntegrityError(f"{path}: listed in the manifest but missing; {REBUILD}")
            size = path.stat().st_size
            if size != shard.tokens * itemsize:
                raise ShardIntegrityError(
                    f"{path}: {size} bytes, the manifest says {shard.tokens * itemsize}; "
                    f"the shard is truncated or replaced, {REBUILD}"
                )
            previous = shard
            last_document = max(last_document, shard.end[0])
        if previous is not None and previous.end[1] != 0:
            raise _fail(where, f"{previous.file}: the {split_name} split ends inside a document (end "
                               f"{list(previous.end)})")
        for field, value, total in (
            ("tokens", split.tokens, sum(s.tokens for s in shards)),
            ("documents", split.documents, sum(s.documents for s in shards)),
            ("sequences", split.sequences, sum(s.tokens // seq_len for s in shards)),
        ):
            if value != total:
                raise _fail(where, f"splits.{split_name}.{field} is {value:,} but its shards add up to {total:,}")
        total_documents += split.documents

    documents = manifest.corpus.get("documents")
    if documents is not None and (not isinstance(documents, int) or documents != total_documents
                                  or last_document > documents):
        raise _fail(where, f"corpus.documents is {documents!r} but the splits hold {total_documents:,}")
    on_disk = {p.relative_to(directory).as_posix() for p in directory.rglob("*.bin")}
    unlisted = sorted(on_disk - listed)
    if unlisted:
        raise _fail(where, f"{unlisted[0]} is on disk but not in the manifest ({len(unlisted)} such): "
                           "a shard entry was dropped")


def check_tokens(directory: str | Path, manifest: Manifest, *, vocab_size: int | None = None) -> int:
    """Read every shard once: sha256, id range and document boundaries; return the largest id.

    ``vocab_size`` is a second bound, e.g. the model's embedding rows.
    """
    directory = Path(directory)
    dtype = np.dtype(manifest.dtype).newbyteorder("<")
    tok = manifest.tokenizer
    largest = -1
    for split in SPLITS:
        for shard in manifest.splits[split].shards:
            path = directory / shard.file
            digest = hashlib.sha256()
            top = -1
            first = last = -1
            with open(path, "rb") as f:
                while block := f.read(READ_BYTES - READ_BYTES % dtype.itemsize):
                    digest.update(block)
                    ids = np.frombuffer(block, dtype=dtype)
                    if first < 0:
                        first = int(ids[0])
                    top = max(top, int(ids.max()))
                    last = int(ids[-1])
            if digest.hexdigest() != shard.sha256:
                raise ShardIntegrityError(
                    f"{path}: sha256 does not match the manifest; the shard was modified, {REBUILD}")
            if top >= tok.vocab_size:
                raise ShardIntegrityError(
                    f"{path}: token id {top:,} is outside the vocabulary of {tok.vocab_size:,} "
                    f"(manifest tokenizer.vocab_size); the shard was not made with this tokenizer, {REBUILD}")
            if vocab_size is not None and top >= vocab_size:
                raise ShardIntegrityError(
                    f"{path}: token id {top:,} has no embedding row (the model has {vocab_size:,}); "
                    "resize the model to the shards' tokenizer (tokkit resize-embeddings)")
            if shard.start[1] == 0 and tok.bos_id is not None and first != tok.bos_id:
                raise _fail(directory / MANIFEST_FILE, f"{shard.file} starts a document with id {first}, "
                                                       f"not tokenizer.bos_id {tok.bos_id}")
            if shard.end[1] == 0 and last != tok.eos_id:
                raise _fail(directory / MANIFEST_FILE, f"{shard.file} ends a document with id {last}, "
                                                       f"not tokenizer.eos_id {tok.eos_id}")
            largest = max(largest, top)
    return largest
