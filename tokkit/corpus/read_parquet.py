"""Parquet files: one record batch of one row group in memory at a time."""

from __future__ import annotations

from collections.abc import Iterator

from tokkit.corpus.decompress import Source
from tokkit.corpus.options import Batch, ReadOptions, ReadStats, wanted
from tokkit.errors import InputError
from tokkit.types import ProgressTask

PARQUET_BATCH_ROWS = 1024


def read_parquet(src: Source, options: ReadOptions, stats: ReadStats,
                  task: ProgressTask | None, want_ids: bool) -> Iterator[Batch]:
    """Parquet, one record batch of one row group in memory at a time; ids are row numbers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.raw)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"{src.path}: not a readable parquet file ({err}); "
                         "check the file") from None
    schema = pf.schema_arrow
    if options.text_field not in schema.names:
        fields = ", ".join(schema.names[:8])
        raise InputError(f"{src.path}: no column '{options.text_field}' (columns: {fields}); "
                         "pass `text_field=NAME`")
    kind = schema.field(options.text_field).type
    is_string_view = getattr(pa.types, "is_string_view", lambda _: False)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or is_string_view(kind)):
        raise InputError(f"{src.path}: column '{options.text_field}' holds {kind}, not strings; "
                         "pass `text_field=NAME`")
    first = 0
    rows = max(1, pf.metadata.num_rows)
    size = src.path.stat().st_size
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[options.text_field]):
            values = batch.column(0).to_pylist()
            keep = [i for i, t in enumerate(values) if t is not None and wanted(t, options)]
            if keep:
                yield ([first + i for i in keep] if want_ids else None), [values[i] for i in keep]
            first += len(values)
            if task is not None:
                done = size * first // rows
                task.advance(max(0, done - src._reported))
                src._reported = max(src._reported, done)
    except pa.ArrowException as err:
        raise InputError(f"{src.path}: corrupt parquet data ({err}); check the file") from None
