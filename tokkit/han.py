"""Tokens per Han character: the one definition every report uses (docs/analyze.md).

*Tokens per Han character* = every token of the text (Han, punctuation, spaces, Latin and digits
too, as the figure is usually quoted for Chinese text) / the text's Han characters
(``\\p{Script=Han}``). analyze's headline, extend-llama's and extend's before/after tables, the
pipeline report and ``tokkit explain`` all compute it here, so one tokenizer on one text shows one
number everywhere. (analyze's per-script table shows something else under another name: the
tokens *spent on* Han characters per Han character, ``token_cost_per_char``.)
"""

from __future__ import annotations

import regex

HAN_PATTERN = r"\p{Script=Han}"
"""What counts as a Han character (analyze's script classes use the same pattern)."""
HAN = regex.compile(HAN_PATTERN)
TITLE = "tokens/Han char"
"""The figure's name wherever a table shows it."""


def han_chars(text: str) -> int:
    """The Han characters of ``text``."""
    return len(HAN.findall(text))


def tokens_per_han_char(tokens: float, han: int) -> float | None:
    """``tokens`` (all of the text's) / ``han`` (its Han characters); None without Han text."""
    return tokens / han if han else None
