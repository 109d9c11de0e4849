"""``riskgrade warn``: evaluate the rules over what is new, group, suppress, route, store.

Incremental by a watermark: every run records the last delivery (and classification snapshot) it
has seen; the next run evaluates only records of later deliveries (plus, with ``--since DATE``,
records dated or reported on or after DATE), looking back over the whole history for windows and
baselines.  The reference date of a run ("today" in the data) is the latest date among the new
records, never the wall clock, so the same data give the same alerts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import dates
from ..codes import departments
from ..warehouse import Warehouse
from ..sql import table_exists
from . import evaluate as ev
from . import precision, tables, workflow
from .clusters import summary_zh as cluster_summary
from .corroboration import uncorroborated
from .grouping import SUPPRESSED, Existing, Grouper, Hit, Outcome, State, info_json
from .queries import area_entity_counts, area_name
from .routing import Unit, route
from .rules import RuleCatalog, load_rules

SYSTEM_USER = "riskgrade-warn"


@dataclass
class WarnResult:
    run_id: int
    since: dt.date | None
    delivery_from: int
    delivery_to: int
    ref_date: dt.date | None
    new_records: int
    new_entities: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    rules_version: str = ""
    routing_version: str = ""
    # source texts of this run's records (and of the licences routing read) that match no department of the
    # routing table: source -> records
    unmapped_sources: dict[str, int] = field(default_factory=dict)
    # the run's new alerts by the status they start in: open (the queue), muted, uncorroborated (held for review)
    by_status: dict[str, int] = field(default_factory=dict)

    def total(self, key: str) -> int:
        return sum(c.get(key, 0) for c in self.counts.values())

    @property
    def suppressed(self) -> int:
        return sum(self.total(k) for k in SUPPRESSED)

    @property
    def suppressed_share(self) -> float | None:
        raw = self.total("raw")
        return None if not raw else 1 - self.total("alerts") / raw


def run_warn(home: Path, *, since: dt.date | None = None, rules_path: Path | None = None,
             memory_limit: str | None = None, threads: int | None = None, lock_timeout: float = 60.0,
             progress=None, routing_path: Path | None = None) -> WarnResult:
    say = progress or (lambda m: None)
    t0 = time.perf_counter()
    catalog = load_rules(rules_path)
    table = departments.load(routing_path)
    started = dt.datetime.now().replace(microsecond=0)
    with Warehouse(home, write=True, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout) as wh:
        con = wh.con
        assert con is not None
        tables.ensure_schema(con)
        last = con.execute("SELECT delivery_to, snapshot_to, ref_date FROM warn_runs ORDER BY run_id DESC LIMIT 1").fetchall()
        w_del, w_snap, prev_ref = (int(last[0][0] or 0), int(last[0][1] or 0), last[0][2]) if last else (0, 0, None)
        d_max = int(con.execute("SELECT coalesce(max(delivery_id), 0) FROM deliveries").fetchall()[0][0])
        s_max = int(con.execute("SELECT coalesce(max(snapshot_id), 0) FROM snapshots").fetchall()[0][0]) \
            if table_exists(con, "snapshots") else 0
        new = f"(delivery_id > {w_del} AND delivery_id <= {d_max})"
        new_ent = new
        if since:
            new = f"({new} OR event_date >= {ev.day(since)} OR reported_on >= {ev.day(since)})"
            new_ent = f"({new_ent} OR established_on >= {ev.day(since)})"
        rules = catalog.enabled
        say(f"warning rules {catalog.version}: {len(rules)} enabled; records after delivery {w_del}"
            + (f" or dated from {since}" if since else ""))
        trig = set().union(*(ev.trigger_types(r) for r in rules)) | {"complaint", "admin_license"}
        hist = set().union(*(ev.hist_types(r) for r in rules))
        con.execute(f"""CREATE OR REPLACE TEMP TABLE w_new AS
            SELECT uscc, event_type, event_date, reported_on, source, record_id, detail, amount, end_date, delivery_id
            FROM events WHERE {new} AND event_type IN {ev.in_list(sorted(trig | hist))}""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE w_ent_new AS SELECT uscc FROM entities WHERE {new_ent}")
        n_new = con.execute("SELECT count(*), max(event_date) FROM w_new").fetchall()[0]
        n_ent = con.execute("SELECT count(*), max(established_on) FROM entities WHERE uscc IN (SELECT uscc FROM w_ent_new)"
                            ).fetchall()[0]
        snap_dates = con.execute(f"SELECT max(as_of) FROM snapshots WHERE snapshot_id > {w_snap}").fetchall()[0][0] \
            if s_max else None
        ref = max([d for d in (prev_ref, n_new[1], n_ent[1], snap_dates) if d is not None], default=None)
        res = WarnResult(0, since, w_del, d_max, ref, int(n_new[0]), int(n_ent[0]), rules_version=catalog.version,
                         routing_version=table.version)
        unmapped = Counter({s: int(n) for s, n in con.execute(
            "SELECT trim(source), count(*) FROM w_new WHERE nullif(trim(source), '') IS NOT NULL GROUP BY 1"
        ).fetchall() if table.department_of(s) is None})
        outcomes: list[Outcome] = []
        if ref is not None:
            ctx = ev.Context(con, new, new_ent, ref, prev_ref, w_snap, since)
            con.execute(f"""CREATE OR REPLACE TEMP TABLE w_hist AS
                SELECT uscc, event_type, event_date, source, record_id, detail, amount, end_date, delivery_id,
                       {new} AS is_new
                FROM events WHERE event_type IN {ev.in_list(sorted(hist or {'-'}))}
                  AND uscc IN (SELECT DISTINCT uscc FROM w_new WHERE event_type IN {ev.in_list(sorted(trig | hist))})""")
            say(f"{res.new_records:,} new records, {res.new_entities:,} new or changed entities; reference date {ref}")
            outcomes, res.counts = _evaluate(con, ctx, catalog, say)
            _area_figures(con, catalog, outcomes)
        units, unmapped_lic = route(con, outcomes, {r.code: r for r in catalog.rules}, table)
        for s, n in unmapped_lic.items():
            unmapped[s] = max(unmapped[s], 1)  # a licence source routing read: listed even when not new
        res.unmapped_sources = dict(sorted(unmapped.items(), key=lambda x: (-x[1], x[0])))
        assessed = precision.assess(con, catalog, outcomes, end=ref)  # rule precision, muting, expected risk
        # the queue (corroboration.py), from a home's first run on: the stock over the delivered history too
        assessed.uncorroborated = uncorroborated(con, catalog, outcomes, assessed.muted)
        res.by_status = {s: 0 for s in ("open", *workflow.OUT_OF_QUEUE)}
        for o in outcomes:
            if o.new:
                res.by_status[assessed.status(o.rule, o.alert_id)] += 1
        with wh.transaction():
            _unit_codes(con, table)
            run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM warn_runs").fetchall()[0][0])
            res.run_id = run_id
            _write(con, catalog, outcomes, units, run_id, assessed)
            precision.store(con, run_id, assessed)
            res.seconds = time.perf_counter() - t0
            con.execute(f"INSERT INTO warn_runs ({', '.join(tables.WARN_RUN_COLUMNS)}) VALUES "
                        f"({', '.join('?' for _ in tables.WARN_RUN_COLUMNS)})", [
                run_id, started, dt.datetime.now().replace(microsecond=0), since, w_del, d_max, s_max, ref,
                catalog.version, catalog.fingerprint(), res.new_records, res.new_entities, res.total("raw"),
                res.total("already"), res.suppressed, res.total("alerts"), res.total("extended"),
                json.dumps(res.counts, sort_keys=True), round(res.seconds, 3), table.version,
                json.dumps(res.unmapped_sources, ensure_ascii=False)])
        con.execute("DROP TABLE IF EXISTS w_new; DROP TABLE IF EXISTS w_hist; DROP TABLE IF EXISTS w_ent_new; "
                    "DROP TABLE IF EXISTS w_peer")
    return res


