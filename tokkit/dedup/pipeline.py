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
from bisect import bisect_left
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from json.encoder import encode_basestring as _json_string  # what json.dumps uses
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.atomic import atomic_dir
from tokkit.corpus.readers import ReadOptions, ReadStats, iter_files
from tokkit.corpus.writers import SEPARATORS, DocumentWriter
from tokkit.dedup.clusters import (
    choose_kept,
    connected_components,
    verify_pairs,
    verify_pairs_exact,
)
from tokkit.dedup.config import DedupConfig, EncodingFallback
from tokkit.dedup.corpus_features import CorpusColumns, FeatureSpool
from tokkit.dedup.ids import WHOLE_FILE, DocumentIds, IdLookup, KeptRecords, document_id, id_strings
from tokkit.dedup.lsh import band_keys, candidate_pairs, candidate_pairs_by_band, shared_keys
from tokkit.dedup.normalize import EXACT_DIGEST_BYTES, exact_keys
from tokkit.dedup.reading import (
    file_format,
    find_legacy_files,
    open_decompressed,
    read_corpus_batches,
    read_options_for,
    transcode_legacy,
)
from tokkit.dedup.shingles import has_words, hash_shingles
from tokkit.dedup.signatures import SignatureSource, minhash_signatures, permutations
from tokkit.errors import InputError
from tokkit.progress import NULL_PROGRESS
from tokkit.resources import peak_rss_mb
from tokkit.types import Document, Progress

KEPT, EXACT, NEAR = 0, 1, 2
REASONS = {EXACT: "exact", NEAR: "near"}
LEGACY_DIR = ".legacy-utf8"


