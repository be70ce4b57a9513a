"""The BPE encoder's shortcuts give the ids of the plain rank-order merge, on any text.

Text with non-ASCII characters is cut into pieces at boundaries no token can lie across, and a
character is merged on its own first unless a token can cut it. Both rest on an index of where
tokens cut characters (:class:`tokkit.models.bpe._Boundaries`), checked here against brute
force, and the ids against the readable twin (:func:`tokkit.train.reference.bpe.encode`) and against
``tokenizers``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

from tokkit.models.bpe import _FREE, ByteLevelBPETokenizer, _ascii_pairs, _starting_with
from tokkit.models.pretokenize import resolve_pattern
from tokkit.train.bpe import BPETrainer
from tokkit.train.config import BPEConfig
from tokkit.train.reference import bpe

# Han characters sharing lead bytes (E4 B8 .., E6 AF ..), so byte-level merges cut them
# every which way; with punctuation, Latin, two-byte letters, emoji and a ZWJ sequence.
HAN = "一丁七万丈三上下不与丐丑专且世丘丙业丛东丝比毕毙毛毡毫每母毒中文的是了人我在有他这"
RARE_END = "".join(chr(0x4E21 + 64 * k) for k in range(150))  # all end in byte A1: "<A1>有" tokens
RARE_START = "".join(map(chr, range(0x6B00, 0x6C00)))  # all start E6 AC..AF: "，<E6 AD>" tokens
ALPHABET = HAN + "，。、：！ 　abc1é߀ß🎉👩\u200d"
ADVERSARIAL = [
    "", "a" * 10_000, "中" * 3000, "".join(random.Random(1).choices(HAN, k=5000)),
    "，".join("".join(random.Random(k).choices(HAN, k=40)) for k in range(50)),
    "中文 English 混合 text，还有emoji🎉👩\u200d👩\u200d👧 and é ß ߀ 数字123456",
    "\x00\x01\x7f 中\x00文 \r\n\r\n  \t 比毕\ufffd毙", "🎉" * 500, "é" * 1000 + "中" * 1000,
    "a中b文c比d毕", " 比 毕 毙 毛 毡 毫 每 母 毒", "，比，毕，毙，毛", "\uffff中文\uffff比毕",
]


def hf_trained(lines: list[str], vocab_size: int) -> ByteLevelBPETokenizer:
    """Merges learned by ``tokenizers`` (fast) on ``lines``, as a tokkit tokenizer."""
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(resolve_pattern("gpt4")), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    hf.train_from_iterator(lines, trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=1, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    model = json.loads(hf.to_str())["model"]
    vocab = model["vocab"]
    return ByteLevelBPETokenizer([(vocab[a], vocab[b]) for a, b in model["merges"]], pattern="gpt4")


def synthetic_lines(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    lines = ["".join(rng.choices(ALPHABET, k=rng.randint(5, 80))) for _ in range(600)]
    for _ in range(300):  # rare characters beside common ones: tokens holding part of them
        lines.append("".join(rng.choice(RARE_END) + rng.choice("有的") for _ in range(rng.randint(1, 8))))
        lines.append("".join("，" + rng.choice(RARE_START) for _ in range(rng.randint(1, 8))))
    return lines



@pytest.fixture(scope="module")
def synthetic() -> ByteLevelBPETokenizer:
    """Trained on random text over ALPHABET: tokens cut characters in every way."""
    return hf_trained(synthetic_lines(), 900)


@pytest.fixture(scope="module")
def real(corpora: Path) -> ByteLevelBPETokenizer:
    """Trained on real Chinese and English (many whole-character tokens)."""
    lines: list[str] = []
    for folder in ("zh", "en"):
        size = 0
        for path in sorted((corpora / folder).iterdir()):
            for line in path.read_text(encoding="utf-8").splitlines():
                lines.append(line)
                size += len(line)
                if size > 150_000:
                    break
            if size > 150_000:
                break
    return hf_trained(lines, 6000)


def fresh(tok: ByteLevelBPETokenizer) -> ByteLevelBPETokenizer:
    """The same tokenizer with empty caches."""
    return ByteLevelBPETokenizer(tok.merges, pattern=tok.pattern, special_tokens=list(tok.special_tokens))


def plain(tok: ByteLevelBPETokenizer) -> ByteLevelBPETokenizer:
    """The same tokenizer with every shortcut off (byte-level merge of whole chunks)."""
    again = fresh(tok)
    again._shortcuts = False
    return again


def hf_of(tok: ByteLevelBPETokenizer) -> Tokenizer:
    return Tokenizer.from_str(json.dumps(tok.to_hf_json()))


def spanning_tokens(tok: ByteLevelBPETokenizer, text: str) -> tuple[set[int], set[int]]:
    """Brute force: the character boundaries of ``text`` that some token lies across, and those
    where it also cuts one of the two characters."""
    vocab = {tok.token_bytes(i) for i in range(256, tok.vocab_size)}
    longest = max(map(len, vocab))
    raw = text.encode("utf-8", "surrogatepass")
    starts = [0]
    for ch in text:
        starts.append(starts[-1] + len(ch.encode("utf-8", "surrogatepass")))
    edges = set(starts)
    spanned, cut = set(), set()
    for k in range(1, len(text)):
        at = starts[k]
        for i in range(max(0, at - longest + 1), at):
            for j in range(at + 1, min(len(raw), i + longest) + 1):
                if raw[i:j] in vocab:
                    spanned.add(k)
                    if (i not in edges and i >= starts[k - 1]) or (j not in edges and j <= starts[k + 1]):
                        cut.add(k)
    return spanned, cut


# --- the index of boundaries ------------------------------------------------------------------


def test_synthetic_vocabulary_cuts_characters_every_way(synthetic: ByteLevelBPETokenizer) -> None:
    boundaries = synthetic._boundaries
    assert boundaries._ends and boundaries._starts and boundaries._lead  # L + W, W + P, L + P
    assert synthetic._shortcuts


@settings(max_examples=150, deadline=None)
@given(text=st.text(st.sampled_from(ALPHABET + RARE_END[:9] + RARE_START[::25]), min_size=2,
               max_size=40))
def test_free_and_cut_boundaries_match_brute_force(synthetic: ByteLevelBPETokenizer, text: str) -> None:
    spanned, cut = spanning_tokens(synthetic, text)
    found = synthetic._boundaries.cuts(text)
    assert cut <= found  # every cut is seen (more is allowed: the check is by character pair)
    pieces = synthetic._boundaries.pieces(text, found)
    assert "".join(pieces) == text
    at, free = 0, set()
    for piece in pieces[:-1]:
        at += len(piece)
        free.add(at)
    assert not free & spanned  # never cut where a token lies across


@settings(max_examples=300, deadline=None)
@given(code_point=st.integers(0x80, 0x10FFFF))
def test_code_points_starting_with_a_prefix_form_a_range(code_point: int) -> None:
    raw = chr(code_point).encode("utf-8", "surrogatepass")
    for size in range(1, len(raw)):
        prefix = raw[:size]
        low, high = _starting_with(prefix)
        assert low <= code_point <= high
        for end in (low, high):
            assert chr(end).encode("utf-8", "surrogatepass").startswith(prefix)
        for outside in (low - 1, high + 1):
            if 0x80 <= outside <= 0x10FFFF and len(chr(outside).encode("utf-8", "surrogatepass")) == len(raw):
                assert not chr(outside).encode("utf-8", "surrogatepass").startswith(prefix)


# --- the ids ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from(ALPHABET + RARE_END[:9] + RARE_START[::25]), max_size=120)
       | st.text(max_size=60))
def test_ids_equal_the_reference_merge(synthetic: ByteLevelBPETokenizer, text: str) -> None:
    assert synthetic.encode(text) == bpe.encode(synthetic, text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from(ALPHABET + RARE_END[:9] + RARE_START[::25]), max_size=300)
       | st.text(st.characters(codec="utf-8"), max_size=100))
def test_ids_equal_tokenizers(synthetic: ByteLevelBPETokenizer, text: str) -> None:
    assert synthetic.encode(text) == hf_of(synthetic).encode(text, add_special_tokens=False).ids


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_text(synthetic: ByteLevelBPETokenizer, text: str) -> None:
    ids = synthetic.encode(text)
    assert ids == plain(synthetic).encode(text)
    assert ids == hf_of(synthetic).encode(text, add_special_tokens=False).ids
    assert synthetic.decode(ids) == text
    if len(text) <= 1000:
        assert ids == bpe.encode(synthetic, text)


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_text_real_vocabulary(real: ByteLevelBPETokenizer, text: str) -> None:
    ids = real.encode(text)
    assert ids == plain(real).encode(text)
    assert ids == hf_of(real).encode(text, add_special_tokens=False).ids


def test_heldout_chinese_real_vocabulary(real: ByteLevelBPETokenizer, heldout: Path) -> None:
    lines = (heldout / "zh_zizhitongjian.txt").read_text(encoding="utf-8").splitlines()[:1500]
    hf = hf_of(real)
    expected = [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]
    tok = fresh(real)  # the module's tokenizer has cached pieces from earlier tests
    assert tok.encode_batch(lines) == expected == plain(real).encode_batch(lines)
    # taken: Chinese went through the piece cache, filled by this call alone
    assert len(tok._piece_cache) > 1000
    chunks = sum(len(real._split(line)) for line in lines)
    boundaries = tok._boundaries
    pieces = sum(len(boundaries.pieces(line, boundaries.cuts(line))) for line in lines)
    assert pieces > 2 * chunks
    # the boundary index holds the vocabulary's own character pairs: those of its two-character
    # Han tokens, which no ASCII pair covers
    pairs = [t for t in (real.token_bytes(i).decode("utf-8", "ignore") for i in range(real.vocab_size))
             if len(t) == 2 and not t.isascii()]
    assert pairs and all(p in boundaries._joined for p in pairs)
    assert not any(p in _ascii_pairs() for p in pairs)


def test_lone_surrogates_in_the_vocabulary() -> None:
    """Tokens holding a lone surrogate (as the trainer writes it, surrogatepass) are indexed;
    encoding reads lone surrogates as U+FFFD, as tiktoken does."""
    rng = random.Random(3)
    pool = "中文比\ud800\udbff\udc00a "
    lines = ["".join(rng.choices(pool, k=rng.randint(3, 30))) for _ in range(300)]
    tok = BPETrainer(BPEConfig(vocab_size=400, min_frequency=1, workers=1)).train(lines)
    assert tok._shortcuts
    for text in [*lines[:50], "\ud800中" * 50, "中\udbff\udc00文" * 30]:
        assert tok.encode(text) == bpe.encode(tok, text) == plain(tok).encode(text)


def test_reused_ids_turn_the_shortcuts_off(synthetic: ByteLevelBPETokenizer) -> None:
    """A merge that repeats an earlier pair reuses its id: no shortcut, still the plain merge."""
    merges = synthetic.merges
    tok = ByteLevelBPETokenizer([*merges, merges[40]], pattern="gpt4")
    assert not tok._shortcuts
    for text in ADVERSARIAL[3:]:
        assert tok.encode(text[:400]) == bpe.encode(tok, text[:400])


def test_separator_in_text_takes_the_chunk_path(synthetic: ByteLevelBPETokenizer) -> None:
    text = f"中文{_FREE}比毕，毙{_FREE}"
    assert synthetic.encode(text) == bpe.encode(synthetic, text)
    assert synthetic.decode(synthetic.encode(text)) == text


def test_runs_of_unseen_chunks_between_cached_ones(synthetic: ByteLevelBPETokenizer) -> None:
    """Unseen non-ASCII chunks in a row are cut into pieces together; a lone one, or a word
    after a space, is remembered as a chunk."""
    tok = ByteLevelBPETokenizer(synthetic.merges, pattern="gpt4")
    tok.encode("中文，比毕")  # cached chunks that later split runs of unseen ones
    text = "丁七，中文，比毕万丈 abc，三上下 中文，丐丑专 12 世丘，比毕"
    assert tok.encode(text) == bpe.encode(tok, text) == tok.encode(text)
    tok.encode("x é y")
    assert " é" in tok._cache  # a lone unseen chunk is remembered
    text = "слово и слово, ещё слово 中文比毕"
    assert tok.encode(text) == bpe.encode(tok, text)
    assert {" и", " слово", " ещё"} <= tok._cache.keys()  # words after a space recur: remembered
