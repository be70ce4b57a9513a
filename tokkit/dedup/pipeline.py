"""The local engine: two streaming passes over the corpus with clustering in between.

Pass 1 reads documents in batches and turns each batch into exact keys and MinHash signatures
(:func:`compute_features`), appending the signatures to a file: memory holds one batch of text
and, for the whole corpus, only ids, lengths, keys and signatures. Clustering
(:func:`cluster_documents`) works on those arrays alone. Pass 2 reads the corpus again and writes
each input file's kept documents in its own format. Both stage functions are pure (arrays in,
arrays out), so a cluster engine can run them on partitions and get the same result.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.atomic import atomic_dir
from tokkit.corpus.readers import ReadStats, iter_files
from tokkit.corpus.writers import SEPARATORS, DocumentWriter
from tokkit.dedup.clusters import (
    choose_kept,
    connected_components,
    verify_pairs,
    verify_pairs_exact,
)
from tokkit.dedup.config import DedupConfig, EncodingFallback
from tokkit.dedup.lsh import band_keys, candidate_pairs
from tokkit.dedup.normalize import EXACT_DIGEST_BYTES, exact_key
from tokkit.dedup.reading import (
    file_format,
    find_legacy_files,
    open_decompressed,
    read_corpus,
    read_options_for,
    transcode_legacy,
)
from tokkit.dedup.shingles import has_words, hash_shingles
from tokkit.dedup.signatures import minhash_signatures, permutations
from tokkit.errors import InputError
from tokkit.progress import NULL_PROGRESS
from tokkit.resources import peak_rss_mb
from tokkit.types import Document, Progress

KEPT, EXACT, NEAR = 0, 1, 2
REASONS = {EXACT: "exact", NEAR: "near"}
SIGNATURES_FILE = ".signatures.u32"
SETS_FILE = ".shingle-sets.u32"
LEGACY_DIR = ".legacy-utf8"


@dataclass
class Features:
    """What dedup needs to know of a batch of documents (text no longer needed after this)."""

    keys: np.ndarray  # (n, 16) uint8: exact-dedup digests
    lengths: np.ndarray  # (n,) int64: characters
    signatures: np.ndarray  # (n, num_perm) uint32
    shingled: np.ndarray  # (n,) bool: has at least one shingle (else no near dedup)
    sets: np.ndarray | None = None  # sorted unique shingle hashes of every document, concatenated
    set_offsets: np.ndarray | None = None  # (n + 1,): document i's set is sets[o[i]:o[i+1]]


def shingle_sets(hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's sorted unique shingle hashes (one sort for the whole batch)."""
    n = len(offsets) - 1
    doc_of = np.repeat(np.arange(n, dtype=np.uint64), np.diff(offsets))
    keyed = np.sort((doc_of << np.uint64(32)) | hashes.astype(np.uint64))
    keyed = keyed[np.r_[True, keyed[1:] != keyed[:-1]]] if len(keyed) else keyed
    owner = (keyed >> np.uint64(32)).astype(np.int64)
    set_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=set_offsets[1:])
    return (keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32), set_offsets


def compute_features(texts: Sequence[str], config: DedupConfig) -> Features:
    """Stage 1, documents → exact keys and signatures; pure, for any batch of texts."""
    nfkc = [unicodedata.normalize("NFKC", t) for t in texts]
    keys = np.frombuffer(b"".join(exact_key(t, lowercase=config.lowercase, nfkc_done=True)
                                  for t in nfkc),
                         dtype=np.uint8).reshape(len(texts), EXACT_DIGEST_BYTES)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    perms = permutations(config.num_perm, config.seed)
    if config.near:
        # texts under near_min_words take no part in near dedup: they are not even shingled
        long = [has_words(t, config.near_min_words) for t in nfkc]
        hashes, offsets = hash_shingles([t if ok else "" for t, ok in zip(texts, long, strict=True)],
                                        config.unit, ngram=config.ngram, cjk_ratio=config.cjk_ratio,
                                        folded=[t.casefold() if ok else "" for t, ok in zip(nfkc, long, strict=True)])
        sigs = minhash_signatures(hashes, offsets, perms)
        shingled = np.diff(offsets) > 0
        sets, set_offsets = shingle_sets(hashes, offsets) if config.verify == "exact" else (None, None)
    else:
        sigs = np.zeros((len(texts), config.num_perm), dtype=np.uint32)
        shingled = np.zeros(len(texts), dtype=bool)
        sets = set_offsets = None
    return Features(keys=keys, lengths=lengths, signatures=sigs, shingled=shingled, sets=sets,
                    set_offsets=set_offsets)


