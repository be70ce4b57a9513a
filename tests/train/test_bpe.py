"""BPETrainer: the API contract, stop rules, streaming, parallel counting, bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tokkit.errors import InputError
from tokkit.models.bpe import ByteLevelBPETokenizer
from tokkit.train.bpe import BPETrainer
from tokkit.train.config import COMPILED_MIN_SYMBOLS, BPEConfig

TEXTS = ["low lower lowest newer wider new", "我们学习中文，我们喜欢中文。", "aaaa bbbb aaaa"] * 20


class Recorder:
    """A Progress that remembers its tasks."""

    def __init__(self) -> None:
        self.tasks: list[list] = []

    def task(self, description: str, total: int | None = None, *, unit: str = ""):
        record = [description, total, 0]
        self.tasks.append(record)

        class Task:
            def advance(self, n: int = 1) -> None:
                record[2] += n

            def update_total(self, total: int | None) -> None:
                record[1] = total

        return Task()


def test_train_returns_tokenizer_and_stats() -> None:
    progress = Recorder()
    trainer = BPETrainer(BPEConfig(vocab_size=300, min_frequency=2, workers=1))
    started = time.perf_counter()
    tok = trainer.train(TEXTS, progress=progress)
    elapsed = time.perf_counter() - started
    assert isinstance(tok, ByteLevelBPETokenizer) and tok.vocab_size == 300
    stats = trainer.stats
    assert stats["documents"] == len(TEXTS)
    assert stats["corpus_bytes"] == sum(len(t.encode()) for t in TEXTS)
    assert stats["merges"] == len(tok.merges) == 300 - 256
    assert stats["unique_chunks"] > 10
    # the phases are timed inside the call: both ran, and together they fit in it (each figure
    # is rounded to the millisecond)
    assert stats["seconds_counting"] > 0 and stats["seconds_training"] > 0
    assert stats["seconds_counting"] + stats["seconds_training"] <= elapsed + 0.001
    (_, _, counted), (_, merge_total, merged) = progress.tasks
    assert counted == stats["corpus_bytes"]
    assert merge_total == 300 - 256 and merged == stats["merges"]


@pytest.mark.parametrize("kernel", ["python", "numba"])
def test_the_merge_bar_counts_new_tokens_and_ends_full(kernel: str) -> None:
    from tokkit.train.bpe_merge_numba import available

    if kernel == "numba" and not available():
        pytest.skip("numba is not installed (tokkit[fast])")
    early = Recorder()  # stops at min_frequency long before vocab_size
    trainer = BPETrainer(BPEConfig(vocab_size=5000, min_frequency=5, workers=1, merge_kernel=kernel))
    tok = trainer.train(TEXTS, progress=early)
    (_, total, done) = early.tasks[-1]
    assert done == total == tok.vocab_size - 256 < 5000 - 256
    reuse = Recorder()  # a special token's bytes are merged too: a merge that adds no token
    texts = ["ababab abc cab", "xabx abab"] * 10
    trainer = BPETrainer(BPEConfig(vocab_size=400, min_frequency=1, workers=1, merge_kernel=kernel,
                                   special_tokens=("ab",)))
    tok = trainer.train(texts, progress=reuse)
    (_, total, done) = reuse.tasks[-1]
    assert done == total == tok.vocab_size - 257
    assert trainer.stats["merges"] > done  # reuse happened: more merges than new tokens


def test_vocab_size_counts_specials() -> None:
    tok = BPETrainer(BPEConfig(vocab_size=270, min_frequency=1, special_tokens=("<s>", "</s>"))).train(TEXTS)
    assert tok.vocab_size == 270 and len(tok.merges) == 270 - 256 - 2


def test_min_frequency_stops_early() -> None:
    tok = BPETrainer(BPEConfig(vocab_size=10_000, min_frequency=25)).train(TEXTS)
    # every learned pair occurred ≥ 25 times; TEXTS repeats each pattern 20×, so only pairs that
    # occur twice or more per repetition qualify
    assert 256 < tok.vocab_size < 10_000
    assert tok.token_to_id("aa") is not None or tok.token_to_id("ä¸") is not None
    assert tok.vocab_size < BPETrainer(BPEConfig(vocab_size=10_000, min_frequency=2)).train(TEXTS).vocab_size


def test_stops_when_no_pairs_left() -> None:
    tok = BPETrainer(BPEConfig(vocab_size=1000, min_frequency=0)).train(["ab"])
    assert tok.vocab_size == 257 and tok.encode("ab") == [256]


def test_no_pair_reaching_min_frequency_gives_the_byte_alphabet() -> None:
    tok = BPETrainer(BPEConfig(vocab_size=1000, min_frequency=2)).train(["some text", "更多文本"])
    assert tok.vocab_size == 256 and tok.merges == []
    assert tok.decode(tok.encode("hello 世界")) == "hello 世界"


def test_empty_corpus_gives_the_byte_alphabet() -> None:
    trainer = BPETrainer(BPEConfig(vocab_size=300))
    tok = trainer.train([])
    assert tok.vocab_size == 256 and trainer.stats["documents"] == 0
    assert tok.decode(tok.encode("any text ✓")) == "any text ✓"


def test_streams_a_generator_and_parallel_equals_serial() -> None:
    def stream() -> Iterator[str]:
        for i in range(3000):
            yield f"line {i} 第{i}行 " + TEXTS[i % 3]

    serial = BPETrainer(BPEConfig(vocab_size=600, workers=1)).train(stream())
    parallel_trainer = BPETrainer(BPEConfig(vocab_size=600, workers=2))
    from tokkit.train import bpe_count

    old = bpe_count.BATCH_CHARS
    bpe_count.BATCH_CHARS = 4096  # force many batches through the pool
    try:
        parallel = parallel_trainer.train(stream())
    finally:
        bpe_count.BATCH_CHARS = old
    assert parallel.merges == serial.merges
    assert parallel_trainer.stats["documents"] == 3000


def test_vocab_smaller_than_alphabet_is_refused() -> None:
    with pytest.raises(InputError, match="`vocab_size=258` or more"):
        BPETrainer(BPEConfig(vocab_size=257, special_tokens=("<s>", "</s>"))).train(TEXTS)


def test_bad_pattern_and_bad_texts_are_refused() -> None:
    with pytest.raises(InputError, match="pattern"):
        BPETrainer(BPEConfig(vocab_size=300, pattern="(unclosed")).train(TEXTS)
    with pytest.raises(InputError, match="str"):
        BPETrainer(BPEConfig(vocab_size=300, workers=1)).train([b"bytes"])  # type: ignore[list-item]


def test_single_byte_special_is_refused() -> None:
    with pytest.raises(InputError, match="single byte"):
        BPETrainer(BPEConfig(vocab_size=300, special_tokens=("a",))).train(TEXTS)


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4", "cl100k", "o200k", r"\S+|\s+"])
def test_every_pattern_trains_and_round_trips(pattern: str) -> None:
    tok = BPETrainer(BPEConfig(vocab_size=320, pattern=pattern)).train(TEXTS)
    for text in TEXTS[:3]:
        assert tok.decode(tok.encode(text)) == text


def test_auto_kernel_is_numba_when_importable_else_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import tokkit.train.bpe_merge_numba as compiled

    assert BPEConfig(vocab_size=300).merge_kernel == "auto"
    assert BPEConfig(vocab_size=300, merge_kernel="python").kernel() == "python"
    monkeypatch.setattr(compiled, "available", lambda: True)
    assert BPEConfig(vocab_size=300).kernel() == "numba"
    # a small corpus keeps the Python loop: it is done before numba would have loaded
    assert BPEConfig(vocab_size=300).kernel(COMPILED_MIN_SYMBOLS - 1) == "python"
    assert BPEConfig(vocab_size=300).kernel(COMPILED_MIN_SYMBOLS) == "numba"
    assert BPEConfig(vocab_size=300, merge_kernel="numba").kernel(10) == "numba"
    small = BPETrainer(BPEConfig(vocab_size=300, workers=1))
    small.train(TEXTS)
    assert small.stats["merge_kernel"] == "python"
    monkeypatch.setattr(compiled, "available", lambda: False)
    assert BPEConfig(vocab_size=300).kernel() == "python"
    trainer = BPETrainer(BPEConfig(vocab_size=300, workers=1))
    trainer.train(TEXTS)
    assert trainer.stats["merge_kernel"] == "python"
    with pytest.raises(InputError, match="needs numba"):
        BPEConfig(vocab_size=300, merge_kernel="numba").check()
    with pytest.raises(InputError, match="merge_kernel must be one of auto, python, numba"):
        BPEConfig(vocab_size=300, merge_kernel="rust").check()


@pytest.mark.parametrize("offset", [0, 3])
def test_chunk_arrays_are_the_symbol_words(offset: int) -> None:
    from collections import Counter

    from tokkit.train.bpe import _symbol_words, byte_symbols, symbol_words, utf8_chunks

    chunks = Counter({"": 2, "ab": 3, "汉字": 1, "\ud800x": 1, "😀 é": 5, "last": 1})
    utf8, lengths, weights = utf8_chunks(chunks)
    symbol = byte_symbols(utf8, offset)
    words, counts = _symbol_words(chunks, offset)
    assert lengths.tolist() == [len(word) for word in words] == [0, 2, 6, 4, 7, 4]
    assert symbol.tolist() == [ord(c) for c in "".join(words)] and str(symbol.dtype) == "int32"
    assert weights.tolist() == counts
    assert symbol_words(symbol, lengths) == words
