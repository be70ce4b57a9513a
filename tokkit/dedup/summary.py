"""dedup's figures in one sentence a person reads (the pipeline's stage line, the CLI's table).

>>> summary_line({"documents": 1000, "kept": 950, "removed_exact": 30, "removed_near": 20,
...               "clusters": 40, "without_shingles": 120}, granularity="paragraph", near_min_words=10)
'kept 950 of 1,000 paragraphs (95.0%): removed 30 exact and 20 near duplicates in 40 clusters; 120 under 10 words were checked for exact duplicates only'
"""

from __future__ import annotations

from collections.abc import Mapping


def summary_line(counts: Mapping[str, int], *, granularity: str = "document", near_min_words: int | None = None) -> str:
    """``kept K of N units (P%): removed E exact and M near duplicates in C clusters; ...``."""
    documents, kept = counts.get("documents", 0), counts.get("kept", 0)
    unit = f"{granularity}s" if documents != 1 else granularity
    share = f" ({kept / documents:.1%})" if documents else ""
    line = (f"kept {kept:,} of {documents:,} {unit}{share}: removed {counts.get('removed_exact', 0):,} exact "
            f"and {counts.get('removed_near', 0):,} near duplicates in {counts.get('clusters', 0):,} clusters")
    short = counts.get("without_shingles", 0)
    if short:
        why = f"under {near_min_words} words" if near_min_words else "too short to shingle"
        line += f"; {short:,} {why} were checked for exact duplicates only"
    return line
