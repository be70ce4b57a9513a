"""Unigram language-model training from scratch (sentencepiece's algorithm, in numpy).

1. Normalize (NFKC), split sentences into ``▁``-prefixed words, count unique words (batches in a
   pool of workers).
2. Keep the characters that cover ``character_coverage`` of all occurrences (the rest are unknown).
3. Split words into *runs* at Unicode-script boundaries (and digits): sentencepiece never lets a
   piece span two scripts, so nothing is lost — and Chinese sentences, which have no spaces,
   become short runs between punctuation. Runs are counted; each unique run is one lattice.
4. Seed: every substring (≤ ``max_piece_length``) occurring at least twice, ranked by
   frequency × length, top ``seed_size``, plus every character (counted with rolling hashes).
5. EM: forward-backward expected counts over all lattices (column-wise, in worker processes that
   each hold a fixed share of the runs, see :mod:`tokkit.train.unigram_lattice`), then the
   Bayesian M-step sentencepiece uses (``digamma(count) - digamma(total)``, pieces expected < 0.5
   times dropped).
6. Prune: remove the pieces whose loss of likelihood is smallest if each were replaced by its
   best segmentation without itself (one batched Viterbi over all piece strings), keeping
   ``shrinking_factor`` of them per round, until the vocabulary is within 10% of the target;
   then keep the best-scoring pieces (and every character).
"""

from __future__ import annotations

import functools
import logging
import math
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable

import numpy as np
import regex

from tokkit.errors import InputError
from tokkit.models.unigram import (
    SPACE,
    UNK_PENALTY,
    PieceType,
    UnigramSettings,
    UnigramTokenizer,
    byte_piece,
)
from tokkit.models.unigram_normalize import split_words
from tokkit.pool import map_in_order, worker_count
from tokkit.progress import NULL_PROGRESS
from tokkit.resources import release_free_memory
from tokkit.train.config import UnigramConfig
from tokkit.train.joined import joined_batches
from tokkit.train.stats import TrainStats
from tokkit.train.unigram_lattice import (
    FloatArray,
    HashTable,
    Lattice,
    ShardedLattice,
    code_points,
    string_hashes,
    sum_in_order,
    window_hashes,
)
from tokkit.types import Progress

log = logging.getLogger("tokkit")

BATCH_CHARS = 1 << 20
PRUNE_CHUNK = 100_000
"""Pieces segmented at once when pruning (each piece's segmentation is its own: chunks only
bound the memory)."""
MAX_RUN = 1024
"""Longer runs (no space or script change for 1024 characters) are cut into pieces this long."""

_SCRIPTS = ["Latin", "Greek", "Cyrillic", "Arabic", "Hebrew", "Hangul", "Thai", "Devanagari",
            "Bengali", "Tamil", "Telugu", "Georgian", "Armenian", "Ethiopic", "Khmer", "Lao",
            "Myanmar", "Tibetan", "Mongolian", "Sinhala", "Gujarati", "Gurmukhi", "Kannada",
            "Malayalam", "Oriya", "Bopomofo", "Yi", "Cherokee", "Canadian_Aboriginal", "Syriac",
            "Thaana", "Common"]
_HAN = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\u30fc]")
_SCRIPT_RES = [regex.compile(rf"\p{{Script={name}}}") for name in _SCRIPTS]
HAN, DIGIT, INHERITED, OTHER = 100, 101, 102, 103


def script_class(char: str) -> int:
    """sentencepiece's script of a character: Han with Hiragana/Katakana merged, digits apart
    (split_by_number), combining marks joining what precedes them."""
    if char.isdigit():
        return DIGIT
    if _HAN.match(char):
        return HAN
    if unicodedata.category(char) in ("Mn", "Me"):
        return INHERITED
    for i, pattern in enumerate(_SCRIPT_RES):
        if pattern.match(char):
            return i
    return OTHER


def _count_batch(batch: str, nfkc: bool) -> Counter[str]:
    """The words of one joined batch of texts (a pool worker's job), normalized as the tokenizer
    will normalize them."""
    return Counter(split_words(batch, "nfkc" if nfkc else "identity"))


def digamma(x: FloatArray) -> FloatArray:
    """ψ(x) by recurrence up to 7 and the asymptotic series (sentencepiece's formula)."""
    x = np.array(x, dtype=np.float64)
    result = np.zeros_like(x)
    for _ in range(7):
        small = x < 7
        if not small.any():
            break
        result[small] -= 1.0 / x[small]
        x[small] += 1.0
    x = x - 0.5
    xx = 1.0 / x
    xx2 = xx * xx
    xx4 = xx2 * xx2
    return result + np.log(x) + xx2 / 24.0 - 7.0 / 960.0 * xx4 + 31.0 / 8064.0 * xx4 * xx2 - 127.0 / 30720.0 * xx4 * xx4


