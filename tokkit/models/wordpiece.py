"""A WordPiece tokenizer (BERT's): greedy longest-match-first over BERT-normalized words.

Encoding: special tokens are cut out of the text first (as ``tokenizers`` does with added tokens),
the rest is normalized and split into words (:mod:`tokkit.models.wordpiece_normalize`), and each
word is covered left to right by the longest vocabulary entry that matches, continuation pieces
carrying the ``##`` prefix. A word that cannot be covered, or longer than
``max_input_chars_per_word`` characters, becomes ``[UNK]``. Decoding joins words with spaces and
glues ``##`` pieces to the previous one; it is lossy (case, accents, spacing), but
``encode(decode(encode(x))) == encode(x)``.

The exported ``tokenizer.json`` (BertNormalizer + BertPreTokenizer + WordPiece model) encodes
identically in ``tokenizers``/``transformers``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import regex

from tokkit.errors import InputError
from tokkit.models.files import read_model_json
from tokkit.models.wordpiece_normalize import bert_pretokenize
from tokkit.vocab_bytes import VocabBytes, vocab_bytes_from_names

FORMAT = "tokkit-wordpiece"
FORMAT_VERSION = 1
MODEL_FILE = "wordpiece.json"
VOCAB_FILE = "vocab.txt"
TOKENIZER_JSON = "tokenizer.json"


@dataclass(frozen=True, kw_only=True)
class WordPieceSettings:
    """How text is turned into words and words into pieces (saved with the vocabulary)."""

    unk_token: str = "[UNK]"
    continuing_prefix: str = "##"
    max_input_chars_per_word: int = 100
    lowercase: bool = True
    strip_accents: bool | None = None
    handle_chinese_chars: bool = True


class WordPieceTokenizer:
    """Greedy longest-match-first WordPiece over a fixed vocabulary (id = position in ``vocab``).

    >>> tok = WordPieceTokenizer(["[UNK]", "un", "##aff", "##able", "a"])
    >>> tok.encode("Unaffable a")
    [1, 2, 3, 4]
    """

    kind = "wordpiece"

    def __init__(self, vocab: Sequence[str], *, special_tokens: Sequence[str] = ("[UNK]",),
                 settings: WordPieceSettings | None = None) -> None:
        self.settings = settings or WordPieceSettings()
        self.vocab = list(vocab)
        self.token_to_id = {token: i for i, token in enumerate(self.vocab)}
        if len(self.token_to_id) != len(self.vocab):
            raise InputError("WordPiece vocabulary has duplicate entries; every token must be unique")
        specials = list(dict.fromkeys([self.settings.unk_token, *special_tokens]))
        missing = [t for t in specials if t not in self.token_to_id]
        if missing:
            raise InputError(f"special tokens {missing} are not in the WordPiece vocabulary")
        self._specials = {t: self.token_to_id[t] for t in specials}
        self.unk_id = self.token_to_id[self.settings.unk_token]
        self._special_split = regex.compile(
            "(" + "|".join(regex.escape(t) for t in sorted(specials, key=len, reverse=True)) + ")"
        )
        self._max_len = max((len(t) for t in self.vocab), default=1)
        self._cache: dict[str, tuple[int, ...]] = {}

    # -- the Tokenizer interface ---------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def special_tokens(self) -> Mapping[str, int]:
        return dict(self._specials)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for i, part in enumerate(self._special_split.split(text)):
            if i % 2:
                ids.append(self._specials[part])
            elif part:
                ids.extend(self.encode_ordinary(part))
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode text that contains no special tokens."""
        s = self.settings
        words = bert_pretokenize(text, lowercase=s.lowercase, strip_accents=s.strip_accents,
                                 handle_chinese_chars=s.handle_chinese_chars)
        cache = self._cache
        ids: list[int] = []
        for word in words:
            pieces = cache.get(word)
            if pieces is None:
                pieces = self.encode_word(word)
                if len(cache) < 1 << 20:
                    cache[word] = pieces
            ids.extend(pieces)
        return ids

    def encode_batch(self, texts: Sequence[str], *, threads: int | None = None) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def encode_word(self, word: str) -> tuple[int, ...]:
        """Longest-match-first pieces of one pre-tokenized word (``[UNK]`` if it cannot be covered)."""
        if len(word) > self.settings.max_input_chars_per_word:
            return (self.unk_id,)
        vocab = self.token_to_id
        prefix = self.settings.continuing_prefix
        ids: list[int] = []
        start, n = 0, len(word)
        while start < n:
            end = min(n, start + self._max_len)
            while end > start:
                piece = word[start:end] if start == 0 else prefix + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    ids.append(found)
                    break
                end -= 1
            else:
                return (self.unk_id,)
            start = end
        return tuple(ids)

    def decode(self, ids: Sequence[int]) -> str:
        prefix = self.settings.continuing_prefix
        parts: list[str] = []
        for i in ids:
            token = self.id_to_token(i)
            if parts and token.startswith(prefix):
                parts.append(token[len(prefix):])
            else:
                parts.append(token if not parts else " " + token)
        return "".join(parts)

    def id_to_token(self, id: int) -> str:
        if not 0 <= id < len(self.vocab):
            raise IndexError(f"id {id} is outside the vocabulary of {len(self.vocab)}")
        return self.vocab[id]

    def token_bytes(self, id: int) -> bytes:
        """The text a piece stands for, as UTF-8 (``##`` prefix removed), for analysis."""
        token = self.id_to_token(id)
        prefix = self.settings.continuing_prefix
        return (token[len(prefix):] if token.startswith(prefix) else token).encode("utf-8")

    def vocab_bytes(self) -> VocabBytes:
        """Each piece's text (:meth:`token_bytes`); ``[UNK]`` and the other specials stand for none."""
        return vocab_bytes_from_names(self, self.token_bytes)

    # -- files -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "settings": asdict(self.settings),
            "special_tokens": list(self._specials),
            "vocab": self.vocab,
        }

    def save(self, directory: str | Path) -> Path:
        """Write ``wordpiece.json`` (ours), ``vocab.txt`` (BERT's format, one token a line) and
        ``tokenizer.json`` (for ``tokenizers``/``transformers``); return ``wordpiece.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
        (directory / VOCAB_FILE).write_text("".join(t + "\n" for t in self.vocab), encoding="utf-8")
        self.to_hf().save(str(directory / TOKENIZER_JSON))
        return path

    @classmethod
    def load(cls, path: str | Path) -> WordPieceTokenizer:
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        data = read_model_json(path, "WordPiece", FORMAT, FORMAT_VERSION)
        return cls(data["vocab"], special_tokens=data["special_tokens"],
                   settings=WordPieceSettings(**data["settings"]))

    def to_hf(self) -> Any:
        """The same tokenizer as a ``tokenizers.Tokenizer`` (what ``tokenizer.json`` holds)."""
        from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
        from tokenizers.processors import TemplateProcessing

        s = self.settings
        tok = Tokenizer(models.WordPiece(self.token_to_id, unk_token=s.unk_token,
                                         continuing_subword_prefix=s.continuing_prefix,
                                         max_input_chars_per_word=s.max_input_chars_per_word))
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=s.handle_chinese_chars,
            strip_accents=s.strip_accents, lowercase=s.lowercase)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix=s.continuing_prefix, cleanup=False)
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in self._specials])
        if "[CLS]" in self._specials and "[SEP]" in self._specials:
            cls_id, sep_id = self._specials["[CLS]"], self._specials["[SEP]"]
            tok.post_processor = TemplateProcessing(
                single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
                special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
        return tok
