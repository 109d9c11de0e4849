"""Inspection results back in, linked to their plan; the public results export (一公开).

An uploaded results file (the CLI's ``riskgrade results import``, the API, the console) is parsed by the one
parser (``service.results.parse``) into result rows and rejected lines; :func:`intake_results` then stores the
accepted rows through a narrow path: the table is always ``events``, the event type always ``inspection``, the
source always the plan's own namespace (:func:`results_source`, ``results:plan-<id>``) and the record id minted
here (:func:`record_id`), so an upload can never write an entity, another event type or another source's record.
The rows go through the normal ingest (a file this module writes, with fixed columns), so they are stored,
de-duplicated and versioned like every inspection record, then linked to the plan in ``plan_results``. Every
line of the upload, accepted, rejected with its reason, or skipped (no result filled in), is kept in
``results_rows``.

:func:`link_results` links held inspection records of other sources (a later delivery) to a plan;
linking is idempotent.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..contract import INSPECTION_RESULT_ZH
from ..errors import RiskgradeError
from ..sql import table_exists
from ..warehouse import Warehouse, insert_rows
from . import reasons
from .tables import ensure_results_schema, ensure_schema

RESULT_ZH = INSPECTION_RESULT_ZH  # the words of the public results export (defined in contract)


@dataclass
class LinkOutcome:
    plan_id: int
    linked: int          # newly linked results
    planned: int         # entities in the plan
    with_result: int     # planned entities that now have a result
    delivery: dict | None = None


@dataclass
class ResultRow:
    """One result of an upload: the entity, the day of the inspection, the contract's result code."""
    line: int
    uscc: str
    event_date: dt.date
    result: str
    inspector: str | None = None
    notes: str | None = None


@dataclass
class Rejected:
    """A line of an upload that was not stored: where (line, column) and why (a reason code of
    :data:`riskgrade.inspection.reasons.REASONS`, with the parameters its words need)."""
    line: int
    column: str
    code: str
    value: str = ""
    uscc: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """The reason in English (the API's and the CLI's ``reason``)."""
        return reasons.text(self.code, "en", value=self.value, **self.params)

    def message(self, lang: str = "en") -> str:
        """Where and why, in ``lang`` (zh or en): ``第 12 行「检查结果」列：无法识别的检查结果「合格吧」``."""
        return reasons.message(self.code, self.line, self.column, lang, value=self.value, **self.params)

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "reason": self.reason, "value": self.value,
                "code": self.code, "message": self.message("en"), "message_zh": self.message("zh"),
                "reason_zh": reasons.text(self.code, "zh", value=self.value, **self.params)}


@dataclass
class IntakeOutcome:
    plan_id: int
    upload_id: int
    source: str
    rows: int                       # result lines read
    accepted: list[ResultRow]
    rejected: list[Rejected]
    skipped: int = 0                # lines without a result (a template row left blank): kept, not rejected
    linked: int = 0                 # results new to the plan
    updated: int = 0                # results of the same entity and day that changed (the latest wins)
    unchanged: int = 0              # results uploaded again as they were
    planned: int = 0
    with_result: int = 0
    delivery: dict | None = field(default=None)


def results_source(plan_id: int) -> str:
    """The source of a plan's uploaded results: a namespace no delivery and no other plan shares."""
    return f"results:plan-{int(plan_id)}"


def record_id(plan_id: int, uscc: str, day: dt.date) -> str:
    """The record id of a plan's result for an entity on a day: one per (plan, uscc, date), so uploading a
    result again replaces that result (the latest wins) and never another record."""
    return f"plan-{int(plan_id)}-{uscc}-{day:%Y%m%d}"


def plan_row(con: duckdb.DuckDBPyConnection, plan_id: int) -> tuple:
    rows = con.execute("SELECT p.plan_id, p.as_of, t.period_end FROM plans p LEFT JOIN tasks t USING (task_id) "
                       "WHERE p.plan_id = ?", [plan_id]).fetchall()
    if not rows:
        raise RiskgradeError(f"no plan {plan_id}: see `riskgrade plans list`")
    return rows[0]


