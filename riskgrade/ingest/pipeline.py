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
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import contract
from ..codes import regions, uscc as uscc_codes
from ..errors import RiskgradeError
from ..warehouse import BUCKET_SQL, Warehouse
from . import sqlexpr as X
from .readers import DeliveryFile, Staged, Unreadable, discover, read_file, release

Progress = Callable[[str], None]
DEFAULTS = {"status": "active"}  # value of an empty optional cell, per the contract


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

    def as_dict(self) -> dict:
        return {
            "read": self.read, "accepted": self.accepted, "merged": self.merged, "quarantined": self.quarantined,
            "by_reason": dict(sorted(self.by_reason.items())), "revised": self.revised,
            "historical_region": self.historical_region, "files": self.files,
        }


@dataclass
class IngestResult:
    delivery_id: int
    path: str
    load_date: dt.date
    tables: dict[str, TableResult]
    unreadable: list[dict]
    ignored: list[dict]

    @property
    def loaded_anything(self) -> bool:
        return any(t.files for t in self.tables.values())

    def as_dict(self) -> dict:
        return {
            "delivery_id": self.delivery_id,
            "path": self.path,
            "load_date": self.load_date.isoformat(),
            "tables": {k: v.as_dict() for k, v in self.tables.items()},
            "unreadable_files": self.unreadable,
            "ignored_files": self.ignored,
        }


# --------------------------------------------------------------------------- typed columns
def _typed(table: contract.Table, staged: dict[str, str]) -> dict[str, tuple[str, str]]:
    """contract column -> (typed SQL expression, cleaned text expression)."""
    out: dict[str, tuple[str, str]] = {}
    for col in table.columns:
        v = X.clean_col(staged, col.name)
        if col.kind == contract.USCC:
            out[col.name] = (f"upper({v})", v)
        elif col.kind == contract.ENUM:
            out[col.name] = (X.enum_lookup(v, col.vocabulary or col.name), v)
        elif col.kind in (contract.DATE, contract.DATE_PAST):
            out[col.name] = (X.parse_date(v), v)
        elif col.kind == contract.NUMBER:
            out[col.name] = (X.parse_number(v), v)
        elif col.kind == contract.INDUSTRY:
            out[col.name] = (X.industry_parts(v)[0], v)
        else:
            out[col.name] = (v, v)
    return out


