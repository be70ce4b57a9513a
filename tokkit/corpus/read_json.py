"""JSON Lines (a record a line, streamed) and .json files (one document, or JSON Lines)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator

from tokkit.corpus.decode import _CHUNK, decode_unit, read_capped, too_large
from tokkit.corpus.decompress import Source
from tokkit.corpus.options import Batch, ReadOptions, ReadStats, wanted
from tokkit.errors import InputError
from tokkit.types import ProgressTask

BATCH_RECORDS = 1024
"""Records a batch (and between progress updates)."""


def batched_records(records: Iterable[tuple[int, str | None]], src: Source, options: ReadOptions,
                    task: ProgressTask | None, want_ids: bool) -> Iterator[Batch]:
    """``(index, text)`` records as batches of the wanted ones, progress reported per batch."""
    ids: list[int] = []
    texts: list[str] = []
    for index, text in records:
        if text is None or not wanted(text, options):
            continue
        ids.append(index)
        texts.append(text)
        if len(texts) >= BATCH_RECORDS:
            src.report(task)
            yield (ids if want_ids else None), texts
            ids, texts = [], []
    src.report(task)
    if texts:
        yield (ids if want_ids else None), texts


def _record_text(record: object, src: Source, where: str, options: ReadOptions) -> str | None:
    """The text of one JSON record: a string record is its own text; ``null`` is empty."""
    if isinstance(record, str):
        return record
    if not isinstance(record, dict):
        raise InputError(f"{src.path}:{where}: expected a JSON object with a "
                         f"'{options.text_field}' field, got {type(record).__name__}")
    if options.text_field not in record:
        fields = ", ".join(sorted(record)[:8]) or "none"
        raise InputError(f"{src.path}:{where}: no field '{options.text_field}' (fields: {fields}); "
                         "pass `text_field=NAME`")
    value = record[options.text_field]
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{src.path}:{where}: field '{options.text_field}' is a "
                     f"{type(value).__name__}, not a string; pass `text_field=NAME`")


def _loads(raw: str, problem: Callable[[json.JSONDecodeError], str]) -> object:
    """The JSON value of ``raw``; invalid JSON is an :class:`InputError` saying ``problem(err)``."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(problem(err)) from None
    except RecursionError:
        deep = json.JSONDecodeError(f"nested too deeply to read (Python's limit is about "
                                    f"{sys.getrecursionlimit():,} levels)", raw, 0)
        raise InputError(problem(deep)) from None


def read_jsonl(src: Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
               want_ids: bool) -> Iterator[Batch]:
    """JSON Lines, a record a line; ids are 0-based line numbers."""
    yield from batched_records(_jsonl_records(src, options, stats), src, options, task, want_ids)


_JSON_SPACE = " \t\n\r"  # the whitespace JSON allows around a value
_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _json_line(raw: str) -> object:
    """``json.loads(raw)`` without its Python-level wrapper, a third of the time spent reading
    a jsonl corpus of short records. Anything but one clean value (a syntax error, extra data,
    a byte-order mark) goes through ``json.loads`` itself, for its very result or error."""
    body = raw.strip(_JSON_SPACE)
    try:
        record, end = _scan_json(body, 0)
    except (StopIteration, json.JSONDecodeError):
        return json.loads(raw)
    return record if end == len(body) else json.loads(raw)


def _jsonl_records(src: Source, options: ReadOptions, stats: ReadStats) -> Iterator[tuple[int, str | None]]:
    cap = options.max_document_bytes
    field = options.text_field
    offset = src.base
    lineno = 0
    while line := src.stream.readline(cap + 1):
        lineno += 1
        start, offset = offset, offset + len(line)
        if len(line) > cap and not line.endswith(b"\n"):
            raise too_large(src, f"record on line {lineno}", start, cap,
                            "split the record or raise `max_document_bytes`")
        if not line.strip():
            continue
        raw = decode_unit(line, start, src, options, stats, "record")
        if raw is None:
            continue
        try:
            record = _json_line(raw)
        except json.JSONDecodeError as err:
            raise InputError(f"{src.path}:{lineno}: invalid JSON ({err.msg} at column {err.colno}); "
                             "fix or remove that line") from None
        except RecursionError:
            raise InputError(f"{src.path}:{lineno}: JSON nested too deeply to read (Python's limit is "
                             f"about {sys.getrecursionlimit():,} levels); fix or remove that line") from None
        value = record.get(field) if type(record) is dict else None  # the usual record, at once
        yield lineno - 1, value if type(value) is str else _record_text(record, src, f"line {lineno}", options)


def _is_one_document(head: bytes) -> bool:
    """Whether a .json file whose first bytes are ``head`` is one JSON document rather than JSON
    Lines: an array, or a record spread over lines (its first line is not JSON on its own)."""
    start = head.lstrip()
    if start[:1] == b"[":
        return True
    if start[:1] != b"{":
        return False
    end = start.find(b"\n")
    if end < 0:  # one long line (or the peek ends inside it): a record a line
        return False
    try:
        json.loads(start[:end])
    except ValueError:
        return True
    return False


def read_json(src: Source, options: ReadOptions, stats: ReadStats, task: ProgressTask | None,
              want_ids: bool) -> Iterator[Batch]:
    """A .json file: one JSON document (an array of records or a single record, read whole up
    to the cap), or JSON Lines (streamed) when its first line is a record on its own."""
    if not _is_one_document(src.stream.peek(_CHUNK)):  # type: ignore[attr-defined]
        yield from read_jsonl(src, options, stats, task, want_ids)
        return
    cap = options.max_document_bytes
    data, _ = read_capped(src.stream, cap)
    if data is None:
        raise too_large(src, "the JSON document", None, cap,
                         "convert it to JSON Lines (.jsonl, one record a line) to stream it")
    raw = decode_unit(data, src.base, src, options, stats, "file")
    src.report(task)
    if raw is None:
        return
    document = _loads(raw, lambda err: f"{src.path}: invalid JSON at line {err.lineno} column "
                      f"{err.colno} ({err.msg}); fix the file")
    records = document if isinstance(document, list) else [document]  # a single record
    texts = ((index, _record_text(record, src, f"record {index}", options))
             for index, record in enumerate(records))
    yield from batched_records(texts, src, options, task, want_ids)
