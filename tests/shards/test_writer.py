from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tokkit.errors import InputError, OutputExistsError
from tokkit.load import load_tokenizer
from tokkit.shards import ShardConfig, ShardIntegrityError, open_shards, write_shards
from tokkit.shards import stream as stream_module
from tokkit.shards import writer as writer_module
from tokkit.shards.writer import partial_dir


def _decoded(directory: Path, tokenizer_dir: Path, split: str) -> list[str]:
    shards = open_shards(directory)
    tok = load_tokenizer(tokenizer_dir)
    eos = shards.manifest.tokenizer.eos_id
    out = []
    for doc in shards.documents(split):
        assert doc[-1] == eos
        out.append(tok.decode(doc[:-1].tolist()))
    return out


def test_shards_round_trip_to_the_input_documents_in_order(
    tmp_path: Path, corpus: Path, bpe_dir: Path, docs: list[str]
) -> None:
    config = ShardConfig(seq_len=16, tokens_per_shard=100, val_fraction=0.0, workers=1)
    manifest = write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    assert _decoded(tmp_path / "out", bpe_dir, "train") == docs
    train = manifest.splits["train"]
    assert manifest.dtype == "uint16"
    assert train.documents == len(docs) and manifest.splits["val"].documents == 0
    assert all(s.tokens == 96 for s in train.shards[:-1])  # rounded down to whole sequences
    assert 0 < train.shards[-1].tokens <= 96
    assert train.tokens == sum(s.tokens for s in train.shards)
    assert train.sequences == train.tokens // 16
    assert len(open_shards(tmp_path / "out").sequences("train")) == train.sequences
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["tokenizer"]["eos_id"] == load_tokenizer(bpe_dir).special_tokens["<|endoftext|>"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        ["manifest.json"] + [s.file for s in train.shards])


def test_the_val_split_partitions_documents_and_keeps_their_order(
    tmp_path: Path, bpe_dir: Path
) -> None:
    docs = [f"document {i}: {'天地玄黄' * (i % 5)} end" for i in range(300)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(docs), encoding="utf-8")
    manifest = write_shards([corpus], bpe_dir, tmp_path / "out",
                            config=ShardConfig(seq_len=32, tokens_per_shard=512, val_fraction=0.2, workers=1))
    train = _decoded(tmp_path / "out", bpe_dir, "train")
    val = _decoded(tmp_path / "out", bpe_dir, "val")
    assert 30 < len(val) < 90
    assert sorted(train + val) == sorted(docs)
    assert train == [d for d in docs if d in set(train)] and val == [d for d in docs if d in set(val)]
    assert manifest.splits["val"].documents == len(val)


def test_sharding_is_deterministic_across_worker_counts(tmp_path: Path, corpus: Path, bpe_dir: Path) -> None:
    outs = []
    for workers in (1, 2):
        config = ShardConfig(seq_len=16, tokens_per_shard=64, val_fraction=0.1, workers=workers, batch_bytes=500)
        write_shards([corpus], bpe_dir, tmp_path / f"w{workers}", config=config)
        outs.append({p.name: p.read_bytes() for p in (tmp_path / f"w{workers}").iterdir()})
    assert outs[0] == outs[1]


def test_a_tokenizer_object_shards_like_its_path(tmp_path: Path, corpus: Path, bpe_dir: Path) -> None:
    """``write_shards`` takes what ``load_tokenizer`` opens or the tokenizer itself: same shards
    in-process and in worker processes (the object travels by pickle), recorded as ``<kind>``."""
    config = ShardConfig(seq_len=16, tokens_per_shard=64, val_fraction=0.1, batch_bytes=500)
    by_path = write_shards([corpus], bpe_dir, tmp_path / "path", config=replace(config, workers=1))
    tok = load_tokenizer(bpe_dir)
    for workers in (0, 2):
        out = tmp_path / f"object{workers}"
        manifest = write_shards([corpus], tok, out, config=replace(config, workers=workers))
        assert manifest.tokenizer.path == f"<{tok.kind}>" and manifest.tokenizer.files == {}
        assert manifest.tokenizer.vocab_hash == by_path.tokenizer.vocab_hash
        assert manifest.splits == by_path.splits
        assert {p.name: p.read_bytes() for p in out.glob("*.bin")} == \
            {p.name: p.read_bytes() for p in (tmp_path / "path").glob("*.bin")}