class UnigramTrainer:
    """Train a :class:`UnigramTokenizer` from an iterator of texts (one sentence per text, best).

    >>> tok = UnigramTrainer(UnigramConfig(vocab_size=40)).train(["low lower lowest"] * 20)
    >>> tok.decode(tok.encode("lowest low"))
    'lowest low'
    """

    def __init__(self, config: UnigramConfig) -> None:
        config.check()
        self.config = config
        self.stats = TrainStats()

    def settings(self) -> UnigramSettings:
        return UnigramSettings(normalization=self.config.normalization,  # type: ignore[arg-type]
                               byte_fallback=self.config.byte_fallback)

    # -- 1-3: words, alphabet, runs --------------------------------------------------------------

    def count_words(self, texts: Iterable[str], progress: Progress, workers: int = 1) -> Counter[str]:
        """Words and their counts, in order of first occurrence (whatever ``workers`` is: batches
        are counted apart, in a pool as BPE counts its chunks, and merged in order)."""
        counts: Counter[str] = Counter()
        nfkc = self.config.normalization == "nfkc"
        task = progress.task("counting words", total=None)
        batches = joined_batches(texts, self.stats, BATCH_CHARS)
        for batch, batch_counts in map_in_order(functools.partial(_count_batch, nfkc=nfkc), batches, workers):
            counts.update(batch_counts)
            task.advance(len(batch))
        return counts

    def alphabet(self, words: list[str], counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(code points, their counts) of the characters to keep, most frequent first."""
        cps = code_points("".join(words)).astype(np.int64)
        weights = np.repeat(counts, [len(w) for w in words])
        # code points index a bincount directly: no sort of the whole text (np.unique's)
        freq = np.bincount(cps, weights=weights)
        chars = np.flatnonzero(freq)
        chars, freq = chars.astype(np.uint64), freq[chars]
        order = np.lexsort((chars, -freq))
        chars, freq = chars[order], freq[order]
        covered = np.concatenate([[0.0], np.cumsum(freq)[:-1]]) / freq.sum()
        keep = covered < self.config.character_coverage
        keep[0] = True
        return chars[keep], freq[keep]

    @staticmethod
    def split_runs(words: list[str], counts: np.ndarray, required: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Cut words at script boundaries and at unknown characters; count unique runs."""
        text = "".join(words)
        cps = code_points(text)
        lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        cp_index = cps.astype(np.int64)  # bincount takes no uint64
        present = np.flatnonzero(np.bincount(cp_index))
        class_of = np.zeros(int(present[-1]) + 1 if len(present) else 1, dtype=np.int64)
        class_of[present] = [script_class(chr(c)) for c in present.tolist()]
        classes = class_of[cp_index]
        del cp_index
        known = np.isin(cps, required)
        space = cps == ord(SPACE)
        n = len(cps)
        # ▁ takes the class of what follows it; combining marks the class of what precedes them
        nxt = np.concatenate([classes[1:], [OTHER]])
        classes = np.where(space, nxt, classes)
        idx = np.where(classes == INHERITED, -1, np.arange(n))
        idx = np.maximum.accumulate(idx)
        classes = np.where(idx >= 0, classes[np.maximum(idx, 0)], classes)
        word_start = np.zeros(n, dtype=bool)
        word_start[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = True
        prev_space = np.concatenate([[False], space[:-1]])
        start = word_start | np.concatenate([[True], classes[1:] != classes[:-1]]) & ~prev_space
        start |= np.concatenate([[True], ~known[:-1]])
        start &= known
        weight = np.repeat(counts, lengths)
        run_counts: dict[str, float] = {}
        starts = np.flatnonzero(start)
        # a run goes on up to the next run start or unknown character
        breaks = np.flatnonzero(start | ~known)
        nxt = np.searchsorted(breaks, starts, side="right")
        ends = np.where(nxt < len(breaks), breaks[np.minimum(nxt, len(breaks) - 1)], n)
        get = run_counts.get
        for s, e, w in zip(starts.tolist(), ends.tolist(), weight[starts].tolist(), strict=True):
            while e - s > MAX_RUN:
                piece = text[s : s + MAX_RUN]
                run_counts[piece] = get(piece, 0.0) + w
                s += MAX_RUN
            if e > s:
                piece = text[s:e]
                run_counts[piece] = get(piece, 0.0) + w
        runs = sorted(run_counts, key=len, reverse=True)
        return runs, np.array([run_counts[r] for r in runs], dtype=np.float64)

    # -- 4: seeds --------------------------------------------------------------------------------

    def seeds(self, text: str, run_starts: np.ndarray, lengths: np.ndarray, counts: np.ndarray,
              required: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Frequent substrings (freq ≥ 2, top by freq × length) and all characters, with
        log-probabilities proportional to freq × length."""
        config = self.config
        n = len(text)
        run_of_len = np.repeat(lengths, lengths)
        pos_in_run = np.arange(n) - np.repeat(run_starts, lengths)
        room = run_of_len - pos_in_run
        weight = np.repeat(counts, lengths)
        budget = config.seed_size - len(required)
        cand_score, cand_pos, cand_len = [], [], []
        min_freq = max(2, config.min_frequency)
        valid = np.flatnonzero(room >= 2)
        for k, h in window_hashes(code_points(text), config.max_piece_length):
            if k == 1:
                continue
            # a substring is frequent only if its prefix one shorter is (apriori): the
            # candidate positions shrink fast with k
            valid = valid[room[valid] >= k]
            if len(valid) == 0:
                break
            hv = h[valid]
            order = np.argsort(hv)
            hs = hv[order]
            new_group = np.concatenate([[True], hs[1:] != hs[:-1]])
            group_start = np.flatnonzero(new_group)
            freq = np.add.reduceat(weight[valid][order], group_start)
            del hv, hs
            ok = np.flatnonzero(freq >= min_freq)
            top = ok if len(ok) <= budget else ok[np.argpartition(-freq[ok], budget)[:budget]]
            cand_score.append(freq[top] * k)
            cand_pos.append(valid[order[group_start[top]]])
            cand_len.append(np.full(len(top), k))
            frequent = (freq >= min_freq)[np.cumsum(new_group) - 1]
            valid = valid[order[frequent]]
        score = np.concatenate(cand_score) if cand_score else np.zeros(0)
        pos = np.concatenate(cand_pos) if cand_pos else np.zeros(0, dtype=np.int64)
        plen = np.concatenate(cand_len) if cand_len else np.zeros(0, dtype=np.int64)
        if len(score) > budget:
            top = np.argpartition(-score, budget)[:budget]
            score, pos, plen = score[top], pos[top], plen[top]
        order = np.argsort(-score, kind="stable")
        pieces = [chr(c) for c in required.tolist()]
        pieces += [text[p : p + k] for p, k in zip(pos[order].tolist(), plen[order].tolist(), strict=True)]
        # character frequencies (score = freq × 1)
        cps = code_points(text)
        char_freq = np.bincount(np.searchsorted(np.sort(required), cps), weights=weight,
                                minlength=len(required))
        char_freq = char_freq[np.searchsorted(np.sort(required), required)]
        scores = np.concatenate([np.maximum(char_freq, 1.0), score[order]])
        return pieces, np.log(scores) - math.log(scores.sum())

    # -- 5-6: EM and pruning ---------------------------------------------------------------------

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> UnigramTokenizer:
        progress = progress or NULL_PROGRESS
        config = self.config
        self.stats = TrainStats()
        workers = worker_count(config.workers)
        with ShardedLattice(workers) as lattice:  # workers start now, while this process is small
            return self._train(texts, lattice, progress, workers)

    def _train(self, texts: Iterable[str], lattice: ShardedLattice, progress: Progress,
               workers: int) -> UnigramTokenizer:
        config, stats = self.config, self.stats
        t0 = time.perf_counter()
        # counting uses every worker asked for; the lattice stops at its shard count
        word_counter = self.count_words(texts, progress, workers)
        if not word_counter:
            raise InputError("the corpus has no words to train on (empty or whitespace only); "
                             "check the corpus path")
        words = [SPACE + w for w in word_counter]
        counts = np.fromiter(word_counter.values(), dtype=np.float64, count=len(words))
        del word_counter
        stats["unique_words"] = len(words)
        required, _ = self.alphabet(words, counts)
        n_meta = len(config.special_tokens)
        n_bytes = 256 if config.byte_fallback else 0
        room = config.vocab_size - n_meta - n_bytes
        if len(required) > room:
            if not config.byte_fallback:
                raise InputError(
                    f"`vocab_size={config.vocab_size}` is smaller than the {len(required)} characters "
                    f"needed for `character_coverage={config.character_coverage}` plus {n_meta} "
                    f"special tokens; use `vocab_size={len(required) + n_meta + 1}` or more, a lower "
                    "`character_coverage`, or `byte_fallback=True`"
                )
            required = required[:room]  # byte fallback spells the rest
        stats["alphabet"] = len(required)
        runs, run_counts = self.split_runs(words, counts, required)
        del words, counts
        stats["unique_runs"] = stats["unique_chunks"] = len(runs)
        stats["seconds_counting"] = round(time.perf_counter() - t0, 3)
        if not runs:
            raise InputError("the corpus has no characters left to train on")

        t1 = time.perf_counter()
        text = "".join(runs)
        lengths = np.fromiter((len(r) for r in runs), dtype=np.int64, count=len(runs))
        run_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        del runs
        pieces, logp = self.seeds(text, run_starts, lengths, run_counts, required)
        n_chars = len(required)
        is_char = np.zeros(len(pieces), dtype=bool)
        is_char[:n_chars] = True
        stats["seed_pieces"] = len(pieces)
        piece_lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
        piece_hashes = string_hashes(pieces, config.max_piece_length)
        alive = np.ones(len(pieces), dtype=bool)
        table = HashTable.build(piece_hashes, piece_lengths, alive, config.max_piece_length)
        release_free_memory()
        lattice.build(text, run_starts, lengths, run_counts, table, config.max_piece_length)
        del text, run_starts, table
        release_free_memory()
        stats["lattice_edges"] = lattice.edges
        stats["lattice_workers"] = lattice.workers
        stats["seconds_seeding"] = round(time.perf_counter() - t1, 3)
        return self._em(lattice, pieces, piece_hashes, piece_lengths, logp, alive, is_char,
                        float(run_counts.sum()), room, progress)

    def _em(self, lattice: ShardedLattice, pieces: list[str], piece_hashes: np.ndarray,
            piece_lengths: np.ndarray, logp: np.ndarray, alive: np.ndarray, is_char: np.ndarray,
            total_runs: float, room: int, progress: Progress) -> UnigramTokenizer:
        """EM steps and pruning rounds until the vocabulary is within 10% of the target."""
        config, stats = self.config, self.stats
        t2 = time.perf_counter()
        target = room
        desired = int(target * 1.1)
        rounds = 1
        if len(pieces) > desired:
            rounds = math.ceil(math.log(desired / len(pieces)) / math.log(config.shrinking_factor))
        task = progress.task("EM + pruning", total=rounds + 1)
        objective = 0.0
        em_steps = 0
        while True:
            for _ in range(config.em_sub_iterations):
                expected, loglik = lattice.forward_backward(logp)
                objective = -loglik / total_runs
                em_steps += 1
                # the M-step: pieces expected < 0.5 times go; characters stay in the lattice
                # but score as sentencepiece's unknown (min - 10) until they earn a count
                kept = alive & (expected >= 0.5)
                alive &= kept | is_char
                freq = np.where(kept, expected, 0.0)
                log_total = digamma(np.array([freq.sum()]))[0]
                logp = np.full(len(pieces), -np.inf)
                logp[kept] = digamma(freq[kept]) - log_total
                weak = is_char & ~kept
                logp[weak] = logp[kept].min() - UNK_PENALTY
                lattice.keep_pieces(alive)
            task.advance()
            if alive.sum() <= desired:
                break
            self._prune(lattice, pieces, piece_hashes, piece_lengths, alive, is_char, logp, desired,
                        total_runs)
            release_free_memory()  # the pruning lattice's arrays
            lattice.keep_pieces(alive)
        stats["em_steps"] = em_steps
        stats["objective"] = round(objective, 4)
        stats["seconds_em"] = round(time.perf_counter() - t2, 3)
        return self._finalize(pieces, logp, alive, is_char, weak, target)

    def _prune(self, lattice: ShardedLattice, pieces: list[str], piece_hashes: np.ndarray,
               piece_lengths: np.ndarray, alive: np.ndarray, is_char: np.ndarray,
               logp: np.ndarray, desired: int, vsum: float) -> None:
        """sentencepiece's PruneSentencePieces, batched: drop the pieces that cost least.

        The workers find the corpus's Viterbi piece frequencies while this process segments
        the piece strings themselves.
        """
        config = self.config
        lattice.request("piece_frequencies", logp)
        # each multi-character piece's best segmentation without itself
        multi = np.flatnonzero(alive & ~is_char)
        order = multi[np.argsort(-piece_lengths[multi], kind="stable")]
        table = HashTable.build(piece_hashes, piece_lengths, alive, config.max_piece_length)
        runs_parts, pieces_parts, scores_parts = [], [], []
        for lo in range(0, len(order), PRUNE_CHUNK):  # in chunks: a bounded lattice at a time
            chunk = order[lo : lo + PRUNE_CHUNK]
            plen = piece_lengths[chunk]
            starts = np.concatenate([[0], np.cumsum(plen)[:-1]]).astype(np.int64)
            alt = Lattice.build("".join([pieces[i] for i in chunk.tolist()]), starts, plen,
                                np.ones(len(chunk)), table, config.max_piece_length, skip_whole=True)
            chunk_runs, chunk_pieces, chunk_scores = alt.viterbi(logp)
            del alt
            runs_parts.append(chunk_runs + lo)
            pieces_parts.append(chunk_pieces)
            scores_parts.append(chunk_scores)
        alt_runs = np.concatenate(runs_parts) if runs_parts else np.zeros(0, dtype=np.int64)
        alt_pieces = np.concatenate(pieces_parts) if pieces_parts else np.zeros(0, dtype=np.int64)
        alt_scores = np.concatenate(scores_parts) if scores_parts else np.zeros(0)
        n_alt = np.bincount(alt_runs, minlength=len(order))
        freq = sum_in_order(lattice.collect())
        total = freq.sum()
        own = logp[order]
        removable = alt_scores > own  # the piece's best segmentation is not itself
        f_i = freq[order]
        with np.errstate(divide="ignore", invalid="ignore"):  # pieces never used: dropped below
            logsum_alt = np.log(total + f_i * (n_alt - 1))
            terms = np.log(freq[alt_pieces] + f_i[alt_runs]) - logsum_alt[alt_runs]
            logprob_alt = np.bincount(alt_runs, weights=terms, minlength=len(order))
            logprob_sp = np.log(f_i) - math.log(total)
            loss = (f_i / vsum) * (logprob_sp - logprob_alt)
        drop = (f_i == 0) | removable
        candidates = np.flatnonzero(~drop)
        keep_n = max(desired, int(config.shrinking_factor * alive.sum())) - int((alive & is_char).sum())
        kept = candidates[np.argsort(-loss[candidates], kind="stable")[: max(keep_n, 0)]]
        new_alive = alive & is_char
        new_alive[order[kept]] = True
        alive &= new_alive

    def _finalize(self, pieces: list[str], logp: np.ndarray, alive: np.ndarray,
                  is_char: np.ndarray, weak: np.ndarray, target: int) -> UnigramTokenizer:
        """Every character, then the best-scoring pieces, up to the target size.

        Characters EM gave no count score just above the lowest piece (sentencepiece's rule),
        the more frequent a little lower.
        """
        config = self.config
        chars = np.flatnonzero(is_char)
        others = np.flatnonzero(alive & ~is_char)
        others = others[np.argsort(-logp[others], kind="stable")][: max(0, target - len(chars))]
        logp = logp.copy()
        strong = np.concatenate([others, chars[~weak[chars]]])
        floor = logp[strong].min() if len(strong) else 0.0
        weak_chars = np.flatnonzero(weak)  # pieces are in frequency order: chars first
        logp[weak_chars] = floor + 1e-4 * np.arange(len(weak_chars))
        chosen = np.concatenate([chars, others])
        chosen = chosen[np.argsort(-logp[chosen], kind="stable")]
        final_pieces: list[str] = list(config.special_tokens)
        types: list[PieceType] = ["unknown" if t == "<unk>" else "control" for t in config.special_tokens]
        scores = [0.0] * len(final_pieces)
        if config.byte_fallback:
            final_pieces += [byte_piece(b) for b in range(256)]
            types += ["byte"] * 256
            scores += [0.0] * 256
        taken = set(final_pieces)
        for i in chosen.tolist():
            if pieces[i] not in taken:
                final_pieces.append(pieces[i])
                types.append("normal")
                scores.append(float(logp[i]))
        self.stats["vocab_size"] = len(final_pieces)
        self.stats["seconds_training"] = round(self.stats.get("seconds_seeding", 0) + self.stats.get("seconds_em", 0), 3)
        if len(final_pieces) < config.vocab_size:
            log.warning("the corpus supports only %d pieces (asked for %d): every other candidate "
                        "was expected less than half a time", len(final_pieces), config.vocab_size)
        return UnigramTokenizer(final_pieces, scores, types=types, settings=self.settings())
