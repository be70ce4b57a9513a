"""Unigram models trained by the libraries, behind the same call as ours.

* :class:`HFUnigramTrainer`: ``tokenizers``' UnigramTrainer (NFKC + Metaspace, like our export).
* :class:`SPMUnigramTrainer`: sentencepiece's unigram trainer, fed from an iterator
  (``sentence_iterator=``) and written to memory (``model_writer=``): no temporary corpus file.
  sentencepiece holds every sentence it loads in memory; ``input_sentence_size`` bounds that by
  sampling, and the run statistics say when sampling happened.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tokkit.backends.hf import HFTokenizer
from tokkit.backends.spm import SPMTokenizer, train_from_iterator
from tokkit.errors import CorpusError, InputError
from tokkit.progress import NULL_PROGRESS, NativePhase
from tokkit.train.config import UnigramConfig
from tokkit.train.stats import TrainStats
from tokkit.types import Progress, ProgressTask

log = logging.getLogger("tokkit")

MAX_SENTENCE_BYTES = 4192
"""sentencepiece's ``max_sentence_length`` (its default, passed explicitly): longer lines it skips."""


def _lines(texts: Iterable[str], stats: TrainStats, task: ProgressTask) -> Iterator[str]:
    """sentencepiece reads sentences: one per line of each text, blank lines skipped."""
    for text in texts:
        stats["documents"] += 1
        stats["corpus_bytes"] += len(text.encode("utf-8"))
        task.advance()
        for line in text.splitlines():
            if line.strip():
                stats["sentences"] += 1
                if len(line.encode("utf-8", "surrogatepass")) > MAX_SENTENCE_BYTES:
                    stats["long_sentences_skipped"] += 1
                    continue  # sentencepiece would drop it; counted so the run can say so
                yield line


class SPMUnigramTrainer:
    """Train with ``sentencepiece`` (model_type=unigram); returns an :class:`SPMTokenizer`."""

    def __init__(self, config: UnigramConfig) -> None:
        config.check()
        self.config = config
        self.stats = TrainStats()

    def spm_options(self) -> dict[str, Any]:
        config = self.config
        specials = list(config.special_tokens)
        ids = {name: (specials.index(tok) if tok in specials else -1)
               for name, tok in (("unk_id", "<unk>"), ("bos_id", "<s>"), ("eos_id", "</s>"),
                                 ("pad_id", "<pad>"))}
        control = [t for t in specials if t not in ("<unk>", "<s>", "</s>", "<pad>")]
        options: dict[str, Any] = dict(
            model_type="unigram", vocab_size=config.vocab_size,
            character_coverage=config.character_coverage, byte_fallback=config.byte_fallback,
            normalization_rule_name=config.normalization, max_sentencepiece_length=config.max_piece_length,
            seed_sentencepiece_size=config.seed_size, shrinking_factor=config.shrinking_factor,
            num_sub_iterations=config.em_sub_iterations, num_threads=os.cpu_count() or 1,
            input_sentence_size=config.input_sentence_size, shuffle_input_sentence=True,
            max_sentence_length=MAX_SENTENCE_BYTES, hard_vocab_limit=False, minloglevel=2, **ids)
        if control:
            options["control_symbols"] = control
        return options

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> SPMTokenizer:

        progress = progress or NULL_PROGRESS
        stats = TrainStats(extra={"sentences": 0, "long_sentences_skipped": 0})
        self.stats = stats
        task = progress.task("feeding sentencepiece", total=None)
        phase = NativePhase(progress, "training in sentencepiece")
        model = io.BytesIO()
        try:
            train_from_iterator(phase.feed(_lines(texts, stats, task)), model_writer=model,
                                **self.spm_options())
        except RuntimeError as err:
            raise self._training_error(" ".join(str(err).split())) from None
        finally:
            phase.end()
        if stats["long_sentences_skipped"]:
            log.warning("sentencepiece skipped %d of %d lines longer than %d bytes (max_sentence_length)",
                        stats["long_sentences_skipped"], stats["sentences"], MAX_SENTENCE_BYTES)
        size = self.config.input_sentence_size
        if size and stats["sentences"] > size:
            stats["sampled_sentences"] = size
            log.warning("sentencepiece trained on a random sample of %d of %d sentences "
                        "(input_sentence_size); raise it to use more", size, stats["sentences"])
        tok = SPMTokenizer.from_bytes(model.getvalue())
        stats["vocab_size"] = tok.vocab_size
        return tok

    def _training_error(self, message: str) -> InputError:
        stats = self.stats
        if stats["sentences"] == 0:
            return InputError("the corpus has no sentences to train on (empty or whitespace "
                              "only); check the corpus path")
        if stats["long_sentences_skipped"] == stats["sentences"]:  # "[!sentences_.empty()]"
            return CorpusError(
                f"every line is longer than sentencepiece's max_sentence_length ({MAX_SENTENCE_BYTES} "
                "bytes), so none is left to train on; break the text into shorter lines (one "
                "sentence per line) or train with the scratch backend, which has no such limit")
        required = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", message)
        if required:
            return InputError(
                f"`vocab_size={self.config.vocab_size}` is smaller than the {required.group(2)} pieces "
                f"the corpus' characters need; use `vocab_size={required.group(2)}` or more")
        return InputError(f"sentencepiece refused the training run: {message or 'no reason given'}")


class HFUnigramTrainer:
    """Train with ``tokenizers.trainers.UnigramTrainer``; returns an :class:`HFTokenizer`."""

    def __init__(self, config: UnigramConfig) -> None:
        config.check()
        self.config = config
        self.stats = TrainStats()

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> HFTokenizer:
        from tokenizers import (
            Regex,
            Tokenizer,
            decoders,
            models,
            normalizers,
            pre_tokenizers,
            trainers,
        )

        config = self.config
        progress = progress or NULL_PROGRESS
        tok = Tokenizer(models.Unigram())
        steps = [normalizers.NFKC()] if config.normalization == "nfkc" else []
        tok.normalizer = normalizers.Sequence([*steps, normalizers.Replace(Regex(r"\s+"), " "),
                                               normalizers.Strip()])
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        initial = ([f"<0x{b:02X}>" for b in range(256)] if config.byte_fallback else [])
        trainer = trainers.UnigramTrainer(
            vocab_size=config.vocab_size, special_tokens=[*config.special_tokens, *initial],
            unk_token="<unk>", max_piece_length=config.max_piece_length,
            shrinking_factor=config.shrinking_factor, n_sub_iterations=config.em_sub_iterations,
            show_progress=False)
        stats = TrainStats(extra={"sentences": 0})
        self.stats = stats
        task = progress.task("feeding tokenizers' UnigramTrainer", total=None)
        phase = NativePhase(progress, "training in tokenizers")
        tok.train_from_iterator(phase.feed(_lines(texts, stats, task)), trainer=trainer)
        phase.end()
        if stats["sentences"] == 0:
            raise InputError("the corpus has no sentences to train on (empty or whitespace only); "
                             "check the corpus path")
        stats["vocab_size"] = tok.get_vocab_size()
        return HFTokenizer(tok)
