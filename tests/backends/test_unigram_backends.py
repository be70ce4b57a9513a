"""Library-backed Unigram trainers: their errors speak the library's argument names."""

from __future__ import annotations

import pytest

from tokkit.backends.unigram import SPMUnigramTrainer
from tokkit.errors import InputError
from tokkit.train.config import UnigramConfig

HAN = [chr(0x4E00 + 7 * i) for i in range(300)]
MANY_CHARACTERS = ["".join(HAN[(31 * i + j) % 300] for j in range(30)) for i in range(200)] * 3
"""600 lines using 300 distinct Han characters: more than a vocabulary of 100 can hold."""


def test_spm_vocab_smaller_than_the_characters_names_the_argument() -> None:
    """sentencepiece's ``Vocabulary size is smaller than required_chars`` as a Python caller
    writes it (the CLI prints ``--vocab``: tests/cli/test_train_unigram.py)."""
    with pytest.raises(InputError) as raised:
        SPMUnigramTrainer(UnigramConfig(vocab_size=100)).train(iter(MANY_CHARACTERS))
    message = str(raised.value)
    assert message.startswith("`vocab_size=100` is smaller than the ")
    needed = int(message.split("smaller than the ")[1].split()[0])
    assert needed >= 300  # every character the corpus uses, plus sentencepiece's own pieces
    assert message.endswith(f"use `vocab_size={needed}` or more")
