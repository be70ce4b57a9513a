"""The one object that decides what counts as a duplicate; saved in every dedup manifest.

Every stage (shingling, signatures, LSH, clustering) reads its knobs from :class:`DedupConfig`, so
the same config drives the local engine and a cluster engine and explains an output afterwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from tokkit.errors import InputError

Unit = Literal["auto", "char", "word"]
Granularity = Literal["document", "paragraph"]
Keep = Literal["first", "longest"]
EncodingFallback = Literal["strict", "replace", "skip", "latin1"]
Verify = Literal["exact", "estimate"]


@dataclass(frozen=True, kw_only=True)
class DedupConfig:
    """How to find duplicates.

    ``threshold`` is the estimated Jaccard similarity of shingle sets above which two documents
    are near-duplicates; ``num_perm`` MinHash permutations (datasketch's affine32 scheme, seeded by
    ``seed``); shingles are ``ngram`` consecutive ``unit``s (``auto``: characters for CJK-heavy
    documents, words otherwise). ``bands``/``rows`` override datasketch's optimal LSH parameters.
    Otherwise they are optimised by datasketch for the threshold with
    ``false_positive_weight``/``false_negative_weight``: candidates are verified against the
    estimated Jaccard afterwards, so a false positive costs one signature comparison while a false
    negative is a duplicate left in; the default 0.05/0.95 (16 bands x 8 rows for 0.8/128) finds
    95 % of pairs at the threshold, where datasketch's 0.5/0.5 (9 x 13) finds 40 %.
    ``verify`` decides how a candidate pair is confirmed: by the exact Jaccard of the two
    documents' shingle-hash sets (``exact``; the sets are kept on disk beside the signatures) or
    by the MinHash estimate (``estimate``; its standard error at 0.8 with 128 permutations is
    0.035, so pairs at 0.75 pass one time in ten).
    ``lowercase`` applies to exact dedup only (near dedup always case-folds). Documents shorter
    than ``min_length`` characters are never removed: at paragraph granularity, stock lines
    ("CHAPTER I", '"What do you mean?"') recur in unrelated books.
    ``near_min_words`` (default 10, about 50 characters of English) is the minimum length for
    *near*-duplicate detection, in words, a CJK character counting as one (:func:`~tokkit.dedup.
    shingles.count_words`), as datatrove's filters take a minimum word count: a text of a few
    shingles has a MinHash that says little, and casefolded ``'    CHAPTER XIII'`` and
    ``'Chapter XIII'`` share every shingle, so shorter texts are only exact-deduplicated (they are
    not shingled at all).
    """

    threshold: float = 0.8
    num_perm: int = 128
    ngram: int = 5
    unit: Unit = "auto"
    granularity: Granularity = "document"
    keep: Keep = "first"
    seed: int = 1
    lowercase: bool = False
    exact: bool = True
    near: bool = True
    cjk_ratio: float = 0.3
    bands: int | None = None
    rows: int | None = None
    false_positive_weight: float = 0.05
    false_negative_weight: float = 0.95
    verify: Verify = "exact"
    min_length: int = 0
    near_min_words: int = 10
    batch_docs: int = 2048
    batch_chars: int = 1_000_000

    def check(self) -> DedupConfig:
        """Raise :class:`InputError` on nonsensical values; return self for chaining."""
        if not 0.0 < self.threshold <= 1.0:
            raise InputError(f"`threshold={self.threshold!r}`: must be in (0, 1], e.g. 0.8")
        if not 2 <= self.num_perm <= 4096:
            raise InputError(f"`num_perm={self.num_perm!r}`: must be between 2 and 4096, e.g. 128")
        if not 1 <= self.ngram <= 64:
            raise InputError(f"`ngram={self.ngram!r}`: must be between 1 and 64, e.g. 5")
        if self.unit not in ("auto", "char", "word"):
            raise InputError(f"`unit={self.unit!r}`: choose auto, char or word")
        if self.granularity not in ("document", "paragraph"):
            raise InputError(f"`granularity={self.granularity!r}`: choose document or paragraph")
        if self.keep not in ("first", "longest"):
            raise InputError(f"`keep={self.keep!r}`: choose first or longest")
        if not 0.0 <= self.cjk_ratio <= 1.0:
            raise InputError(f"cjk_ratio {self.cjk_ratio}: must be in [0, 1]")
        if self.verify not in ("exact", "estimate"):
            raise InputError(f"`verify={self.verify!r}`: choose exact or estimate")
        if (self.bands is None) != (self.rows is None):
            raise InputError("give both `bands` and `rows`, or neither (then they are optimised)")
        if self.bands is not None and self.rows is not None and (
            self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm
        ):
            raise InputError(
                f"`bands={self.bands!r}` x `rows={self.rows!r}` must be >= 1 and fit in `num_perm={self.num_perm!r}`"
            )
        if not (self.false_positive_weight >= 0 and self.false_negative_weight >= 0
                and self.false_positive_weight + self.false_negative_weight > 0):
            raise InputError("LSH false positive/negative weights must be >= 0 and not both 0")
        if self.min_length < 0:
            raise InputError(f"`min_length={self.min_length!r}`: must be >= 0 characters")
        if self.near_min_words < 0:
            raise InputError(f"`near_min_words={self.near_min_words!r}`: must be >= 0")
        if self.batch_docs < 1 or self.batch_chars < 1:
            raise InputError("batch sizes must be positive")
        if not (self.exact or self.near):
            raise InputError("nothing to do: enable exact and/or near dedup")
        return self

    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows): the override, or datasketch's optimum for ``threshold``/``num_perm``."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        from tokkit.dedup.lsh import optimal_params

        return optimal_params(self.threshold, self.num_perm, self.false_positive_weight,
                              self.false_negative_weight)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DedupConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names}).check()
