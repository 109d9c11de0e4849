"""Writing delivery tables as UTF-8 CSV or Parquet (all columns strings), events in bounded chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .events import EventStore
from .strings import DateStrings

FORMATS = ("csv", "parquet")
CHUNK_ROWS = 1_000_000
# low-cardinality columns worth dictionary-encoding in Parquet
_DICTIONARY_COLUMNS = (
    "event_type", "event_date", "reported_on", "source", "detail", "end_date",
    "entity_type", "region_code", "industry_code", "established_on", "status", "closed_on",
    "party_kind", "role", "domain", "grade", "as_of", "unit_region_code", "domains",
)


def _parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path,
        schema,
        compression="snappy",
        use_dictionary=[c for c in schema.names if c in _DICTIONARY_COLUMNS],
        write_statistics=False,
    )


def write_table(table: pa.Table, path: Path, fmt: str) -> Path:
    """Write one table to ``path`` (its suffix is set from ``fmt``)."""
    path = path.with_suffix("." + fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        with _parquet_writer(path, table.schema) as w:
            for start in range(0, max(table.num_rows, 1), CHUNK_ROWS):
                w.write_table(table.slice(start, CHUNK_ROWS))
    return path


def event_chunks(store: EventStore, uscc: np.ndarray, dates: DateStrings, start: int, stop: int,
                 chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
    """Rows ``[start, stop)`` of the events as string tables of at most ``chunk_rows`` rows."""
    for lo in range(start, stop, chunk_rows):
        yield store.table(slice(lo, min(lo + chunk_rows, stop)), uscc, dates)


def part_ranges(n: int, part_rows: int) -> list[tuple[int, int]]:
    """Row ranges of the event parts (one range when ``n <= part_rows``)."""
    if part_rows <= 0:
        raise ValueError("part_rows must be positive")
    if n <= part_rows:
        return [(0, n)]
    return [(lo, min(lo + part_rows, n)) for lo in range(0, n, part_rows)]


def write_events(
    store: EventStore,
    out: Path,
    fmt: str,
    part_rows: int,
    uscc: np.ndarray,
    dates: DateStrings,
    progress: Callable[[float], None] | None = None,
) -> list[Path]:
    """``events.<ext>``, or ``events/part-001.<ext>``, ... when there are more than ``part_rows`` rows."""
    n = len(store)
    ranges = part_ranges(n, part_rows)
    if len(ranges) > 998:
        raise ValueError(f"{len(ranges)} event parts: raise part_rows")
    if len(ranges) == 1:
        paths = [out / f"events.{fmt}"]
    else:
        (out / "events").mkdir(parents=True, exist_ok=True)
        paths = [out / "events" / f"part-{i + 1:03d}.{fmt}" for i in range(len(ranges))]
    done = 0
    schema = pa.schema([(c, pa.string()) for c in EventStore.COLUMNS])
    for path, (lo, hi) in zip(paths, ranges):
        if fmt == "csv":
            with pacsv.CSVWriter(path, schema) as w:
                for chunk in event_chunks(store, uscc, dates, lo, hi):
                    w.write_table(chunk)
                    done += chunk.num_rows
                    if progress:
                        progress(done / max(n, 1))
        else:
            with _parquet_writer(path, schema) as w:
                for chunk in event_chunks(store, uscc, dates, lo, hi):
                    w.write_table(chunk)
                    done += chunk.num_rows
                    if progress:
                        progress(done / max(n, 1))
    return paths