def link_results(con: duckdb.DuckDBPyConnection, plan_id: int, delivery_id: int | None = None) -> LinkOutcome:
    """Link inspection records of the plan's entities, dated after its as-of date (and not after the
    task's period end, when it has one), to the plan: those of one delivery, or all held ones.  Run inside
    a transaction."""
    ensure_schema(con)
    _, as_of, period_end = plan_row(con, plan_id)
    until = f"AND e.event_date <= DATE '{period_end}'" if period_end else ""
    if delivery_id is not None:
        until += f" AND e.delivery_id = {int(delivery_id)}"
    before = con.execute("SELECT count(*) FROM plan_results WHERE plan_id = ?", [plan_id]).fetchall()[0][0]
    con.execute(f"""
        INSERT INTO plan_results
        SELECT {int(plan_id)}, e.uscc, e.source, e.record_id, e.event_date, e.detail, pe.check_mode, pe.inspectors,
               now()::TIMESTAMP
        FROM events e JOIN plan_entities pe ON pe.uscc = e.uscc AND pe.plan_id = {int(plan_id)}
        WHERE e.event_type = 'inspection' AND e.event_date > DATE '{as_of}' {until}
          AND NOT EXISTS (SELECT 1 FROM plan_results r WHERE r.plan_id = {int(plan_id)}
                          AND r.source IS NOT DISTINCT FROM e.source AND r.record_id = e.record_id)
        ORDER BY e.uscc, e.event_date
    """)
    after, planned, with_result = _plan_counts(con, plan_id)
    return LinkOutcome(plan_id, int(after - before), int(planned), int(with_result))


def _plan_counts(con: duckdb.DuckDBPyConnection, plan_id: int) -> tuple[int, int, int]:
    return con.execute(f"""
        SELECT (SELECT count(*) FROM plan_results WHERE plan_id = {int(plan_id)}),
               (SELECT count(*) FROM plan_entities WHERE plan_id = {int(plan_id)}),
               (SELECT count(DISTINCT uscc) FROM plan_results WHERE plan_id = {int(plan_id)})""").fetchall()[0]


# --------------------------------------------------------------------------- the narrow results intake
RESULT_COLUMNS = ("record_id", "uscc", "event_type", "event_date", "source", "detail")  # fixed: never the file's


def _window(rows: list[ResultRow], planned: set[str], as_of: dt.date, period_end: dt.date | None,
            today: dt.date) -> tuple[list[ResultRow], list[Rejected]]:
    ok, bad = [], []
    for r in rows:
        day = str(r.event_date)
        if r.uscc not in planned:  # the caller checked the scope; never store an entity outside the plan
            bad.append(Rejected(r.line, "uscc", "not_in_plan", r.uscc, r.uscc))
        elif r.event_date <= as_of:
            bad.append(Rejected(r.line, "date", "before_as_of", day, r.uscc, {"as_of": str(as_of)}))
        elif period_end is not None and r.event_date > period_end:
            bad.append(Rejected(r.line, "date", "after_period_end", day, r.uscc, {"period_end": str(period_end)}))
        elif r.event_date > today:
            bad.append(Rejected(r.line, "date", "in_future", day, r.uscc))
        else:
            ok.append(r)
    return ok, bad


