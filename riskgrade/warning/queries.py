"""Reads of the warehouse's alert tables for one viewer: what the service shows of alerts (预警).

**Visibility** - the same everywhere (list, counts, detail, steps, an entity's profile):

* *region*: an alert is visible when one of its members is an entity whose ``region_code`` starts with
  the viewer's GB/T 2260 prefix, or, for an area alert (county x industry), when its county does.
  Members outside the region are withheld (only their number is given), with their evidence;
* *department*: a domain officer (专业领域) sees only the alerts of the units mapped to its department:
  ``unit_code`` equal to the department code the routing table gives the viewer's ``department`` (matched
  by code or alias, as an event's source is: ``卫健委`` and ``卫生健康委员会`` are both ``health``); one
  without a department, or with one the table does not know, sees none;
* counts for statistics roles (analysts) apply the region rule only and name no alert.

Every function takes an open warehouse connection; none writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from ..codes import industries, regions
from ..sql import column_exists, table_exists
from .workflow import OUT_OF_QUEUE

EVIDENCE_LIMIT = 500     # evidence rows in one detail answer
STATUSES = ("open", "assigned", "handled", "review", "closed", "muted", "uncorroborated")  # muted: precision.py;
# uncorroborated: corroboration.py; review: workflow.py
HELD = OUT_OF_QUEUE   # muted, uncorroborated: outside the open queue, listed only when asked for
_HELD_SQL = "(" + ", ".join(f"'{s}'" for s in HELD) + ")"
SEVERITIES = ("high", "medium", "low")
ALERT_COLUMNS = ("alert_id", "rule", "rule_name", "severity", "scope", "raised_on", "last_record_on", "members",
                 "summary", "label", "unit_kind", "responsible_unit", "region_code", "status", "assignee",
                 "disposition", "created_at", "updated_at")
# computed beside them: the area's name (area alerts) and the department code of the responsible unit
EXTRA_COLUMNS = ("area_name", "unit_code")


def _has_table(con, name: str) -> bool:
    """Whether the store (or a copy of its alert tables that knows its own schema: ``copied_schema``, a set of
    (table, column), see :mod:`riskgrade.service.store_cache`) holds a table."""
    schema = getattr(con, "copied_schema", None)
    return any(t == name for t, _ in schema) if schema is not None else table_exists(con, name)


def _has_column(con, table: str, column: str) -> bool:
    schema = getattr(con, "copied_schema", None)
    return (table, column) in schema if schema is not None else column_exists(con, table, column)


def _select(con: duckdb.DuckDBPyConnection, alias: str = "a") -> str:
    """The columns of a listed alert: :data:`ALERT_COLUMNS` and :data:`EXTRA_COLUMNS`."""
    code = f"{alias}.unit_code" if _has_column(con, "alerts", "unit_code") else "CAST(NULL AS VARCHAR)"
    return (", ".join(f"{alias}.{c}" for c in ALERT_COLUMNS)
            + f", CASE WHEN {alias}.scope = 'area' THEN json_extract_string({alias}.info, '$.area_name') END AS area_name"
            + f", {code} AS unit_code, {risk_sql(con, alias)} AS expected_risk")


def risk_sql(con: duckdb.DuckDBPyConnection, alias: str = "a") -> str:
    """The alerts' expected risk (NULL in a store not warned since the column was added)."""
    return f"{alias}.expected_risk" if _has_column(con, "alerts", "expected_risk") else "CAST(NULL AS DOUBLE)"


@dataclass(frozen=True)
class Viewer:
    """Who looks: the user's name, role, region prefix and (domain officers) department."""
    username: str
    role: str
    region_prefix: str
    department: str | None = None
    department_code: str | None = None   # the routing table's code of ``department`` (None: unknown)

    @property
    def by_department(self) -> bool:
        return self.role == "domain_officer"


ALL = Viewer("", "admin", "")  # sees every alert (the command line)


# --------------------------------------------------------------------------- areas (county x industry)
def _ind_expr(level: str, alias: str) -> str:
    if level == "division":
        return f"coalesce(left({alias}.industry_code, 2), '?')"
    return f"coalesce({alias}.industry_section, '?')"


