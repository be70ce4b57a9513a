"""`tokkit extend-llama` and `tokkit resize-embeddings` on real commands and real LLaMA."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli
from tokkit.load import load_tokenizer, read_meta


@pytest.fixture(scope="module")
def extend_run(
    llama_model: Path, corpora: Path, heldout: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """One real run: a quick Chinese model (6000 pieces, 1.5 MB) and the held-out table."""
    out = tmp_path_factory.mktemp("vocab") / "llama-zh"
    result = CliRunner().invoke(cli, [
        "extend-llama", "--base", str(llama_model), "--zh-vocab", "6000", "--zh-max-mb", "1.5",
        "--zh-corpus", str(corpora / "zh"), "--heldout-zh", str(heldout / "zh_zizhitongjian.txt"),
        "--heldout-en", str(heldout / "en_dracula.txt"), "-o", str(out),
    ], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture
def extended(extend_run: tuple[Path, str]) -> Path:
    return extend_run[0]


def test_extend_llama_writes_a_complete_output_and_a_before_after_table(extend_run: tuple[Path, str]) -> None:
    extended, output = extend_run
    for needle in ("tokens/Han char", "bytes / token", "tokenizer.json ≠ spm", "zh before", "en after",
                   "base ids 0–31999 unchanged"):
        assert needle in output
    names = {p.name for p in extended.iterdir()}
    assert names == {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                     "zh.model", "added_pieces.tsv", "tokkit.json"}
    meta = read_meta(extended)
    assert meta["kind"] == "spm" and meta["score_policy"] == "below-base"
    assert meta["base"]["md5"] == "eeec4125e9c7560836b4873b6f8e3025"
    assert meta["zh_model"]["trained"] and meta["zh_model"]["pieces"] == 6000
    zh, en = meta["comparisons"]
    assert zh["name"] == "zh" and zh["token_reduction"] > 0.4
    assert zh["hf_mismatch"] == 0 and en["hf_mismatch"] == 0
    tok = load_tokenizer(extended)
    assert type(tok).__name__ == "SPMTokenizer"
    assert tok.vocab_size == meta["vocab_size"] == 32000 + meta["extend"]["appended"]
    assert tok.decode(tok.encode("资治通鉴 Dracula")) == "资治通鉴 Dracula"
    rows = (extended / "added_pieces.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "id\tpiece\tscore\torigin" and rows[1].startswith("32000\t")
    assert len(rows) - 1 == meta["extend"]["appended"]


def test_existing_output_is_refused_then_replaced_with_force(  # type: ignore[no-untyped-def]
    extended: Path, llama_model: Path, tmp_path: Path, run_main, assert_clean_failure
) -> None:
    before = (extended / "tokenizer.model").read_bytes()
    inside = ["extend-llama", "--base", str(llama_model), "--zh-model", str(extended / "zh.model"),
              "--no-compare", "--only-cjk", "-o", str(extended), "--force"]
    assert_clean_failure(run_main(*inside), "contains the input", "outside every input")  # --force would eat it
    zh = tmp_path / "zh.model"
    zh.write_bytes((extended / "zh.model").read_bytes())
    args = ["extend-llama", "--base", str(llama_model), "--zh-model", str(zh),
            "--no-compare", "--only-cjk", "-o", str(extended)]
    assert_clean_failure(run_main(*args), "already exists", "--force")
    assert (extended / "tokenizer.model").read_bytes() == before
    result = CliRunner().invoke(cli, ["-q", *args, "--force"])
    assert result.exit_code == 0, result.output
    assert read_meta(extended)["extend_config"]["only_cjk"] is True


def test_bad_input_gives_one_clean_line(  # type: ignore[no-untyped-def]
    tmp_path: Path, llama_model: Path, monkeypatch: pytest.MonkeyPatch, run_main, assert_clean_failure
) -> None:
    text = tmp_path / "tokenizer.model"
    text.write_text("this is not a model\n", encoding="utf-8")
    out = tmp_path / "o"
    proc = run_main("extend-llama", "--base", str(text), "--zh-model", str(llama_model), "-o", str(out))
    assert_clean_failure(proc, "not a sentencepiece model", str(text), code=2, output=out)
    proc = run_main("extend-llama", "--base", str(tmp_path / "missing"), "-o", str(out),
                    "--zh-corpus", str(tmp_path))
    assert_clean_failure(proc, "no such file", code=2, output=out)
    proc = run_main("extend-llama", "--base", str(llama_model), "--zh-model", str(text), "-o", str(out))
    assert_clean_failure(proc, "not a sentencepiece model", code=2, output=out)
    proc = run_main("extend-llama", "--base", str(llama_model), "--zh-model", str(llama_model),
                    "--zh-vocab", "100", "-o", str(out))
    assert_clean_failure(proc, "--zh-model takes an existing model", code=2, output=out)
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_main("extend-llama", "--base", str(llama_model), "--zh-corpus", str(empty),
                    "--zh-vocab", "500", "--no-compare", "-o", str(out))
    assert_clean_failure(proc, "no Chinese text", code=2, output=out)
    monkeypatch.setitem(sys.modules, "tokkit.corpus.catalog", None)
    proc = run_main("extend-llama", "--base", str(llama_model), "-o", str(out))
    assert_clean_failure(proc, "pass a Chinese CORPUS", code=2, output=out)


def test_bad_base_in_a_real_process_has_no_traceback(tmp_path: Path, run, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"\x00\xff" * 1000)
    proc = run("extend-llama", "--base", str(junk), "--zh-model", str(junk), "-o", str(tmp_path / "o"))
    assert_clean_failure(proc, "not a sentencepiece model", code=2, output=tmp_path / "o")
    assert len(proc.stderr.strip().splitlines()) <= 2


def test_help_has_examples() -> None:
    for command, example in (("extend-llama", "tokkit extend-llama --base"),
                             ("resize-embeddings", "tokkit resize-embeddings --model")):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and example in result.output


def test_resize_embeddings_command(extended: Path, tmp_path: Path, run_main,  # type: ignore[no-untyped-def]
                                   assert_clean_failure) -> None:
    pytest.importorskip("torch")
    from tokkit.llama.tiny import build_tiny_llama

    tiny = build_tiny_llama(tmp_path / "tiny", vocab_size=32000, tie=True)
    out = tmp_path / "resized"
    result = CliRunner().invoke(cli, ["resize-embeddings", "--model", str(tiny), "--tokenizer", str(extended),
                                      "-o", str(out), "--pad-to-multiple-of", "64"])
    assert result.exit_code == 0, result.output
    assert "32,000 →" in result.output and "tied" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] % 64 == 0 and config["vocab_size"] >= read_meta(extended)["vocab_size"]
    assert read_meta(out)["resize_config"]["init"] == "subword-mean"

    small = build_tiny_llama(tmp_path / "small", vocab_size=500)
    proc = run_main("resize-embeddings", "--model", str(small), "--tokenizer", str(extended),
                    "-o", str(tmp_path / "bad"))
    assert_clean_failure(proc, "vocab mismatch", code=2, output=tmp_path / "bad")
    proc = run_main("resize-embeddings", "--model", str(tiny), "--tokenizer", str(extended), "-o", str(out))
    assert_clean_failure(proc, "already exists")
    proc = run_main("resize-embeddings", "--model", str(tiny), "--tokenizer", str(extended),
                    "-o", str(tmp_path / "s"), "--head-init", "silent")
    assert_clean_failure(proc, "needs --calibration", code=2, output=tmp_path / "s")
    english = tmp_path / "en.txt"
    english.write_text("The castle stood on a rock.\nIt was a dark night.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["resize-embeddings", "--model", str(tiny), "--tokenizer", str(extended),
                                      "-o", str(tmp_path / "s"), "--head-init", "silent", "--calibration", str(english)])
    assert result.exit_code == 0, result.output
    assert "silent on" in result.output
    assert read_meta(tmp_path / "s")["report"]["silent"]["positions"] > 10


def test_default_held_out_text_comes_from_the_catalog(heldout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokkit.cli.llama import _heldout

    found = _heldout((), (), skip=False)
    assert [p.name for p in found["zh"]] == ["zh_zizhitongjian.txt"]
    assert [p.name for p in found["en"]] == ["en_dracula.txt"]
    assert _heldout((), (), skip=True) == {}
    assert _heldout(("a.txt",), (), skip=False) == {"zh": ["a.txt"]}
    monkeypatch.setitem(sys.modules, "tokkit.corpus.catalog", None)
    assert _heldout((), (), skip=False) == {}
