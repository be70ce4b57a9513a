"""Extend a byte-level BPE vocabulary (Llama 3, Qwen, Mistral Tekken) for Chinese.

The recipe: pre-tokenize the Chinese corpus with the base's own pattern, count the chunks,
encode each distinct chunk with the base, learn ``add`` new merges on top
(:mod:`tokkit.train.bpe_continue`), append the new tokens, check every one is reachable with the
real encoder, and write what the ecosystem loads (:mod:`tokkit.llama.bytelevel_write`).

**Where new ids go.** Every base id stays: regular tokens keep their ranks (the first 128,000
lines of an extended Llama 3 rank file are the base's, byte for byte) and special tokens keep
their ids, because a checkpoint's embedding rows and chat templates refer to them. New tokens take
the ids after the highest base id: for Llama 3, whose 256 reserved specials sit right after the
128,000 ranks (128000…128255), the first new token is 128256 (128257 with Llama 3.2's
``<|image|>`` at 128256); for Tekken, after its 1,000 specials and 130,072 ranks, 131072. In a
ranked encoder (tiktoken) a token's id is its rank, so new tokens rank after every base token and
only merge once the base's merges are done: text in which no new token forms is encoded exactly
as before.

**Partial characters.** A byte-level token may end inside a UTF-8 character. Such a token costs
decoding: streamed output of one token is not text on its own, and ``decode`` of a prefix of the
ids may end in U+FFFD; and it spends a vocabulary slot on a fragment rather than a word. New
tokens are therefore whole characters unless ``allow_partial``.

Output directory (written atomically)::

    tokenizer.json, tokenizer_config.json, special_tokens_map.json   transformers/tokenizers
    tokenizer.model       tiktoken rank file (ranked bases; Llama 3's name for it)
    tekken.json           Tekken bases: mistral_common's format
    new_tokens.tsv        id, token, corpus count, the two ids it was merged from
    tokkit.json           kind "hf", base, config, counts, comparisons
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokkit import __version__
from tokkit.atomic import atomic_dir
from tokkit.corpus.cjk import han_count
from tokkit.corpus.readers import ReadOptions, read_texts
from tokkit.errors import CorpusError, InputError, MissingDependencyError
from tokkit.llama.bytelevel_io import RANK_FILE, ByteLevelVocab, read_bytelevel
from tokkit.llama.bytelevel_write import (
    rank_file_bytes,
    tokenizer_json,
    write_tekken,
    write_transformers_dir,
)
from tokkit.llama.compare import Comparison as SentencePieceComparison
from tokkit.load import write_meta
from tokkit.progress import NULL_PROGRESS
from tokkit.train.bpe_continue import ContinueConfig, ContinueResult, continue_training
from tokkit.train.bpe_count import count_chunks
from tokkit.types import Progress

NEW_TOKENS = "new_tokens.tsv"
TEKKEN_FILE = "tekken.json"
TIKTOKEN_SUFFIX = ".tiktoken"

Encoder = Callable[[list[str]], list[list[int]]]
"""Whole lines in, ids out (no special tokens)."""


@dataclass(frozen=True, kw_only=True)
class Comparison(SentencePieceComparison):
    """Held-out text under the base and the extended vocabulary (the figures of
    :class:`tokkit.llama.compare.Comparison`), checked against every written encoder."""

    mismatches: dict[str, int] = field(default_factory=dict)
    """Encoder name → lines whose ids differ from the extended reference encoder's."""


@dataclass
class ByteLevelExtension:
    """An extended vocabulary and how it was made (:func:`extend_vocab`)."""

    base: ByteLevelVocab
    vocab: ByteLevelVocab
    new_ids: list[int]
    counts: list[int]
    pairs: list[tuple[int, int]]
    dropped: list[bytes]
    skipped: dict[str, int]
    stats: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {
            "base_tokens": len(self.base.ranks),
            "base_specials": len(self.base.special_tokens),
            "added": len(self.new_ids),
            "first_new_id": self.new_ids[0] if self.new_ids else None,
            "vocab_size": self.vocab.vocab_size,
            "id_range": self.vocab.next_id,
            "dropped_unreachable": len(self.dropped),
            "skipped": dict(self.skipped),
            **self.stats,
        }