@dataclass
class Clustering:
    """Stage 2's result: for every document, its cluster, the one kept, and why it goes.

    Clusters are connected components, so a document can join through a chain of near
    duplicates; its ``similarity`` to the kept document may then be below the threshold.
    """

    labels: np.ndarray  # smallest document index of the cluster
    kept: np.ndarray  # index of the document its cluster keeps
    reason: np.ndarray  # KEPT, EXACT or NEAR
    similarity: np.ndarray  # estimated Jaccard to the kept document (1.0 for exact)
    bands: int
    rows: int
    candidate_pairs: int
    verified_pairs: int
    exact_pairs: int


def exact_pairs(keys: np.ndarray) -> np.ndarray:
    """(first, other) for every document whose exact key an earlier document has."""
    if len(keys) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    _, first, inverse = np.unique(np.ascontiguousarray(keys).view(f"V{keys.shape[1]}").ravel(),
                                  return_index=True, return_inverse=True)
    root = first[inverse.ravel()]
    dup = np.flatnonzero(root != np.arange(len(keys)))
    return np.stack([root[dup], dup], axis=1).astype(np.int64)


def cluster_documents(features: Features, config: DedupConfig, *,
                      progress: Progress = NULL_PROGRESS, chunk: int = 100_000) -> Clustering:
    """Stage 2, signatures → band keys → candidate pairs → verified pairs → clusters → kept."""
    n = len(features.lengths)
    bands, rows = config.lsh_params()
    eligible = np.asarray(features.lengths) >= config.min_length
    pairs = []
    if config.exact:
        candidates_exact = np.flatnonzero(eligible)
        found = exact_pairs(features.keys[candidates_exact])
        pairs.append(candidates_exact[found] if len(found) else found)
    n_exact = len(pairs[0]) if pairs else 0
    n_candidates = n_verified = 0
    sigs = features.signatures
    if config.near:
        docs = np.flatnonzero(features.shingled & eligible)
        task = progress.task("clustering: LSH bands", total=len(docs))
        parts = []
        for lo in range(0, len(docs), chunk):
            parts.append(band_keys(np.asarray(sigs[docs[lo : lo + chunk]]), bands, rows))
            task.advance(min(chunk, len(docs) - lo))
        keys = np.concatenate(parts) if parts else np.zeros((0, bands), dtype=np.uint64)
        candidates = candidate_pairs(keys, docs)
        if config.verify == "exact":
            if features.sets is None or features.set_offsets is None:
                raise ValueError("verify='exact' needs the shingle sets (compute_features with it)")
            verified, _ = verify_pairs_exact(candidates, features.sets, features.set_offsets,
                                             config.threshold)
        else:
            verified, _ = verify_pairs(candidates, sigs, config.threshold)
        n_candidates, n_verified = len(candidates), len(verified)
        pairs.append(verified)
    labels = connected_components(n, np.concatenate(pairs) if pairs else np.zeros((0, 2)))
    kept = choose_kept(labels, features.lengths, config.keep)
    reason = np.full(n, KEPT, dtype=np.int8)
    similarity = np.ones(n)
    gone = np.flatnonzero(kept != np.arange(n))
    if len(gone):
        same = (features.keys[gone] == features.keys[kept[gone]]).all(axis=1)
        reason[gone] = np.where(same, EXACT, NEAR)
        near = gone[~same]
        if len(near):
            similarity[near] = (sigs[near] == sigs[kept[near]]).mean(axis=1)
    return Clustering(labels=labels, kept=kept, reason=reason, similarity=similarity, bands=bands,
                      rows=rows, candidate_pairs=n_candidates, verified_pairs=n_verified,
                      exact_pairs=n_exact)


