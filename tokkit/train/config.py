"""Training configs shared by from-scratch trainers and library backends.

One config per algorithm, keyword-only, saved with every output (``tokkit.json``) so a vocabulary
can always be traced to how it was made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from tokkit.errors import InputError

Backend = Literal["scratch", "hf", "spm"]
MERGE_KERNELS = ("auto", "python", "numba")

COMPILED_MIN_SYMBOLS = 1_000_000
"""``merge_kernel="auto"`` takes the compiled loop from this many byte symbols of distinct chunks
(about 3 MB of ordinary text): below it the Python loop finishes before numba would have loaded."""
"""``BPEConfig.merge_kernel`` values; every one learns the same merges."""


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """What every algorithm shares.

    ``vocab_size`` is the final size including the base alphabet and the special tokens.
    """

    vocab_size: int
    special_tokens: tuple[str, ...] = ()
    min_frequency: int = 2

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["special_tokens"] = list(self.special_tokens)
        return data

    def check(self) -> None:
        if self.min_frequency < 0:
            raise InputError(f"`min_frequency` must be ≥ 0, got {self.min_frequency}")
        if len(set(self.special_tokens)) != len(self.special_tokens):
            raise InputError("`special_tokens`: the same special token is given twice")


@dataclass(frozen=True, kw_only=True)
class BPEConfig(TrainConfig):
    """Byte-level BPE: 256 byte symbols + merges + special tokens = ``vocab_size``.

    ``pattern`` is a built-in split pattern name (``gpt2``, ``gpt4``/``cl100k``, ``o200k``) or a
    custom regex; ``workers`` processes count pre-tokenized chunks (0: every core, 1: in this
    process, N; the meaning every stage gives ``workers``, :func:`tokkit.pool.worker_count`).
    ``merge_kernel`` picks the merge loop: ``python`` (:mod:`tokkit.train.bpe_merge`, the
    specification), ``numba`` (:mod:`tokkit.train.bpe_merge_numba`, compiled, same merges; needs
    ``pip install 'tokkit[fast]'``) or ``auto`` (numba when it is importable and the distinct
    chunks hold at least :data:`COMPILED_MIN_SYMBOLS` byte symbols, else python: importing numba and
    building its typed containers costs 1–3 s a process, which only a large corpus wins back).
    """

    pattern: str = "gpt4"
    workers: int | None = 0
    merge_kernel: str = "auto"
    max_memory: int | None = None
    """Bytes the run may use (None: half the machine's memory). Counting spills sorted partial
    counts to disk beyond a share of it (:mod:`tokkit.train.bpe_spill`); the merges are the same."""

    def kernel(self, symbols: int | None = None) -> str:
        """The merge loop that will run on distinct chunks of ``symbols`` byte symbols in all
        (None: a large corpus): ``merge_kernel`` with ``auto`` resolved."""
        if self.merge_kernel != "auto":
            return self.merge_kernel
        if symbols is not None and symbols < COMPILED_MIN_SYMBOLS:
            return "python"
        from tokkit.train.bpe_merge_numba import available

        return "numba" if available() else "python"

    def check(self) -> None:
        super().check()
        if self.max_memory is not None and self.max_memory <= 0:
            raise InputError(f"`max_memory` must be a positive number of bytes, got {self.max_memory}")
        if self.merge_kernel not in MERGE_KERNELS:
            raise InputError(f"merge_kernel must be one of {', '.join(MERGE_KERNELS)}, "
                             f"got '{self.merge_kernel}'")
        if self.merge_kernel == "numba":
            from tokkit.train.bpe_merge_numba import available

            if not available():
                raise InputError("merge_kernel 'numba' needs numba: pip install 'tokkit[fast]' "
                                 "(wheels, no compiler), or use merge_kernel='python'")
        floor = 256 + len(self.special_tokens)
        if self.vocab_size < floor:
            raise InputError(
                f"`vocab_size={self.vocab_size}` is smaller than the byte alphabet (256) plus "
                f"{len(self.special_tokens)} special tokens; use `vocab_size={floor}` or more"
            )


@dataclass(frozen=True, kw_only=True)
class WordPieceConfig(TrainConfig):
    """BERT-style WordPiece: special tokens + alphabet (characters and their ``##`` continuation
    forms) + merges = ``vocab_size``.

    Merges are chosen by the likelihood score ``count(ab) / (count(a) · count(b))``.
    ``limit_alphabet`` keeps only that many most frequent characters (words with others become
    ``[UNK]``); ``lowercase``/``strip_accents``/``handle_chinese_chars`` are BERT's normalizer options
    (``strip_accents=None`` follows ``lowercase``).
    """

    special_tokens: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    unk_token: str = "[UNK]"
    continuing_prefix: str = "##"
    lowercase: bool = True
    strip_accents: bool | None = None
    handle_chinese_chars: bool = True
    max_input_chars_per_word: int = 100
    limit_alphabet: int | None = None

    def check(self) -> None:
        super().check()
        if self.unk_token not in self.special_tokens:
            raise InputError(f"the unknown token '{self.unk_token}' must be one of the special tokens")
        if not self.continuing_prefix:
            raise InputError("the WordPiece continuation prefix must not be empty (BERT uses '##')")
        if self.max_input_chars_per_word < 1:
            raise InputError("`max_input_chars_per_word` must be ≥ 1")
        if self.limit_alphabet is not None and self.limit_alphabet < 1:
            raise InputError("`limit_alphabet` must be ≥ 1 (or left unset)")
        if self.vocab_size <= len(self.special_tokens):
            raise InputError(
                f"`vocab_size={self.vocab_size}` leaves no room beside {len(self.special_tokens)} special "
                f"tokens for the alphabet; use a vocab of {len(self.special_tokens) + 1} or more "
                "(in practice thousands)"
            )


@dataclass(frozen=True, kw_only=True)
class UnigramConfig(TrainConfig):
    """Unigram language model (sentencepiece's algorithm): special tokens (+ 256 byte pieces with
    ``byte_fallback``) + pieces = ``vocab_size``.

    ``character_coverage`` is the share of character occurrences the alphabet must cover (rarer
    characters become ``<unk>`` or bytes); ``seed_size`` substrings seed the vocabulary, which EM
    and loss-based pruning (``shrinking_factor`` per round) bring down to size. ``normalization``
    is ``nfkc`` or ``identity``. ``input_sentence_size`` bounds what the sentencepiece backend
    loads (0: everything); the from-scratch trainer always reads all of it. ``workers`` processes
    count words and run the from-scratch trainer's lattice work (0: every core, 1: in this process;
    the lattice uses at most 4, one per shard); the model does not depend on it.
    """

    special_tokens: tuple[str, ...] = ("<unk>", "<s>", "</s>")
    min_frequency: int = 2
    normalization: str = "nfkc"
    character_coverage: float = 0.9995
    byte_fallback: bool = False
    max_piece_length: int = 16
    seed_size: int = 1_000_000
    shrinking_factor: float = 0.75
    em_sub_iterations: int = 2
    input_sentence_size: int = 10_000_000
    workers: int | None = 0

    def check(self) -> None:
        super().check()
        if "<unk>" not in self.special_tokens:
            raise InputError("unigram: '<unk>' must be one of the special tokens")
        if self.normalization not in ("nfkc", "identity"):
            raise InputError(f"`normalization` must be nfkc or identity, got '{self.normalization}'")
        if not 0.9 <= self.character_coverage <= 1.0:
            raise InputError("`character_coverage` must be between 0.9 and 1.0 (e.g. 0.9995)")
        if not 1 <= self.max_piece_length <= 64:
            raise InputError("`max_piece_length` must be between 1 and 64")
        if not 0.5 <= self.shrinking_factor < 1.0:
            raise InputError("`shrinking_factor` must be in [0.5, 1.0)")
        if self.em_sub_iterations < 1 or self.seed_size < 1000:
            raise InputError("unigram: `em_sub_iterations` must be ≥ 1 and `seed_size` ≥ 1000")
        if self.input_sentence_size != 0 and self.input_sentence_size <= 100:
            raise InputError("`input_sentence_size` must be 0 (all sentences) or more than 100")
        floor = len(self.special_tokens) + (256 if self.byte_fallback else 0) + 1
        if self.vocab_size < floor:
            raise InputError(
                f"`vocab_size={self.vocab_size}` leaves no room for pieces beside {len(self.special_tokens)} "
                f"special tokens{' and 256 byte pieces' if self.byte_fallback else ''}; "
                f"use `vocab_size={floor}` or more (in practice thousands)"
            )