def area_entity_counts(con: duckdb.DuckDBPyConnection, areas: list[tuple[str, dict, dt.date]]) -> dict[str, int]:
    """key -> how many entities an area (``info``: region_code, industry, industry_level) held on a day:
    registered by then and not closed (deregistered or revoked) on or before it.  One scan of ``entities``
    for all the areas."""
    if not areas:
        return {}
    import pyarrow as pa

    con.register("w_area_rows", pa.table({
        "key": pa.array([a[0] for a in areas], pa.string()),
        "region_code": pa.array([a[1].get("region_code") for a in areas], pa.string()),
        "ind": pa.array([a[1].get("industry") for a in areas], pa.string()),
        "division": pa.array([a[1].get("industry_level") == "division" for a in areas], pa.bool_()),
        "as_of": pa.array([a[2] for a in areas], pa.date32())}))
    try:
        # equi-join on (county, industry at the area's level): the entities of the areas' counties once, each
        # with its industry at both levels
        rows = con.execute(f"""
            WITH n AS (SELECT n.region_code, l.division,
                              CASE WHEN l.division THEN {_ind_expr('division', 'n')} ELSE {_ind_expr('section', 'n')}
                              END AS ind, n.established_on, coalesce(n.status, 'active') <> 'active' AS gone,
                              coalesce(n.closed_on, DATE '1900-01-01') AS closed_on
                       FROM entities n, (SELECT DISTINCT division FROM w_area_rows) l
                       WHERE n.region_code IN (SELECT region_code FROM w_area_rows))
            SELECT a.key, count(n.region_code) FILTER (WHERE n.established_on <= a.as_of
                                                        AND NOT (n.gone AND n.closed_on <= a.as_of))
            FROM w_area_rows a LEFT JOIN n ON n.region_code = a.region_code AND n.ind = a.ind
                                           AND n.division = a.division
            GROUP BY a.key""").fetchall()
    finally:
        con.unregister("w_area_rows")
    return {k: int(n) for k, n in rows}


def area_name(info: dict) -> str:
    """An area's Chinese name: the county and the industry (section, or division)."""
    code, ind = info.get("region_code") or "", info.get("industry") or "?"
    county = regions.name(code) if code else "（未知县区）"
    if info.get("industry_level") == "division" and ind.isdigit():
        sec = industries.DIVISION_SECTION.get(ind)
        return f"{county}{industries.section_name(sec) if sec else ''}（行业大类 {ind}）"
    return f"{county}{industries.section_name(ind) or '（未知行业）'}"


@dataclass
class Filters:
    status: str | None = None
    rule: str | None = None
    severity: str | None = None
    unit: str | None = None           # responsible unit contains this text
    region: str | None = None         # GB/T 2260 prefix within the user's region
    raised_from: dt.date | None = None
    raised_to: dt.date | None = None
    uscc: str | None = None           # alerts of which this entity is a member

    def describe(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items() if v}


@dataclass
class AlertList:
    total: int
    items: list[dict]
    by_status: dict[str, int]
    by_severity: dict[str, int]


@dataclass
class Counts:
    total: int
    by_status: dict[str, int]
    by_severity: dict[str, int]
    by_rule: list[tuple[str, str, int]] = field(default_factory=list)
    by_region: list[tuple[str, int]] = field(default_factory=list)


def has_alerts(con: duckdb.DuckDBPyConnection) -> bool:
    return _has_table(con, "alerts") and _has_table(con, "alert_members")