@dataclass
class DedupReport:
    """What a run did: the manifest's figures plus timing (kept out of the manifest)."""

    output: Path
    manifest: dict[str, Any]
    seconds: float = 0.0
    pass1_seconds: float = 0.0
    cluster_seconds: float = 0.0
    pass2_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    legacy_files: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.manifest["counts"]
        return counts


def relative_outputs(files: Sequence[Path]) -> list[Path]:
    """Output path of each input file: relative to the inputs' deepest common folder."""
    parents = [str(p.resolve().parent) for p in files]
    common = Path(os.path.commonpath(parents)) if parents else Path()
    return [p.resolve().relative_to(common) for p in files]


def write_kept_file(src_path: Path, dst: Path, fmt: str, kept_ids: set[str],
                     docs: Iterable[Document], separator: str) -> int:
    """Write one input file's kept documents in its format; returns documents written.

    jsonl lines and parquet rows are copied from the input (every field kept, byte for byte for
    jsonl); text files are rebuilt from the kept documents (``docs``, read lazily).
    """
    if fmt in (".jsonl", ".ndjson") or (fmt == ".json" and not _is_json_array(src_path)):
        with DocumentWriter(dst, "jsonl") as writer, open_decompressed(src_path) as src:
            for index, line in enumerate(src):
                if f"{src_path}:{index}" in kept_ids:
                    writer.write_raw(line if line.endswith(b"\n") else line + b"\n")
        return writer.count
    if fmt == ".json":
        with DocumentWriter(dst, "jsonl") as writer:
            with open_decompressed(src_path) as src:
                records = json.loads(src.read().decode("utf-8-sig", "replace"))
            for index, record in enumerate(records):
                if f"{src_path}:{index}" in kept_ids:
                    writer.write_record(record)
        return writer.count
    if fmt == ".parquet":
        import pyarrow.parquet as pq

        with DocumentWriter(dst, "parquet") as writer:
            pf = pq.ParquetFile(src_path)
            row = 0
            for batch in pf.iter_batches(batch_size=8192):
                mask = [f"{src_path}:{row + i}" in kept_ids for i in range(batch.num_rows)]
                row += batch.num_rows
                import pyarrow as pa

                writer.write_table(pa.Table.from_batches([batch.filter(pa.array(mask))]))
        return writer.count
    with DocumentWriter(dst, "txt", separator=separator) as writer:
        for doc in docs:
            if doc.id in kept_ids:
                writer.write(doc)
    return writer.count


