"""The package surface: light imports, the loader's dispatch, atomic outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tokkit.atomic import MARKER, atomic_dir, atomic_file
from tokkit.backends.hf import HFTokenizer
from tokkit.backends.spm import SPMTokenizer
from tokkit.errors import InputError, OutputExistsError
from tokkit.load import load_tokenizer

LIGHT_IMPORTS = [
    ("tokkit, tokkit.cli", ("torch", "transformers", "matplotlib", "ray")),
    # the library reports progress without a terminal library: the CLI brings rich
    ("tokkit.train.bpe, tokkit.train.run, tokkit.shards, tokkit.dedup, tokkit.analyze, tokkit.pipeline",
     ("rich",)),
    ("tokkit.shards, tokkit.cpt, tokkit.cpt.config, tokkit.pipeline, tokkit.cli.shard, tokkit.cli.cpt, "
     "tokkit.cli.pipeline", ("torch", "transformers", "safetensors")),
    ("tokkit.llama, tokkit.llama.resize, tokkit.llama.tiny, tokkit.cli.llama", ("torch", "transformers")),
    ("tokkit.dedup, tokkit.cli.dedup", ("datasketch", "scipy", "torch")),  # signatures/LSH load them
    ("tokkit.backends", ("tokenizers", "sentencepiece", "tiktoken")),
    ("tokkit.analyze, tokkit.analyze.report, tokkit.cli.analyze", ("matplotlib", "torch", "transformers")),
]
"""(modules imported, heavy libraries they must leave unloaded): each is imported where it is used."""


@pytest.mark.parametrize(("imports", "heavy"), LIGHT_IMPORTS, ids=[i.split(",")[0] for i, _ in LIGHT_IMPORTS])
def test_imports_leave_heavy_libraries_unloaded(imports: str, heavy: tuple[str, ...]) -> None:
    code = f"import sys, {imports}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "tokkit", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "train-bpe" in out.stdout


def test_load_dispatches_on_file_type(tmp_path: Path, llama_model: Path) -> None:
    spm_tok = load_tokenizer(llama_model)
    assert isinstance(spm_tok, SPMTokenizer) and spm_tok.vocab_size == 32000
    directory = tmp_path / "llama"
    spm_tok.save(directory)
    assert isinstance(load_tokenizer(directory), SPMTokenizer)
    from tokenizers import Tokenizer, models

    path = tmp_path / "tokenizer.json"
    Tokenizer(models.BPE()).save(str(path))
    assert isinstance(load_tokenizer(path), HFTokenizer)
    assert isinstance(load_tokenizer(tmp_path), HFTokenizer)


@pytest.mark.parametrize("name", ["nope", "nope.model", "nope.json"])
def test_load_missing_is_an_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="no such tokenizer"):
        load_tokenizer(tmp_path / name)


def test_load_rejects_garbage_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"\x00not a model")
    with pytest.raises(InputError, match="not a sentencepiece model"):
        load_tokenizer(bad)
    bad_json = tmp_path / "tokenizer.json"
    bad_json.write_text("{}")
    with pytest.raises(InputError, match=r"not a loadable tokenizer\.json"):
        load_tokenizer(bad_json)
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no tokkit\.json, tokenizer\.json or tokenizer\.model"):
        load_tokenizer(empty)


def test_atomic_dir_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    assert (target / "a").read_text() == "1"
    with pytest.raises(OutputExistsError), atomic_dir(target):
        pass
    with pytest.raises(RuntimeError), atomic_dir(target, force=True) as tmp:
        (tmp / "a").write_text("2")
        raise RuntimeError("crash mid-write")
    assert (target / "a").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with atomic_dir(target, force=True) as tmp:
        (tmp / "b").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "b"]  # marked as a tokkit output


def test_atomic_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    with atomic_file(target) as f:
        f.write("ok")
    with pytest.raises(ValueError), atomic_file(target) as f:
        f.write("partial")
        raise ValueError
    assert target.read_text() == "ok"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    assert target.stat().st_mode & 0o044 == 0o044, "outputs must not be owner-only"
