"""The Unigram tokenizer's normalization: one rule per character, which every library can apply alike.

A rule maps a single character to a string: every whitespace character that ``str.split`` knows
(``\\t \\n \\r \\f \\v \\x1c``–``\\x1f \\x85 \\u2028``, the Unicode spaces…) becomes a space, and under
``nfkc`` every character becomes its own NFKC form (``ｆ`` → ``f``, ``①`` → ``1``, ``ﬁ`` → ``fi``).
Words are then what lies between spaces.

Why per character, and not NFKC of the whole text: the exported sentencepiece model carries these
rules as its ``precompiled_charsmap``, and sentencepiece applies a charsmap by longest match — with
single-character rules that is exactly ``str.translate``. Whole-text NFKC (composing ``e`` + U+0301
into ``é``, reordering marks) is no charsmap, so the ``.model`` could not agree with tokkit on every
string. The cost: decomposed input (NFD) stays decomposed.

:data:`DELETED` is removed everywhere: the ``tokenizer.json`` export uses it as a marker (see
:func:`tokkit.models.unigram_export.to_hf`), so a real one must not survive in any of the three.
The rules follow the running Python's ``unicodedata`` (Unicode 14 on 3.11); a character assigned
in a later Unicode version may map differently under another Python.
"""

from __future__ import annotations

import functools
import sys
import unicodedata

SPACE_CHAR = " "
DELETED = "\U000e0080"
"""An unassigned, default-ignorable code point (a grapheme boundary): the export's marker."""
RULE_NAMES = {"nfkc": "tokkit_nfkc", "identity": "tokkit_identity"}
"""The ``normalizer_spec.name`` of an exported ``.model``, by tokkit normalization."""


def _whitespace() -> list[str]:
    return [chr(c) for c in range(0x3001) if chr(c).isspace() and chr(c) != SPACE_CHAR]


@functools.cache
def char_rules(normalization: str) -> dict[str, str]:
    """``{character: replacement}`` for every character the rules change (identity rules omitted)."""
    rules: dict[str, str] = {}
    if normalization == "nfkc":
        for code in range(sys.maxunicode + 1):
            char = chr(code)
            if unicodedata.decomposition(char):  # NFKC changes no character without one
                mapped = unicodedata.normalize("NFKC", char)
                if mapped != char:
                    rules[char] = "".join(SPACE_CHAR if c.isspace() else c for c in mapped)
    rules.update(dict.fromkeys(_whitespace(), SPACE_CHAR))
    rules[DELETED] = ""
    return rules


@functools.cache
def _table(normalization: str) -> dict[int, str]:
    return str.maketrans(char_rules(normalization))


def normalize_text(text: str, normalization: str) -> str:
    """``text`` with the rules applied: only spaces are left as whitespace.

    ASCII text has no rule but the whitespace ones, which ``str.split`` already honours, so it is
    returned as is (the fast path for the words of English text).
    """
    if text.isascii():
        return text
    return text.translate(_table(normalization))


def split_words(text: str, normalization: str) -> list[str]:
    """The words of ``text`` after the rules (runs of whitespace separate; none is kept)."""
    return normalize_text(text, normalization).split()


@functools.cache
def precompiled_charsmap(normalization: str, *, with_deleted: bool = True) -> bytes:
    """The rules compiled by sentencepiece into its ``precompiled_charsmap`` format."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    rules = sorted(char_rules(normalization).items())
    if not with_deleted:
        rules = [(k, v) for k, v in rules if k != DELETED]
    normalizer = spm.SentencePieceNormalizer(norm_map=rules)
    spec = pb.NormalizerSpec()  # type: ignore[attr-defined]
    spec.ParseFromString(normalizer.serialized_normalizer_spec())
    return bytes(spec.precompiled_charsmap)


def onig_class(chars: list[str]) -> str:
    """A regex character class (Oniguruma syntax, as ``tokenizers`` uses) of ``chars``, as ranges."""
    codes = sorted(ord(c) for c in chars)
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        parts.append(f"\\x{{{start:x}}}" if start == prev else f"\\x{{{start:x}}}-\\x{{{prev:x}}}")
        start = prev = code
    return "[" + "".join(parts) + "]"
