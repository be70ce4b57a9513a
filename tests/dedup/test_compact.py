"""Dedup's compact per-document state (issue 12.7): each fast piece against its plain reference,
and the memory a corpus of many small documents costs."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tokkit.corpus.readers import ReadOptions, read_batches, read_documents
from tokkit.dedup.ids import WHOLE_FILE, DocumentIds, KeptRecords
from tokkit.dedup.lsh import bucket_pairs, candidate_pairs_by_band, shared_keys, unique_pairs
from tokkit.dedup.normalize import exact_key, exact_keys
from tokkit.dedup.pipeline import _batches, _removed_line, dedup_corpus, exact_pairs


def _exact_pairs_reference(keys: np.ndarray) -> np.ndarray:
    """The whole-array version exact_pairs replaced (np.unique over 16-byte keys)."""
    _, first, inverse = np.unique(np.ascontiguousarray(keys).view("V16").ravel(),
                                  return_index=True, return_inverse=True)
    root = first[inverse.ravel()]
    dup = np.flatnonzero(root != np.arange(len(keys)))
    return np.stack([root[dup], dup], axis=1).astype(np.int64)


def test_exact_pairs_equal_the_whole_array_reference() -> None:
    rng = np.random.default_rng(3)
    distinct = rng.integers(0, 256, size=(500, 16), dtype=np.uint8)
    distinct[:50, :8] = distinct[0, :8]  # equal first halves, different second halves
    distinct[50:100, 0] = 7  # one crowded first-byte group
    keys = distinct[rng.integers(0, 500, size=4000)]
    assert np.array_equal(exact_pairs(keys), _exact_pairs_reference(keys))
    assert exact_pairs(keys[:1]).shape == (0, 2) and exact_pairs(keys[:0]).shape == (0, 2)


def test_band_by_band_pairs_equal_all_bands_at_once() -> None:
    rng = np.random.default_rng(4)
    keys = rng.integers(0, 40, size=(600, 6)).astype(np.uint64)
    docs = np.sort(rng.choice(10_000, size=600, replace=False))
    everything = unique_pairs(np.concatenate([bucket_pairs(keys[:, b], docs) for b in range(6)]))
    assert np.array_equal(candidate_pairs_by_band(lambda b: keys[:, b], 6, docs, 600), everything)
    shared = shared_keys(keys[:, 0])
    counts = {k: int((keys[:, 0] == k).sum()) for k in keys[:, 0].tolist()}
    assert shared.tolist() == [counts[k] > 1 for k in keys[:, 0].tolist()]


def test_exact_keys_equal_one_key_at_a_time() -> None:
    texts = ["\ufeffＨｅｌｌｏ,\r\n  world ", "Hello, world", "", "  ", "ǅ İ ß", "a\ud800b", "天下 大势"]
    for lowercase in (False, True):
        for nfkc_done in (False, True):
            assert exact_keys(texts, lowercase=lowercase, nfkc_done=nfkc_done) == b"".join(
                exact_key(t, lowercase=lowercase, nfkc_done=nfkc_done) for t in texts)


@pytest.mark.parametrize("name", ["plain", 'quote " and \\ backslash', "new\nline\ttab\x01", "天下 🌍", "\u2028"])
def test_removed_line_is_what_json_dumps_writes(name: str) -> None:
    for similarity in (1.0, 0.80000001, 0.123456, 0.0):
        record = {"id": f"{name}:3", "cluster": 12, "kept": f"{name}:0", "similarity": round(similarity, 4),
                  "reason": "near"}
        assert _removed_line(f"{name}:3", 12, f"{name}:0", similarity, "near") == \
            json.dumps(record, ensure_ascii=False) + "\n"


def test_document_ids_are_read_documents_ids(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n\n{"text": null}\n{"text": "y"}\n', encoding="utf-8")
    (tmp_path / "b.txt").write_text("one\n\ntwo\n\n\nthree\n", encoding="utf-8")
    (tmp_path / "c:odd name.txt").write_text("whole", encoding="utf-8")
    for split in ("paragraph", "file"):
        options = ReadOptions(split=split)  # type: ignore[arg-type]
        expected = [d.id for d in read_documents([tmp_path], options)]
        sources, counts, numbers = [], [], []
        for path, found, texts in read_batches([tmp_path], options):
            if not sources or sources[-1] != str(path):
                sources.append(str(path))
                counts.append(0)
            counts[-1] += len(texts)
            numbers.extend([WHOLE_FILE] if found is None else found)
        ids = DocumentIds(sources, counts, np.asarray(numbers))
        assert [ids[i] for i in range(len(ids))] == expected
        assert ids.strings(np.arange(len(ids))[::-1]) == expected[::-1]
        assert ids.take(np.array([2, 0])).strings(np.array([1, 0])) == [expected[0], expected[2]]


def test_kept_records_answer_membership_like_a_set() -> None:
    numbers = np.array([0, 2, 3, 7, 8])
    kept = KeptRecords(numbers, np.array([True, False, True, True, False]))
    assert [i for i in range(-2, 12) if i in kept] == [0, 3, 7]
    assert bool(kept) and kept.count == 3 and "3" not in kept
    whole = KeptRecords(np.array([WHOLE_FILE]), np.array([True]))
    assert WHOLE_FILE in whole and 0 not in whole
    assert not KeptRecords(numbers, np.zeros(5, dtype=bool))


def test_regrouped_batches_are_the_one_by_one_batches() -> None:
    from tokkit.dedup.config import DedupConfig

    rng = np.random.default_rng(5)
    batches, flat = [], []
    for file in range(4):
        for _ in range(int(rng.integers(1, 6))):
            texts = ["x" * int(n) for n in rng.integers(1, 40, size=int(rng.integers(1, 30)))]
            numbers = list(range(len(flat), len(flat) + len(texts)))
            batches.append((file, numbers, texts))
            flat.extend((file, n, t) for n, t in zip(numbers, texts, strict=True))
    for docs, chars in ((1, 10**6), (7, 10**6), (1000, 55), (5, 100), (1000, 1)):
        config = DedupConfig(batch_docs=docs, batch_chars=chars)
        expected, current, group, size = [], -1, [], 0
        for file, number, text in flat:  # the rule, one document at a time
            if file != current and group:
                expected.append(group)
                group, size = [], 0
            current = file
            group.append((file, number, text))
            size += len(text)
            if len(group) >= docs or size >= chars:
                expected.append(group)
                group, size = [], 0
        if group:
            expected.append(group)
        got = [[(f, int(n), t) for n, t in zip(numbers, texts, strict=True)]
               for f, numbers, texts in _batches(iter(batches), config)]
        assert got == expected


def _small_docs(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"text": f"word{i % (n * 3 // 4)}"}) + "\n")
    return path


def test_many_small_documents_cost_tens_of_bytes_each(tmp_path: Path) -> None:
    """Was ~300 bytes a document (an id string, a set entry, a dict entry per cluster, a 512-byte
    signature written for every document): 2 M one-word records took 0.66 GiB, and 40,000 of
    them 11 MB traced here. Now the arrays dedup keeps (digest, record number, the clustering of
    the twins) are ~60 bytes a document plus a batch's working memory (a few MB);
    benchmarks/bench_dedup_small_docs.py measures the whole process."""
    n = 40_000
    corpus = _small_docs(tmp_path / "words.jsonl", n)
    dedup_corpus([corpus], tmp_path / "warm")  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        report = dedup_corpus([corpus], tmp_path / "out")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.counts["removed_exact"] == n // 4
    assert peak < 4e6 + 50 * n, f"{peak / 1e6:.1f} MB traced for {n:,} documents"