def test_an_object_that_cannot_reach_workers_is_a_clear_error(tmp_path: Path, corpus: Path, bpe_dir: Path) -> None:
    tok = load_tokenizer(bpe_dir)
    tok.unpicklable = lambda: None  # type: ignore[attr-defined]
    with pytest.raises(InputError, match=r"tokenizer object cannot be sent to worker processes.*workers=1"):
        write_shards([corpus], tok, tmp_path / "out", config=ShardConfig(seq_len=16, workers=2))
    assert not (tmp_path / "out").exists() and not partial_dir(tmp_path / "out").exists()


def test_a_vocab_beyond_uint16_uses_uint32(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<|endoftext|>": 0, "[UNK]": 1, **{f"w{i}": i + 2 for i in range(70_000)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens(["<|endoftext|>"])
    (tmp_path / "tok").mkdir()
    tok.save(str(tmp_path / "tok" / "tokenizer.json"))
    corpus = tmp_path / "c.txt"
    corpus.write_text("w69999 w1 w65536\nw7\n", encoding="utf-8")
    manifest = write_shards([corpus], tmp_path / "tok", tmp_path / "out",
                            config=ShardConfig(seq_len=4, val_fraction=0.0, workers=1))
    assert manifest.dtype == "uint32"
    ids = np.concatenate(list(open_shards(tmp_path / "out").tokens("train"))).tolist()
    assert ids == [70001, 3, 65538, 0, 9, 0]


def test_existing_output_is_verified_or_refused_unless_forced(
    tmp_path: Path, corpus: Path, bpe_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = ShardConfig(seq_len=16, workers=1, val_fraction=0.0)
    first = write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    with caplog.at_level("WARNING", logger="tokkit"):
        again = write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    assert again == open_shards(tmp_path / "out").manifest and again.splits == first.splits
    assert "already finished; verified 1 shards" in caplog.text
    with pytest.raises(OutputExistsError, match=r"another seq_len, val_fraction; .*`force=True`"):
        write_shards([corpus], bpe_dir, tmp_path / "out", config=ShardConfig(seq_len=8, workers=1))
    shard = tmp_path / "out" / "train-00000.bin"
    shard.write_bytes(shard.read_bytes()[::-1])
    with pytest.raises(ShardIntegrityError, match=r"train-00000\.bin: sha256 does not match.*force=True"):
        write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="`force=True`"):
        write_shards([corpus], bpe_dir, tmp_path / "stray", config=config)
    write_shards([corpus], bpe_dir, tmp_path / "out", config=ShardConfig(seq_len=8, workers=1), force=True)
    assert open_shards(tmp_path / "out").manifest.seq_len == 8


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ShardConfig(seq_len=1), "`seq_len="),
        (ShardConfig(seq_len=64, tokens_per_shard=10), "`tokens_per_shard="),
        (ShardConfig(val_fraction=1.5), "`val_fraction="),
        (ShardConfig(workers=-1), "`workers="),
    ],
)
def test_nonsensical_sizes_are_refused(tmp_path: Path, corpus: Path, bpe_dir: Path,
                                       config: ShardConfig, message: str) -> None:
    with pytest.raises(InputError, match=message):
        write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    assert not (tmp_path / "out").exists()


