"""Find a delivery's files and read each into a DuckDB staging table of text columns.

Every reader produces the same shape: a temporary view with ``_line`` (the
record's position: CSV line number, Excel sheet row, Parquet 1-based row) and
one VARCHAR column ``c<i>`` per file column (also the quarantine's original
text); plus a list of malformed rows (line, original text).  A Parquet column
already typed as a date or a number is also exposed typed (``t<i>``), so it is
not parsed again; and each reader tells which columns need cleaning at all
(``Staged.dirty``: a full-width form or an untrimmed edge somewhere), so that
clean columns skip the per-cell normalisation.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import struct
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import contract
from .. import sql
from ..normalise import arrow_needs_cleaning, header_key
from .guards import EncodingMix, Unreadable, XlsxLimits, check_headers, check_xlsx, recode, scan_lines

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}
CHUNK = 16 << 20


@dataclass
class DeliveryFile:
    path: Path
    rel: str  # path relative to the delivery, as reported
    table: str | None
    format: str | None


@dataclass
class Staged:
    """A file read into a staging table."""

    name: str  # DuckDB temp table name
    columns: dict[str, str]  # contract column -> staged column name
    raw_columns: list[str]  # staged columns in file order (for the original text)
    rows: int
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, why)
    encoding: str | None = None
    headers: list[str] = field(default_factory=list)
    keep: object = None  # Arrow data a view reads (XLSX), kept alive until released
    temp_file: Path | None = None  # the temporary Parquet copy of a CSV
    dirty: set[str] | None = None  # staged columns that need cleaning (None: all of them)
    typed: dict[str, str] = field(default_factory=dict)  # staged column -> DuckDB type of its typed twin t<i>
    misencoded: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, why): bad_encoding rows
    encoding_note: str | None = None  # the file's mix of encodings ("3 rows not GB18030 (UTF-8)"), if any

    def needs_cleaning(self, col: str) -> bool:
        return self.dirty is None or col in self.dirty


# --------------------------------------------------------------------------- discovery
def _table_for_stem(stem: str) -> str | None:
    s = stem.lower()
    for t in sorted(contract.TABLES, key=len, reverse=True):
        if s == t or s.startswith(t + "-") or s.startswith(t + "_") or s.startswith(t + "."):
            return t
    return None


def discover(path: Path) -> list[DeliveryFile]:
    """Files of a delivery (folder or single file), sorted; unknown files have ``table=None``."""
    path = Path(path)
    if not path.exists():
        from ..errors import RiskgradeError

        raise RiskgradeError(f"no such file or folder: {path}")
    if path.is_file():
        fmt = FORMATS.get(path.suffix.lower())
        return [DeliveryFile(path, path.name, _table_for_stem(path.stem), fmt)]
    out: list[DeliveryFile] = []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            table = entry.name.lower() if entry.name.lower() in contract.TABLES else None
            for f in sorted(p for p in entry.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))):
                out.append(DeliveryFile(f, str(f.relative_to(path)), table, FORMATS.get(f.suffix.lower())))
        else:
            out.append(DeliveryFile(entry, entry.name, _table_for_stem(entry.stem), FORMATS.get(entry.suffix.lower())))
    return out


def sniff_table(headers: list[str]) -> str | None:
    """Guess the table of a file whose name does not say it, from its headers."""
    keys = {header_key(h) for h in headers}
    best, best_hits = None, 0
    for t in contract.TABLES.values():
        req = [c for c in t.columns if c.required]
        hits = sum(1 for c in req if _aliases(c) & keys)
        if hits == len(req) and hits > best_hits:
            best, best_hits = t.name, hits
    return best


def _aliases(col: contract.Column) -> set[str]:
    return {header_key(col.name)} | {header_key(a) for a in col.aliases}


def map_headers(table: contract.Table, headers: list[str]) -> dict[str, int]:
    """contract column -> index of the file column; raises Unreadable when required ones are missing."""
    found: dict[str, int] = {}
    for i, h in enumerate(headers):
        k = header_key(h)
        for col in table.columns:
            if k in _aliases(col):
                if col.name in found:
                    raise Unreadable(f"duplicate_header: column {col.name} appears twice "
                                     f"(headers {headers[found[col.name]]!r} and {h!r})")
                found[col.name] = i
    missing = [c for c in table.columns if c.required and c.name not in found]
    if missing:
        names = ", ".join(f"{c.name} ({c.aliases[0]})" if c.aliases else c.name for c in missing)
        raise Unreadable(f"missing required column(s) for table {table.name}: {names}")
    return found


# --------------------------------------------------------------------------- encodings
def detect_encoding(path: Path) -> str:
    """'utf-8', 'utf-8-sig', 'utf-16' or 'gb18030', by strict decoding of the whole file; 'mixed' when it
    is neither as a whole (:func:`scan_lines` then classifies its lines)."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            enc = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        else:
            enc = "utf-8"
        f.seek(0)
        tail = b""
        while chunk := f.read(CHUNK):
            if b"\x00" in chunk:
                raise Unreadable("binary content (NUL bytes): not a CSV text file")
            buf = tail + chunk if tail else chunk
            cut = _complete_utf8(buf)
            if not _valid_utf8(memoryview(buf)[:cut]):
                break
            tail = buf[cut:]
        else:
            if not tail:
                return enc
        f.seek(0)
        dec = codecs.getincrementaldecoder("gb18030")()
        try:
            while chunk := f.read(CHUNK):
                dec.decode(chunk)
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return "mixed"  # neither as a whole: :func:`scan_lines` tells line by line (or refuses)
    return "gb18030"


