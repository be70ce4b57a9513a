"""A tokkit Unigram model and its exports are one tokenizer: the ``spm.model`` in sentencepiece and
the ``tokenizer.json`` in ``tokenizers`` give tokkit's ids on every string — every Unicode
whitespace character, compatibility characters, combining marks, a typed ``▁`` — and equal
segmentations tie-break alike.

``TOKKIT_UNIGRAM_EXAMPLES`` sets the hypothesis examples per test (default 600; the acceptance run
used 10,000).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sentencepiece as spm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer as HFTok

from tokkit.models.unigram import UnigramSettings, UnigramTokenizer
from tokkit.models.unigram_normalize import DELETED, char_rules
from tokkit.train.config import UnigramConfig
from tokkit.train.unigram import UnigramTrainer

EXAMPLES = int(os.environ.get("TOKKIT_UNIGRAM_EXAMPLES", "600"))
WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
"""Every character str.split() splits on: Zs, Zl, Zp, the ASCII controls \\t-\\r and \\x1c-\\x1f, \\x85."""
MAPPED = sorted(char_rules("nfkc"))[::7]
"""Compatibility characters NFKC rewrites (full-width, ligatures, circled digits, ...)."""
MARKS = [chr(c) for c in (*range(0x300, 0x370), 0x20DD, 0x0E33, 0x200C, 0x200D, 0x1F3FB)]


@pytest.fixture(scope="module", params=[("nfkc", True), ("identity", False)],
                ids=["nfkc-bytefallback", "identity-unk"])
def exported(request: pytest.FixtureRequest, corpora: Path,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[UnigramTokenizer, Path]:
    normalization, byte_fallback = request.param
    lines = (corpora / "en" / "sherlock_holmes.txt").read_text(encoding="utf-8").splitlines()[:3000]
    lines += (corpora / "zh" / "列子.txt").read_text(encoding="utf-8").splitlines()[:500]
    lines += ["ｆｕｌｌ　ｗｉｄｔｈ ① ﬁne", "tab\there\nnew\u2028line\u3000wide"] * 5
    config = UnigramConfig(vocab_size=2500, byte_fallback=byte_fallback, normalization=normalization)
    tok = UnigramTrainer(config).train(lines)
    out = tmp_path_factory.mktemp(f"unigram-{normalization}")
    tok.save(out)
    return tok, out


def literal_pieces(tok: UnigramTokenizer) -> list[str]:
    """Pieces sentencepiece and tokkit never match in text (control, unknown, byte)."""
    return [p for p, t in zip(tok.pieces, tok.types, strict=True) if t in ("control", "unknown", "byte")]


def texts(tok: UnigramTokenizer) -> st.SearchStrategy[str]:
    words = [p.lstrip("▁") for p in tok.pieces[-300:] if p.lstrip("▁")]
    chars = (st.sampled_from(WHITESPACE) | st.sampled_from(MAPPED) | st.sampled_from(MARKS)
             | st.sampled_from(["▁", DELETED, "\x00", "é", "中", "ｘ"])
             | st.characters(exclude_categories=("Cs",)))
    parts = st.text(chars, max_size=6) | st.sampled_from(words) | st.sampled_from(literal_pieces(tok)[:8])
    return st.lists(parts, max_size=8).map("".join)


def test_issue_reproducers(exported: tuple[UnigramTokenizer, Path]) -> None:
    tok, out = exported
    sp = spm.SentencePieceProcessor(model_file=str(out / "spm.model"))
    hf = HFTok.from_file(str(out / "tokenizer.json"))
    for text in ["line one\nline two", "a\tb\rc\fd\ve\x85f\u2028g\u2029h\x1ci\u3000j\xa0k\u1680l",
                 "  leading and trailing \n", "ends in ▁", "▁", "\n\n", "", "x\u0304 ｘ\u0304 ①\u0301"]:
        ids = tok.encode(text)
        assert sp.encode(text) == ids, text
        assert hf.encode(text, add_special_tokens=False).ids == ids, text
    assert sp.decode(sp.encode("line one\nline two")) == "line one line two"  # was 'line one ⁇ line two'


@pytest.mark.parametrize("library", ["sentencepiece", "tokenizers"])
def test_any_string_encodes_alike(exported: tuple[UnigramTokenizer, Path], library: str) -> None:
    tok, out = exported
    if library == "sentencepiece":
        sp = spm.SentencePieceProcessor(model_file=str(out / "spm.model"))
        theirs = sp.encode
        literals: list[str] = []
    else:
        hf = HFTok.from_file(str(out / "tokenizer.json"))
        theirs = lambda text: hf.encode(text, add_special_tokens=False).ids  # noqa: E731
        # tokenizers matches every vocabulary entry in text, "<s>" and "<0x41>" included; the
        # other two never produce a control or byte piece from text (the module doc of the export)
        literals = literal_pieces(tok)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(texts(tok))
    def check(text: str) -> None:
        if any(p in text for p in literals):
            return
        assert theirs(text) == tok.encode(text)

    check()


def test_exact_ties_break_as_in_sentencepiece(tmp_path: Path) -> None:
    """Pieces of 1-4 dots scored in proportion to their length: every segmentation of a run of
    dots ties. sentencepiece sums in float32; off the 1/256 grid its rounding picked other
    segmentations than tokkit (5 of 29 lengths, '.' * 21 among them, with a score of -4.377...)."""
    base = -4.3776874061001925
    pieces = ["<unk>", "<s>", "</s>", "▁", "▁.", ".", "..", "...", "....", "▁..", "a"]
    scores = [0.0, 0.0, 0.0, *(n * base for n in (1, 1, 1, 2, 3, 4, 2, 1))]
    tok = UnigramTokenizer(pieces, scores, types=["unknown", "control", "control", *["normal"] * 8])
    tok.save(tmp_path)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "spm.model"))
    hf = HFTok.from_file(str(tmp_path / "tokenizer.json"))
    for n in range(1, 40):
        text = "." * n
        assert sp.encode(text) == tok.encode(text) == hf.encode(text, add_special_tokens=False).ids, n
    # sentencepiece's pick among the ties (each end keeps its first best: earliest start, shortest)
    assert [tok.id_to_token(i) for i in tok.encode("." * 21)] == ["▁..", *[".."] * 8, "..."]
    assert tok.scores[5] == round(base * 256) / 256  # on the grid


def test_a_foreign_model_keeps_its_scores() -> None:
    from tokkit.models.unigram_export import from_model_proto, to_model_proto

    tok = UnigramTokenizer(["<unk>", "▁a", "b"], [0.0, -1.23456, -2.5],
                           settings=UnigramSettings(exact_ties=False))
    assert tok.scores[1] == -1.23456
    again = from_model_proto(to_model_proto(tok))  # ours: tokkit_nfkc, scores on the grid
    assert again.settings.exact_ties and again.scores[1] == round(-1.23456 * 256) / 256
