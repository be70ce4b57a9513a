"""Token shards: a corpus tokenized once, packed into fixed-length sequences on disk.

documents → token ids → packed ``.bin`` shards + ``manifest.json`` (:func:`write_shards`); read
them back verified and memory-mapped (:func:`open_shards`).
"""

from tokkit.shards.framing import Framing, framing_for
from tokkit.shards.manifest import Manifest, ShardInfo, SplitInfo, TokenizerInfo, vocab_hash
from tokkit.shards.pack import encode_batch, frame, is_val, pack
from tokkit.shards.reader import (
    PackedSequences,
    ShardIntegrityError,
    ShardSet,
    open_shards,
    verify_shards,
)
from tokkit.shards.writer import ShardConfig, write_shards

__all__ = [
    "Framing",
    "Manifest",
    "PackedSequences",
    "ShardConfig",
    "ShardInfo",
    "ShardIntegrityError",
    "ShardSet",
    "SplitInfo",
    "TokenizerInfo",
    "encode_batch",
    "frame",
    "framing_for",
    "is_val",
    "open_shards",
    "pack",
    "verify_shards",
    "vocab_hash",
    "write_shards",
]