def _visible(v: Viewer, region: str | None = None, alias: str = "a", department: bool = True,
             copied: bool = False) -> tuple[str, list]:
    """SQL condition over ``alerts {alias}``: visible to ``v`` (and within ``region`` when given); ``copied``:
    over a copy of the alert tables that holds ``alert_regions`` (:mod:`riskgrade.service.store_cache`)."""
    if v == ALL and not region:
        return "true", []
    prefixes = [v.region_prefix] + ([region] if region else [])
    area = " AND ".join(f"starts_with(coalesce({alias}.region_code, ''), ?)" for _ in prefixes)
    member = " AND ".join("starts_with(coalesce(e.region_code, ''), ?)" for _ in prefixes)
    members = "alert_members m JOIN entities e ON e.uscc = m.uscc"
    if copied:  # a copy's alert_regions: the counties of each alert's members (known entities), grouped once
        members, member = "alert_regions m", "m.known AND " + member.replace("e.region_code", "m.region_code")
    sql = (f"(({alias}.scope = 'area' AND {area}) OR {alias}.alert_id IN (SELECT m.alert_id FROM {members} "
           f"WHERE {member}))")
    params: list = prefixes + prefixes
    if department and v.by_department and v.department_code == NO_CODES:
        sql += " AND false"
    elif department and v.by_department:
        sql += f" AND {alias}.unit_code = ?"
        params.append(v.department_code or "\x00")  # no (known) department: nothing matches
    return sql, params


NO_CODES = "\x00no-unit-codes"


def _checked(con: duckdb.DuckDBPyConnection, v: Viewer) -> Viewer:
    """A domain officer on a store whose alerts have no department codes yet (warned before them: the next
    ``warn`` adds them) sees no alert rather than a failing query."""
    if v.by_department and not _has_column(con, "alerts", "unit_code"):
        return Viewer(v.username, v.role, v.region_prefix, v.department, NO_CODES)
    return v


def _copied(con) -> bool:
    """Whether ``con`` is a copy of the alert tables holding ``alert_regions`` (no catalog query on the store)."""
    schema = getattr(con, "copied_schema", None)
    return schema is not None and ("alert_regions", "alert_id") in schema


