"""Regex pre-tokenization: split text into chunks that BPE merges never cross.

The patterns are the published split rules of GPT-2, GPT-4 (cl100k_base) and GPT-4o (o200k_base).
They are used by the from-scratch trainer through the `regex` module and by the `tokenizers`
backend through its own (Oniguruma) engine; both give the same chunks on these patterns.
"""

from __future__ import annotations

import functools

import regex

from tokkit.errors import InputError

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s+"""
)

O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

PATTERNS: dict[str, str] = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN, "o200k": O200K_PATTERN}
"""Built-in split patterns by name; ``cl100k`` is an alias of ``gpt4``."""
PATTERNS["cl100k"] = GPT4_PATTERN


def resolve_pattern(name_or_regex: str) -> str:
    """A built-in pattern's regex by name, or a custom regex checked for validity."""
    if name_or_regex in PATTERNS:
        return PATTERNS[name_or_regex]
    try:
        regex.compile(name_or_regex)
    except regex.error as err:
        raise InputError(
            f"`pattern`: '{name_or_regex}' is neither a built-in ({', '.join(PATTERNS)}) "
            f"nor a valid regex ({err})"
        ) from None
    return name_or_regex


@functools.lru_cache(maxsize=16)
def compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def split(text: str, pattern: str) -> list[str]:
    """The chunks of ``text`` under ``pattern`` (a regex, see :func:`resolve_pattern`)."""
    return compiled(pattern).findall(text)
