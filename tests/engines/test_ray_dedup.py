"""The Ray dedup engine against the local engine, byte for byte, on slices of the real corpora."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tokkit.dedup import DedupConfig, dedup_corpus
from tokkit.engines.ray_dedup import ray_dedup_corpus
from tokkit.engines.ray_runtime import RayOptions
from tokkit.errors import EncodingError, OutputExistsError, TokkitError

from .conftest import KillWorker

SMALL = RayOptions(partition_mb=0.02, shuffle_partitions=3)
PARAGRAPHS = DedupConfig(granularity="paragraph", min_length=120)  # short ones are never removed


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (relative path → bytes), manifest without its engine entry."""
    files = {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("engine", None)
    files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


def paragraphs(path: Path, start: int, count: int) -> list[str]:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    paras = [p.strip() for p in text.split("\n\n") if len(p.strip()) > 80]
    return paras[start : start + count]


@pytest.fixture(scope="module")
def mixed_corpus(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real paragraphs in txt, jsonl and parquet, with exact and edited copies across files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("mixed") / "corpus"
    moby = paragraphs(corpora / "en" / "moby_dick.txt", 100, 60)
    holmes = paragraphs(corpora / "en" / "sherlock_holmes.txt", 200, 40)
    zh = [line for line in (corpora / "zh" / "史记.txt").read_text(encoding="utf-8").splitlines()
          if len(line) > 40][:120]
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "moby.txt").write_text("\n\n".join(moby) + "\n", encoding="utf-8")
    edited = [p.replace("whale", "Whale").replace(" the ", " the  ") for p in moby[:30]] + moby[30:45]
    (root / "b" / "moby-edited.txt").write_text("\n\n".join(edited + holmes[:20]) + "\n", encoding="utf-8")
    records = [{"id": i, "text": t} for i, t in enumerate(zh[:80] + zh[:10] + holmes[10:25])]
    (root / "b" / "records.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    pq.write_table(pa.table({"text": zh[60:120] + holmes[30:40] + [zh[0] + "。"]}), root / "b" / "table.parquet")
    return root


@pytest.fixture(scope="module")
def local_mixed(mixed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    dedup_corpus([mixed_corpus], out, config=PARAGRAPHS)
    return out


def test_ray_dedup_equals_local_on_paragraphs_in_txt_jsonl_and_parquet(
    ray_instance: Any, mixed_corpus: Path, local_mixed: Path, tmp_path: Path
) -> None:
    report = ray_dedup_corpus([mixed_corpus], tmp_path / "ray", config=PARAGRAPHS,
                              options=SMALL)
    assert report.manifest["engine"]["partitions"] >= 3  # duplicates cross partition boundaries
    counts = report.counts
    assert counts["removed_exact"] >= 20 and counts["removed_near"] >= 5
    assert counts["candidate_pairs"] >= counts["verified_pairs"] > 0
    assert tree(tmp_path / "ray") == tree(local_mixed)
    assert sorted(p.name for p in (tmp_path / "ray").rglob("*")) == sorted(
        p.name for p in local_mixed.rglob("*"))  # no temp or feature files left behind


def test_ray_dedup_equals_local_on_book_editions_with_latin1(
    ray_instance: Any, corpora: Path, tmp_path: Path
) -> None:
    books = [corpora / "neardup" / "sherlock_holmes", corpora / "zh" / "三字经.txt"]
    config = DedupConfig(threshold=0.7, keep="longest")
    local = dedup_corpus(books, tmp_path / "local", config=config, encoding_errors="latin1")
    ray = ray_dedup_corpus(books, tmp_path / "ray", config=config, encoding_errors="latin1",
                           options=RayOptions(partition_mb=1.0))
    assert ray.manifest["engine"]["partitions"] >= 3
    assert local.counts["legacy_decoded_files"] == 2 and local.counts["kept"] == 2  # one book + 三字经
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")


def test_a_worker_killed_while_writing_is_retried_and_the_output_is_unchanged(
    ray_instance: Any, mixed_corpus: Path, local_mixed: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    ray_dedup_corpus([mixed_corpus], tmp_path / "ray", config=PARAGRAPHS,
                     options=SMALL, stage_hook=KillWorker(marker, "filter", partition=1))
    assert len(marker.read_text().split()) == 1  # the worker died once, the retry finished
    assert tree(tmp_path / "ray") == tree(local_mixed)


def test_a_worker_that_keeps_dying_fails_cleanly_without_output(
    ray_instance: Any, mixed_corpus: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    out = tmp_path / "out"
    with pytest.raises(TokkitError) as err:
        ray_dedup_corpus([mixed_corpus], out, config=PARAGRAPHS,
                         options=RayOptions(partition_mb=0.02, max_retries=1),
                         stage_hook=KillWorker(marker, "filter", partition=0, once=False))
    message = str(err.value)
    assert marker.exists(), message
    assert "\n" not in message and "nothing was written" in message and "`max_retries`" in message
    assert len(marker.read_text().split()) == 2  # first attempt + one retry
    assert not out.exists() and list(tmp_path.iterdir()) == [marker]


def test_bad_input_in_a_task_is_the_local_one_line_error(ray_instance: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("hello world " * 20, encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"caf\xe9 au lait " * 20)
    with pytest.raises(EncodingError) as ray_err:
        ray_dedup_corpus([corpus], tmp_path / "out", options=RayOptions(partition_mb=0.0001))
    with pytest.raises(EncodingError) as local_err:
        dedup_corpus([corpus], tmp_path / "out")
    assert str(ray_err.value) == str(local_err.value) and "bad.txt" in str(ray_err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


def test_an_existing_output_is_refused_before_ray_starts(tmp_path: Path, corpora: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(OutputExistsError):
        ray_dedup_corpus([corpora / "zh" / "三字经.txt"], tmp_path / "out")
