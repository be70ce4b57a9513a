"""Peak memory of sharding one huge document, beside the library encoding it whole.

Anchor: ``tokenizers.Tokenizer.encode_batch_fast([text])``, the fast tokenizer given the whole
record at once (~100 bytes of working memory per input byte). Ours: the whole ``write_shards``
run on a one-line corpus holding the record, which encodes it in pieces (tokkit.shards.pack). Each
runs in a fresh process and reads its own peak RSS (VmHWM). Target (issue 12 item 7): ours within ~80 MB +
8 bytes per byte of the record above the process's start, and the same ids as the anchor.

    python benchmarks/bench_shard_long.py                 # 50 MB, LLaMA-3's tokenizer.json
    python benchmarks/bench_shard_long.py --mb 20 --tokenizer vocab/llama-zh
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
LLAMA3 = ROOT.parent / "shared" / "fixtures" / "llama3"
SOURCE = ROOT.parent / "shared" / "corpora" / "en"

OURS = """
import json, sys, time
import numpy as np
from tokkit.resources import own_peak_mb
from tokkit.shards import ShardConfig, open_shards, write_shards
from tokkit.load import load_tokenizer
corpus, tokenizer, out = sys.argv[1:]
load_tokenizer(tokenizer).encode("warm up")  # counted in the base, as the anchor's
base = own_peak_mb()
start = time.perf_counter()
write_shards([corpus], tokenizer, out, config=ShardConfig(seq_len=2048, val_fraction=0.0, workers=1))
seconds = time.perf_counter() - start
peak = own_peak_mb()
ids = np.concatenate(list(open_shards(out).tokens("train")))
print(json.dumps({"seconds": seconds, "base_mb": base, "peak_mb": peak, "ids": ids.tolist()}))
"""

ANCHOR = """
import json, sys, time
from tokenizers import Tokenizer
from tokkit.resources import own_peak_mb
corpus, tokenizer = sys.argv[1:]
fast = Tokenizer.from_file(tokenizer + "/tokenizer.json")
text = open(corpus, encoding="utf-8").read().rstrip("\\n")
base = own_peak_mb()
start = time.perf_counter()
ids = fast.encode_batch_fast([text], add_special_tokens=False)[0].ids
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "base_mb": base, "peak_mb": own_peak_mb(), "ids": ids}))
"""


def one_record(path: Path, mb: float) -> int:
    """A one-line corpus of ``mb`` MB of real English prose (the sample books, whitespace folded)."""
    text = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in sorted(SOURCE.glob("*.txt")))
    size = int(mb * 1e6)
    record = (text * (size // len(text.encode()) + 1)).encode()[:size].decode("utf-8", "ignore")
    path.write_text(record + "\n", encoding="utf-8")
    return len(record.encode())


def run(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--tokenizer", default=str(LLAMA3), help="a dir holding tokenizer.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "one.txt"
        size = one_record(corpus, args.mb)
        anchor = run(ANCHOR, str(corpus), args.tokenizer)
        ours = run(OURS, str(corpus), args.tokenizer, str(Path(tmp) / "out"))
    framed = ours["ids"][1:-1] if len(ours["ids"]) == len(anchor["ids"]) + 2 else ours["ids"][:-1]
    table = Table(title=f"one {size / 1e6:,.1f} MB record, {Path(args.tokenizer).name}")
    for column in ("", "seconds", "peak MB", "grown MB", "grown bytes / input byte"):
        table.add_column(column, justify="right")
    for name, row in (("tokenizers, whole", anchor), ("tokkit shard", ours)):
        grown = row["peak_mb"] - row["base_mb"]
        table.add_row(name, f"{row['seconds']:.1f}", f"{row['peak_mb']:,.0f}", f"{grown:,.0f}",
                      f"{grown * 2**20 / size:.1f}")
    Console().print(table)
    print(f"same ids as the anchor: {framed == anchor['ids']} ({len(anchor['ids']):,} ids)")


if __name__ == "__main__":
    main()
