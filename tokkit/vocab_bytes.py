"""What each token id stands for as text bytes: the one vocabulary fact analysis needs from a tokenizer.

Compression figures count the bytes behind every token: a byte-fallback piece ``<0xE4>`` is one byte
of a character, a byte-level BPE token ``Ġthe`` is `` the``, a metaspace piece ``▁the`` is `` the``,
a WordPiece ``##ing`` is ``ing``. Every :class:`~tokkit.types.Tokenizer` answers with
:class:`VocabBytes` (its ``vocab_bytes()``), so no consumer needs to know which library is behind it.
:func:`vocab_bytes_from_names` is the answer for a tokenizer that only names its tokens (or knows
each id's bytes, ``token_bytes``), with the common conventions: ``<0xNN>`` is byte NN, ``▁`` is a
space, ``[UNK]``-style specials are unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokkit.types import Tokenizer

METASPACE = "▁"
BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
UNK_NAMES = frozenset({"<unk>", "[UNK]", "<UNK>", "<|unk|>"})


@dataclass(frozen=True, eq=False)
class VocabBytes:
    """Per id, the text bytes it contributes to a decode, and what kind of id it is.

    ``surfaces[i]`` is ``None`` for an id that stands for no text (a control or special token, the
    unknown token, a hole in the id space). ``fallback`` ids are byte-fallback pieces (one byte of a
    character each), ``unknown`` the unknown token(s), ``special`` the special/control ones.
    ``byte_fallback`` says the model falls back to bytes for what it cannot cover. ``decode_prefix``
    is set when the tokenizer's ``decode`` provably returns the input whenever the concatenated
    surfaces equal ``decode_prefix + input`` (tiktoken: ``b""``; sentencepiece with its dummy-prefix
    space: ``b" "``), which spares analysis a decode per document; ``None``: decode to know.
    """

    surfaces: Sequence[bytes | None]
    fallback: Collection[int] = ()
    unknown: Collection[int] = ()
    special: Collection[int] = ()
    byte_fallback: bool = False
    decode_prefix: bytes | None = None


def vocab_bytes_from_names(tok: Tokenizer, token_bytes: Callable[[int], bytes] | None = None) -> VocabBytes:
    """:class:`VocabBytes` from ``special_tokens`` and ``id_to_token`` (``<0xNN>`` → byte NN, else
    ``token_bytes(id)`` when given, else the name with ``▁`` as a space), never a ``decode_prefix``."""
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
    return VocabBytes(surfaces, fallback=fallback, unknown=unknown, special=special_ids,
                      byte_fallback=bool(fallback), decode_prefix=None)
