"""Long chunks (megabytes of one repeated character) encode in O(n log n), ids unchanged.

The encoder merges a chunk one rank at a time with ``str.replace`` (all sites of a pair in one C
pass). Each rank costs a pass over the chunk, so a chunk whose merging pops many ranks would cost
O(n × ranks): past a budget of passes the merge goes on in a linked list with a heap of merge
sites (O(log n) per merge). These tests count the passes (``str.replace`` calls, seen through
``sys.setprofile``) and hold both paths to the readable twin, :func:`tokkit.train.reference.bpe.encode`.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkit.models.bpe import ByteLevelBPETokenizer
from tokkit.train.bpe import BPETrainer
from tokkit.train.config import BPEConfig
from tokkit.train.reference import bpe


@pytest.fixture(scope="module")
def dracula(heldout: Path) -> ByteLevelBPETokenizer:
    """The issue's reproducer, smaller: vocab 2000 trained on 300 KB of Dracula."""
    text = (heldout / "en_dracula.txt").read_text(encoding="utf-8")[:300_000]
    return BPETrainer(BPEConfig(vocab_size=2000, workers=1)).train(text.splitlines())


def replace_calls(run: Callable[[], Any]) -> int:
    """How many ``str.replace`` calls ``run()`` makes (each one a pass over its string)."""
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "c_call" and getattr(arg, "__name__", "") == "replace" \
                and getattr(arg, "__self__", None).__class__ is str:
            calls += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def fresh(tok: ByteLevelBPETokenizer) -> ByteLevelBPETokenizer:
    return ByteLevelBPETokenizer(tok.merges, pattern=tok.pattern, special_tokens=list(tok.special_tokens))


@pytest.mark.parametrize("char", [" ", "x", "\n", "中"])
def test_passes_over_a_repeated_run_do_not_grow_with_its_length(
        dracula: ByteLevelBPETokenizer, char: str) -> None:
    """Old code: every merge site pushed a heap entry, and each stale one popped later cost a
    pass: ``" " * 20_000`` made thousands of passes, four times that many at 4× the length."""
    short = replace_calls(lambda: fresh(dracula).encode(char * 10_000))
    long = replace_calls(lambda: fresh(dracula).encode(char * 40_000))
    assert long <= short + 8 and long < 100


def test_passes_over_a_diverse_chunk_are_budgeted(dracula: ByteLevelBPETokenizer) -> None:
    """A long chunk that pops many ranks (random letters, no space) leaves ``str.replace`` for the
    linked list after a bounded number of passes."""
    rng = random.Random(0)
    text = "".join(rng.choices("etaoinshrdlu", k=40_000))
    tok = fresh(dracula)
    calls = replace_calls(lambda: tok.encode(text))
    assert calls <= 4 * 64 + 8  # the budget: 64 passes over the chunk, counted in characters
    assert tok.encode(text) == bpe.encode(tok, text)


@pytest.mark.parametrize("text", [" " * 5000, "x" * 5000, "ab" * 3000, "\n\n " * 2000, "中" * 3000,
                                  "🎉" * 1000, "aaab" * 1500])
def test_long_runs_equal_the_twin(dracula: ByteLevelBPETokenizer, text: str) -> None:
    ids = fresh(dracula).encode(text)
    assert ids == bpe.encode(dracula, text)
    assert dracula.decode(ids) == text


alphabet = st.sampled_from(list("aaaabbbcc  xe\n中文🎉é"))


@settings(max_examples=200, deadline=None)
@given(symbols=st.text(alphabet, min_size=3, max_size=300))
def test_linked_merge_equals_the_replace_merge(dracula: ByteLevelBPETokenizer, symbols: str) -> None:
    """Both merge paths, on any byte symbols, give what the twin gives."""
    raw = dracula._byte_symbols(symbols)
    assert dracula._merge_linked(raw) == dracula._merge(raw, budget=1 << 60)
    assert list(map(ord, dracula._merge_linked(raw))) == bpe.encode(dracula, symbols, whole=True)


@settings(max_examples=100, deadline=None)
@given(symbols=st.text(alphabet, min_size=3, max_size=300), budget=st.integers(0, 2000))
def test_switching_paths_mid_merge_keeps_the_ids(dracula: ByteLevelBPETokenizer, symbols: str,
                                                 budget: int) -> None:
    raw = dracula._byte_symbols(symbols)
    assert dracula._merge(raw, budget=budget) == dracula._merge_linked(raw)


def test_reused_ids_keep_the_replace_semantics(dracula: ByteLevelBPETokenizer) -> None:
    """A merge list that reaches a token twice (ids reused): ranks no longer follow their parts, and
    the linked list still applies all sites of one rank before the next rank."""
    merges = dracula.merges
    tok = ByteLevelBPETokenizer([*merges, *merges[10:60:7]], pattern="gpt4")
    rng = random.Random(5)
    for _ in range(50):
        text = "".join(rng.choices("etaoin sh", k=rng.randint(3, 200)))
        raw = tok._byte_symbols(text)
        assert tok._merge_linked(raw) == tok._merge(raw, budget=1 << 60)
        assert list(map(ord, tok._merge_linked(raw))) == bpe.encode(tok, text, whole=True)