def _where(v: Viewer, f: Filters, skip: tuple[str, ...] = (), department: bool = True,
           hide_muted: bool = True, copied: bool = False) -> tuple[str, list]:
    sql, params = _visible(v, f.region, department=department, copied=copied)
    conds = [sql]
    if hide_muted and not f.status and "status" not in skip:
        conds.append(f"a.status NOT IN {_HELD_SQL}")   # muted and uncorroborated alerts only when asked for
    for col in ("status", "rule", "severity"):
        val = getattr(f, col)
        if val and col not in skip:
            conds.append(f"a.{col} = ?")
            params.append(val)
    if f.unit:
        conds.append("strpos(coalesce(a.responsible_unit, ''), ?) > 0")
        params.append(f.unit)
    if f.raised_from:
        conds.append("a.raised_on >= ?")
        params.append(f.raised_from)
    if f.raised_to:
        conds.append("a.raised_on <= ?")
        params.append(f.raised_to)
    if f.uscc:
        conds.append("a.alert_id IN (SELECT alert_id FROM alert_members WHERE uscc = ?)")
        params.append(f.uscc)
    return " AND ".join(conds), params


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def in_region_counts(con: duckdb.DuckDBPyConnection, v: Viewer, ids: list[str]) -> dict[str, int]:
    """Alert id -> how many of its members are in the viewer's region."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    if _copied(con):  # the members by county, counted once when the copy was made
        rows = con.execute(f"""
            SELECT alert_id, sum(members) FILTER (WHERE starts_with(region_code, ?)) FROM alert_regions
            WHERE alert_id IN ({marks}) GROUP BY alert_id""", [v.region_prefix, *ids]).fetchall()
        return {a: int(n or 0) for a, n in rows}
    rows = con.execute(f"""
        SELECT m.alert_id, count(*) FILTER (WHERE starts_with(coalesce(e.region_code, ''), ?))
        FROM alert_members m LEFT JOIN entities e ON e.uscc = m.uscc
        WHERE m.alert_id IN ({marks}) GROUP BY m.alert_id""", [v.region_prefix, *ids]).fetchall()
    return {a: int(n) for a, n in rows}


def first_member_names(con: duckdb.DuckDBPyConnection, v: Viewer, ids: list[str]) -> dict[str, str]:
    """Alert id -> the name of its first member (by USCC) in the viewer's region: how a list names an alert."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = con.execute(f"""
        SELECT m.alert_id, arg_min(e.name, m.uscc) FROM alert_members m JOIN entities e ON e.uscc = m.uscc
        WHERE m.alert_id IN ({marks}) AND starts_with(coalesce(e.region_code, ''), ?) AND e.name IS NOT NULL
        GROUP BY m.alert_id""", [*ids, v.region_prefix]).fetchall()
    return {a: n for a, n in rows}


def list_alerts(con: duckdb.DuckDBPyConnection, v: Viewer, f: Filters, page: int = 1, page_size: int = 20,
                by_risk: bool = True) -> AlertList:
    """A page of visible alerts (highest expected risk first, then the newest records; with ``by_risk``
    False the newest first) and counts by status and by severity.

    ``by_status`` counts the alerts matching every filter but the status, ``by_severity`` every filter but
    the severity (facets: what choosing another status or severity would give)."""
    if not has_alerts(con):
        return AlertList(0, [], {s: 0 for s in STATUSES}, {s: 0 for s in SEVERITIES})
    v = _checked(con, v)
    copied = _copied(con)
    where, params = _where(v, f, copied=copied)
    order = (f"{risk_sql(con)} DESC NULLS LAST, " if by_risk else "") + "a.raised_on DESC, a.alert_id"
    items = _dicts(con.execute(f"""
        SELECT {_select(con)} FROM alerts a WHERE {where}
        ORDER BY {order} LIMIT ? OFFSET ?""", [*params, page_size, (page - 1) * page_size]))
    inside = in_region_counts(con, v, [x["alert_id"] for x in items])
    names = first_member_names(con, v, [x["alert_id"] for x in items])
    for x in items:
        x["members_in_region"] = inside.get(x["alert_id"], 0)
        x["member_name"] = names.get(x["alert_id"])
    fw, fp = _where(v, f, skip=("status", "severity"), copied=copied)
    cells = con.execute(f"SELECT a.status, a.severity, count(*) FROM alerts a WHERE {fw} GROUP BY ALL", fp).fetchall()
    by_status = {s: 0 for s in STATUSES}
    by_severity = {s: 0 for s in SEVERITIES}
    total = 0  # the cells matching the status (muted, uncorroborated only when asked for) and the severity: the count
    for st, sev, n in cells:
        if not f.severity or sev == f.severity:
            by_status[st] = by_status.get(st, 0) + int(n)
        if (st == f.status if f.status else st not in HELD):   # the severities of what is listed
            by_severity[sev] = by_severity.get(sev, 0) + int(n)
        if (st == f.status if f.status else st not in HELD) and (not f.severity or sev == f.severity):
            total += int(n)
    return AlertList(total, items, by_status, by_severity)


def counts(con: duckdb.DuckDBPyConnection, region_prefix: str, f: Filters) -> Counts:
    """Aggregate counts of the alerts visible in a region (no individual alert): for statistics roles."""
    v = Viewer("", "stats", region_prefix)
    if not has_alerts(con):
        return Counts(0, {s: 0 for s in STATUSES}, {s: 0 for s in SEVERITIES})
    where, params = _where(v, f, department=False, hide_muted=False)
    rows = con.execute(f"""
        SELECT a.status, a.severity, a.rule, any_value(a.rule_name), coalesce(a.region_code, ''), count(*)
        FROM alerts a WHERE {where} GROUP BY a.status, a.severity, a.rule, coalesce(a.region_code, '')""",
                       params).fetchall()
    by_status = {s: 0 for s in STATUSES}
    by_severity = {s: 0 for s in SEVERITIES}
    rules: dict[str, list] = {}
    regions: dict[str, int] = {}
    for st, sev, rule, name, reg, n in rows:
        by_status[st] = by_status.get(st, 0) + n
        by_severity[sev] = by_severity.get(sev, 0) + n
        rules.setdefault(rule, [name or rule, 0])[1] += n
        regions[reg] = regions.get(reg, 0) + n
    return Counts(sum(by_status.values()), by_status, by_severity,
                  sorted(((r, nm, n) for r, (nm, n) in rules.items()), key=lambda x: (-x[2], x[0])),
                  sorted(regions.items()))


def rules_seen(con: duckdb.DuckDBPyConnection, v: Viewer) -> list[tuple[str, str]]:
    """(rule, name) of the alerts the viewer can see."""
    if not has_alerts(con):
        return []
    where, params = _visible(_checked(con, v), copied=_copied(con))
    return [(r, n) for r, n in con.execute(
        f"SELECT a.rule, any_value(a.rule_name) FROM alerts a WHERE {where} GROUP BY a.rule ORDER BY a.rule",
        params).fetchall()]


def visible_alert(con: duckdb.DuckDBPyConnection, v: Viewer, alert_id: str) -> dict | None:
    """Every column of an alert the viewer can see; None when there is none (or no alerts at all)."""
    if not has_alerts(con):
        return None
    where, params = _visible(_checked(con, v), copied=_copied(con))
    rows = _dicts(con.execute(f"SELECT a.* FROM alerts a WHERE a.alert_id = ? AND {where}", [alert_id, *params]))
    return rows[0] if rows else None


def alert_row(con: duckdb.DuckDBPyConnection, alert_id: str) -> dict:
    """Every column of an alert (no visibility rule: after a step on a visible alert)."""
    return _dicts(con.execute("SELECT * FROM alerts WHERE alert_id = ?", [alert_id]))[0]


def last_log_entry(con: duckdb.DuckDBPyConnection, alert_id: str) -> tuple[int, str, dict]:
    """(seq, hash, detail) of an alert's newest ``alert_log`` entry."""
    seq, h, text = con.execute("SELECT seq, hash, detail FROM alert_log WHERE alert_id = ? "
                               "ORDER BY seq DESC LIMIT 1", [alert_id]).fetchall()[0]
    return int(seq), h, json.loads(text or "{}")


