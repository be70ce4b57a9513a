"""From-scratch BPE against `tokenizers`: identical merges, and an exported tokenizer.json that
`tokenizers` and `transformers` load and that encodes exactly like our encoder.

The full 32 MB @ 32000 comparison is ``slow`` here; ``benchmarks/bench_bpe_train.py`` checks it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

from tokkit.corpus.readers import read_texts
from tokkit.models.bpe import ByteLevelBPETokenizer
from tokkit.models.pretokenize import resolve_pattern
from tokkit.train.bpe import BPETrainer
from tokkit.train.config import BPEConfig

SPECIALS = ("<|endoftext|>", "<pad>")


def hf_train(lines: list[str], *, vocab_size: int, min_frequency: int, pattern: str,
             special_tokens: tuple[str, ...] = ()) -> Tokenizer:
    """The reference: tokenizers' BpeTrainer with the same pre-tokenizer, fed the same lines."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(resolve_pattern(pattern)), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    return tok


def hf_merges(tok: Tokenizer) -> list[tuple[str, str]]:
    return [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]


def our_merges(tok: ByteLevelBPETokenizer) -> list[tuple[str, str]]:
    return [(tok.id_to_token(a), tok.id_to_token(b)) for a, b in tok.merges]


def head_lines(folder: Path, limit_bytes: int) -> Iterator[str]:
    """Lines (as the CLI reads them) from the files of ``folder`` until ``limit_bytes``."""
    size = 0
    for line in read_texts([folder], split="line"):
        yield line
        size += len(line.encode())
        if size >= limit_bytes:
            return


@pytest.fixture(scope="module")
def mixed_lines(corpora: Path) -> list[str]:
    """~1.5 MB of real English and Chinese (the Chinese half is where BPE is hard)."""
    return [*head_lines(corpora / "en", 700_000), *head_lines(corpora / "zh", 800_000)]


@pytest.fixture(scope="module")
def pair_3000(mixed_lines: list[str]) -> tuple[ByteLevelBPETokenizer, Tokenizer]:
    config = BPEConfig(vocab_size=3000, min_frequency=2, pattern="gpt4", special_tokens=SPECIALS)
    ours = BPETrainer(config).train(mixed_lines)
    theirs = hf_train(mixed_lines, vocab_size=3000, min_frequency=2, pattern="gpt4",
                      special_tokens=SPECIALS)
    return ours, theirs


def test_merges_equal_tokenizers_at_3000(pair_3000: tuple[ByteLevelBPETokenizer, Tokenizer]) -> None:
    ours, theirs = pair_3000
    assert our_merges(ours) == hf_merges(theirs)
    assert len(ours.merges) == 3000 - 256 - len(SPECIALS)
    # ids agree too: the library's trained vocabulary is ours, token for token
    assert {ours.id_to_token(i): i for i in range(ours.vocab_size)} == theirs.get_vocab()


@pytest.mark.parametrize(("pattern", "min_frequency"), [("gpt2", 0), ("o200k", 7)])
def test_merges_equal_tokenizers_other_patterns(mixed_lines: list[str], pattern: str,
                                                min_frequency: int) -> None:
    lines = mixed_lines[::8]
    config = BPEConfig(vocab_size=1200, min_frequency=min_frequency, pattern=pattern)
    ours = BPETrainer(config).train(lines)
    theirs = hf_train(lines, vocab_size=1200, min_frequency=min_frequency, pattern=pattern)
    assert our_merges(ours) == hf_merges(theirs)


def test_min_frequency_stop_matches(mixed_lines: list[str]) -> None:
    lines = mixed_lines[:300]
    ours = BPETrainer(BPEConfig(vocab_size=50_000, min_frequency=3)).train(lines)
    theirs = hf_train(lines, vocab_size=50_000, min_frequency=3, pattern="gpt4")
    assert ours.vocab_size < 50_000
    assert our_merges(ours) == hf_merges(theirs)


@pytest.mark.slow
def test_merges_equal_tokenizers_full_corpus_32000(corpora: Path) -> None:
    lines = list(read_texts([corpora / "en", corpora / "zh"], split="line"))
    ours = BPETrainer(BPEConfig(vocab_size=32_000, min_frequency=2)).train(lines)
    theirs = hf_train(lines, vocab_size=32_000, min_frequency=2, pattern="gpt4")
    assert our_merges(ours) == hf_merges(theirs)


