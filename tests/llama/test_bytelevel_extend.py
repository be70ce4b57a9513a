"""Extending Llama 3 and Tekken: base ids kept, new tokens reachable, every encoder agrees.

A small run (a few hundred KB of the sample Chinese, a few hundred new tokens, the first lines of
the held-out files) keeps this fast; ``benchmarks/bench_extend_bytelevel.py`` runs the full size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokkit.corpus.cjk import has_cjk
from tokkit.llama.bytelevel_extend import ExtendRun, extend_bytelevel, line_encoder
from tokkit.llama.bytelevel_io import ByteLevelVocab, read_bytelevel
from tokkit.train.bpe_continue import ContinueConfig

ADD = 300
HELDOUT_LINES = 1500


@pytest.fixture(scope="module")
def heldout_files(heldout: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("heldout")
    files = {}
    for name, source in (("zh", "zh_zizhitongjian.txt"), ("en", "en_dracula.txt")):
        lines = (heldout / source).read_text(encoding="utf-8").splitlines()[:HELDOUT_LINES]
        files[name] = root / f"{name}.txt"
        files[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def _extend(base: Path, corpora: Path, out: Path, heldout_files: dict[str, Path], **config: Any) -> ExtendRun:
    return extend_bytelevel(base, out, zh_corpus=[corpora / "zh"], config=ContinueConfig(add=ADD, **config),
                            heldout={k: [v] for k, v in heldout_files.items()}, max_bytes=400_000, workers=1)


@pytest.fixture(scope="module")
def llama3_run(llama3_model: Path, corpora: Path, heldout_files: dict[str, Path],
               tmp_path_factory: pytest.TempPathFactory) -> ExtendRun:
    return _extend(llama3_model, corpora, tmp_path_factory.mktemp("l3") / "out", heldout_files)


@pytest.fixture(scope="module")
def tekken_run(tekken_file: Path, corpora: Path, heldout_files: dict[str, Path],
               tmp_path_factory: pytest.TempPathFactory) -> ExtendRun:
    return _extend(tekken_file, corpora, tmp_path_factory.mktemp("tekken") / "out", heldout_files, only_cjk=True)


def _lines(files: dict[str, Path]) -> list[str]:
    return [line for path in files.values() for line in path.read_text(encoding="utf-8").splitlines() if line]


def _encoders(out: Path, vocab: ByteLevelVocab, rank_file: str) -> dict[str, Any]:
    """tokkit's own encoder, tiktoken from the written rank file, tokenizers from tokenizer.json,
    transformers' AutoTokenizer."""
    import tiktoken
    import tiktoken.load
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    encoding = tiktoken.Encoding("extended", pat_str=vocab.pattern, special_tokens=vocab.special_tokens,
                                 mergeable_ranks=tiktoken.load.load_tiktoken_bpe(str(out / rank_file)))
    hf = Tokenizer.from_file(str(out / "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(out)
    ours = vocab.tokenizer()
    return {
        "tokkit": ours.encode,
        "tiktoken": encoding.encode_ordinary,
        "tokenizers": lambda text: hf.encode(text, add_special_tokens=False).ids,
        "transformers": lambda text: auto.encode(text, add_special_tokens=False),
    }


def _check_run(run: ExtendRun, heldout_files: dict[str, Path], rank_file: str) -> None:
    out = run.output
    extension = run.extension
    base, vocab = extension.base, read_bytelevel(out)
    # base ids unchanged, new ones appended after every base id (specials included)
    assert all(vocab.ranks[t] == i for t, i in base.ranks.items())
    assert vocab.special_tokens == base.special_tokens
    assert extension.new_ids == list(range(base.next_id, base.next_id + len(extension.new_ids)))
    assert len(extension.new_ids) == ADD and not extension.dropped
    encoders = _encoders(out, vocab, rank_file)
    new_tokens = {i: t for t, i in vocab.ranks.items() if i >= base.next_id}
    for name, encode in encoders.items():  # every new token is reachable in every library
        assert [encode(t.decode("utf-8")) for t in new_tokens.values()] == [[i] for i in new_tokens], name
    for token in new_tokens.values():
        token.decode("utf-8")  # whole characters only (no --allow-partial)
    reference = line_encoder(vocab)
    lines = _lines(heldout_files)
    expected = reference(lines)
    for name, encode in encoders.items():
        assert [encode(line) for line in lines] == expected, name
    decode = vocab.tiktoken_encoding().decode
    assert all(decode(ids) == line for ids, line in zip(expected, lines, strict=True))
    compared = {c.name: c for c in run.comparisons}
    assert compared["en"].changed_lines == 0
    assert compared["zh"].tokens_after < compared["zh"].tokens_before
    assert compared["zh"].mismatches == {"tokenizers": 0, "tokkit": 0}
    assert compared["en"].mismatches == {"tokenizers": 0, "tokkit": 0}
    meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    assert meta["recipe"] == "extend" and meta["extend"]["added"] == ADD


def test_llama3_extension(llama3_run: ExtendRun, heldout_files: dict[str, Path], llama3_model: Path) -> None:
    _check_run(llama3_run, heldout_files, "tokenizer.model")
    out = llama3_run.output
    base_file = llama3_model.read_bytes()
    written = (out / "tokenizer.model").read_bytes()
    assert written.startswith(base_file)  # the first 128,000 ranks, byte for byte
    assert len(written.splitlines()) == 128_000 + ADD
    config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["bos_token"] == "<|begin_of_text|>" and config["added_tokens_decoder"]["128256"]["content"] == "<|image|>"
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(out)
    assert auto.encode("你好")[0] == 128_000  # the base's post-processor (bos) is carried over
    assert auto.convert_tokens_to_ids("<|eot_id|>") == 128_009


def test_tekken_extension(tekken_run: ExtendRun, heldout_files: dict[str, Path], tekken_file_data: dict[str, Any]) -> None:
    _check_run(tekken_run, heldout_files, "tekken_240911.tiktoken")
    written = json.loads((tekken_run.output / "tekken.json").read_text(encoding="utf-8"))
    assert written["vocab"][:130_072] == tekken_file_data["vocab"][:130_072]
    assert written["config"]["default_vocab_size"] == 131_072 + ADD
    again = read_bytelevel(tekken_run.output / "tekken.json")
    assert again.ranks == read_bytelevel(tekken_run.output).ranks
    new = [t for t, i in again.ranks.items() if i >= 131_072]
    assert len(new) == ADD and all(has_cjk(t.decode("utf-8")) for t in new)  # --only-cjk


@pytest.fixture(scope="module")
def tekken_file_data(tekken_file: Path) -> dict[str, Any]:
    return json.loads(tekken_file.read_text(encoding="utf-8"))


NON_CJK = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)).filter(lambda ch: not has_cjk(ch)),
                  max_size=60)


