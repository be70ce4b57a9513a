"""Unigram parity with sentencepiece: same segmentation from the same pieces, files each library
loads, and training quality at least as good as sentencepiece's on held-out text."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sentencepiece as spm
from tokenizers import Tokenizer as HFTok

from tokkit.backends.hf import HFTokenizer
from tokkit.backends.spm import SPMTokenizer
from tokkit.backends.unigram import HFUnigramTrainer, SPMUnigramTrainer
from tokkit.models.unigram import UnigramTokenizer
from tokkit.models.unigram_export import from_model_proto
from tokkit.train.config import UnigramConfig
from tokkit.train.unigram import UnigramTrainer
from tokkit.train.unigram_quality import heldout_quality

HELDOUT_FILES = ("en_dracula.txt", "zh_zizhitongjian.txt")
CONFIG = UnigramConfig(vocab_size=4000, byte_fallback=True)


@pytest.fixture(scope="module")
def corpus(corpora: Path) -> list[str]:
    lines = (corpora / "en" / "sherlock_holmes.txt").read_text(encoding="utf-8").splitlines()
    return lines + (corpora / "zh" / "列子.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def heldout_lines(heldout: Path) -> dict[str, list[str]]:
    return {name: (heldout / name).read_text(encoding="utf-8").splitlines() for name in HELDOUT_FILES}


@pytest.fixture(scope="module")
def spm_model(corpus: list[str]) -> SPMTokenizer:
    trainer = SPMUnigramTrainer(CONFIG)
    tok = trainer.train(corpus)
    assert trainer.stats["sentences"] == sum(1 for line in corpus if line.strip())
    return tok


@pytest.fixture(scope="module")
def ours(corpus: list[str]) -> UnigramTokenizer:
    return UnigramTrainer(CONFIG).train(corpus)


@pytest.mark.parametrize("name", HELDOUT_FILES)
def test_spm_pieces_in_our_encoder_segment_identically(
        spm_model: SPMTokenizer, heldout_lines: dict[str, list[str]], name: str) -> None:
    """sentencepiece's trained pieces and scores, loaded into our Viterbi: the same ids on every
    held-out line (byte fallback included: the Chinese file has characters the model lacks)."""
    tok = from_model_proto(spm_model.model_bytes)
    lines = heldout_lines[name]
    ours = [tok.encode(line) for line in lines]
    assert ours == spm_model.encode_batch(lines)
    byte_ids = {i for i, t in enumerate(tok.types) if t == "byte"}
    if name.startswith("zh"):
        assert any(i in byte_ids for ids in ours for i in ids)


def test_quality_at_least_sentencepiece(ours: UnigramTokenizer, spm_model: SPMTokenizer,
                                        heldout_lines: dict[str, list[str]]) -> None:
    """Same corpus, vocab, normalization; both scored by the same Viterbi on held-out text:
    log-likelihood per character within 1% (or better), tokens per character within 2%."""
    texts = [line for lines in heldout_lines.values() for line in lines]
    mine = heldout_quality(ours, texts)
    theirs = heldout_quality(from_model_proto(spm_model.model_bytes), texts)
    assert mine["chars"] == theirs["chars"]
    assert mine["loglik_per_char"] >= theirs["loglik_per_char"] * 1.01  # log-likelihoods are < 0
    assert mine["tokens_per_char"] <= theirs["tokens_per_char"] * 1.02


@pytest.fixture(scope="module")
def exported(corpus: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[UnigramTokenizer, Path]:
    tok = UnigramTrainer(UnigramConfig(vocab_size=3000)).train(corpus)  # no byte fallback: <unk>
    out = tmp_path_factory.mktemp("unigram")
    tok.save(out)
    return tok, out


@pytest.mark.parametrize("name", HELDOUT_FILES)
def test_our_model_file_in_sentencepiece(exported: tuple[UnigramTokenizer, Path],
                                         heldout_lines: dict[str, list[str]], name: str) -> None:
    """Our spm.model loads in SentencePieceProcessor and segments held-out text as we do
    (unknown characters fused into one <unk>, as sentencepiece does)."""
    tok, out = exported
    sp = spm.SentencePieceProcessor(model_file=str(out / "spm.model"))
    lines = heldout_lines[name]
    ours = [tok.encode(line) for line in lines]
    assert ours == [list(ids) for ids in sp.EncodeAsIds(lines)]
    if name.startswith("zh"):
        assert any(tok.unk_id in ids for ids in ours)


@pytest.mark.parametrize("name", HELDOUT_FILES)
def test_our_tokenizer_json_in_tokenizers(exported: tuple[UnigramTokenizer, Path],
                                          heldout_lines: dict[str, list[str]], name: str) -> None:
    tok, out = exported
    hf = HFTok.from_file(str(out / "tokenizer.json"))
    lines = heldout_lines[name][:3000]
    assert [tok.encode(line) for line in lines] == [
        e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]


def test_library_trainers_same_call(corpus: list[str], tmp_path: Path) -> None:
    trainer = HFUnigramTrainer(UnigramConfig(vocab_size=2000))
    tok = trainer.train(corpus[:5000])
    assert isinstance(tok, HFTokenizer)
    assert tok.vocab_size == 2000
    assert trainer.stats["documents"] == 5000
    text = "It was the best of times"
    assert tok.decode(tok.encode(text)) == text
    assert HFTokenizer.load(tok.save(tmp_path)).encode(text) == tok.encode(text)


def test_sentencepiece_sampling_is_reported(corpus: list[str], caplog: pytest.LogCaptureFixture) -> None:
    trainer = SPMUnigramTrainer(UnigramConfig(vocab_size=1500, input_sentence_size=2000))
    logger = logging.getLogger("tokkit")
    logger.addHandler(caplog.handler)  # the CLI may have stopped propagation to the root logger
    try:
        tok = trainer.train(corpus[:6000])
    finally:
        logger.removeHandler(caplog.handler)
    assert tok.vocab_size == 1500
    assert trainer.stats["sampled_sentences"] == 2000
    assert "sample of 2000" in caplog.text
