"""The judged figures, each against an independent computation with the library itself."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tiktoken

from tokkit.analyze.compression import AnalyzeConfig, analyze
from tokkit.analyze.efficiency import efficiency, renyi_entropy
from tokkit.analyze.parity import gini, language_of, measure_parity, parallel_files, parity
from tokkit.analyze.vocab_health import formations, merge_parents, residues
from tokkit.errors import InputError
from tokkit.load import load_tokenizer


@pytest.fixture(scope="module")
def cl100k() -> tiktoken.Encoding:
    return load_tokenizer("tiktoken:cl100k_base").encoding  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(scope="module")
def lines(heldout: Path) -> dict[str, list[str]]:
    def head(name: str, n: int) -> list[str]:
        text = (heldout / name).read_text(encoding="utf-8")
        return [line for line in text.split("\n")[:n]]
    return {"zh": head("zh_zizhitongjian.txt", 400), "en": head("en_dracula.txt", 1500)}


@pytest.fixture(scope="module")
def corpus_dir(lines: dict[str, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("judge")
    for lang, ls in lines.items():
        (root / f"{lang}.txt").write_text("\n".join(ls) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def result(corpus_dir: Path) -> dict[str, dict]:
    report = analyze(["tiktoken:cl100k_base"], {lang: [corpus_dir / f"{lang}.txt"]
                                                for lang in ("zh", "en")},
                     config=AnalyzeConfig(workers=1))
    return {c: report.result("cl100k_base", c).figures for c in ("zh", "en")}


def test_renyi_and_shannon_efficiency_equal_a_direct_computation(
        result: dict[str, dict], lines: dict[str, list[str]], cl100k: tiktoken.Encoding) -> None:
    for lang in ("zh", "en"):
        counts = Counter(i for line in lines[lang] for i in cl100k.encode_ordinary(line))
        total = sum(counts.values())
        p = [c / total for c in counts.values()]
        renyi = math.log(sum(x**2.5 for x in p)) / (1 - 2.5) / math.log(cl100k.n_vocab)
        shannon = -sum(x * math.log(x) for x in p) / math.log(cl100k.n_vocab)
        assert result[lang]["tokens"] == total
        assert result[lang]["renyi_efficiency"] == pytest.approx(renyi, rel=1e-12)
        assert result[lang]["shannon_efficiency"] == pytest.approx(shannon, rel=1e-12)
        assert result[lang]["renyi_efficiency"] < result[lang]["shannon_efficiency"] < 1


def test_entropy_edge_cases() -> None:
    uniform = np.ones(16)
    for alpha in (0.0, 1.0, 2.5):
        assert renyi_entropy(uniform, alpha) == pytest.approx(math.log(16))
    assert efficiency(uniform, 16) == pytest.approx(1.0)
    assert efficiency(np.zeros(4), 16) is None
    with pytest.raises(ValueError, match="empty"):
        renyi_entropy(np.zeros(3), 2.5)


def test_words_kept_whole_and_han_coverage_equal_a_direct_count(
        result: dict[str, dict], lines: dict[str, list[str]], cl100k: tiktoken.Encoding) -> None:
    words = Counter(w for line in lines["en"] for w in line.split())
    whole = sum(n for w, n in words.items() if len(cl100k.encode_ordinary(" " + w)) == 1)
    assert result["en"]["words_whole_share"] == pytest.approx(whole / sum(words.values()))
    han = Counter(c for line in lines["zh"] for c in line if "\u4e00" <= c <= "\u9fff")
    ranks = cl100k._mergeable_ranks
    covered = sum(n for c, n in han.items() if c.encode() in ranks)
    assert result["zh"]["han_vocab_coverage"] == pytest.approx(covered / sum(han.values()))
    top = [c for c, _ in han.most_common(3500)]
    assert result["zh"]["han_top"] == len(top)
    assert result["zh"]["han_top_coverage"] == pytest.approx(
        sum(c.encode() in ranks for c in top) / len(top))
    assert result["en"]["han_vocab_coverage"] is None  # no Han: no ratio, no division error


def test_health_of_a_byte_level_vocabulary(result: dict[str, dict],
                                           cl100k: tiktoken.Encoding) -> None:
    health = result["zh"]["health"]
    # tiktoken emits a pre-token found in its ranks as is: every whole-character token is
    # reachable; what cannot be tested alone holds part of a character
    assert health["unreachable"] == 0 and health["unreachable_examples"] == []
    partial = 0
    for token in cl100k._mergeable_ranks:
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            partial += 1
    assert health["untestable"] == partial
    assert health["tested"] + health["untestable"] == health["regular_tokens"] == 100256
    assert health["never_used"] == 100256 - result["zh"]["vocab_used"]
    assert health["residue_candidates"] is not None and health["residue_candidates"] > 0


def test_unreachable_token_is_found(tmp_path: Path) -> None:
    """A BPE whose merges never build a token in its vocabulary: "abc" (a b → ab, then no ab+c)."""
    from tokenizers import Tokenizer
    from tokenizers.models import BPE

    vocab = {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5}
    tok = Tokenizer(BPE(vocab=vocab, merges=[("a", "b"), ("b", "c")]))
    assert tok.encode("abc").ids == [3, 2]  # the library agrees: "abc" is never produced
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    lines = ["abcbc", "ab"]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = analyze([path], {"c": [tmp_path / "c.txt"]}, config=AnalyzeConfig(workers=1))
    health = report.results[0].figures["health"]
    assert health["unreachable"] == 1 and health["unreachable_examples"] == ["abc"]
    used = {i for line in lines for i in tok.encode(line).ids}
    assert health["tested"] == 6 and health["never_used"] == 6 - len(used) > 0
    assert health["residue_candidates"] is None  # not byte-level: no merge tree to count


def test_merge_tree_residues_hand_worked() -> None:
    surfaces = [bytes([b]) for b in range(256)] + [b"ab", b"abc", b"xy"]
    rank = list(range(len(surfaces)))
    parents = merge_parents(surfaces, rank)
    assert parents == {256: (97, 98), 257: (256, 99), 258: (120, 121)}
    counts = np.zeros(len(surfaces))
    counts[257], counts[258], counts[97] = 10, 5, 3
    formed = formations(counts, parents, rank)
    assert (formed[257], formed[256], formed[97], formed[99], formed[120]) == (10, 10, 13, 10, 5)
    assert residues(counts, parents, rank) == [256]  # "ab" only ever on the way to "abc"


def test_merge_parents_are_derived_once_per_vocabulary(hf_byte_level: Path, sample_texts: list[str],
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """They depend on the vocabulary alone: two corpora, then a second analysis with the same
    tokenizer, derive them once (seconds each for cl100k's 100k tokens), and judge the same."""
    from tokkit.analyze import vocab_health
    from tokkit.analyze.token_bytes import token_table

    derived: list[int] = []

    def counted(surfaces: list[bytes], rank: list[int]) -> dict[int, tuple[int, int]]:
        derived.append(len(surfaces))
        return merge_parents(surfaces, rank)

    monkeypatch.setattr(vocab_health, "merge_parents", counted)
    tok = load_tokenizer(hf_byte_level)
    half = len(sample_texts) // 2
    for name, texts in (("zh", sample_texts[:half]), ("en", sample_texts[half:])):
        (tmp_path / f"{name}.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    corpora = {name: [tmp_path / f"{name}.txt"] for name in ("zh", "en")}
    runs = [analyze([tok], corpora, config=AnalyzeConfig(workers=1)) for _ in range(2)]
    assert derived == [tok.vocab_size]
    first, second = ([r.figures["health"] for r in run.results] for run in runs)
    assert first == second and all(h["residue_candidates"] is not None for h in first)
    table = token_table(tok)
    rank = list(range(table.size))
    assert vocab_health.table_merge_parents(table, rank) == merge_parents(table.surfaces, rank)
    assert vocab_health.table_merge_parents(table, rank[::-1]) == merge_parents(table.surfaces, rank[::-1])
    assert len(derived) == 2  # another rank is another derivation


def test_gini_and_premiums() -> None:
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # Σ|xi−xj| = 20 over 2·4²·2.5
    assert gini([5, 5, 5]) == 0.0 and gini([7]) == 0.0
    p = parity("t", {"en": 100, "de": 130, "ja": 150})
    assert p.premium == {"en": 1.0, "de": 1.3, "ja": 1.5}
    assert p.gini == pytest.approx((2 * (30 + 50 + 20)) / (2 * 9 * (380 / 3)))
    with pytest.raises(ValueError, match="no 'en' text"):
        parity("t", {"de": 1, "ja": 2})
    assert language_of(Path("debian_reference.zh-tw.txt")) == "zh-tw"
    assert language_of(Path("en.txt")) == "en"


def test_parity_premiums_equal_direct_token_counts(corpora: Path, tmp_path: Path,
                                                    cl100k: tiktoken.Encoding) -> None:
    texts = {}
    for lang in ("en", "de", "ja"):
        text = (corpora / "parallel" / f"debian_reference.{lang}.txt").read_text(encoding="utf-8")
        texts[lang] = "\n".join(text.split("\n")[:300]) + "\n"
        (tmp_path / f"book.{lang}.txt").write_text(texts[lang], encoding="utf-8")
    [p] = measure_parity(["tiktoken:cl100k_base"], tmp_path)
    direct = {lang: sum(len(cl100k.encode_ordinary(line)) for line in t.split("\n"))
              for lang, t in texts.items()}
    assert p.tokens == direct
    assert p.premium == {lang: n / direct["en"] for lang, n in direct.items()}
    assert p.gini == pytest.approx(gini(direct))
    assert json.loads(json.dumps(p.to_json()))["reference"] == "en"


def test_parallel_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="one file per language"):
        parallel_files(tmp_path / "missing")
    (tmp_path / "a.de.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="at least two"):
        parallel_files(tmp_path)
    (tmp_path / "b.de.txt").write_text("y", encoding="utf-8")
    with pytest.raises(InputError, match="two files for language 'de'"):
        parallel_files(tmp_path)
