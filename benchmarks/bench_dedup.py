"""Dedup throughput: tokkit's batched MinHash beside datasketch's, measured in one run.

What is compared (num_perm 128, 5-gram shingles, seed 1, the same documents):

* shingling: the reference (Python lists of shingle strings, what one feeds datasketch) vs
  tokkit's batched ``hash_shingles`` (text → 32-bit shingle hashes with numpy);
* signatures with the same hash function, two ways:
  - sha1 (datasketch's default ``hashfunc``): ``MinHash.bulk`` on the shingle bytes vs tokkit
    hashing the same bytes with the same ``sha1_hash32`` and ``minhash_signatures``;
  - tokkit's shingle hash: ``MinHash.bulk`` on the precomputed hash values (``hashfunc=int``,
    datasketch's fastest path: nothing is rehashed) vs ``minhash_signatures`` on the same values;
  signatures are checked to be identical in both cases;
* a full ``dedup_corpus`` run over 100k paragraphs (English Gutenberg paragraphs + Chinese
  sentences from ../shared/corpora) in a child process: docs/s, MB/s and peak RSS.

Usage: python benchmarks/bench_dedup.py [--docs 10000] [--full 100000] [--corpora PATH]
Timings on a shared machine are noisy: the script repeats each measurement and keeps the best.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from harness import check_corpora, corpora_argument


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs; the CPU time of that run goes to :data:`LAST_CPU`."""
    global LAST_CPU
    best, result = float("inf"), None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = time.perf_counter() - start
        if wall < best:
            best, LAST_CPU = wall, time.process_time() - cpu
    return best, result


LAST_CPU = 0.0


def load_paragraphs(corpora: Path, n: int) -> list[str]:
    """English paragraphs and Chinese sentences, interleaved deterministically."""
    from tokkit.corpus.readers import ReadOptions, read_texts

    en = list(read_texts([corpora / "en"], ReadOptions(split="paragraph")))
    zh = list(read_texts([corpora / "zh"], ReadOptions(split="line")))
    need_zh = max(0, n - len(en))
    docs = en[:n] + zh[:need_zh]
    order = np.random.default_rng(0).permutation(len(docs))
    return [docs[i] for i in order]


