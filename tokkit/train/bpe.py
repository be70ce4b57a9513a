"""From-scratch byte-level BPE training that learns exactly the merges ``tokenizers`` learns.

>>> from tokkit.train.config import BPEConfig
>>> tok = BPETrainer(BPEConfig(vocab_size=260, min_frequency=1)).train(["aaabdaaabac"])
>>> [tok.token_bytes(i) for i in range(256, tok.vocab_size)]
[b'aa', b'ab', b'aaab', b'ac']

Two passes:

1. **Count** the distinct regex chunks of the texts in parallel (:mod:`tokkit.train.bpe_count`);
   texts stream through in batches, the corpus is never held.
2. **Merge** (:mod:`tokkit.train.bpe_merge`): each chunk becomes its UTF-8 bytes as byte symbols,
   then the most frequent adjacent pair of symbols is merged, again and again, with pair counts
   updated only around the merge sites.

Rules, the same as ``tokenizers``' ``BpeTrainer`` so the merge lists are identical:

* a pair's count is the number of adjacent positions holding it, summed over all chunks and
  weighted by chunk counts; overlapping positions count (``"aaa"`` holds ``(a, a)`` twice), a merge
  rewrites them leftmost first without overlap (``"aaa"`` → ``"Xa"``);
* **ties**: among pairs of equal count the one with the smaller ``(left id, right id)`` wins,
  with ids numbered as in :mod:`tokkit.models.bpe` (specials first, then the 256 bytes by the code
  point of their ByteLevel display character, then merged tokens in creation order);
* training stops when the vocabulary (specials + 256 bytes + distinct merged tokens) reaches
  ``vocab_size`` or when the best pair occurs fewer than ``min_frequency`` times (or never);
* special tokens are not split out of the training text (``tokenizers`` adds them after training).

* a merge that spells an existing token (another split of the same bytes, or a special token's
  text) reuses that id and the vocabulary does not grow, so there are more merges than new ids.

Long and repetitive input (a line of unspaced Chinese is one regex chunk, megabytes long) trains
exactly and in time linear in its length: chunks over ``LONG_CHUNK`` symbols take the linked path of
:mod:`tokkit.train.bpe_long`. What the usual knobs would do to the merges:

* ``min_frequency`` only ends training (the best pair occurs fewer times) and drops pairs that can
  no longer reach it; it never changes which pair wins while training runs, and it does not bound
  the cost of a long chunk (a run of 10⁶ ``汉字`` holds its pairs 10⁶ times);
* ``max_token_length`` (``tokenizers``' option; tokkit has none) skips every merge whose token would
  exceed N characters, so in a repetitive run tokens stop growing at N; from the first skipped
  pair on, the merge list differs from the unlimited one (its vocabulary slots go to other pairs);
* a chunk-length cap (cutting chunks at N characters before counting; tokkit does not) removes
  the pairs that span each cut, so pair counts, and then merges, change wherever a chunk is longer
  than N. Ordinary text (chunks of a few to ~30 characters) is unaffected by a cap of hundreds.

Known difference: after such a reuse, pairs next to the reused symbol can gain occurrences; we
count them exactly, whereas ``tokenizers`` keeps their old heap entry beside a new one and may
split that pair's merge in two. The parity tests cover reuse through special tokens (identical);
the 32000-merge run on the project corpora has no reuse at all.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from tokkit.models.bpe import ByteLevelBPETokenizer, base_vocabulary
from tokkit.models.bpe_bytes import RANK_TABLE
from tokkit.models.pretokenize import resolve_pattern
from tokkit.pool import worker_count
from tokkit.progress import NULL_PROGRESS
from tokkit.resources import default_max_memory
from tokkit.train.bpe_count import ChunkCounts, count_chunks
from tokkit.train.bpe_merge import learn_merges
from tokkit.train.bpe_spill import (
    WORKER_BYTES,
    counter_limit,
    counting_workers,
    merge_runs,
    merge_runs_to_file,
    spill_directory,
)
from tokkit.train.config import BPEConfig
from tokkit.train.stats import TrainStats
from tokkit.types import Progress

PYTHON_BYTES_PER_SYMBOL = 40
"""Bytes the Python merge loop holds per byte symbol of the distinct chunks (678 MB peak on the
17 M of en+zh). The compiled loop holds 2 per byte (:mod:`tokkit.train.bpe_spans`) and keeps its
pairs within what ``max_memory`` leaves (:class:`tokkit.train.bpe_merge_numba.PairBudget`)."""

log = logging.getLogger("tokkit")


class BPETrainer:
    """Train a :class:`ByteLevelBPETokenizer` from an iterable of texts.

    After :meth:`train`, :attr:`stats` is a :class:`~tokkit.train.stats.TrainStats` (counting is
    ``seconds_counting``, merging ``seconds_training``), with ``spilled_runs`` and ``merge_kernel``.
    """

    def __init__(self, config: BPEConfig) -> None:
        self.config = config
        self.stats = TrainStats()

    def train(
        self, texts: Iterable[str], *, progress: Progress | None = None
    ) -> ByteLevelBPETokenizer:
        config = self.config
        config.check()
        pattern = resolve_pattern(config.pattern)
        progress = progress or NULL_PROGRESS
        start = time.perf_counter()
        workers = worker_count(config.workers)
        fit = counting_workers(self.memory_limit(), workers)
        if fit < workers:
            log.info("counting in %s to stay within `max_memory` (each worker takes ~%d MB)",
                     "this process" if fit == 1 else f"{fit} processes", WORKER_BYTES // 1_000_000)
        with spill_directory() as spill:  # removed on success, error and Ctrl-C
            counted = count_chunks(
                texts, pattern, workers=fit,
                task=progress.task("counting chunks", unit="bytes"),
                max_chunks=self.max_chunks(), spill=spill)
            return self.train_counted(counted, progress=progress, started=start)

    def memory_limit(self) -> int:
        """The bytes training may use: ``config.max_memory``, or the machine's default share."""
        return self.config.max_memory or default_max_memory()

    def max_chunks(self) -> int:
        """Distinct chunks the counter may hold before it spills (from ``config.max_memory``)."""
        return counter_limit(self.memory_limit())

    def train_counted(self, counted: ChunkCounts, *, progress: Progress | None = None,
                      started: float | None = None) -> ByteLevelBPETokenizer:
        """Train on chunks already counted (by :func:`~tokkit.train.bpe_count.count_chunks` or on
        Ray, :mod:`tokkit.engines.ray_bpe`); its spilled runs must still exist."""
        config = self.config
        config.check()
        pattern = resolve_pattern(config.pattern)
        specials = list(config.special_tokens)
        tokens, ids_by_bytes = base_vocabulary(specials)
        progress = progress or NULL_PROGRESS
        start = time.perf_counter() if started is None else started
        from tokkit.train.bpe_spans import Spans  # numpy and numba load here, not on import

        limit = self.memory_limit()
        ids = max(config.vocab_size, len(tokens))
        spilled = len(counted.runs)
        if counted.runs:  # merged into one run file, laid out from it: never held twice
            merging = progress.task("merging spilled counts", unit="bytes",
                                    total=sum(run.stat().st_size for run in counted.runs))
            merged = merge_runs_to_file(counted.runs, counted.runs[0].parent / "merged.bin", merging)
            for run in counted.runs:
                run.unlink(missing_ok=True)
            counted.runs = []
            unique_chunks, symbols = merged.chunks, merged.utf8_bytes
            kernel = config.kernel(symbols)
            if kernel == "python":
                utf8, lengths, weights = merge_runs([merged.path])
            else:
                spans = Spans.from_run(merged, len(specials), ids)
            merged.path.unlink()
        else:
            utf8, lengths, weights = utf8_chunks(counted.counts)
            counted.counts = Counter()  # arrays only from here: no Python object per chunk
            unique_chunks, symbols = len(lengths), len(utf8)
            kernel = config.kernel(symbols)
            if kernel != "python":
                spans = Spans.from_utf8(utf8, lengths, weights, len(specials), ids)
                del utf8, lengths, weights
        # the Python loop holds every chunk as objects; the compiled one at least the chunk slots
        needed = PYTHON_BYTES_PER_SYMBOL * symbols if kernel == "python" else spans.sym.nbytes
        if needed > limit:
            log.warning("the merge phase needs about %.1f GB for %s distinct chunks (%.0f MB of "
                        "byte symbols), more than `max_memory` (%.1f GB); it runs anyway",
                        needed / 1e9, f"{unique_chunks:,}", symbols / 1e6, limit / 1e9)
        if kernel == "python":
            symbol = byte_symbols(utf8, len(specials))
            del utf8
            words, counts = symbol_words(symbol, lengths), weights.tolist()
            del symbol, lengths, weights
        seconds_count = time.perf_counter() - start
        extra: dict[str, int] = {}

        start = time.perf_counter()
        base = len(tokens)
        budget = max(0, config.vocab_size - base)
        task = progress.task("merging pairs", total=budget)  # advances by new tokens
        if kernel == "numba":
            from tokkit.train.bpe_merge_numba import PairBudget, Recounts, learn_merges_spans

            recounts = Recounts()
            result = learn_merges_spans(spans, tokens, ids_by_bytes, config.vocab_size,
                                        max(1, config.min_frequency), task,
                                        budget=PairBudget.spare(limit), stats=recounts)
            del spans
            extra.update(recounts=recounts.recounts, count_parts=recounts.parts)
        else:
            result = learn_merges(words, counts, tokens, ids_by_bytes, vocab_size=config.vocab_size,
                                  min_frequency=config.min_frequency, task=task, kernel=kernel)
            del words, counts
        if len(tokens) - base < budget:  # stopped early (min_frequency, no pairs): a full bar
            task.update_total(len(tokens) - base)
        tokenizer = ByteLevelBPETokenizer(
            [(left, right) for left, right, _ in result.merges],
            pattern=pattern,
            special_tokens=specials,
        )
        self.stats = TrainStats(
            documents=counted.documents, corpus_bytes=counted.corpus_bytes,
            vocab_size=tokenizer.vocab_size, unique_chunks=unique_chunks, merges=len(result.merges),
            seconds_counting=round(seconds_count, 6),
            seconds_training=round(time.perf_counter() - start, 6),
            extra={"spilled_runs": spilled, "merge_kernel": kernel, **extra},
        )
        return tokenizer


