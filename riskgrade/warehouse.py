"""The embedded store: one DuckDB file in the data home, guarded by a file lock.

Writers (ingest, ...) take an exclusive lock, readers a shared one, so two
commands against one data home either both work, or one waits (up to
``lock_timeout`` seconds) and then refuses with a clear message.  Every write
happens inside one DuckDB transaction: a process killed at any moment leaves
the store as it was before.

Events are stored clustered by entity: ``bucket`` is a portable hash of the
USCC (first three hex digits of its MD5, 0..4095, the same in DuckDB and
Spark).  Each delivery's new events are one immutable Parquet *segment*
(``<home>/events/seg-<id>/part-0.parquet``, ordered by ``(bucket, uscc)``),
committed by its row in ``event_segments``, written in the delivery's
transaction: a segment file without a committed row is an orphan of a killed
run, removed when the next writer opens the store.  Readers see one view
``events`` (a temporary view created on every connection) = the DuckDB table
``events`` (rows stored in the database file: revisions, and stores written
before segments existed) + the committed segments, minus the segment rows a
later delivery superseded (``events_superseded``; the old versions are in
``events_history``).  ``compact`` merges everything into one new segment in
entity order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from . import sql
from .chain import private_dir, private_file
from .errors import RiskgradeError

STORE_FILE = "warehouse.duckdb"
LOCK_FILE = ".lock"
SCHEMA_VERSION = 2  # 2: entities' registration columns (legal_rep_name, business_scope, registration_authority)
# Columns added to a table after its first schema: (table, column, type).  A store written before gets them
# (empty) when a writer opens it; they follow the lineage columns there, and ``superseded_by`` in the
# history tables, so rows move between a table and its history BY NAME.
ADDED_COLUMNS = (
    ("entities", "legal_rep_name", "VARCHAR"),
    ("entities", "business_scope", "VARCHAR"),
    ("entities", "registration_authority", "VARCHAR"),
)

# The entity bucket: the first three hex digits of the USCC's MD5, 0..4095, the same in DuckDB, Spark
# and Python.  Events are stored in bucket order; a range of buckets is a fixed share of the entities.
BUCKETS = 4096
BUCKET_SQL = "CAST(('0x' || left(md5({col}), 3)) AS INTEGER)"


def uscc_bucket(uscc: str) -> int:
    """The bucket of a USCC (:data:`BUCKET_SQL` in Python)."""
    return int(hashlib.md5(uscc.encode()).hexdigest()[:3], 16)

_LINEAGE = "delivery_id INTEGER, file VARCHAR, line BIGINT, loaded_at TIMESTAMP"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id INTEGER, path VARCHAR, fingerprint VARCHAR, loaded_at TIMESTAMP, load_date DATE,
    report JSON
);
CREATE TABLE IF NOT EXISTS files (
    delivery_id INTEGER, table_name VARCHAR, path VARCHAR, format VARCHAR, encoding VARCHAR,
    status VARCHAR, reason VARCHAR, rows_read BIGINT
);
CREATE TABLE IF NOT EXISTS ingest_counts (
    delivery_id INTEGER, table_name VARCHAR, source VARCHAR, outcome VARCHAR, reason VARCHAR, rows BIGINT
);
CREATE TABLE IF NOT EXISTS field_counts (
    delivery_id INTEGER, table_name VARCHAR, source VARCHAR, field VARCHAR, rows BIGINT, present BIGINT
);
CREATE TABLE IF NOT EXISTS quarantine (
    delivery_id INTEGER, table_name VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR, detail VARCHAR,
    source VARCHAR, uscc VARCHAR, raw VARCHAR
);
CREATE TABLE IF NOT EXISTS entities (
    uscc VARCHAR, name VARCHAR, entity_type VARCHAR, region_code VARCHAR, industry_code VARCHAR,
    industry_section VARCHAR, established_on DATE, status VARCHAR, closed_on DATE,
    registered_capital DOUBLE, address VARCHAR, legal_rep_id VARCHAR, phone_id VARCHAR,
    legal_rep_name VARCHAR, business_scope VARCHAR, registration_authority VARCHAR,
    region_historical BOOLEAN, bucket INTEGER, content_hash UBIGINT, version INTEGER, {_LINEAGE}
);
CREATE TABLE IF NOT EXISTS events (
    bucket INTEGER, uscc VARCHAR, event_type VARCHAR, event_date DATE, reported_on DATE,
    reported_given BOOLEAN, source VARCHAR, record_id VARCHAR, detail VARCHAR, amount DOUBLE, end_date DATE,
    content_hash UBIGINT, version INTEGER, {_LINEAGE}
);
CREATE TABLE IF NOT EXISTS relations (
    uscc VARCHAR, party_id VARCHAR, party_kind VARCHAR, role VARCHAR, content_hash UBIGINT, version INTEGER, {_LINEAGE}
);
CREATE TABLE IF NOT EXISTS inspectors (
    inspector_id VARCHAR, name VARCHAR, unit_region_code VARCHAR, domains VARCHAR,
    region_historical BOOLEAN, content_hash UBIGINT, version INTEGER, {_LINEAGE}
);
CREATE TABLE IF NOT EXISTS domain_grades (
    uscc VARCHAR, domain VARCHAR, grade VARCHAR, as_of DATE, content_hash UBIGINT, version INTEGER, {_LINEAGE}
);
CREATE TABLE IF NOT EXISTS event_segments (
    segment_id INTEGER, part INTEGER, delivery_id INTEGER, path VARCHAR, rows BIGINT, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS events_superseded (delivery_id INTEGER, file VARCHAR, line BIGINT);
CREATE TABLE IF NOT EXISTS entities_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM entities WITH NO DATA;
CREATE TABLE IF NOT EXISTS events_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM events WITH NO DATA;
CREATE TABLE IF NOT EXISTS relations_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM relations WITH NO DATA;
CREATE TABLE IF NOT EXISTS inspectors_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM inspectors WITH NO DATA;
CREATE TABLE IF NOT EXISTS domain_grades_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM domain_grades WITH NO DATA;
"""