@pytest.fixture(scope="module")
def tekken_encodings(tekken_run: ExtendRun) -> tuple[Any, Any]:
    return tekken_run.extension.base.tiktoken_encoding(), tekken_run.extension.vocab.tiktoken_encoding()


@pytest.fixture(scope="module")
def llama3_encoding(llama3_run: ExtendRun) -> Any:
    return llama3_run.extension.vocab.tiktoken_encoding()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=NON_CJK)
def test_only_cjk_leaves_other_text_alone(tekken_encodings: tuple[Any, Any], text: str) -> None:
    base, extended = tekken_encodings
    assert extended.encode_ordinary(text) == base.encode_ordinary(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
       | st.sampled_from(["", "a" * 10_000, "中国" * 500, "🙂👍🏽", "\x00\x01\t\r\n"]))
def test_round_trip(llama3_encoding: Any, text: str) -> None:
    assert llama3_encoding.decode(llama3_encoding.encode_ordinary(text)) == text


def _cli(*args: str) -> Any:
    import subprocess
    import sys

    code = "import sys; from tokkit.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)


def test_cli_help_and_clean_failures(llama_model: Path, corpora: Path, tmp_path: Path) -> None:
    shown = _cli("extend", "--help")
    assert shown.returncode == 0 and "Example:" in shown.stdout and "--only-cjk" in shown.stdout
    spm = _cli("extend", "--base", str(llama_model), "--zh-corpus", str(corpora / "zh"), "-o", str(tmp_path / "x"))
    assert spm.returncode == 2 and "extend-llama" in spm.stderr and "Traceback" not in spm.stderr
    assert not (tmp_path / "x").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", encoding="utf-8")
    rank_file = tmp_path / "ranks.tiktoken"
    rank_file.write_bytes(b"".join(__import__("base64").b64encode(bytes([b])) + f" {b}\n".encode() for b in range(256)))
    refused = _cli("extend", "--base", str(rank_file), "--zh-corpus", str(corpora / "zh"), "-o", str(existing))
    assert refused.returncode != 0 and "pass pattern=" in refused.stderr and "Traceback" not in refused.stderr
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
