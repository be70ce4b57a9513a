"""A byte-level BPE tokenizer: regex chunks, 256 byte symbols, ranked merges, special tokens.

Ids are laid out as ``tokenizers`` lays out a freshly trained byte-level BPE, so our files and the
library's agree id for id: special tokens first (``0..k-1``, in the order given), then the 256 byte
symbols in the order of their ByteLevel display characters (see :mod:`tokkit.models.bpe_bytes`),
then one id per merge in the order learned. A merge whose token already exists (the same bytes
reached by another split) reuses that id, so ``vocab_size`` can be smaller than
``k + 256 + len(merges)``.

Encoding: special-token strings found in the text become their ids (leftmost, longest first, like
``tokenizers``' added tokens); the rest is split by the regex ``pattern`` and each chunk's bytes are
merged lowest rank first, all occurrences of a pair at once (one ``str.replace`` per merge, driven
by a small heap of pair ranks). Chunks seen before come from a bounded cache. An unseen chunk with
non-ASCII characters is cut further where no token of the vocabulary lies across two characters:
the pieces, mostly words, merge on their own and repeat, so they come from a cache; and each
character starts merged on its own unless a token cuts it there. Unseen chunks in a row (long
Chinese runs, which the pattern keeps whole and which rarely repeat) are cut all at once; a word
after a space, which recurs, is remembered as a chunk. Both shortcuts give the ids of the plain
merge (see :class:`_Boundaries`). Merging a long chunk (megabytes of one character) is
O(n log n): ``str.replace`` passes up to a budget, then a linked list and a heap of merge sites.

Decoding joins the tokens' bytes and decodes UTF-8, so ``decode(encode(s)) == s`` for any string
without surrogate code points; surrogates are read as tiktoken reads them (a UTF-16 pair is its
character, a lone one U+FFFD, see :meth:`ByteLevelBPETokenizer.encode`). Invalid UTF-8 from
arbitrary ids decodes to U+FFFD.

Ids of another library (a tiktoken rank file, Llama 3's ``tokenizer.model``) are kept as they are:
see :meth:`ByteLevelBPETokenizer.from_vocab` and :meth:`ByteLevelBPETokenizer.from_tiktoken_ranks`.

>>> tok = ByteLevelBPETokenizer([(ord("a") - 33, ord("a") - 33)], pattern="gpt2")
>>> tok.encode("aaa"), tok.decode(tok.encode("aaa"))
([256, 64], 'aaa')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from heapq import heapify, heappop, heappush
from itertools import chain, compress, product, repeat
from operator import add, is_, itemgetter
from pathlib import Path
from typing import Any, TypeVar

from tokkit.atomic import atomic_file
from tokkit.errors import InputError
from tokkit.models.bpe_bytes import BYTE_RANK, RANKED_BYTES, display, repair_surrogates, undisplay
from tokkit.models.files import read_model_json
from tokkit.models.pretokenize import compiled, resolve_pattern
from tokkit.vocab_bytes import VocabBytes, vocab_bytes_from_names

MODEL_FILE = "bpe.model"
VOCAB_FILE = "vocab.txt"
TOKENIZER_JSON = "tokenizer.json"
FORMAT = "tokkit-bpe"
FORMAT_VERSION = 2
"""The newest ``bpe.model`` version read; tokkit's own id layout is still written as version 1."""
CACHE_SIZE = 1 << 16
"""Chunks (pieces) whose ids a cache remembers; it is emptied when full (cheap; hot ones return)."""
PASS_BUDGET = 64
"""``str.replace`` passes (in chunk lengths) a merge makes before it goes on in a linked list."""

_NO_RANK = 1 << 62
_K = TypeVar("_K")
_V = TypeVar("_V")
_FREE = "\uffff"
"""Marks a boundary no merge crosses (a noncharacter; text holding it takes the slow path)."""


def base_vocabulary(special_tokens: Sequence[str]) -> tuple[list[bytes], dict[bytes, int]]:
    """Token bytes before any merge (specials, then ranked bytes) and the bytes → id index.

    A special whose text is a ByteLevel display string is indexed by those bytes, so a merge that
    spells it reuses its id, as in ``tokenizers`` (whose vocabulary is keyed by display strings).
    """
    tokens = [s.encode("utf-8") for s in special_tokens]
    ids_by_bytes: dict[bytes, int] = {}
    for id, special in enumerate(special_tokens):
        raw = undisplay(special)
        if raw is not None:
            if len(raw) == 1:
                raise InputError(
                    f"`special_tokens` '{special}' is the display form of a single byte, which the "
                    "byte alphabet already holds; choose a longer special token"
                )
            ids_by_bytes.setdefault(raw, id)
    for byte in RANKED_BYTES:
        ids_by_bytes[bytes([byte])] = len(tokens)
        tokens.append(bytes([byte]))
    return tokens, ids_by_bytes