def _bucket(uscc: str) -> int:
    return int(hashlib.md5(uscc.encode()).hexdigest()[:3], 16)  # warehouse.BUCKET_SQL, in Python


def evidence_rows(con: duckdb.DuckDBPyConnection, alert_id: str, usccs: list[str]) -> tuple[list[dict], int]:
    """(the first :data:`EVIDENCE_LIMIT` evidence rows of these members of an alert, with the records' detail and
    amount; how many there are)."""
    marks = ", ".join("?" for _ in usccs)
    buckets = ", ".join(str(b) for b in sorted({_bucket(u) for u in usccs}))
    total = con.execute(f"SELECT count(*) FROM alert_evidence WHERE alert_id = ? AND uscc IN ({marks})",
                        [alert_id, *usccs]).fetchall()[0][0]
    rows = _dicts(con.execute(f"""
        WITH ev AS (SELECT * FROM alert_evidence WHERE alert_id = ? AND uscc IN ({marks})),
        rec AS (SELECT uscc, record_id, event_type, any_value(detail) AS detail, any_value(amount) AS amount
                FROM events WHERE bucket IN ({buckets}) AND uscc IN ({marks})
                  AND record_id IN (SELECT record_id FROM ev) GROUP BY ALL)
        SELECT ev.uscc, ev.role, ev.source, ev.record_id, ev.event_type, ev.event_date, rec.detail, rec.amount
        FROM ev LEFT JOIN rec USING (uscc, record_id, event_type)
        ORDER BY ev.role DESC, ev.event_date, ev.uscc, ev.record_id, ev.source LIMIT {EVIDENCE_LIMIT}""",
                              [alert_id, *usccs, *usccs]))
    return rows, int(total)