def _complete_utf8(buf: bytes) -> int:
    """Length of ``buf`` without an incomplete UTF-8 sequence at its end (a chunk boundary)."""
    for k in range(1, min(4, len(buf)) + 1):
        b = buf[-k]
        if b & 0xC0 != 0x80:  # the last character's first byte
            need = 1 if b < 0x80 else 2 if b >> 5 == 0b110 else 3 if b >> 4 == 0b1110 else 4 if b >> 3 == 0b11110 else 1
            return len(buf) - k if need > k else len(buf)
    return len(buf)


def _valid_utf8(data: memoryview) -> bool:
    """Strict UTF-8 validation of a byte range with Arrow's validator (far faster than decoding)."""
    offsets = pa.py_buffer(struct.pack("<qq", 0, len(data)))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


# --------------------------------------------------------------------------- readers
_q = sql.ident  # quote an identifier for DuckDB


def _stage_name(i: int) -> str:
    return f"stage_{i}"


def read_file(con: duckdb.DuckDBPyConnection, df: DeliveryFile, stage_id: int, tmpdir: Path,
              converted: Future | None = None, limits: XlsxLimits | None = None) -> tuple[Staged, str]:
    """Read one file into a temp table; returns (staged, table name).  Raises Unreadable.

    ``converted``: for a CSV file, its conversion already started by :func:`convert_csv_files`;
    ``limits``: what an .xlsx may declare (:func:`check_xlsx`)."""
    if df.format is None:
        raise Unreadable(f"unknown file type {df.path.suffix or '(none)'}: expected .csv, .parquet or .xlsx")
    if df.path.stat().st_size == 0:
        raise Unreadable("empty file")
    name = _stage_name(stage_id)
    if df.format == "csv":
        return _read_csv(con, df, name, converted.result() if converted is not None else _convert_csv(df, name, tmpdir))
    if df.format == "parquet":
        return _read_parquet(con, df, name)
    check_xlsx(df.path, limits or XlsxLimits())
    return _read_xlsx(con, df, name)


def _finish(con: duckdb.DuckDBPyConnection, df: DeliveryFile, name: str, headers: list[str], src_cols: list[str],
            line_expr: str, source_sql: str, malformed: list[tuple[int, str, str]], encoding: str | None,
            keep: object = None, dirty: set[int] | None = None, typed: dict[int, str] | None = None,
            rows: int | None = None) -> tuple[Staged, str]:
    """Expose the file as a temporary VIEW ``name(_line, c0, c1, ..., t<i>...)`` over its source (no copy).

    ``dirty``: indexes of the columns that need cleaning (None: all); ``typed``: index -> DuckDB type of
    the columns also exposed typed as ``t<i>``."""
    check_headers(headers)
    table = df.table or sniff_table(headers)
    if table is None:
        raise Unreadable("cannot tell which table this file is (name it entities/events/...; headers did not match)")
    mapping = map_headers(contract.TABLES[table], headers)
    raw_cols = [f"c{i}" for i in range(len(headers))]
    typed = typed or {}
    select = [f"CAST({src_cols[i]} AS VARCHAR) AS c{i}" for i in range(len(headers))]
    select += [f"{src_cols[i]} AS t{i}" for i in sorted(typed)]
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {line_expr} AS _line, {', '.join(select)} FROM {source_sql}")
    if rows is None:
        rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    staged = Staged(name, {c: f"c{i}" for c, i in mapping.items()}, raw_cols, int(rows), malformed, encoding,
                    headers=headers, keep=keep, dirty=None if dirty is None else {f"c{i}" for i in dirty},
                    typed={f"c{i}": t for i, t in typed.items()})
    return staged, table


