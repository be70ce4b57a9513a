"""`tokkit train-bpe` on real commands: outputs, end-of-run table, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tokkit.cli import cli, main
from tokkit.load import load_tokenizer, read_meta


@pytest.mark.parametrize("backend", ["hf", "spm"])
def test_trains_and_writes_a_loadable_tokenizer(backend: str, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vocab" / backend
    vocab = "300" if backend == "hf" else "350"
    result = CliRunner().invoke(cli, ["train-bpe", str(corpus), "--vocab", vocab, "--backend",
                                      backend, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "bytes/token" in result.output and "peak memory" in result.output
    assert read_meta(out)["backend"] == backend
    tok = load_tokenizer(out)
    assert tok.vocab_size == int(vocab)
    assert tok.decode(tok.encode("best of 天下")) == "best of 天下"


def test_default_output_is_under_vocab(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["-q", "train-bpe", str(corpus), "--vocab", "300", "--backend", "hf"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "vocab" / "bpe-hf-300" / "tokkit.json").exists()


def test_invalid_utf8_names_file_and_offset(tmp_path: Path, run, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nbad \xff byte\n")
    out = tmp_path / "out"
    proc = run("train-bpe", str(bad), "--vocab", "300", "--backend", "hf", "-o", str(out))
    assert_clean_failure(proc, f"{bad}: invalid UTF-8 at byte offset 14", "--encoding-errors", output=out)
    ok = run("-q", "train-bpe", str(bad), "--vocab", "300", "--backend", "hf", "-o", str(out),
             "--encoding-errors", "replace")
    assert ok.returncode == 0, ok.stderr


def test_huge_line_is_refused_with_the_fix(tmp_path: Path, run, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (3 << 20))
    out = tmp_path / "o"
    proc = run("train-bpe", str(big), "--vocab", "300", "--backend", "hf", "-o", str(out),
               "--max-document-mb", "1")
    assert_clean_failure(proc, str(big), "--max-document-mb", output=out)


def test_only_empty_and_binary_files(tmp_path: Path, run, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "empty.txt").write_bytes(b"")
    (tmp_path / "c" / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    out = tmp_path / "out"
    proc = run("train-bpe", str(tmp_path / "c"), "--vocab", "300", "--backend", "hf", "-o", str(out))
    assert_clean_failure(proc, "no documents to train on", output=out)
    assert "empty file" in proc.stderr and "binary file" in proc.stderr


@pytest.mark.parametrize("backend", ["scratch", "hf", "spm"])
def test_vocab_smaller_than_alphabet(backend: str, corpus: Path, tmp_path: Path, run,  # type: ignore[no-untyped-def]
                                     assert_clean_failure) -> None:
    out = tmp_path / "out"
    proc = run("train-bpe", str(corpus), "--vocab", "200", "--backend", backend, "-o", str(out))
    assert_clean_failure(proc, "--vocab 200 is smaller than", output=out)


def test_spm_vocab_larger_than_learnable(corpus: Path, tmp_path: Path, run,  # type: ignore[no-untyped-def]
                                         assert_clean_failure) -> None:
    out = tmp_path / "o"
    proc = run("train-bpe", str(corpus), "--vocab", "5000", "--backend", "spm", "-o", str(out))
    assert_clean_failure(proc, "--vocab 5000 is more than sentencepiece can learn", "or less", output=out)


def test_main_is_importable_without_running() -> None:
    assert callable(main)


def test_quiet_works_after_the_command_too(corpus, tmp_path, run_main) -> None:  # type: ignore[no-untyped-def]
    loud = run_main("train-bpe", str(corpus), "--vocab", "300", "-o", str(tmp_path / "loud"))
    quiet = run_main("train-bpe", str(corpus), "--vocab", "300", "-o", str(tmp_path / "quiet"), "-q")
    assert loud.returncode == 0 and quiet.returncode == 0, quiet.stderr
    assert "merging pairs" in loud.stderr
    assert quiet.stderr == "" and quiet.stdout == loud.stdout.replace("loud", "quiet")
    assert (tmp_path / "quiet" / "tokenizer.json").exists()


def test_merge_kernels_learn_the_same_merges(tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    from tokkit.train.bpe_merge_numba import available

    corpus = tmp_path / "c.txt"
    lines = [f"line {i} 第{i}行 low lower lowest 我们学习中文 " + "汉字" * (i % 7) for i in range(300)]
    corpus.write_text("\n".join(lines) + "\n" + "汉字" * 1500 + " word" * 40 + "\n", encoding="utf-8")
    kernels = ["python", "auto"] + (["numba"] if available() else [])
    merges = {}
    for kernel in kernels:
        out = tmp_path / kernel
        result = run_main("-q", "train-bpe", str(corpus), "--vocab", "600", "--merge-kernel", kernel,
                          "--workers", "1", "-o", str(out))
        assert result.returncode == 0, result.stderr
        meta = read_meta(out)
        assert meta["config"]["merge_kernel"] == kernel
        ran = meta["report"]["trainer"]["merge_kernel"]
        assert ran == (kernel if kernel != "auto" else "python")  # auto: a small corpus keeps Python
        merges[kernel] = load_tokenizer(out).merges  # type: ignore[attr-defined]
    assert len(merges["python"]) == 600 - 256 - 1
    assert all(m == merges["python"] for m in merges.values())


def test_unknown_merge_kernel_is_refused(corpus: Path, tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    result = run_main("train-bpe", str(corpus), "--merge-kernel", "rust", "-o", str(tmp_path / "o"))
    assert result.returncode == 2 and "--merge-kernel" in result.stderr
    assert not (tmp_path / "o").exists()


def test_max_memory_spills_and_keeps_the_merges(tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"word{i} 第{i}行 low lower" for i in range(3000)) + "\n", encoding="utf-8")
    merges = {}
    for limit in ("8GB", "20kB"):
        out = tmp_path / limit
        result = run_main("-q", "train-bpe", str(corpus), "--vocab", "500", "--max-memory", limit,
                          "--workers", "1", "-o", str(out))
        assert result.returncode == 0, result.stderr
        meta = read_meta(out)
        assert meta["config"]["max_memory"] == {"8GB": 8_000_000_000, "20kB": 20_000}[limit]
        merges[limit] = (load_tokenizer(out).merges, meta["report"]["trainer"]["spilled_runs"])  # type: ignore[attr-defined]
    assert merges["8GB"][0] == merges["20kB"][0] and merges["8GB"][1] == 0 < merges["20kB"][1]


def test_bad_max_memory_is_one_line(corpus: Path, tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    result = run_main("train-bpe", str(corpus), "--max-memory", "lots", "-o", str(tmp_path / "o"))
    assert result.returncode == 2 and "'lots' is not a size; write e.g. 1GB" in result.stderr
    assert not (tmp_path / "o").exists()
