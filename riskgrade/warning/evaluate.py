"""The rules' evaluators: one DuckDB query per rule kind, over what is new and the history it needs.

The engine prepares, for one run:

* ``w_new``: the new event records (``{new}``: a later delivery than the watermark, or dated on or
  after ``--since``);
* ``w_hist``: every held record of the event types the rules look back over, of the entities that
  have a new record, with ``is_new``;
* ``w_ent_new``: the USCCs of new or changed entities.

Every evaluator returns *hits*, one row per (entity, triggering record):
``rule, group_key, uscc, raised_on, trig_source, trig_record, severity, info, evidence`` where
``group_key`` is what cool-down and grouping work on (the USCC; a link key such as
``address:<address>`` for a registration cluster; ``area:<county>:<industry>`` for an area),
``raised_on`` is the date of the triggering record (never the run date), ``info`` a JSON object of
the statistics and ``evidence`` the records behind the hit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from ..contract import GRADES
from ..sql import date as sql_date, literal, table_exists
from . import clusters
from .rules import Rule

EVIDENCE = ("struct_pack(uscc := {a}.uscc, source := {a}.source, record_id := {a}.record_id, "
            "event_type := {a}.event_type, event_date := {a}.event_date, delivery_id := {a}.delivery_id)")
HIT_COLUMNS = "rule, group_key, uscc, raised_on, trig_source, trig_record, severity, info, evidence"


def ev(alias: str) -> str:
    return EVIDENCE.format(a=alias)


lit = literal  # riskgrade.sql.literal


def in_list(values: list[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


day = sql_date  # riskgrade.sql.date: a DATE literal


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    new: str  # SQL predicate on an events row: the record is new in this run
    new_entity: str  # SQL predicate on an entities row
    ref_date: dt.date  # the run's reference date ("today" in the data)
    prev_ref: dt.date | None  # the previous run's reference date
    snapshot_from: int  # snapshots after this id are new
    since: dt.date | None


def hist_types(rule: Rule) -> set[str]:
    """Event types a rule reads from ``w_hist`` (the candidates' history)."""
    p = rule.params
    if rule.kind == "count_in_window":
        return {p["event_type"]}
    if rule.kind == "complaint_poisson":
        return {"complaint"}
    if rule.kind == "unreachable_complaints":
        return {"complaint", "abnormal_list_in", "abnormal_list_out"}
    if rule.kind == "record":
        return {p["unless_later"]} if p.get("unless_later") else set()
    return set()


def trigger_types(rule: Rule) -> set[str]:
    """Event types whose new records make an entity a candidate of a rule."""
    if rule.kind == "record":
        return {rule.params["event_type"]}
    if rule.kind in ("count_in_window", "complaint_poisson", "unreachable_complaints"):
        return hist_types(rule) - {"abnormal_list_out"}
    return set()


def evaluate(ctx: Context, rule: Rule) -> list[str]:
    """The SQL of a rule's hits: statements whose rows together are the hits (a registration cluster's
    are prepared in temporary tables first, see :mod:`.clusters`)."""
    if rule.kind == "registration_cluster":
        return _cluster(ctx, rule)
    return [{
        "count_in_window": _window_count,
        "complaint_poisson": _poisson,
        "complaint_cusum": _cusum,
        "record": _record,
        "grade_jump": _grade_jump,
        "unreachable_complaints": _unreachable,
        "licence_expiry": _licence,
    }[rule.kind](ctx, rule)]


def _severity(rule: Rule, high_when: str | None) -> str:
    if not high_when:
        return lit(rule.severity)
    return f"CASE WHEN {high_when} THEN 'high' ELSE {lit(rule.severity)} END"


def _details(p: dict, alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return f" AND {a}detail IN {in_list(p['details'])}" if p.get("details") else ""


# --------------------------------------------------------------------------- counts in a window
def _window_count(ctx: Context, rule: Rule) -> str:
    p = rule.params
    w = p["window_days"]
    rows = f"SELECT * FROM w_hist WHERE event_type = {lit(p['event_type'])}{_details(p)}"
    high = f"x.n >= {int(p['high_from'])}" if p.get("high_from") else None
    return f"""
        WITH r AS ({rows}),
        x AS (SELECT r.*, count(*) OVER (PARTITION BY uscc ORDER BY event_date
                  RANGE BETWEEN INTERVAL {w - 1} DAYS PRECEDING AND CURRENT ROW) AS n FROM r)
        SELECT {lit(rule.code)} AS rule, x.uscc AS group_key, x.uscc, x.event_date AS raised_on,
               x.source AS trig_source, x.record_id AS trig_record, {_severity(rule, high)} AS severity,
               to_json({{'count': x.n, 'window_days': {w}}})::VARCHAR AS info,
               list({ev('y')} ORDER BY y.event_date, y.record_id) AS evidence
        FROM x JOIN r y ON y.uscc = x.uscc AND y.event_date BETWEEN x.event_date - {w - 1} AND x.event_date
        WHERE x.is_new AND x.n >= {int(p['min_count'])}
        GROUP BY ALL"""


# --------------------------------------------------------------------------- complaint surge (entity)
def peer_rates_sql(ctx: Context, rule: Rule) -> str:
    """Complaints and entities by industry section over the last ``peer_years`` (and '*' overall)."""
    days = 365 * int(rule.params["peer_years"])
    lo = ctx.ref_date - dt.timedelta(days=days)
    return f"""
        WITH c AS (SELECT uscc, count(*) AS n FROM events
                   WHERE event_type = 'complaint' AND event_date > {day(lo)} AND event_date <= {day(ctx.ref_date)}
                   GROUP BY uscc),
        s AS (SELECT coalesce(e.industry_section, '?') AS section, count(*) AS entities, sum(coalesce(c.n, 0)) AS n
              FROM entities e LEFT JOIN c USING (uscc) WHERE e.established_on <= {day(ctx.ref_date)} GROUP BY ALL)
        SELECT section, entities, n, {day(lo)} AS lo, {days} AS days FROM s
        UNION ALL SELECT '*', sum(entities), sum(n), {day(lo)}, {days} FROM s"""


def _poisson(ctx: Context, rule: Rule) -> str:
    p = rule.params
    R, B, P = int(p["recent_days"]), int(p["baseline_days"]), int(p["prior_days"])
    high = f"t.k >= {int(p['high_from'])}" if p.get("high_from") else None
    return f"""
        WITH r AS (SELECT * FROM w_hist WHERE event_type = 'complaint'),
        c AS (SELECT r.*,
                count(*) OVER (PARTITION BY uscc ORDER BY event_date
                    RANGE BETWEEN INTERVAL {R - 1} DAYS PRECEDING AND CURRENT ROW) AS k,
                count(*) OVER (PARTITION BY uscc ORDER BY event_date
                    RANGE BETWEEN INTERVAL {R + B - 1} DAYS PRECEDING AND INTERVAL {R} DAYS PRECEDING) AS b
              FROM r),
        own AS (SELECT r.uscc, count(*) AS n FROM r, (SELECT any_value(lo) AS lo FROM w_peer) w
                WHERE r.event_date > w.lo GROUP BY r.uscc),
        t AS (SELECT c.*,
                     -- the industry's rate without the entity itself (leave one out)
                     coalesce((pr.n - coalesce(o.n, 0)) / nullif((pr.entities - 1) * pr.days, 0),
                              (pa.n - coalesce(o.n, 0)) / nullif((pa.entities - 1) * pa.days, 0), 0) AS rate,
                     greatest(0, least({B}, date_diff('day', n.established_on, c.event_date - {R}))) AS expo
              FROM c JOIN entities n USING (uscc) LEFT JOIN own o USING (uscc)
              LEFT JOIN w_peer pr ON pr.section = coalesce(n.industry_section, '?')
              LEFT JOIN (SELECT * FROM w_peer WHERE section = '*') pa ON true
              WHERE c.is_new AND c.k >= {int(p['min_count'])}),
        l AS (SELECT t.*, greatest(CASE WHEN t.expo + {P} > 0 THEN (t.b + t.rate * {P}) / (t.expo + {P})
                                        ELSE t.rate END * {R}, 1e-9) AS lam FROM t),
        pv AS (SELECT l.uscc, l.source, l.record_id,
                      sum(exp(-l.lam + (l.k + j) * ln(l.lam) - lgamma(l.k + j + 1))) AS p
               FROM l CROSS JOIN range(0, 120) g(j) GROUP BY ALL),
        h AS (SELECT t.*, l.lam, pv.p FROM t JOIN l USING (uscc, source, record_id)
              JOIN pv USING (uscc, source, record_id) WHERE pv.p < {float(p['p_value'])!r})
        SELECT {lit(rule.code)} AS rule, t.uscc AS group_key, t.uscc, t.event_date AS raised_on,
               t.source AS trig_source, t.record_id AS trig_record, {_severity(rule, high)} AS severity,
               to_json({{'count': t.k, 'window_days': {R}, 'baseline_count': t.b, 'baseline_days': t.expo,
                        'expected': round(t.lam, 4), 'p_value': t.p}})::VARCHAR AS info,
               list({ev('y')} ORDER BY y.event_date, y.record_id) AS evidence
        FROM h t JOIN r y ON y.uscc = t.uscc AND y.event_date BETWEEN t.event_date - {R - 1} AND t.event_date
        GROUP BY ALL"""


# --------------------------------------------------------------------------- complaint surge (area)
def _area_expr(rule: Rule, alias: str) -> str:
    if rule.params["industry_level"] == "division":
        return f"coalesce(left({alias}.industry_code, 2), '?')"
    return f"coalesce({alias}.industry_section, '?')"


def _cusum(ctx: Context, rule: Rule) -> str:
    p = rule.params
    Bm = int(p["baseline_months"])
    ind = _area_expr(rule, "n")
    high = None
    return f"""
        WITH touched AS (
            SELECT DISTINCT n.region_code, {ind} AS ind, date_trunc('month', w.event_date)::DATE AS m
            FROM w_new w JOIN entities n USING (uscc) WHERE w.event_type = 'complaint'),
        areas AS (SELECT region_code, ind, min(m) AS first_m, max(m) AS last_m FROM touched GROUP BY ALL),
        span AS (SELECT (min(first_m) - INTERVAL {Bm + 24} MONTH)::DATE AS lo, max(last_m) AS hi FROM areas),
        cx AS (SELECT n.region_code, {ind} AS ind, date_trunc('month', e.event_date)::DATE AS m, count(*) AS x
               FROM events e JOIN entities n USING (uscc), span
               WHERE e.event_type = 'complaint' AND e.event_date >= span.lo
               GROUP BY ALL),
        grid AS (SELECT a.region_code, a.ind, g.m::DATE AS m
                 FROM areas a, span, generate_series(span.lo, span.hi, INTERVAL 1 MONTH) g(m)),
        s AS (SELECT g.region_code, g.ind, g.m, coalesce(cx.x, 0) AS x,
                     avg(coalesce(cx.x, 0)) OVER b AS mu, count(*) OVER b AS nb
              FROM grid g LEFT JOIN cx USING (region_code, ind, m)
              WINDOW b AS (PARTITION BY g.region_code, g.ind ORDER BY g.m ROWS BETWEEN {Bm} PRECEDING AND 1 PRECEDING)),
        z AS (SELECT s.*, (x - mu) / sqrt(greatest(mu, {float(p['variance_floor'])!r})) - {float(p['k'])!r} AS inc
              FROM s WHERE nb >= {Bm}),
        zz AS (SELECT z.*, sum(inc) OVER (PARTITION BY region_code, ind ORDER BY m ROWS UNBOUNDED PRECEDING) AS zc FROM z),
        cs AS (SELECT zz.*, zc - least(0, min(zc) OVER (PARTITION BY region_code, ind ORDER BY m
                                                      ROWS UNBOUNDED PRECEDING)) AS cusum FROM zz),
        alarm AS (SELECT cs.* FROM cs JOIN touched USING (region_code, ind, m)
                  WHERE cs.cusum > {float(p['h'])!r} AND cs.x >= {int(p['min_count'])}),
        -- the alarm months' complaints: the events narrowed to those months before the join with entities
        -- (the join conditions alone left DuckDB joining every complaint since the baseline began)
        rec AS (SELECT e.*, n.region_code, {ind} AS ind, date_trunc('month', e.event_date)::DATE AS m
                FROM (SELECT * FROM events WHERE event_type = 'complaint'
                      AND event_date >= (SELECT min(m) FROM alarm)
                      AND event_date < (SELECT max(m) FROM alarm) + INTERVAL 1 MONTH) e
                JOIN entities n USING (uscc)
                JOIN (SELECT DISTINCT region_code, ind, m FROM alarm) a ON a.region_code = n.region_code
                     AND a.ind = {ind} AND e.event_date >= a.m AND e.event_date < a.m + INTERVAL 1 MONTH),
        last AS (SELECT region_code, ind, m, max(event_date) AS d FROM rec GROUP BY ALL)
        SELECT {lit(rule.code)} AS rule, 'area:' || a.region_code || ':' || a.ind AS group_key, y.uscc,
               l.d AS raised_on, 'complaints' AS trig_source, strftime(a.m, '%Y-%m') AS trig_record,
               {_severity(rule, high)} AS severity,
               to_json({{'region_code': a.region_code, 'industry': a.ind, 'month': strftime(a.m, '%Y-%m'),
                        'count': a.x, 'expected': round(a.mu, 3), 'cusum': round(a.cusum, 3)}})::VARCHAR AS info,
               list({ev('y')} ORDER BY y.event_date, y.record_id) AS evidence
        FROM alarm a JOIN rec y USING (region_code, ind, m) JOIN last l USING (region_code, ind, m)
        GROUP BY ALL"""


# --------------------------------------------------------------------------- single records
def _record(ctx: Context, rule: Rule) -> str:
    p = rule.params
    where = f"h.event_type = {lit(p['event_type'])}{_details(p, 'h')}"
    if p.get("amount_zero"):
        where += " AND h.amount IS NOT NULL AND h.amount = 0"
    if p.get("unless_later"):
        where += (f" AND NOT EXISTS (SELECT 1 FROM w_hist o WHERE o.uscc = h.uscc "
                  f"AND o.event_type = {lit(p['unless_later'])} AND o.event_date >= h.event_date)")
    return f"""
        SELECT {lit(rule.code)} AS rule, h.uscc AS group_key, h.uscc, h.event_date AS raised_on,
               h.source AS trig_source, h.record_id AS trig_record, {lit(rule.severity)} AS severity,
               to_json({{'detail': h.detail, 'amount': h.amount, 'end_date': h.end_date}})::VARCHAR AS info,
               [{ev('h')}] AS evidence
        FROM w_new h WHERE {where}"""


# --------------------------------------------------------------------------- unreachable, still complained about
def _unreachable(ctx: Context, rule: Rule) -> str:
    p = rule.params
    det = lit(p["listing_detail"])
    return f"""
        WITH l AS (SELECT * FROM w_hist WHERE event_type = 'abnormal_list_in' AND detail = {det}),
        o AS (SELECT uscc, event_date FROM w_hist
              WHERE event_type = 'abnormal_list_out' AND (detail = {det} OR detail IS NULL)),
        lp AS (SELECT l.*, (SELECT min(o.event_date) FROM o WHERE o.uscc = l.uscc AND o.event_date >= l.event_date)
                    AS off FROM l),
        c AS (SELECT * FROM w_hist WHERE event_type = 'complaint'),
        m AS (SELECT c.uscc, c.event_date, c.source, c.record_id, c.is_new, lp.record_id AS l_rec,
                     lp.source AS l_src, lp.event_date AS l_on, lp.is_new AS l_new,
                     row_number() OVER (PARTITION BY c.uscc, lp.source, lp.record_id
                                        ORDER BY c.event_date, c.record_id) AS nth,
                     {ev('c')} AS ce, {ev('lp')} AS le
              FROM c JOIN lp ON c.uscc = lp.uscc AND c.event_date > lp.event_date
                            AND (lp.off IS NULL OR c.event_date < lp.off))
        SELECT {lit(rule.code)} AS rule, m.uscc AS group_key, m.uscc, m.event_date AS raised_on,
               m.source AS trig_source, m.record_id AS trig_record, {lit(rule.severity)} AS severity,
               to_json({{'listed_on': m.l_on, 'complaints_since_listing': m.nth}})::VARCHAR AS info,
               [m.le, m.ce] AS evidence
        FROM m WHERE (m.is_new OR m.l_new) AND m.nth >= {int(p['min_complaints'])}"""


# --------------------------------------------------------------------------- licences
def _licence(ctx: Context, rule: Rule) -> str:
    g = int(rule.params["grace_days"])
    ref = day(ctx.ref_date)
    window = f"end_date >= {day(ctx.prev_ref)} OR {ctx.new}" if ctx.prev_ref else "true"
    return f"""
        WITH cand AS (SELECT * FROM events WHERE event_type = 'admin_license' AND detail = 'granted'
                      AND end_date < {ref} AND ({window})),
        expired_new AS (SELECT * FROM w_new WHERE event_type = 'admin_license' AND detail = 'expired'),
        other AS (SELECT * FROM events WHERE event_type = 'admin_license'
                  AND uscc IN (SELECT uscc FROM cand UNION SELECT uscc FROM expired_new)),
        lapsed AS (SELECT c.* FROM cand c WHERE NOT EXISTS (
                       SELECT 1 FROM other o WHERE o.uscc = c.uscc AND (
                          (o.detail = 'granted' AND o.event_date <= c.end_date + {g} AND o.end_date > c.end_date
                           AND coalesce(o.source, '') = coalesce(c.source, ''))
                          OR (o.detail = 'revoked' AND o.event_date BETWEEN c.event_date AND c.end_date)
                          OR (o.detail = 'expired' AND o.event_date BETWEEN c.end_date - {g} AND c.end_date + {g} + 1)))),
        renewed AS (SELECT x.record_id, x.source FROM expired_new x WHERE EXISTS (
                       SELECT 1 FROM other o WHERE o.uscc = x.uscc AND o.detail = 'granted'
                       AND o.event_date BETWEEN x.event_date - {g} AND x.event_date + {g}
                       AND coalesce(o.end_date, DATE '9999-12-31') > x.event_date))
        SELECT {lit(rule.code)} AS rule, c.uscc AS group_key, c.uscc, (c.end_date + 1)::DATE AS raised_on,
               c.source AS trig_source, c.record_id AS trig_record, {lit(rule.severity)} AS severity,
               to_json({{'granted_on': c.event_date, 'valid_until': c.end_date}})::VARCHAR AS info,
               [{ev('c')}] AS evidence
        FROM lapsed c
        UNION ALL
        SELECT {lit(rule.code)}, x.uscc, x.uscc, x.event_date, x.source, x.record_id, {lit(rule.severity)},
               to_json({{'expired_on': x.event_date, 'valid_until': x.end_date}})::VARCHAR, [{ev('x')}]
        FROM expired_new x ANTI JOIN renewed USING (record_id, source)"""


# --------------------------------------------------------------------------- grade jumps
def _grade_jump(ctx: Context, rule: Rule) -> str:
    p = rule.params
    if not table_exists(ctx.con, "snapshots"):
        return _empty()
    order = "CASE {c} " + " ".join(f"WHEN '{g}' THEN {i}" for i, g in enumerate(GRADES)) + " END"
    since = f" OR s.as_of >= {day(ctx.since)}" if ctx.since else ""
    high = f"g.grade IN {in_list(p['high_to'])}" if p.get("high_to") else None
    return f"""
        WITH cur AS (SELECT as_of, max(snapshot_id) AS snapshot_id FROM snapshots GROUP BY as_of),
        s AS (SELECT * FROM cur WHERE snapshot_id > {int(ctx.snapshot_from)}{since})
        SELECT {lit(rule.code)} AS rule, g.uscc AS group_key, g.uscc, s.as_of AS raised_on,
               'grades' AS trig_source, strftime(s.as_of, '%Y-%m-%d') AS trig_record, {_severity(rule, high)} AS severity,
               to_json({{'previous_grade': g.previous_grade, 'grade': g.grade, 'snapshot_id': s.snapshot_id}})::VARCHAR
                   AS info,
               [struct_pack(uscc := g.uscc, source := 'grades', record_id := strftime(s.as_of, '%Y-%m-%d'),
                            event_type := 'grade', event_date := s.as_of, delivery_id := CAST(NULL AS INTEGER))]
                   AS evidence
        FROM grades g JOIN s USING (snapshot_id)
        WHERE g.previous_grade IS NOT NULL
          AND ({order.format(c='g.grade')}) - ({order.format(c='g.previous_grade')}) >= {int(p['min_steps'])}"""


# --------------------------------------------------------------------------- registration clusters
def _cluster(ctx: Context, rule: Rule) -> list[str]:
    """Scored clusters (:mod:`.clusters`): built into temporary tables now, their members' hits read next."""
    clusters.prepare(ctx.con, rule.params)
    return [clusters.hits_sql(rule.code, rule.severity, rule.params)]


def _empty() -> str:
    return ("SELECT CAST(NULL AS VARCHAR) AS rule, CAST(NULL AS VARCHAR) AS group_key, CAST(NULL AS VARCHAR) AS uscc, "
            "CAST(NULL AS DATE) AS raised_on, CAST(NULL AS VARCHAR) AS trig_source, CAST(NULL AS VARCHAR) AS trig_record, "
            "CAST(NULL AS VARCHAR) AS severity, CAST(NULL AS VARCHAR) AS info, "
            f"[{EVIDENCE.format(a='x')}][1:0] AS evidence FROM (SELECT CAST(NULL AS VARCHAR) AS uscc, "
            "CAST(NULL AS VARCHAR) AS source, CAST(NULL AS VARCHAR) AS record_id, CAST(NULL AS VARCHAR) AS event_type, "
            "CAST(NULL AS DATE) AS event_date, CAST(NULL AS INTEGER) AS delivery_id) x WHERE false")
