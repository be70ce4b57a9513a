"""Plain text files: a whole file, its paragraphs (blocks between blank lines) or its lines."""

from __future__ import annotations

from collections.abc import Iterator

from tokkit.corpus.decode import (
    cap_advice,
    decode_unit,
    filter_lines,
    line_regions,
    read_capped,
    region_lines,
    too_large,
    utf8_len,
)
from tokkit.corpus.decompress import Source
from tokkit.corpus.options import Batch, ReadOptions, ReadStats, wanted
from tokkit.types import ProgressTask


def read_text(src: Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
    """Text files; ids are the 0-based line number for lines, the paragraph number for
    paragraphs."""
    cap = options.max_document_bytes
    if options.split == "file":
        data, newline = read_capped(src.stream, cap)
        if data is None:
            fix = ("read it with `split='line'` or 'paragraph', or raise `max_document_bytes`" if newline else
                   "its first max_document_bytes hold no line break either, so split='line' would not help: "
                   f"raise {cap_advice(src)}")
            raise too_large(src, "the file (one document with split='file')", None, cap, fix)
        text = decode_unit(data, src.base, src, options, stats, "file")
        src.report(task)
        if text is not None and wanted(text, options):
            yield None, [text]
        return
    lineno = 0
    block: list[str] = []
    size = first_line = index = 0
    for offset, region in line_regions(src, cap):
        lines = region_lines(region, offset, src, options, stats)
        src.report(task)
        if options.split == "line":
            yield filter_lines(lines, lineno, options, want_ids)
            lineno += len(lines)
            continue
        paragraphs: list[str] = []
        for line in lines:
            lineno += 1
            if line is None:
                continue
            if line and not line.isspace():
                if not block:
                    first_line = lineno
                block.append(line)
                size += utf8_len(line) + 1
                if size > cap:
                    number = index + len(paragraphs)
                    raise too_large(src, f"paragraph {number} (from line {first_line})", None,
                                     cap, "read it with `split='line'`, or raise `max_document_bytes`")
            elif block:
                paragraphs.append("\n".join(block))
                block, size = [], 0
        if paragraphs:
            yield (list(range(index, index + len(paragraphs))) if want_ids else None), paragraphs
            index += len(paragraphs)
    if block:
        yield ([index] if want_ids else None), ["\n".join(block)]
