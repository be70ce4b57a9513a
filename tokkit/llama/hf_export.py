"""Write a sentencepiece BPE model (LLaMA's, Mistral's, or an extended one) as a ``transformers``
tokenizer dir whose ids equal sentencepiece's.

``transformers``' own conversion of a LLaMA ``tokenizer.model`` disagrees with sentencepiece: it
ranks merges by piece id rather than score (``▁▁`` is id 259 with score −1e9, so it merges first)
and its ``Metaspace`` step adds no ``▁`` to a line that already starts with a space. The export is
built stage by stage the way sentencepiece encodes, by :mod:`tokkit.backends.spm_hf` (which also
writes the ``spm`` trainers' ``tokenizer.json``, and documents how user-defined pieces such as
Mistral v3's ``[REFERENCE_DOC_k]``, text spelling ``<s>``/``<unk>`` and BOS/EOS are handled); this
module keeps the LLaMA recipe to BPE models with the ``identity`` normalizer, what the extension
step appends pieces to.

Exact parity needs distinct scores among the pieces a line can merge (sentencepiece breaks score
ties by position, a ranked merge list cannot); :func:`score_ties` finds them.
"""

from __future__ import annotations

from typing import Any

from tokkit.backends.spm_hf import (
    BPE_TYPE,
    MERGEABLE,
    NORMAL,
    SPECIAL_TOKENS_MAP,
    TOKENIZER_CONFIG,
    TOKENIZER_JSON,
    bpe_merges,
    score_ties,
    unbuilt_pieces,
    user_defined,
    write_hf_tokenizer,
)
from tokkit.backends.spm_hf import build_hf_tokenizer as _build
from tokkit.errors import InputError
from tokkit.llama.spm_io import ModelProto

__all__ = ["MERGEABLE", "NORMAL", "SPECIAL_TOKENS_MAP", "TOKENIZER_CONFIG", "TOKENIZER_JSON",
           "bpe_merges", "build_hf_tokenizer", "score_ties", "unbuilt_pieces", "user_defined",
           "write_hf_tokenizer"]


def build_hf_tokenizer(model: ModelProto) -> Any:
    """A ``tokenizers.Tokenizer`` that encodes like sentencepiece with the LLaMA-style ``model``."""
    if model.trainer_spec.model_type != BPE_TYPE:
        raise InputError(
            "the tokenizer.json export needs a sentencepiece BPE model (LLaMA's is BPE); "
            "pass a BPE tokenizer.model"
        )
    spec = model.normalizer_spec
    if spec.name not in ("identity", "") or spec.precompiled_charsmap:
        raise InputError(
            f"the tokenizer.json export supports the 'identity' normalizer (LLaMA's), not '{spec.name}'; "
            "pass a LLaMA-style tokenizer.model"
        )
    return _build(model)
