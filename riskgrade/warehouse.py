"""The embedded store: one DuckDB file in the data home, guarded by a file lock.

Writers (ingest, ...) take an exclusive lock, readers a shared one, so two
commands against one data home either both work, or one waits (up to
``lock_timeout`` seconds) and then refuses with a clear message.  Every write
happens inside one DuckDB transaction: a process killed at any moment leaves
the store as it was before.

Events are stored clustered by entity: ``bucket`` is a portable hash of the
USCC (first three hex digits of its MD5, 0..4095, the same in DuckDB and
Spark) and every insert is ordered by ``(bucket, uscc)``; ``compact`` rewrites
the whole table in that order.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .errors import RiskgradeError

STORE_FILE = "warehouse.duckdb"
LOCK_FILE = ".lock"
SCHEMA_VERSION = 1

BUCKET_SQL = "CAST(('0x' || left(md5({col}), 3)) AS INTEGER)"

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
CREATE TABLE IF NOT EXISTS entities_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM entities WITH NO DATA;
CREATE TABLE IF NOT EXISTS events_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM events WITH NO DATA;
CREATE TABLE IF NOT EXISTS relations_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM relations WITH NO DATA;
CREATE TABLE IF NOT EXISTS inspectors_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM inspectors WITH NO DATA;
CREATE TABLE IF NOT EXISTS domain_grades_history AS SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM domain_grades WITH NO DATA;
"""

# Every data table keeps the versions a later delivery superseded in ``<table>_history``.
DATA_TABLES = ("entities", "events", "relations", "inspectors", "domain_grades")


class StoreBusy(RiskgradeError):
    pass


class _Lock:
    """fcntl advisory lock on ``<home>/.lock``: shared for readers, exclusive for writers."""

    def __init__(self, path: Path, exclusive: bool, timeout: float):
        self.path, self.exclusive, self.timeout = path, exclusive, timeout
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
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
        self.memory_limit = memory_limit
        self.threads = threads
        self.con: duckdb.DuckDBPyConnection | None = None
        self._lock: _Lock | None = None

    @property
    def path(self) -> Path:
        return self.home / STORE_FILE

    def __enter__(self) -> Warehouse:
        self.home.mkdir(parents=True, exist_ok=True)
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
                    self.con.execute(SCHEMA)
                    self._migrate()
            tmp = self.home / "tmp"
            if self.write:
                tmp.mkdir(exist_ok=True)
                self.con.execute(f"SET temp_directory = '{tmp}'")
            if self.memory_limit:
                self.con.execute(f"SET memory_limit = '{self.memory_limit}'")
            if self.threads:
                self.con.execute(f"SET threads = {int(self.threads)}")
            self.con.execute("SET preserve_insertion_order = true")
            self.con.execute("SET enable_progress_bar = false")
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

    def compact(self) -> int:
        """Rewrite events (and their history) ordered by entity; returns the row count."""
        assert self.con is not None and self.write
        with self.transaction() as con:
            for t in ("events", "events_history"):
                con.execute(f"CREATE TABLE {t}__sorted AS SELECT * FROM {t} ORDER BY bucket, uscc, event_date, source, record_id")
                con.execute(f"DROP TABLE {t}")
                con.execute(f"ALTER TABLE {t}__sorted RENAME TO {t}")
            n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        return int(n)
