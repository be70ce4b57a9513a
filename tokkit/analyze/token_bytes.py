"""What each token id stands for as text bytes, whoever built the tokenizer.

Compression figures need the bytes behind every token: a byte-fallback piece ``<0xE4>`` is one byte
of a character, a byte-level BPE token ``Ġthe`` is `` the``, a metaspace piece ``▁the`` is `` the``,
a WordPiece ``##ing`` is ``ing``. :func:`token_table` reads that once per vocabulary into flat numpy
arrays, so analysis works on histograms of ids rather than on Python strings.

The bytes come from the tokenizer itself (``Tokenizer.vocab_bytes()``, see
:mod:`tokkit.vocab_bytes`): each adapter reads its library's vocabulary its own way, so this
module never asks which library is behind a tokenizer.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tokkit.analyze.scripts import HAN, SCRIPTS, classify, code_points, escaped_bytes, utf8_lengths
from tokkit.errors import TokkitError
from tokkit.types import Tokenizer
from tokkit.vocab_bytes import VocabBytes

NEVER_IN_TEXT = b"\xff"
"""Stands in for the bytes of an unknown token when comparing with the input: invalid UTF-8 can
never equal the encoding of a real string, so a document holding ``[UNK]`` never matches."""

FALLBACK, UNKNOWN, SPECIAL, PARTIAL = 1, 2, 4, 8
"""Bit flags of :attr:`TokenTable.flags`. ``PARTIAL``: the token's bytes are not whole characters
(a byte piece of a Han character, or a byte-level token ending mid-character)."""


@dataclass(frozen=True, eq=False)
class TokenTable:
    """Per-id facts about a vocabulary, as arrays indexed by token id.

    ``surfaces[i]`` is the text bytes token ``i`` contributes (``b""`` for control/special tokens
    and unknown ids); ``scripts[i]`` spreads the token's cost over the script classes of the whole
    characters it holds (each byte carries ``1/len`` of a token); bytes of characters split across
    tokens are attributed in context by the analysis. ``decode_prefix`` is set when the library's
    decode provably returns the input whenever the concatenated surfaces equal ``prefix + input``
    (tiktoken: ``b""``; sentencepiece with its dummy-prefix space: ``b" "``), which spares a decode
    call per document; ``None`` means ask the library.
    """

    surfaces: list[bytes]
    lengths: np.ndarray
    nchars: np.ndarray
    flags: np.ndarray
    scripts: np.ndarray
    han_whole: np.ndarray
    byte_fallback: bool
    decode_prefix: bytes | None

    @property
    def size(self) -> int:
        return len(self.surfaces)

    def has(self, id: int, flag: int) -> bool:
        return bool(self.flags[id] & flag)


def _build(
    surfaces: Sequence[bytes | None],
    *,
    fallback: Iterable[int] = (),
    unknown: Iterable[int] = (),
    special: Iterable[int] = (),
    byte_fallback: bool,
    decode_prefix: bytes | None,
) -> TokenTable:
    """Vectorized over the vocabulary: one decode per token, the rest numpy."""
    size = len(surfaces)
    flags = np.zeros(size, dtype=np.uint8)
    for ids, flag in ((fallback, FALLBACK), (unknown, UNKNOWN), (special, SPECIAL)):
        index = np.fromiter((i for i in ids if 0 <= i < size), dtype=np.int64)
        flags[index] |= flag
    missing = np.fromiter((i for i, s in enumerate(surfaces) if s is None), dtype=np.int64)
    flags[missing[(flags[missing] & UNKNOWN) == 0]] |= SPECIAL
    clean = [b"" if s is None else s for s in surfaces]
    lengths = np.fromiter(map(len, clean), dtype=np.int64, count=size)
    # surrogateescape keeps each undecodable byte as one code point, so nothing merges across tokens
    decoded = [s.decode("utf-8", errors="surrogateescape") for s in clean]
    cps = code_points("".join(decoded))
    owner = np.repeat(np.arange(size), np.fromiter(map(len, decoded), dtype=np.int64, count=size))
    stray = escaped_bytes(cps)
    whole = ~stray
    flags[np.unique(owner[stray])] |= PARTIAL
    nchars = np.bincount(owner[whole], minlength=size).astype(np.int64)
    classes = classify(cps).astype(np.int64)
    share = np.zeros(len(cps), dtype=np.float64)
    share[whole] = utf8_lengths(cps[whole]) / np.maximum(lengths, 1)[owner[whole]]
    scripts = np.bincount(owner * len(SCRIPTS) + classes, weights=share,
                          minlength=size * len(SCRIPTS)).reshape(size, len(SCRIPTS))
    han_whole = np.bincount(owner[whole & (classes == HAN)], minlength=size).astype(np.int64)
    return TokenTable(
        surfaces=clean,
        lengths=lengths,
        nchars=nchars,
        flags=flags,
        scripts=scripts,
        han_whole=han_whole,
        byte_fallback=byte_fallback,
        decode_prefix=decode_prefix,
    )


_TABLES: weakref.WeakKeyDictionary[VocabBytes, TokenTable] = weakref.WeakKeyDictionary()


def token_table(tok: Tokenizer) -> TokenTable:
    """The :class:`TokenTable` of ``tok`` (about a second for a 200k vocabulary), cached for as long
    as the tokenizer hands out the same :class:`VocabBytes` (the library adapters keep theirs per
    library object, and tiktoken's encodings are shared by name)."""
    try:
        vocab = tok.vocab_bytes()
        cached = _TABLES.get(vocab)
        if cached is not None:
            return cached
        table = _build(vocab.surfaces, fallback=vocab.fallback, unknown=vocab.unknown,
                       special=vocab.special, byte_fallback=vocab.byte_fallback,
                       decode_prefix=vocab.decode_prefix)
    except TokkitError:
        raise
    except Exception as err:
        raise TokkitError(
            f"cannot read the vocabulary of this {tok.kind} tokenizer "
            f"({type(err).__name__}: {err}); report it with the tokenizer file"
        ) from None
    _TABLES[vocab] = table
    return table
