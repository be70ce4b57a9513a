"""The files of one ``extend-llama`` dir are one tokenizer: ``tokenizer.json`` (through tokkit,
``tokenizers`` and ``transformers``) and ``tokenizer.model`` give the same ids on every line, text
spelling ``<unk>``/``<s>``/``</s>`` included, and ``transformers`` keeps BOS and EOS as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokkit.backends.hf import HFTokenizer
from tokkit.backends.spm import SPMTokenizer
from tokkit.load import load_tokenizer

SYNTHETIC = ["<unk>", " <unk> ", "@-@ <unk> @-@", "<s>", "</s>", "<s></s><unk>", "a<s>b</s>c", "<<unk>>",
             "< unk >", "<unk><unk>", "\t<s>\n", "中文<unk>混合</s>", "<0x41>", "▁<s>", "<pad>", "<S>"]


@pytest.fixture(scope="module")
def literal_lines(corpora: Path) -> list[str]:
    """Every WikiText line that spells ``<unk>`` (WikiText's placeholder for rare words)."""
    lines = [line for path in sorted((corpora / "en").glob("wiki*")) for line in
             path.read_text(encoding="utf-8").splitlines() if "<unk>" in line]
    assert len(lines) == 4062  # the count in the issue
    return lines


def test_tokenizer_json_and_model_agree_on_literal_special_text(
        extended_dir: Path, literal_lines: list[str]) -> None:
    sp = SPMTokenizer.load(extended_dir / "tokenizer.model")
    hf = HFTokenizer.load(extended_dir / "tokenizer.json")
    assert load_tokenizer(extended_dir / "tokenizer.json").encode("<unk>") == sp.encode("<unk>")
    lines = literal_lines + SYNTHETIC
    want = sp.encode_batch(lines)
    assert hf.encode_batch(lines) == want
    assert [hf.encode(line) for line in SYNTHETIC] == want[-len(SYNTHETIC):]
    assert sum(map(len, hf.encode_batch(lines))) == sum(map(len, want))
    assert hf.special_tokens["</s>"] == 2 and hf.special_tokens["<s>"] == 1  # still known as specials


def test_transformers_agrees_on_literal_special_text(extended_dir: Path, literal_lines: list[str]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(extended_dir)
    sp = SPMTokenizer.load(extended_dir / "tokenizer.model")
    lines = literal_lines[:1000] + SYNTHETIC
    assert tok(lines, add_special_tokens=False)["input_ids"] == sp.encode_batch(lines)
    ids = tok("x <unk> y")["input_ids"]
    assert ids == [1, *sp.encode("x <unk> y")]
    assert tok.decode(ids, skip_special_tokens=True) == "x <unk> y"


def test_transformers_reads_bos_eos_as_written_and_toggles_keep_the_other(extended_dir: Path) -> None:
    from transformers import AutoTokenizer

    sp = SPMTokenizer.load(extended_dir / "tokenizer.model")
    body = sp.encode("A sample test")
    tok = AutoTokenizer.from_pretrained(extended_dir)
    assert (tok.add_bos_token, tok.add_eos_token) == (True, False)
    assert tok.encode("A sample test") == [1, *body]
    tok.add_eos_token = True
    assert tok.encode("A sample test") == [1, *body, 2]
    assert tok.add_bos_token is True
    tok.add_bos_token = False
    assert tok.encode("A sample test") == [*body, 2]
    tok.add_eos_token = False
    assert tok.encode("A sample test") == body
    tok.add_bos_token = True
    assert tok("A sample test", "two")["input_ids"] == [1, *body, 1, *sp.encode("two")]