def utf8_chunks(chunk_counts: dict[str, int]) -> tuple[Any, Any, Any]:
    """The chunks as arrays: their UTF-8 bytes end to end (``uint8``), bytes per chunk and counts
    (``int64``), computed in bulk (no Python object per chunk)."""
    import numpy as np

    text = "".join(chunk_counts)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    width = (1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)).astype(np.int64)
    del points
    chars = np.fromiter(map(len, chunk_counts), dtype=np.int64, count=len(chunk_counts))
    byte_ends = np.zeros(len(width) + 1, dtype=np.int64)  # UTF-8 bytes before each character
    np.cumsum(width, out=byte_ends[1:])
    del width
    lengths = np.diff(byte_ends[np.cumsum(chars)], prepend=0)
    del byte_ends, chars
    utf8 = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    weights = np.fromiter(chunk_counts.values(), dtype=np.int64, count=len(chunk_counts))
    return utf8, lengths, weights


def byte_symbols(utf8: Any, offset: int) -> Any:
    """Each byte as its symbol id (``int32``): ``offset`` (the special tokens) + the byte's rank."""
    import numpy as np

    ranks = np.frombuffer(RANK_TABLE, dtype=np.uint8).astype(np.int32) + offset
    return ranks[utf8]


def symbol_words(symbol: Any, lengths: Any) -> list[str]:
    """Chunks as symbol strings (one character per symbol id), as the Python merge loop takes them."""
    import numpy as np

    text = symbol.astype(np.uint32).tobytes().decode("utf-32-le")
    words = []
    at = 0
    for n in lengths.tolist():
        words.append(text[at : at + n])
        at += n
    return words


def _symbol_words(chunk_counts: dict[str, int], offset: int) -> tuple[list[str], list[int]]:
    """Each chunk as a string of one character per byte symbol id, with its count."""
    words: list[str] = []
    if offset == 0:
        for chunk in chunk_counts:
            words.append(chunk.encode("utf-8", "surrogatepass").translate(RANK_TABLE).decode("latin-1"))
    else:
        table = {b: chr(offset + RANK_TABLE[b]) for b in range(256)}
        for chunk in chunk_counts:
            words.append(chunk.encode("utf-8", "surrogatepass").decode("latin-1").translate(table))
    return words, list(chunk_counts.values())
