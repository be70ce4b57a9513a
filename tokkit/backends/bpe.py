"""Library-backed byte-level BPE trainers behind the same call as the from-scratch one.

``HFBPETrainer`` uses `tokenizers`' BpeTrainer with exactly the pre-tokenizer tokkit uses (the regex
split, then the ByteLevel byte→character map), so its merges are comparable with ours.
``SPMBPETrainer`` uses sentencepiece's BPE with ``byte_fallback`` on: what LLaMA-family models ship.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tokkit.backends.hf import HFTokenizer
from tokkit.backends.spm import SPMTokenizer, train_from_iterator
from tokkit.errors import InputError
from tokkit.models.pretokenize import resolve_pattern
from tokkit.pool import worker_count
from tokkit.progress import NULL_PROGRESS, NativePhase
from tokkit.train.config import BPEConfig
from tokkit.train.stats import TrainStats
from tokkit.types import Progress

log = logging.getLogger("tokkit")


def _counted(texts: Iterable[str], stats: TrainStats, phase: NativePhase) -> Iterator[str]:
    """Pass texts through while counting documents and bytes.

    The library trains in native code with no progress of its own; once the input is consumed a
    live phase (elapsed time) says so, rather than a silent wait.
    """
    def count() -> Iterator[str]:
        for text in texts:
            stats["documents"] += 1
            stats["corpus_bytes"] += len(text.encode("utf-8"))
            yield text

    return phase.feed(count())


def hf_byte_level_bpe(pattern: str) -> Any:
    """An untrained `tokenizers.Tokenizer`: regex split → ByteLevel → BPE, ByteLevel decoder."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


class HFBPETrainer:
    """`tokenizers`' BpeTrainer with tokkit's pre-tokenizer; returns an :class:`HFTokenizer`."""

    def __init__(self, config: BPEConfig) -> None:
        self.config = config
        self.stats = TrainStats()

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> HFTokenizer:
        from tokenizers import pre_tokenizers, trainers

        self.config.check()
        progress = progress or NULL_PROGRESS
        self.stats = TrainStats()
        tokenizer = hf_byte_level_bpe(resolve_pattern(self.config.pattern))
        trainer = trainers.BpeTrainer(
            vocab_size=self.config.vocab_size,
            min_frequency=self.config.min_frequency,
            special_tokens=list(self.config.special_tokens),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        phase = NativePhase(progress, "training in tokenizers")
        tokenizer.train_from_iterator(_counted(texts, self.stats, phase), trainer=trainer)
        phase.end()
        self.stats["merges"] = len(tokenizer.get_vocab()) - 256 - len(self.config.special_tokens)
        self.stats["vocab_size"] = tokenizer.get_vocab_size()
        return HFTokenizer(tokenizer)


class SPMBPETrainer:
    """sentencepiece BPE with byte fallback, fed line by line from the iterator.

    sentencepiece keeps its input sentences in memory; ``input_sentence_size`` bounds that by
    sampling (reported in ``stats["sampled"]``). Lines longer than ``max_sentence_length`` bytes are
    dropped by sentencepiece; they are counted in ``stats["long_lines_skipped"]``.
    """

    def __init__(
        self,
        config: BPEConfig,
        *,
        input_sentence_size: int = 2_000_000,
        max_sentence_length: int = 16_384,
        character_coverage: float = 0.9995,
    ) -> None:
        self.config = config
        self.input_sentence_size = input_sentence_size
        self.max_sentence_length = max_sentence_length
        self.character_coverage = character_coverage
        self.stats = TrainStats()

    def _lines(self, texts: Iterable[str], phase: NativePhase) -> Iterator[str]:
        for text in _counted(texts, self.stats, phase):
            for line in text.splitlines():
                if not line.strip():
                    continue
                self.stats["lines"] += 1
                if len(line.encode("utf-8")) > self.max_sentence_length:
                    self.stats["long_lines_skipped"] += 1
                    continue
                yield line

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> SPMTokenizer:

        self.config.check()
        progress = progress or NULL_PROGRESS
        self.stats = TrainStats(extra={"lines": 0, "long_lines_skipped": 0})
        model = io.BytesIO()
        phase = NativePhase(progress, "training in sentencepiece")
        try:
            train_from_iterator(
                self._lines(texts, phase),
                model_writer=model,
                model_type="bpe",
                vocab_size=self.config.vocab_size,
                byte_fallback=True,
                user_defined_symbols=list(self.config.special_tokens),
                character_coverage=self.character_coverage,
                input_sentence_size=self.input_sentence_size,
                shuffle_input_sentence=True,
                max_sentence_length=self.max_sentence_length,
                num_threads=worker_count(self.config.workers),
                split_digits=True,
                allow_whitespace_only_pieces=True,
                remove_extra_whitespaces=False,
                normalization_rule_name="identity",
                minloglevel=2,
            )
        except RuntimeError as err:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            sizes = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", message)
            if sizes:
                raise InputError(
                    f"`vocab_size={self.config.vocab_size}` is smaller than the {sizes.group(2)} pieces "
                    "sentencepiece needs for this corpus' characters plus byte fallback; "
                    f"use `vocab_size={sizes.group(2)}` or more"
                ) from None
            high = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", message)
            if high:
                raise InputError(
                    f"`vocab_size={high.group(1)}` is more than sentencepiece can learn from this corpus; "
                    f"use `vocab_size={high.group(2)}` or less, or a larger corpus"
                ) from None
            raise InputError(f"sentencepiece training failed: {message}") from None
        finally:
            phase.end()
        self.stats["sampled"] = self.stats["lines"] > self.input_sentence_size
        if self.stats["sampled"]:
            log.warning(
                "sentencepiece sampled %d of %d lines (input_sentence_size)",
                self.input_sentence_size,
                self.stats["lines"],
            )
        if self.stats["long_lines_skipped"]:
            log.warning(
                "sentencepiece skipped %d lines longer than %d bytes",
                self.stats["long_lines_skipped"],
                self.max_sentence_length,
            )
        tok = SPMTokenizer.from_bytes(model.getvalue())
        self.stats["vocab_size"] = tok.vocab_size
        return tok