def test_empty_corpus_and_missing_paths_are_clear_errors(tmp_path: Path, bpe_dir: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no documents"):
        write_shards([empty], bpe_dir, tmp_path / "out", config=ShardConfig(workers=1))
    with pytest.raises(InputError, match="no such file"):
        write_shards([tmp_path / "missing"], bpe_dir, tmp_path / "out", config=ShardConfig(workers=1))
    assert not (tmp_path / "out").exists() and not partial_dir(tmp_path / "out").exists()


class _Crash(Exception):
    pass


def crash_while_sharding(monkeypatch: pytest.MonkeyPatch, when: Callable[[stream_module.ShardStream], bool],
                         corpus: Path, bpe_dir: Path, out: Path, config: ShardConfig) -> None:
    """``write_shards`` into ``out``, crashing as a shard is about to be finished where ``when(stream)``."""
    finish = stream_module.ShardStream._finish

    def crashing_finish(self: stream_module.ShardStream, end: tuple[int, int]) -> None:
        if when(self):
            raise _Crash
        finish(self, end)

    monkeypatch.setattr(stream_module.ShardStream, "_finish", crashing_finish)
    with pytest.raises(_Crash):
        write_shards([corpus], bpe_dir, out, config=config)
    monkeypatch.undo()


def test_an_interrupted_run_leaves_no_output_and_resumes_to_identical_shards(
    tmp_path: Path, corpus: Path, bpe_dir: Path, docs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ShardConfig(seq_len=16, tokens_per_shard=64, val_fraction=0.1, workers=1, batch_bytes=300)
    write_shards([corpus], bpe_dir, tmp_path / "clean", config=config)

    calls = itertools.count(1)
    crash_while_sharding(monkeypatch, lambda _: next(calls) == 6, corpus, bpe_dir, tmp_path / "out", config)
    assert not (tmp_path / "out").exists()
    partial = partial_dir(tmp_path / "out")
    finished = json.loads((partial / "journal.json").read_text())["shards"]
    assert sum(len(v) for v in finished.values()) == 5

    encoded: list[int] = []
    real = writer_module.encode_batch

    def counting(texts, *args, **kwargs):  # type: ignore[no-untyped-def]
        encoded.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(writer_module, "encode_batch", counting)
    write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    assert sum(encoded) < len(docs)  # the finished shards' documents were not tokenized again
    assert not partial.exists()
    clean = {p.name: p.read_bytes() for p in (tmp_path / "clean").iterdir()}
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == clean


def test_a_damaged_finished_shard_is_rewritten_on_resume(
    tmp_path: Path, corpus: Path, bpe_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ShardConfig(seq_len=16, tokens_per_shard=64, val_fraction=0.0, workers=1)
    write_shards([corpus], bpe_dir, tmp_path / "clean", config=config)
    crash_while_sharding(monkeypatch, lambda stream: len(stream.shards) == 4, corpus, bpe_dir, tmp_path / "out",
                         config)
    damaged = partial_dir(tmp_path / "out") / "train-00002.bin"
    damaged.write_bytes(b"\x00" + damaged.read_bytes()[1:])
    write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    for path in (tmp_path / "clean").iterdir():
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()


def test_real_corpus_round_trips_with_the_llama_tokenizer(heldout: Path, llama_model: Path, tmp_path: Path) -> None:
    text = (heldout / "zh_zizhitongjian.txt").read_text(encoding="utf-8").splitlines()[:400]
    text += (heldout / "en_dracula.txt").read_text(encoding="utf-8").splitlines()[:1500]
    corpus = tmp_path / "mixed.txt"
    corpus.write_text("\n".join(text), encoding="utf-8")
    docs = [line for line in text if line.strip()]
    manifest = write_shards([corpus], llama_model, tmp_path / "out",
                            config=ShardConfig(seq_len=256, tokens_per_shard=4096, val_fraction=0.0, workers=2))
    assert (manifest.tokenizer.bos_id, manifest.tokenizer.eos_id, manifest.dtype) == (1, 2, "uint16")
    tok = load_tokenizer(llama_model)
    shards = open_shards(tmp_path / "out")
    decoded = []
    for doc in shards.documents("train"):
        assert doc[0] == 1 and doc[-1] == 2
        decoded.append(tok.decode(doc[1:-1].tolist()))
    assert decoded == [tok.decode(tok.encode(d)) for d in docs]
    assert sum(d == o for d, o in zip(decoded, docs, strict=True)) > 0.95 * len(docs)


def test_resume_skips_finished_documents_even_before_the_val_split_has_a_shard(
    tmp_path: Path, bpe_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tokkit.shards.pack import is_val

    docs = [f"document {i}: {'天地玄黄 ' * (i % 4)}the end" for i in range(300)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(docs) + "\n", encoding="utf-8")
    config = ShardConfig(seq_len=16, tokens_per_shard=256, val_fraction=0.05, workers=1, batch_bytes=200)
    clean = write_shards([corpus], bpe_dir, tmp_path / "clean", config=config)
    assert clean.splits["val"].documents > 0

    crash_while_sharding(monkeypatch, lambda stream: stream.split == "train" and len(stream.shards) == 3, corpus, bpe_dir, tmp_path / "out",
                         config)
    journal = json.loads((partial_dir(tmp_path / "out") / "journal.json").read_text())["shards"]
    assert (len(journal["train"]), len(journal["val"])) == (3, 0)
    resume_doc = journal["train"][-1]["end"][0]
    done = sum(1 for i in range(resume_doc) if not is_val(docs[i], 0.05))

    encoded: list[str] = []
    real = writer_module.encode_batch

    def counting(texts, *args, **kwargs):  # type: ignore[no-untyped-def]
        encoded.extend(texts)
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(writer_module, "encode_batch", counting)
    with caplog.at_level("WARNING", logger="tokkit"):
        write_shards([corpus], bpe_dir, tmp_path / "out", config=config)
    assert done > 10 and len(encoded) == len(docs) - done  # only what no finished shard holds
    documents = sum(j["documents"] for j in journal["train"])
    assert f"resumed: 3 shards ({documents:,} documents) already done" in caplog.text
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == {
        p.name: p.read_bytes() for p in (tmp_path / "clean").iterdir()}


def test_a_run_that_fails_before_its_first_shard_leaves_nothing(
    tmp_path: Path, corpus: Path, bpe_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise _Crash

    monkeypatch.setattr(writer_module, "encode_batch", crash)
    with pytest.raises(_Crash):
        write_shards([corpus], bpe_dir, tmp_path / "out", config=ShardConfig(seq_len=16, workers=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt"]  # no .out.partial/, no lock


def test_two_identical_runs_write_identical_manifests(tmp_path: Path, corpus: Path, bpe_dir: Path) -> None:
    """What made the tokenizer (tokkit.json: config, timings) is not what determines the tokens."""
    tokenizer = tmp_path / "tok"
    tokenizer.mkdir()
    (tokenizer / "tokenizer.json").write_bytes((bpe_dir / "tokenizer.json").read_bytes())
    config = ShardConfig(seq_len=16, tokens_per_shard=64, val_fraction=0.1, workers=1)
    manifests = []
    for run, seconds in enumerate((1.25, 7.5)):
        (tokenizer / "tokkit.json").write_text(json.dumps({"report": {"seconds": seconds}}), encoding="utf-8")
        write_shards([corpus], tokenizer, tmp_path / f"run{run}", config=config)
        manifests.append((tmp_path / f"run{run}" / "manifest.json").read_bytes())
    assert manifests[0] == manifests[1]
    assert json.loads(manifests[0])["tokenizer"]["files"] == {
        "tokenizer.json": hashlib.sha256((bpe_dir / "tokenizer.json").read_bytes()).hexdigest()}


@pytest.mark.parametrize("journal", ["[1, 2]", '{"fingerprint": null}', "{not json", ""])
def test_an_unreadable_journal_means_starting_over(
    tmp_path: Path, corpus: Path, bpe_dir: Path, journal: str
) -> None:
    config = ShardConfig(seq_len=16, tokens_per_shard=64, val_fraction=0.1, workers=1)
    clean = write_shards([corpus], bpe_dir, tmp_path / "clean", config=config)
    partial = partial_dir(tmp_path / "out")
    partial.mkdir()
    (partial / "journal.json").write_text(journal, encoding="utf-8")
    (partial / "train-00000.bin").write_bytes(b"\x00\x01")
    assert write_shards([corpus], bpe_dir, tmp_path / "out", config=config).splits == clean.splits


def test_a_journal_naming_files_outside_the_partial_dir_is_not_trusted(
    tmp_path: Path, corpus: Path, bpe_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ShardConfig(seq_len=16, tokens_per_shard=64, val_fraction=0.0, workers=1)
    clean = write_shards([corpus], bpe_dir, tmp_path / "clean", config=config)
    crash_while_sharding(monkeypatch, lambda stream: len(stream.shards) == 2, corpus, bpe_dir, tmp_path / "out",
                         config)
    partial = partial_dir(tmp_path / "out")
    data = json.loads((partial / "journal.json").read_text())
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes((partial / "train-00000.bin").read_bytes())
    data["shards"]["train"][0]["file"] = str(outside)
    (partial / "journal.json").write_text(json.dumps(data))
    assert write_shards([corpus], bpe_dir, tmp_path / "out", config=config).splits == clean.splits
