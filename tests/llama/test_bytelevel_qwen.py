"""A Qwen-style base through ``tokkit extend`` and ``resize-embeddings``: a byte-level BPE trained
with Qwen 2's split pattern (single digits) and an explicit merge list (``tokenizer.json`` as Qwen
ships it, not ranks), ChatML specials after the regular tokens, a chat template, and a model
whose embedding matrix is padded beyond the tokenizer (Qwen 2: 151,936 rows for 151,665 ids)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokkit.llama.bytelevel_extend import ExtendRun, extend_bytelevel
from tokkit.llama.bytelevel_io import ByteLevelVocab, read_bytelevel
from tokkit.llama.resize import ResizeConfig, resize_embeddings
from tokkit.llama.tiny import build_tiny_llama
from tokkit.train.bpe_continue import ContinueConfig

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
ENGLISH = ["The quick brown fox jumps over the lazy dog 12345 times.", "It's 2024, and they've said: don't!",
           "Emperor Gaozu of Han rose in 202 BC; the dynasty lasted four centuries.", "  spaced\tout\nlines  "]
CHINESE = ["天下大势，分久必合，合久必分。", "周末七国分争，并入于秦。", "及秦灭之后，楚、汉分争，又并入于汉。",
           "汉朝自高祖斩白蛇而起义，一统天下。", "后来光武中兴，传至献帝，遂分为三国。"]
ADD = 40
PADDING = 20


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained by ``tokenizers`` the way Qwen's file is laid out; whole characters are base tokens."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=700, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator(ENGLISH * 5 + list("".join(CHINESE)) * 3, trainer)
    tokenizer.add_special_tokens(SPECIALS)
    directory = tmp_path_factory.mktemp("qwen") / "base"
    directory.mkdir()
    data = json.loads(tokenizer.to_str())
    merges = data["model"]["merges"]  # Qwen's list is in training order, not id order: swap two
    last = [m if isinstance(m, str) else " ".join(m) for m in merges[-2:]]
    assert "".join(last[0].split(" ")) not in last[1].split(" ")  # independent, so swapping is valid
    merges[-2], merges[-1] = merges[-1], merges[-2]
    (directory / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "Qwen2Tokenizer", "chat_template": CHATML, "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>", "bos_token": None, "errors": "replace"}), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def base(qwen_dir: Path) -> ByteLevelVocab:
    return read_bytelevel(qwen_dir)


@pytest.fixture(scope="module")
def run(qwen_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ExtendRun:
    root = tmp_path_factory.mktemp("qwen-ext")
    corpus = root / "zh.txt"
    corpus.write_text("\n".join(CHINESE * 30) + "\n", encoding="utf-8")
    return extend_bytelevel(qwen_dir, root / "out", zh_corpus=[corpus], config=ContinueConfig(add=ADD), workers=1)


def test_the_base_is_an_explicit_merge_list_with_specials_after_it(base: ByteLevelVocab) -> None:
    assert not base.ranked and base.merges
    assert base.pattern == QWEN2_PATTERN
    regular = len(base.ranks)
    assert [base.special_tokens[s] for s in SPECIALS] == [regular, regular + 1, regular + 2]
    assert all(ch.encode() in base.ranks for ch in "".join(CHINESE))


def test_extension_keeps_every_base_id_and_agrees_with_tokenizers(
        base: ByteLevelVocab, run: ExtendRun) -> None:
    from tokenizers import Tokenizer

    from tokkit.llama.bytelevel_extend import hf_encoder

    extended = read_bytelevel(run.output)
    assert run.extension.new_ids == list(range(base.next_id, base.next_id + ADD))
    assert {t: i for t, i in extended.ranks.items() if i < base.next_id} == base.ranks
    assert extended.special_tokens == base.special_tokens
    assert extended.merges is not None and extended.merges[: len(base.merges or [])] == base.merges
    hf = Tokenizer.from_file(str(run.output / "tokenizer.json"))
    new = {i: t for t, i in extended.ranks.items() if i >= base.next_id}
    assert all(hf.encode(t.decode(), add_special_tokens=False).ids == [i] for i, t in new.items())
    lines = ENGLISH + CHINESE + ["数字 1234567 和 汉朝 mixed 天下大势"]
    ours = extended.tokenizer()
    after = hf_encoder(extended, run.output / "tokenizer.json")(lines)
    assert [ours.encode(line) for line in lines] == after
    assert hf_encoder(base)(ENGLISH) == after[: len(ENGLISH)]  # English keeps the base's ids
    assert sum(map(len, after[len(ENGLISH):-1])) < sum(map(len, hf_encoder(base)(CHINESE)))
    assert [hf.decode(ids) for ids in after] == lines


def test_transformers_loads_it_with_the_chat_template(run: ExtendRun, base: ByteLevelVocab) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(run.output)
    assert tok.chat_template == CHATML
    ids = tok.apply_chat_template([{"role": "user", "content": CHINESE[0]}], tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    assert ids[0] == base.special_tokens["<|im_start|>"]
    assert max(ids) >= base.next_id  # new tokens in the chat


@pytest.mark.parametrize("tie", [False, True])
def test_resize_takes_the_padding_rows_then_grows(run: ExtendRun, base: ByteLevelVocab, tmp_path: Path,
                                                  tie: bool) -> None:
    rows = base.next_id + PADDING
    model = build_tiny_llama(tmp_path / "qwen", vocab_size=rows, hidden_size=16, num_layers=1, tie=tie)
    report = resize_embeddings(model, run.output, tmp_path / "out", config=ResizeConfig(init="subword-mean"))
    assert (report.padding_taken, report.initialised) == (PADDING, ADD)
    assert report.new_rows == base.next_id + ADD and report.tied is tie
    before = safetensors_torch.load_file(str(model / "model.safetensors"))
    after = safetensors_torch.load_file(str(tmp_path / "out" / "model.safetensors"))
    for key in ["model.embed_tokens.weight"] + ([] if tie else ["lm_head.weight"]):
        assert torch.equal(after[key][: base.next_id], before[key][: base.next_id])
        assert after[key].shape[0] == base.next_id + ADD
