"""Before/after numbers of a vocabulary extension on held-out text.

Tokens per Han character is the number the extension exists to lower (LLaMA spends ~1.9 on
Chinese, most characters falling back to three byte tokens); bytes per token is the
language-neutral compression; ``changed lines`` counts lines whose ids differ at all (with
``only_cjk`` it must be 0 on English). ``hf_mismatch`` counts lines where the exported
``tokenizer.json`` disagrees with sentencepiece (must be 0 except under the ``zero`` policy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tokkit.corpus.cjk import han_count
from tokkit.han import tokens_per_han_char

if TYPE_CHECKING:
    import sentencepiece as spm
    from tokenizers import Tokenizer as HFTokenizer

BATCH = 2048


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """One held-out text encoded by the base and the extended tokenizer."""

    name: str
    lines: int
    bytes: int
    han: int
    tokens_before: int
    tokens_after: int
    changed_lines: int
    hf_mismatch: int | None = None

    @property
    def tokens_per_han_before(self) -> float | None:
        return tokens_per_han_char(self.tokens_before, self.han)

    @property
    def tokens_per_han_after(self) -> float | None:
        return tokens_per_han_char(self.tokens_after, self.han)

    @property
    def bytes_per_token_before(self) -> float:
        return self.bytes / self.tokens_before if self.tokens_before else 0.0

    @property
    def bytes_per_token_after(self) -> float:
        return self.bytes / self.tokens_after if self.tokens_after else 0.0

    @property
    def token_reduction(self) -> float:
        return 1 - self.tokens_after / self.tokens_before if self.tokens_before else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            tokens_per_han_before=self.tokens_per_han_before,
            tokens_per_han_after=self.tokens_per_han_after,
            bytes_per_token_before=self.bytes_per_token_before,
            bytes_per_token_after=self.bytes_per_token_after,
            token_reduction=self.token_reduction,
        )
        return data


def hf_mismatches(hf: HFTokenizer, reference: Sequence[Sequence[int]], lines: Sequence[str]) -> int:
    """Lines where ``hf`` (a ``tokenizers.Tokenizer``) gives other ids than ``reference``."""
    bad = 0
    for start in range(0, len(lines), BATCH):
        encodings = hf.encode_batch(list(lines[start : start + BATCH]), add_special_tokens=False)
        bad += sum(
            e.ids != list(ref) for e, ref in zip(encodings, reference[start : start + BATCH], strict=True)
        )
    return bad


def compare(
    name: str,
    lines: Sequence[str],
    before: spm.SentencePieceProcessor,
    after: spm.SentencePieceProcessor,
    hf: HFTokenizer | None = None,
) -> Comparison:
    """Encode ``lines`` with both models (and optionally check ``hf`` against ``after``)."""
    lines = list(lines)
    ids_before = before.encode(lines)
    ids_after = after.encode(lines)
    return Comparison(
        name=name,
        lines=len(lines),
        bytes=sum(len(line.encode("utf-8", "surrogatepass")) for line in lines),
        han=sum(han_count(line) for line in lines),
        tokens_before=sum(map(len, ids_before)),
        tokens_after=sum(map(len, ids_after)),
        changed_lines=sum(a != b for a, b in zip(ids_before, ids_after, strict=True)),
        hf_mismatch=hf_mismatches(hf, ids_after, lines) if hf is not None else None,
    )
