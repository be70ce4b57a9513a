"""Tokenizers for the analysis tests: the real LLaMA and tiktoken ones, plus small ones trained here
with the libraries themselves (so every tokenizer family and its quirks are covered: byte-level BPE,
metaspace BPE with byte fallback, WordPiece with [UNK], sentencepiece unigram with NFKC and <unk>)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TRICKY = [
    "a",
    "  double  spaces  and trailing ",
    "\ttab\tand\u3000ideographic space",
    "emoji 🙂🚀 and 𠀀 (CJK Ext B) and ﬁ ligature",
    "ｆｕｌｌ－ｗｉｄｔｈ，全角。",
    "控制字符\x01\x7f and é",
    "a" * 3000,
    "混合 mixed 文本 with digits 12345 和 数字 ６７８",
    "罕见字：鞅 鬻 龘 𪚥",
    "special text <|endoftext|> and <|fim_prefix|> is ordinary here",
]


def _lines(path: Path, n: int) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip():
                out.append(line)
            if len(out) >= n:
                break
    return out


@pytest.fixture(scope="session")
def zh_lines(heldout: Path) -> list[str]:
    return _lines(heldout / "zh_zizhitongjian.txt", 400)


@pytest.fixture(scope="session")
def en_lines(heldout: Path) -> list[str]:
    return _lines(heldout / "en_dracula.txt", 400)


@pytest.fixture(scope="session")
def sample_texts(zh_lines: list[str], en_lines: list[str]) -> list[str]:
    return zh_lines[:200] + en_lines[:200] + TRICKY


@pytest.fixture(scope="session")
def training_text(corpora: Path) -> list[str]:
    zh = _lines(corpora / "zh" / "史记.txt", 3000)
    en = _lines(corpora / "en" / "pride_and_prejudice.txt", 3000)
    return zh + en


@pytest.fixture(scope="session")
def hf_byte_level(tmp_path_factory: pytest.TempPathFactory, training_text: list[str]) -> Path:
    """A GPT-2 style byte-level BPE tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"], show_progress=False)
    tok.train_from_iterator(training_text, trainer)
    path = tmp_path_factory.mktemp("hf_bl") / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="session")
def hf_metaspace_fallback(tmp_path_factory: pytest.TempPathFactory, training_text: list[str]) -> Path:
    """A LLaMA-style tokenizer.json: Metaspace BPE whose vocabulary holds the 256 <0xNN> pieces,
    ``byte_fallback`` on, decoder Replace(▁→' ') + ByteFallback + Fuse + Strip."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<unk>", "<s>", "</s>"],
                                  show_progress=False, limit_alphabet=400)
    tok.train_from_iterator(training_text, trainer)
    config = json.loads(tok.to_str())
    vocab = config["model"]["vocab"]
    for b in range(256):
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    config["model"]["byte_fallback"] = True
    config["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    path = tmp_path_factory.mktemp("hf_ms") / "tokenizer.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def hf_wordpiece(tmp_path_factory: pytest.TempPathFactory, training_text: list[str]) -> Path:
    """A BERT-style WordPiece trained on English only: Chinese becomes [UNK]."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=1000, special_tokens=["[UNK]", "[CLS]", "[SEP]"],
                                        show_progress=False, limit_alphabet=200)
    english = [t for t in training_text if t.isascii()]
    tok.train_from_iterator(english, trainer)
    path = tmp_path_factory.mktemp("hf_wp") / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="session")
def spm_unigram(tmp_path_factory: pytest.TempPathFactory, training_text: list[str]) -> Path:
    """A sentencepiece unigram model with NFKC, extra-whitespace removal and no byte fallback."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_text[:1200] + training_text[-1200:]), model_writer=model,
        vocab_size=1500,
        model_type="unigram", character_coverage=0.98, byte_fallback=False,
        normalization_rule_name="nmt_nfkc", minloglevel=2,
    )
    path = tmp_path_factory.mktemp("spm_uni") / "uni.model"
    path.write_bytes(model.getvalue())
    return path