@dataclass
class Features:
    """What dedup needs to know of a batch of documents (text no longer needed after this)."""

    keys: np.ndarray  # (n, 16) uint8: exact-dedup digests
    lengths: np.ndarray  # (n,) int64: characters
    signatures: np.ndarray | SignatureSource  # (n, num_perm) uint32, or rows read on demand
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
    keys = np.frombuffer(exact_keys(nfkc, lowercase=config.lowercase, nfkc_done=True),
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
    """(first, other) for every document whose exact key an earlier document has, by ``other``.

    The keys are split by their first byte (256 groups) and each group sorted on its own: the
    extra memory is a group's, not a sort of every 16-byte key at once.
    """
    n = len(keys)
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    keys = np.ascontiguousarray(keys, dtype=np.uint8).reshape(n, EXACT_DIGEST_BYTES)
    words = keys.view(np.uint64)  # (n, 2): the digest as two integers
    lead = keys[:, 0].copy()
    found = []
    for group in np.unique(lead).tolist():
        members = np.flatnonzero(lead == group)
        if len(members) < 2:
            continue
        sub = words[members]
        order = np.lexsort((sub[:, 1], sub[:, 0]))  # stable: equal keys stay in document order
        sorted_sub = sub[order]
        new_key = np.r_[True, (sorted_sub[1:] != sorted_sub[:-1]).any(axis=1)]
        first = np.maximum.accumulate(np.where(new_key, np.arange(len(order)), 0))
        dup = np.flatnonzero(~new_key)
        if len(dup):
            found.append(np.stack([members[order[first[dup]]], members[order[dup]]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    return pairs[np.argsort(pairs[:, 1], kind="stable")].astype(np.int64)


def cluster_documents(features: Features, config: DedupConfig, *,
                      progress: Progress = NULL_PROGRESS, chunk: int = 100_000,
                      band_keys_of: Callable[[int, np.ndarray], np.ndarray] | None = None) -> Clustering:
    """Stage 2, signatures → band keys → candidate pairs → verified pairs → clusters → kept.

    ``features.signatures`` may be an array or anything giving rows for an index array (rows
    are read a chunk at a time). ``band_keys_of(band, docs)``, if given, returns band ``band``'s
    LSH keys of documents ``docs`` (already computed, e.g. in pass 1), else they are computed
    from the signatures.
    """
    n = len(features.lengths)
    bands, rows = config.lsh_params()
    eligible = np.asarray(features.lengths) >= config.min_length
    pairs = []
    if config.exact:
        if eligible.all():
            pairs.append(exact_pairs(features.keys))
        else:
            candidates_exact = np.flatnonzero(eligible)
            found = exact_pairs(features.keys[candidates_exact])
            pairs.append(candidates_exact[found] if len(found) else found)
            del candidates_exact, found
    n_exact = len(pairs[0]) if pairs else 0
    n_candidates = n_verified = 0
    sigs = features.signatures
    if config.near:
        docs = np.flatnonzero(features.shingled & eligible)
        if band_keys_of is None:
            task = progress.task("clustering: LSH bands", total=len(docs))
            parts = []
            for lo in range(0, len(docs), chunk):
                parts.append(band_keys(np.asarray(sigs[docs[lo : lo + chunk]]), bands, rows))
                task.advance(min(chunk, len(docs) - lo))
            keys = np.concatenate(parts) if parts else np.zeros((0, bands), dtype=np.uint64)
            candidates = candidate_pairs(keys, docs)
            del keys, parts
        else:
            task = progress.task("clustering: LSH bands", total=bands)

            def keys_of(band: int) -> np.ndarray:
                task.advance(1)
                return band_keys_of(band, docs)

            candidates = candidate_pairs_by_band(keys_of, bands, docs, len(docs))
        if config.verify == "exact":
            if features.sets is None or features.set_offsets is None:
                raise ValueError("verify='exact' needs the shingle sets (compute_features with it)")
            verified, _ = verify_pairs_exact(candidates, features.sets, features.set_offsets,
                                             config.threshold)
        else:
            verified, _ = verify_pairs(candidates, sigs, config.threshold)
        n_candidates, n_verified = len(candidates), len(verified)
        pairs.append(verified)
    labels = connected_components(n, pairs[0] if len(pairs) == 1 else
                                  np.concatenate(pairs) if pairs else np.zeros((0, 2)))
    del pairs
    kept = choose_kept(labels, features.lengths, config.keep)
    reason = np.full(n, KEPT, dtype=np.int8)
    similarity = np.ones(n)
    gone = np.flatnonzero(kept != np.arange(n))
    for lo in range(0, len(gone), 8192):  # (two signatures a document: 8 MiB at a time)
        part = gone[lo : lo + 8192]
        same = (features.keys[part] == features.keys[kept[part]]).all(axis=1)
        reason[part] = np.where(same, EXACT, NEAR)
        near = part[~same]
        if len(near):
            similarity[near] = (np.asarray(sigs[near]) == np.asarray(sigs[kept[near]])).mean(axis=1)
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


def write_kept_file(src_path: Path, dst: Path, fmt: str, kept: Container[int],
                    docs: Iterable[tuple[int, str]], separator: str) -> int:
    """Write one input file's kept documents in its format; returns documents written.

    ``kept`` holds the record numbers that stay (the ``n`` of the ids ``<path>:<n>``,
    :data:`~tokkit.dedup.ids.WHOLE_FILE` for a whole-file document; e.g. a
    :class:`~tokkit.dedup.ids.KeptRecords`). jsonl lines and parquet rows are copied from the
    input (every field kept, byte for byte for jsonl); text files are rebuilt from ``docs``,
    the file's ``(record number, text)`` in reading order (read lazily).
    """
    if fmt in (".jsonl", ".ndjson") or (fmt == ".json" and not _is_json_array(src_path)):
        with DocumentWriter(dst, "jsonl") as writer, open_decompressed(src_path) as src:
            first = 0
            while lines := src.readlines(1 << 20):
                for index, line in enumerate(lines, first):
                    if index in kept:
                        writer.write_raw(line if line.endswith(b"\n") else line + b"\n")
                first += len(lines)
        return writer.count
    if fmt == ".json":
        with DocumentWriter(dst, "jsonl") as writer:
            with open_decompressed(src_path) as src:
                records = json.loads(src.read().decode("utf-8-sig", "replace"))
            for index, record in enumerate(records):
                if index in kept:
                    writer.write_record(record)
        return writer.count
    if fmt == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        with DocumentWriter(dst, "parquet") as writer:
            pf = pq.ParquetFile(src_path)
            row = 0
            for batch in pf.iter_batches(batch_size=8192):
                mask = [row + i in kept for i in range(batch.num_rows)]
                row += batch.num_rows
                writer.write_table(pa.Table.from_batches([batch.filter(pa.array(mask))]))
        return writer.count
    source = str(src_path)
    with DocumentWriter(dst, "txt", separator=separator) as writer:
        for number, text in docs:
            if number in kept:
                writer.write(Document(id=document_id(source, number), text=text, source=source))
    return writer.count


def _is_json_array(path: Path) -> bool:
    with open_decompressed(path) as src:
        head = src.read(64)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def _removed_line(name: str, cluster: int, kept: str, similarity: float, reason: str) -> str:
    """One line of ``removed.jsonl``: what ``json.dumps`` of the record gives (``ensure_ascii=False``,
    default separators), a tenth of its cost (tested equal)."""
    return (f'{{"id": {_json_string(name)}, "cluster": {cluster}, "kept": {_json_string(kept)}, '
            f'"similarity": {float.__repr__(round(similarity, 4))}, "reason": "{reason}"}}\n')


def write_removed_and_manifest(directory: Path, *, ids: IdLookup,
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
    gone = np.flatnonzero(clustering.reason != KEPT)
    roots = np.unique(clustering.labels[gone])
    with open(directory / "removed.jsonl", "w", encoding="utf-8") as f:
        for lo in range(0, len(gone), 8192):  # arrays by the chunk, not a dict per cluster
            part = gone[lo : lo + 8192]
            clusters = np.searchsorted(roots, clustering.labels[part]).tolist()
            names, twins = id_strings(ids, part), id_strings(ids, clustering.kept[part])
            reasons = [REASONS[r] for r in clustering.reason[part].tolist()]
            f.writelines(_removed_line(name, cluster, twin, similarity, reason)
                         for name, cluster, twin, similarity, reason in zip(
                             names, clusters, twins, clustering.similarity[part].tolist(), reasons,
                             strict=True))
    removed = len(gone)
    counts = {
        "files": len(files),
        "documents": documents,
        "kept": documents - removed,
        "removed": removed,
        "removed_exact": int((clustering.reason == EXACT).sum()),
        "removed_near": int((clustering.reason == NEAR).sum()),
        "clusters": len(roots),
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
        # ---- pass 1: documents → fixed-width features per document, spooled to disk
        spool = FeatureSpool(tmp, config)
        text_bytes = 0
        task = progress.task("pass 1/2: signatures", total=total_bytes, unit="bytes")
        for index, numbers, texts in _batches(read_corpus_batches(files, options, stats=stats,
                                                                  legacy=legacy, progress=task),
                                              config):
            spool.add(index, numbers, compute_features(texts, config))
            joined = "".join(texts)
            text_bytes += len(joined) if joined.isascii() else len(joined.encode("utf-8", "surrogatepass"))
        columns = spool.finish(len(files))
        n = len(columns.numbers)
        if n == 0:
            raise InputError(
                f"{', '.join(map(str, paths))}: no documents to deduplicate (all files empty or skipped)"
            )
        pass1 = time.perf_counter()
        ids = DocumentIds([str(p) for p in files], columns.counts, columns.numbers)
        candidates, clustering = _cluster_candidates(spool, columns, config, progress)
        clustered = time.perf_counter()

        # ---- pass 2: write kept documents per input file, in the input's format
        keep = np.ones(n, dtype=bool)
        keep[candidates[clustering.reason != KEPT]] = False
        rel = relative_outputs(files)
        task = progress.task("pass 2/2: writing kept", total=total_bytes, unit="bytes")
        separator = SEPARATORS[split]
        file_rows = []
        bytes_out = 0
        for index, path in enumerate(files):
            written = 0
            kept = KeptRecords(ids.numbers_of(index), keep[ids.starts[index] : ids.starts[index + 1]])
            if kept:
                written = write_kept_file(path, tmp / rel[index], file_format(path)[0], kept,
                                          _numbered_texts(path, options, legacy), separator)
                bytes_out += (tmp / rel[index]).stat().st_size
            task.advance(path.stat().st_size)
            file_rows.append({"input": str(path), "output": str(rel[index]) if written else None,
                              "documents": columns.counts[index], "kept": written})
        without_shingles = n - len(columns.shingled_docs)
        del keep, columns
        spool.remove()
        shutil.rmtree(tmp / LEGACY_DIR, ignore_errors=True)

        manifest = write_removed_and_manifest(
            tmp, ids=ids.take(candidates), clustering=clustering, documents=n, config=config,
            paths=paths, files=files, legacy_files=legacy_files, text_field=text_field,
            encoding_errors=encoding_errors, split=split, stats=stats,
            without_shingles=without_shingles,
            bytes_={"in": total_bytes, "out": bytes_out, "text_in": text_bytes}, file_rows=file_rows)
    done = time.perf_counter()
    return DedupReport(output=Path(output), manifest=manifest, seconds=done - started,
                       pass1_seconds=pass1 - started, cluster_seconds=clustered - pass1,
                       pass2_seconds=done - clustered, peak_rss_mb=peak_rss_mb(children=False),
                       legacy_files=[str(p) for p in legacy_files])


def _batches(batches: Iterable[tuple[int, list[int] | None, list[str]]], config: DedupConfig
             ) -> Iterator[tuple[int, np.ndarray, list[str]]]:
    """The reader's batches regrouped to ``config.batch_docs`` documents or ``batch_chars``
    characters, never across files: ``(file index, record numbers, texts)``."""
    current = -1
    numbers: list[int] = []
    texts: list[str] = []
    chars = 0
    for index, found, batch in batches:
        if index != current and texts:
            yield current, np.asarray(numbers, dtype=np.int64), texts
            numbers, texts, chars = [], [], 0
        current = index
        found = [WHOLE_FILE] if found is None else found
        ends = list(accumulate(map(len, batch)))  # characters up to and including each text
        start = 0
        while start < len(batch):
            # the texts that still fit: up to batch_docs of them and the one crossing batch_chars
            room = min(len(batch), start + config.batch_docs - len(texts))
            base = ends[start - 1] if start else 0
            cut = bisect_left(ends, base + config.batch_chars - chars, start, room)
            stop = min(room, cut + 1)
            numbers.extend(found[start:stop])
            texts.extend(batch[start:stop])
            chars += ends[stop - 1] - base
            start = stop
            if len(texts) >= config.batch_docs or chars >= config.batch_chars:
                yield current, np.asarray(numbers, dtype=np.int64), texts
                numbers, texts, chars = [], [], 0
    if texts:
        yield current, np.asarray(numbers, dtype=np.int64), texts


def _numbered_texts(path: Path, options: ReadOptions, legacy: dict[Path, Path]
                    ) -> Iterator[tuple[int, str]]:
    """``(record number, text)`` of one file's documents, read again (for text files' pass 2)."""
    for _, numbers, texts in read_corpus_batches([path], options, stats=ReadStats(), legacy=legacy):
        yield from zip([WHOLE_FILE] if numbers is None else numbers, texts, strict=True)


def _cluster_candidates(spool: FeatureSpool, columns: CorpusColumns, config: DedupConfig,
                        progress: Progress) -> tuple[np.ndarray, Clustering]:
    """The documents that could have a twin, and their :func:`cluster_documents`.

    A document whose exact digest no other (eligible) document has, and that shares no LSH
    bucket with another, is kept alone whatever else happens; every bucket of two or more lies
    wholly among the others, which keep corpus order. So clustering only them gives the
    clusters, pairs, kept documents and similarities of clustering every document (as the Ray
    engine does, see :mod:`tokkit.engines.ray_dedup`), with memory for the twins only.
    """
    keys = spool.exact_keys()
    n = len(keys)
    lengths = spool.lengths_of() if config.min_length or config.keep == "longest" else None
    eligible = (lengths >= config.min_length) if lengths is not None and config.min_length else None
    twin = np.zeros(n, dtype=bool)
    if config.exact:
        among = np.flatnonzero(eligible) if eligible is not None else None
        pairs = exact_pairs(keys if among is None else keys[among])
        found = pairs.ravel() if among is None else among[pairs.ravel()]
        twin[found] = True
        del pairs, found
    shingled_docs = columns.shingled_docs
    if config.near and len(shingled_docs):
        rows = np.arange(len(shingled_docs)) if eligible is None else np.flatnonzero(eligible[shingled_docs])
        for band in range(spool.bands):
            twin[shingled_docs[rows[shared_keys(spool.band(band)[rows])]]] = True
    candidates = np.flatnonzero(twin)
    del twin
    m = len(candidates)
    shingled = columns.shingled[candidates]
    row_of = np.full(m, -1, dtype=np.int64) if shingled.any() else np.broadcast_to(np.int64(-1), (m,))
    if shingled.any():
        row_of[shingled] = np.searchsorted(shingled_docs, candidates[shingled])
    features = Features(keys=keys[candidates], signatures=spool.signature_rows(row_of),
                        # (lengths matter only for min_length and keep='longest')
                        lengths=(lengths[candidates] if lengths is not None
                                 else np.broadcast_to(np.int64(0), (m,))),
                        shingled=shingled)
    del keys, lengths, eligible
    if columns.set_offsets is not None:
        bounds = np.zeros((len(candidates), 2), dtype=np.int64)
        bounds[shingled, 0] = columns.set_offsets[row_of[shingled]]
        bounds[shingled, 1] = columns.set_offsets[row_of[shingled] + 1]
        features.sets, features.set_offsets = spool.sets_array(), bounds

    def band_keys_of(band: int, docs: np.ndarray) -> np.ndarray:
        return spool.band(band)[row_of[docs]]

    return candidates, cluster_documents(features, config, progress=progress,
                                         band_keys_of=band_keys_of)
