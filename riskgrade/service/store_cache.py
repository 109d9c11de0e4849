"""Reads of the warehouse kept per store state: a process's copy of the alert tables in memory, read by the alert
list and an alert's page (issue 19 item 9: they took 1-2 s at 1M entities), and the answers of other reads
(an alert's evidence, a plan page's results) until the store changes.

Every read used to open the warehouse (a DuckDB file: a few hundred milliseconds on a loaded machine) and to
join the alerts' members with the province's entities for the visibility rule, three or four times a page.
Instead each process copies, once per store state (the files' modification time, size and inode: any write
changes them, as for the profiles' alert index in :mod:`riskgrade.service.alerts`), the alert tables and the
names and counties of the entities they name into an in-memory DuckDB database; the reads of
:mod:`riskgrade.warning.queries` run there unchanged (same SQL, same visibility rule) over a few tables of tens
of thousands of rows.  The records behind an alert's evidence stay in the warehouse (the events store): they
are read there once per alert, region and store state (:func:`memo`).

A write (a step, ``riskgrade warn``) changes the store: the next read copies it again (and waits, or fails
busy, as any read of the store does while another job holds it).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from ..sql import table_exists

# the alert tables copied whole (those a store holds: an older one may lack some)
TABLES = ("alerts", "alert_members", "alert_evidence", "alert_log", "alert_attachments", "task_targets", "tasks")
MEMO_KEPT = 512  # answers kept per process (those of the current store states)

_COPIES: dict[Path, tuple[tuple, duckdb.DuckDBPyConnection, frozenset]] = {}
_MEMO: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


def store_state(home: Path) -> tuple:
    """What changes whenever the store is written: the database file's and its write-ahead log's stat."""
    out = []
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        try:
            st = (Path(home) / name).stat()
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


class Copy:
    """A cursor on a copy that knows the copy's tables and columns (``copied_schema``: a set of (table, column)),
    so that :mod:`riskgrade.warning.queries` asks no catalog query (each one cost as much as a query of the
    alerts); everything else is the cursor's."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, schema: frozenset):
        self._cur = cur
        self.copied_schema = schema

    def execute(self, *args: Any) -> duckdb.DuckDBPyConnection:
        return self._cur.execute(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def copy_of(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the store's alert tables, ``entities`` (uscc, name, region_code) of the
    entities they name (members and evidence), and ``alert_regions``: each alert's members by county
    (``known``: the member is a registered entity; ``region_code`` '' otherwise), what the visibility rule and
    the members counted in a region read."""
    mem = duckdb.connect(":memory:")
    mem.execute("SET threads = 1")

    def put(name: str, sql: str) -> None:
        mem.register("_source", con.execute(sql).arrow())
        mem.execute(f"CREATE TABLE {name} AS SELECT * FROM _source")
        mem.unregister("_source")

    present = [t for t in TABLES if table_exists(con, t)]
    for t in present:
        put(t, f"SELECT * FROM {t}")
    named = [f"SELECT uscc FROM {t}" for t in ("alert_members", "alert_evidence") if t in present]
    if named and table_exists(con, "entities"):
        put("entities", "SELECT uscc, name, region_code FROM entities WHERE uscc IN (SELECT uscc FROM ("
                        + " UNION ".join(named) + "))")
        if "alert_members" in present:
            mem.execute("""CREATE TABLE alert_regions AS
                SELECT m.alert_id, e.uscc IS NOT NULL AS known, coalesce(e.region_code, '') AS region_code,
                       count(*) AS members
                FROM alert_members m LEFT JOIN entities e ON e.uscc = m.uscc GROUP BY ALL""")
    return mem


def schema_of(mem: duckdb.DuckDBPyConnection) -> frozenset:
    return frozenset(mem.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall())


@contextlib.contextmanager
def reading(home: Path, opened: Callable[[], Any]) -> Iterator[Copy]:
    """A cursor on the process's copy of the store's alert tables, copied again first when the store changed
    since; ``opened()`` opens the store for the copy (a context manager yielding the warehouse: the caller's
    rule for a busy store applies)."""
    key = Path(home).resolve()
    state = store_state(key)
    with _LOCK:
        held = _COPIES.get(key)
    if held is None or held[0] != state:
        with opened() as wh:
            mem = copy_of(wh.con)
        held = (state, mem, schema_of(mem))  # the state read before copying: a write meanwhile copies again
        with _LOCK:
            _COPIES[key] = held
    cur = held[1].cursor()
    try:
        yield Copy(cur, held[2])
    finally:
        cur.close()


def memo(home: Path, key: tuple, read: Callable[[], Any], keep: Callable[[Any], bool] = lambda out: True) -> Any:
    """What ``read()`` returns (a read of the store), kept per store state and ``key`` while ``keep(answer)``
    (e.g. not "the store was busy")."""
    k = (Path(home).resolve(), store_state(home), key)
    with _LOCK:
        if k in _MEMO:
            _MEMO.move_to_end(k)
            return _MEMO[k]
    out = read()
    if keep(out):
        with _LOCK:
            _MEMO[k] = out
            while len(_MEMO) > MEMO_KEPT:
                _MEMO.popitem(last=False)
    return out


def clear() -> None:
    """Forget every copy (tests: a process that has not read the alerts yet)."""
    with _LOCK:
        _COPIES.clear()
        _MEMO.clear()
