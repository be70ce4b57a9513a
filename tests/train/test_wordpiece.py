"""WordPiece training: the likelihood score, exact against the readable twin
(:mod:`tokkit.train.reference.wordpiece`), bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokkit.errors import InputError
from tokkit.train.config import WordPieceConfig
from tokkit.train.reference import wordpiece
from tokkit.train.wordpiece import WordPieceTrainer


def test_hand_worked_example() -> None:
    """hug×10 pug×5 pun×12 bun×4 hugs×5 (the HF course corpus), by hand:

    alphabet b h p ##g ##n ##s ##u; counts h=15 ##u=36 ##g=20 ##n=16 b=4 p=17 ##s=5.
    Scores: (##g,##s)=5/(20·5)=0.05 beats every other pair, so the first merge is ##gs. Then
    ##g=15, and (h,##u)=15/(15·36), (p,##u)=17/(17·36), (b,##u)=4/(4·36), (##u,##g)=15/(36·15),
    (##u,##n)=16/(36·16) and (##u,##gs)=5/(36·5) all tie at 1/36: the largest count, p ##u, wins.
    """
    texts = ["hug"] * 10 + ["pug"] * 5 + ["pun"] * 12 + ["bun"] * 4 + ["hugs"] * 5
    config = WordPieceConfig(vocab_size=5 + 7 + 2, min_frequency=1)
    tok = WordPieceTrainer(config).train(texts)
    assert tok.vocab[5:] == ["b", "h", "p", "##g", "##n", "##s", "##u", "##gs", "pu"]
    assert [tok.id_to_token(i) for i in tok.encode("hugs pun")] == ["h", "##u", "##gs", "pu", "##n"]


def test_exactly_the_reference_merges(corpora: Path) -> None:
    """Same vocabulary, in the same order, as the twin (the slack heap is exact)."""
    text = (corpora / "en" / "pride_and_prejudice.txt").read_text(encoding="utf-8")[:15_000]
    text += (corpora / "zh" / "三字经.txt").read_text(encoding="utf-8")[:1000]
    texts = text.splitlines()
    config = WordPieceConfig(vocab_size=700)
    assert WordPieceTrainer(config).train(texts).vocab == wordpiece.train_vocab(texts, config)


def test_stats_and_exact_size(corpora: Path) -> None:
    texts = (corpora / "en" / "sherlock_holmes.txt").read_text(encoding="utf-8").splitlines()
    trainer = WordPieceTrainer(WordPieceConfig(vocab_size=2000))
    tok = trainer.train(texts)
    assert tok.vocab_size == 2000
    assert trainer.stats["documents"] == len(texts)
    assert trainer.stats["corpus_bytes"] == sum(len(t.encode()) for t in texts)
    assert trainer.stats["unique_words"] > 1000
    assert trainer.stats["alphabet"] + 5 + trainer.stats["merges"] >= 2000


def test_vocab_smaller_than_the_alphabet_is_a_clear_error(corpora: Path) -> None:
    texts = (corpora / "zh" / "三字经.txt").read_text(encoding="utf-8").splitlines()
    with pytest.raises(InputError, match=r"smaller than the \d+ characters .* `limit_alphabet`"):
        WordPieceTrainer(WordPieceConfig(vocab_size=100)).train(texts)
    tok = WordPieceTrainer(WordPieceConfig(vocab_size=100, limit_alphabet=80)).train(texts)
    assert tok.vocab_size == 5 + 80  # each CJK character is a word of its own: nothing to merge
    assert tok.unk_id in tok.encode(texts[0])  # rare characters became [UNK]


def test_single_repeated_character() -> None:
    texts = ["a" * 100] * 3
    config = WordPieceConfig(vocab_size=12, min_frequency=1)
    tok = WordPieceTrainer(config).train(texts)
    # a=3 and ##a=297: (a, ##a) scores 3/(3·297) > (##a, ##a) 294/297², so words grow from the left
    assert tok.vocab[5:] == wordpiece.train_vocab(texts, config)[5:] == [
        "a", "##a", "aa", "aaa", "aaaa", "aaaaa", "aaaaaa"]
    assert tok.decode(tok.encode("a" * 100)) == "a" * 100


def test_empty_corpus_and_bad_configs() -> None:
    with pytest.raises(InputError, match="no words"):
        WordPieceTrainer(WordPieceConfig(vocab_size=100)).train(["", "  \n "])
    with pytest.raises(InputError, match="unknown token"):
        WordPieceTrainer(WordPieceConfig(vocab_size=100, special_tokens=("[PAD]",)))
    with pytest.raises(InputError, match="leaves no room"):
        WordPieceTrainer(WordPieceConfig(vocab_size=5))
    with pytest.raises(InputError, match="`min_frequency`"):
        WordPieceTrainer(WordPieceConfig(vocab_size=100, min_frequency=-1))