# --- the exported tokenizer.json ------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(pair_3000: tuple[ByteLevelBPETokenizer, Tokenizer], tmp_path_factory: pytest.TempPathFactory):
    from transformers import PreTrainedTokenizerFast

    ours = pair_3000[0]
    directory = tmp_path_factory.mktemp("bpe3000")
    ours.save(directory)
    path = str(directory / "tokenizer.json")
    return ours, Tokenizer.from_file(path), PreTrainedTokenizerFast(tokenizer_file=path)


def test_exported_json_encodes_heldout_identically(exported, heldout: Path) -> None:
    ours, hf, fast = exported
    for name in ("en_dracula.txt", "zh_zizhitongjian.txt"):
        lines = (heldout / name).read_text(encoding="utf-8").splitlines()[:4000]
        expected = ours.encode_batch(lines)
        assert [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)] == expected, name
        assert fast(lines[:1000], add_special_tokens=False)["input_ids"] == expected[:1000], name


def test_exported_json_matches_hf_trained_file(exported, pair_3000) -> None:
    """Our file and the library's own trained tokenizer give the same ids."""
    ours, hf, _ = exported
    text = "Hello wörld, 你好世界！ <|endoftext|> 123456 \t\n  end"
    assert hf.encode(text).ids == pair_3000[1].encode(text).ids == ours.encode(text)


def _same_ids_everywhere(exported, text: str) -> list[int]:  # type: ignore[no-untyped-def]
    """Our ids of ``text``, checked equal to ``tokenizers``' and ``transformers``' from the
    exported json, and decoding back to ``text``."""
    ours, hf, fast = exported
    ids = ours.encode(text)
    assert hf.encode(text, add_special_tokens=False).ids == ids
    assert fast.encode(text, add_special_tokens=False) == ids
    assert ours.decode(ids) == text
    return ids


EDGE = ["", "a" * 10_000, "<|endoftext|>", "x<pad>y<|endoftext|><|endoftext|>", "\x00\x01\x7f\x85",
        "👩‍👩‍👧🎉 emoji", "中文，日本語、한국어", "\r\n\r\n  \t", "  ", "It's 2024!!!"]


@pytest.mark.parametrize("text", EDGE)
def test_exported_json_edge_cases(exported, text: str) -> None:
    ids = _same_ids_everywhere(exported, text)
    assert exported[1].decode(ids, skip_special_tokens=False) == text


@settings(max_examples=200, deadline=None)
@given(text=st.text() | st.text(st.characters(codec="utf-8", categories=["Lo", "So", "Cc", "Zs", "P"])))
def test_exported_json_any_text(exported, text: str) -> None:
    _same_ids_everywhere(exported, text)


@pytest.mark.parametrize("specials", [("ab",), ("ab", "abc", "ca"), ("<s>", "the", "he")])
def test_merge_spelling_an_existing_token_reuses_its_id(specials: tuple[str, ...]) -> None:
    """When a merge spells a token that exists (here a special token), tokenizers reuses its id
    and the vocabulary does not grow; ours must do the same (the exact, slower update path)."""
    import random

    rng = random.Random(7)
    lines = [" ".join("".join(rng.choice("abcde") for _ in range(rng.randint(1, 6))) for _ in range(6))
             + " the he she" for _ in range(40)]
    ours = BPETrainer(BPEConfig(vocab_size=330, min_frequency=1, special_tokens=specials,
                                workers=1)).train(lines)
    theirs = hf_train(lines, vocab_size=330, min_frequency=1, pattern="gpt4", special_tokens=specials)
    assert our_merges(ours) == hf_merges(theirs)
    assert len(ours.merges) > 330 - 256 - len(specials)  # a reused id: more merges than new tokens
    assert {ours.id_to_token(i): i for i in range(ours.vocab_size)} == theirs.get_vocab()


def test_character_premerge_changes_no_ids(pair_3000, heldout: Path) -> None:
    """The encoder's shortcuts (text cut where no token can cross, characters merged on their own
    first) give the ids of the plain byte-level merge, and are actually taken."""
    # fresh copies: the module's tokenizer has cached pieces from earlier tests
    fast, plain = (ByteLevelBPETokenizer(pair_3000[0].merges, pattern=pair_3000[0].pattern,
                                         special_tokens=list(pair_3000[0].special_tokens))
                   for _ in range(2))
    plain._shortcuts = False
    lines = (heldout / "zh_zizhitongjian.txt").read_text(encoding="utf-8").splitlines()[:3000]
    assert fast.encode_batch(lines) == plain.encode_batch(lines)
    # the shortcut was taken: Chinese went through the piece cache, the plain merge never did
    assert len(fast._piece_cache) > 1000 and not plain._piece_cache
