"""Word- and character-level figures: fertility, words kept whole, Han coverage.

These need the corpus' words and characters with their frequencies, not just token counts, so they
are computed on a sample (the first :data:`SAMPLE_BYTES` of text of each corpus, spread over its
files like the main analysis): 4 MB holds ~700k English words or ~1.3M Han characters, enough to
rank the 3,500 most frequent characters (the size of China's list of commonly used characters,
the 现代汉语常用字表) stably.

- **fertility**: tokens per whitespace word for spaced scripts (words with no Han or kana), tokens
  per character for Han; the main table's ``tokens_per_word`` and the Han row give the corpus-wide
  figures, this module adds the share of words **kept whole**: a word (frequency-weighted) that the
  tokenizer encodes, on its own, as one token.
- **Han coverage**: the share of the corpus' Han characters (frequency-weighted), and of its 3,500
  most frequent distinct ones, that the vocabulary holds as a token of exactly that character.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import regex

SAMPLE_BYTES = 4 << 20
TOP_HAN = 3500
_HAN = regex.compile(r"\p{Script=Han}")
_CJK_WORD = regex.compile(r"[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]")
_BATCH = 4096


@dataclass
class Lexicon:
    """Word and Han character frequencies of a text sample."""

    words: Counter[str] = field(default_factory=Counter)
    han: Counter[str] = field(default_factory=Counter)

    def add(self, text: str) -> None:
        self.words.update(w for w in text.split() if not _CJK_WORD.search(w))
        self.han.update(_HAN.findall(text))


def lexicon(texts: Iterable[str]) -> Lexicon:
    lex = Lexicon()
    for t in texts:
        lex.add(t)
    return lex


def words_whole_share(lex: Lexicon, encode_batch: Callable[[list[str]], Sequence[Sequence[int]]]
                      ) -> float | None:
    """Share of word occurrences (no Han/kana) the tokenizer encodes alone as one token."""
    total = sum(lex.words.values())
    if not total:
        return None
    words = list(lex.words)
    whole = 0
    for start in range(0, len(words), _BATCH):
        chunk = words[start:start + _BATCH]
        whole += sum(lex.words[w] for w, ids in zip(chunk, encode_batch(chunk), strict=True)
                     if len(ids) == 1)
    return whole / total


def han_coverage(lex: Lexicon, vocabulary: set[bytes], *, top: int = TOP_HAN
                 ) -> dict[str, float | int | None]:
    """Share of Han character occurrences, and of the ``top`` most frequent distinct ones, that
    ``vocabulary`` (the set of regular tokens' bytes) holds as one token."""
    total = sum(lex.han.values())
    if not total:
        return {"han_distinct": 0, "han_vocab_coverage": None, "han_top_coverage": None,
                "han_top": 0}
    covered = sum(n for c, n in lex.han.items() if c.encode("utf-8") in vocabulary)
    common = [c for c, _ in lex.han.most_common(top)]
    in_vocab = sum(1 for c in common if c.encode("utf-8") in vocabulary)
    return {"han_distinct": len(lex.han), "han_vocab_coverage": covered / total,
            "han_top_coverage": in_vocab / len(common), "han_top": len(common)}