def _is_json_array(path: Path) -> bool:
    with open_decompressed(path) as src:
        head = src.read(64)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def write_removed_and_manifest(directory: Path, *, ids: Sequence[str] | np.ndarray,
                               clustering: Clustering, documents: int, config: DedupConfig,
                               paths: Sequence[str | Path], files: Sequence[Path],
                               legacy_files: Sequence[Path], text_field: str,
                               encoding_errors: EncodingFallback, split: str, stats: ReadStats,
                               without_shingles: int, bytes_: dict[str, int],
                               file_rows: list[dict[str, Any]],
                               engine: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``removed.jsonl`` and ``manifest.json``; one writer so every engine's output matches.

    ``ids`` and ``clustering`` cover the same documents (all of them, or only those that could
    have a twin); ``documents`` counts the whole corpus. Returns the manifest; ``engine``, if
    given, is its last entry.
    """
    gone = clustering.reason != KEPT
    cluster_of = {root: c for c, root in enumerate(np.unique(clustering.labels[gone]).tolist())}
    with open(directory / "removed.jsonl", "w", encoding="utf-8") as f:
        for i in np.flatnonzero(gone).tolist():
            record = {"id": str(ids[i]), "cluster": cluster_of[int(clustering.labels[i])],
                      "kept": str(ids[int(clustering.kept[i])]),
                      "similarity": round(float(clustering.similarity[i]), 4),
                      "reason": REASONS[int(clustering.reason[i])]}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    removed = int(gone.sum())
    counts = {
        "files": len(files),
        "documents": documents,
        "kept": documents - removed,
        "removed": removed,
        "removed_exact": int((clustering.reason == EXACT).sum()),
        "removed_near": int((clustering.reason == NEAR).sum()),
        "clusters": len(cluster_of),
        "exact_pairs": clustering.exact_pairs,
        "candidate_pairs": clustering.candidate_pairs,
        "verified_pairs": clustering.verified_pairs,
        "without_shingles": without_shingles if config.near else 0,
        "legacy_decoded_files": len(legacy_files),
    }
    from tokkit import __version__

    bands, rows = config.lsh_params()
    manifest = {
        "kind": "dedup",
        "tokkit_version": __version__,
        "config": config.to_dict(),
        "lsh": {"bands": bands, "rows": rows},
        "read": {"inputs": [str(p) for p in paths], "text_field": text_field,
                 "encoding_errors": encoding_errors, "split": split,
                 "legacy_decoded": [str(p) for p in legacy_files],
                 **{k: v for k, v in vars(stats).items() if k.startswith("skipped_") and k != "skipped_paths"},
                 "skipped_paths": stats.skipped_paths},
        "counts": counts,
        "bytes": bytes_,
        "files": file_rows,
    }
    if engine is not None:
        manifest["engine"] = engine
    with open(directory / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return manifest


def dedup_corpus(paths: Sequence[str | Path], output: str | Path, *,
                 config: DedupConfig | None = None, text_field: str = "text",
                 encoding_errors: EncodingFallback = "strict", force: bool = False,
                 progress: Progress = NULL_PROGRESS) -> DedupReport:
    """Remove exact and near duplicates from ``paths``; write the kept corpus to ``output``.

    ``output`` receives each input file's kept documents (same relative path and format),
    ``removed.jsonl`` and ``manifest.json``, all at once or not at all.
    """
    config = (config or DedupConfig()).check()
    started = time.perf_counter()
    stats = ReadStats()
    files = list(iter_files(paths, stats))
    if not files:
        raise InputError(f"{', '.join(map(str, paths))}: no txt/jsonl/json/parquet files to deduplicate")
    options = read_options_for(config, text_field, encoding_errors)
    split = options.split
    total_bytes = sum(p.stat().st_size for p in files)
    legacy_files = find_legacy_files(files, encoding_errors)

    with atomic_dir(output, force=force, inputs=paths) as tmp:
        legacy = {p: transcode_legacy(p, tmp / LEGACY_DIR, i) for i, p in enumerate(legacy_files)}
        # ---- pass 1: documents → keys + signatures (signatures streamed to disk)
        ids: list[str] = []
        file_of: list[int] = []
        keys, lengths, shingled, set_sizes = [], [], [], []
        text_bytes = 0
        task = progress.task("pass 1/2: signatures", total=total_bytes, unit="bytes")
        sig_path = tmp / SIGNATURES_FILE
        batch: list[str] = []
        batch_chars = 0
        sets_path = tmp / SETS_FILE
        with open(sig_path, "wb") as sig_file, open(sets_path, "wb") as sets_file:

            def flush() -> None:
                nonlocal batch, batch_chars
                if batch:
                    feats = compute_features(batch, config)
                    feats.signatures.tofile(sig_file)
                    keys.append(feats.keys)
                    lengths.append(feats.lengths)
                    shingled.append(feats.shingled)
                    if feats.sets is not None and feats.set_offsets is not None:
                        feats.sets.tofile(sets_file)
                        set_sizes.append(np.diff(feats.set_offsets))
                batch, batch_chars = [], 0

            for index, doc in read_corpus(files, options, stats=stats, legacy=legacy,
                                          progress=task):
                ids.append(doc.id)
                file_of.append(index)
                batch.append(doc.text)
                batch_chars += len(doc.text)
                text_bytes += len(doc.text.encode("utf-8", "surrogatepass"))
                if len(batch) >= config.batch_docs or batch_chars >= config.batch_chars:
                    flush()
            flush()
        n = len(ids)
        if n == 0:
            raise InputError(
                f"{', '.join(map(str, paths))}: no documents to deduplicate (all files empty or skipped)"
            )
        pass1 = time.perf_counter()
        sigs = np.memmap(sig_path, dtype=np.uint32, mode="r", shape=(n, config.num_perm))
        features = Features(keys=np.concatenate(keys), lengths=np.concatenate(lengths),
                            signatures=sigs, shingled=np.concatenate(shingled))
        if set_sizes:
            features.set_offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.concatenate(set_sizes), out=features.set_offsets[1:])
            total_sets = int(features.set_offsets[-1])
            features.sets = (np.memmap(sets_path, dtype=np.uint32, mode="r", shape=(total_sets,))
                             if total_sets else np.zeros(0, dtype=np.uint32))
        clustering = cluster_documents(features, config, progress=progress)
        clustered = time.perf_counter()

        # ---- pass 2: write kept documents per input file, in the input's format
        keep_mask = clustering.reason == KEPT
        kept_ids: list[set[str]] = [set() for _ in files]
        per_file_docs = np.bincount(np.asarray(file_of, dtype=np.int64), minlength=len(files))
        for i in np.flatnonzero(keep_mask).tolist():
            kept_ids[file_of[i]].add(ids[i])
        rel = relative_outputs(files)
        task = progress.task("pass 2/2: writing kept", total=total_bytes, unit="bytes")
        separator = SEPARATORS[split]
        file_rows = []
        bytes_out = 0
        for index, path in enumerate(files):
            written = 0
            if kept_ids[index]:
                docs = (doc for _, doc in read_corpus([path], options, stats=ReadStats(),
                                                      legacy=legacy))
                written = write_kept_file(path, tmp / rel[index], file_format(path)[0],
                                           kept_ids[index], docs, separator)
                bytes_out += (tmp / rel[index]).stat().st_size
            task.advance(path.stat().st_size)
            file_rows.append({"input": str(path), "output": str(rel[index]) if written else None,
                              "documents": int(per_file_docs[index]), "kept": written})
        without_shingles = int((~features.shingled).sum())
        del sigs, features  # release the memmaps before their files go
        sig_path.unlink()
        sets_path.unlink()
        shutil.rmtree(tmp / LEGACY_DIR, ignore_errors=True)

        manifest = write_removed_and_manifest(
            tmp, ids=ids, clustering=clustering, documents=n, config=config, paths=paths,
            files=files, legacy_files=legacy_files, text_field=text_field,
            encoding_errors=encoding_errors, split=split, stats=stats,
            without_shingles=without_shingles,
            bytes_={"in": total_bytes, "out": bytes_out, "text_in": text_bytes}, file_rows=file_rows)
    done = time.perf_counter()
    return DedupReport(output=Path(output), manifest=manifest, seconds=done - started,
                       pass1_seconds=pass1 - started, cluster_seconds=clustered - pass1,
                       pass2_seconds=done - clustered, peak_rss_mb=peak_rss_mb(children=False),
                       legacy_files=[str(p) for p in legacy_files])