def _csv_to_parquet(path: Path, encoding: str, threads: bool, out: Path,
                    exclude: set[int] | None = None) -> tuple[list[str], list, set[int], int, list]:
    """Stream a CSV (all columns as text) into a Parquet file with its record numbers (``_rg_line``).

    Returns (headers, bad rows, indexes of the columns that need cleaning, rows written, excluded rows).
    Rows whose field count differs from the header are collected, not written; so are the rows of the
    lines ``exclude`` (another encoding's lines), as (line, their cells as a CSV line).  With ``threads`` their record
    numbers are unknown (the caller reads again on one thread when there are any).
    """
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    bad: list = []

    def on_invalid(row) -> str:
        bad.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    header = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding=enc, block_size=1 << 16),
                            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda r: "skip"))
    names = header.schema.names
    header.close()
    check_headers(names)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=threads, encoding=enc, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                             quoted_strings_can_be_null=False),
    )
    done = 0  # good rows (including blank ones) before this batch
    written = 0
    excluded: list[tuple[int, str]] = []
    dirty: set[int] = set()
    writer = None
    try:
        for batch in reader:
            n = batch.num_rows
            k = np.arange(done, done + n, dtype=np.int64)
            nums = np.array(sorted(int(b[0]) for b in bad if b[0] is not None), dtype=np.int64)
            if nums.size:
                g = nums - 2 - np.arange(nums.size)
                line = k + 2 + np.searchsorted(g, k, side="right")
            else:
                line = k + 2
            done += n
            t = pa.Table.from_batches([batch]).append_column("_rg_line", pa.array(line))
            keep = None
            for col in names:  # blank lines are not records
                c = pc.not_equal(t.column(col), "")
                keep = c if keep is None else pc.or_(keep, c)
            if keep is not None:
                t = t.filter(keep)
            if exclude:
                other = pc.is_in(t.column("_rg_line"), value_set=pa.array(sorted(exclude), pa.int64()))
                if pc.any(other).as_py():
                    for r in t.filter(other).to_pylist():
                        buf = io.StringIO()
                        csv.writer(buf).writerow([r[n] for n in names])
                        excluded.append((r["_rg_line"], buf.getvalue().rstrip("\r\n")))
                    t = t.filter(pc.invert(other))
            for i, col in enumerate(names):
                if i not in dirty and arrow_needs_cleaning(t.column(col)):
                    dirty.add(i)
            written += t.num_rows
            if writer is None:
                writer = pq.ParquetWriter(out, t.schema, compression="snappy")
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # header only
        empty = pa.table({**{n: pa.array([], pa.string()) for n in names}, "_rg_line": pa.array([], pa.int64())})
        pq.write_table(empty, out)
    return names, bad, dirty, written, excluded


@dataclass
class _ConvertedCsv:
    """A CSV file streamed to a temporary Parquet file (what :func:`_csv_to_parquet` found)."""

    encoding: str
    out: Path
    headers: list[str]
    bad: list
    dirty: set[int]
    rows: int
    misencoded: list = field(default_factory=list)  # (line, text) of the other encoding's rows
    mix: EncodingMix | None = None


def _convert_csv(df: DeliveryFile, name: str, tmpdir: Path) -> _ConvertedCsv:
    """The part of reading a CSV that needs no DuckDB connection (pyarrow releases the GIL while it
    parses, checks and writes, so files convert in parallel threads).  Raises Unreadable."""
    encoding = detect_encoding(df.path)
    tmpdir.mkdir(parents=True, exist_ok=True)
    out = tmpdir / f"{name}-{os.getpid()}.parquet"
    src, mix = df.path, None
    if encoding == "gb18030" or encoding == "mixed":  # not UTF-8 as a whole: which lines are in which
        mix = scan_lines(df.path)
        if mix is not None:
            encoding = mix.encoding
            src = tmpdir / f"{name}-{os.getpid()}.recoded.csv"
            recode(df.path, mix, src)
    exclude = mix.lines if mix else None
    try:
        headers, bad, dirty, rows, other = _csv_to_parquet(src, encoding, True, out, exclude)
        if bad:  # rare: read again on one thread, which reports each bad row's record number
            headers, bad, dirty, rows, other = _csv_to_parquet(src, encoding, False, out, exclude)
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as e:
        out.unlink(missing_ok=True)
        raise Unreadable(f"not a readable CSV file: {str(e).splitlines()[0]}") from None
    finally:
        if src != df.path:
            src.unlink(missing_ok=True)
    return _ConvertedCsv(encoding, out, headers, bad, dirty, rows, other, mix)


