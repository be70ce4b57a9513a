"""The two-pass engine on real near-duplicates and on every input format."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokkit.dedup import DedupConfig, cluster_documents, compute_features, dedup_corpus
from tokkit.dedup.shingles import has_words
from tokkit.errors import EncodingError, InputError, NotTokkitOutputError, OutputExistsError


def removed(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (out / "removed.jsonl").read_text().splitlines()]


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def neardup_run(corpora: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("neardup") / "out"
    report = dedup_corpus([corpora / "neardup"], out, encoding_errors="latin1")
    return corpora / "neardup", out, report


def test_every_edition_collapses_to_its_book_and_books_never_merge(neardup_run) -> None:  # type: ignore[no-untyped-def]
    src, out, report = neardup_run
    books = sorted(p.name for p in src.iterdir() if p.is_dir())
    editions = {b: sorted(str(p) for p in (src / b).iterdir()) for b in books}
    rows = removed(out)
    kept_twin = {r["id"]: r["kept"] for r in rows}
    for book, files in editions.items():
        kept = [f for f in files if f not in kept_twin]
        assert len(kept) == 1, (book, kept)  # one cluster per book...
        assert all(kept_twin[f] == kept[0] for f in files if f != kept[0])  # ...holding every edition
    assert report.counts["documents"] == sum(map(len, editions.values()))
    assert report.counts["kept"] == len(books) == report.counts["clusters"]
    assert {r["cluster"] for r in rows} == set(range(len(books)))
    assert all(r["reason"] == "near" and r["similarity"] >= 0.8 for r in rows)
    # the kept files are written unchanged (UTF-8 editions) or transcoded to UTF-8 (Latin-1 ones)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.txt"))
    assert written == sorted(str(Path(kept_twin.get(f, f)).relative_to(src))
                             for f in {kept_twin.get(f, f) for fs in editions.values() for f in fs})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["legacy_decoded_files"] == len(manifest["read"]["legacy_decoded"]) > 0
    assert manifest["bytes"]["in"] == sum(p.stat().st_size for p in src.rglob("*.txt"))
    assert manifest["bytes"]["out"] == sum(p.stat().st_size for p in out.rglob("*.txt"))
    assert manifest["lsh"] == {"bands": 16, "rows": 8}
    assert not list(out.rglob(".*"))  # no working files left behind


def test_latin1_edition_decodes_to_real_letters(corpora: Path, tmp_path: Path) -> None:
    """Strict stops at the Latin-1 edition; latin1 reads it like its UTF-8 twin."""
    sherlock = corpora / "neardup" / "sherlock_holmes"
    with pytest.raises(EncodingError, match=r"1661-8\.txt"):
        dedup_corpus([sherlock / "1661-8.txt"], tmp_path / "strict")
    assert not (tmp_path / "strict").exists()
    dedup_corpus([sherlock / "1661-8.txt", sherlock / "1661.txt"], tmp_path / "l1",
                 encoding_errors="latin1", config=DedupConfig(keep="first"))
    text = (tmp_path / "l1" / "1661-8.txt").read_text(encoding="utf-8")
    assert "\ufffd" not in text
    assert removed(tmp_path / "l1")[0]["similarity"] >= 0.99


def test_paragraphs_collapse_across_editions_and_boilerplate_across_books(corpora: Path,
                                                                        tmp_path: Path) -> None:
    """Paragraph granularity: a second edition of a book is almost entirely removed; between
    different books only Gutenberg licence boilerplate and short stock lines go (by design:
    boilerplate is duplicate training text; one copy is kept)."""
    nd = corpora / "neardup"
    inputs = [nd / "pride_and_prejudice" / "1342-0.txt", nd / "pride_and_prejudice" / "old__pandp12.txt",
              nd / "sherlock_holmes" / "1661.txt"]
    report = dedup_corpus(inputs, tmp_path / "out", config=DedupConfig(granularity="paragraph"))
    files = {Path(f["input"]).name: f for f in report.manifest["files"]}
    assert files["1342-0.txt"]["kept"] / files["1342-0.txt"]["documents"] > 0.99
    cross = [r for r in removed(tmp_path / "out") if "sherlock" in r["id"] and "pride" in r["kept"]]
    texts = {}
    from tokkit.corpus.readers import ReadOptions, read_documents

    for doc in read_documents(inputs, ReadOptions(split="paragraph")):
        texts[doc.id] = doc.text
    # the second edition goes, but for short lines (under near_min_words: only exact duplicates go)
    gone = {r["id"] for r in removed(tmp_path / "out")}
    second = [i for i in texts if "old__pandp12" in i and has_words(texts[i], DedupConfig().near_min_words)]
    assert sum(i not in gone for i in second) / len(second) < 0.06
    assert cross
    sherlock = sorted((int(i.rsplit(":", 1)[1]), t) for i, t in texts.items() if "sherlock" in i)
    start = next(n for n, t in sherlock if t.startswith("*** START OF"))
    end = next(n for n, t in sherlock if t.startswith("*** END OF"))
    for r in cross:  # licence header/footer, or a stock line such as '"What do you mean?"'
        index = int(r["id"].rsplit(":", 1)[1])
        text = texts[r["id"]]
        assert not start < index < end or len(text.split()) <= 12, text
    assert sum(start < int(r["id"].rsplit(":", 1)[1]) < end for r in cross) <= 10
    # --min-length spares the stock lines: then only licence boilerplate goes between books
    spared = dedup_corpus(inputs[1:], tmp_path / "spared",
                          config=DedupConfig(granularity="paragraph", min_length=60))
    for r in removed(tmp_path / "spared"):
        if "sherlock" in r["id"] and "pride" in r["kept"]:
            index = int(r["id"].rsplit(":", 1)[1])
            assert not start < index < end and len(texts[r["id"]]) >= 60
    assert spared.counts["removed"] > 0
    # paragraphs are written back separated by blank lines, re-readable as the same paragraphs
    kept_text = (tmp_path / "out" / "pride_and_prejudice" / "1342-0.txt").read_text()
    assert kept_text.count("\n\n") == files["1342-0.txt"]["kept"]


def _small_corpus(root: Path) -> list[Path]:
    base = ("The quick brown fox jumps over the lazy dog while the farmer watches from the "
            "porch and the sun sets slowly behind the distant hills of the quiet valley. "
            "Later that evening the children came home from school, tired and hungry, and "
            "their mother served a warm soup with fresh bread baked in the old stone oven "
            "that her grandfather had built many years before the war changed everything "
            "in the village forever")  # 80 words: one word changed keeps J = 71/81
    zh = "人工智能正在改变我们的生活方式，从医疗诊断到自动驾驶，技术的进步令人惊叹不已。"
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": base, "url": "u0"},
        {"text": base.upper(), "url": "u1"},  # near (case-folded shingles identical)
        {"text": "Something else entirely, with its own words and nothing in common.", "url": "u2"},
        {"text": "   ", "url": "empty"},
        {"text": zh, "url": "u4"},
    ]) + "\n", encoding="utf-8")
    (root / "b.txt").write_text(base + "\n\n" + "A unique paragraph that stays.\n\n"
                                + base.replace("lazy", "sleepy") + "\n", encoding="utf-8")
    pq.write_table(pa.table({"text": [zh, zh + "真的。", "独一无二的句子"], "n": [1, 2, 3]}),
                   root / "c.parquet")
    with gzip.open(root / "d.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": base, "src": "gz"}) + "\n")
    return [root / "a.jsonl", root / "b.txt", root / "c.parquet", root / "d.jsonl.gz"]


def test_formats_are_written_back_with_their_fields(tmp_path: Path) -> None:
    _small_corpus(tmp_path / "in")
    report = dedup_corpus([tmp_path / "in"], tmp_path / "out",
                          config=DedupConfig(granularity="paragraph"))
    out = tmp_path / "out"
    lines = (out / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["url"] for x in lines] == ["u0", "u2", "u4"]  # raw lines, fields kept
    assert (out / "b.txt").read_text() == "A unique paragraph that stays.\n\n"
    table = pq.read_table(out / "c.parquet")
    assert table.column_names == ["text", "n"] and table.column("n").to_pylist() == [3]
    assert not (out / "d.jsonl.gz").exists()  # its only record is an exact duplicate
    reasons = {(r["id"].split("/")[-1], r["kept"].split("/")[-1], r["reason"]) for r in removed(out)}
    assert reasons == {
        ("a.jsonl:1", "a.jsonl:0", "near"),
        ("b.txt:0", "a.jsonl:0", "exact"),
        ("b.txt:2", "a.jsonl:0", "near"),
        ("c.parquet:0", "a.jsonl:4", "exact"),
        ("c.parquet:1", "a.jsonl:4", "near"),
        ("d.jsonl.gz:0", "a.jsonl:0", "exact"),
    }
    c = report.counts
    assert (c["documents"], c["kept"], c["removed_exact"], c["removed_near"]) == (11, 5, 3, 3)


def test_keep_longest(tmp_path: Path) -> None:
    _small_corpus(tmp_path / "in")
    dedup_corpus([tmp_path / "in" / "c.parquet"], tmp_path / "out", config=DedupConfig(keep="longest"))
    assert pq.read_table(tmp_path / "out" / "c.parquet").column("n").to_pylist() == [2, 3]


def test_same_input_and_seed_give_byte_identical_output(tmp_path: Path) -> None:
    _small_corpus(tmp_path / "in")
    cfg = DedupConfig(granularity="paragraph", threshold=0.7, seed=3)
    dedup_corpus([tmp_path / "in"], tmp_path / "one", config=cfg)
    dedup_corpus([tmp_path / "in"], tmp_path / "two", config=cfg)
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")
    assert len(tree_digest(tmp_path / "one")) == 5  # a.jsonl b.txt c.parquet removed manifest


def test_batch_size_does_not_change_the_result(tmp_path: Path) -> None:
    _small_corpus(tmp_path / "in")
    one = dedup_corpus([tmp_path / "in"], tmp_path / "one", config=DedupConfig(batch_docs=1))
    big = dedup_corpus([tmp_path / "in"], tmp_path / "big", config=DedupConfig(batch_docs=10_000))
    assert (tmp_path / "one" / "removed.jsonl").read_bytes() == (tmp_path / "big" / "removed.jsonl").read_bytes()
    assert one.counts == big.counts


def test_stages_are_pure_and_match_the_engine(tmp_path: Path) -> None:
    """compute_features on any partition + cluster_documents = the engine's kept set."""
    texts = ["alpha beta gamma delta epsilon zeta eta theta"] * 2 + \
            ["alpha beta gamma delta epsilon zeta eta iota", "completely different words in this one"]
    cfg = DedupConfig(threshold=0.5, near_min_words=0)  # 8-word texts: near dedup them anyway
    whole = compute_features(texts, cfg)
    parts = [compute_features(texts[:1], cfg), compute_features(texts[1:], cfg)]
    assert np.array_equal(whole.signatures, np.concatenate([p.signatures for p in parts]))
    result = cluster_documents(whole, cfg)
    assert result.kept.tolist() == [0, 0, 0, 3]
    assert result.reason.tolist() == [0, 1, 2, 0]