def _events_file(folder: Path, plan_id: int, rows: list[ResultRow]) -> None:
    """The rows as inspection events of the plan's source, in a file with fixed columns (the uploaded file
    never chooses the table, the type, the source or the record id)."""
    with open(folder / "events.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(RESULT_COLUMNS)
        for r in rows:
            w.writerow([record_id(plan_id, r.uscc, r.event_date), r.uscc, "inspection", r.event_date.isoformat(),
                        results_source(plan_id), r.result])


def link_upload(con: duckdb.DuckDBPyConnection, plan_id: int, ok: list[ResultRow], rejected: list[Rejected], *,
                uploader: str, file: str, raw: dict[int, str], now: dt.datetime,
                skipped: list[tuple[int, str]] | None = None) -> IntakeOutcome:
    """Link an upload's stored rows to the plan (``plan_results``) and keep every line (``results_rows``).
    Runs inside the transaction that stored the rows (the ingest's ``within``), so the rows and their links
    are committed together or not at all."""
    source = results_source(plan_id)
    ensure_results_schema(con)
    upload_id = int(con.execute("SELECT coalesce(max(upload_id), 0) + 1 FROM results_rows").fetchall()[0][0])
    out = IntakeOutcome(plan_id, upload_id, source, 0, ok, rejected, len(skipped or []))
    ids = [record_id(plan_id, r.uscc, r.event_date) for r in ok]
    before = dict(con.execute("SELECT record_id, result FROM plan_results WHERE plan_id = ? AND source = ? "
                              "AND record_id IN (SELECT unnest(?))", [plan_id, source, ids]).fetchall())
    for i, r in zip(ids, ok):
        if i not in before:
            out.linked += 1
        elif before[i] == r.result:
            out.unchanged += 1
        else:
            out.updated += 1
    if ok:
        con.execute("DELETE FROM plan_results WHERE plan_id = ? AND source = ? AND record_id IN (SELECT unnest(?))",
                    [plan_id, source, ids])
        modes = dict((u, (m, i)) for u, m, i in con.execute(
            "SELECT uscc, check_mode, inspectors FROM plan_entities WHERE plan_id = ?", [plan_id]).fetchall())
        insert_rows(con, "plan_results", [
            [plan_id, r.uscc, source, i, r.event_date, r.result, modes[r.uscc][0],
             r.inspector or modes[r.uscc][1], now] for i, r in zip(ids, ok)])
    lines = [[upload_id, plan_id, r.line, "accepted", r.uscc, r.event_date, r.result, r.inspector, r.notes, source,
              i, None, None, raw.get(r.line), uploader, file, now] for i, r in zip(ids, ok)]
    lines += [[upload_id, plan_id, r.line, "rejected", r.uscc, None, None, None, None, None, None, r.column or None,
               f"{r.code}: {r.reason}", raw.get(r.line, r.value), uploader, file, now] for r in rejected]
    lines += [[upload_id, plan_id, line, "skipped", u or None, None, None, None, None, None, None, None,
               "no_result: no date, result or notes (未填写结果)", raw.get(line), uploader, file, now]
              for line, u in skipped or []]
    if lines:
        insert_rows(con, "results_rows", lines)
    _, out.planned, out.with_result = _plan_counts(con, plan_id)
    return out


def intake_results(home: Path, plan_id: int, rows: list[ResultRow], rejected: list[Rejected], *, uploader: str,
                   file: str = "", raw: dict[int, str] | None = None, today: dt.date | None = None,
                   memory_limit: str | None = None, threads: int | None = None,
                   lock_timeout: float = 60.0, skipped: list[tuple[int, str]] | None = None) -> IntakeOutcome:
    """Store an upload's result rows for a plan and link them; keep every line (accepted, or rejected with its
    reason, or skipped: ``skipped``, the (line, uscc) of rows without a result) in ``results_rows``.  ``rows``
    are parsed and in the uploader's scope; here each is checked
    against the plan (one of its entities, dated after its as-of date, not after the task's period end, not
    in the future).  A result uploaded again for the same entity and day replaces the plan's earlier one
    (same record id in the plan's own source); nothing else is ever replaced.

    One transaction: the rows are stored by the ingest, and linked and kept (:func:`link_upload`) inside the
    ingest's transaction, so a failure at any point leaves nothing of the upload in the store and the same
    upload can simply be sent again."""
    from ..ingest import ingest

    today = today or dt.date.today()
    raw = raw or {}
    total = len(rows) + len(rejected) + len(skipped or [])  # the parser rejects or skips a line once
    with Warehouse(home, lock_timeout=lock_timeout) as wh:
        if not table_exists(wh.con, "plans"):
            raise RiskgradeError(f"no plan {plan_id}: draw one with `riskgrade plan` first")
        _, as_of, period_end = plan_row(wh.con, plan_id)
        planned = {u for (u,) in wh.con.execute("SELECT uscc FROM plan_entities WHERE plan_id = ?",
                                                [plan_id]).fetchall()}
    ok, late = _window(rows, planned, as_of, period_end, today)
    rejected = sorted([*rejected, *late], key=lambda r: (r.line, r.column))
    now = dt.datetime.now().replace(microsecond=0)
    done: list[IntakeOutcome] = []

    def within(con: duckdb.DuckDBPyConnection, delivery_id: int | None) -> None:
        stored, refused = ok, rejected
        if delivery_id is not None:  # rows the ingest quarantined (its own checks) are rejected lines too
            q = con.execute("SELECT line, reason FROM quarantine WHERE delivery_id = ?", [delivery_id]).fetchall()
            why = {ok[int(n) - 2].line: reason for n, reason in q if 2 <= int(n) < len(ok) + 2}
            if why:
                refused = sorted([*refused, *(Rejected(r.line, "", "quarantined", "", r.uscc, {"why": why[r.line]})
                                              for r in ok if r.line in why)], key=lambda r: (r.line, r.column))
                stored = [r for r in ok if r.line not in why]
        done.append(link_upload(con, plan_id, stored, refused, uploader=uploader, file=file, raw=raw, now=now,
                                skipped=skipped))

    delivery = None
    if ok:
        tmp = home / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"results-plan{int(plan_id)}-", dir=tmp))
        try:
            _events_file(folder, plan_id, ok)
            res = ingest(home, folder, today=today, memory_limit=memory_limit, threads=threads,
                         lock_timeout=lock_timeout, within=lambda con, result: within(con, result.delivery_id))
            delivery = res.as_dict()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        with Warehouse(home, write=True, lock_timeout=lock_timeout) as wh, wh.transaction():
            within(wh.con, None)
    out = done[0]
    out.rows, out.delivery = total, delivery
    return out