@contextlib.contextmanager
def convert_csv_files(files: list[DeliveryFile], tmpdir: Path, workers: int) -> Iterator[dict[int, Future]]:
    """Start converting the delivery's CSV files (index in ``files`` = stage id) on ``workers`` threads,
    in file order; yields {stage id: future of the conversion} for :func:`read_file`.  On leaving, waits
    for the conversions still running (none is left writing into ``tmpdir``) and cancels the others."""
    todo = {i: df for i, df in enumerate(files) if df.format == "csv" and df.path.is_file() and df.path.stat().st_size}
    if len(todo) < 2 or workers < 2:  # nothing to overlap: read_file converts in turn
        yield {}
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(todo)), thread_name_prefix="riskgrade-csv")
    try:
        yield {i: pool.submit(_convert_csv, df, _stage_name(i), tmpdir) for i, df in todo.items()}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_csv(con: duckdb.DuckDBPyConnection, df: DeliveryFile, name: str, conv: _ConvertedCsv) -> tuple[Staged, str]:
    """CSV through pyarrow: strict field counts (a row with more or fewer fields than the header is
    reported, never padded or truncated), GB18030 decoded on the fly, blank lines skipped.  The rows
    are streamed to a temporary Parquet file (``conv``), so memory stays bounded whatever the file's size."""
    malformed = [(int(num) if num is not None else 0, (text or "").strip("\r\n"),
                  f"expected {exp} fields, found {act}") for num, text, exp, act in conv.bad]
    p = sql.path(conv.out)
    try:
        staged, table = _finish(con, df, name, conv.headers, [_q(h) for h in conv.headers], "_rg_line",
                                f"read_parquet('{p}')", malformed, conv.encoding, dirty=conv.dirty, rows=conv.rows)
    except Unreadable:
        conv.out.unlink(missing_ok=True)
        raise
    staged.temp_file = conv.out
    if conv.mix is not None:
        staged.encoding_note = conv.mix.note
        staged.misencoded = [(line, text, f"line in {conv.mix.other.upper()}, the file is {conv.mix.encoding.upper()}")
                             for line, text in conv.misencoded]
    return staged, table


# Parquet column types kept typed (their text form needs no cleaning either)
_DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "FLOAT", "DOUBLE")


def is_date_type(t: str) -> bool:
    return t in _DATE_TYPES


def is_number_type(t: str) -> bool:
    return t in _NUMBER_TYPES or t.startswith("DECIMAL")


def _parquet_dirty(con: duckdb.DuckDBPyConnection, path: Path, types: list[str], check: set[int]) -> set[int]:
    """Indexes of the columns of a Parquet file that need cleaning.  Text columns in ``check`` are
    tested batch by batch with Arrow kernels; a column stored dictionary-encoded is read as such and
    only its dictionary is tested (a few distinct values instead of every cell).  Typed dates, numbers
    and booleans never need cleaning; other text columns (not mapped, or the USCC, cleaned per distinct
    value) are not tested."""
    dirty = {i for i, t in enumerate(types) if t != "VARCHAR" and not (is_date_type(t) or is_number_type(t) or t == "BOOLEAN")}
    todo = sorted(i for i in check if types[i] == "VARCHAR")
    dirty |= {i for i, t in enumerate(types) if t == "VARCHAR" and i not in todo}
    if not todo:
        return dirty
    try:
        batches, names = _parquet_text_batches(path, todo)
    except (pa.ArrowException, OSError, ValueError):  # DuckDB reads what pyarrow cannot: let it
        p = sql.path(path)
        cols = ", ".join(f"#{i + 1}" for i in todo)
        reader = con.execute(f"SELECT {cols} FROM read_parquet('{p}')").to_arrow_reader(1 << 18)
        batches, names = (b.columns for b in reader), todo
    for columns in batches:
        for i, column in zip(names, columns):
            if i not in dirty and arrow_needs_cleaning(column):
                dirty.add(i)
        if all(i in dirty for i in todo):
            break
    return dirty