def compare_signatures(docs: list[str], repeat: int) -> list[tuple[str, float, float, str]]:
    from datasketch import MinHash
    from datasketch.hashfunc import sha1_hash32

    from tokkit.dedup.shingles import choose_unit, hash_shingles, shingles
    from tokkit.dedup.signatures import minhash_signatures, permutations

    perms = permutations(128, 1)
    hash_shingles(docs[:10], "auto")  # one-time set-up (~0.3 s): character-class tables
    mb = sum(len(d.encode()) for d in docs) / 1e6
    units = [choose_unit(d) for d in docs]
    rows: list[tuple[str, float, float, str]] = []

    def ref_shingles() -> list[list[bytes]]:
        return [[s.encode() for s in shingles(d, ngram=5, unit=u)] for d, u in zip(docs, units, strict=True)]

    t_unit, _ = best_of(lambda: [choose_unit(d) for d in docs], repeat)
    c_unit = LAST_CPU
    t_ref, grams = best_of(ref_shingles, repeat)
    c_ref = LAST_CPU
    t_ours_sh, (hashes, offsets) = best_of(lambda: hash_shingles(docs, "auto", ngram=5), repeat)
    c_ours_sh = LAST_CPU
    n_sh = len(hashes)
    rows += [
        ("reference: auto unit per doc (choose_unit)", t_unit, c_unit, ""),
        ("reference: shingle strings (shingles)", t_ref, c_ref, ""),
        ("tokkit hash_shingles: text → hashes, auto unit included", t_ours_sh, c_ours_sh,
         f"x{(c_unit + c_ref) / c_ours_sh:.1f} vs reference (CPU)"),
    ]

    # --- same hash function: sha1_hash32 (datasketch's default)
    t_ds_sha1, ds_sha1 = best_of(lambda: MinHash.bulk(grams, num_perm=128, seed=1), repeat)
    c_ds_sha1 = LAST_CPU

    def ours_sha1() -> np.ndarray:
        hv = np.fromiter((sha1_hash32(g) for doc in grams for g in doc), dtype=np.uint32, count=n_sh)
        offs = np.cumsum([0] + [len(doc) for doc in grams])
        return minhash_signatures(hv, offs, perms)

    t_ours_sha1, sig_sha1 = best_of(ours_sha1, repeat)
    c_ours_sha1 = LAST_CPU
    assert all(np.array_equal(sig_sha1[i], m.hashvalues) for i, m in enumerate(ds_sha1)), "sha1 mismatch"
    rows += [
        ("sha1: datasketch MinHash.bulk (shingle bytes)", t_ds_sha1, c_ds_sha1, ""),
        ("sha1: tokkit (same sha1 per shingle + batched)", t_ours_sha1, c_ours_sha1,
         f"x{c_ds_sha1 / c_ours_sha1:.1f}, identical"),
    ]

    # --- same hash function: tokkit's shingle hash, values precomputed for both
    hv_lists = [hashes[offsets[i]: offsets[i + 1]].tolist() for i in range(len(docs))]
    t_ds_bulk, ds_bulk = best_of(lambda: MinHash.bulk(hv_lists, num_perm=128, seed=1, hashfunc=int), repeat)
    c_ds_bulk = LAST_CPU

    def ds_update_batch() -> list[MinHash]:
        out = []
        for hv in hv_lists:
            m = MinHash(num_perm=128, seed=1, hashfunc=int)
            m.update_batch(hv)
            out.append(m)
        return out

    t_ds_upd, _ = best_of(ds_update_batch, max(1, repeat - 1))
    c_ds_upd = LAST_CPU
    t_ours_sig, sigs = best_of(lambda: minhash_signatures(hashes, offsets, perms), repeat)
    c_ours_sig = LAST_CPU
    assert all(np.array_equal(sigs[i], m.hashvalues) for i, m in enumerate(ds_bulk)), "mismatch"
    ref_total = (t_unit + t_ref + t_ds_sha1, c_unit + c_ref + c_ds_sha1)
    ours_total = (t_ours_sh + t_ours_sig, c_ours_sh + c_ours_sig)
    rows += [
        ("hashes→signatures: datasketch update_batch per doc", t_ds_upd, c_ds_upd, ""),
        ("hashes→signatures: datasketch MinHash.bulk", t_ds_bulk, c_ds_bulk, ""),
        ("hashes→signatures: tokkit minhash_signatures", t_ours_sig, c_ours_sig,
         f"x{c_ds_bulk / c_ours_sig:.1f} vs bulk (CPU), identical"),
        ("text→signatures: reference shingles + datasketch bulk (sha1)", *ref_total, ""),
        ("text→signatures: tokkit hash_shingles + minhash_signatures", *ours_total,
         f"x{ref_total[1] / ours_total[1]:.1f} (CPU)"),
    ]
    print(f"\n{len(docs):,} documents, {mb:.1f} MB, {n_sh:,} shingles "
          f"({n_sh / len(docs):.0f}/doc), num_perm 128, 5-grams, best of {repeat}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("docs/s and MB/s from CPU seconds (single-threaded code: what an idle machine's wall time is)")
    print(f"{'step':62} {'wall s':>7} {'CPU s':>7} {'docs/s':>9} {'MB/s':>6}  note")
    for name, wall, cpu, note in rows:
        print(f"{name:62} {wall:7.3f} {cpu:7.3f} {len(docs) / cpu:9,.0f} {mb / cpu:6.2f}  {note}")
    return rows


def full_run(docs: list[str]) -> dict[str, Any]:
    """dedup_corpus over the documents as paragraphs of one txt file, in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "paragraphs.txt"
        src.write_text("".join(" ".join(d.split()) + "\n\n" for d in docs), encoding="utf-8")
        code = (
            "import json, sys, time\n"
            "from tokkit.dedup import DedupConfig, dedup_corpus\n"
            "t = time.perf_counter()\n"
            "r = dedup_corpus([sys.argv[1]], sys.argv[2], config=DedupConfig(granularity='paragraph'))\n"
            "print(json.dumps({'seconds': time.perf_counter() - t, 'pass1': r.pass1_seconds,"
            " 'cluster': r.cluster_seconds, 'pass2': r.pass2_seconds, 'counts': r.counts,"
            " 'bytes': r.manifest['bytes']}))\n"
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, "-c", code, str(src), str(Path(tmp) / "out")],
                              capture_output=True, text=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        result["peak_rss_mb"] = after.ru_maxrss / 1024
        result["cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        result["mb"] = src.stat().st_size / 1e6
    c = result["counts"]
    print(f"\nfull run: dedup_corpus, {c['documents']:,} paragraphs, {result['mb']:.1f} MB (txt, --granularity paragraph)")
    print(f"  total {result['seconds']:.1f} s = pass 1 (read+signatures) {result['pass1']:.1f} s + "
          f"clustering {result['cluster']:.1f} s + pass 2 (write) {result['pass2']:.1f} s")
    print(f"  wall: {c['documents'] / result['seconds']:,.0f} docs/s, {result['mb'] / result['seconds']:.2f} MB/s; "
          f"CPU {result['cpu']:.1f} s (whole child, imports included): "
          f"{c['documents'] / result['cpu']:,.0f} docs/s, {result['mb'] / result['cpu']:.2f} MB/s; "
          f"peak RSS {result['peak_rss_mb']:.0f} MiB")
    print(f"  kept {c['kept']:,}, removed exact {c['removed_exact']:,}, near {c['removed_near']:,}, "
          f"candidate pairs {c['candidate_pairs']:,}, verified {c['verified_pairs']:,}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents for the datasketch comparison")
    parser.add_argument("--full", type=int, default=100_000, help="paragraphs for the full run (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    corpora_argument(parser)
    args = parser.parse_args()
    check_corpora(args.corpora)
    docs = load_paragraphs(args.corpora, max(args.docs, args.full))
    compare_signatures(docs[: args.docs], args.repeat)
    if args.full:
        full_run(docs[: args.full])


if __name__ == "__main__":
    main()
