"""The manifest is checked as a whole: every field tampered with is caught, in one line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tokkit.errors import InputError
from tokkit.shards import ShardConfig, ShardIntegrityError, open_shards, verify_shards, write_shards
from tokkit.shards.manifest import manifest_checksum

Json = dict[str, Any]

FIELDS = [
    "format", "version", "dtype", "seq_len", "tokkit_version", "checksum",
    "tokenizer.path", "tokenizer.vocab_size", "tokenizer.vocab_hash", "tokenizer.bos_id", "tokenizer.eos_id",
    "tokenizer.files.tokenizer.json",
    "config.seq_len", "config.val_fraction", "config.tokens_per_shard", "config.bos", "config.eos",
    "corpus.paths.0", "corpus.read_options.split", "corpus.read_options.text_field",
    "corpus.read_options.encoding_errors", "corpus.read_options.keep_empty",
    "corpus.read_options.max_document_bytes", "corpus.files", "corpus.documents", "corpus.bytes",
    "corpus.skipped_paths",
    *(f"splits.{split}.{key}" for split in ("train", "val") for key in ("documents", "tokens", "sequences")),
    *(f"splits.{split}.shards.{i}.{key}" for split in ("train", "val") for i in (0, 1)
      for key in ("file", "tokens", "sha256", "documents", "start.0", "start.1", "end.0", "end.1")),
]
"""Every leaf of a manifest (shards 0 and 1 of each split standing for all of them)."""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, make_bpe, docs: list[str]) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("verify")
    tokenizer = make_bpe(root / "tok", docs, special=("<s>", "</s>"))  # framed <s> … </s>
    corpus = root / "c.txt"
    corpus.write_text("\n".join(docs) + "\n", encoding="utf-8")
    write_shards([corpus], tokenizer, root / "out",
                 config=ShardConfig(seq_len=16, tokens_per_shard=80, val_fraction=0.3, workers=1))
    return root / "out"


@pytest.fixture
def shards(made: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for path in made.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    return out


def _load(shards: Path) -> Json:
    return json.loads((shards / "manifest.json").read_text(encoding="utf-8"))


def _save(shards: Path, data: Json, *, reseal: bool) -> None:
    """Write the manifest back; ``reseal`` recomputes its checksum, as a careful forger would."""
    if reseal:
        data["checksum"] = manifest_checksum(data)
    (shards / "manifest.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def _leaves(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        return [leaf for key, v in value.items() for leaf in _leaves(v, f"{prefix}{key}.")]
    if isinstance(value, list) and value:
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{prefix}{i}.")]
    return [prefix[:-1]]


def _walk(data: Json, field: str) -> tuple[Any, str | int]:
    """The container holding ``field`` (dotted; ``tokenizer.json`` is one key) and the key."""
    node: Any = data
    parts = field.replace("tokenizer.json", "tokenizer\0json").split(".")
    parts = [p.replace("\0", ".") for p in parts]
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    return node, int(last) if isinstance(node, list) else last


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    if isinstance(value, str):
        return value + "x"
    if value is None:
        return 5
    if isinstance(value, list):
        return [*value, "extra"]
    raise AssertionError(f"no change for {value!r}")


def _refused(shards: Path, *match: str) -> str:
    with pytest.raises(InputError) as err:
        open_shards(shards)
    message = str(err.value)
    assert "\n" not in message, message
    for fragment in match:
        assert fragment in message, message
    return message


def test_the_field_list_covers_every_field_of_a_manifest(made: Path) -> None:
    data = _load(made)
    leaves = {leaf for leaf in _leaves(data) if ".shards." not in leaf or leaf.split(".shards.")[1][0] in "01"}
    assert set(FIELDS) == leaves


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_tampered_alone_is_refused_in_one_line(shards: Path, field: str) -> None:
    data = _load(shards)
    node, key = _walk(data, field)
    node[key] = _changed(node[key])
    _save(shards, data, reseal=False)
    _refused(shards, "manifest.json")


def _drop_middle_train_shard(data: Json, shards: Path) -> None:
    train = data["splits"]["train"]
    gone = train["shards"].pop(2)
    (shards / gone["file"]).unlink()
    train["tokens"] -= gone["tokens"]
    train["documents"] -= gone["documents"]
    train["sequences"] -= gone["tokens"] // 16
    data["corpus"]["documents"] -= gone["documents"]


def _drop_last_entry_keep_file(data: Json, shards: Path) -> None:
    train = data["splits"]["train"]
    gone = train["shards"].pop()
    train["tokens"] -= gone["tokens"]
    train["documents"] -= gone["documents"]
    train["sequences"] -= gone["tokens"] // 16
    data["corpus"]["documents"] -= gone["documents"]


def _stray_shard_file(data: Json, shards: Path) -> None:
    (shards / "val-00099.bin").write_bytes(b"\x01\x00")


def _set(field: str, value: Any) -> Callable[[Json, Path], None]:
    def edit(data: Json, shards: Path) -> None:
        node, key = _walk(data, field)
        node[key] = value
    return edit


def _both_seq_lens(data: Json, shards: Path) -> None:
    data["seq_len"] = data["config"]["seq_len"] = 64
    for split in data["splits"].values():
        split["sequences"] = sum(s["tokens"] // 64 for s in split["shards"])


def _out_of_vocab_ids_with_a_matching_sha256(data: Json, shards: Path) -> None:
    entry = data["splits"]["train"]["shards"][1]
    path = shards / entry["file"]
    ids = np.fromfile(path, dtype="<u2")
    ids[5] = 399 + 1000  # the tokenizer has 400 tokens
    ids.tofile(path)
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()


def _swap_train_shards(data: Json, shards: Path) -> None:
    listed = data["splits"]["train"]["shards"]
    listed[0]["file"], listed[1]["file"] = listed[1]["file"], listed[0]["file"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop_middle_train_shard, "train-00003.bin comes after train-00001.bin: a shard entry was dropped"),
        (_drop_last_entry_keep_file, "the train split ends inside a document"),
        (_stray_shard_file, "val-00099.bin is on disk but not in the manifest"),
        (_both_seq_lens, "tokens, but shards hold 64"),
        (_set("seq_len", 64), "seq_len 64 differs from config.seq_len 16"),
        (_set("splits.train.tokens", 1), "splits.train.tokens is 1 but its shards add up to"),
        (_set("splits.val.documents", 3), "splits.val.documents is 3"),
        (_set("splits.val.sequences", 0), "splits.val.sequences is 0"),
        (_set("corpus.documents", 7), "corpus.documents is 7"),
        (_set("tokenizer.eos_id", 5), "ends a document with id 1, not tokenizer.eos_id 5"),
        (_set("tokenizer.bos_id", 7), "starts a document with id 0, not tokenizer.bos_id 7"),
        (_set("tokenizer.eos_id", 400), "eos_id 400 is outside the vocabulary"),
        (_set("tokenizer.bos_id", 1), "bos_id equals eos_id"),
        (_set("splits.train.shards.0.file", "/etc/passwd"), "is not a plain name inside the shard directory"),
        (_set("splits.train.shards.0.file", "../out/train-00000.bin"), "is not a plain name"),
        (_set("splits.train.shards.0.file", "val-00000.bin"), "is not named train-NNNNN.bin"),
        (_swap_train_shards, "train-00001.bin comes first: a shard entry was dropped or reordered"),
        (_out_of_vocab_ids_with_a_matching_sha256, "token id 1,399 is outside the vocabulary of 400"),
        (_set("splits.train.shards.1.start", [0, 0]), "starts at [0, 0] but train-00000.bin ends at"),
        (_set("splits.train.shards.0.documents", 40), "40 documents do not fit"),
        (_set("splits.train.shards.0.tokens", 64), "64 tokens, but shards hold 80"),
        (_set("tokenizer.vocab_size", 70_000), "dtype 'uint16' does not fit"),
        (_set("dtype", "uint32"), "dtype 'uint32' does not fit"),
        (_set("config.tokens_per_shard", 64), "tokens, but shards hold 64"),
        (_set("config.bos", "none"), "config.bos is 'none'"),
        (_set("splits.val", {"documents": 0, "tokens": 0, "sequences": 0, "shards": []}), "corpus.documents"),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_a_resealed_manifest_is_still_held_to_its_shards(
    shards: Path, edit: Callable[[Json, Path], None], message: str
) -> None:
    """A forger who recomputes the checksum still does not get a mismatched manifest through."""
    data = _load(shards)
    edit(data, shards)
    _save(shards, data, reseal=True)
    _refused(shards, message, "force=True")


def test_ids_beyond_the_models_embedding_rows_are_refused(shards: Path) -> None:
    assert verify_shards(shards, vocab_size=400).manifest.tokenizer.vocab_size == 400
    with pytest.raises(ShardIntegrityError, match=r"has no embedding row \(the model has 300"):
        verify_shards(shards, vocab_size=300)


def test_an_old_manifest_without_a_checksum_is_refused_with_the_fix(shards: Path) -> None:
    data = _load(shards)
    del data["checksum"]
    _save(shards, data, reseal=False)
    _refused(shards, "carries no checksum", "force=True")


HOSTILE = [None, "abc", [], {}, -1, 10**30, 1.5, True]


@pytest.mark.parametrize("field", FIELDS)
def test_hostile_values_resealed_never_raise_anything_but_one_line(shards: Path, field: str) -> None:
    """A forged manifest may be refused or (if harmless, e.g. a new ``tokenizer.path``) accepted,
    but never crashes the reader."""
    for value in HOSTILE:
        data = _load(shards)
        node, key = _walk(data, field)
        node[key] = value
        _save(shards, data, reseal=True)
        try:
            open_shards(shards)
        except InputError as err:
            assert "\n" not in str(err), (field, value, err)


def test_a_shard_symlinked_to_a_file_outside_the_dir_is_refused(shards: Path, tmp_path: Path) -> None:
    shard = shards / "train-00000.bin"
    outside = tmp_path / "outside.bin"
    outside.write_bytes(shard.read_bytes())
    shard.unlink()
    shard.symlink_to(outside)
    _refused(shards, "'train-00000.bin' resolves outside")