def _checks(table: contract.Table, load_date: dt.date) -> tuple[list, list]:
    """(checks before the USCC check, checks after it): lists of (reason, condition over t_* columns)."""
    ld = f"DATE '{load_date.isoformat()}'"
    pre = [("missing_required", " OR ".join(f"t_{c.name}_txt IS NULL" for c in table.columns if c.required))]
    post: list[tuple[str, str]] = []
    for c in table.columns:
        if c.kind == contract.ENUM:
            reason = "unknown_event_type" if c.name == "event_type" else "bad_enum"
            post.append((reason, f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)"))
    for c in table.columns:
        if c.kind == contract.REGION:
            post.append(("bad_region", f"(t_{c.name} IS NOT NULL AND rr.code IS NULL)"))
    for c in table.columns:
        if c.kind == contract.INDUSTRY:
            post.append(("bad_industry", f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)"))
    dates = [c for c in table.columns if c.kind in (contract.DATE, contract.DATE_PAST)]
    if dates:
        post.append(("bad_date", " OR ".join(f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)" for c in dates)))
        past = [c for c in dates if c.kind == contract.DATE_PAST]
        if past:
            post.append(("future_date", " OR ".join(f"coalesce(t_{c.name} > {ld}, false)" for c in past)))
    nums = [c for c in table.columns if c.kind == contract.NUMBER]
    if nums:
        post.append(("bad_number", " OR ".join(f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)" for c in nums)))
    return pre, post


def _case(checks: list[tuple[str, str]]) -> str:
    if not checks:
        return "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(f"WHEN {cond} THEN '{r}'" for r, cond in checks) + " END"


def _classify_sql(table: contract.Table, st: Staged, file_idx: int, load_date: dt.date) -> str:
    """First step, one pass over a file: typed values, reasons that do not depend on the USCC check
    (``_pre`` before it in precedence, ``_post`` after it), which fields are present (``_present`` bits)."""
    typed = _typed(table, st.columns)
    pre, post = _checks(table, load_date)
    inner = ", ".join(f"{e} AS t_{n}, {txt} AS t_{n}_txt" for n, (e, txt) in typed.items())
    extra = ""
    if "industry_code" in typed:
        extra = f", {X.industry_parts(X.clean_col(st.columns, 'industry_code'))[1]} AS t_industry_section"
    select = [f"{file_idx} AS _file_idx", "_line"]
    select += [f"t_{c.name} AS {c.name}" for c in table.columns]
    select.append("coalesce(t_source, '') AS _source" if "source" in table.names else "'' AS _source")
    select += [f"{_case(pre)} AS _pre", f"{_case(post)} AS _post"]
    bits = " + ".join(f"(CASE WHEN t_{c.name}_txt IS NOT NULL THEN {1 << i} ELSE 0 END)" for i, c in enumerate(table.columns))
    select.append(f"CAST({bits} AS BIGINT) AS _present")
    if "industry_code" in typed:
        select.append("t_industry_section AS industry_section")
    joins = ""
    region = next((c.name for c in table.columns if c.kind == contract.REGION), None)
    if region:
        joins += f" LEFT JOIN ref_regions rr ON rr.code = t.t_{region}"
        select.append("coalesce(NOT rr.current, false) AS _region_historical")
    return f"SELECT {', '.join(select)} FROM (SELECT _line, {inner}{extra} FROM {st.name}) t{joins}"


def _reason_sql(table: contract.Table) -> str:
    """Second step: the first failing reason, in contract order, once USCCs are checked."""
    parts = ["c._pre"]
    if "uscc" in table.names:
        parts.append("CASE WHEN c.uscc IS NOT NULL AND NOT coalesce(us.valid, false) THEN 'bad_uscc' END")
    parts.append("c._post")
    if table.attributed:
        parts.append("CASE WHEN NOT coalesce(us.held, false) THEN 'unattributed' END")
    return "coalesce(" + ", ".join(parts) + ")"


# --------------------------------------------------------------------------- the run
class Ingest:
    def __init__(self, wh: Warehouse, path: Path, progress: Progress | None = None, today: dt.date | None = None):
        self.wh = wh
        self.path = Path(path)
        self.progress = progress or (lambda msg: None)
        self.now = dt.datetime.now().replace(microsecond=0)
        self.load_date = today or self.now.date()
        assert wh.con is not None
        self.con: duckdb.DuckDBPyConnection = wh.con
        self.tmp = wh.home / "tmp"

    def run(self) -> IngestResult:
        files = discover(self.path)
        con = self.con
        did = con.execute("SELECT coalesce(max(delivery_id), 0) + 1 FROM deliveries").fetchall()[0][0]
        self.delivery_id = int(did)
        result = IngestResult(self.delivery_id, str(self.path), self.load_date, {}, [], [])
        # Phase 1, outside the store transaction: read every file into staging tables (a file that
        # cannot be read is reported and skipped; nothing in the store changes).
        self._file_rows: list[list] = []
        by_table: dict[str, list[tuple[DeliveryFile, Staged]]] = defaultdict(list)
        for stage_id, df in enumerate(files):
            if df.format is None and df.table is None:
                result.ignored.append({"path": df.rel, "reason": "not a table of the contract"})
                self._file_row(df, None, "ignored", "not a table of the contract", 0)
                continue
            self.progress(f"reading {df.rel}")
            try:
                staged, table = read_file(con, df, stage_id, self.tmp)
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

    def _file_row(self, df: DeliveryFile, st: Staged | None, status: str, reason: str | None, rows: int) -> None:
        self._file_rows.append(
            [self.delivery_id, df.table, df.rel, df.format, st.encoding if st else None, status, reason, rows])

    def _unreadable(self, result: IngestResult, df: DeliveryFile, reason: str) -> None:
        result.unreadable.append({"path": df.rel, "reason": reason})
        self._file_row(df, None, "unreadable", reason, 0)
        self.progress(f"[unreadable] {df.rel}: {reason}")

    def _validate_usccs(self, cls0: str) -> None:
        """Check each distinct USCC once (vectorised GB 32100 check, equal to python-stdnum's).

        Builds ``uscc_status(u, held, valid)`` for every distinct code of the table being loaded:
        ``held`` when it names an entity in the store, ``valid`` when held or when it passes the check.
        """
        con = self.con
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE uscc_held AS
            SELECT d.u, e.uscc IS NOT NULL AS held
            FROM (SELECT DISTINCT uscc AS u FROM {cls0} WHERE uscc IS NOT NULL) d
            LEFT JOIN entities e ON e.uscc = d.u
        """)
        todo = con.execute("SELECT u FROM uscc_held WHERE NOT held").fetchnumpy()["u"].tolist()
        ok = uscc_codes.valid_mask(todo) if todo else []
        good = [u for u, k in zip(todo, ok) if k]
        con.register("uscc_new", pa.table({"u": pa.array(good, pa.string())}))
        con.execute("""
            CREATE OR REPLACE TEMP TABLE uscc_status AS
            SELECT h.u, h.held, h.held OR n.u IS NOT NULL AS valid
            FROM uscc_held h LEFT JOIN uscc_new n ON n.u = h.u
        """)
        con.unregister("uscc_new")
        con.execute("DROP TABLE uscc_held")

    def _field_counts(self, table: contract.Table, cls0: str) -> None:
        """Rows and non-empty cells per field and source, from the presence bits of the first step."""
        parts = ", ".join(f"sum((_present >> {i}) & 1) AS f{i}" for i in range(len(table.columns)))
        rows = self.con.execute(f"SELECT _source, count(*), {parts} FROM {cls0} GROUP BY _source").fetchall()
        values = [[self.delivery_id, table.name, r[0], c.name, r[1], int(r[2 + i])]
                  for r in rows for i, c in enumerate(table.columns)]
        if values:
            self.con.executemany("INSERT INTO field_counts VALUES (?, ?, ?, ?, ?, ?)", values)

    def _load_table(self, table: contract.Table, items: list[tuple[DeliveryFile, Staged]], tr: TableResult) -> None:
        con = self.con
        name = table.name
        cls = f"cls_{name}"
        staged_files: list[tuple[int, DeliveryFile, Staged]] = []
        for df, st in items:
            staged_files.append((len(staged_files), df, st))
        if not staged_files:
            return
        self.progress(f"validating and merging {name}")
        parts = []
        for idx, df, st in staged_files:
            tr.files += 1
            tr.read += st.rows + len(st.malformed)
            con.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [self.delivery_id, name, df.rel, df.format, st.encoding, "loaded", None, st.rows + len(st.malformed)])
            parts.append(_classify_sql(table, st, idx, self.load_date))
            for line, text, why in st.malformed:
                con.execute(
                    "INSERT INTO quarantine VALUES (?, ?, ?, ?, 'malformed_row', ?, '', NULL, ?)",
                    [self.delivery_id, name, df.rel, line, why, text],
                )
            if st.malformed:
                tr.quarantined += len(st.malformed)
                tr.by_reason["malformed_row"] += len(st.malformed)
                con.execute("INSERT INTO ingest_counts VALUES (?, ?, '', 'quarantined', 'malformed_row', ?)",
                            [self.delivery_id, name, len(st.malformed)])
        # temporary tables are only ever created whole (CREATE ... AS), never appended to
        con.execute(f"CREATE OR REPLACE TEMP TABLE {cls}0 AS " + " UNION ALL ".join(f"({q})" for q in parts))
        self._field_counts(table, f"{cls}0")
        join = ""
        if "uscc" in table.names:
            self._validate_usccs(f"{cls}0")
            join = " LEFT JOIN uscc_status us ON us.u = c.uscc"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {cls} AS SELECT c.* EXCLUDE (_pre, _post, _present), "
                    f"{_reason_sql(table)} AS _reason FROM {cls}0 c{join}")
        con.execute(f"DROP TABLE {cls}0")
        self._current_files = {idx: df.rel for idx, df, _ in staged_files}
        self._decide(table, cls)
        self._write(table, cls)
        self._count(table, cls, tr)
        self._quarantine(table, cls, staged_files)
        for _, _, st in staged_files:
            release(con, st)
        con.execute(f"DROP TABLE IF EXISTS {cls}; DROP TABLE IF EXISTS dec_{name}")

    def _decide(self, table: contract.Table, cls: str) -> None:
        """Rows whose key repeats within this delivery: each later occurrence is compared with the first
        (same content: merged; different: conflicting_duplicate).  Builds ``dup_<table>``."""
        con = self.con
        name = table.name
        keyc = ", ".join(f"coalesce(c.{k}, '')" if k == "source" else f"c.{k}" for k in table.key)
        own = X.hash_expr([f"coalesce(c.{n}, '{DEFAULTS[n]}')" if n in DEFAULTS else f"c.{n}" for n in table.names])
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE dupkey_{name} AS
            SELECT concat_ws(chr(31), {keyc}) AS _k FROM {cls} c WHERE c._reason IS NULL
            GROUP BY _k HAVING count(*) > 1
        """)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE dup_{name} AS
            WITH h AS (
                SELECT c._file_idx, c._line, concat_ws(chr(31), {keyc}) AS _k, {own} AS _h,
                       row_number() OVER (PARTITION BY concat_ws(chr(31), {keyc}) ORDER BY c._file_idx, c._line) AS _occ
                FROM {cls} c SEMI JOIN dupkey_{name} d ON d._k = concat_ws(chr(31), {keyc})
                WHERE c._reason IS NULL
            )
            SELECT h._file_idx, h._line,
                   CASE WHEN h._h = f._h THEN 'merged' ELSE 'conflicting_duplicate' END AS _outcome
            FROM h JOIN h f ON f._k = h._k AND f._occ = 1 WHERE h._occ > 1
        """)
        con.execute(f"DROP TABLE dupkey_{name}")

    def _effective(self, table: contract.Table) -> dict[str, str]:
        """Stored value of each column: the delivered one, else the held one, else the default."""
        out = {}
        for n in table.names:
            e = f"coalesce(c.{n}, h.{n})"
            if n == "reported_on":
                e = f"coalesce(c.{n}, h.{n}, DATE '{self.load_date.isoformat()}')"
            elif n == "status":
                e = f"coalesce(c.{n}, h.{n}, 'active')"
            out[n] = e
        if "industry_code" in table.names:
            out["industry_section"] = "coalesce(c.industry_section, h.industry_section)"
        if "region_code" in table.names or "unit_region_code" in table.names:
            out["region_historical"] = "c._region_historical"  # the region is required, so always delivered
        if name_has_uscc(table) and table.name in ("entities", "events"):
            out["bucket"] = BUCKET_SQL.format(col="c.uscc")
        if "reported_on" in table.names:
            out["reported_given"] = "coalesce(c.reported_on IS NOT NULL, h.reported_given, false)"
        return out

    def _write(self, table: contract.Table, cls: str) -> None:
        con = self.con
        name = table.name
        eff = self._effective(table)
        join = " AND ".join(
            f"coalesce(h.{k}, '') = coalesce(c.{k}, '')" if k == "source" else f"h.{k} = c.{k}" for k in table.key
        )
        chash = X.hash_expr([eff[n] for n in table.names])
        held_rows = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT 1)").fetchall()[0][0]
        if held_rows:
            held_join = f"LEFT JOIN {name} h ON {join}"
        else:  # first load of this table: nothing held, no join
            held_join = "CROSS JOIN (SELECT " + ", ".join(
                f"CAST(NULL AS {t}) AS {c}" for c, t, *_ in con.execute(f"DESCRIBE {name}").fetchall()) + ") h"
        stored_cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
        # first occurrences of valid keys, with the held version when there is one
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE new_{name} AS
            SELECT c._file_idx, c._line, {', '.join(f'{e} AS {n}' for n, e in eff.items())},
                   {chash} AS content_hash, h.content_hash AS _held_hash, h.version AS _held_version,
                   (h.content_hash IS NOT NULL) AS _held
            FROM {cls} c
            ANTI JOIN dup_{name} o USING (_file_idx, _line)
            {held_join}
            WHERE c._reason IS NULL
        """)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE dec_{name} AS
            SELECT _file_idx, _line, 'quarantined' AS outcome, _reason AS reason FROM {cls} WHERE _reason IS NOT NULL
            UNION ALL
            SELECT _file_idx, _line,
                   CASE WHEN _outcome = 'merged' THEN 'merged' ELSE 'quarantined' END,
                   CASE WHEN _outcome = 'merged' THEN NULL ELSE _outcome END
            FROM dup_{name}
            UNION ALL
            SELECT _file_idx, _line,
                   CASE WHEN _held AND content_hash = _held_hash THEN 'merged' ELSE 'accepted' END,
                   CASE WHEN _held AND content_hash <> _held_hash THEN 'revision' END
            FROM new_{name}
        """)
        con.execute(f"DROP TABLE dup_{name}")
        keycols = ", ".join(f"n.{k}" for k in table.key)
        changed = f"(SELECT {keycols} FROM new_{name} n WHERE n._held AND n.content_hash <> n._held_hash)"
        match = " AND ".join(
            f"coalesce(t.{k}, '') = coalesce(r.{k}, '')" if k == "source" else f"t.{k} = r.{k}" for k in table.key
        )
        n_changed = con.execute(f"SELECT count(*) FROM {changed}").fetchall()[0][0]
        if n_changed:
            con.execute(f"""
                INSERT INTO {name}_history
                SELECT t.*, {self.delivery_id} FROM {name} t JOIN {changed} r ON {match}
            """)
            con.execute(f"DELETE FROM {name} t USING {changed} r WHERE {match}")
        order = " ORDER BY bucket, uscc" if "bucket" in stored_cols else ""
        values = []
        for col in stored_cols:
            if col in eff:
                values.append(col)
            elif col == "content_hash":
                values.append("content_hash")
            elif col == "version":
                values.append("coalesce(_held_version, 0) + 1")
            elif col == "delivery_id":
                values.append(str(self.delivery_id))
            elif col == "file":
                values.append("NULL")  # filled below from the file index
            elif col == "line":
                values.append("_line")
            elif col == "loaded_at":
                values.append(f"TIMESTAMP '{self.now.isoformat(sep=' ')}'")
            else:
                values.append("NULL")
        files = self._current_files
        file_case = "CASE _file_idx " + " ".join(f"WHEN {i} THEN '{p.replace(chr(39), chr(39) * 2)}'"
                                                  for i, p in files.items()) + " END"
        values = [file_case if (c == "file") else v for c, v in zip(stored_cols, values)]
        con.execute(f"""
            INSERT INTO {name} ({', '.join(stored_cols)})
            SELECT {', '.join(values)} FROM new_{name}
            WHERE NOT _held OR content_hash <> _held_hash{order}
        """)
        con.execute(f"DROP TABLE new_{name}")

    def _count(self, table: contract.Table, cls: str, tr: TableResult) -> None:
        con = self.con
        name = table.name
        rows = con.execute(f"""
            SELECT c._source, d.outcome, d.reason, count(*)
            FROM {cls} c JOIN dec_{name} d USING (_file_idx, _line)
            GROUP BY ALL ORDER BY ALL
        """).fetchall()
        for src, outcome, reason, n in rows:
            con.execute("INSERT INTO ingest_counts VALUES (?, ?, ?, ?, ?, ?)",
                        [self.delivery_id, name, src, outcome, reason, n])
            if outcome == "accepted":
                tr.accepted += n
                if reason == "revision":
                    tr.revised += n
            elif outcome == "merged":
                tr.merged += n
            else:
                tr.quarantined += n
                tr.by_reason[reason] += n
        total = con.execute(f"SELECT count(*) FROM {cls}").fetchall()[0][0]
        decided = con.execute(f"SELECT count(*) FROM dec_{name}").fetchall()[0][0]
        if total != decided:  # an invariant, not a user error
            raise RiskgradeError(f"internal error: {total} rows of {name} but {decided} outcomes")
        if "region_code" in table.names or "unit_region_code" in table.names:
            tr.historical_region += con.execute(
                f"SELECT count(*) FROM {cls} c JOIN dec_{name} d USING (_file_idx, _line) "
                f"WHERE d.outcome <> 'quarantined' AND c._region_historical"
            ).fetchall()[0][0]

    def _quarantine(self, table: contract.Table, cls: str, staged_files: list[tuple[int, DeliveryFile, Staged]]) -> None:
        """Keep each quarantined row's original text (its cells as a CSV line)."""
        con = self.con
        name = table.name
        for idx, df, st in staged_files:
            cells = ", ".join(
                f"CASE WHEN s.{c} IS NULL THEN '' WHEN regexp_matches(s.{c}, '[,\"\\r\\n]') "
                f"THEN '\"' || replace(s.{c}, '\"', '\"\"') || '\"' ELSE s.{c} END"
                for c in st.raw_columns
            )
            uscc = "c.uscc" if "uscc" in table.names else "NULL"
            con.execute(f"""
                INSERT INTO quarantine
                SELECT {self.delivery_id}, '{name}', ?, d._line, d.reason, NULL, c._source, {uscc},
                       concat_ws(',', {cells})
                FROM dec_{name} d
                JOIN {cls} c USING (_file_idx, _line)
                JOIN {st.name} s ON s._line = d._line
                WHERE d.outcome = 'quarantined' AND d._file_idx = {idx}
                ORDER BY d._line
            """, [df.rel])


def name_has_uscc(table: contract.Table) -> bool:
    return "uscc" in table.names


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
           memory_limit: str | None = None, threads: int | None = None, lock_timeout: float = 60.0) -> IngestResult:
    """Load one delivery into the store of ``home``; raises RiskgradeError when nothing could be loaded."""
    with Warehouse(home, write=True, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout) as wh:
        run = Ingest(wh, path, progress, today)
        try:
            return run.run()
        except _NothingLoaded as e:
            bad = "; ".join(f"{u['path']}: {u['reason']}" for u in e.result.unreadable) or "no table files found"
            raise RiskgradeError(f"nothing could be loaded from {path} ({bad})") from None