def public_results_query(plan_id: int | None = None, task_id: int | None = None) -> str:
    """Results for publication: entity name, USCC, task, date, result.  Never a grade or a score, and no
    check mode: A-class entities drawn at random are checked in writing (书面检查), so the mode would name
    their grade (docs/security-disclosure.md)."""
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in RESULT_ZH.items())
    where = f"r.plan_id = {int(plan_id)}" if plan_id is not None else f"p.task_id = {int(task_id)}"
    return f"""
        SELECT e.name, r.uscc, coalesce(t.name, '全省通用双随机抽查') AS task, r.event_date AS inspected_on,
               r.result, CASE r.result {cases} ELSE r.result END AS result_zh
        FROM plan_results r
        JOIN plans p USING (plan_id)
        LEFT JOIN tasks t USING (task_id)
        LEFT JOIN entities e USING (uscc)
        WHERE {where}
        ORDER BY r.event_date, r.uscc, r.record_id"""


def linked_results(con: duckdb.DuckDBPyConnection, *, plan_id: int | None = None, usccs: list[str] | None = None,
                   limit: int = 1000) -> list[dict]:
    """Results linked to plans (the company file, the plan page): of one plan and/or of some entities, newest
    first, each with its plan, entity, date, result code, inspectors, the note of the line that stored it and
    when it was stored; [] when no result was ever linked."""
    if not table_exists(con, "plan_results"):
        return []
    conds, args = [], []
    if plan_id is not None:
        conds.append("r.plan_id = ?")
        args.append(int(plan_id))
    if usccs is not None:
        conds.append("r.uscc IN (SELECT unnest(?))")
        args.append(list(usccs))
    notes = ("(SELECT x.notes FROM results_rows x WHERE x.plan_id = r.plan_id AND x.record_id = r.record_id "
             "AND x.status = 'accepted' ORDER BY x.upload_id DESC LIMIT 1)" if table_exists(con, "results_rows")
             else "CAST(NULL AS VARCHAR)")
    rows = con.execute(f"""
        SELECT r.plan_id, r.uscc, r.event_date, r.result, r.inspectors, r.check_mode, {notes}, r.imported_at
        FROM plan_results r WHERE {' AND '.join(conds) or 'true'}
        ORDER BY r.event_date DESC, r.plan_id DESC, r.uscc LIMIT {int(limit)}""", args).fetchall()
    keys = ("plan_id", "uscc", "event_date", "result", "inspectors", "check_mode", "notes", "imported_at")
    return [dict(zip(keys, r)) for r in rows]
