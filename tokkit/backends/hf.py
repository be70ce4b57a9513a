"""A `tokenizers.Tokenizer` (any ``tokenizer.json``) behind tokkit's :class:`Tokenizer` interface."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer as _HFTokenizer

from tokkit.errors import InputError
from tokkit.vocab_bytes import VocabBytes

TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
_VOCAB_BYTES: weakref.WeakKeyDictionary[Any, VocabBytes] = weakref.WeakKeyDictionary()


class HFTokenizer:
    """Wraps a HF fast tokenizer; ``encode`` adds no special tokens (raw text → ids)."""

    kind = "hf"

    def __init__(self, tokenizer: _HFTokenizer, *, named_specials: Mapping[str, int] | None = None) -> None:
        self.hf = tokenizer
        self.named_specials = dict(named_specials or {})
        """Specials the config beside the file names (``bos_token``...) that the file does not
        register as added tokens: sentencepiece exports keep them out so text spelling them stays text."""

    @property
    def vocab_size(self) -> int:
        return int(self.hf.get_vocab_size(with_added_tokens=True))

    @property
    def special_tokens(self) -> Mapping[str, int]:
        added = {t.content: i for i, t in self.hf.get_added_tokens_decoder().items() if t.special}
        return {**self.named_specials, **added}

    def encode(self, text: str) -> list[int]:
        return list(self.hf.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Sequence[str], *, threads: int | None = None) -> list[list[int]]:
        """The library's batch encode without offsets (``encode_batch_fast``: 8–26% faster in benchmarks/bench_analyze.py runs; same ids)."""
        batch = getattr(self.hf, "encode_batch_fast", self.hf.encode_batch)
        return [e.ids for e in batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.hf.decode(list(ids), skip_special_tokens=False))

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [str(s) for s in self.hf.decode_batch(list(batch), skip_special_tokens=False)]

    def vocab_bytes(self) -> VocabBytes:
        """Read once per library tokenizer (:func:`~tokkit.backends.hf_vocab.hf_vocab_bytes`)."""
        cached = _VOCAB_BYTES.get(self.hf)
        if cached is None:
            from tokkit.backends.hf_vocab import hf_vocab_bytes

            cached = _VOCAB_BYTES[self.hf] = hf_vocab_bytes(self.hf)
        return cached

    def id_to_token(self, id: int) -> str:
        token = self.hf.id_to_token(id)
        if token is None:
            raise IndexError(f"id {id} is outside the vocabulary of {self.vocab_size}")
        return str(token)

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / TOKENIZER_JSON
        path.parent.mkdir(parents=True, exist_ok=True)
        self.hf.save(str(path))
        return path

    @classmethod
    def load(cls, path: str | Path) -> HFTokenizer:
        path = Path(path)
        if path.is_dir():
            path = path / TOKENIZER_JSON
        try:
            tokenizer = _HFTokenizer.from_file(str(path))
        except Exception as err:  # the binding raises plain Exception
            raise InputError(f"{path}: not a loadable tokenizer.json ({err})") from None
        config = _config(path.parent / TOKENIZER_CONFIG)
        tokenizer.encode_special_tokens = config.get("split_special_tokens") is True
        named: dict[str, int] = {}
        for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
            token = config.get(key)
            if isinstance(token, str) and (id_ := tokenizer.token_to_id(token)) is not None:
                named[token] = id_
        return cls(tokenizer, named_specials=named)


def _config(path: Path) -> dict[str, object]:
    """The ``tokenizer_config.json`` beside the file ({} if none or unreadable: transformers'
    defaults). Its ``split_special_tokens`` is transformers' switch for "special-token text is
    text" (``tokenizer.json`` cannot store it); its ``bos_token``... name specials that a
    sentencepiece export keeps out of the added tokens."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
