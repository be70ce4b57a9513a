"""Train the Chinese SentencePiece BPE model whose pieces are merged into LLaMA's vocabulary.

The corpus streams from :func:`tokkit.corpus.read_texts` into sentencepiece's ``sentence_iterator``
and the model comes back through ``model_writer`` (bytes, never a temp file). The options mirror
LLaMA's own training where it matters for the merge: the ``identity`` normalizer (LLaMA does not
NFKC-normalize, so NFKC-trained pieces such as ``,`` for ``，`` would never match raw text), a dummy
``▁`` prefix, no whitespace squeezing, and ``split_digits`` so no piece glues digits together
that LLaMA keeps apart. ``input_sentence_size`` bounds memory: sentencepiece keeps a random
sample of that many sentences, however large the corpus.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tokkit.corpus.readers import ReadOptions, ReadStats, corpus_bytes, iter_files, read_texts
from tokkit.errors import InputError
from tokkit.types import Progress

log = logging.getLogger("tokkit")

MAX_SENTENCE_BYTES = 16384


@dataclass(frozen=True, kw_only=True)
class ZhModelConfig:
    """How the Chinese model is trained (saved in ``tokkit.json``).

    ``vocab_size`` is the Chinese-LLaMA recipe's 20000. ``max_bytes`` stops reading after that many
    UTF-8 bytes of text (a deterministic prefix, for quick runs); ``input_sentence_size`` is
    sentencepiece's own bounded random sample.
    """

    vocab_size: int = 20000
    model_type: str = "bpe"
    character_coverage: float = 0.9995
    max_sentencepiece_length: int = 16
    split_digits: bool = True
    input_sentence_size: int = 2_000_000
    max_bytes: int | None = None
    seed: int = 0
    num_threads: int = 2

    def __post_init__(self) -> None:
        if self.vocab_size < 100:
            raise InputError(f"`zh_config.vocab_size={self.vocab_size}` is too small; use at least 100 (the recipe uses 20000)")
        if self.model_type not in ("bpe", "unigram"):
            raise InputError(f"zh model type '{self.model_type}' is not supported; use bpe or unigram")
        if not 0.9 <= self.character_coverage <= 1.0:
            raise InputError(f"character_coverage {self.character_coverage} must be in [0.9, 1.0]")
        if self.input_sentence_size < 1 or (self.max_bytes is not None and self.max_bytes < 1):
            raise InputError("input_sentence_size and max_bytes must be positive")


def _bounded(texts: Iterable[str], max_bytes: int | None, counter: list[int]) -> Iterator[str]:
    """Yield non-empty texts (UTF-8 encodable) until ``max_bytes`` have been given.

    ``counter`` is [bytes, texts, texts over MAX_SENTENCE_BYTES (which sentencepiece skips)]."""
    for text in texts:
        if not text.strip():
            continue
        size = len(text.encode("utf-8", "surrogatepass"))
        if max_bytes is not None and counter[0] + size > max_bytes and counter[1] > 0:
            return
        counter[0] += size
        counter[1] += 1
        counter[2] += size > MAX_SENTENCE_BYTES
        yield text


def _training_error(message: str, config: ZhModelConfig, paths: Sequence[str | Path],
                    counter: list[int]) -> InputError:
    """sentencepiece's failure as one line that says what to change."""
    where = ", ".join(map(str, paths))
    if counter[1] == 0:
        return InputError(f"{where}: no Chinese text found in the corpus; pass a non-empty `zh_corpus`")
    if counter[2] == counter[1]:  # sentencepiece dropped every sentence: "[!sentences_.empty()]"
        return InputError(
            f"{where}: every line is longer than sentencepiece's max_sentence_length "
            f"({MAX_SENTENCE_BYTES} bytes), so none is left to train on; break the text into "
            "shorter lines (one sentence or paragraph per line) and keep `split='line'`")
    required = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", message)
    if required:
        return InputError(
            f"`zh_config.vocab_size={config.vocab_size}` is smaller than the {required.group(2)} pieces the "
            f"characters of {where} need (character_coverage {config.character_coverage}); "
            f"raise it to `zh_config.vocab_size={required.group(2)}` or more")
    high = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", message)
    if high:
        return InputError(
            f"{where} is too small for `zh_config.vocab_size={config.vocab_size}`: sentencepiece can learn at "
            f"most {high.group(2)} pieces from it; lower it to `zh_config.vocab_size={high.group(2)}` or add text")
    message = message.rsplit("] ", 1)[-1].strip()  # drop "INTERNAL: file(line) [check]"
    return InputError(f"sentencepiece could not train the Chinese model on {where}: "
                      f"{message or 'no reason given'}")


def train_zh_model(
    paths: Sequence[str | Path],
    config: ZhModelConfig | None = None,
    *,
    read_options: ReadOptions | None = None,
    progress: Progress | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Train a Chinese sentencepiece model on ``paths``; return (model bytes, run statistics)."""
    import sentencepiece as spm

    from tokkit.backends.spm import train_from_iterator

    config = config or ZhModelConfig()
    options = read_options or ReadOptions(split="line")
    if not paths:
        raise InputError("no Chinese corpus given; pass `zh_corpus=PATH`")
    stats = ReadStats()
    files = list(iter_files(paths, stats))  # listed once: one warning per skipped file
    # With max_bytes the reader stops early, so the files' total would overstate the work.
    total = corpus_bytes(files) if config.max_bytes is None else None
    task = progress.task("reading Chinese corpus", total=total, unit="bytes") if progress else None
    counter = [0, 0, 0]
    # (no files: the no-Chinese-text error below, not the reader's "no paths given")
    read = read_texts(files, options, stats=stats, progress=task) if files else iter(())
    texts = _bounded(read, config.max_bytes, counter)
    writer = io.BytesIO()
    spm.set_random_generator_seed(config.seed)
    try:
        train_from_iterator(
            texts,
            model_writer=writer,
            vocab_size=config.vocab_size,
            model_type=config.model_type,
            character_coverage=config.character_coverage,
            max_sentencepiece_length=config.max_sentencepiece_length,
            split_digits=config.split_digits,
            input_sentence_size=config.input_sentence_size,
            shuffle_input_sentence=True,
            seed_sentencepiece_size=1_000_000,
            max_sentence_length=MAX_SENTENCE_BYTES,
            normalization_rule_name="identity",
            add_dummy_prefix=True,
            remove_extra_whitespaces=False,
            byte_fallback=False,
            num_threads=config.num_threads,
            minloglevel=2,
        )
    except RuntimeError as err:
        lines = str(err).splitlines()
        raise _training_error(lines[-1] if lines else "", config, paths, counter) from None
    if counter[1] == 0:
        raise _training_error("", config, paths, counter)
    if counter[2]:
        log.warning("sentencepiece skipped %d of %d Chinese lines longer than %d bytes "
                    "(max_sentence_length)", counter[2], counter[1], MAX_SENTENCE_BYTES)
    run = {
        "config": asdict(config),
        "corpus": [str(p) for p in paths],
        "sentences": counter[1],
        "bytes": counter[0],
        "files": stats.files,
    }
    return writer.getvalue(), run
