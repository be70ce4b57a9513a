"""Extend LLaMA's vocabulary for Chinese and resize a checkpoint's embeddings to match.

Importing this package loads neither torch nor transformers; :mod:`tokkit.llama.resize` and
:mod:`tokkit.llama.tiny` import them inside their functions (the ``cpt`` extra).
"""

from tokkit.llama.extend import SCORE_POLICIES, ExtendConfig, ExtendResult, extend_model
from tokkit.llama.recipe import ExtendRun, extend_llama
from tokkit.llama.zh_model import ZhModelConfig, train_zh_model

__all__ = [
    "SCORE_POLICIES",
    "ExtendConfig",
    "ExtendResult",
    "ExtendRun",
    "ZhModelConfig",
    "extend_llama",
    "extend_model",
    "train_zh_model",
]
