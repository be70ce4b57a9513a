"""Tokenize a corpus in parallel and write packed ``.bin`` shards plus ``manifest.json``.

The main process reads documents (streaming, in corpus order) and cuts them into batches of about
``batch_bytes`` of text; worker processes tokenize batches with the fast tokenizer
(:func:`tokkit.shards.pack.encode_batch`); results come back in submission order and feed one
:class:`~tokkit.shards.stream.ShardStream` per split. At most ``2 × workers`` batches are in
flight, so memory stays flat whatever the corpus size.

Everything is built in a sibling ``.<name>.partial/`` directory with a journal of finished shards,
under a lock (:mod:`tokkit.shards.lock`) so a second run into the same output is refused at once;
the finished directory appears under its real name in one rename. An interrupted run resumes from
the journal when the corpus, tokenizer and config are unchanged: finished shards are verified
(sha256) and skipped, their documents are read but not tokenized again.

A distributed engine reuses the same pure stages: ``encode_batch`` as the map step, the shard
streams fed from its ordered output.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tokkit.atomic import TMP_PREFIX, check_apart, check_output_dir, mark_output, publish_dir
from tokkit.batches import batched
from tokkit.corpus.readers import ReadOptions, ReadStats, corpus_bytes, iter_files, read_documents
from tokkit.errors import InputError, OutputExistsError, TokkitError
from tokkit.load import load_tokenizer
from tokkit.pool import die_with_parent, submit_in_order
from tokkit.shards.framing import AUTO, Framing, framing_for
from tokkit.shards.lock import output_lock
from tokkit.shards.manifest import (
    MANIFEST_FILE,
    SPLITS,
    Manifest,
    ShardInfo,
    SplitInfo,
    TokenizerInfo,
    defining_files,
    sha256_file,
    token_dtype,
    vocab_hash,
)
from tokkit.shards.pack import EncodedBatch, Encoder, encode_batch, is_val
from tokkit.shards.stream import ShardStream
from tokkit.types import Progress, Tokenizer

log = logging.getLogger("tokkit")

JOURNAL_FILE = "journal.json"


@dataclass(frozen=True, kw_only=True)
class ShardConfig:
    """How to cut a corpus into training shards (saved in the manifest).

    ``tokens_per_shard`` is rounded down to a multiple of ``seq_len`` so shards hold whole
    sequences. ``workers`` does not change the output, only the speed: 1 tokenizes in-process,
    N > 1 in N processes, 0 picks (in-process for a ``tokenizer.json``, whose Rust threads use
    every core; one process per CPU for other tokenizers).
    """

    seq_len: int = 2048
    val_fraction: float = 0.005
    tokens_per_shard: int = 1 << 26
    workers: int = 0
    batch_bytes: int = 1 << 20
    bos: str = AUTO
    eos: str = AUTO

    def validate(self) -> None:
        if not 2 <= self.seq_len <= 1 << 24:
            raise InputError(f"`seq_len={self.seq_len}` is out of range; use 2..16777216 (e.g. 2048)")
        if not 0.0 <= self.val_fraction < 1.0:
            raise InputError(f"`val_fraction={self.val_fraction}` must be in [0, 1) (e.g. 0.005)")
        if self.tokens_per_shard < self.seq_len:
            raise InputError(
                f"`tokens_per_shard={self.tokens_per_shard}` is smaller than "
                f"`seq_len={self.seq_len}`; a shard must hold at least one sequence"
            )
        if self.workers < 0:
            raise InputError(f"`workers={self.workers}` must be >= 0 (0 = one per CPU)")
        if self.batch_bytes < 1:
            raise InputError(f"batch_bytes {self.batch_bytes} must be positive")

    @property
    def shard_tokens(self) -> int:
        return self.tokens_per_shard // self.seq_len * self.seq_len

    def recorded(self) -> dict[str, Any]:
        """The fields that decide the output (``workers``/``batch_bytes`` only change speed)."""
        data = asdict(self)
        del data["workers"], data["batch_bytes"]
        return data


# ---------------------------------------------------------------------------- tokenization


TokenizerSpec = str | Path | Tokenizer
"""What sharding takes as its tokenizer: anything :func:`~tokkit.load.load_tokenizer` opens (a
path, ``tiktoken:NAME``) or a :class:`~tokkit.types.Tokenizer` already in hand."""


def make_encoder(tokenizer: TokenizerSpec) -> Encoder:
    """A batch encoder (the tokenizer's ``encode_batch``) for any tokenizer tokkit loads.

    A directory holding a ``tokenizer.json`` is encoded with it (``tokenizers``' Rust
    ``encode_batch_fast``), whatever else the directory holds (a sentencepiece model, tokkit's own
    format): it is the fast path, and the manifest's vocabulary hash still pins the ids.
    """
    if not isinstance(tokenizer, str | Path):
        return tokenizer.encode_batch
    from tokkit.backends.hf import TOKENIZER_JSON

    fast = Path(tokenizer) / TOKENIZER_JSON
    return load_tokenizer(fast if fast.is_file() else tokenizer).encode_batch


def _auto_workers(tokenizer: TokenizerSpec) -> int:
    """``workers=0``: in-process for a ``tokenizer.json`` (its Rust threads already use every
    core, and skip pickling texts to other processes) and for a tokenizer object (it may hold
    threads of its own, and need not travel to other processes), else one process per CPU."""
    from tokkit.backends.hf import TOKENIZER_JSON

    if not isinstance(tokenizer, str | Path):
        return 1
    path = Path(tokenizer)
    if (path / TOKENIZER_JSON).is_file() or path.name == TOKENIZER_JSON:
        return 1
    return os.cpu_count() or 1


_WORKER: tuple[Encoder, Framing, float] | None = None


def _init_worker(tokenizer: TokenizerSpec, framing: Framing, val_fraction: float) -> None:
    die_with_parent()  # a spawned worker: Ctrl-C ends the parent at once, the kernel ends us
    # Parallelism comes from the processes; a Rust thread pool per process would oversubscribe.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    global _WORKER
    _WORKER = (make_encoder(tokenizer), framing, val_fraction)


def _encode_in_worker(texts: list[str]) -> EncodedBatch:
    assert _WORKER is not None, "worker not initialised"
    encode, framing, val_fraction = _WORKER
    return encode_batch(texts, encode, framing, val_fraction)


def text_batches(docs: Iterable[str], batch_bytes: int) -> Iterator[list[str]]:
    """Group texts into batches of about ``batch_bytes`` characters, the unit every engine encodes."""
    return batched(docs, batch_bytes)


def pack_partition(texts: Iterable[str], streams: Mapping[str, ShardStream], encode: Encoder,
                   framing: Framing, config: ShardConfig) -> int:
    """Encode ``texts`` in batches and add each document to its split's stream, then close the
    streams (aborted on an error); return the number of documents. One partition of the Ray engine
    (and of its benchmark), whose document indices start at 0."""
    index = 0
    try:
        for chunk in text_batches(texts, config.batch_bytes):
            encoded = encode_batch(chunk, encode, framing, config.val_fraction)
            for i in range(len(encoded)):
                streams["val" if encoded.val[i] else "train"].add(index, encoded.document(i))
                index += 1
        for stream in streams.values():
            stream.close(index)
    except BaseException:
        for stream in streams.values():
            stream.abort()
        raise
    return index


def _encoded(
    batches: Iterable[list[str]],
    tokenizer: TokenizerSpec,
    framing: Framing,
    config: ShardConfig,
    workers: int,
) -> Iterator[EncodedBatch]:
    """Encoded batches in input order: in-process for one worker, else a bounded process pool."""
    if workers <= 1:
        # One helper thread: while it tokenizes batch k (the Rust encoder releases the GIL and
        # uses every core), this thread reads batch k+1 and the caller packs batch k-1.
        from concurrent.futures import ThreadPoolExecutor

        encode = make_encoder(tokenizer)
        thread = ThreadPoolExecutor(max_workers=1)
        try:
            for _, batch in submit_in_order(
                lambda texts: thread.submit(encode_batch, texts, encode, framing, config.val_fraction),
                batches, window=2,
            ):
                yield batch
        finally:  # on Ctrl-C, not after the batches in flight: the interrupt is answered at once
            thread.shutdown(wait=False, cancel_futures=True)
        return
    import multiprocessing
    import pickle

    if not isinstance(tokenizer, str | Path):
        try:
            pickle.dumps(tokenizer)
        except Exception as err:
            raise InputError(
                f"write_shards: this {tokenizer.kind} tokenizer object cannot be sent to worker "
                f"processes ({type(err).__name__}); pass workers=1, or the tokenizer's path"
            ) from None
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(tokenizer, framing, config.val_fraction),
    )
    try:
        for _, batch in submit_in_order(lambda texts: pool.submit(_encode_in_worker, texts), batches,
                                        window=2 * workers):
            yield batch
    except BrokenProcessPool:
        raise TokkitError(
            "a tokenizer worker process died (out of memory?); re-run the same command to resume, "
            "or lower `workers`"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------- output handling


def _fingerprint(
    files: Sequence[Path], read_options: ReadOptions, config: ShardConfig, tokenizer: TokenizerInfo
) -> dict[str, Any]:
    stats = [p.stat() for p in files]
    return {
        "files": [[str(p), st.st_size, st.st_mtime_ns] for p, st in zip(files, stats, strict=True)],
        "read_options": asdict(read_options),
        "config": config.recorded(),
        "tokenizer": tokenizer.vocab_hash,
        "framing": [tokenizer.bos_id, tokenizer.eos_id],
    }


def _restore(partial: Path, fingerprint: dict[str, Any]) -> dict[str, list[ShardInfo]]:
    """Finished shards of an interrupted run that are still intact (verified by sha256)."""
    from tokkit.shards.stream import shard_name

    journal = partial / JOURNAL_FILE
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        if data.get("fingerprint") != json.loads(json.dumps(fingerprint)):
            log.warning("%s: corpus, tokenizer or options changed since the interrupted run; starting over",
                        partial)
            return {}
        listed = {split: [ShardInfo.from_json(raw) for raw in data["shards"].get(split, [])] for split in SPLITS}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError,
            IndexError):
        return {}  # no journal, or one this run cannot trust: start over
    restored: dict[str, list[ShardInfo]] = {}
    for split, shards in listed.items():
        good: list[ShardInfo] = []
        for k, shard in enumerate(shards):
            path = partial / shard.file
            if shard.file != shard_name(split, k) or not path.is_file() or sha256_file(path) != shard.sha256:
                log.warning("%s: missing or damaged, rewriting it and the shards after it", path)
                break
            good.append(shard)
        restored[split] = good
    return restored


def _write_journal(partial: Path, fingerprint: dict[str, Any], streams: dict[str, ShardStream]) -> None:
    data = {
        "fingerprint": fingerprint,
        "shards": {
            split: [
                {**asdict(s), "start": list(s.start), "end": list(s.end)} for s in stream.shards
            ]
            for split, stream in streams.items()
        },
    }
    tmp = partial / f"{TMP_PREFIX}{JOURNAL_FILE}"
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, partial / JOURNAL_FILE)


def _clear_strays(partial: Path, streams: dict[str, ShardStream]) -> None:
    keep = {s.file for stream in streams.values() for s in stream.shards} | {JOURNAL_FILE}
    for child in partial.iterdir():
        if child.name not in keep:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def _publish(partial: Path, target: Path) -> None:
    """Rename the finished partial dir to ``target`` (replacing an old one if allowed earlier)."""
    mark_output(partial)
    publish_dir(partial, target)


def partial_dir(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f".{output.name}.partial")


# ---------------------------------------------------------------------------- the manifest


def tokenizer_info(tokenizer: TokenizerSpec, config: ShardConfig) -> tuple[Framing, TokenizerInfo]:
    """Load the tokenizer's framing and its manifest record, the same way for every engine.

    A tokenizer object is recorded as ``<kind>`` with no files; its vocabulary hash still pins the ids."""
    if isinstance(tokenizer, str | Path):
        tok, path = load_tokenizer(tokenizer), tokenizer
    else:
        tok, path = tokenizer, None
    framing = framing_for(tok, path, bos=config.bos, eos=config.eos)
    info = TokenizerInfo(
        path=str(path) if path is not None else f"<{tok.kind}>",
        vocab_size=tok.vocab_size,
        vocab_hash=vocab_hash(tok),
        bos_id=framing.bos_id,
        eos_id=framing.eos_id,
        files=defining_files(path) if path is not None and Path(path).exists() else {},
    )
    return framing, info


def build_manifest(
    info: TokenizerInfo,
    config: ShardConfig,
    shards: Mapping[str, Sequence[ShardInfo]],
    *,
    paths: Sequence[str | Path],
    read_options: ReadOptions,
    stats: ReadStats,
    documents: int,
    engine: Mapping[str, Any] | None = None,
) -> Manifest:
    """The manifest of a finished run, built in one place so every engine records the same fields.

    ``shards`` lists each split's shards in order; ``engine`` (if any) is recorded in the config.
    """
    from tokkit import __version__

    recorded = config.recorded()
    if engine is not None:
        recorded["engine"] = dict(engine)
    return Manifest(
        tokenizer=info,
        dtype=token_dtype(info.vocab_size),
        seq_len=config.seq_len,
        splits={
            split: SplitInfo(
                documents=sum(s.documents for s in found),
                tokens=sum(s.tokens for s in found),
                sequences=sum(s.sequences(config.seq_len) for s in found),
                shards=tuple(found),
            )
            for split, found in shards.items()
        },
        config=recorded,
        corpus={
            "paths": [str(p) for p in paths],
            "read_options": asdict(read_options),
            "files": stats.files,
            "documents": documents,
            "bytes": stats.bytes,
            "skipped_paths": stats.skipped_paths,
        },
        tokkit_version=__version__,
    )


# ---------------------------------------------------------------------------- the entry point


def write_shards(
    paths: Sequence[str | Path],
    tokenizer: TokenizerSpec,
    output: str | Path,
    *,
    config: ShardConfig | None = None,
    read_options: ReadOptions | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Manifest:
    """Shard ``paths`` with ``tokenizer`` (a path :func:`~tokkit.load.load_tokenizer` opens, or a
    :class:`~tokkit.types.Tokenizer`) into ``output``; return the manifest.

    A finished ``output`` is verified whole and returned when it is what this call would write
    (:func:`verify_finished`); ``force`` rebuilds it. An interrupted run into ``output`` resumes.
    Another live run into the same ``output`` raises :class:`~tokkit.errors.OutputBusyError`.

    >>> write_shards(["corpus/"], "vocab/llama-zh", "shards/",
    ...              config=ShardConfig(seq_len=2048))  # doctest: +SKIP
    """
    from tokkit.progress import NULL_PROGRESS

    config = config or ShardConfig()
    config.validate()
    read_options = read_options or ReadOptions(split="line")
    progress = progress or NULL_PROGRESS
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: exists and is not a directory; choose another `output`")
    check_apart(output, [*paths, *([tokenizer] if isinstance(tokenizer, str | Path) else [])])
    if force:  # without it, an existing finished output is verified below
        check_output_dir(output, force=True)
    if not paths:
        raise InputError("no corpus given; pass one or more files or directories")
    with output_lock(output):  # a second run into the same output stops here, in one line
        return _write_locked(paths, tokenizer, output, config=config, read_options=read_options,
                             force=force, progress=progress)


def _write_locked(paths: Sequence[str | Path], tokenizer: TokenizerSpec, output: Path, *, config: ShardConfig,
                  read_options: ReadOptions, force: bool, progress: Progress) -> Manifest:
    framing, info = tokenizer_info(tokenizer, config)
    if output.is_dir() and any(output.iterdir()) and not force:
        if not is_finished(output):
            raise OutputExistsError(str(output))
        return verify_finished(output, info, config, paths=paths, read_options=read_options)
    dtype = token_dtype(info.vocab_size)
    stats = ReadStats()
    files = list(iter_files(paths, stats))  # listed once: one warning per skipped file
    fingerprint = _fingerprint(files, read_options, config, info)

    partial = partial_dir(output)
    restored = _restore(partial, fingerprint) if partial.is_dir() else {}
    if not restored and partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)

    streams: dict[str, ShardStream] = {}

    def journal(_: ShardStream) -> None:
        _write_journal(partial, fingerprint, streams)

    for split in SPLITS:
        streams[split] = ShardStream(
            split,
            partial,
            tokens_per_shard=config.shard_tokens,
            dtype=dtype,
            finished=restored.get(split, []),
            on_shard=journal,
        )
    _clear_strays(partial, streams)
    done = [shard for stream in streams.values() for shard in stream.shards]
    if done:
        log.warning("%s: resumed: %d shards (%s documents) already done, verified and skipped",
                    output, len(done), f"{sum(s.documents for s in done):,}")
    # Below ``horizon`` a document is tokenized only if its split's stream still needs it (the
    # split is a hash of the text, far cheaper than tokenizing); from there on every one is.
    horizon = max(stream.resume[0] for stream in streams.values())

    task = progress.task("sharding", total=corpus_bytes(files), unit="bytes")
    documents = 0
    indices: deque[int] = deque()  # corpus index of each text handed to the encoder, in order

    def texts() -> Iterator[str]:
        nonlocal documents
        # (no files: the no-documents error below, not the reader's "no paths given")
        for doc in read_documents(files, read_options, stats=stats, progress=task) if files else ():
            index = documents
            documents += 1
            if index < horizon:
                split = "val" if is_val(doc.text, config.val_fraction) else "train"
                if index < streams[split].resume[0]:
                    continue
            indices.append(index)
            yield doc.text

    workers = config.workers or _auto_workers(tokenizer)
    spec = str(tokenizer) if isinstance(tokenizer, str | Path) else tokenizer
    try:
        for batch in _encoded(text_batches(texts(), config.batch_bytes), spec, framing, config, workers):
            bounds = batch.offsets.tolist()
            for i, val in enumerate(batch.val.tolist()):
                streams["val" if val else "train"].add(indices.popleft(), batch.ids[bounds[i] : bounds[i + 1]])
        for stream in streams.values():
            stream.close(documents)
    except BaseException:
        for stream in streams.values():
            stream.abort()
        if not any(stream.shards for stream in streams.values()):
            shutil.rmtree(partial, ignore_errors=True)  # nothing to resume from: leave nothing
        raise
    if documents == 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise InputError(f"{', '.join(map(str, paths))}: no documents to shard; check the corpus path and `split`")

    manifest = build_manifest(info, config, {split: stream.shards for split, stream in streams.items()},
                              paths=paths, read_options=read_options, stats=stats, documents=documents)
    manifest.save(partial)
    (partial / JOURNAL_FILE).unlink(missing_ok=True)
    _publish(partial, output)
    return manifest


def is_finished(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST_FILE).is_file()


class ShardsExistError(OutputExistsError):
    """A finished shard directory made with other settings is in the way."""

    def __init__(self, message: str) -> None:
        TokkitError.__init__(self, message)


def verify_finished(output: Path, info: TokenizerInfo, config: ShardConfig, *, paths: Sequence[str | Path],
                    read_options: ReadOptions) -> Manifest:
    """A re-run on a finished directory: verify it whole and return its manifest if it is what
    this run would write; a damaged one, or one made with other settings, is refused in one line.

    The corpus is compared by its paths and read options, not its content: after editing the
    files in place, rebuild with ``force``.
    """
    from tokkit.shards.reader import verify_shards

    manifest = verify_shards(output).manifest
    recorded = {key: value for key, value in manifest.config.items() if key != "engine"}
    differs = [name for name, theirs, ours in (
        ("tokenizer", (manifest.tokenizer.vocab_size, manifest.tokenizer.vocab_hash),
         (info.vocab_size, info.vocab_hash)),
        ("bos/eos", (manifest.tokenizer.bos_id, manifest.tokenizer.eos_id), (info.bos_id, info.eos_id)),
        *((key, recorded.get(key), value) for key, value in config.recorded().items()),
        ("corpus", manifest.corpus.get("paths"), [str(p) for p in paths]),
        ("read options", manifest.corpus.get("read_options"), asdict(read_options)),
    ) if theirs != ours]
    if differs:
        raise ShardsExistError(
            f"{output} holds finished shards made with another {', '.join(differs)}; choose another `output` "
            "or pass `force=True` to replace them"
        )
    count = sum(len(split.shards) for split in manifest.splits.values())
    log.warning("%s: already finished; verified %d shards against its manifest, nothing to do", output, count)
    return manifest
