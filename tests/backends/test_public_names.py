"""``tokkit.backends`` is where the README sends users: its names are public and load lazily."""

from __future__ import annotations

import tokkit.backends as backends


def test_every_public_name_resolves_to_the_class_it_names() -> None:
    assert sorted(backends.__all__) == sorted(["HFBPETrainer", "SPMBPETrainer", "HFUnigramTrainer", "SPMUnigramTrainer",
                                       "HFWordPieceTrainer", "HFTokenizer", "SPMTokenizer", "TiktokenTokenizer"])
    for name in backends.__all__:
        assert getattr(backends, name).__name__ == name
        assert name in dir(backends)


def test_a_library_trainer_from_the_package_trains() -> None:
    from tokkit.backends import HFBPETrainer
    from tokkit.train.config import BPEConfig

    tok = HFBPETrainer(BPEConfig(vocab_size=300, special_tokens=())).train(["some text", "更多文本"] * 10)
    assert tok.decode(tok.encode("some 文本")) == "some 文本"
