"""What each id of a ``tokenizers.Tokenizer`` (any ``tokenizer.json``) stands for as text bytes.

Read from the tokenizer's own JSON: ByteLevel display characters → bytes; otherwise ``▁`` → space,
``<0xNN>`` → byte NN when the model has ``byte_fallback``, the WordPiece ``##`` prefix dropped;
added special tokens and the unknown token → no bytes. A plain byte-level BPE (what ``train-bpe``
writes) is also vouched lossless, so analysis compares bytes instead of decoding.
"""

from __future__ import annotations

import json
from typing import Any

from tokkit.models.bpe_bytes import DISPLAY_BYTE
from tokkit.vocab_bytes import BYTE_PIECE, METASPACE, VocabBytes


def _flatten(component: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not component:
        return []
    if component.get("type") == "Sequence":
        inner = component.get("pretokenizers") or component.get("decoders") or \
            component.get("normalizers") or []
        return [c for sub in inner for c in _flatten(sub)]
    return [component]


def hf_vocab_bytes(hf: Any) -> VocabBytes:
    """The :class:`VocabBytes` of ``hf``, a ``tokenizers.Tokenizer``."""
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
    return VocabBytes(
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
    added tokens). Then a document whose token bytes equal its input decodes to the input, and
    analysis can skip the library's decode.
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