def _evaluate(con: duckdb.DuckDBPyConnection, ctx: ev.Context, catalog: RuleCatalog, say):
    hits: dict[str, list[Hit]] = {}
    for rule in catalog.enabled:
        t = time.perf_counter()
        if rule.kind == "complaint_poisson":
            con.execute(f"CREATE OR REPLACE TEMP TABLE w_peer AS {ev.peer_rates_sql(ctx, rule)}")
        rows = [r for sql in ev.evaluate(ctx, rule) for r in con.execute(sql).to_arrow_table().to_pylist()]
        # DuckDB returns rows in no fixed order (threads): sort, so that grouping, ids and summaries do not
        # depend on it
        rows.sort(key=_row_order)
        # the statistics parsed once per distinct text: an area's or a cluster's rows all carry the same
        infos: dict[str, dict] = {}
        hits[rule.code] = [Hit(r["rule"], r["group_key"], r["uscc"], r["raised_on"], r["trig_source"], r["trig_record"],
                               r["severity"], _info(infos, r["info"]), r["evidence"]) for r in rows]
        say(f"  {rule.code}: {len(rows):,} matching rows evaluated ({time.perf_counter() - t:.1f} s)")
    state = _state(con, catalog, hits)
    g = Grouper(catalog, ctx.ref_date, state)
    for rule in catalog.enabled:
        (g.clusters if rule.scope == "cluster" else g.episodes)(rule, hits[rule.code])
    outcomes, counts = g.result()
    outcomes.sort(key=lambda o: (not o.new, o.raised_on, o.rule, o.alert_id))
    for rule in catalog.enabled:
        c = counts.get(rule.code, {})
        say(progress_line(rule.code, c))
    return outcomes, counts