class ByteLevelBPETokenizer:
    """Byte-level BPE from a merge list: ``merges[i] = (left_id, right_id)`` is rank ``i``.

    ``pattern`` is a built-in name (``gpt2``, ``gpt4``/``cl100k``, ``o200k``) or a regex.
    """

    kind = "bpe"

    def __init__(
        self,
        merges: Iterable[tuple[int, int]],
        *,
        pattern: str = "gpt4",
        special_tokens: Sequence[str] = (),
    ) -> None:
        self.pattern = resolve_pattern(pattern)
        if len(set(special_tokens)) != len(special_tokens):
            raise InputError("special tokens must be distinct; remove the repeated one")
        self._specials = list(special_tokens)
        tokens, ids_by_bytes = base_vocabulary(self._specials)
        self._merges: list[tuple[int, int]] = []
        self._merge_ids: list[int] = []
        for rank, (left, right) in enumerate(merges):
            if not (0 <= left < len(tokens) and 0 <= right < len(tokens)):
                raise InputError(
                    f"merge {rank} ({left}, {right}) refers to an id that does not exist yet; "
                    "the merge list is corrupt"
                )
            merged = tokens[left] + tokens[right]
            new_id = ids_by_bytes.get(merged)
            if new_id is None:
                new_id = ids_by_bytes[merged] = len(tokens)
                tokens.append(merged)
            self._merges.append((left, right))
            self._merge_ids.append(new_id)
        self._setup(tokens, ids_by_bytes, {s: i for i, s in enumerate(self._specials)})

    @classmethod
    def from_vocab(
        cls,
        vocab: Mapping[bytes, int],
        merges: Iterable[tuple[bytes, bytes]],
        *,
        pattern: str,
        special_tokens: Mapping[str, int] | None = None,
        whole_chunks: bool = False,
    ) -> ByteLevelBPETokenizer:
        """A tokenizer with the ids of another library: ``vocab`` maps every token's bytes (the 256
        single bytes included) to its id, ``merges`` are byte pairs in rank order, each making a
        token of ``vocab``; ``special_tokens`` maps text to id. Ids may leave holes (ids of no
        token). ``whole_chunks``: a chunk that is itself a token is emitted as that token, before
        any merge (tiktoken does this; ``tokenizers`` calls it ``ignore_merges``).
        """
        missing = [b for b in range(256) if bytes([b]) not in vocab]
        if missing:
            raise InputError(f"vocab: byte {missing[0]:#04x} has no id; a byte-level vocabulary "
                             "needs all 256 single bytes")
        specials = dict(special_tokens or {})
        size = 1 + max([*vocab.values(), *specials.values()])
        tokens = [b""] * size
        holes = set(range(size))
        special_ids = set(specials.values())
        for raw, id in vocab.items():
            if id < 0 or id in special_ids or id not in holes:
                raise InputError(f"vocab: id {id} of {raw!r} is negative or given twice; "
                                 "the vocabulary is corrupt")
            tokens[id] = raw
            holes.discard(id)
        for text, id in specials.items():
            if id < 0:
                raise InputError(f"special_tokens: {text!r} has a negative id {id}")
            tokens[id] = text.encode("utf-8")
            holes.discard(id)
        self = cls.__new__(cls)
        self.pattern = resolve_pattern(pattern)
        self._specials = sorted(specials, key=specials.__getitem__)
        self._merges, self._merge_ids = [], []
        ids_by_bytes = dict(vocab)
        for rank, (left, right) in enumerate(merges):
            ids = ids_by_bytes.get(left), ids_by_bytes.get(right), ids_by_bytes.get(left + right)
            if None in ids:
                raise InputError(f"merges: merge {rank} ({left!r}, {right!r}) joins or makes bytes "
                                 "that are not in vocab; the merge list is corrupt")
            self._merges.append((ids[0], ids[1]))  # type: ignore[arg-type]
            self._merge_ids.append(ids[2])  # type: ignore[arg-type]
        self._setup(tokens, ids_by_bytes, specials, holes=frozenset(holes), whole_chunks=whole_chunks)
        return self

    @classmethod
    def from_tiktoken_ranks(cls, ranks: Mapping[bytes, int], pattern: str,
                            special_tokens: Mapping[str, int] | None = None) -> ByteLevelBPETokenizer:
        """The tokenizer of a tiktoken rank table (``token bytes → rank``, the rank is the id), its
        split ``pattern`` and ``special_tokens`` (text → id): ids equal tiktoken's. The merges are
        re-derived from the ranks (:func:`tokkit.models.bpe_ranks.derive_merges`, cached on disk);
        a chunk that is itself a token is that token, as in tiktoken. From a ``tiktoken.Encoding``:
        :meth:`from_tiktoken_encoding`; from a rank file: :meth:`from_tiktoken_file`.
        """
        from tokkit.models.bpe_ranks import cached_merges

        return cls.from_vocab(ranks, cached_merges(ranks), pattern=pattern,
                              special_tokens=special_tokens, whole_chunks=True)

    @classmethod
    def from_tiktoken_encoding(cls, encoding: Any) -> ByteLevelBPETokenizer:
        """The tokenizer of a ``tiktoken.Encoding`` (its ranks, pattern and special tokens)."""
        return cls.from_tiktoken_ranks(encoding._mergeable_ranks, encoding._pat_str,
                                       encoding._special_tokens)

    @classmethod
    def from_tiktoken_file(cls, path: str | Path, *, pattern: str | None = None,
                           special_tokens: Mapping[str, int] | None = None) -> ByteLevelBPETokenizer:
        """The tokenizer of a tiktoken rank file (``<base64 token> <rank>`` lines).

        Without ``pattern``, the file must be one tokkit knows by its sha256: OpenAI's encodings
        (``cl100k_base.tiktoken``...) and Meta's Llama 3 ``tokenizer.model``; their pattern and
        special tokens are then the official ones (for Llama 3, those of a ``tokenizer_config.json``
        beside the file if there is one).
        """
        from tokkit.models.bpe_ranks import known_rank_file, read_tiktoken_ranks

        path = Path(path)
        ranks = read_tiktoken_ranks(path)
        if pattern is None:
            known = known_rank_file(path)
            if known is None:
                raise InputError(
                    f"{path}: not a rank file tokkit knows (OpenAI's encodings, Llama 3); pass "
                    "pattern= (its split regex) and special_tokens= to from_tiktoken_file"
                )
            pattern, default_specials = known
            special_tokens = default_specials if special_tokens is None else special_tokens
        return cls.from_tiktoken_ranks(ranks, pattern, special_tokens)

    def _setup(self, tokens: list[bytes], ids_by_bytes: dict[bytes, int], specials: dict[str, int],
               *, holes: frozenset[int] = frozenset(), whole_chunks: bool = False) -> None:
        """The encoder's tables, from the vocabulary (``tokens[id]``) and ``self._merges``."""
        self._tokens = tokens
        self._holes = holes
        self._ids_by_bytes = ids_by_bytes
        self._special_ids = specials
        self._special_text = {id: text for text, id in specials.items()}
        # the tokkit layout: specials first, then the bytes in tokenizers' order, then the merges
        self._layout_default = (
            list(specials.values()) == list(range(len(specials))) and not holes
            and all(ids_by_bytes[bytes([b])] == len(specials) + BYTE_RANK[b] for b in range(256))
        )
        # Encoder tables: a pair is the 2-character string of its ids; a later duplicate of a pair
        # overrides an earlier one, as when ``tokenizers`` loads a merge list.
        self._rank: dict[str, int] = {}
        self._merge_info: list[tuple[str, str]] = []
        for rank, ((left, right), new_id) in enumerate(zip(self._merges, self._merge_ids, strict=True)):
            self._rank[chr(left) + chr(right)] = rank
            self._merge_info.append((chr(left) + chr(right), chr(new_id)))
        byte_ids = [ids_by_bytes[bytes([b])] for b in range(256)]
        self._byte_table: bytes | None = bytes(byte_ids) if max(byte_ids) < 256 else None
        self._symbols = {b: chr(id) for b, id in enumerate(byte_ids)}
        self._split = compiled(self.pattern).findall
        self._special_split = (
            re.compile("|".join(map(re.escape, sorted(specials, key=len, reverse=True))))
            if specials
            else None
        )
        self._whole: dict[str, int] | None = None
        if whole_chunks:
            self._whole = {}
            for raw, id in ids_by_bytes.items():
                try:
                    self._whole[raw.decode("utf-8")] = id
                except UnicodeDecodeError:
                    continue  # a chunk is whole characters: never this token
        self._cache: dict[str, list[int]] = {}
        self._piece_cache: dict[str, list[int]] = {}
        # str.translate table: code point -> the symbols of that character merged on its own.
        self._char_symbols: dict[int, str] = _Memo(self._char_merged)
        # Every merge made a new token from tokens made before: a merge then always ranks after
        # the merges that made its parts, which the shortcuts (pre-merged characters) rely on.
        # (A merge reaching a special's id, a special spelled as display text, turns them off too.)
        made = set(byte_ids)
        self._shortcuts = True
        for (left, right), new_id in zip(self._merges, self._merge_ids, strict=True):
            if left not in made or right not in made or new_id in made or new_id in self._special_text:
                self._shortcuts = False
                break
            made.add(new_id)

    # --- the Tokenizer interface -------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self._tokens)

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special_ids)

    @property
    def merges(self) -> list[tuple[int, int]]:
        """The merge list in rank order, as id pairs."""
        return list(self._merges)

    def encode(self, text: str) -> list[int]:
        """Ids of ``text``; special-token strings inside it become their special ids.

        Surrogates are handled as tiktoken does (:func:`~tokkit.models.bpe_bytes.repair_surrogates`):
        a surrogate pair is read as its character, a lone surrogate as U+FFFD. So
        ``decode(encode(s)) == s`` for every string without surrogate code points (every string
        that is valid Unicode text), and ``== repair_surrogates(s)`` for any string.
        """
        text = repair_surrogates(text)
        if self._special_split is None:
            return self._encode_ordinary(text)
        ids: list[int] = []
        start = 0
        for match in self._special_split.finditer(text):
            ids += self._encode_ordinary(text[start : match.start()])
            ids.append(self._special_ids[match.group()])
            start = match.end()
        ids += self._encode_ordinary(text[start:])
        return ids

    def encode_batch(self, texts: Iterable[str], *, threads: int | None = None) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def decode(self, ids: Sequence[int]) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The raw bytes of ``ids`` (specials as their UTF-8 text)."""
        if ids and (min(ids) < 0 or max(ids) >= len(self._tokens)
                    or (self._holes and not self._holes.isdisjoint(ids))):
            self._check(next(i for i in ids if not 0 <= i < len(self._tokens) or i in self._holes))
        return b"".join(map(self._tokens.__getitem__, ids))

    def id_to_token(self, id: int) -> str:
        """The token as ``tokenizers`` shows it (ByteLevel display string; specials as text)."""
        text = self._special_text.get(id)
        return text if text is not None else display(self._tokens[self._check(id)])

    def token_bytes(self, id: int) -> bytes:
        return self._tokens[self._check(id)]

    def vocab_bytes(self) -> VocabBytes:
        """Each id's raw bytes (:meth:`token_bytes`); specials stand for no text."""
        return vocab_bytes_from_names(self, self.token_bytes)

    def byte_id(self, byte: int) -> int:
        """The id of the single byte ``byte`` (0..255)."""
        return self._ids_by_bytes[bytes([byte])]

    def token_to_id(self, token: str) -> int | None:
        """The id of a display string or special token, or None."""
        if token in self._special_ids:
            return self._special_ids[token]
        raw = undisplay(token)
        return None if raw is None else self._ids_by_bytes.get(raw)

    # --- encoding internals ------------------------------------------------------------------

    @cached_property
    def _boundaries(self) -> _Boundaries:
        return _Boundaries(self._tokens[id] for id in set(self._merge_ids))

    def _check(self, id: int) -> int:
        if not 0 <= id < len(self._tokens):
            raise InputError(f"id {id} is outside the vocabulary (0..{len(self._tokens) - 1})")
        if id in self._holes:
            raise InputError(f"id {id} is no token of this vocabulary (a gap in its ids)")
        return id

    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        cache = self._cache
        chunks = iter(self._split(text))
        for chunk in chunks:
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                if self._whole is not None and chunk in self._whole:
                    chunk_ids = self._remember(chunk, [self._whole[chunk]])
                elif not (chunk.isascii() or self._merge_whole(chunk)):
                    return self._encode_runs(ids, chain((chunk,), chunks))
                else:
                    chunk_ids = self._remember(chunk, self._encode_bytes(chunk))
            ids += chunk_ids
        return ids

    def _encode_runs(self, ids: list[int], chunks: Iterable[str]) -> list[int]:
        """``ids`` extended by those of ``chunks``, where some are unseen and not ASCII.

        A word after a space (Latin, Cyrillic, Greek... text) will recur: it is encoded on its own
        and remembered. Other unseen chunks in a row (Chinese or Japanese text, without spaces)
        rarely recur: they are cut into pieces all at once (a lone one is remembered too).
        (Kept apart from the loop of _encode_ordinary: the run bookkeeping slows it by a tenth.)
        """
        cache, merge_whole = self._cache, self._merge_whole
        run: list[str] = []
        for chunk in chunks:
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                if self._whole is not None and chunk in self._whole:
                    chunk_ids = [self._whole[chunk]]
                elif chunk.isascii() or merge_whole(chunk):
                    chunk_ids = self._encode_bytes(chunk)
                elif chunk[0] == " ":
                    chunk_ids = self._encode_pieces(chunk)
                else:
                    run.append(chunk)
                    continue
                self._remember(chunk, chunk_ids)
            if run:
                ids += self._encode_run(run)
                run = []
            ids += chunk_ids
        if run:
            ids += self._encode_run(run)
        return ids

    def _char_merged(self, code_point: int) -> str:
        return self._merge(self._byte_symbols(chr(code_point)))

    def _encode_bytes(self, chunk: str) -> list[int]:
        """Ids of ``chunk`` merged byte by byte (no shortcut)."""
        return list(map(ord, self._merge(self._byte_symbols(chunk))))

    def _encode_run(self, chunks: list[str]) -> list[int]:
        if len(chunks) > 1:
            return self._encode_pieces(_FREE.join(chunks))
        return self._remember(chunks[0], self._encode_pieces(chunks[0]))

    def _remember(self, chunk: str, ids: list[int]) -> list[int]:
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[chunk] = ids
        return ids

    def _encode_pieces(self, text: str) -> list[int]:
        """Ids of ``text`` cut at each ``_FREE`` and at its free boundaries, pieces merged apart.

        No token lies across a free boundary, so no merge crosses it: each piece merges as if
        alone, and the short pieces of a long Han run recur (words) and come from a cache.
        """
        boundaries = self._boundaries
        cut = boundaries.cuts(text)
        pieces = boundaries.pieces(text, cut)
        cache = self._piece_cache
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        found = list(map(cache.get, pieces))
        if None in found:
            for k in compress(range(len(found)), map(is_, found, repeat(None))):
                piece = pieces[k]
                piece_ids = cache.get(piece)  # seen earlier in this text?
                if piece_ids is None:
                    piece_ids = cache[piece] = self._encode_piece(  # (no cut in text: none in piece)
                        piece, boundaries.cuts(piece) if cut else cut)
                found[k] = piece_ids
        return list(chain.from_iterable(found))  # type: ignore[arg-type]

    def _encode_piece(self, piece: str, cut: set[int]) -> list[int]:
        """Merge ``piece``, its characters pre-merged on their own except beside a ``cut``.

        A character that no token cuts (see :class:`_Boundaries`) has merges inside it that never
        meet its neighbours', and a token holding it needs it whole first, made by merges of
        lower rank: applying its own merges first changes nothing.
        """
        if not cut:
            return list(map(ord, self._merge(piece.translate(self._char_symbols))))
        merged, raw = self._char_symbols, self._byte_symbols
        symbols = "".join([raw(ch) if at in cut or at + 1 in cut else merged[ord(ch)]
                           for at, ch in enumerate(piece)])
        return list(map(ord, self._merge(symbols)))

    def _byte_symbols(self, text: str) -> str:
        raw = text.encode("utf-8", "surrogatepass")
        if self._byte_table is not None:
            return raw.translate(self._byte_table).decode("latin-1")
        return raw.decode("latin-1").translate(self._symbols)

    def _merge_whole(self, chunk: str) -> bool:
        """Must ``chunk`` be merged byte by byte, with no shortcut?

        When the merge list reuses an id (a token reached by two merges): the rank of a merge then
        no longer follows the ranks of the merges that made its parts, which pre-merged characters
        rely on. And when the chunk holds _FREE, which marks where pieces end.
        """
        return not self._shortcuts or _FREE in chunk

    def _merge(self, symbols: str, budget: int | None = None) -> str:
        """Apply the merges present in ``symbols`` in rank order, all occurrences of a pair at once.

        ``symbols`` has one character per symbol id, so a merge is one ``str.replace``
        (leftmost, non-overlapping, as the trainer applied it). A heap holds the ranks of pairs
        seen, each once; after a merge only pairs around the new symbol are new, and their ranks
        are higher than the one just applied (a merge ranks after those making its parts; where a
        merge list breaks that, the lower rank just comes off next), and a rank whose pair is gone
        is skipped. Each rank costs a pass over ``symbols``: once the passes have read
        ``budget`` characters (default :data:`PASS_BUDGET` times the length), the merge goes on
        in :meth:`_merge_linked`, O(log n) per merge, so no chunk costs more than O(n log n).
        """
        if len(symbols) < 3:  # a piece of two characters, often: no heap
            rank = self._rank.get(symbols)
            return symbols if rank is None else self._merge_info[rank][1]
        rank_of = self._rank.get
        info = self._merge_info
        queued = set(map(rank_of, map(add, symbols, symbols[1:]), repeat(_NO_RANK)))
        heap = list(queued)
        heapify(heap)
        left = PASS_BUDGET * len(symbols) if budget is None else budget
        while heap:
            if left < 0:
                return self._merge_linked(symbols)
            rank = heappop(heap)
            if rank == _NO_RANK:
                break
            queued.discard(rank)
            left -= len(symbols)
            pair, new = info[rank]
            merged = symbols.replace(pair, new)
            if merged is symbols:  # the pair is gone
                continue
            symbols = merged
            size = len(symbols)
            if size == 1:
                break
            at = symbols.find(new)
            if symbols.find(new, at + 1) < 0:  # one site, the common case
                found = []
                if at:
                    found.append(rank_of(symbols[at - 1] + new, _NO_RANK))
                if at + 1 < size:
                    found.append(rank_of(new + symbols[at + 1], _NO_RANK))
            else:  # the distinct neighbours of the new symbol, without a Python loop per site
                parts = symbols.split(new)
                inner = parts[1:-1]
                before = set(map(itemgetter(-1), filter(None, parts[:-1])))
                after = set(map(itemgetter(0), filter(None, parts[1:])))
                if "" in inner:
                    after.add(new)
                found = [rank_of(ch + new, _NO_RANK) for ch in before]
                found += [rank_of(new + ch, _NO_RANK) for ch in after]
            for next_rank in found:
                if next_rank not in queued:
                    queued.add(next_rank)
                    heappush(heap, next_rank)
        return symbols

    def _merge_linked(self, symbols: str) -> str:
        """:meth:`_merge` for any length in O(n log n): a linked list of symbols and a heap of merge
        sites ``rank * scale + position``; a site whose pair has changed is dropped when popped.

        All sites of the lowest rank are taken off first and merged left to right, skipping one
        that overlaps a site just merged: exactly the ``str.replace`` of that rank, so the ids are
        those of :meth:`_merge` on every merge list (also when ranks do not follow their parts).
        """
        size = len(symbols)
        if size < 2:
            return symbols
        rank_of = self._rank.get
        info = self._merge_info
        sym = list(symbols)  # "" once merged into its left neighbour
        after = list(range(1, size + 1))
        after[-1] = -1
        before = list(range(-1, size - 1))
        scale = size + 1
        heap = [rank * scale + at for at, rank in enumerate(map(rank_of, map(add, symbols, symbols[1:])))
                if rank is not None]
        heapify(heap)
        while heap:
            rank = heap[0] // scale
            sites = []
            while heap and heap[0] // scale == rank:
                sites.append(heappop(heap) - rank * scale)
            pair, new = info[rank]
            for at in sites:
                right = after[at]
                if right < 0 or sym[at] + sym[right] != pair:
                    continue  # stale: merged away, or a neighbour changed
                sym[at], sym[right] = new, ""
                next_ = after[at] = after[right]
                if next_ >= 0:
                    before[next_] = at
                    found = rank_of(new + sym[next_])
                    if found is not None:
                        heappush(heap, found * scale + at)
                prev = before[at]
                if prev >= 0:
                    found = rank_of(sym[prev] + new)
                    if found is not None:
                        heappush(heap, found * scale + prev)
        return "".join(sym)

    # --- files -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable model (what ``bpe.model`` holds).

        Version 1 (tokkit's own id layout): the specials and the merges, from which the ids follow.
        Version 2 (another library's ids, :meth:`from_vocab`): also every token's id and bytes (hex).
        """
        if self._layout_default and self._whole is None:
            return {"format": FORMAT, "version": 1, "pattern": self.pattern,
                    "special_tokens": list(self._specials),
                    "merges": [list(m) for m in self._merges]}
        return {
            "format": FORMAT,
            "version": 2,
            "pattern": self.pattern,
            "special_tokens": dict(self._special_ids),
            "whole_chunks": self._whole is not None,
            "vocab": [[id, raw.hex()] for id, raw in enumerate(self._tokens)
                      if id not in self._holes and id not in self._special_text],
            "merges": [list(m) for m in self._merges],
        }

    def save(self, directory: str | Path) -> Path:
        """Write ``bpe.model``, ``vocab.txt`` and ``tokenizer.json``; return the ``bpe.model`` path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        model_path = directory / MODEL_FILE
        with atomic_file(model_path, encoding="utf-8") as f:
            data = self.to_dict()
            merges = data.pop("merges")
            head = json.dumps(data, ensure_ascii=False)[:-1]
            # One merge per line keeps the file diffable and greppable.
            body = ",\n".join(json.dumps(m) for m in merges)
            f.write(f'{head}, "merges": [\n{body}\n]}}\n')
        with atomic_file(directory / VOCAB_FILE, encoding="utf-8") as f:
            f.write(self.vocab_dump())
        with atomic_file(directory / TOKENIZER_JSON, encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False)
        return model_path

    @classmethod
    def load(cls, path: str | Path) -> ByteLevelBPETokenizer:
        """Read a ``bpe.model`` (or the directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        data = read_model_json(path, "BPE", FORMAT, FORMAT_VERSION)
        try:
            merges = [(int(a), int(b)) for a, b in data["merges"]]
            if data.get("version", 1) == 1:
                return cls(merges, pattern=data["pattern"], special_tokens=list(data["special_tokens"]))
            tokens = {int(id): bytes.fromhex(raw) for id, raw in data["vocab"]}
            return cls.from_vocab(
                {raw: id for id, raw in tokens.items()},
                [(tokens[a], tokens[b]) for a, b in merges],
                pattern=data["pattern"],
                special_tokens={str(k): int(v) for k, v in data["special_tokens"].items()},
                whole_chunks=bool(data["whole_chunks"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InputError(f"{path}: corrupt BPE model ({err!r}); re-run train-bpe") from None

    def vocab_dump(self) -> str:
        """Human-readable vocabulary: ``id  token  [left][right]`` with bytes shown readably."""
        parents: dict[int, tuple[int, int]] = {}
        for pair, new_id in zip(self._merges, self._merge_ids, strict=True):
            parents.setdefault(new_id, pair)
        version = 1 if self._layout_default and self._whole is None else 2
        lines = [f"# {FORMAT} v{version}: id, token, merged from; pattern: {self.pattern}"]
        for id, raw in enumerate(self._tokens):
            if id in self._holes:
                continue
            if id in self._special_text:
                lines.append(f"{id}\t{_readable(raw)}\t(special)")
            elif id in parents:
                left, right = parents[id]
                lines.append(
                    f"{id}\t{_readable(raw)}\t[{_readable(self._tokens[left])}]"
                    f"[{_readable(self._tokens[right])}]"
                )
            elif len(raw) == 1:
                lines.append(f"{id}\t{_readable(raw)}\t(byte {raw[0]:#04x})")
            else:
                lines.append(f"{id}\t{_readable(raw)}\t(no merge: only a whole chunk)")
        return "\n".join(lines) + "\n"

    def to_hf(self) -> Any:
        """The same tokenizer as a ``tokenizers.Tokenizer`` (what ``tokenizer.json`` holds), as
        every from-scratch model gives it."""
        from tokenizers import Tokenizer

        return Tokenizer.from_str(json.dumps(self.to_hf_json(), ensure_ascii=False))

    def to_hf_json(self) -> dict[str, Any]:
        """A ``tokenizer.json`` that ``tokenizers``/``transformers`` load and encode identically."""
        vocab: dict[str, int] = {}
        for id in range(len(self._tokens)):
            if id not in self._holes:
                vocab.setdefault(self.id_to_token(id), id)
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": self._special_ids[s], "content": s, "single_word": False, "lstrip": False,
                 "rstrip": False, "normalized": False, "special": True}
                for s in self._specials
            ],
            "normalizer": None,
            "pre_tokenizer": {
                "type": "Sequence",
                "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": _oniguruma(self.pattern)}, "behavior": "Isolated",
                     "invert": False},
                    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                     "use_regex": False},
                ],
            },
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                        "use_regex": False},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": self._whole is not None,
                "vocab": vocab,
                "merges": [[self.id_to_token(a), self.id_to_token(b)] for a, b in self._merges],
            },
        }

    def __repr__(self) -> str:
        specials = self._specials if len(self._specials) <= 8 else [*self._specials[:8], "..."]
        return (f"ByteLevelBPETokenizer(vocab_size={self.vocab_size}, merges={len(self._merges)}, "
                f"special_tokens={specials!r})")


def _oniguruma(pattern: str) -> str:
    """``pattern`` for ``tokenizers``' regex engine (Oniguruma, Ruby syntax), where ``X{1,3}+`` is
    not possessive as in ``regex`` and tiktoken (cl100k's ``\\p{N}{1,3}+``) but a repetition of
    ``X{1,3}``: written as the atomic group it means, ``(?>X{1,3})``."""
    return re.sub(r"(\\p\{\w+\}|\[[^\]]*\]|\\.|.)(\{\d+(?:,\d*)?\})\+", r"(?>\1\2)", pattern)


class _Boundaries:
    """Where a token of the vocabulary can lie across the boundary of two adjacent characters.

    A token that can occur in UTF-8 text is ``L + W + P``: ``W`` whole characters, ``L`` the end
    of a character and ``P`` the start of one (each possibly empty). It lies across the boundary
    of characters ``a`` and ``b`` only if ``ab`` is in its ``W`` (*joined*), or it *cuts* ``a`` or
    ``b`` there: ``b`` starts ``W`` and ``a`` ends with ``L``; ``a`` ends ``W`` and ``b`` starts
    with ``P``; or the token is just ``L + P`` with ``a`` ending in ``L`` and ``b`` starting with
    ``P``. A merge makes a token, so no merge ever crosses a boundary that is neither (*free*).
    Cuts are found by character pair (a memo), looked for only beside the few characters that
    can take part in one (anchors); pairs of ``W`` characters are one dict.
    """

    def __init__(self, tokens: Iterable[bytes]) -> None:
        wholes: list[str] = []
        ends: dict[str, set[bytes]] = {}  # whole character b -> the Ls seen before it
        starts: dict[str, set[bytes]] = {}  # whole character a -> the Ps seen after it
        lead: set[tuple[bytes, bytes]] = set()
        for raw in tokens:
            if raw.isascii():
                continue  # its pairs are all among _ascii_pairs()
            try:
                wholes.append(raw.decode("utf-8", "surrogatepass"))  # most tokens
                continue
            except UnicodeDecodeError:
                pass
            begin, end = 0, len(raw)
            while begin < end and 0x80 <= raw[begin] < 0xC0:
                begin += 1
            last = end - 1
            while last >= begin and 0x80 <= raw[last] < 0xC0:
                last -= 1
            if last >= begin and raw[last] >= 0xC0 and end - last < _utf8_length(raw[last]):
                end = last
            try:
                whole = raw[begin:end].decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                continue  # not a piece of any UTF-8 text: never occurs
            head, tail = raw[:begin], raw[end:]
            wholes.append(whole)
            if whole and head:
                ends.setdefault(whole[0], set()).add(head)
            if whole and tail:
                starts.setdefault(whole[-1], set()).add(tail)
            if head and tail and not whole:
                lead.add((head, tail))
        # Pairs of characters inside a W, and every pair of ASCII characters (cheaper than those
        # of the tokens; pairs with the separator are harmless too, it always cuts).
        text = _FREE.join(wholes)
        self._joined = _ascii_pairs().copy()
        self._joined.update(dict.fromkeys(map(add, text, text[1:]), ""))
        self._ends = {ch: tuple(pieces) for ch, pieces in ends.items()}
        self._starts = {ch: tuple(pieces) for ch, pieces in starts.items()}
        self._lead = tuple(lead)
        # Anchors: the characters beside which a boundary may be cut (for L + P, any character
        # starting with P: a range of code points, as UTF-8 keeps their order).
        anchors = [re.escape(ch) for ch in sorted(ends.keys() | starts.keys())]
        for low, high in sorted({_starting_with(tail) for _, tail in lead}):
            if low <= high:
                anchors.append(f"{re.escape(chr(low))}-{re.escape(chr(high))}")
        self._anchors = re.compile(f"[{''.join(anchors)}]").finditer if anchors else None
        self._cut: dict[str, bool] = _Memo(self._is_cut)

    def _is_cut(self, pair: str) -> bool:
        """Does a token cut ``pair[0]`` or ``pair[1]`` across their boundary?"""
        a, b = pair[0], pair[1]
        left, right = a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
        if left.endswith(self._ends.get(b, ())) or right.startswith(self._starts.get(a, ())):
            return True
        return any(left.endswith(head) and right.startswith(tail) for head, tail in self._lead)

    def cuts(self, text: str) -> set[int]:
        """The boundaries of ``text`` (``i`` is before ``text[i]``) where a token may cut a character."""
        found: set[int] = set()
        if self._anchors is None:
            return found
        cut = self._cut
        if len(cut) >= CACHE_SIZE:
            cut.clear()
        for match in self._anchors(text):
            at = match.start()
            if at and cut[text[at - 1 : at + 1]]:
                found.add(at)
            if at + 1 < len(text) and cut[text[at : at + 2]]:
                found.add(at + 1)
        return found

    def pieces(self, text: str, cut: set[int]) -> list[str]:
        """``text`` split at its free boundaries (given its ``cut`` ones) and at each ``_FREE``."""
        marks = list(map(self._joined.get, map(add, text, text[1:]), repeat(_FREE)))
        for at in cut:
            marks[at - 1] = ""
        return list(filter(None, ("".join(map(add, text, marks)) + text[-1:]).split(_FREE)))


class _Memo(dict[_K, _V]):
    """A dict that fills itself from ``function`` on a miss."""

    def __init__(self, function: Callable[[_K], _V]) -> None:
        super().__init__()
        self._function = function

    def __missing__(self, key: _K) -> _V:
        value = self[key] = self._function(key)
        return value


@lru_cache(maxsize=1)
def _ascii_pairs() -> dict[str, str]:
    return dict.fromkeys(map("".join, product(map(chr, range(128)), repeat=2)), "")


def _utf8_length(lead: int) -> int:
    """Bytes in the UTF-8 sequence that starts with byte ``lead`` (>= 0xC0)."""
    return 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _starting_with(prefix: bytes) -> tuple[int, int]:
    """The code points whose UTF-8 starts with ``prefix`` (a lead byte and maybe more): a range."""
    size = _utf8_length(prefix[0])
    value = prefix[0] & (0x7F >> size)
    for byte in prefix[1:]:
        value = value << 6 | byte & 0x3F
    shift = 6 * (size - len(prefix))
    low, high = (0x80, 0x7FF) if size == 2 else (0x800, 0xFFFF) if size == 3 else (0x10000, 0x10FFFF)
    return max(value << shift, low), min((value + 1 << shift) - 1, high)


def _readable(raw: bytes) -> str:
    """Bytes as text with control characters and broken UTF-8 escaped (minbpe's render idea)."""
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
