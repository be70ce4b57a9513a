"""`tokkit train-unigram` on real commands: outputs for all backends, sampling note, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sentencepiece as spm

from tokkit.load import load_tokenizer, read_meta


@pytest.fixture
def corpus(make_corpus: Callable[..., Path]) -> Path:
    """120 lines: more than ``--input-sentence-size 101``, so the sampling test samples."""
    return make_corpus(60)


@pytest.mark.parametrize("backend", ["scratch", "hf", "spm"])
def test_trains_and_writes_a_loadable_tokenizer(backend: str, corpus: Path, tmp_path: Path,
                                                 train_cli: Callable[..., dict[str, Any]]) -> None:
    out = tmp_path / "vocab" / backend
    train_cli("unigram", corpus, 60, backend, out)
    tok = load_tokenizer(out)
    assert tok.vocab_size <= 60
    assert tok.decode(tok.encode("the best of times")) == "the best of times"
    if backend == "scratch":
        assert {p.name for p in out.iterdir()} == {
            "unigram.json", "unigram.vocab", "spm.model", "tokenizer.json", "tokkit.json",
            "train_report.json"}
        sp = spm.SentencePieceProcessor(model_file=str(out / "spm.model"))
        assert list(sp.EncodeAsIds("the best of 天下")) == tok.encode("the best of 天下")


def test_sampling_is_said(corpus: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    proc = run("train-unigram", str(corpus), "--vocab", "60", "--backend", "spm",
               "--input-sentence-size", "101", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "random sample of 101 of" in proc.stderr
    assert read_meta(tmp_path / "out")["report"]["trainer"]["sampled_sentences"] == 101


def test_bad_input(tmp_path: Path, corpus: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert_clean_failure(run_main("-q", "train-unigram", str(binary), "-o", str(out)), "no documents",
                         output=out)
    assert_clean_failure(run_main("train-unigram", str(corpus), "--vocab", "10", "-o", str(out)),
                         "is smaller than the", "--byte-fallback", output=out)
    assert_clean_failure(run_main("train-unigram", str(corpus), "--vocab", "100", "--byte-fallback",
                                  "-o", str(out)), "no room", output=out)
    assert_clean_failure(run_main("train-unigram", str(corpus), "--character-coverage", "2", "-o", str(out)),
                         "--character-coverage", output=out)
    assert_clean_failure(run_main("train-unigram", str(corpus), "--input-sentence-size", "50", "-o", str(out)),
                         "--input-sentence-size", output=out)
    ok = run_main("-q", "train-unigram", str(corpus), "--vocab", "300", "--byte-fallback", "-o", str(out))
    assert ok.returncode == 0, ok.stderr
    tok = load_tokenizer(out)
    assert tok.decode(tok.encode("天下 ☃ 합")) == "天下 ☃ 합"  # unseen characters as bytes


def test_spm_backend_on_only_overlong_lines_names_the_file_and_the_limit(
        tmp_path: Path, run_main, assert_clean_failure) -> None:
    """sentencepiece's own words were ``INTERNAL: src/trainer_interface.cc(467) [!sentences_.empty()]``."""
    corpus = tmp_path / "long.txt"
    corpus.write_text("\n".join(" ".join(f"w{i}{j}" for j in range(1000)) for i in range(3)) + "\n",
                      encoding="utf-8")  # three lines of ~5.9 kB: over the 4192-byte limit
    out = tmp_path / "out"
    proc = run_main("train-unigram", str(corpus), "--vocab", "60", "--backend", "spm", "-o", str(out))
    line = assert_clean_failure(proc, str(corpus), "max_sentence_length", "4192 bytes", "shorter lines",
                                code=2, output=out)
    assert "INTERNAL" not in line and "trainer_interface" not in line


def test_spm_backend_vocab_below_the_characters_is_said_in_the_cli_flags(
        tmp_path: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    """sentencepiece's required-characters refusal names ``--vocab``, the flag the user typed (it
    said ``vocab_size 100``, the library's name, unconverted)."""
    han = [chr(0x4E00 + 7 * i) for i in range(300)]
    corpus = tmp_path / "han.txt"
    corpus.write_text("".join("".join(han[(31 * i + j) % 300] for j in range(30)) + "\n"
                              for i in range(200)) * 3, encoding="utf-8")
    out = tmp_path / "out"
    proc = run_main("train-unigram", str(corpus), "--vocab", "100", "--backend", "spm", "-o", str(out))
    line = assert_clean_failure(proc, "--vocab 100 is smaller than the ", code=2, output=out)
    needed = int(line.split("smaller than the ")[1].split()[0])
    assert needed >= 300 and line.endswith(f"use --vocab {needed} or more"), line
    assert "vocab_size" not in line