@dataclass
class ExtendRun:
    """What :func:`extend_bytelevel` wrote."""

    output: Path
    extension: ByteLevelExtension
    comparisons: list[Comparison]
    meta: dict[str, Any]


# --- encoders --------------------------------------------------------------------------------


def hf_tokenizer(vocab: ByteLevelVocab, *, merges_only: bool = False) -> Any:
    """A ``tokenizers.Tokenizer`` built from :func:`tokenizer_json` (what the written file loads as).

    ``merges_only``: with ``ignore_merges`` off, so a chunk that is a token is still built by merges
    (tiktoken and ``ignore_merges`` emit such a chunk whole, which says nothing of reachability).
    """
    import json

    from tokenizers import Tokenizer

    data = tokenizer_json(vocab)
    if merges_only:
        data["model"]["ignore_merges"] = False
    return Tokenizer.from_str(json.dumps(data, ensure_ascii=False))


def chunk_encoder(vocab: ByteLevelVocab, *, merges_only: bool = False) -> Callable[[str | bytes], list[int]]:
    """The base's encoding of one pre-tokenized chunk (no further split, no specials):
    tiktoken's for a ranked vocabulary, ``tokenizers``' BPE model for an explicit merge list (or
    with ``merges_only``, see :func:`hf_tokenizer`)."""
    if vocab.ranked and not merges_only:
        encoding = vocab.tiktoken_encoding()
        return encoding._encode_single_piece
    from tokkit.models.bpe_bytes import display

    model = hf_tokenizer(vocab, merges_only=merges_only).model

    def encode(chunk: str | bytes) -> list[int]:
        raw = chunk if isinstance(chunk, bytes) else chunk.encode("utf-8", "surrogatepass")
        return [t.id for t in model.tokenize(display(raw))]

    return encode


def line_encoder(vocab: ByteLevelVocab) -> Encoder:
    """Reference encoder of whole lines: tiktoken (ranked), else ``tokenizers``."""
    if vocab.ranked:
        encoding = vocab.tiktoken_encoding()
        return lambda lines: [encoding.encode_ordinary(line) for line in lines]
    return hf_encoder(vocab)


def hf_encoder(vocab: ByteLevelVocab, path: Path | None = None) -> Encoder:
    """``tokenizers`` on ``vocab`` (from the ``tokenizer.json`` at ``path`` when it was written)."""
    if path is not None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
    else:
        tokenizer = hf_tokenizer(vocab)
    return lambda lines: [e.ids for e in tokenizer.encode_batch(list(lines), add_special_tokens=False)]


# --- the extension ---------------------------------------------------------------------------


def unreachable_tokens(vocab: ByteLevelVocab, tokens: Sequence[bytes]) -> list[bytes]:
    """Tokens of ``vocab`` that encoding their own bytes by merges does not give as one token."""
    encode = chunk_encoder(vocab, merges_only=True)
    return [t for t in tokens if encode(t) != [vocab.ranks[t]]]


