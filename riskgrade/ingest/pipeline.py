"""Ingest a delivery: read, normalise, validate, attribute, de-duplicate, store, count.

The whole delivery is loaded in one store transaction: killed at any moment it
leaves the store as it was, and running it again completes it.  Every row read
ends as exactly one of accepted / merged / quarantined (see
``docs/ingest.md``); the counts are printed, returned and kept in the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from .. import contract
from ..codes import regions, uscc as uscc_codes
from ..errors import RiskgradeError
from ..normalise import sql_clean
from ..warehouse import BUCKET_SQL, Warehouse, flush_to_disk, insert_rows, sql_str
from .readers import (DeliveryFile, Staged, Unreadable, XlsxLimits, convert_csv_files, discover, read_file,
                      release)
from .triage import row_hash, stored_present, triage_sql, truncated_sql

Progress = Callable[[str], None]
DUP_SLICE_ROWS = 25_000_000  # keys sorted at a time when looking for repeated keys (200 MB)
# events written by the segment pass but not stored (repeated or held keys) are listed as superseded up
# to this many (or 1% of the rows stored); beyond, the segment is written again without them
HIDDEN_ROWS_KEPT = 10_000


@dataclass
class TableResult:
    read: int = 0
    accepted: int = 0
    merged: int = 0
    quarantined: int = 0
    by_reason: Counter = field(default_factory=Counter)
    revised: int = 0
    historical_region: int = 0
    files: int = 0
    truncated: Counter = field(default_factory=Counter)  # column -> stored cells cut to its length limit

    def as_dict(self) -> dict:
        return {
            "read": self.read, "accepted": self.accepted, "merged": self.merged, "quarantined": self.quarantined,
            "by_reason": dict(sorted(self.by_reason.items())), "revised": self.revised,
            "historical_region": self.historical_region, "files": self.files,
            **({"truncated": dict(sorted(self.truncated.items()))} if self.truncated else {}),
        }


@dataclass
class IngestResult:
    delivery_id: int
    path: str
    load_date: dt.date
    tables: dict[str, TableResult]
    unreadable: list[dict]
    ignored: list[dict]
    mixed_encodings: list[dict] = field(default_factory=list)  # CSV files with rows in another encoding

    @property
    def loaded_anything(self) -> bool:
        return any(t.files for t in self.tables.values())

    def as_dict(self) -> dict:
        out = {
            "delivery_id": self.delivery_id,
            "path": self.path,
            "load_date": self.load_date.isoformat(),
            "tables": {k: v.as_dict() for k, v in self.tables.items()},
            "unreadable_files": self.unreadable,
            "ignored_files": self.ignored,
        }
        if self.mixed_encodings:  # only when a file had rows in another encoding (bad_encoding)
            out["mixed_encodings"] = self.mixed_encodings
        return out


# --------------------------------------------------------------------------- the run
class Ingest:
    def __init__(self, wh: Warehouse, path: Path, progress: Progress | None = None, today: dt.date | None = None,
                 limits: XlsxLimits | None = None):
        self.wh = wh
        self.limits = limits or XlsxLimits()
        self.path = Path(path)
        self.progress = progress or (lambda msg: None)
        self.now = dt.datetime.now().replace(microsecond=0)
        self.load_date = today or self.now.date()
        assert wh.con is not None
        self.con: duckdb.DuckDBPyConnection = wh.con
        self.tmp = wh.home / "tmp"
        self.within: Callable[[duckdb.DuckDBPyConnection, IngestResult], None] | None = None

    def _clean_tmp(self) -> None:
        """Staging files are ours alone (we hold the exclusive lock): remove any left by a killed run."""
        if self.tmp.exists():
            for f in self.tmp.glob("stage_*.parquet"):
                f.unlink(missing_ok=True)
            for d in self.tmp.glob("segment-pass-*"):
                shutil.rmtree(d, ignore_errors=True)

    def run(self) -> IngestResult:
        self._clean_tmp()
        # row order only matters where a query says ORDER BY (stored rows, quarantine): let DuckDB
        # run everything else in parallel without keeping input order
        self.con.execute("SET preserve_insertion_order = false")
        try:
            return self._run()
        finally:
            self.con.execute("SET preserve_insertion_order = true")
            self._clean_tmp()

    def _run(self) -> IngestResult:
        files = discover(self.path)
        con = self.con
        did = con.execute("SELECT coalesce(max(delivery_id), 0) + 1 FROM deliveries").fetchall()[0][0]
        self.delivery_id = int(did)
        result = IngestResult(self.delivery_id, str(self.path), self.load_date, {}, [], [])
        self.mixed = result.mixed_encodings
        # Phase 1, outside the store transaction: read every file into staging tables (a file that
        # cannot be read is reported and skipped; nothing in the store changes).
        self._file_rows: list[list] = []
        by_table: dict[str, list[tuple[DeliveryFile, Staged]]] = defaultdict(list)
        # CSV files are converted (parsed, checked, written as Parquet) a few at a time in threads
        workers = self.wh.threads or os.cpu_count() or 1
        with convert_csv_files(files, self.tmp, workers) as converting:
            for stage_id, df in enumerate(files):
                if df.format is None and df.table is None:
                    result.ignored.append({"path": df.rel, "reason": "not a table of the contract"})
                    self._file_row(df, "ignored", "not a table of the contract")
                    continue
                self.progress(f"reading {df.rel}")
                try:
                    staged, table = read_file(con, df, stage_id, self.tmp, converting.get(stage_id), self.limits)
                except Unreadable as e:
                    self._unreadable(result, df, str(e))
                    continue
                df.table = table
                by_table[table].append((df, staged))
        # Phase 2, one transaction: validate, attribute, merge and store every table.
        with self.wh.transaction():
            self._reference_tables()
            for df_row in self._file_rows:
                con.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", df_row)
            for table in contract.LOAD_ORDER:
                if table not in by_table:
                    continue
                tr = result.tables.setdefault(table, TableResult())
                self._load_table(contract.TABLES[table], by_table[table], tr)
            report = result.as_dict()
            con.execute(
                "INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?)",
                [self.delivery_id, str(self.path.resolve()), _fingerprint(files), self.now, self.load_date,
                 json.dumps(report, ensure_ascii=False)],
            )
            if not result.loaded_anything:
                raise _NothingLoaded(result)
            if self.within is not None:  # the caller's own writes, committed with the delivery or not at all
                self.within(con, result)
        return result

    # ------------------------------------------------------------------ helpers
    def _reference_tables(self) -> None:
        con = self.con
        codes = regions.table()
        arrow = pa.table({
            "code": pa.array(list(codes)),
            "current": pa.array([r.current for r in codes.values()]),
        })
        con.register("ref_regions_arrow", arrow)
        con.execute("CREATE OR REPLACE TEMP TABLE ref_regions AS SELECT * FROM ref_regions_arrow")
        con.unregister("ref_regions_arrow")

    def _file_row(self, df: DeliveryFile, status: str, reason: str) -> None:
        """A file that was not loaded (ignored or unreadable)."""
        self._file_rows.append([self.delivery_id, df.table, df.rel, df.format, None, status, reason, 0])

    def _unreadable(self, result: IngestResult, df: DeliveryFile, reason: str) -> None:
        result.unreadable.append({"path": df.rel, "reason": reason})
        self._file_row(df, "unreadable", reason)
        self.progress(f"[unreadable] {df.rel}: {reason}")

    def _uscc_map(self, staged: list[Staged]) -> bool:
        """``uscc_map(rh, raw, same, u, held, valid, bucket)``: each distinct raw USCC cell of these files
        (``rh`` its hash), cleaned once (``u``; NULL when ``same``, the cell needing no change), checked once
        (vectorised GB 32100 check, equal to python-stdnum's), whether it is held, and its bucket.

        Returns whether the cells can be looked up by hash: the map's hashes are distinct and none is the
        hash of an empty cell (NULL).  An integer key and no string to fetch make the lookup of every row
        about twice as fast."""
        con = self.con
        exprs = [f"SELECT CAST({st.columns['uscc']} AS VARCHAR) AS raw FROM {st.name}"
                 for st in staged if st.columns.get("uscc")]
        if not exprs:
            con.execute("CREATE OR REPLACE TEMP TABLE uscc_map (rh UBIGINT, raw VARCHAR, same BOOLEAN, u VARCHAR, "
                        "held BOOLEAN, valid BOOLEAN, bucket INTEGER)")
            return True
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE uscc_raw AS
            SELECT r.raw, r.u, e.uscc IS NOT NULL AS held
            FROM (SELECT raw, upper({sql_clean('raw')}) AS u
                  FROM (SELECT DISTINCT raw FROM ({' UNION ALL '.join(exprs)}) WHERE raw IS NOT NULL)) r
            LEFT JOIN {self.wh.table('entities')} e ON e.uscc = r.u
        """)
        todo = con.execute("SELECT DISTINCT u FROM uscc_raw WHERE NOT held AND u IS NOT NULL").to_arrow_table()["u"]
        new = todo.filter(pa.array(uscc_codes.valid_mask_arrow(todo))) if len(todo) else pa.array([], pa.string())
        con.register("uscc_new", pa.table({"u": new}))
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE uscc_map AS
            SELECT hash(raw) AS rh, raw, same, CASE WHEN same THEN NULL ELSE cu END AS u, held, valid, bucket
            FROM (SELECT r.raw, coalesce(r.u = r.raw, false) AS same, r.u AS cu, r.held, r.held OR n.u IS NOT NULL AS valid,
                         {BUCKET_SQL.format(col="r.u")} AS bucket
                  FROM uscc_raw r LEFT JOIN uscc_new n ON n.u = r.u)
        """)
        con.unregister("uscc_new")
        con.execute("DROP TABLE uscc_raw")
        clash = con.execute("SELECT count(*) - count(DISTINCT rh) + count(*) FILTER (rh = hash(CAST(NULL AS VARCHAR))) "
                            "FROM uscc_map").fetchall()[0][0]
        return clash == 0

    def _field_counts(self, table: contract.Table, dec: str) -> None:
        """Rows and non-empty cells per field and source, from the presence bits; keeps the rows per
        (source, reason) for the counts (``_count``), from the same scan."""
        # rows per presence pattern (a few hundred at most) are cheaper to count than bits to sum
        rows = self.con.execute(f"SELECT _source, _reason, _present, count(*) FROM {dec} GROUP BY ALL").fetchall()
        self._by_reason = Counter()
        fields: dict[str, list[int]] = {}
        for src, reason, present, n in rows:
            self._by_reason[(src, reason)] += n
            acc = fields.setdefault(src, [0] * (1 + len(table.columns)))
            acc[0] += n
            for i in range(len(table.columns)):
                if (present >> i) & 1:
                    acc[1 + i] += n
        values = [[self.delivery_id, table.name, src, c.name, acc[0], acc[1 + i]]
                  for src, acc in sorted(fields.items()) for i, c in enumerate(table.columns)]
        insert_rows(self.con, "field_counts", values)

    def _load_table(self, table: contract.Table, items: list[tuple[DeliveryFile, Staged]], tr: TableResult) -> None:
        con = self.con
        name = table.name
        dec = f"dec_{name}"
        staged_files = [(i, df, st) for i, (df, st) in enumerate(items)]
        if not staged_files:
            return
        self.progress(f"validating and merging {name}")
        self._current_files = {idx: df.rel for idx, df, _ in staged_files}
        for idx, df, st in staged_files:
            tr.files += 1
            tr.read += st.rows + len(st.malformed) + len(st.misencoded)
            con.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [self.delivery_id, name, df.rel, df.format, st.encoding, "loaded", st.encoding_note,
                         st.rows + len(st.malformed) + len(st.misencoded)])
            if st.encoding_note:
                self.mixed.append({"path": df.rel, "encoding": st.encoding, "note": st.encoding_note,
                                   "rows": len(st.misencoded)})
                self.progress(f"mixed encodings in {df.rel}: {st.encoding_note}, quarantined as bad_encoding")
            # rows the reader could not take as they are (kept whole: the quarantine has their text)
            for reason, rows in (("malformed_row", st.malformed), ("bad_encoding", st.misencoded)):
                if not rows:
                    continue
                insert_rows(con, "quarantine", [[self.delivery_id, name, df.rel, line, reason, why, "", None, text]
                                                for line, text, why in rows])
                tr.quarantined += len(rows)
                tr.by_reason[reason] += len(rows)
                con.execute(f"INSERT INTO ingest_counts VALUES (?, ?, '', 'quarantined', '{reason}', ?)",
                            [self.delivery_id, name, len(rows)])
        segments = name == "events"  # stored as Parquet segments, not in a DuckDB table
        by_hash = False
        if "uscc" in table.names:
            by_hash = self._uscc_map([st for _, _, st in staged_files])
        tri = "(" + " UNION ALL ".join(f"({triage_sql(table, st, idx, self.load_date, by_hash)})"
                                       for idx, _, st in staged_files) + ")"
        extra = ", region_historical" if any(c.kind == contract.REGION for c in table.columns) else ""
        quser = "CASE WHEN _reason IS NOT NULL THEN uscc END" if "uscc" in table.names else "CAST(NULL AS VARCHAR)"
        if truncated_sql(table):  # cells cut to their column's length limit (bits per column)
            extra += ", _truncated"
        if segments:
            # Every row is typed and decided once, written as it would be stored, in the store's part files
            # (quarantined rows apart); the decisions are read back from those files.
            tri = self._segment_pass(table, tri, sum(st.rows for _, _, st in staged_files))
        # Otherwise the typed rows are never materialised: a narrow table of per-row decisions is, and the
        # rows stored are computed again (cheaper than writing and reading back every typed column).
        # Temporary tables are only ever created whole (CREATE ... AS), never appended to.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {dec} AS SELECT _file_idx, _line, _reason, _kh, _source, _present, "
                    f"{quser} AS _q_uscc{extra} FROM {tri}")
        self._field_counts(table, dec)
        self._duplicates(table, dec, tri)
        self._held(table, tri)
        self._write(table, dec, tri)
        self._count(table, dec, tr)
        self._quarantine(table, dec, staged_files)
        for _, _, st in staged_files:
            release(con, st)
        for t in (dec, f"dup_{name}", f"held_{name}", "uscc_map"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        if segments:
            self._pass_sync.join()
            con.execute(f"DROP VIEW IF EXISTS {tri}")
            shutil.rmtree(self._pass_dir, ignore_errors=True)

    def _stored_values(self, stored: list[str]) -> list[str]:
        """The value of each stored column for a new row of the triage query."""
        values = []
        for col in stored:
            if col == "bucket":
                values.append("_bucket")
            elif col == "content_hash":
                values.append("_h")
            elif col == "version":
                values.append("1")
            else:
                values.append(self._lineage(col) or col)
        return values

    def _segment_pass(self, table: contract.Table, tri: str, rows: int) -> str:
        """Evaluate the triage query ``tri`` once, writing every row as stored plus the ingest's
        own columns (``_present``, ``_reason``) into part files under the store's temporary
        folder: a valid row in the part of its bucket range, a quarantined one in ``part=-1``.  Returns a
        view over those files with the columns of ``tri`` that the later steps use."""
        con = self.con
        stored = self.wh.event_columns()
        cols = ", ".join(f"{v} AS {c}" for v, c in zip(self._stored_values(stored), stored))
        parts = self.wh.segment_parts(rows)
        out = self._pass_dir = self.tmp / f"segment-pass-{self.delivery_id}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        self._pass_parts = parts
        # a row's file index follows from its file, a valid row's presence bits from its stored values
        # (see the view below): only quarantined rows keep theirs, an empty column is almost free to write
        self.wh.copy_partitioned(
            f"SELECT {cols}, CASE WHEN _reason IS NOT NULL THEN _present END AS _present, _reason, "
            f"CASE WHEN _reason IS NULL THEN _bucket // {4096 // parts} ELSE -1 END AS part FROM {tri}", out)
        files = sorted(out.rglob("*.parquet"))
        # the files' pages reach the disk while the next steps compute, not when the segment is committed
        self._pass_sync = threading.Thread(target=flush_to_disk, args=(files,), daemon=True)
        self._pass_sync.start()
        view = "pass_events"
        if not files:  # no rows at all
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {cols}, _file_idx, _present, _reason, "
                        f"_line, _h, _kh, _source, _bucket FROM {tri} WHERE false")
            return view
        paths = "[" + ", ".join(sql_str(str(f)) for f in files) + "]"
        keys = ", ".join("coalesce(source, '')" if k == "source" else k for k in table.key)
        file_idx = "CASE file " + " ".join(
            f"WHEN {sql_str(p)} THEN {i}" for i, p in self._current_files.items()) + " END"
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW {view} AS
            SELECT * REPLACE (coalesce(_present, {stored_present(table, self.load_date)}) AS _present),
                   {file_idx} AS _file_idx, line AS _line, content_hash AS _h, hash({keys}) AS _kh,
                   coalesce(source, '') AS _source, bucket AS _bucket
            FROM read_parquet({paths}, hive_partitioning = false)
        """)
        return view

    @staticmethod
    def _key_match(table: contract.Table, a: str, b: str) -> str:
        """Rows ``a`` and ``b`` have the same key (a missing source equals an empty one)."""
        return " AND ".join(
            f"coalesce({a}.{k}, '') = coalesce({b}.{k}, '')" if k == "source" else f"{a}.{k} = {b}.{k}" for k in table.key)

    def _key_sql(self, table: contract.Table, alias: str) -> str:
        return "concat_ws(chr(31), " + ", ".join(
            f"coalesce({alias}.{k}, '')" if k == "source" else f"CAST({alias}.{k} AS VARCHAR)" for k in table.key) + ")"

    def _decided(self, name: str) -> list[str]:
        """Those of ``dup_<t>`` and ``held_<t>`` (rows not stored as delivered) that hold any row."""
        return [t for t in (f"dup_{name}", f"held_{name}") if self._any(t)]

    def _any(self, relation: str) -> bool:
        return bool(self.con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {relation} LIMIT 1)").fetchall()[0][0])

    def _duplicates(self, table: contract.Table, dec: str, tri: str) -> None:
        """``dup_<t>``: later occurrences of a key within this delivery (merged when equal to the first,
        else conflicting_duplicate).  Only rows whose key hash repeats are looked at again."""
        con = self.con
        name = table.name
        con.execute(f"CREATE OR REPLACE TEMP TABLE dup_{name} (_file_idx INTEGER, _line BIGINT, outcome VARCHAR, "
                    f"reason VARCHAR)")
        # key hashes that repeat: sorting 8-byte integers is much cheaper than a hash aggregate over
        # (nearly) all distinct keys; a large table in slices of the hash range, so that memory stays
        # about DUP_SLICE_ROWS keys whatever the delivery's size
        n = con.execute(f"SELECT count(*) FROM {dec}").fetchall()[0][0]
        bits = 0
        while (n >> bits) > DUP_SLICE_ROWS and bits < 8:
            bits += 1
        reps = []
        for k in range(1 << bits):
            where = f" AND _kh >> {64 - bits} = {k}" if bits else ""
            kh = np.sort(con.execute(f"SELECT _kh FROM {dec} WHERE _reason IS NULL{where}").fetchnumpy()["_kh"])
            reps.append(np.unique(kh[1:][kh[1:] == kh[:-1]]))
            del kh
        rep = np.concatenate(reps) if reps else np.array([], dtype=np.uint64)
        con.register("dupkh", pa.table({"_kh": pa.array(rep, pa.uint64())}))
        if len(rep):
            k = self._key_sql(table, "c")
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE dup_{name} AS
                WITH cand AS (
                    SELECT c._file_idx, c._line, c._h, {k} AS _k
                    FROM {tri} c SEMI JOIN dupkh d ON d._kh = c._kh
                    WHERE c._reason IS NULL
                ), h AS (
                    SELECT *, row_number() OVER (PARTITION BY _k ORDER BY _file_idx, _line) AS _occ FROM cand
                )
                SELECT h._file_idx, h._line,
                       CASE WHEN h._h = f._h THEN 'merged' ELSE 'quarantined' END AS outcome,
                       CASE WHEN h._h = f._h THEN NULL ELSE 'conflicting_duplicate' END AS reason
                FROM h JOIN h f ON f._k = h._k AND f._occ = 1 WHERE h._occ > 1
            """)
        con.unregister("dupkh")

    def _held(self, table: contract.Table, tri: str) -> None:
        """``held_<t>``: first occurrences whose key the store already holds, with the value to store
        (a cell left empty keeps the held value), its hash, and the decision (merged or revision)."""
        con = self.con
        name = table.name
        stored = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
        if not self._any(name):
            con.execute(f"CREATE OR REPLACE TEMP TABLE held_{name} AS SELECT 0 AS _file_idx, 0::BIGINT AS _line, "
                        f"'' AS outcome, '' AS reason WHERE false")
            self._held_cols = None
            return
        join = self._key_match(table, "h", "c")
        eff = {}
        for n in table.names:
            if n == "reported_on":
                eff[n] = "CASE WHEN c.reported_given THEN c.reported_on ELSE h.reported_on END"
            elif n == "status":
                eff[n] = "CASE WHEN (c._present >> %d) & 1 = 1 THEN c.status ELSE h.status END" % table.names.index(n)
            else:
                eff[n] = f"coalesce(c.{n}, h.{n})"
        extra = {}
        if "industry_section" in stored:
            extra["industry_section"] = "coalesce(c.industry_section, h.industry_section)"
        if "region_historical" in stored:
            extra["region_historical"] = "c.region_historical"
        if "reported_given" in stored:
            extra["reported_given"] = "c.reported_given OR h.reported_given"
        h = row_hash(table, eff)
        cols = ", ".join(f"{e} AS {n}" for n, e in {**eff, **extra}.items())
        ordcol = ", c._bucket" if "bucket" in stored else ""
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE held_{name} AS
            SELECT c._file_idx, c._line, {cols}, {h} AS content_hash, h.version + 1 AS version{ordcol},
                   CASE WHEN {h} = h.content_hash THEN 'merged' ELSE 'accepted' END AS outcome,
                   CASE WHEN {h} = h.content_hash THEN NULL ELSE 'revision' END AS reason
            FROM {tri} c
            ANTI JOIN dup_{name} d USING (_file_idx, _line)
            JOIN {name} h ON {join}
            WHERE c._reason IS NULL
        """)
        self._held_cols = list({**eff, **extra})

    def _lineage(self, col: str) -> str | None:
        if col == "delivery_id":
            return str(self.delivery_id)
        if col == "file":
            return "CASE _file_idx " + " ".join(
                f"WHEN {i} THEN {sql_str(p)}" for i, p in self._current_files.items()) + " END"
        if col == "line":
            return "_line"
        if col == "loaded_at":
            return f"TIMESTAMP '{self.now.isoformat(sep=' ')}'"
        return None

    def _write(self, table: contract.Table, dec: str, tri: str) -> None:
        """Store new rows (ordered by entity), and revisions (the held version moves to history).
        New events become one Parquet segment of the store (see ``warehouse``)."""
        con = self.con
        name = table.name
        target = self.wh.table(name)
        stored = [r[0] for r in con.execute(f"DESCRIBE {target}").fetchall()]
        order = " ORDER BY _bucket, uscc" if "bucket" in stored else ""
        # revisions first: superseded versions go to <table>_history
        if self._held_cols is not None:
            keycols = ", ".join(table.key)
            changed = f"(SELECT {keycols} FROM held_{name} WHERE outcome = 'accepted')"
            match = self._key_match(table, "t", "r")
            if self._any(changed):
                # by name: a store migrated to more columns has them after superseded_by in its history
                con.execute(f"INSERT INTO {name}_history BY NAME SELECT t.*, {self.delivery_id} AS superseded_by "
                            f"FROM {name} t JOIN {changed} r ON {match}")
                con.execute(f"DELETE FROM {target} t USING {changed} r WHERE {match}")
                segments = self.wh.segments_sql() if name == "events" else None
                if segments:  # held in an immutable segment file: hidden from now on
                    con.execute(f"INSERT INTO events_superseded SELECT t.delivery_id, t.file, t.line "
                                f"FROM ({segments}) t JOIN {changed} r ON {match}")
                values = []
                for col in stored:
                    if col == "bucket":
                        values.append(BUCKET_SQL.format(col="uscc"))
                    else:
                        values.append(self._lineage(col) or col)
                sel = ", ".join(f"{v} AS {c}" for v, c in zip(values, stored))
                con.execute(f"INSERT INTO {target} ({', '.join(stored)}) SELECT {sel} "
                            f"FROM held_{name} WHERE outcome = 'accepted'{order}")
        # new rows: valid, first occurrence in this delivery, key not held
        hide = self._decided(name)
        skip = "".join(f" ANTI JOIN {t} USING (_file_idx, _line)" for t in hide)
        n = con.execute(f"SELECT count(*) FROM {dec} c{skip} WHERE c._reason IS NULL").fetchall()[0][0]
        if name == "events":
            self._write_segment(dec, tri, hide, n)
            self.wh.refresh_events()
            return
        cols = ", ".join(f"{v} AS {c}" for v, c in zip(self._stored_values(stored), stored))
        if n:
            con.execute("SET preserve_insertion_order = true")  # rows stored in entity order
            con.execute(f"INSERT INTO {target} ({', '.join(stored)}) SELECT {cols} FROM {tri} c{skip} "
                        f"WHERE c._reason IS NULL{order}")
            con.execute("SET preserve_insertion_order = false")

    def _write_segment(self, dec: str, tri: str, hide: list[str], n: int) -> None:
        """New events become one segment of the store.  The part files the segment pass wrote become the
        segment as they are, the few rows they hold that are not stored (repeated or already held keys)
        listed in ``events_superseded``; a small delivery (one part, sorted by entity) or one with many
        such rows is written again without them."""
        con = self.con
        if not n:
            return
        n_hidden = sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in hide)
        if self._pass_parts == 1 or n_hidden > max(HIDDEN_ROWS_KEPT, n // 100):
            skip = "".join(f" ANTI JOIN {t} USING (_file_idx, _line)" for t in hide)
            self.wh.write_segment(f"SELECT * FROM {tri} c{skip} WHERE c._reason IS NULL", self.delivery_id, n,
                                  sort="bucket, uscc")
            return
        if n_hidden:
            file = self._lineage("file")
            con.execute(f"INSERT INTO events_superseded SELECT {self.delivery_id}, {file}, _line FROM ("
                        + " UNION ALL ".join(f"SELECT _file_idx, _line FROM {t}" for t in hide) + ")")
        self._pass_sync.join()
        self.wh.adopt_segment(sorted(p for p in self._pass_dir.glob("part=*") if p.name != "part=-1"),
                              self.delivery_id)

    def _count(self, table: contract.Table, dec: str, tr: TableResult) -> None:
        con = self.con
        name = table.name
        # rows per (source, reason) from _field_counts; a valid row is accepted unless the repeated-key
        # or held-key step decided otherwise (those few rows are counted here)
        counts = Counter()
        for (src, reason), n in self._by_reason.items():
            if reason is None:
                counts[(src, "accepted", None)] += n
            else:
                counts[(src, "quarantined", reason)] += n
        hide = self._decided(name)
        decided = [] if not hide else con.execute(f"""
            SELECT c._source, o.outcome, o.reason, count(*)
            FROM ({" UNION ALL ".join(f"SELECT _file_idx, _line, outcome, reason FROM {t}" for t in hide)}) o
            JOIN {dec} c USING (_file_idx, _line)
            GROUP BY ALL
        """).fetchall()
        for src, outcome, reason, n in decided:
            counts[(src, "accepted", None)] -= n
            counts[(src, outcome, reason)] += n
        rows = [(*k, n) for k, n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] is None,
                                                                         kv[0][2] or "")) if n]
        insert_rows(con, "ingest_counts", [[self.delivery_id, name, src, outcome, reason, n]
                                          for src, outcome, reason, n in rows])
        for src, outcome, reason, n in rows:
            if outcome == "accepted":
                tr.accepted += n
                if reason == "revision":
                    tr.revised += n
            elif outcome == "merged":
                tr.merged += n
            else:
                tr.quarantined += n
                tr.by_reason[reason] += n
        dec_cols = [r[0] for r in con.execute(f"DESCRIBE {dec}").fetchall()]
        if "_truncated" in dec_cols:
            for i, c in enumerate(table.columns):
                if c.max_length and c.overflow == contract.TRUNCATE:
                    n = con.execute(f"SELECT count(*) FROM {dec} c ANTI JOIN dup_{name} d USING (_file_idx, _line) "
                                    f"WHERE c._reason IS NULL AND (c._truncated >> {i}) & 1 = 1").fetchall()[0][0]
                    if n:
                        tr.truncated[c.name] += n
                        self.progress(f"{name}: {n:,} {c.name} cells cut to {c.max_length:,} characters")
        if "region_historical" in dec_cols:
            tr.historical_region += con.execute(
                f"SELECT count(*) FROM {dec} c ANTI JOIN dup_{name} d USING (_file_idx, _line) "
                f"WHERE c._reason IS NULL AND c.region_historical").fetchall()[0][0]

    def _quarantine(self, table: contract.Table, dec: str, staged_files: list[tuple[int, DeliveryFile, Staged]]) -> None:
        """Keep each quarantined row's original text (its cells as a CSV line)."""
        con = self.con
        name = table.name
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE q_{name} AS
            SELECT c._file_idx, c._line, coalesce(c._reason, d.reason) AS reason, c._source, c._q_uscc AS uscc
            FROM {dec} c LEFT JOIN dup_{name} d USING (_file_idx, _line)
            WHERE c._reason IS NOT NULL OR d.outcome = 'quarantined'
        """)
        for idx, df, st in staged_files:
            if not self._any(f"(SELECT 1 FROM q_{name} WHERE _file_idx = {idx})"):
                continue
            cells = ", ".join(
                f"CASE WHEN s.{c} IS NULL THEN '' WHEN regexp_matches(s.{c}, '[,\"\\r\\n]') "
                f"THEN '\"' || replace(s.{c}, '\"', '\"\"') || '\"' ELSE s.{c} END"
                for c in st.raw_columns
            )
            con.execute(f"""
                INSERT INTO quarantine
                SELECT {self.delivery_id}, '{name}', ?, q._line, q.reason, NULL, q._source, q.uscc,
                       concat_ws(',', {cells})
                FROM (SELECT * FROM q_{name} WHERE _file_idx = {idx}) q
                JOIN {st.name} s ON s._line = q._line
                ORDER BY q._line
            """, [df.rel])
        con.execute(f"DROP TABLE q_{name}")


class _NothingLoaded(Exception):
    def __init__(self, result: IngestResult):
        self.result = result


def _fingerprint(files: list[DeliveryFile]) -> str:
    h = hashlib.sha256()
    for f in files:
        st = f.path.stat()
        h.update(f"{f.rel}\0{st.st_size}\0".encode())
    return h.hexdigest()[:16]


def ingest(home: Path, path: Path, *, progress: Progress | None = None, today: dt.date | None = None,
           memory_limit: str | None = None, threads: int | None = None, lock_timeout: float = 60.0,
           limits: XlsxLimits | None = None,
           within: Callable[[duckdb.DuckDBPyConnection, IngestResult], None] | None = None) -> IngestResult:
    """Load one delivery into the store of ``home``; raises RiskgradeError when nothing could be loaded.
    ``within(con, result)``, when given, runs inside the delivery's transaction after it is stored: what it
    writes is committed with the delivery, and if it raises nothing of either is kept (the results intake
    links its rows to the plan this way)."""
    if limits is None:  # the home's settings (environment, riskgrade.toml), else the defaults
        from ..settings import load as load_settings

        s = load_settings(Path(home))
        limits = XlsxLimits(s.xlsx_max_bytes, s.xlsx_max_rows, s.xlsx_max_columns)
    with Warehouse(home, write=True, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout) as wh:
        run = Ingest(wh, path, progress, today, limits)
        run.within = within
        try:
            return run.run()
        except _NothingLoaded as e:
            bad = "; ".join(f"{u['path']}: {u['reason']}" for u in e.result.unreadable) or "no table files found"
            raise RiskgradeError(f"nothing could be loaded from {path} ({bad})") from None