def test_exact_verification_rejects_what_the_estimate_lets_through() -> None:
    """Pairs around the threshold: exact verification merges exactly the pairs at or above it,
    the MinHash estimate also some below it."""
    from tokkit.dedup.shingles import shingles

    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(5000)]
    texts, truth = [], []
    for k in range(60):
        base = list(rng.choice(words, 200))
        twin = list(base)
        for pos in rng.choice(200, 3 + k % 3, replace=False):
            twin[pos] = "edited"
        texts += [" ".join(base), " ".join(twin)]
        a, b = set(shingles(texts[-2])), set(shingles(texts[-1]))
        truth.append(len(a & b) / len(a | b))
    threshold = 0.84
    exact_cfg = DedupConfig(threshold=threshold)
    features = compute_features(texts, exact_cfg)
    merged = cluster_documents(features, exact_cfg).reason[1::2] > 0
    assert merged.tolist() == [j >= threshold for j in truth]
    assert 0 < merged.sum() < len(truth)
    by_estimate = cluster_documents(features, DedupConfig(threshold=threshold, verify="estimate"))
    assert any(m and j < threshold for m, j in zip(by_estimate.reason[1::2] > 0, truth, strict=True))


def test_existing_output_needs_force(tmp_path: Path) -> None:
    _small_corpus(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        dedup_corpus([tmp_path / "in"], out)
    with pytest.raises(NotTokkitOutputError, match="not a tokkit output"):
        dedup_corpus([tmp_path / "in"], out, force=True)  # force never deletes a folder we did not write
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    dedup_corpus([tmp_path / "in"], out)
    (out / "keep.txt").write_text("mine")
    dedup_corpus([tmp_path / "in"], out, force=True)  # a tokkit output: replaced
    assert not (out / "keep.txt").exists() and (out / "manifest.json").exists()


def test_interrupted_run_leaves_no_output(tmp_path: Path) -> None:
    _small_corpus(tmp_path / "in")

    class Boom:
        def task(self, description: str, total: int | None = None, *, unit: str = ""):  # type: ignore[no-untyped-def]
            if description.startswith("pass 2"):
                raise KeyboardInterrupt
            from tokkit.progress import NULL_PROGRESS

            return NULL_PROGRESS.task(description, total, unit=unit)

    with pytest.raises(KeyboardInterrupt):
        dedup_corpus([tmp_path / "in"], tmp_path / "out", progress=Boom())
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        dedup_corpus([tmp_path / "missing.txt"], tmp_path / "out")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01binary")
    with pytest.raises(InputError, match="no documents"):
        dedup_corpus([tmp_path / "empty.txt", tmp_path / "bin.txt"], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="threshold"):
        dedup_corpus([tmp_path / "empty.txt"], tmp_path / "out", config=DedupConfig(threshold=1.5))
    with pytest.raises(InputError, match="bands"):
        DedupConfig(bands=20, rows=20).check()


def test_chapter_headings_are_not_near_duplicates_of_each_other(tmp_path: Path) -> None:
    """'    CHAPTER XIII' and 'Chapter XIII' share every casefolded word shingle: below
    near_min_words (50 characters by default) they are only checked for exact duplicates."""
    long = ("It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, "
            "his chin nuzzled into his breast in an effort to escape the vile wind, slipped quickly "
            "through the glass doors of Victory Mansions, though not quickly enough to prevent a "
            "swirl of gritty dust from entering along with him. The hallway smelt of boiled cabbage "
            "and old rag mats. At one end of it a coloured poster, too large for indoor display, had "
            "been tacked to the wall.")  # 80 words: one changed keeps J = 71/81
    book = tmp_path / "books" / "a.txt"
    book.parent.mkdir()
    paragraphs = ["    CHAPTER XIII", "Chapter XIII", "Chapter XIII", long, long.replace("thirteen", "twelve")]
    book.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    report = dedup_corpus([book.parent], tmp_path / "out", config=DedupConfig(granularity="paragraph"))
    assert report.counts["removed_exact"] == 1  # the second 'Chapter XIII': a true duplicate
    assert report.counts["removed_near"] == 1  # the long paragraph's one-word variant
    assert report.counts["without_shingles"] == 3
    kept = (tmp_path / "out" / "a.txt").read_text(encoding="utf-8")
    assert "    CHAPTER XIII" in kept and "Chapter XIII" in kept
    # with no minimum (the old behaviour) the heading goes as a "near duplicate"
    old = dedup_corpus([book.parent], tmp_path / "old", config=DedupConfig(granularity="paragraph",
                                                                         near_min_words=0))
    assert old.counts["removed_near"] == 3  # both 'Chapter XIII' count as near twins of the first
    assert "Chapter XIII" not in (tmp_path / "old" / "a.txt").read_text(encoding="utf-8")


def test_the_summary_line_reads_as_a_sentence(tmp_path: Path) -> None:
    from tokkit.dedup.summary import summary_line

    counts = {"documents": 3, "kept": 2, "removed_exact": 1, "removed_near": 0, "clusters": 1,
              "without_shingles": 3}
    assert summary_line(counts, granularity="paragraph", near_min_words=10) == (
        "kept 2 of 3 paragraphs (66.7%): removed 1 exact and 0 near duplicates in 1 clusters; "
        "3 under 10 words were checked for exact duplicates only")
