"""WordPiece in one page: the specification :class:`tokkit.train.wordpiece.WordPieceTrainer` meets.

Training:

1. normalize and split the texts into words as BERT does and count each distinct word;
2. the alphabet: the characters by frequency (all, or the ``limit_alphabet`` most frequent; a
   word with any other character is dropped). The vocabulary starts as the special tokens, the
   characters that begin a word, then ``##`` + each character that continues one;
3. write each word as symbols: its first character, then ``##c`` for every other character;
4. count every symbol and every adjacent pair of symbols, weighted by the word's count;
5. take the pair with the highest score ``count(ab) / (count(a) · count(b))``, ties to the larger
   count, then to the smaller ``(id of a, id of b)``, among the pairs seen ``min_frequency`` times;
6. its token is ``a`` joined with ``b`` without its ``##`` (a new entry, unless that string is
   already in the vocabulary); rewrite every word with the pair merged, leftmost first, as BPE
   does (:func:`tokkit.train.reference.bpe.merge`), and go back to 4 until the vocabulary
   reaches ``vocab_size``.

The fast trainer updates counts only around merge sites and keeps a heap whose keys may lag the
true scores by a bounded slack; this page recounts everything every step.

Encoding (the twin of :meth:`tokkit.models.wordpiece.WordPieceTokenizer.encode`): special-token
strings become their ids; every other word is cut greedily, longest vocabulary match first
(``##``-prefixed after the first piece); a word that cannot be covered, or is longer than
``max_input_chars_per_word``, is one ``[UNK]``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

from tokkit.models.wordpiece import WordPieceTokenizer
from tokkit.models.wordpiece_normalize import bert_pretokenize
from tokkit.train.config import WordPieceConfig
from tokkit.train.reference.bpe import merge


def train_vocab(texts: Iterable[str], config: WordPieceConfig) -> list[str]:
    """The vocabulary (id = position) :class:`~tokkit.train.wordpiece.WordPieceTrainer` learns."""
    prefix = config.continuing_prefix
    counts = Counter(w for t in texts for w in bert_pretokenize(
        t, lowercase=config.lowercase, strip_accents=config.strip_accents,
        handle_chinese_chars=config.handle_chinese_chars))
    chars: Counter[str] = Counter()
    for word, n in counts.items():
        for ch in word:
            chars[ch] += n
    alphabet = sorted(chars, key=lambda c: (-chars[c], c))[: config.limit_alphabet]
    counts = Counter({w: n for w, n in counts.items() if set(w) <= set(alphabet)})
    vocab = list(config.special_tokens)
    vocab += sorted({w[0] for w in counts} - set(vocab))
    vocab += sorted({prefix + c for w in counts for c in w[1:]} - set(vocab))
    words = {w: [w[0], *(prefix + c for c in w[1:])] for w in counts}
    while len(vocab) < config.vocab_size:
        symbols: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for word, split in words.items():
            for s in split:
                symbols[s] += counts[word]
            for pair in pairwise(split):
                pairs[pair] += counts[word]
        ids = {s: i for i, s in enumerate(vocab)}
        live = [p for p, c in pairs.items() if c >= max(1, config.min_frequency)]
        if not live:
            break
        a, b = min(live, key=lambda p: (-pairs[p] / (symbols[p[0]] * symbols[p[1]]),
                                        -pairs[p], ids[p[0]], ids[p[1]]))
        merged = a + b.removeprefix(prefix)
        if merged not in ids:
            vocab.append(merged)
        words = {w: merge(split, (a, b), merged) for w, split in words.items()}
    return vocab


def encode(tok: WordPieceTokenizer, text: str) -> list[int]:
    """The ids ``tok.encode(text)`` gives."""
    s = tok.settings
    specials = tok.special_tokens
    alternatives = "|".join(map(re.escape, sorted(specials, key=len, reverse=True)))
    ids: list[int] = []
    for k, part in enumerate(re.split(f"({alternatives})", text)):
        if k % 2:
            ids.append(specials[part])
            continue
        for word in bert_pretokenize(part, lowercase=s.lowercase, strip_accents=s.strip_accents,
                                     handle_chinese_chars=s.handle_chinese_chars):
            ids += encode_word(tok, word)
    return ids


def encode_word(tok: WordPieceTokenizer, word: str) -> list[int]:
    """Longest match first: the longest vocabulary entry the rest of the word starts with."""
    s = tok.settings
    if len(word) > s.max_input_chars_per_word:
        return [tok.unk_id]
    ids: list[int] = []
    start = 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else s.continuing_prefix + word[start:end]
            if piece in tok.token_to_id:
                ids.append(tok.token_to_id[piece])
                start = end
                break
        else:
            return [tok.unk_id]
    return ids
