"""WordPiece trained by ``tokenizers``' WordPieceTrainer, behind the same call as ours.

Same normalizer and pre-tokenizer (BertNormalizer + BertPreTokenizer), same special tokens and
``##`` prefix. Note the library ranks merges by pair *count* (it is BPE with a continuation
prefix), where :class:`tokkit.train.wordpiece.WordPieceTrainer` ranks by the likelihood score.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tokkit.backends.hf import HFTokenizer
from tokkit.errors import InputError
from tokkit.progress import NULL_PROGRESS, NativePhase
from tokkit.train.config import WordPieceConfig
from tokkit.train.stats import TrainStats
from tokkit.types import Progress, ProgressTask


def counted(texts: Iterable[str], stats: TrainStats, task: ProgressTask) -> Iterator[str]:
    """Pass texts through, counting documents and UTF-8 bytes (for the end-of-run table)."""
    for text in texts:
        stats["documents"] += 1
        stats["corpus_bytes"] += len(text.encode("utf-8"))
        task.advance()
        yield text


class HFWordPieceTrainer:
    """Train with ``tokenizers.trainers.WordPieceTrainer``; returns an :class:`HFTokenizer`."""

    def __init__(self, config: WordPieceConfig) -> None:
        config.check()
        self.config = config
        self.stats = TrainStats()

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> HFTokenizer:
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
        from tokenizers.processors import TemplateProcessing

        config = self.config
        progress = progress or NULL_PROGRESS
        tok = Tokenizer(models.WordPiece(unk_token=config.unk_token,
                                         continuing_subword_prefix=config.continuing_prefix,
                                         max_input_chars_per_word=config.max_input_chars_per_word))
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=config.handle_chinese_chars,
            strip_accents=config.strip_accents, lowercase=config.lowercase)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix=config.continuing_prefix, cleanup=False)
        options: dict[str, Any] = {}
        if config.limit_alphabet is not None:
            options["limit_alphabet"] = config.limit_alphabet
        trainer = trainers.WordPieceTrainer(
            vocab_size=config.vocab_size, min_frequency=config.min_frequency,
            special_tokens=list(config.special_tokens),
            continuing_subword_prefix=config.continuing_prefix, show_progress=False, **options)
        self.stats = stats = TrainStats()
        task = progress.task("feeding tokenizers' WordPieceTrainer", total=None)
        phase = NativePhase(progress, "training in tokenizers")
        tok.train_from_iterator(phase.feed(counted(texts, stats, task)), trainer=trainer)
        phase.end()
        if stats["documents"] == 0 or tok.get_vocab_size() <= len(config.special_tokens):
            raise InputError("the corpus has no words to train on (empty or whitespace only); "
                             "check the corpus path")
        vocab = tok.get_vocab()
        if "[CLS]" in vocab and "[SEP]" in vocab:
            tok.post_processor = TemplateProcessing(
                single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
                special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
        stats["vocab_size"] = tok.get_vocab_size()
        return HFTokenizer(tok)