def alert_detail(con: duckdb.DuckDBPyConnection, v: Viewer, a: dict,
                 evidence_of: Callable[[str, list[str]], tuple[list[dict], int]] | None = None) -> dict:
    """A visible alert's members and evidence in the viewer's region, its log and targets.

    ``evidence_of(alert_id, usccs)``: reads the evidence of the members in the region (:func:`evidence_rows`)
    elsewhere than on ``con`` (the service reads the rest from an in-memory copy of the alert tables, the
    records behind the evidence from the warehouse); by default on ``con``."""
    alert_id = a["alert_id"]
    members = _dicts(con.execute("""
        SELECT m.uscc, e.name, e.region_code, m.raised_on FROM alert_members m LEFT JOIN entities e ON e.uscc = m.uscc
        WHERE m.alert_id = ? ORDER BY m.raised_on, m.uscc""", [alert_id]))
    inside = [m for m in members if (m["region_code"] or "").startswith(v.region_prefix)]
    usccs = [m["uscc"] for m in inside]
    if a.get("scope") == "area" and _has_table(con, "alert_evidence"):  # no members: the complaints behind it
        usccs = [r[0] for r in con.execute("""
            SELECT DISTINCT v.uscc FROM alert_evidence v JOIN entities e ON e.uscc = v.uscc
            WHERE v.alert_id = ? AND starts_with(coalesce(e.region_code, ''), ?) ORDER BY 1""",
                                           [alert_id, v.region_prefix]).fetchall()]
    evidence: list[dict] = []
    evidence_total = 0
    if usccs and _has_table(con, "alert_evidence"):
        evidence, evidence_total = (evidence_of or (lambda i, u: evidence_rows(con, i, u)))(alert_id, usccs)
    log = _dicts(con.execute("SELECT seq, logged_at, username, action, detail, hash FROM alert_log "
                             "WHERE alert_id = ? ORDER BY seq", [alert_id])) if _has_table(con, "alert_log") else []
    for e in log:
        try:
            e["detail"] = json.loads(e["detail"] or "{}")
        except ValueError:
            e["detail"] = {"text": e["detail"]}
    targets = []
    if _has_table(con, "task_targets"):
        tasks_join = "LEFT JOIN tasks t ON t.task_id = x.task_id" if _has_table(con, "tasks") else ""
        name = "any_value(t.name)" if tasks_join else "NULL"
        targets = _dicts(con.execute(f"""
            SELECT x.task_id, {name} AS task_name, count(*) AS entities, min(x.added_at) AS added_at
            FROM task_targets x {tasks_join} WHERE x.alert_id = ? GROUP BY x.task_id ORDER BY x.task_id""",
                                     [alert_id]))
    try:
        info = json.loads(a.get("info") or "{}")
    except ValueError:
        info = {}
    info = info if isinstance(info, dict) else {"value": info}
    return {**{c: a.get(c) for c in ALERT_COLUMNS}, "expected_risk": a.get("expected_risk"), "info": info,
            "unit_code": a.get("unit_code"),
            "area_name": info.get("area_name") if a.get("scope") == "area" else None,
            "members_in_region": len(inside), "member_list": inside,
            "members_outside_region": len(members) - len(inside),
            "evidence": evidence, "evidence_total": int(evidence_total), "log": log, "targets": targets}


