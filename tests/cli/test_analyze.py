"""``tokkit analyze`` / ``tokkit explain`` through the real entry point (errors included)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import regex

HAN = regex.compile(r"\p{Script=Han}")


def sample_lines(path: Path, max_bytes: int) -> list[str]:
    """What --max-bytes N --split line reads: non-blank lines until N UTF-8 bytes, the last one cut
    at a character boundary."""
    out, left = [], max_bytes
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = line.encode()
        if len(raw) >= left:
            cut = raw[:left].decode("utf-8", errors="ignore")
            if cut:
                out.append(cut)
            break
        out.append(line)
        left -= len(raw)
    return out


def test_llama_beside_cl100k_and_o200k_on_zizhitongjian(  # type: ignore[no-untyped-def]
    heldout: Path, llama_model: Path, tmp_path: Path, run_main
) -> None:
    import sentencepiece as spm

    from tokkit.load import load_tokenizer

    corpus = heldout / "zh_zizhitongjian.txt"
    out = tmp_path / "out"
    out.mkdir()
    proc = run_main("-q", "analyze", str(llama_model), "tiktoken:cl100k_base", "tiktoken:o200k_base",
                    "--corpus", str(corpus), "--max-bytes", "150000",
                    "--json", str(out / "zh.json"), "--plot", str(out / "zh.png"),
                    "--markdown", str(out / "zh.md"))
    assert proc.returncode == 0, proc.stderr
    # one table holds all three, with tokens per Han character
    header = next(line for line in proc.stdout.splitlines() if "figure" in line)
    assert all(name in header for name in ("llama", "cl100k_base", "o200k_base"))
    assert "tokens/Han char" in proc.stdout and "UTF-8 bytes/char" in proc.stdout
    data = json.loads((out / "zh.json").read_text(encoding="utf-8"))
    texts = sample_lines(corpus, 150_000)
    han = sum(len(HAN.findall(t)) for t in texts)
    sp = spm.SentencePieceProcessor(model_file=str(llama_model))
    direct = {"llama": sum(len(ids) for ids in sp.EncodeAsIds(texts))}
    for name in ("cl100k_base", "o200k_base"):
        enc = load_tokenizer(f"tiktoken:{name}").encoding  # type: ignore[attr-defined]
        direct[name] = sum(len(enc.encode_ordinary(t)) for t in texts)
    for r in data["results"]:
        f = r["figures"]
        assert f["documents"] == len(texts) and f["han_chars"] == han
        assert f["tokens"] == direct[r["tokenizer"]]
        assert f["tokens_per_han_char"] == direct[r["tokenizer"]] / han
        assert f["scripts"]["han"]["bytes_per_char"] == 3.0
    # the terminal shows the same numbers
    for name, tokens in direct.items():
        assert f"{tokens:,}" in proc.stdout, name
    assert f"{direct['llama'] / han:.3f}" in proc.stdout
    assert (out / "zh.png").read_bytes()[:4] == b"\x89PNG" and (out / "zh.png").stat().st_size > 5_000
    assert "| tokens/Han char |" in (out / "zh.md").read_text(encoding="utf-8")


def test_by_file_and_json_to_stdout(tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("商鞅变法\nhello world\n", encoding="utf-8")
    (corpus / "b.txt").write_text("司马光编资治通鉴\n", encoding="utf-8")
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "tiktoken:o200k_base", "-c", str(corpus),
                    "--by-file", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    files = {r["file"] for r in data["results"]}
    assert files == {None, str(corpus / "a.txt"), str(corpus / "b.txt")}
    whole = [r for r in data["results"] if r["file"] is None]
    parts = [r for r in data["results"] if r["file"] is not None and r["tokenizer"] == "o200k_base"]
    assert whole[1]["figures"]["tokens"] == sum(r["figures"]["tokens"] for r in parts)
    assert whole[1]["vs_baseline"]["tokens_ratio"] == pytest.approx(
        whole[1]["figures"]["tokens"] / whole[0]["figures"]["tokens"])


def test_explain_shows_byte_fallback(llama_model: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    proc = run_main("-q", "explain", str(llama_model), "商鞅变法")
    assert proc.returncode == 0, proc.stderr
    for expected in ("<0xE9>", "<0x9E>", "<0x85>", "byte_fallback", "part of 鞅", "e5 95 86",
                     "tokens/Han char", "Han split 1/4"):
        assert expected in proc.stdout, expected
    proc = run_main("-q", "explain", "tiktoken:o200k_base", "商鞅变法", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["tokenizer"] == "o200k_base"
    assert b"".join(bytes.fromhex(p["bytes"]) for p in data["pieces"]) == "商鞅变法".encode()


def test_help_has_examples(run_main) -> None:  # type: ignore[no-untyped-def]
    for command in ("analyze", "explain"):
        proc = run_main("-q", command, "--help")
        assert proc.returncode == 0 and "Example:" in proc.stdout and "tiktoken:cl100k_base" in proc.stdout


@pytest.fixture
def text_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "ok.txt"
    path.write_text("一些中文 and some English\n", encoding="utf-8")
    return path


def test_missing_tokenizer(tmp_path: Path, text_corpus: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    proc = run_main("-q", "analyze", str(tmp_path / "nope.model"), "-c", str(text_corpus))
    assert_clean_failure(proc, "nope.model: no such tokenizer", code=2)


def test_unknown_tiktoken_name(text_corpus: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    proc = run_main("-q", "analyze", "tiktoken:gpt5_base", "-c", str(text_corpus))
    assert_clean_failure(proc, "unknown tiktoken encoding", code=2)


def test_corrupt_model(tmp_path: Path, text_corpus: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.model"
    bad.write_bytes(b"\x00\x01not a protobuf" * 10)
    proc = run_main("-q", "explain", str(bad), "x")
    assert_clean_failure(proc, "broken.model: not a sentencepiece model", code=2)
    proc = run_main("-q", "analyze", str(bad), "-c", str(text_corpus))
    assert_clean_failure(proc, "not a sentencepiece model", code=2)


def test_empty_corpus_writes_nothing(tmp_path: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n", encoding="utf-8")
    out = tmp_path / "r.json"
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(empty), "--json", str(out))
    assert_clean_failure(proc, "no text to analyze", "empty.txt", code=2, output=out)


def test_corpus_errors(tmp_path: Path, run_main, assert_clean_failure) -> None:  # type: ignore[no-untyped-def]
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(tmp_path / "missing.txt"))
    assert_clean_failure(proc, "missing.txt: no such file", code=2)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9\n".encode("latin-1"))
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(bad))
    assert_clean_failure(proc, "invalid UTF-8 at byte offset 3", code=2)
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(bad), "--encoding-errors",
                    "replace", "--json", "-")
    assert proc.returncode == 0 and json.loads(proc.stdout)["results"][0]["figures"]["documents"] == 1
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(bad), "--max-bytes", "0")
    assert_clean_failure(proc, "--max-bytes 0", code=2)
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(bad), "--json",
                    str(tmp_path / "no" / "dir" / "r.json"))
    assert_clean_failure(proc, "does not exist", code=2)
    proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(bad), "--encoding-errors", "replace",
                    "--plot", "/proc/tokkit-analyze-test.png")
    assert_clean_failure(proc, "/proc/tokkit-analyze-test.png", code=2)  # no table on stdout either


def test_transformers_style_dirs(llama_model: Path, tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    """A transformers tokenizer dir: tokenizer.model (+ config) opens as sentencepiece; a dir with
    tokenizer.json opens with `tokenizers`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    spm_dir = tmp_path / "llama-hf"
    spm_dir.mkdir()
    (spm_dir / "tokenizer.model").symlink_to(llama_model)
    (spm_dir / "tokenizer_config.json").write_text('{"tokenizer_class": "LlamaTokenizer"}')
    json_dir = tmp_path / "bl-hf"
    json_dir.mkdir()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["商鞅变法 the law", "the the law 变法"] * 50,
                            trainers.BpeTrainer(vocab_size=300, show_progress=False,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(json_dir / "tokenizer.json"))
    corpus = tmp_path / "c.txt"
    corpus.write_text("商鞅变法，the law\n司马光\n", encoding="utf-8")
    proc = run_main("-q", "analyze", str(llama_model), str(spm_dir), str(json_dir), "-c", str(corpus),
                    "--json", "-")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [t["kind"] for t in data["tokenizers"]] == ["spm", "spm", "hf"]
    assert [t["name"] for t in data["tokenizers"]] == ["llama", "llama-hf", "bl-hf"]
    llama, llama_dir, byte_level = (r["figures"] for r in data["results"])
    assert llama == llama_dir
    texts = ["商鞅变法，the law", "司马光"]
    assert byte_level["tokens"] == sum(len(tok.encode(t).ids) for t in texts)
    assert byte_level["roundtrip_rate"] == 1.0


def test_cli_workers_option(tmp_path: Path, run_main) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("商鞅变法\nhello world\n" * 300, encoding="utf-8")
    (corpus / "b.txt").write_text("司马光编资治通鉴 🙂\n" * 300, encoding="utf-8")
    out = {}
    for workers in ("1", "2"):
        proc = run_main("-q", "analyze", "tiktoken:cl100k_base", "-c", str(corpus), "--by-file",
                        "--workers", workers, "--json", "-")
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["config"].pop("workers") == int(workers)
        out[workers] = data
    assert out["1"] == out["2"]