def progress_line(rule: str, c: dict[str, int]) -> str:
    """One rule's line of a run's progress: the same numbers as ``warn_runs.counts`` and the run's table."""
    return (f"  {rule}: {c.get('raw', 0):,} hits -> {c.get('alerts', 0):,} new alerts, {c.get('extended', 0):,} "
            f"extended ({c.get('already', 0):,} already alerted, {sum(c.get(k, 0) for k in SUPPRESSED):,} "
            "grouped or suppressed)")


def _info(parsed: dict[str, dict], text: str) -> dict:
    """A hit's statistics from their JSON text (hits with the same text share one dict: read, never changed)."""
    d = parsed.get(text)
    if d is None:
        d = parsed[text] = _figures(json.loads(text))
    return d


def _figures(info: dict) -> dict:
    """A hit's statistics with floats to 10 significant digits: a parallel sum's last bits do not reach the
    alert (its stored figures and summary)."""
    return {k: float(f"{v:.10g}") if isinstance(v, float) else v for k, v in info.items()}


def _row_order(r: dict) -> tuple:
    """A total order of a rule's rows (the statistics' JSON text last: it tells apart one entity's rows of
    different links)."""
    return (r["group_key"] or "", r["uscc"] or "", r["raised_on"] or dt.date.min, r["trig_source"] or "",
            r["trig_record"] or "", r["severity"] or "", r["info"] or "")


def _area_figures(con: duckdb.DuckDBPyConnection, catalog: RuleCatalog, outcomes: list[Outcome]) -> None:
    """An area alert is about its county x industry: its name and how many entities the cell held in the
    alarm month (registered by its end and not closed by then), into its figures (``info``)."""
    areas = [o for o in outcomes if o.scope == "area" and o.new]
    for o in areas:
        rule = catalog.get(o.rule)
        o.info = {**o.info, "industry_level": rule.params.get("industry_level", "section") if rule else "section"}
        o.info["area_name"] = area_name(o.info)
    counts = area_entity_counts(con, [
        (o.alert_id, o.info, dates.month_end(dt.date.fromisoformat(f"{o.info['month']}-01"))) for o in areas])
    for o in areas:
        o.info["entities_in_area"] = counts.get(o.alert_id, 0)


def _unit_codes(con: duckdb.DuckDBPyConnection, table) -> None:
    """Alerts raised before routing named department codes get theirs (from the routing table)."""
    rows = con.execute("SELECT DISTINCT unit_kind, responsible_unit FROM alerts WHERE unit_code IS NULL").fetchall()
    for kind, unit in rows:
        code = table.default if kind == "county" else table.department_of(unit)
        if code is not None:
            con.execute("UPDATE alerts SET unit_code = ? WHERE unit_code IS NULL AND unit_kind IS NOT DISTINCT FROM ? "
                        "AND responsible_unit IS NOT DISTINCT FROM ?", [code, kind, unit])


