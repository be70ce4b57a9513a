"""A training run writes a complete output dir or nothing at all."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from tokkit.backends.bpe import HFBPETrainer
from tokkit.corpus import ReadOptions
from tokkit.errors import InputError, OutputExistsError
from tokkit.load import load_tokenizer, read_meta
from tokkit.train.config import BPEConfig
from tokkit.train.run import HeldoutSlice, train_to_dir

TEXT = "the quick brown fox jumps over the lazy dog\n" * 50 + "天下大势，分久必合，合久必分。\n" * 50


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_writes_tokenizer_meta_and_heldout_figures(corpus: Path, tmp_path: Path) -> None:
    config = BPEConfig(vocab_size=300)
    out = tmp_path / "out"
    report = train_to_dir(HFBPETrainer(config), corpus=[corpus], output=out, algorithm="bpe",
                          backend="hf", config=config.to_dict(), heldout=HeldoutSlice(every=10),
                          read_options=ReadOptions(split="line"))
    assert report.documents == 100
    assert report.heldout_documents == 10
    assert report.heldout_tokens > 0
    assert report.bytes_per_token == pytest.approx(report.heldout_bytes / report.heldout_tokens, 1e-3)
    meta = read_meta(out)
    assert meta["kind"] == "hf" and meta["config"]["vocab_size"] == 300
    tok = load_tokenizer(out)
    assert tok.vocab_size == 300
    assert tok.decode(tok.encode("fox 天下")) == "fox 天下"


def test_existing_output_is_refused_before_training(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")

    class Exploding:
        def train(self, texts: Iterable[str], *, progress: object = None) -> None:
            raise AssertionError("must not train")

    with pytest.raises(OutputExistsError, match="`force=True`"):
        train_to_dir(Exploding(), corpus=[corpus], output=out, algorithm="bpe", backend="x",  # type: ignore[arg-type]
                     config={})
    assert (out / "keep.txt").read_text() == "mine"


def test_interrupted_training_leaves_no_output(corpus: Path, tmp_path: Path) -> None:
    class Interrupted:
        def train(self, texts: Iterable[str], *, progress: object = None) -> None:
            next(iter(texts))
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        train_to_dir(Interrupted(), corpus=[corpus], output=out, algorithm="bpe", backend="x",  # type: ignore[arg-type]
                     config={})
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["corpus.txt"]


def test_empty_corpus_is_an_input_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    config = BPEConfig(vocab_size=300)
    with pytest.raises(InputError, match="no documents to train on"):
        train_to_dir(HFBPETrainer(config), corpus=[empty], output=tmp_path / "out",
                     algorithm="bpe", backend="hf", config=config.to_dict())
    assert not (tmp_path / "out").exists()
