"""WordPiece training from scratch: merges ranked by likelihood gain, not by raw frequency.

A merge of ``a`` and ``b`` gains the most corpus likelihood (under a unigram model of symbols) when
``count(ab) / (count(a) · count(b))`` is largest: it prefers pairs whose parts rarely occur apart.
(``tokenizers``' WordPieceTrainer ranks by ``count(ab)`` alone, i.e. it is BPE with a ``##`` prefix.)

How it stays fast in pure Python:

* texts are normalized and split into words in ~1 MB batches (C-level regex work), and only unique
  words are counted;
* each word is a list of symbol ids; a pair → words index says where a merge applies, and only
  those words are rewritten, with pair counts updated around each merge site;
* a heap holds candidate pairs. A merge changes scores in two ways: pairs at merge sites lose
  count (their score falls: stale heap entries overestimate and are re-scored when popped), and
  *every* pair that contains ``a`` or ``b`` gains score because ``count(a)``/``count(b)`` fell.
  Re-pushing all of those after every merge is what makes a naive heap slow (and big); instead a
  symbol's pairs are re-pushed only when its count fell by 5% since their last push, which bounds
  how far any key can underestimate, and each step pops every entry within that bound of the best
  — the chosen pair is still exactly the best one.

Ties are broken by the larger pair count, then by the smaller (left id, right id), ids being
assigned in vocabulary order. Deterministic for a given corpus order.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import time
from collections import Counter
from collections.abc import Iterable

from tokkit.errors import InputError
from tokkit.models.wordpiece import WordPieceSettings, WordPieceTokenizer
from tokkit.models.wordpiece_normalize import bert_pretokenize
from tokkit.progress import NULL_PROGRESS
from tokkit.train.config import WordPieceConfig
from tokkit.train.joined import joined_batches
from tokkit.train.stats import TrainStats
from tokkit.types import Progress

BATCH_CHARS = 1 << 20
"""Texts are normalized and split in batches of about this many characters."""


def settings_of(config: WordPieceConfig) -> WordPieceSettings:
    return WordPieceSettings(
        unk_token=config.unk_token, continuing_prefix=config.continuing_prefix,
        max_input_chars_per_word=config.max_input_chars_per_word, lowercase=config.lowercase,
        strip_accents=config.strip_accents, handle_chinese_chars=config.handle_chinese_chars)


def count_words(texts: Iterable[str], config: WordPieceConfig, stats: TrainStats,
                progress: Progress) -> Counter[str]:
    """Unique BERT words of the corpus and how often each occurs."""
    counts: Counter[str] = Counter()
    task = progress.task("counting words", total=None)
    for batch in joined_batches(texts, stats, BATCH_CHARS):
        counts.update(bert_pretokenize(batch, lowercase=config.lowercase,
                                       strip_accents=config.strip_accents,
                                       handle_chinese_chars=config.handle_chinese_chars))
        task.advance(len(batch))
    return counts


class WordPieceTrainer:
    """Train a :class:`WordPieceTokenizer` from an iterator of texts.

    >>> tok = WordPieceTrainer(WordPieceConfig(vocab_size=60)).train(["hug pug hugs bun"] * 5)
    >>> tok.decode(tok.encode("hugs"))
    'hugs'
    """

    def __init__(self, config: WordPieceConfig) -> None:
        config.check()
        self.config = config
        self.stats = TrainStats()

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> WordPieceTokenizer:
        progress = progress or NULL_PROGRESS
        config = self.config
        prefix = config.continuing_prefix
        stats = self.stats = TrainStats()
        t0 = time.perf_counter()
        word_counts = count_words(texts, config, stats, progress)
        if not word_counts:
            raise InputError("the corpus has no words to train on (empty or whitespace only); "
                             "check the corpus path")
        stats["unique_words"] = stats["unique_chunks"] = len(word_counts)
        stats["seconds_counting"] = round(time.perf_counter() - t0, 3)

        # the alphabet: characters by frequency (kept in full unless limit_alphabet says otherwise)
        char_counts: Counter[str] = Counter()
        for word, n in word_counts.items():
            for ch in set(word):
                char_counts[ch] += n * word.count(ch)
        chars = [c for c, _ in sorted(char_counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        if config.limit_alphabet is not None:
            chars = chars[: config.limit_alphabet]
        allowed = set(chars)
        words = [(w, n) for w, n in word_counts.items() if allowed.issuperset(w)]
        del word_counts
        initial = sorted({w[0] for w, _ in words})
        continuing = sorted({c for w, _ in words for c in w[1:]})
        specials = list(config.special_tokens)
        vocab: list[str] = [*specials]
        taken = set(vocab)
        vocab += [c for c in initial if c not in taken]
        taken.update(vocab)
        vocab += [p for p in (prefix + c for c in continuing) if p not in taken]
        if len(vocab) > config.vocab_size:
            raise InputError(
                f"`vocab_size={config.vocab_size}` is smaller than the {len(vocab) - len(specials)} "
                f"characters of the corpus plus {len(specials)} special tokens; use "
                f"`vocab_size={len(vocab)}` or more, or `limit_alphabet` to keep only the most frequent "
                "characters"
            )
        stats["alphabet"] = len(vocab) - len(specials)
        t1 = time.perf_counter()
        merges = self._merge(vocab, words, progress)
        stats["merges"] = merges
        stats["seconds_training"] = round(time.perf_counter() - t1, 3)
        stats["vocab_size"] = len(vocab)
        return WordPieceTokenizer(vocab, special_tokens=specials, settings=settings_of(config))

    def _merge(self, vocab: list[str], words_and_counts: list[tuple[str, int]],
               progress: Progress) -> int:
        """Append merged symbols to ``vocab`` until it reaches the target size; return the count."""
        config = self.config
        prefix = config.continuing_prefix
        ids = {s: i for i, s in enumerate(vocab)}
        words: list[list[int]] = []
        counts: list[int] = []
        symbol_count = [0] * len(vocab)
        for word, n in words_and_counts:
            symbols = [ids[word[0]], *(ids[prefix + c] for c in word[1:])]
            for s in symbols:
                symbol_count[s] += n
            if len(symbols) > 1:
                words.append(symbols)
                counts.append(n)
        pair_count: dict[tuple[int, int], int] = {}
        pair_words: dict[tuple[int, int], set[int]] = {}
        for w, symbols in enumerate(words):
            n = counts[w]
            for pair in itertools.pairwise(symbols):
                pair_count[pair] = pair_count.get(pair, 0) + n
                pair_words.setdefault(pair, set()).add(w)
        min_freq = max(1, config.min_frequency)
        symbol_pairs: dict[int, set[tuple[int, int]]] = {}
        for pair, c in pair_count.items():
            if c >= min_freq:
                symbol_pairs.setdefault(pair[0], set()).add(pair)
                symbol_pairs.setdefault(pair[1], set()).add(pair)

        def score(pair: tuple[int, int], c: int) -> float:
            return c / (symbol_count[pair[0]] * symbol_count[pair[1]])

        # Heap keys are scores at push time. Pair counts only fall, and a symbol's pairs are
        # re-pushed whenever its count fell by more than SLACK since their last push, so every
        # live pair's true score is at most key × SLACK² (BOUND). Popping every entry whose
        # key × BOUND could still beat the best true score found gives the exact best pair.
        slack = 1.05
        bound = slack * slack * (1 + 1e-9)
        pushed_at = list(symbol_count)
        heap = [(-score(p, c), p) for p, c in pair_count.items() if c >= min_freq]
        heapq.heapify(heap)
        task = progress.task("merging", total=config.vocab_size - len(vocab))
        merges = 0
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            while len(vocab) < config.vocab_size and heap:
                best: tuple[float, int, int, int] | None = None
                seen: dict[tuple[int, int], int] = {}
                while heap and (best is None or -heap[0][0] * bound >= -best[0]):
                    _, p = heapq.heappop(heap)
                    c = pair_count.get(p, 0)
                    if c < min_freq or p in seen:
                        continue
                    seen[p] = c
                    candidate = (-score(p, c), -c, p[0], p[1])
                    if best is None or candidate < best:
                        best = candidate
                if best is None:
                    break
                a, b = best[2], best[3]
                pair = (a, b)
                for p, c in seen.items():
                    if p != pair:
                        heapq.heappush(heap, (-score(p, c), p))
                new = len(vocab)
                right = vocab[b][len(prefix):] if vocab[b].startswith(prefix) else vocab[b]
                token = vocab[a] + right
                if token in ids:  # the same string reached by another split: reuse its id
                    new = ids[token]
                else:
                    vocab.append(token)
                    ids[token] = new
                    symbol_count.append(0)
                    pushed_at.append(0)
                    task.advance()
                merges += 1
                created: set[tuple[int, int]] = set()
                for w in pair_words.pop(pair, ()):
                    self._apply(words[w], counts[w], w, a, b, new, pair_count, pair_words,
                                symbol_count, created)
                pair_count.pop(pair, None)
                for sym in (a, b):
                    symbol_pairs.get(sym, set()).discard(pair)
                for p in created:
                    if pair_count.get(p, 0) >= min_freq:
                        symbol_pairs.setdefault(p[0], set()).add(p)
                        symbol_pairs.setdefault(p[1], set()).add(p)
                        heapq.heappush(heap, (-score(p, pair_count[p]), p))
                pushed_at[new] = symbol_count[new]
                # count(a), count(b) fell: their pairs score higher; re-push once past the slack
                for sym in (a, b):
                    if symbol_count[sym] * slack < pushed_at[sym]:
                        pushed_at[sym] = symbol_count[sym]
                        live = symbol_pairs.get(sym, set())
                        for p in list(live):
                            c = pair_count.get(p, 0)
                            if c >= min_freq:
                                heapq.heappush(heap, (-score(p, c), p))
                            else:
                                live.discard(p)
        finally:
            if gc_was_enabled:
                gc.enable()
        return merges

    @staticmethod
    def _apply(symbols: list[int], n: int, w: int, a: int, b: int, new: int,
               pair_count: dict[tuple[int, int], int],
               pair_words: dict[tuple[int, int], set[int]],
               symbol_count: list[int], created: set[tuple[int, int]]) -> None:
        """Rewrite one word with ``a b`` → ``new``, updating pair and symbol counts around each site."""
        i = 0
        while i < len(symbols) - 1:
            if symbols[i] != a or symbols[i + 1] != b:
                i += 1
                continue
            if i > 0:
                left = (symbols[i - 1], a)
                pair_count[left] -= n
                made = (symbols[i - 1], new)
                pair_count[made] = pair_count.get(made, 0) + n
                pair_words.setdefault(made, set()).add(w)
                created.add(made)
            if i + 2 < len(symbols):
                right = (b, symbols[i + 2])
                pair_count[right] -= n
                made = (new, symbols[i + 2])
                pair_count[made] = pair_count.get(made, 0) + n
                pair_words.setdefault(made, set()).add(w)
                created.add(made)
            symbols[i : i + 2] = [new]
            symbol_count[a] -= n
            symbol_count[b] -= n
            symbol_count[new] += n
            i += 1