def extend_vocab(
    base: ByteLevelVocab,
    texts: Iterable[str],
    config: ContinueConfig,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ByteLevelExtension:
    """Learn ``config.add`` tokens on ``texts`` on top of ``base``; check each is reachable.

    >>> extend_vocab(read_bytelevel("llama3/tokenizer.model"), texts,
    ...              ContinueConfig(add=24000))  # doctest: +SKIP
    """
    progress = progress or NULL_PROGRESS
    start = time.perf_counter()
    counted = count_chunks(texts, base.pattern, workers=workers,
                           task=progress.task("counting chunks", unit="bytes"))
    if not counted.counts:
        raise CorpusError("the Chinese corpus has no text (empty, blank or skipped files); pass "
                          "`zh_corpus` files with text in them")
    seconds_count = time.perf_counter() - start
    start = time.perf_counter()
    result: ContinueResult = continue_training(
        counted.counts, encode_chunk=chunk_encoder(base), tokens=base.tokens_by_id(),
        next_id=base.next_id, config=config, ranked=base.ranked, progress=progress)
    seconds_merge = time.perf_counter() - start
    del counted.counts
    start = time.perf_counter()
    id_bytes = {**{id: t for t, id in base.ranks.items()},
                **{base.next_id + k: t for k, t in enumerate(result.tokens)}}
    kept = list(range(len(result.tokens)))
    dropped: list[bytes] = []
    task = progress.task("checking every new token is reachable", total=None)
    while True:
        vocab = base.with_tokens([result.tokens[k] for k in kept],
                                 [(id_bytes[result.pairs[k][0]], id_bytes[result.pairs[k][1]]) for k in kept])
        bad = set(unreachable_tokens(vocab, [result.tokens[k] for k in kept]))
        if not bad:
            break
        # Dropping one changes the ids after it and may strand tokens built on it: check again.
        dropped += sorted(bad)
        kept = [k for k in kept if result.tokens[k] not in bad]
    task.update_total(1)
    task.advance(1)
    new_ids = [vocab.ranks[result.tokens[k]] for k in kept]
    pairs = [(_renumber(result.pairs[k][0], vocab, id_bytes), _renumber(result.pairs[k][1], vocab, id_bytes))
             for k in kept]
    stats = {
        "documents": counted.documents, "corpus_bytes": counted.corpus_bytes,
        "unique_chunks": result.stats["words"], "cascades": result.stats["cascades"],
        "last_count": result.stats["last_count"], "seconds_count": round(seconds_count, 2),
        "seconds_merge": round(seconds_merge, 2), "seconds_check": round(time.perf_counter() - start, 2),
    }
    return ByteLevelExtension(base=base, vocab=vocab, new_ids=new_ids,
                              counts=[result.counts[k] for k in kept], pairs=pairs, dropped=dropped,
                              skipped=result.skipped, stats=stats)


def _renumber(id: int, vocab: ByteLevelVocab, id_bytes: Mapping[int, bytes]) -> int:
    """A pair member's id in the final vocabulary (ids after a dropped token shift down)."""
    return vocab.ranks.get(id_bytes[id], -1)


# --- comparisons -----------------------------------------------------------------------------


def compare(name: str, lines: Sequence[str], before: Encoder, after: Encoder,
            others: Mapping[str, Encoder] | None = None) -> Comparison:
    """Encode ``lines`` with the base and the extension; count lines where ``others`` disagree."""
    lines = list(lines)
    ids_before = before(lines)
    ids_after = after(lines)
    mismatches = {label: sum(a != b for a, b in zip(encode(lines), ids_after, strict=True))
                  for label, encode in (others or {}).items()}
    return Comparison(
        name=name, lines=len(lines),
        bytes=sum(len(line.encode("utf-8", "surrogatepass")) for line in lines),
        han=sum(map(han_count, lines)),
        tokens_before=sum(map(len, ids_before)), tokens_after=sum(map(len, ids_after)),
        changed_lines=sum(a != b for a, b in zip(ids_before, ids_after, strict=True)),
        mismatches=mismatches,
    )


def read_lines(paths: Sequence[str | Path]) -> list[str]:
    return list(read_texts(paths, ReadOptions(split="line")))


def _bounded(texts: Iterable[str], max_bytes: int | None) -> Iterator[str]:
    seen = 0
    for text in texts:
        if max_bytes is not None and seen >= max_bytes:
            return
        seen += len(text.encode("utf-8", "surrogatepass"))
        yield text


# --- the whole recipe ------------------------------------------------------------------------


def extend_bytelevel(
    base: str | Path,
    output: str | Path,
    *,
    zh_corpus: Sequence[str | Path],
    config: ContinueConfig,
    heldout: Mapping[str, Sequence[str | Path]] | None = None,
    read_options: ReadOptions | None = None,
    max_bytes: int | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ExtendRun:
    """Extend the byte-level vocabulary at ``base`` on ``zh_corpus`` and write ``output``.

    ``heldout`` maps a name (``zh``, ``en``) to files compared before/after, line by line, with
    the written ``tokenizer.json`` (tokenizers) checked against the reference encoder too.

    >>> extend_bytelevel("llama3/tokenizer.model", "vocab/llama3-zh", zh_corpus=["corpora/zh"],
    ...                  config=ContinueConfig(add=24000))  # doctest: +SKIP
    """
    progress = progress or NULL_PROGRESS
    if not zh_corpus:
        raise InputError("no Chinese corpus; pass `zh_corpus=PATH`")
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        raise MissingDependencyError("tokenizers", "analyze") from None
    vocab = read_bytelevel(base)
    heldout_lines = {name: read_lines(paths) for name, paths in (heldout or {}).items()}
    with atomic_dir(output, force=force) as tmp:
        texts = _bounded(read_texts(zh_corpus, read_options), max_bytes)
        try:
            extension = extend_vocab(vocab, texts, config, workers=workers, progress=progress)
        except CorpusError as err:  # it knows no file names: put them in front
            raise CorpusError(f"{', '.join(map(str, zh_corpus))}: {err}") from None
        extended = extension.vocab
        task = progress.task("writing and comparing", total=len(heldout_lines) + 1)
        files = [p.name for p in write_transformers_dir(extended, tmp)]
        if extended.ranked:
            name = RANK_FILE if vocab.format == "tiktoken" else f"{vocab.name}{TIKTOKEN_SUFFIX}"
            data = rank_file_bytes(extended)
            if vocab.format == "tiktoken" and not data.startswith(Path(vocab.source).read_bytes().rstrip(b"\n")):
                raise InputError(f"{vocab.source}: the written rank file does not start with the base's; "
                                 "this is a bug in tokkit")
            (tmp / name).write_bytes(data)
            files.append(name)
        if vocab.format == "tekken":
            write_tekken(extended, tmp / TEKKEN_FILE)
            files.append(TEKKEN_FILE)
        _write_new_tokens(tmp / NEW_TOKENS, extension)
        files.append(NEW_TOKENS)
        task.advance()
        before, after = line_encoder(vocab), line_encoder(extended)
        ours = extended.tokenizer()
        others = {"tokkit": lambda lines: [ours.encode(line) for line in lines]}
        if extended.ranked:
            others["tokenizers"] = hf_encoder(extended, tmp / "tokenizer.json")
        comparisons = []
        for label, lines in heldout_lines.items():
            comparisons.append(compare(label, lines, before, after, others))
            task.advance()
        meta = {
            "kind": "hf",
            "backend": "tokenizers",
            "tokkit_version": __version__,
            "recipe": "extend",
            "vocab_size": extended.vocab_size,
            "base": {"path": str(vocab.source), "format": vocab.format, "name": vocab.name,
                     "sha256": hashlib.sha256(Path(vocab.source).read_bytes()).hexdigest(),
                     "tokens": len(vocab.ranks), "special_tokens": len(vocab.special_tokens),
                     "next_id": vocab.next_id, "ranked": vocab.ranked},
            "extend": extension.summary(),
            "extend_config": config.to_dict(),
            "comparisons": [c.to_dict() for c in comparisons],
            "files": files,
        }
        write_meta(tmp, meta)
    return ExtendRun(output=Path(output), extension=extension, comparisons=comparisons, meta=meta)


def _write_new_tokens(path: Path, extension: ByteLevelExtension) -> None:
    tokens = extension.vocab.tokens_by_id()
    with open(path, "w", encoding="utf-8") as f:
        f.write("id\ttoken\tcount\tleft\tright\n")
        for id, count, (left, right) in zip(extension.new_ids, extension.counts, extension.pairs, strict=True):
            f.write(f"{id}\t{_readable(tokens[id])}\t{count}\t{left}\t{right}\n")


def _readable(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(ch if ch.isprintable() and ch != "\t" else f"\\u{ord(ch):04x}" for ch in text)
