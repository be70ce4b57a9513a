"""``analyze --compare``: LLaMA against its own ``--only-cjk`` extension, on held-out text."""

from __future__ import annotations

from pathlib import Path

import sentencepiece as spm

from tokkit.analyze.extension_diff import compare_extension, line_script
from tokkit.llama.extend import ExtendConfig, extend_model
from tokkit.llama.spm_io import ModelProto


def test_only_cjk_extension_changes_no_line_without_han(
        base: ModelProto, zh: ModelProto, llama_model: Path, heldout: Path,
        tmp_path: Path) -> None:
    result = extend_model(base, zh, ExtendConfig(only_cjk=True))
    extended = tmp_path / "extended.model"
    extended.write_bytes(result.model.SerializeToString())
    corpus = tmp_path / "corpus.txt"
    lines = [*(heldout / "en_dracula.txt").read_text(encoding="utf-8").split("\n")[:2000],
             *(heldout / "zh_zizhitongjian.txt").read_text(encoding="utf-8").split("\n")[:500]]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [line for line in lines if line]  # a document is a non-empty line
    diff = compare_extension(llama_model, extended, [corpus]).to_json()
    # independently, with sentencepiece itself
    before = spm.SentencePieceProcessor(model_file=str(llama_model)).encode(lines)
    after = spm.SentencePieceProcessor(model_file=str(extended)).encode(lines)
    by_script: dict[str, list[int]] = {}
    for line, a, b in zip(lines, before, after, strict=True):
        counts = by_script.setdefault(line_script(line), [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += a != b
        counts[2] += len(a)
        counts[3] += len(b)
    got = {s: [d["lines"], d["changed_lines"], d["tokens_before"], d["tokens_after"]]
           for s, d in diff["scripts"].items()}
    assert got == by_script
    assert all(d["changed_lines"] == 0 for s, d in diff["scripts"].items() if s != "han")
    assert diff["scripts"]["han"]["saved_share"] > 0.3
    assert diff["new_tokens"] == len(result.model.pieces) - len(base.pieces)
    assert 0 < diff["new_tokens_used"] < diff["new_tokens"]


def test_line_script() -> None:
    assert line_script("汉字 and words") == "han"
    assert line_script("plain English words") == "latin"
    assert line_script("12345") == "digit"
    assert line_script("") == "other"
