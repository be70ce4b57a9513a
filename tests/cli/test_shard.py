from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["hello world", "你好世界"] * 20, trainer)
    directory = tmp_path_factory.mktemp("tok")
    tok.save(str(directory / "tokenizer.json"))
    return directory


def test_shard_writes_shards_and_a_manifest(tmp_path: Path, tokenizer_dir: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n你好世界\n" * 50, encoding="utf-8")
    out = tmp_path / "shards"
    result = CliRunner().invoke(cli, ["shard", str(corpus), "--tokenizer", str(tokenizer_dir),
                                      "--seq-len", "32", "--val-fraction", "0", "--workers", "1",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits"]["train"]["documents"] == 100
    assert manifest["seq_len"] == 32 and manifest["dtype"] == "uint16"
    again = CliRunner().invoke(cli, ["shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(out)])
    assert again.exit_code != 0 and "--force" in str(again.exception)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seq-len", "0"], "--seq-len"),
        (["--tokens-per-shard", "3"], "--tokens-per-shard"),
        (["--val-fraction", "2"], "--val-fraction"),
    ],
)
def test_shard_refuses_nonsense_in_one_line(tmp_path: Path, tokenizer_dir: Path, args: list[str],
                                            message: str) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    from tokkit.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(tmp_path / "o"), *args])
    assert exit_info.value.code == 2
    assert not (tmp_path / "o").exists()


def test_shard_reports_missing_tokenizer_and_binary_corpus(tmp_path: Path, tokenizer_dir: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from tokkit.cli import main

    corpus = tmp_path / "c.bin.txt"
    corpus.write_bytes(b"\x00\x01binary\x00")
    with pytest.raises(SystemExit) as exit_info:
        main(["shard", str(corpus), "--tokenizer", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "no such tokenizer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["-q", "shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "no documents" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_shard_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["shard", "--help"])
    assert result.exit_code == 0 and "tokkit shard corpus/" in result.output


def test_shard_takes_the_engine_options(tmp_path: Path, tokenizer_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from tokkit.cli import main

    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["shard", str(corpus), "--tokenizer", str(tokenizer_dir), "-o", str(tmp_path / "o"),
              "--partition-mb", "4"])
    assert exit_info.value.code == 2 and "--engine ray" in capsys.readouterr().err
    result = CliRunner().invoke(cli, ["shard", "--help"])
    assert "--engine [local|ray]" in result.output
