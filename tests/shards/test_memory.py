"""One huge document is sharded in memory bounded by its size, not the tokenizer's ~100x of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RECORD_MB = 4

MEASURE = """
import json, sys
from tokkit.load import load_tokenizer
from tokkit.resources import own_peak_mb
from tokkit.shards import ShardConfig, write_shards
corpus, tokenizer, output = sys.argv[1:]
load_tokenizer(tokenizer).encode("warm up")
base = own_peak_mb()
write_shards([corpus], tokenizer, output, config=ShardConfig(seq_len=2048, val_fraction=0.0, workers=1))
print(json.dumps({"base": base, "peak": own_peak_mb()}))
"""


def test_one_huge_record_is_sharded_within_a_small_multiple_of_its_size(
    tmp_path: Path, bpe_dir: Path
) -> None:
    from tokkit.shards import open_shards

    sentence = "The quick brown fox 天下大势 jumps over the lazy dog. "
    record = (sentence * (RECORD_MB * 10**6 // len(sentence.encode()) + 1)).encode()[: RECORD_MB * 10**6]
    corpus = tmp_path / "one.txt"
    corpus.write_bytes(record.decode("utf-8", "ignore").encode() + b"\n")  # one line: one document
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(corpus), str(bpe_dir), str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    grown = figures["peak"] - figures["base"]
    # The bound stated in tokkit.shards.pack: ~80 MB of tokenizer work space + 8 bytes per byte
    # of the document. Encoding it whole took ~110 bytes per byte (+436 MB here; 5.6 GiB for 50 MB).
    assert grown < 80 + 8 * RECORD_MB, figures  # measured: 75 MB at 1 MB, 95 at 4, 118 at 8
    shards = open_shards(tmp_path / "out")
    assert shards.manifest.splits["train"].documents == 1