def _state(con: duckdb.DuckDBPyConnection, catalog: RuleCatalog, hits: dict[str, list[Hit]]) -> State:
    """What the store holds about the hits' entities: trigger evidence, latest alerts, clusters, closures."""
    pairs = sorted({(h.rule, h.uscc, h.group_key) for hs in hits.values() for h in hs})
    if not pairs:
        return State(set(), {}, {}, {}, set())
    con.register("w_pairs", pa.table({"rule": pa.array([p[0] for p in pairs], pa.string()),
                                      "uscc": pa.array([p[1] for p in pairs], pa.string()),
                                      "group_key": pa.array([p[2] for p in pairs], pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE w_pair AS SELECT * FROM w_pairs")
    con.unregister("w_pairs")
    triggered = {tuple(r) for r in con.execute("""
        SELECT v.rule, v.uscc, v.source, v.record_id FROM alert_evidence v
        SEMI JOIN (SELECT DISTINCT rule, uscc FROM w_pair) p ON p.rule = v.rule AND p.uscc = v.uscc
        WHERE v.role = 'trigger'""").fetchall()}
    last = {}
    for rule, key, aid, raised, status in con.execute("""
            SELECT a.rule, a.group_key, arg_max(a.alert_id, (a.raised_on, a.alert_id)),
                   max(a.raised_on), arg_max(a.status, (a.raised_on, a.alert_id))
            FROM alerts a SEMI JOIN (SELECT DISTINCT rule, group_key FROM w_pair) p
                 ON p.rule = a.rule AND p.group_key = a.group_key
            WHERE a.scope <> 'cluster' GROUP BY ALL""").fetchall():
        last[(rule, key)] = Existing(aid, raised, status)
    cluster_of: dict[tuple[str, str], list[Existing]] = {}
    for rule, uscc, aid, raised, status in con.execute("""
            SELECT a.rule, m.uscc, a.alert_id, a.raised_on, a.status FROM alert_members m JOIN alerts a USING (alert_id)
            SEMI JOIN (SELECT DISTINCT rule, uscc FROM w_pair) p ON p.rule = a.rule AND p.uscc = m.uscc
            WHERE a.scope = 'cluster'""").fetchall():
        cluster_of.setdefault((rule, uscc), []).append(Existing(aid, raised, status))
    closed = dict(con.execute("""
        SELECT uscc, coalesce(closed_on, DATE '1900-01-01') FROM entities
        WHERE uscc IN (SELECT uscc FROM w_pair) AND status IS NOT NULL AND status <> 'active'""").fetchall())
    ids = {r[0] for r in con.execute("""
        SELECT a.alert_id FROM alerts a
        SEMI JOIN (SELECT DISTINCT rule, group_key FROM w_pair) p ON p.rule = a.rule AND p.group_key = a.group_key"""
    ).fetchall()}
    return State(triggered, last, cluster_of, closed, ids)


# --------------------------------------------------------------------------- summaries (Chinese)
def summary(rule, o: Outcome) -> str:
    i = o.info
    k = rule.kind
    if k == "registration_cluster":
        return cluster_summary(i, len(o.members))
    if k == "count_in_window":
        return f"{i.get('window_days')} 天内{rule.name_zh.replace('多次', '').replace('频繁', '')} {i.get('count')} 次"
    if k == "complaint_poisson":
        return (f"近 {i.get('window_days')} 天投诉举报 {i.get('count')} 件，按自身基线期望 {i.get('expected')} 件"
                f"（泊松检验 p={float(i.get('p_value') or 0):.2g}）")
    if k == "complaint_cusum":
        return (f"{i.get('month')} {i.get('area_name') or '该县区该行业'}投诉举报 {i.get('count')} 件，"
                f"基线月均 {_num(i.get('expected'))} 件（CUSUM {_num(i.get('cusum'))}），"
                f"该县区该行业市场主体 {i.get('entities_in_area', '?')} 户")
    if k == "grade_jump":
        return f"信用风险等级由 {i.get('previous_grade')} 变为 {i.get('grade')}"
    if k == "unreachable_complaints":
        return f"{i.get('listed_on')} 因通过登记的住所无法联系列入经营异常名录后仍被投诉举报 {i.get('complaints_since_listing')} 件"
    if k == "licence_expiry":
        return f"行政许可有效期至 {i.get('valid_until')}，未见延续"
    return rule.name_zh


def _num(x) -> str:
    """A figure in a summary: two decimals, whatever the float's last bits."""
    try:
        return f"{float(x):.2f}"
    except (TypeError, ValueError):
        return "?"


def _write(con: duckdb.DuckDBPyConnection, catalog: RuleCatalog, outcomes: list[Outcome],
           units: dict[str, Unit], run_id: int, assessed: precision.Assessment) -> None:
    rules = {r.code: r for r in catalog.rules}
    now = dt.datetime.now().replace(microsecond=0)
    new = sorted((o for o in outcomes if o.new), key=lambda o: (o.raised_on, o.rule, o.alert_id))
    ext = sorted((o for o in outcomes if not o.new), key=lambda o: o.alert_id)
    if new:
        con.register("w_alert_rows", pa.table({
            "alert_id": [o.alert_id for o in new], "rule": [o.rule for o in new],
            "rule_name": [rules[o.rule].name_zh for o in new], "severity": [o.severity for o in new],
            "scope": [o.scope for o in new], "group_key": [o.group_key for o in new],
            "raised_on": pa.array([o.raised_on for o in new], pa.date32()),
            "last_record_on": pa.array([o.last_record_on for o in new], pa.date32()),
            "members": pa.array([len(o.members) for o in new], pa.int32()),
            "summary": [summary(rules[o.rule], o) for o in new], "info": [info_json(o.info) for o in new],
            "label": pa.array([rules[o.rule].label for o in new], pa.string()),
            "unit_kind": [units[o.alert_id][0] for o in new], "responsible_unit": [units[o.alert_id][1] for o in new],
            "region_code": pa.array([units[o.alert_id][2] for o in new], pa.string()),
            "expected_risk": pa.array([assessed.expected_risk[o.alert_id] for o in new], pa.float64()),
            "status": [assessed.status(o.rule, o.alert_id) for o in new],
            "unit_code": pa.array([units[o.alert_id].code for o in new], pa.string()),
        }))
        con.execute(f"""INSERT INTO alerts BY NAME
            SELECT *, CAST(NULL AS VARCHAR) AS assignee, CAST(NULL AS VARCHAR) AS disposition,
                   {run_id} AS run_id, TIMESTAMP '{now}' AS created_at, TIMESTAMP '{now}' AS updated_at
            FROM w_alert_rows""")
        con.unregister("w_alert_rows")
    for o in ext:
        con.execute("""UPDATE alerts SET members = members + (SELECT count(*) FROM (SELECT unnest(?::VARCHAR[]) u) x
                           WHERE u NOT IN (SELECT uscc FROM alert_members WHERE alert_id = ?)),
                       severity = CASE WHEN ? = 'high' OR severity = 'high' THEN 'high'
                                       WHEN ? = 'medium' OR severity = 'medium' THEN 'medium' ELSE severity END,
                       last_record_on = greatest(last_record_on, ?), updated_at = ?
                       WHERE alert_id = ?""",
                    [sorted(o.members), o.alert_id, o.severity, o.severity, o.last_record_on, now, o.alert_id])
    members = [(o.alert_id, u, d) for o in new + ext for u, d in sorted(o.members.items())]
    if members:
        con.register("w_member_rows", pa.table({
            "alert_id": [m[0] for m in members], "uscc": [m[1] for m in members],
            "raised_on": pa.array([m[2] for m in members], pa.date32())}))
        con.execute(f"""INSERT INTO alert_members BY NAME
            SELECT m.*, {run_id} AS run_id FROM w_member_rows m
            ANTI JOIN alert_members x ON x.alert_id = m.alert_id AND x.uscc = m.uscc""")
        con.unregister("w_member_rows")
    evid = [(o.alert_id, o.rule, e, role) for o in new + ext for e, role in o.evidence.values()]
    if evid:
        con.register("w_evidence_rows", pa.table({
            "alert_id": [x[0] for x in evid], "rule": [x[1] for x in evid], "uscc": [x[2]["uscc"] for x in evid],
            "role": [x[3] for x in evid], "source": pa.array([x[2]["source"] for x in evid], pa.string()),
            "record_id": pa.array([x[2]["record_id"] for x in evid], pa.string()),
            "event_type": pa.array([x[2]["event_type"] for x in evid], pa.string()),
            "event_date": pa.array([x[2]["event_date"] for x in evid], pa.date32()),
            "delivery_id": pa.array([x[2]["delivery_id"] for x in evid], pa.int32())}))
        con.execute(f"""INSERT INTO alert_evidence BY NAME
            SELECT v.*, {run_id} AS run_id FROM w_evidence_rows v
            ANTI JOIN alert_evidence x ON x.alert_id = v.alert_id AND x.uscc = v.uscc
                 AND x.source IS NOT DISTINCT FROM v.source AND x.record_id IS NOT DISTINCT FROM v.record_id
                 AND x.role = v.role""")
        con.unregister("w_evidence_rows")
    entries = [(SYSTEM_USER, "raise", o.alert_id,
                {"run": run_id, "rule": o.rule, "severity": o.severity, "raised_on": o.raised_on,
                 "members": len(o.members), "unit": units[o.alert_id][1]}) for o in new]
    entries += [(SYSTEM_USER, "extend", o.alert_id,
                 {"run": run_id, "hits": o.hits, "members": sorted(o.members)[:50], "severity": o.severity})
                for o in ext]
    workflow.append(con, entries, now)