# Every data table keeps the versions a later delivery superseded in ``<table>_history``.
DATA_TABLES = ("entities", "events", "relations", "inspectors", "domain_grades")
SEGMENTS_DIR = "events"  # under the data home
SEGMENT_PART_ROWS = 1_000_000  # a segment gets another part file (up to 16) per this many rows


sql_str = sql.literal  # a SQL string literal (riskgrade.sql.literal)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[list | tuple],
                columns: list[str] | None = None) -> None:
    """INSERT ``rows`` (values in the order of ``columns``, default all the table's) into ``table`` in one
    statement.

    DuckDB's ``executemany`` runs one statement per row (about 5 ms each here): 180 field-count rows
    took a second, 10,000 malformed rows would take a minute.  The rows go in as one Arrow table."""
    if not rows:
        return
    width = len(rows[0])
    data = pa.table({f"c{i}": pa.array([r[i] for r in rows]) for i in range(width)})
    name = f"_insert_rows_{id(data)}"
    con.register(name, data)
    try:
        into = f" ({', '.join(columns)})" if columns else ""
        con.execute(f"INSERT INTO {table}{into} SELECT * FROM {name}")
    finally:
        con.unregister(name)


class StoreBusy(RiskgradeError):
    pass


class _Lock:
    """fcntl advisory lock on ``<home>/.lock``: shared for readers, exclusive for writers."""

    def __init__(self, path: Path, exclusive: bool, timeout: float):
        self.path, self.exclusive, self.timeout = path, exclusive, timeout
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
                return self
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    what = "another riskgrade command is writing to" if not self.exclusive else "another riskgrade command is using"
                    raise StoreBusy(
                        f"{what} the data home {self.path.parent} (waited {self.timeout:.0f} s); try again when it has finished"
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class Warehouse:
    """Opens the store in a data home.  Use as a context manager."""

    def __init__(self, home: Path | str, *, write: bool = False, lock_timeout: float = 60.0,
                 memory_limit: str | None = None, threads: int | None = None):
        self.home = Path(home)
        self.write = write
        self.lock_timeout = lock_timeout
        if memory_limit is None or threads is None:
            # every opening honours the settings (flags, RISKGRADE_*, <home>/riskgrade.toml): without a limit
            # DuckDB would take 80% of the machine's memory for a large query
            from . import settings as settings_mod

            cfg = settings_mod.load(self.home)
            memory_limit = memory_limit or cfg.memory_limit
            threads = threads if threads is not None else cfg.threads
        self.memory_limit = memory_limit
        self.threads = threads
        self.con: duckdb.DuckDBPyConnection | None = None
        self._lock: _Lock | None = None
        self.db = "memory"  # the store's catalog name: ``{db}.main.events`` is the table under the view

    @property
    def path(self) -> Path:
        return self.home / STORE_FILE

    def __enter__(self) -> Warehouse:
        private_dir(self.home)  # a new home is its user's alone (0700); files in it 0600
        self._lock = _Lock(self.home / LOCK_FILE, self.write, self.lock_timeout)
        self._lock.__enter__()
        try:
            if not self.write and not self.path.exists():
                # nothing ingested yet: an empty in-memory store with the schema
                self.con = duckdb.connect(":memory:")
                self.con.execute(SCHEMA)
            else:
                self.con = duckdb.connect(str(self.path), read_only=not self.write)
                if self.write:
                    for f in (self.path, self.path.with_name(self.path.name + ".wal")):
                        private_file(f)
                    # all of the schema or none of it, whenever the process is killed
                    self.con.execute("BEGIN TRANSACTION")
                    self.con.execute(SCHEMA)
                    self._migrate()
                    self.con.execute("COMMIT")
                elif not sql.table_exists(self.con, "meta", views=False, temporary=False):
                    # created by a writer killed before its schema was committed: nothing is held
                    self.con.close()
                    self.con = duckdb.connect(":memory:")
                    self.con.execute(SCHEMA)
            tmp = self.home / "tmp"
            if self.write:
                tmp.mkdir(exist_ok=True, mode=0o700)
                self.con.execute(f"SET temp_directory = '{tmp}'")
            if self.memory_limit:
                self.con.execute(f"SET memory_limit = '{self.memory_limit}'")
            if self.threads:
                self.con.execute(f"SET threads = {int(self.threads)}")
            self.con.execute("SET preserve_insertion_order = true")
            self.con.execute("SET enable_progress_bar = false")
            self.db = self.con.execute("SELECT current_database()").fetchall()[0][0]
            if self.write:
                self._remove_orphans()
            self.refresh_events()
        except duckdb.IOException as e:
            self._lock.__exit__()
            raise RiskgradeError(f"cannot open the store {self.path}: {e}") from None
        except BaseException:
            self._lock.__exit__()
            raise
        return self

    def _migrate(self) -> None:
        assert self.con is not None
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        row = rows[0] if rows else None
        if row is None:
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif int(row[0]) > SCHEMA_VERSION:
            raise RiskgradeError(
                f"the store {self.path} was written by a newer riskgrade (schema {row[0]} > {SCHEMA_VERSION})"
            )
        for table, column, kind in ADDED_COLUMNS:  # a store written before a column was added
            for t in (table, f"{table}_history"):
                if not sql.column_exists(self.con, t, column):
                    self.con.execute(f"ALTER TABLE {t} ADD COLUMN {column} {kind}")
        if row is not None and int(row[0]) < SCHEMA_VERSION:
            self.con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])

    def __exit__(self, *exc: object) -> None:
        try:
            if self.con is not None:
                self.con.close()
        finally:
            self.con = None
            if self._lock is not None:
                self._lock.__exit__()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        assert self.con is not None and self.write
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
            self.con.execute("CHECKPOINT")

    # ------------------------------------------------------------------ event segments
    def table(self, name: str) -> str:
        """The stored DuckDB table ``name`` (for ``events``: the table under the view, not the view)."""
        return f'"{self.db}".main.{name}'

    def _segment_files(self) -> list[str]:
        assert self.con is not None
        if not sql.table_exists(self.con, "event_segments", views=False, database=self.db):
            return []  # opened read-only, written by a version without segments
        return [r[0] for r in self.con.execute(
            f"SELECT path FROM {self.table('event_segments')} ORDER BY segment_id, part, path").fetchall()]

    def segments_sql(self) -> str | None:
        """SQL of the events held in committed segment files and not superseded (None: no segments)."""
        files = self._segment_files()
        if not files:
            return None
        cols = ", ".join(f"s.{c}" for c in self.event_columns())
        paths = "[" + ", ".join(sql_str(str(self.home / f)) for f in files) + "]"
        sql = f"SELECT {cols} FROM read_parquet({paths}) s"
        assert self.con is not None
        if self.con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.table('events_superseded')} LIMIT 1)").fetchall()[0][0]:
            sql += (f" ANTI JOIN {self.table('events_superseded')} x "
                    "ON x.delivery_id = s.delivery_id AND x.line = s.line AND x.file = s.file")
        return sql

    def event_columns(self) -> list[str]:
        assert self.con is not None
        return [r[0] for r in self.con.execute(f"DESCRIBE {self.table('events')}").fetchall()]

    def refresh_events(self) -> None:
        """(Re)create the temporary view ``events`` over the table and the committed segments."""
        assert self.con is not None
        seg = self.segments_sql()
        if seg is None:
            self.con.execute("DROP VIEW IF EXISTS temp.main.events")
            return
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM {self.table('events')} UNION ALL {seg}")

    @staticmethod
    def segment_parts(rows: int) -> int:
        """Part files of a segment of about ``rows`` rows: one per million rows, a power of two up to 16;
        part k holds the buckets ``k * (4096 // parts)`` to ``(k + 1) * (4096 // parts) - 1``."""
        parts = 1
        while parts < 16 and rows > parts * SEGMENT_PART_ROWS:
            parts *= 2
        return parts

    def _new_segment(self) -> tuple[int, Path]:
        assert self.con is not None and self.write
        seg_id = int(self.con.execute("SELECT coalesce(max(segment_id), 0) + 1 FROM event_segments").fetchall()[0][0])
        folder = self.home / SEGMENTS_DIR / f"seg-{seg_id:06d}"
        private_dir(folder.parent)
        private_dir(folder)
        return seg_id, folder

    def write_segment(self, select_sql: str, delivery_id: int | None, rows: int, order: str | None = None,
                      sort: str = "_ord") -> int:
        """Write the rows of ``select_sql`` (the events table's columns, and ``sort`` unless ``order`` is
        given) as a new segment, registered in the current transaction; returns the rows written.

        A segment is one part file per contiguous range of buckets, in bucket order: up to 16 parts,
        about one per million rows (``rows``, an estimate).  An ingest writes them in one parallel pass
        without a global sort (one part: ordered by ``sort``, the row's rank in (bucket, uscc) order);
        compaction passes ``order`` and writes each part sorted by it."""
        assert self.con is not None and self.write
        con = self.con
        seg_id, folder = self._new_segment()
        cols = ", ".join(self.event_columns())
        parts = self.segment_parts(rows)
        width = BUCKETS // parts
        if order is None and parts > 1:
            self.copy_partitioned(f"SELECT {cols}, bucket // {width} AS part FROM ({select_sql})", folder)
            return self._register_segment(seg_id, folder, delivery_id)
        keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
        con.execute("SET preserve_insertion_order = true")  # each file in its query's order
        try:
            for k in range(parts):
                (folder / f"part={k}").mkdir(exist_ok=True, mode=0o700)
                where = f" WHERE bucket BETWEEN {k * width} AND {(k + 1) * width - 1}" if parts > 1 else ""
                con.execute(f"COPY (SELECT {cols} FROM ({select_sql}){where} ORDER BY {order or sort}) "
                            f"TO {sql_str(str(folder / f'part={k}' / 'data-0.parquet'))} (FORMAT parquet)")
        finally:
            con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")
        return self._register_segment(seg_id, folder, delivery_id)

    def copy_partitioned(self, select_sql: str, folder: Path) -> None:
        """COPY ``select_sql`` (with a ``part`` column) into ``folder/part=<k>/data-<i>.parquet``, in one
        parallel pass that keeps no input order."""
        assert self.con is not None
        con = self.con
        keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
        # keeping the input order there makes DuckDB buffer (and spill) the whole delivery; flushing each
        # part's buffer at one row group holds less per part when memory is tight (a 10M-entity delivery
        # under a 3 GB limit), no slower otherwise
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET partitioned_write_flush_threshold = 122880")
        try:
            con.execute(f"COPY ({select_sql}) TO {sql_str(str(folder))} "
                        f"(FORMAT parquet, PARTITION_BY (part), FILENAME_PATTERN 'data-{{i}}')")
        finally:
            con.execute("RESET partitioned_write_flush_threshold")
            con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")

    def adopt_segment(self, parts: list[Path], delivery_id: int | None) -> int:
        """Make the part folders ``parts`` (``part=<k>`` folders of Parquet files with at least the events
        table's columns, written under the data home) a new segment, registered in the current
        transaction; returns its rows.  The folders are moved, not copied."""
        seg_id, folder = self._new_segment()
        for p in parts:
            p.rename(folder / p.name)
        return self._register_segment(seg_id, folder, delivery_id)

    def _register_segment(self, seg_id: int, folder: Path, delivery_id: int | None) -> int:
        assert self.con is not None
        con = self.con
        total = 0
        now = dt.datetime.now().replace(microsecond=0)
        for f in sorted(folder.rglob("*.parquet")):
            n = int(con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(f))})").fetchall()[0][0])
            private_file(f)
            os.chmod(f.parent, 0o700)
            _fsync(f)
            _fsync(f.parent)
            con.execute("INSERT INTO event_segments VALUES (?, ?, ?, ?, ?, ?)",
                        [seg_id, int(f.parent.name.split("=", 1)[1]), delivery_id, f.relative_to(self.home).as_posix(),
                         n, now])
            total += n
        _fsync(folder)
        _fsync(folder.parent)
        return total

    def _remove_orphans(self) -> None:
        """Delete segment files that no committed row names (left by a killed writer)."""
        root = self.home / SEGMENTS_DIR
        if not root.is_dir():
            return
        keep = {str(self.home / f) for f in self._segment_files()}
        for f in sorted(root.rglob("*"), reverse=True):  # children before their folders
            if f.is_dir():
                if not any(f.iterdir()):
                    f.rmdir()
            elif str(f) not in keep:
                f.unlink()

    def compact(self) -> int:
        """Rewrite events (and their history) ordered by entity: all held events become one segment;
        returns the row count."""
        assert self.con is not None and self.write
        old = self._segment_files()
        with self.transaction() as con:
            order = "bucket, uscc, event_date, source, record_id"
            n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
            before = con.execute("SELECT coalesce(max(segment_id), 0) FROM event_segments").fetchall()[0][0]
            if n:
                self.write_segment("SELECT * FROM events", None, n, order)
            con.execute("DELETE FROM event_segments WHERE segment_id <= ?", [before])
            con.execute(f"DELETE FROM {self.table('events')}")
            con.execute(f"DELETE FROM {self.table('events_superseded')}")
            t = "events_history"
            con.execute(f"CREATE TABLE {t}__sorted AS SELECT * FROM {t} ORDER BY {order}")
            con.execute(f"DROP TABLE {t}")
            con.execute(f"ALTER TABLE {t}__sorted RENAME TO {t}")
            self.refresh_events()
        for f in old:
            (self.home / f).unlink(missing_ok=True)
        self._remove_orphans()
        return int(n)


def flush_to_disk(files: list[Path]) -> None:
    """fsync ``files`` ahead of time (in a background thread, say), ignoring errors: the fsync that
    commits them (``_register_segment``) then finds nothing left to write, and reports any error."""
    for f in files:
        with contextlib.suppress(OSError):
            _fsync(f)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
