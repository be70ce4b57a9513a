"""Encode batches with each tokenizer and tally what the figures need.

tokkit's work per batch is kept to a few numpy passes over the ids: a histogram of ids (from which
byte-fallback, ``[UNK]``, vocabulary use, token lengths, whole Han characters and the script shares
of whole characters all follow through the vocabulary's :class:`TokenTable`), plus a look in context
at only those tokens that hold part of a character. Round-trip exactness is checked by comparing
token bytes with the input where that provably equals the library's decode, and by the library's
decode everywhere else. One encode always runs ahead on a worker thread.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from tokkit.analyze.scripts import (
    HAN,
    OTHER,
    SCRIPTS,
    chars_by_length,
    classify,
    code_points,
    count_text,
    escaped_bytes,
    utf8_lengths,
)
from tokkit.analyze.token_bytes import (
    NEVER_IN_TEXT,
    PARTIAL,
    SPECIAL,
    UNKNOWN,
    TokenTable,
    token_table,
)
from tokkit.errors import TokkitError
from tokkit.load import load_tokenizer
from tokkit.pool import submit_in_order
from tokkit.types import Tokenizer


@dataclass(frozen=True)
class NamedTokenizer:
    """A tokenizer with the short name reports use (``llama``, ``cl100k_base``)."""

    name: str
    spec: str
    tokenizer: Tokenizer


def tokenizer_label(spec: str | Path) -> str:
    """A short, readable name for a tokenizer spec: the encoding, the folder, or the file stem."""
    text = str(spec)
    if text.startswith("tiktoken:"):
        return text.removeprefix("tiktoken:")
    path = Path(text)
    generic = {"tokenizer", "spm", "model", "vocab", "tokkit"}
    if path.is_file() and path.stem in generic and path.parent.name:
        return path.parent.name
    return path.name or text


def open_tokenizers(specs: Sequence[str | Path | Tokenizer]) -> list[NamedTokenizer]:
    """Load every spec (or take a ready :class:`Tokenizer`) and give each a unique short name."""
    named: list[NamedTokenizer] = []
    seen: dict[str, int] = {}
    for spec in specs:
        if isinstance(spec, str | Path):
            tok, label, text = load_tokenizer(spec), tokenizer_label(spec), str(spec)
        else:
            tok, label, text = spec, str(getattr(spec, "name", spec.kind)), f"<{spec.kind}>"
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        named.append(NamedTokenizer(label, text, tok))
    return named


# --- tallies ---------------------------------------------------------------------------------


@dataclass
class TextTally:
    """What the text itself holds, whatever the tokenizer."""

    documents: int = 0
    chars: int = 0
    bytes: int = 0
    words: int = 0
    script_chars: np.ndarray = field(default_factory=lambda: np.zeros(len(SCRIPTS), np.int64))
    script_bytes: np.ndarray = field(default_factory=lambda: np.zeros(len(SCRIPTS), np.int64))

    def add(self, other: TextTally) -> None:
        self.documents += other.documents
        self.chars += other.chars
        self.bytes += other.bytes
        self.words += other.words
        self.script_chars += other.script_chars
        self.script_bytes += other.script_bytes


@dataclass
class TokenTally:
    """What one tokenizer made of it: an id histogram plus what needs context."""

    histogram: np.ndarray
    split_scripts: np.ndarray = field(default_factory=lambda: np.zeros(len(SCRIPTS)))
    han_split: int = 0
    roundtrip_exact: int = 0

    def add(self, other: TokenTally) -> None:
        self.histogram += other.histogram
        self.split_scripts += other.split_scripts
        self.han_split += other.han_split
        self.roundtrip_exact += other.roundtrip_exact


def text_tally(texts: Sequence[str], encoded: Sequence[bytes]) -> TextTally:
    chars, nbytes, words = count_text(texts)
    return TextTally(
        documents=len(texts),
        chars=int(chars.sum()),
        bytes=sum(map(len, encoded)),
        words=words,
        script_chars=chars,
        script_bytes=nbytes,
    )


class Measurer:
    """Encodes batches with one tokenizer and tallies them against its :class:`TokenTable`."""

    def __init__(self, named: NamedTokenizer, table: TokenTable | None = None) -> None:
        self.named = named
        self.tokenizer = named.tokenizer
        self.table = table if table is not None else token_table(self.tokenizer)
        self.threads: int | None = None  # library threads per encode (None: the library's own)
        # token bytes as one flat array; unknown and special ids stand for bytes that never occur
        # in UTF-8 text, so a document holding one never matches its input and goes to the library
        flags = self.table.flags
        compare = [
            NEVER_IN_TEXT if flag & (UNKNOWN | SPECIAL) else surface
            for surface, flag in zip(self.table.surfaces, flags.tolist(), strict=True)
        ]
        self._blob = np.frombuffer(b"".join(compare), dtype=np.uint8)
        # int32 positions halve the memory traffic of the gathers (vocabularies are far below 2 GB)
        self._lengths = np.fromiter(map(len, compare), dtype=np.int32, count=len(compare))
        self._offsets = (np.cumsum(self._lengths, dtype=np.int64) - self._lengths).astype(np.int32)
        self._partial = (flags & PARTIAL).astype(bool)
        self._has_partial = bool(self._partial.any())
        self._partial_single_bytes = bool((self._lengths[self._partial] == 1).all())
        self._first_byte = np.append(self._blob, np.uint8(0))[self._offsets]

    def __getstate__(self) -> dict[str, object]:
        """Picklable for worker processes without the word table (rebuilt on first use there)."""
        state = self.__dict__.copy()
        state.pop("_words", None)
        return state

    def with_threads(self, threads: int | None) -> Measurer:
        """The same measurer (arrays shared) encoding with at most ``threads`` library threads."""
        other = copy.copy(self)
        other.threads = threads
        return other

    def encode_batch(self, texts: list[str]) -> Sequence[Sequence[int]]:
        """The tokenizer's own batch encode (lists or numpy arrays of ids, as ``encode`` gives)."""
        return self.tokenizer.encode_batch(texts, threads=self.threads)

    def decode_batch(self, batch: list[list[int]]) -> list[str]:
        return self.tokenizer.decode_batch(batch)

    @cached_property
    def _words(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_word_table` plus each token's first word and its mask by id (one gather each for
        the first comparison); built on the first byte check (~20 ms for o200k), so never for a
        tokenizer whose round trips the library decodes."""
        words, masks, first = _word_table(self._lengths, self._offsets, self._blob)
        return words, masks, first, words[first], masks[first]

    def empty(self) -> TokenTally:
        return TokenTally(histogram=np.zeros(self.table.size, np.int64))

    def measure(self, texts: list[str], encoded: Sequence[bytes]) -> TokenTally:
        return self.tally(texts, encoded, self.encode_batch(texts))

    def tally(self, texts: list[str], encoded: Sequence[bytes], id_lists: Sequence[Sequence[int]]) -> TokenTally:
        """Tally one batch already encoded by :attr:`encode_batch` (lists or numpy arrays of ids)."""
        counts = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        total = int(counts.sum())
        if id_lists and isinstance(id_lists[0], np.ndarray):
            ids = np.concatenate(id_lists).astype(np.int64, copy=False)
        else:
            ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=total)
        histogram = np.bincount(ids, minlength=self.table.size) if total else self.empty().histogram
        if len(histogram) > self.table.size:
            raise TokkitError(
                f"{self.named.name}: produced id {len(histogram) - 1} outside its vocabulary of "
                f"{self.table.size}; the tokenizer files are inconsistent"
            )
        tally = TokenTally(histogram=histogram)
        if self._has_partial and total:
            self._split_chars(ids, tally)
        tally.roundtrip_exact = self._roundtrip(texts, encoded, id_lists, ids, counts)
        return tally

    def _stream(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bytes ``ids`` stand for, concatenated (one numpy gather), and each id's length."""
        lengths = self._lengths[ids]
        total = int(lengths.sum(dtype=np.int64))
        if not total:
            return np.zeros(0, np.uint8), lengths
        index_type = np.int32 if total < 2**31 else np.int64
        ends = np.cumsum(lengths, dtype=index_type)
        shift = np.repeat(self._offsets[ids].astype(index_type) - (ends - lengths), lengths)
        shift += np.arange(total, dtype=index_type)
        return self._blob[shift], lengths

    def _split_chars(self, ids: np.ndarray, tally: TokenTally) -> None:
        """Attribute the bytes of characters split across tokens, in context.

        Only tokens holding part of a character are looked at: the bytes of a split character are
        always in consecutive such tokens, so their concatenation reassembles it.
        """
        if self._partial_single_bytes:
            self._split_single_bytes(ids, tally)
            return
        sub = np.compress(self._partial[ids], ids)  # (faster than a boolean index)
        if not len(sub):
            return
        stream, lengths = self._stream(sub)
        cps = code_points(stream.tobytes().decode("utf-8", errors="surrogateescape"))
        char_bytes = utf8_lengths(cps)
        starts = np.cumsum(char_bytes) - char_bytes
        owner = np.repeat(np.arange(len(sub)), lengths)
        split = owner[starts] != owner[starts + char_bytes - 1]
        stray = escaped_bytes(cps)
        cost = np.add.reduceat(np.repeat(1.0 / lengths, lengths), starts)
        classes = classify(cps)
        counted = split | stray
        tally.split_scripts += np.bincount(classes[counted], weights=cost[counted],
                                           minlength=len(SCRIPTS))
        tally.han_split += int(np.count_nonzero(split & (classes == HAN)))

    def _split_single_bytes(self, ids: np.ndarray, tally: TokenTally) -> None:
        """:meth:`_split_chars` where every partial token is one byte (sentencepiece byte fallback):
        a character is split exactly when it has more than one byte, and costs one token per byte."""
        stream = np.compress(self._partial[ids], self._first_byte[ids])
        cps = code_points(stream.tobytes().decode("utf-8", errors="surrogateescape"))
        by_length = chars_by_length(cps)
        tally.split_scripts += np.arange(2, 5) @ by_length[1:]
        tally.split_scripts[OTHER] += np.count_nonzero(escaped_bytes(cps))  # (escaped bytes are "other")
        tally.han_split += int(by_length[1:, HAN].sum())

    def _roundtrip(self, texts: list[str], encoded: Sequence[bytes], id_lists: Sequence[Sequence[int]],
                   ids: np.ndarray, counts: np.ndarray) -> int:
        """Documents with ``decode(encode(x)) == x``.

        Where the table vouches that the library's decode is the concatenated token bytes minus a
        known prefix, documents whose bytes equal ``prefix + input`` are exact without decoding;
        every other document is decoded by the library.
        """
        exact = np.zeros(len(texts), dtype=bool)
        if self.table.decode_prefix is not None and len(ids):
            # slices of about _SLICE_TOKENS tokens keep the arrays in cache
            token_ends = np.cumsum(counts)
            cuts = np.searchsorted(token_ends, np.arange(_SLICE_TOKENS, int(token_ends[-1]), _SLICE_TOKENS))
            bounds = [0, *np.unique(cuts + 1).tolist(), len(texts)]
            for a, b in itertools.pairwise(bounds):
                if a < b:
                    first = int(token_ends[a] - counts[a])
                    exact[a:b] = self._same_bytes(encoded[a:b], ids[first:token_ends[b - 1]], counts[a:b])
        unsure = np.flatnonzero(~exact).tolist()
        if unsure:
            decoded = self.decode_batch([list(map(int, id_lists[i])) for i in unsure])
            for i, text in zip(unsure, decoded, strict=True):
                exact[i] = text == texts[i]
        return int(exact.sum())

    def _same_bytes(self, encoded: Sequence[bytes], ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Whether each document's token bytes are ``decode_prefix + input``."""
        prefix = self.table.decode_prefix
        assert prefix is not None
        lengths = self._lengths[ids]
        byte_ends = np.zeros(len(ids) + 1, np.int64)
        np.cumsum(lengths, out=byte_ends[1:])
        token_ends = np.cumsum(counts)
        got_starts = byte_ends[token_ends - counts]
        want = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)) + len(prefix)
        exact = byte_ends[token_ends] - got_starts == want
        if exact.any():
            # where every length matched, each token's bytes sit where the input's do; otherwise
            # tokens move to their document's place in the input (mismatched documents are
            # already inexact, so where their tokens land does not matter)
            expected = b"".join((prefix, prefix.join(encoded), bytes(8)))
            starts = byte_ends[:-1]
            if not exact.all():
                moved = starts + np.repeat(np.cumsum(want) - want - got_starts, counts)
                starts = np.minimum(moved, len(expected) - 8)
            wrong = self._mismatched(ids, lengths, starts, expected)
            exact[np.searchsorted(token_ends, wrong, side="right")] = False
        return exact

    def _mismatched(self, ids: np.ndarray, lengths: np.ndarray, starts: np.ndarray, expected: bytes) -> np.ndarray:
        """Indices of the tokens whose bytes differ from ``expected`` at their ``starts``.

        Compared eight bytes at a time: one unaligned 64-bit load from the input per token, masked
        to the token's length, against its first word in the table; only tokens longer than eight
        bytes go on to a next word. ``expected`` ends in eight padding bytes, and no start lies
        beyond them.
        """
        all_words, masks, first_word, head, head_mask = self._words
        last = len(expected) - 8
        loads = np.ndarray(shape=(last + 1,), dtype="<u8", buffer=expected, strides=(1,))
        differ = (loads.take(starts) & head_mask[ids]) != head[ids]
        wrong = [np.flatnonzero(differ)]
        which, step = np.flatnonzero(lengths > 8), 1
        while len(which):
            at = np.minimum(starts[which] + 8 * step, last)
            words = first_word[ids[which]] + step
            wrong.append(which[(loads.take(at) & masks[words]) != all_words[words]])
            step += 1
            which = which[lengths[which] > 8 * step]
        return np.concatenate(wrong)


_SLICE_TOKENS = 1 << 16
"""Tokens per slice of the round-trip check."""


def _word_table(lengths: np.ndarray, offsets: np.ndarray, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every token's bytes as little-endian 64-bit words (zero padded), a mask per word of the bytes
    it holds, and each token's first word; an empty token has one word holding nothing."""
    n_words = np.maximum((lengths.astype(np.int64) + 7) // 8, 1)
    first = np.cumsum(n_words) - n_words
    total = int(n_words.sum())
    padded = np.zeros(8 * total, np.uint8)
    shift = np.repeat(8 * first - offsets, lengths)
    padded[shift + np.arange(len(blob))] = blob
    held = np.repeat(lengths.astype(np.int64), n_words) - 8 * (np.arange(total) - np.repeat(first, n_words))
    full = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
    return padded.view("<u8"), full[np.clip(held, 0, 8)], first


def measure_batches(
    measurers: Sequence[Measurer], batches: Iterable[tuple[str, list[str], list[bytes]]]
) -> Iterator[tuple[str, TextTally, list[TokenTally]]]:
    """Tally every batch with every tokenizer, one encode always running ahead.

    The next (batch, tokenizer) is encoded on a worker thread while this one is tallied: the
    libraries encode in native code without the GIL, so on two cores tokkit's numpy work hides
    behind the tokenizer's own.
    """
    jobs = ((source, texts, encoded, m) for source, texts, encoded in batches for m in measurers)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokkit-encode") as pool:
        text = TextTally()
        tallies: list[TokenTally] = []
        for (source, texts, encoded, m), ids in submit_in_order(
            lambda job: pool.submit(job[3].encode_batch, job[1]), jobs, window=2
        ):
            if not tallies:
                text = text_tally(texts, encoded)
            tallies.append(m.tally(texts, encoded, ids))
            if len(tallies) == len(measurers):
                yield source, text, tallies
                tallies = []
