"""What each token id stands for as text bytes, whoever built the tokenizer.

Compression figures need the bytes behind every token: a byte-fallback piece ``<0xE4>`` is one byte
of a character, a byte-level BPE token ``Ġthe`` is `` the``, a metaspace piece ``▁the`` is `` the``,
a WordPiece ``##ing`` is ``ing``. :func:`token_table` reads that once per vocabulary into flat numpy
arrays, so analysis works on histograms of ids rather than on Python strings.

How the bytes are found, per kind (no wrapper class is modified):

- tiktoken: ``decode_single_token_bytes``;
- sentencepiece: ``IsByte`` → ``<0xNN>`` is byte NN, ``IsUnknown``/``IsControl`` → no bytes,
  ``▁`` → space;
- ``tokenizers`` (``tokenizer.json``): ByteLevel display characters → bytes; otherwise ``▁`` → space,
  ``<0xNN>`` → byte NN when the model has ``byte_fallback``, the WordPiece ``##`` prefix dropped;
- anything with ``token_bytes(id)`` (tokkit's from-scratch tokenizers): that method;
- anything else: ``id_to_token`` with the metaspace and ``<0xNN>`` conventions.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokkit.analyze.scripts import HAN, SCRIPTS, classify, code_points, escaped_bytes, utf8_lengths
from tokkit.errors import TokkitError
from tokkit.models.bpe_bytes import DISPLAY_BYTE
from tokkit.types import Tokenizer

METASPACE = "▁"
BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
UNK_NAMES = frozenset({"<unk>", "[UNK]", "<UNK>", "<|unk|>"})
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
    surfaces: list[bytes | None],
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


# --- per kind -------------------------------------------------------------------------------


def _tiktoken_table(tok: Any) -> TokenTable:
    encoding = tok.encoding
    # the rank of a mergeable token is its id; ids in neither map are holes before the specials
    surfaces: list[bytes | None] = [None] * encoding.n_vocab
    for token, rank in encoding._mergeable_ranks.items():
        surfaces[rank] = token
    special = list(encoding._special_tokens.values())
    for name, i in encoding._special_tokens.items():
        surfaces[i] = name.encode("utf-8")
    # encode_ordinary is lossless and decode is the UTF-8 decoding of the concatenated bytes
    return _build(surfaces, special=special, byte_fallback=False, decode_prefix=b"")


def _spm_table(tok: Any) -> TokenTable:
    sp = tok.sp
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
    proto.ParseFromString(tok.model_bytes)
    norm = proto.normalizer_spec
    trainer = proto.trainer_spec
    surfaces: list[bytes | None] = []
    fallback, unknown, special = [], [], []
    for i in range(sp.GetPieceSize()):
        piece = sp.IdToPiece(i)
        if sp.IsByte(i):
            fallback.append(i)
            surfaces.append(bytes([int(piece[3:5], 16)]))
        elif sp.IsUnknown(i):
            unknown.append(i)
            surfaces.append(None)
        elif sp.IsControl(i):
            special.append(i)
            surfaces.append(None)
        else:
            surfaces.append(piece.replace(METASPACE, " ").encode("utf-8"))
    concat = norm.escape_whitespaces and not trainer.treat_whitespace_as_suffix
    prefix = (b" " if norm.add_dummy_prefix else b"") if concat else None
    return _build(
        surfaces,
        fallback=fallback,
        unknown=unknown,
        special=special,
        byte_fallback=bool(trainer.byte_fallback),
        decode_prefix=prefix,
    )


def _flatten(component: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not component:
        return []
    if component.get("type") == "Sequence":
        inner = component.get("pretokenizers") or component.get("decoders") or \
            component.get("normalizers") or []
        return [c for sub in inner for c in _flatten(sub)]
    return [component]


def _hf_table(tok: Any) -> TokenTable:
    hf = tok.hf
    config = json.loads(hf.to_str())
    model = config.get("model") or {}
    decoders = _flatten(config.get("decoder"))
    pre = _flatten(config.get("pre_tokenizer"))
    byte_level = any(c.get("type") == "ByteLevel" for c in decoders + pre)
    byte_fallback = bool(model.get("byte_fallback"))
    prefix = ""
    if model.get("type") == "WordPiece":
        prefix = str(model.get("continuing_subword_prefix") or "##")
    for d in decoders:
        if d.get("type") == "WordPiece":
            prefix = str(d.get("prefix", prefix or "##"))
    unk = model.get("unk_token")
    unk_id = hf.token_to_id(unk) if isinstance(unk, str) else None
    if model.get("type") == "Unigram" and model.get("unk_id") is not None:
        unk_id = int(model["unk_id"])
    added = hf.get_added_tokens_decoder()
    alphabet = DISPLAY_BYTE  # GPT-2's ByteLevel map inverted: display character → byte
    size = hf.get_vocab_size(with_added_tokens=True)
    size = max([size, *(i + 1 for i in added)])
    surfaces: list[bytes | None] = []
    fallback = []
    not_byte_level = 0
    for i in range(size):
        token = hf.id_to_token(i)
        if token is None or i == unk_id:
            surfaces.append(None)
        elif i in added:
            surfaces.append(None if added[i].special else token.encode("utf-8"))
        elif byte_level and all(c in alphabet for c in token):
            surfaces.append(bytes(alphabet[c] for c in token))
        elif byte_fallback and BYTE_PIECE.fullmatch(token):
            fallback.append(i)
            surfaces.append(bytes([int(token[3:5], 16)]))
        else:
            not_byte_level += 1
            if prefix and token.startswith(prefix):
                token = token[len(prefix):]
            surfaces.append(token.replace(METASPACE, " ").encode("utf-8"))
    special = [i for i, t in added.items() if t.special]
    odd_tokens = len(fallback) + not_byte_level + (unk_id is not None)
    lossless = _lossless_byte_level(config, pre, decoders, added, odd_tokens)
    return _build(
        surfaces,
        fallback=fallback,
        unknown=[unk_id] if unk_id is not None else [],
        special=special,
        byte_fallback=byte_fallback,
        decode_prefix=b"" if lossless else None,
    )


def _lossless_byte_level(config: dict[str, Any], pre: list[dict[str, Any]], decoders: list[dict[str, Any]],
                         added: dict[int, Any], odd_tokens: int) -> bool:
    """True when ``decode`` is provably the UTF-8 decoding of the concatenated token bytes.

    That holds for a plain byte-level BPE (GPT-2 style, what ``train-bpe`` writes): no normalizer,
    only ``Split``/``ByteLevel`` pre-tokenizers without an added prefix space, a lone ``ByteLevel``
    decoder, and every token in the ByteLevel alphabet (no byte-fallback, unknown, or non-special
    added tokens). Then a document whose token
    bytes equal its input decodes to the input, and analyze can skip the library's decode.
    """
    return (
        (config.get("model") or {}).get("type") == "BPE"
        and not config.get("normalizer")
        and bool(pre)
        and all(c.get("type") in ("Split", "ByteLevel") for c in pre)
        and not any(c.get("add_prefix_space") for c in pre)
        and [d.get("type") for d in decoders] == ["ByteLevel"]
        and odd_tokens == 0
        and all(t.special for t in added.values())
    )


def _generic_table(tok: Tokenizer, token_bytes: Callable[[int], bytes] | None) -> TokenTable:
    specials = dict(tok.special_tokens)
    special_ids = {i for name, i in specials.items() if name not in UNK_NAMES}
    unknown = [i for name, i in specials.items() if name in UNK_NAMES]
    surfaces: list[bytes | None] = []
    fallback = []
    for i in range(tok.vocab_size):
        if i in special_ids or i in unknown:
            surfaces.append(None)
            continue
        try:
            name = tok.id_to_token(i)
        except (IndexError, KeyError):
            surfaces.append(None)
            continue
        if BYTE_PIECE.fullmatch(name):
            fallback.append(i)
            surfaces.append(bytes([int(name[3:5], 16)]))
        elif token_bytes is not None:
            surfaces.append(bytes(token_bytes(i)))
        else:
            surfaces.append(name.replace(METASPACE, " ").encode("utf-8"))
    byte_level = token_bytes is not None and not fallback
    return _build(
        surfaces,
        fallback=fallback,
        unknown=unknown,
        special=special_ids,
        byte_fallback=bool(fallback) and not byte_level,
        decode_prefix=None,
    )


_TABLES: weakref.WeakKeyDictionary[Any, TokenTable] = weakref.WeakKeyDictionary()


def token_table(tok: Tokenizer) -> TokenTable:
    """The :class:`TokenTable` of ``tok`` (about a second for a 200k vocabulary, then cached per
    underlying library object: tiktoken encodings are shared by name)."""
    library = getattr(tok, "encoding", None) or getattr(tok, "sp", None) or getattr(tok, "hf", None)
    try:
        cached = _TABLES.get(library) if library is not None else None
    except TypeError:  # not weak-referenceable
        cached, library = None, None
    if cached is not None:
        return cached
    table = _make_table(tok)
    if library is not None:
        _TABLES[library] = table
    return table


def _make_table(tok: Tokenizer) -> TokenTable:
    kind = getattr(tok, "kind", None)
    try:
        if kind == "tiktoken" and hasattr(tok, "encoding"):
            return _tiktoken_table(tok)
        if kind == "spm" and hasattr(tok, "sp"):
            return _spm_table(tok)
        if kind == "hf" and hasattr(tok, "hf"):
            return _hf_table(tok)
        token_bytes = getattr(tok, "token_bytes", None)
        return _generic_table(tok, token_bytes if callable(token_bytes) else None)
    except TokkitError:
        raise
    except Exception as err:
        raise TokkitError(
            f"cannot read the vocabulary of this {kind or type(tok).__name__} tokenizer "
            f"({type(err).__name__}: {err}); report it with the tokenizer file"
        ) from None