def alert_index(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    """uscc -> its alerts (every column of :data:`ALERT_COLUMNS`), newest records first."""
    if not has_alerts(con):
        return {}
    index: dict[str, list[dict]] = {}
    cur = con.execute(f"""
        SELECT m.uscc, {_select(con)} FROM alert_members m JOIN alerts a USING (alert_id)
        ORDER BY m.uscc, a.raised_on DESC, a.alert_id""")
    cols = [d[0] for d in cur.description][1:]
    for row in cur.fetchall():
        index.setdefault(row[0], []).append(dict(zip(cols, row[1:])))
    return index


# --------------------------------------------------------------------------- for the command line
def alert_rows(con: duckdb.DuckDBPyConnection, *, status: str | None = None, rule: str | None = None,
               severity: str | None = None, unit: str | None = None, limit: int = 50,
               by_risk: bool = True) -> tuple[int, list[tuple]]:
    """Alerts, highest expected risk first (then newest; newest first without ``by_risk``), filtered by status,
    rule, severity and a text in the responsible unit: the number matching, and at most ``limit`` rows
    (alert_id, raised_on, rule, severity, members, status, responsible_unit, summary, expected_risk).  The
    list the API and the console show (:func:`list_alerts`), for a viewer who sees everything; muted and
    uncorroborated alerts only when asked for (``status='muted'``, ``status='uncorroborated'``)."""
    res = list_alerts(con, ALL, Filters(status=status, rule=rule, severity=severity, unit=unit), 1, max(int(limit), 0),
                      by_risk=by_risk)
    return res.total, [(x["alert_id"], x["raised_on"], x["rule"], x["severity"], x["members"], x["status"],
                        x["responsible_unit"], x["summary"], x["expected_risk"]) for x in res.items]


def alert_members(con: duckdb.DuckDBPyConnection, alert_id: str) -> list[tuple]:
    """An alert's members: (uscc, name, raised_on)."""
    return con.execute("SELECT m.uscc, n.name, m.raised_on FROM alert_members m LEFT JOIN entities n "
                       "USING (uscc) WHERE alert_id = ? ORDER BY m.raised_on, m.uscc", [alert_id]).fetchall()


def alert_evidence(con: duckdb.DuckDBPyConnection, alert_id: str) -> list[tuple]:
    """An alert's evidence: (uscc, role, source, record_id, event_type, event_date)."""
    return con.execute("SELECT uscc, role, source, record_id, event_type, event_date FROM alert_evidence "
                       "WHERE alert_id = ? ORDER BY event_date, uscc, record_id, source, role", [alert_id]).fetchall()


def alert_log(con: duckdb.DuckDBPyConnection, alert_id: str) -> list[tuple]:
    """An alert's log: (seq, logged_at, username, action, detail)."""
    return con.execute("SELECT seq, logged_at, username, action, detail FROM alert_log WHERE alert_id = ? ORDER BY seq",
                       [alert_id]).fetchall()


def list_notices(con: duckdb.DuckDBPyConnection, status: str | None = None, limit: int = 50) -> list[tuple]:
    """Notices with their delivery status, newest first: (notice_id, uscc, as_of, status, channel,
    recipient, attempts, last_error, subject)."""
    return con.execute(f"""
            SELECT n.notice_id, n.uscc, n.as_of, o.status, o.channel, o.recipient, o.attempts, o.last_error, n.subject
            FROM notices n JOIN outbox o USING (notice_id) {'WHERE o.status = ?' if status else ''}
            ORDER BY n.created_at DESC, n.notice_id LIMIT {int(limit)}""", [status] if status else []).fetchall()


# --------------------------------------------------------------------------- 我的待办 (work queue) and unit figures
QUEUE_SORTS = {"due": "due_on ASC NULLS LAST, a.raised_on, a.alert_id", "raised": "a.raised_on DESC, a.alert_id",
               "severity": "CASE a.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, due_on NULLS LAST, "
                           "a.alert_id",
               "status": "a.status, due_on NULLS LAST, a.alert_id"}


@dataclass
class Queue:
    total: int
    items: list[dict]
    due_soon: int
    overdue: int


def _queue_where(v: Viewer, reviewer: bool) -> tuple[str, list]:
    """Alerts of the viewer's queue: assigned to the user or the user's unit (region, and department when the
    unit names one), open ones routed to the user's county unit, and (reviewers) those waiting for a sign-off
    which the user did not handle."""
    vis, params = _visible(v)
    units = [f"unit:{v.region_prefix}"] + ([f"unit:{v.region_prefix}:{v.department_code}"] if v.department_code
                                           else [])
    marks = ", ".join("?" for _ in units)
    mine = (f"(a.assignee = ? OR a.assignee IN ({marks}) "
            f"OR (a.status = 'open' AND coalesce(a.region_code, '') = ?)")
    params += [f"user:{v.username}", *units, v.region_prefix]
    if reviewer:
        mine += (" OR (a.status = 'review' AND a.alert_id NOT IN (SELECT alert_id FROM alert_log "
                 "WHERE username = ? AND action IN ('handle', 'close')))")
        params.append(v.username)
    return f"{vis} AND a.status NOT IN ('closed', {_HELD_SQL[1:-1]}) AND {mine})", params


def work_queue(con: duckdb.DuckDBPyConnection, v: Viewer, due: tuple[str, str, list], today: dt.date,
               soon_days: int, *, reviewer: bool = False, sort: str = "due", page: int = 1,
               page_size: int | None = 20) -> Queue:
    """The viewer's queue with each alert's due date (``due``: :func:`riskgrade.warning.worklimits.due_sql`),
    overdue flag and first member's name; counts of all, due soon (within ``soon_days``, not overdue) and
    overdue.  ``page_size`` None: every row (exports)."""
    if not has_alerts(con):
        return Queue(0, [], 0, 0)
    v = _checked(con, v)
    close_due, due_now, dparams = due
    where, params = _queue_where(v, reviewer)
    base = (f"SELECT a.*, {close_due} AS close_due, {due_now} AS due_on FROM alerts a WHERE {where}")
    args = [*dparams, *dparams, *params]
    total, soon, late = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE due_on >= ? AND due_on <= ? + to_days(CAST(? AS INTEGER))),
               count(*) FILTER (WHERE due_on < ?) FROM ({base}) a""",
                                    [today, today, int(soon_days), today, *args]).fetchall()[0]
    limit = "" if page_size is None else f"LIMIT {int(page_size)} OFFSET {(max(page, 1) - 1) * int(page_size)}"
    items = _dicts(con.execute(f"""
        SELECT {_select(con)}, a.close_due, a.due_on, coalesce(a.due_on < ?, false) AS overdue
        FROM ({base}) a ORDER BY {QUEUE_SORTS.get(sort, QUEUE_SORTS['due'])} {limit}""", [today, *args]))
    names = first_member_names(con, v, [x["alert_id"] for x in items])
    inside = in_region_counts(con, v, [x["alert_id"] for x in items])
    for x in items:
        x["member_name"] = names.get(x["alert_id"])
        x["members_in_region"] = inside.get(x["alert_id"], 0)
    return Queue(int(total), items, int(soon), int(late))


def unit_figures(con: duckdb.DuckDBPyConnection, v: Viewer, due: tuple[str, str, list], today: dt.date,
                 month: dt.date, by: str = "county") -> list[dict]:
    """Per unit (``county``: the alert's county; ``department``: its responsible department code), the alerts
    raised in ``month`` visible to the viewer: received, handled (handled, waiting for review or closed),
    closed, overdue (not closed and past due today, or closed after the due date)."""
    if not has_alerts(con):
        return []
    v = _checked(con, v)
    close_due, due_now, dparams = due
    vis, params = _visible(v)
    first = month.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1)
    unit = ("coalesce(a.region_code, '')" if by == "county" else
            ("coalesce(a.unit_code, '')" if _has_column(con, "alerts", "unit_code") else "''"))
    rows = _dicts(con.execute(f"""
        WITH x AS (SELECT {unit} AS unit, a.status, {close_due} AS close_due, {due_now} AS due_on,
                          CAST(a.updated_at AS DATE) AS updated_on
                   FROM alerts a WHERE {vis} AND a.status NOT IN {_HELD_SQL} AND a.raised_on >= ? AND a.raised_on < ?)
        SELECT unit, count(*) AS received,
               count(*) FILTER (WHERE status IN ('handled', 'review', 'closed')) AS handled,
               count(*) FILTER (WHERE status = 'closed') AS closed,
               count(*) FILTER (WHERE (status <> 'closed' AND due_on < ?)
                                   OR (status = 'closed' AND updated_on > close_due)) AS overdue
        FROM x GROUP BY unit ORDER BY unit""", [*dparams, *dparams, *params, first, last, today]))
    for r in rows:
        n = r["received"] or 0
        for k, rate in (("handled", "handled_rate"), ("closed", "closed_rate"), ("overdue", "overdue_rate")):
            r[rate] = (r[k] / n) if n else None
    return rows


def latest_alert_month(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The first day of the month of the newest alert (None: no alerts)."""
    if not has_alerts(con):
        return None
    d = con.execute("SELECT max(raised_on) FROM alerts").fetchall()[0][0]
    return d.replace(day=1) if d else None
