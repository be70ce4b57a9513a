"""The "new algorithm" recipe of docs/architecture.md, followed by a test and touching no library
file: a toy character-level tokenizer and its trainer, registered with :func:`register_kind` and
:func:`register_trainer`, then trained, saved and opened through the same calls as the real
algorithms (:func:`make_trainer` → :func:`train_to_dir` → :func:`load_tokenizer`).

In the package the two classes would be ``tokkit/models/char.py`` and ``tokkit/train/char.py``,
and the two ``register_*`` calls one line each in the tables of ``tokkit/load.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tokkit import (
    InputError,
    ReadOptions,
    TrainConfig,
    load_tokenizer,
    make_trainer,
    register_kind,
    register_trainer,
    train_to_dir,
)
from tokkit.load import KINDS, TRAINERS, read_meta
from tokkit.types import Progress, Tokenizer

FILE = "char.json"


class CharTokenizer(Tokenizer):
    """Ids 0-255 are UTF-8 bytes (for characters never seen), then one id per kept character, then
    the special tokens (never produced by ``encode``: they mark document ends in shards).

    Subclassing the protocol gives the plain ``encode_batch``/``decode_batch`` (a loop) and
    ``vocab_bytes`` (from the names: ``<0xNN>`` is that byte, a character its UTF-8), so only the
    core members are written here."""

    kind = "char"

    def __init__(self, chars: Sequence[str], specials: Sequence[str] = ()) -> None:
        self.chars = list(chars)
        self.specials = list(specials)
        self.ids = {c: 256 + i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.chars) + len(self.specials)

    @property
    def special_tokens(self) -> Mapping[str, int]:
        return {t: 256 + len(self.chars) + i for i, t in enumerate(self.specials)}

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        for c in text:
            if c in self.ids:
                out.append(self.ids[c])
            else:
                out += c.encode("utf-8")
        return out

    def decode(self, ids: Sequence[int]) -> str:
        data = bytearray()
        for i in ids:
            data += bytes([i]) if i < 256 else self.id_to_token(i).encode("utf-8")
        return data.decode("utf-8", errors="replace")

    def id_to_token(self, id: int) -> str:
        if id < 256:
            return f"<0x{id:02X}>"
        return self.chars[id - 256] if id < 256 + len(self.chars) else self.specials[id - 256 - len(self.chars)]

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"chars": self.chars, "specials": self.specials}, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        path = Path(path)
        path = path / FILE if path.is_dir() else path
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["chars"], data["specials"])


class CharTrainer:
    """Keep the most frequent characters seen at least ``min_frequency`` times, as many as fit
    beside the 256 bytes and the special tokens, streaming the texts once."""

    def __init__(self, config: TrainConfig) -> None:
        if config.vocab_size < 256 + len(config.special_tokens):
            raise InputError(f"char: vocab_size must be at least 256 + the special tokens, "
                             f"got {config.vocab_size}")
        self.config = config
        self.stats: dict[str, int] = {}

    def train(self, texts: Iterable[str], *, progress: Progress | None = None) -> CharTokenizer:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text)
        room = self.config.vocab_size - 256 - len(self.config.special_tokens)
        kept = [c for c, n in counts.most_common(room) if n >= self.config.min_frequency]
        self.stats = {"distinct_chars": len(counts), "kept_chars": len(kept)}
        return CharTokenizer(kept, self.config.special_tokens)


@pytest.fixture
def char_algorithm() -> Iterator[None]:
    register_kind("char", CharTokenizer)
    register_trainer("char", "scratch", CharTrainer)
    yield
    KINDS.pop("char")
    TRAINERS.pop(("char", "scratch"))


def test_a_registered_algorithm_trains_saves_and_loads_like_the_real_ones(
        char_algorithm: None, corpora: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "mix.txt"
    with (corpora / "zh" / "三国志.txt").open(encoding="utf-8") as f:
        corpus.write_text("".join(f.readline() for _ in range(200)), encoding="utf-8")
    config = TrainConfig(vocab_size=600, min_frequency=2, special_tokens=("<|endoftext|>",))
    trainer = make_trainer("char", "scratch", config)
    out = tmp_path / "vocab" / "char"
    report = train_to_dir(trainer, corpus=[corpus], output=out, algorithm="char", backend="scratch",
                          config=config.to_dict(), read_options=ReadOptions(split="line"))
    assert report.kind == "char" and report.trainer["kept_chars"] == report.vocab_size - 257
    assert 256 < report.vocab_size <= 600
    assert read_meta(out)["kind"] == "char"
    tok = load_tokenizer(out)
    assert isinstance(tok, CharTokenizer) and isinstance(tok, Tokenizer)
    assert tok.vocab_size == report.vocab_size
    for text in ("", "天下大势，分久必合", "👍🏽 ctl\x00\x7f", " \t\n\u3000", "a" * 1000):
        ids = tok.encode(text)
        assert tok.decode(ids) == text
    assert tok.encode("天下") == [tok.ids["天"], tok.ids["下"]]  # seen characters are one id each
    assert tok.encode("é") == [0xC3, 0xA9]  # unseen ones are their UTF-8 bytes

    # the later stages take it as they take the real ones
    from tokkit.analyze.compression import AnalyzeConfig, analyze
    from tokkit.shards import ShardConfig, write_shards

    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    figures = analyze([out], {"zh": [corpus]}, config=AnalyzeConfig(judge=False)).results[0].figures
    assert figures["tokens"] == sum(len(tok.encode(line)) for line in lines)
    assert figures["roundtrip_rate"] == 1.0
    manifest = write_shards([corpus], out, tmp_path / "shards", config=ShardConfig(seq_len=64, workers=1))
    assert manifest.tokenizer.eos_id == tok.special_tokens["<|endoftext|>"] == report.vocab_size - 1
    assert manifest.tokenizer.vocab_size == report.vocab_size
    assert sum(split.documents for split in manifest.splits.values()) == len(lines)
    assert sum(split.tokens for split in manifest.splits.values()) == \
        sum(len(tok.encode(line)) + 1 for line in lines)  # + one end-of-document token each


def test_an_unregistered_algorithm_is_named_with_the_known_pairs() -> None:
    with pytest.raises(InputError, match=r"algorithm='char' with backend='scratch'; known: bpe/scratch"):
        make_trainer("char", "scratch", TrainConfig(vocab_size=300))
