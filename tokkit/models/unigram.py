"""A Unigram language-model tokenizer (sentencepiece's): Viterbi over scored pieces.

Text is normalized the sentencepiece way — per-character rules (NFKC or none; every whitespace
character a space: :mod:`tokkit.models.unigram_normalize`), whitespace runs collapsed,
leading/trailing whitespace dropped, a ``▁`` put before every word — and each word is segmented
into the pieces whose summed log-probabilities (``scores``) are highest. A character no piece
covers is ``<unk>`` (consecutive ones fused into one, as sentencepiece does) or, with
``byte_fallback``, its UTF-8 bytes ``<0xNN>``. ``encode_sample`` draws a segmentation from the
lattice instead (subword regularization).

Pieces never contain ``▁`` after their first character, so words are segmented one at a time
(and cached): the same result as a lattice over the whole sentence.

The exported ``.model`` and ``tokenizer.json`` give these ids on every string: they carry the same
rules, and scores sit on a grid of 1/256 (``exact_ties``), so sentencepiece's float32 sums and the
float64 sums of ``tokenizers`` and tokkit are all exact and equal segmentations tie in all three,
broken the same way (the earliest start, then the shortest piece, wins). Exact while a line's
total score stays above −65,536 (float32's 24 bits, 8 of them below the point): thousands of
tokens. A sentencepiece ``.model`` trained elsewhere keeps its scores and is normalized with the
same rules, which can differ from its own charsmap on decomposed text (no composition here).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from tokkit.errors import InputError
from tokkit.models.files import read_model_json
from tokkit.models.unigram_normalize import split_words
from tokkit.vocab_bytes import VocabBytes, vocab_bytes_from_names

FORMAT = "tokkit-unigram"
FORMAT_VERSION = 1
MODEL_FILE = "unigram.json"
VOCAB_FILE = "unigram.vocab"
SPM_FILE = "spm.model"
TOKENIZER_JSON = "tokenizer.json"
SPACE = "▁"
UNK_PENALTY = 10.0
"""sentencepiece scores an unknown character min(score) - 10."""
SCORE_GRID = 256
"""With ``exact_ties``, scores are multiples of 1/SCORE_GRID (see the module doc)."""

PieceType = Literal["normal", "unknown", "control", "user_defined", "byte", "unused"]


@dataclass(frozen=True, kw_only=True)
class UnigramSettings:
    """Normalization and fallback options (saved with the pieces; mirrored in the .model).

    ``exact_ties`` rounds the scores to multiples of 1/256 so every library sums them exactly
    (tokkit's own models; False for a ``.model`` trained by sentencepiece, kept as it is)."""

    normalization: Literal["nfkc", "identity"] = "nfkc"
    add_dummy_prefix: bool = True
    byte_fallback: bool = False
    exact_ties: bool = True


def normalize(text: str, settings: UnigramSettings) -> list[str]:
    """The words of ``text`` as sentencepiece sees them: ``▁``-prefixed, normalized.

    A ``▁`` typed at the very end is dropped, as sentencepiece drops it: once spaces are escaped,
    its "remove trailing whitespace" step cannot tell it from one.
    """
    words = split_words(text, settings.normalization)
    if not words:
        return []
    if not settings.add_dummy_prefix:
        words = [words[0], *(SPACE + w for w in words[1:])]
    else:
        words = [SPACE + w for w in words]
    while words and words[-1].endswith(SPACE):
        last = words.pop().rstrip(SPACE)
        if last:
            words.append(last)
            break
    return words


def byte_piece(b: int) -> str:
    return f"<0x{b:02X}>"


class UnigramTokenizer:
    """Viterbi segmentation with a fixed list of (piece, score); id = position in the list.

    >>> tok = UnigramTokenizer(["<unk>", "▁a", "b", "▁ab"], [0.0, -1.0, -1.0, -1.5],
    ...                        types=["unknown", "normal", "normal", "normal"])
    >>> [tok.id_to_token(i) for i in tok.encode("ab")]
    ['▁ab']
    """

    kind = "unigram"

    def __init__(self, pieces: Sequence[str], scores: Sequence[float], *,
                 types: Sequence[PieceType] | None = None,
                 settings: UnigramSettings | None = None) -> None:
        if len(pieces) != len(scores):
            raise InputError("unigram model: pieces and scores differ in length")
        self.pieces = list(pieces)
        self.settings = settings or UnigramSettings()
        self.scores = [float(s) for s in scores]
        if self.settings.exact_ties:
            self.scores = [round(s * SCORE_GRID) / SCORE_GRID for s in self.scores]
        self.types: list[PieceType] = list(types) if types is not None else [
            "unknown" if p == "<unk>" else "control" if p in ("<s>", "</s>") else "normal"
            for p in self.pieces]
        unknown = [i for i, t in enumerate(self.types) if t == "unknown"]
        if len(unknown) != 1:
            raise InputError("unigram model: exactly one piece must be the unknown token (<unk>)")
        self.unk_id = unknown[0]
        self.piece_to_id: dict[str, int] = {}
        for i, (p, t) in enumerate(zip(self.pieces, self.types, strict=True)):
            if t in ("normal", "user_defined", "byte"):
                self.piece_to_id.setdefault(p, i)
        self._matchable = {p: i for p, i in self.piece_to_id.items() if self.types[i] != "byte"}
        normal = [s for s, t in zip(self.scores, self.types, strict=True) if t == "normal"]
        self.min_score = min(normal, default=0.0)
        self.unk_score = self.min_score - UNK_PENALTY
        self._max_len = max((len(p) for p in self._matchable), default=1)
        self._trie: dict[str, Any] = {}
        for piece, i in self._matchable.items():
            node = self._trie
            for ch in piece[:-1]:
                node = node.setdefault(ch, [{}, -1])[0]
            node.setdefault(piece[-1], [{}, -1])[1] = i
        self._bytes = [self.piece_to_id.get(byte_piece(b), -1) for b in range(256)]
        if self.settings.byte_fallback and -1 in self._bytes:
            raise InputError("unigram model: byte_fallback needs all 256 <0xNN> pieces")
        self._cache: dict[str, tuple[int, ...]] = {}

    # -- the Tokenizer interface ---------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    @property
    def special_tokens(self) -> Mapping[str, int]:
        return {p: i for i, (p, t) in enumerate(zip(self.pieces, self.types, strict=True))
                if t in ("unknown", "control")}

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        cache = self._cache
        for word in normalize(text, self.settings):
            pieces = cache.get(word)
            if pieces is None:
                pieces = self._fallback(word, self.viterbi(word))
                if len(cache) < 1 << 20:
                    cache[word] = pieces
            ids.extend(pieces)
        return ids

    def encode_batch(self, texts: Sequence[str], *, threads: int | None = None) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def viterbi(self, word: str) -> list[tuple[int, int]]:
        """Best segmentation of one normalized word as (piece id or -1 for unknown, end) pairs;
        consecutive unknown characters are fused into one.

        Forward relaxation over a trie, in sentencepiece's order (start positions ascending,
        then longer matches; a candidate replaces the incumbent only if strictly better), so ties
        resolve as they do in the library.
        """
        n = len(word)
        scores = self.scores
        unk_score = self.unk_score
        root = self._trie
        best = [0.0] * (n + 1)
        back_start = [-1] * (n + 1)
        back_id = [0] * (n + 1)
        for s in range(n):
            here = best[s]
            node = root
            single = False
            for e in range(s, n):
                step = node.get(word[e])
                if step is None:
                    break
                node, i = step
                if i >= 0:
                    t = e + 1
                    c = here + scores[i]
                    if back_start[t] < 0 or c > best[t]:
                        best[t], back_start[t], back_id[t] = c, s, i
                    if t == s + 1:
                        single = True
            if not single:
                t = s + 1
                c = here + unk_score
                if back_start[t] < 0 or c > best[t]:
                    best[t], back_start[t], back_id[t] = c, s, -1
        out: list[tuple[int, int]] = []
        end = n
        while end > 0:
            i = back_id[end]
            if i < 0 and out and out[-1][0] < 0:
                out[-1] = (-1, out[-1][1])  # fuse with the unknown run after it
            else:
                out.append((i, end))
            end = back_start[end]
        out.reverse()
        return out

    def _fallback(self, word: str, path: list[tuple[int, int]]) -> tuple[int, ...]:
        """Unknown spans → ``<unk>``, or their UTF-8 bytes with byte fallback."""
        if all(i >= 0 for i, _ in path):
            return tuple(i for i, _ in path)
        ids: list[int] = []
        start = 0
        for i, end in path:
            if i >= 0:
                ids.append(i)
            elif self.settings.byte_fallback:
                ids.extend(self._bytes[b] for b in word[start:end].encode("utf-8", "surrogatepass"))
            else:
                ids.append(self.unk_id)
            start = end
        return tuple(ids)

    def score(self, text: str) -> tuple[float, int, int]:
        """(log-likelihood of the Viterbi segmentation, characters, tokens) of normalized ``text``:
        the figures for comparing unigram models on held-out text (unknowns score min - 10)."""
        total, chars, tokens = 0.0, 0, 0
        for word in normalize(text, self.settings):
            for i, _ in self.viterbi(word):
                total += self.scores[i] if i >= 0 else self.unk_score
                tokens += 1
            chars += len(word)
        return total, chars, tokens

    def encode_sample(self, text: str, *, alpha: float = 0.1, rng: random.Random | None = None) -> list[int]:
        """Subword regularization: sample a segmentation with probability ∝ P(seg)^alpha
        (forward-filtering, backward-sampling over each word's lattice)."""
        rng = rng or random.Random()
        ids: list[int] = []
        for word in normalize(text, self.settings):
            n = len(word)
            get = self._matchable.get
            fwd = [0.0] + [-math.inf] * n
            edges: list[list[tuple[int, int, float]]] = [[] for _ in range(n + 1)]
            for end in range(1, n + 1):
                for start in range(max(0, end - self._max_len), end):
                    i = get(word[start:end])
                    if i is not None:
                        edges[end].append((start, i, alpha * self.scores[i]))
                if word[end - 1] not in self._matchable:
                    edges[end].append((end - 1, -1, alpha * self.unk_score))
                terms = [fwd[s] + w for s, _, w in edges[end]]
                top = max(terms)
                fwd[end] = top + math.log(sum(math.exp(t - top) for t in terms))
            path: list[tuple[int, int]] = []
            end = n
            while end > 0:
                terms = [fwd[s] + w for s, _, w in edges[end]]
                top = max(terms)
                weights = [math.exp(t - top) for t in terms]
                start, i, _ = rng.choices(edges[end], weights)[0]
                path.append((i, end))
                end = start
            path.reverse()
            ids.extend(self._fallback(word, path))
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        out: list[str] = []
        pending = bytearray()
        for i in ids:
            t = self.types[self._check(i)]
            if t == "byte":
                pending.append(int(self.pieces[i][3:5], 16))
                continue
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            if t == "normal" or t == "user_defined":
                out.append(self.pieces[i])
            elif t == "unknown":
                out.append(" \u2047 ")
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        text = "".join(out).replace(SPACE, " ")
        return text[1:] if self.settings.add_dummy_prefix and text.startswith(" ") else text

    def _check(self, id: int) -> int:
        if not 0 <= id < len(self.pieces):
            raise IndexError(f"id {id} is outside the vocabulary of {len(self.pieces)}")
        return id

    def id_to_token(self, id: int) -> str:
        return self.pieces[self._check(id)]

    def token_bytes(self, id: int) -> bytes:
        """The text a piece stands for as UTF-8 (``▁`` → space; ``<0xNN>`` → that byte)."""
        piece, t = self.pieces[self._check(id)], self.types[id]
        if t == "byte":
            return bytes([int(piece[3:5], 16)])
        if t in ("unknown", "control"):
            return b""
        return piece.replace(SPACE, " ").encode("utf-8")

    def vocab_bytes(self) -> VocabBytes:
        """Each piece's text (:meth:`token_bytes`); byte pieces are byte fallback."""
        return vocab_bytes_from_names(self, self.token_bytes)

    # -- files -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": FORMAT_VERSION, "settings": asdict(self.settings),
                "pieces": [[p, s, t] for p, s, t in zip(self.pieces, self.scores, self.types, strict=True)]}

    def to_hf(self) -> Any:
        """The same model as a ``tokenizers.Tokenizer`` (what ``tokenizer.json`` holds), as every
        from-scratch model gives it (:func:`tokkit.models.unigram_export.to_hf`)."""
        from tokkit.models.unigram_export import to_hf

        return to_hf(self)

    def save(self, directory: str | Path) -> Path:
        """Write ``unigram.json`` (ours), ``unigram.vocab`` (piece, score per line),
        ``spm.model`` (sentencepiece) and ``tokenizer.json``; return ``unigram.json``."""
        from tokkit.models.unigram_export import to_hf, to_model_proto

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
        with open(directory / VOCAB_FILE, "w", encoding="utf-8") as f:
            for p, s in zip(self.pieces, self.scores, strict=True):
                f.write(f"{p}\t{s:.6g}\n")
        (directory / SPM_FILE).write_bytes(to_model_proto(self))
        to_hf(self).save(str(directory / TOKENIZER_JSON))
        return path

    @classmethod
    def load(cls, path: str | Path) -> UnigramTokenizer:
        """Read ``unigram.json`` (or a directory holding it), or a sentencepiece unigram ``.model``."""
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        if path.suffix == ".model":
            from tokkit.models.unigram_export import from_model_proto

            try:
                return from_model_proto(path.read_bytes())
            except OSError as err:
                raise InputError(f"{path}: cannot read ({err.strerror})") from None
        data = read_model_json(path, "unigram", FORMAT, FORMAT_VERSION)
        pieces, scores, types = zip(*data["pieces"], strict=True) if data["pieces"] else ((), (), ())
        return cls(pieces, scores, types=types, settings=UnigramSettings(**data["settings"]))