def _parquet_text_batches(path: Path, todo: list[int]):
    """(batches of the columns ``todo`` (ascending indexes) of a Parquet file, ``todo``); columns whose
    every chunk has a dictionary page come as dictionary arrays."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    names = meta.schema.to_arrow_schema().names
    if len(names) != meta.num_columns or len(set(names)) != len(names):
        raise ValueError("nested or duplicate columns")
    wanted = [names[i] for i in todo]
    dicts = [n for i, n in zip(todo, wanted)
             if meta.num_row_groups and all(meta.row_group(g).column(i).has_dictionary_page for g in range(meta.num_row_groups))]
    f = pq.ParquetFile(path, read_dictionary=dicts)
    return (batch.columns for batch in f.iter_batches(batch_size=1 << 20, columns=wanted)), todo


def _read_parquet(con: duckdb.DuckDBPyConnection, df: DeliveryFile, name: str) -> tuple[Staged, str]:
    p = sql.path(df.path)
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{p}')").fetchall()
        headers, types = [r[0] for r in desc], [r[1] for r in desc]
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{p}')").fetchall()[0][0]
        check_headers(headers)
        table = df.table or sniff_table(headers)
        mapped = map_headers(contract.TABLES[table], headers) if table else {}
        dirty = _parquet_dirty(con, df.path, types, {i for c, i in mapped.items() if c != "uscc"})
    except duckdb.Error as e:
        raise Unreadable(f"not a readable Parquet file: {str(e).splitlines()[0]}") from None
    typed = {i: t for i, t in enumerate(types) if is_date_type(t) or is_number_type(t)}
    try:
        return _finish(con, df, name, headers, [_q(h) for h in headers], "(file_row_number + 1)",
                       f"read_parquet('{p}', file_row_number=true)", [], None, dirty=dirty, typed=typed, rows=rows)
    except duckdb.Error as e:
        raise Unreadable(f"not a readable Parquet file: {str(e).splitlines()[0]}") from None


def _cell(v: object) -> str | None:
    import datetime as _dt

    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def _read_xlsx(con: duckdb.DuckDBPyConnection, df: DeliveryFile, name: str) -> tuple[Staged, str]:
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(df.path))
        sheet = wb.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as e:  # calamine raises its own error types
        raise Unreadable(f"not a readable Excel .xlsx file: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if not rows:
        raise Unreadable("the first sheet is empty")
    headers = [(_cell(h) or f"column{i + 1}") for i, h in enumerate(rows[0])]
    width = len(headers)
    body = rows[1:]
    while body and all(_cell(v) is None for v in body[-1]):
        body.pop()  # trailing blank rows of the sheet
    cols = {f"h{i}": [] for i in range(width)}
    lines: list[int] = []
    malformed: list[tuple[int, str, str]] = []
    for k, r in enumerate(body):
        cells = [_cell(v) for v in r]
        if len(cells) > width and any(c is not None for c in cells[width:]):
            buf = io.StringIO()
            csv.writer(buf).writerow(["" if c is None else c for c in cells])
            malformed.append((k + 2, buf.getvalue().rstrip("\r\n"), "values beyond the header's columns"))
            continue
        cells = (cells + [None] * width)[:width]
        lines.append(k + 2)
        for i in range(width):
            cols[f"h{i}"].append(cells[i])
    arrow = pa.table({"_xl_line": pa.array(lines, pa.int64()), **{k: pa.array(v, pa.string()) for k, v in cols.items()}})
    con.register(f"{name}__arrow", arrow)
    dirty = {i for i in range(width) if arrow_needs_cleaning(arrow.column(f"h{i}"))}
    return _finish(con, df, name, headers, [_q(c) for c in cols], "_xl_line", f"{name}__arrow", malformed, None,
                   keep=arrow, dirty=dirty, rows=len(lines))


def release(con: duckdb.DuckDBPyConnection, st: Staged) -> None:
    """Drop a staged file's view and let its Arrow data go."""
    con.execute(f"DROP VIEW IF EXISTS {st.name}")
    try:
        con.unregister(f"{st.name}__arrow")
    except Exception:  # nothing registered (Parquet reads the file directly)
        pass
    st.keep = None
    if st.temp_file is not None:
        st.temp_file.unlink(missing_ok=True)
