"""How often a rule's alerts are right, measured from the store; muting; the expected risk of an alert.

**Precision of a rule** (精确率).  For every horizon ``h`` (6 and 12 months), over the members of the
rule's entity and cluster alerts (area alerts are about an area and name no entity) whose follow-up
window ``(raised_on, raised_on + h months]`` has ended by the data's end (the latest warn run's
reference date): the share with an adverse outcome in that window, as ``defaults/outcomes.yaml``
defines it (an adverse inspection result or an outcome observed for all: a penalty, a
serious-dishonesty listing ...).  Against it, the **base rate** of the same outcome among comparable
entities: for the month each alert was raised, the share of the entities active on the first of that
month with an adverse outcome in the ``h`` months after it.  ``expected`` is the sum of those monthly
base rates over the measured alerts, so **lift** (提升倍数) = adverse / expected compares each alert
with the entities of its own month.  Intervals are 95% Wilson intervals of the precision (and the
lift's is that interval divided by the mean base rate, the base being measured over the whole
population).  Everything is one SQL statement over ``alert_members``, ``alerts``, ``events`` and
``entities``.

Every ``warn`` measures before it raises new alerts and stores the figures in ``rule_precision`` (one
row per run, rule and horizon): what its muting decisions were based on.  The catalog shown to users
(``riskgrade alerts rules``, ``GET /api/alerts/rules``, the console) reads the latest run's figures, and
measures on demand for a store warned before this table existed.

**Muting** (静默).  A rule whose measured lift is below ``suppression.min_lift`` (or precision below
``min_precision``), with at least ``suppression.min_measured`` measured alerts, is muted: its alerts
are evaluated and stored with status ``muted`` (outside the open queue, still measured).  A rule's
``mute`` setting overrides: ``never`` (always raised), ``always`` (always muted), ``auto`` (by the
figures).  The longest horizon with enough measured alerts decides.

**Expected risk** (预期风险) of an alert, in [0, 1]::

    L = shrunk lift = ((adverse + PRIOR_ALERTS * base) / (measured + PRIOR_ALERTS)) / base
    p = the latest classification's calibrated probability of the member (a cluster: its riskiest member);
        without one, the mean probability of that classification; without a classification, the base rate
    expected_risk = p * L / (p * L + 1 - p)

i.e. the model's odds multiplied by the rule's likelihood ratio (Bayes' rule, taking the alert as
evidence independent of the model's inputs).  The shrinkage pulls a rule with few measured alerts
towards lift 1 (no information), so a new rule neither tops nor sinks the queue on three lucky alerts;
a rule with no measurement leaves the model's probability unchanged.  Expected risk grows with the
model's probability and with the rule's measured precision (tested).  The 12-month horizon is used
(the model's own horizon), the 6-month one when no 12-month alert has been measured yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from ..sql import column_exists, table_exists
from ..stats import wilson
from .rules import RuleCatalog

if TYPE_CHECKING:  # riskgrade.scoring imports scikit-learn (seconds): only a measurement needs the outcomes
    from ..scoring.outcomes import OutcomeConfig

HORIZONS = (6, 12)
PRIOR_ALERTS = 20        # pseudo-alerts at the base rate added to every rule's measurement (shrinkage)
REMEASURE_DAYS = 28      # a run within this many days (of data) of the last measurement reuses its figures
SEVERITY_PRIOR = {"low": 0.05, "medium": 0.1, "high": 0.2}   # p when nothing at all is known (no data yet)

SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_precision (
    run_id INTEGER, rule VARCHAR, horizon_months INTEGER, as_of DATE, measured BIGINT, adverse BIGINT,
    expected DOUBLE, precision DOUBLE, precision_low DOUBLE, precision_high DOUBLE, base_rate DOUBLE,
    lift DOUBLE, lift_low DOUBLE, lift_high DOUBLE, muted BOOLEAN
);
"""


@dataclass(frozen=True)
class Measure:
    """One rule at one horizon."""
    rule: str
    horizon_months: int
    measured: int                  # alert members with a complete follow-up window
    adverse: int                   # of them, with an adverse outcome in the window
    expected: float                # adverse outcomes expected at the comparable base rates
    precision: float | None
    precision_low: float | None
    precision_high: float | None
    base_rate: float | None        # mean base rate of the comparable entities
    lift: float | None
    lift_low: float | None
    lift_high: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def measure_sql(end: dt.date, outcomes: OutcomeConfig) -> str:
    """The one statement: rule, horizon, measured, adverse, expected."""
    adverse = f"({outcomes.inspection_sql()}) OR ({outcomes.observed_sql()})"
    types = ", ".join(sorted({"'inspection'"} | {f"'{o.event_type}'" for o in outcomes.observed_for_all if o.enabled}))
    parts = []
    for h in HORIZONS:
        parts.append(f"""
        SELECT {h} AS h, rule, uscc, raised_on, date_trunc('month', raised_on)::DATE AS mo FROM mem
        WHERE raised_on + INTERVAL {h} MONTH <= DATE '{end}'""")
    return f"""
    WITH mem AS (
        SELECT DISTINCT a.rule, m.uscc, m.raised_on FROM alert_members m JOIN alerts a USING (alert_id)
        WHERE a.scope <> 'area' AND m.raised_on IS NOT NULL),
    meas AS ({' UNION ALL '.join(parts)}),
    adv AS (SELECT DISTINCT uscc, event_date FROM events
            WHERE event_type IN ({types}) AND event_date IS NOT NULL AND ({adverse})),
    hit AS (
        SELECT x.h, x.rule, x.uscc, x.raised_on, x.mo, bool_or(v.uscc IS NOT NULL) AS bad
        FROM meas x LEFT JOIN adv v ON v.uscc = x.uscc AND v.event_date > x.raised_on
             AND v.event_date <= x.raised_on + INTERVAL (x.h) MONTH
        GROUP BY ALL),
    months AS (SELECT DISTINCT h, mo FROM meas),
    life AS (
        SELECT uscc, established_on AS born,
               CASE WHEN status IS NULL OR status = 'active' THEN coalesce(closed_on, DATE '9999-12-31')
                    ELSE coalesce(closed_on, DATE '1900-01-01') END AS gone
        FROM entities WHERE established_on IS NOT NULL),
    delta AS (SELECT born AS d, 1 AS x FROM life
              UNION ALL SELECT greatest(gone, born), -1 FROM life WHERE gone < DATE '9999-12-31'),
    cum AS (SELECT d, sum(sum(x)) OVER (ORDER BY d) AS n FROM delta GROUP BY d),
    active AS (SELECT mo.h, mo.mo, c.n FROM months mo ASOF JOIN cum c ON mo.mo >= c.d),
    -- an entity counts for month mo when it is active on mo and its next adverse date after mo is within h
    -- months: for each adverse date d (previous one p), exactly the mo in [max(p, d - h, born), min(d, gone))
    nxt AS (
        SELECT hs.h, v.uscc, v.event_date AS d, lag(v.event_date) OVER (PARTITION BY hs.h, v.uscc ORDER BY v.event_date) AS p
        FROM adv v CROSS JOIN (SELECT DISTINCT h FROM months) hs),
    span AS (
        SELECT n.h, greatest(coalesce(n.p, DATE '0001-01-01'), (n.d - INTERVAL (n.h) MONTH)::DATE, l.born) AS s,
               least(n.d, l.gone) AS e
        FROM nxt n JOIN life l USING (uscc)),
    bad_delta AS (
        SELECT h, d, sum(x) AS x FROM (SELECT h, s AS d, 1 AS x FROM span WHERE s < e
                                       UNION ALL SELECT h, e, -1 FROM span WHERE s < e) GROUP BY ALL),
    bad_cum AS (SELECT h, d, sum(x) OVER (PARTITION BY h ORDER BY d) AS k FROM bad_delta),
    bad_mo AS (SELECT mo.h, mo.mo, b.k FROM months mo ASOF JOIN bad_cum b ON b.h = mo.h AND mo.mo >= b.d),
    base AS (SELECT a.h, a.mo, coalesce(b.k, 0) / nullif(a.n, 0) AS rate FROM active a LEFT JOIN bad_mo b USING (h, mo))
    SELECT hit.rule, hit.h, count(*) AS measured, count(*) FILTER (WHERE hit.bad) AS adverse,
           -- summed in one order (a parallel sum's last bits would differ from run to run)
           sum(coalesce(base.rate, 0) ORDER BY hit.uscc, hit.raised_on) AS expected
    FROM hit LEFT JOIN base USING (h, mo)
    GROUP BY ALL ORDER BY 1, 2"""


def data_end(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The end of the data: the latest warn run's reference date, else the latest event date."""
    if table_exists(con, "warn_runs"):
        d = con.execute("SELECT max(ref_date) FROM warn_runs").fetchall()[0][0]
        if d is not None:
            return d
    if table_exists(con, "events"):
        return con.execute("SELECT max(event_date) FROM events").fetchall()[0][0]
    return None


def measure(con: duckdb.DuckDBPyConnection, *, end: dt.date | None = None,
            outcomes: OutcomeConfig | None = None) -> dict[str, dict[int, Measure]]:
    """rule -> horizon -> its measurement (rules with no measured alert are absent)."""
    if not (table_exists(con, "alerts") and table_exists(con, "alert_members") and table_exists(con, "events")):
        return {}
    end = end or data_end(con)
    if end is None:
        return {}
    out: dict[str, dict[int, Measure]] = {}
    if not con.execute(f"""SELECT count(*) FROM (SELECT 1 FROM alert_members m JOIN alerts a USING (alert_id)
            WHERE a.scope <> 'area' AND m.raised_on IS NOT NULL
              AND m.raised_on + INTERVAL {min(HORIZONS)} MONTH <= DATE '{end}' LIMIT 1)""").fetchall()[0][0]:
        return out  # no alert old enough to measure: the base rates over every entity are not needed
    if outcomes is None:
        from ..scoring.outcomes import load_outcomes

        outcomes = load_outcomes()
    rows = con.execute(measure_sql(end, outcomes)).fetchall()
    for rule, h, n, k, exp in rows:
        out.setdefault(rule, {})[int(h)] = _measure(rule, int(h), int(n), int(k), float(exp or 0.0))
    return out


def _measure(rule: str, h: int, n: int, k: int, expected: float) -> Measure:
    lo, hi = wilson(k, n)
    base = expected / n if n else None
    prec = k / n if n else None
    lift = (k / expected) if expected > 0 else None
    lift_lo = (lo / base) if base and lo is not None else None
    lift_hi = (hi / base) if base and hi is not None else None
    return Measure(rule, h, n, k, round(expected, 3), prec, lo, hi, base, lift, lift_lo, lift_hi)


def deciding(measures: dict[int, Measure], min_measured: int) -> Measure | None:
    """The measurement muting goes by: the longest horizon with at least ``min_measured`` alerts."""
    for h in sorted(measures, reverse=True):
        if measures[h].measured >= min_measured:
            return measures[h]
    return None


def is_muted(catalog: RuleCatalog, code: str, measures: dict[int, Measure] | None) -> bool:
    """Whether a rule's new alerts are muted (see the module's docstring)."""
    rule = catalog.get(code)
    mode = getattr(rule, "mute", "auto") if rule else "auto"
    if mode in ("never", "always"):
        return mode == "always"
    s = catalog.suppression
    m = deciding(measures or {}, s.min_measured)
    if m is None or m.lift is None:
        return False           # too few measured alerts: never muted on a guess
    return m.lift < s.min_lift or (s.min_precision is not None and (m.precision or 0.0) < s.min_precision)


def shrunk_lift(measures: dict[int, Measure] | None) -> float:
    """The rule's lift shrunk towards 1 with :data:`PRIOR_ALERTS` pseudo-alerts at the base rate."""
    ms = measures or {}
    m = ms.get(12) if ms.get(12) and ms[12].measured else ms.get(6)
    if m is None or not m.measured or not m.base_rate:
        return 1.0
    return ((m.adverse + PRIOR_ALERTS * m.base_rate) / (m.measured + PRIOR_ALERTS)) / m.base_rate


def combine(p: float, lift: float) -> float:
    """Odds of ``p`` times ``lift``, back to a probability in [0, 1]."""
    p = min(max(float(p), 0.0), 1.0)
    lift = max(float(lift), 0.0)
    num = p * lift
    den = num + (1.0 - p)
    return 0.0 if den <= 0 else min(max(num / den, 0.0), 1.0)


def _probabilities(con: duckdb.DuckDBPyConnection, members: list[tuple[str, str]]) -> tuple[dict[str, float], float | None]:
    """alert id -> the highest calibrated probability among its members in the latest classification; and
    that classification's mean probability."""
    if not (table_exists(con, "snapshots") and table_exists(con, "grades") and column_exists(con, "grades", "probability")):
        return {}, None
    sid = con.execute("SELECT max(snapshot_id) FROM snapshots").fetchall()[0][0]
    if sid is None:
        return {}, None
    mean = con.execute(f"SELECT avg(probability) FROM grades WHERE snapshot_id = {int(sid)}").fetchall()[0][0]
    if not members:
        return {}, mean
    con.register("w_er_members", pa.table({"alert_id": [m[0] for m in members], "uscc": [m[1] for m in members]}))
    try:
        rows = con.execute(f"""SELECT m.alert_id, max(g.probability) FROM w_er_members m
            JOIN grades g ON g.uscc = m.uscc AND g.snapshot_id = {int(sid)} WHERE g.probability IS NOT NULL
            GROUP BY 1""").fetchall()
    finally:
        con.unregister("w_er_members")
    return {a: float(p) for a, p in rows}, (None if mean is None else float(mean))


@dataclass
class Assessment:
    """What one ``warn`` run needs: the measurements, which rules are muted, each alert's expected risk."""
    end: dt.date | None
    measures: dict[str, dict[int, Measure]]
    muted: dict[str, bool]
    expected_risk: dict[str, float]
    uncorroborated: set[str] = field(default_factory=set)   # alert ids outside the queue (corroboration.py)

    def status(self, rule: str, alert_id: str | None = None) -> str:
        if self.muted.get(rule):
            return "muted"
        return "uncorroborated" if alert_id in self.uncorroborated else "open"


def assess(con: duckdb.DuckDBPyConnection, catalog: RuleCatalog, outcomes: list, *,
           end: dt.date | None = None) -> Assessment:
    """Measure every rule (or reuse the figures of a run less than :data:`REMEASURE_DAYS` of data ago), decide
    muting, and give every alert of ``outcomes`` its expected risk."""
    end = end or data_end(con)
    measures, as_of = stored(con, within_days=REMEASURE_DAYS, end=end)
    if measures is None:
        measures, as_of = measure(con, end=end), end
    muted = {r.code: is_muted(catalog, r.code, measures.get(r.code)) for r in catalog.rules}
    members = [(o.alert_id, u) for o in outcomes for u in sorted(o.members)]
    probs, mean = _probabilities(con, members)
    risk = {}
    for o in outcomes:
        ms = measures.get(o.rule)
        m = (ms or {}).get(12) or (ms or {}).get(6)
        fallback = mean if mean is not None else (m.base_rate if m and m.base_rate else SEVERITY_PRIOR.get(o.severity, 0.1))
        risk[o.alert_id] = round(combine(probs.get(o.alert_id, fallback), shrunk_lift(ms)), 6)
    return Assessment(as_of, measures, muted, risk)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def store(con: duckdb.DuckDBPyConnection, run_id: int, a: Assessment) -> None:
    """Keep a run's measurements (``rule_precision``): what its muting was based on."""
    ensure_schema(con)
    rows = [(run_id, m.rule, m.horizon_months, a.end, m.measured, m.adverse, m.expected, m.precision, m.precision_low,
             m.precision_high, m.base_rate, m.lift, m.lift_low, m.lift_high, bool(a.muted.get(m.rule)))
            for ms in a.measures.values() for m in ms.values()]
    if rows:
        con.executemany("INSERT INTO rule_precision VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def stored(con: duckdb.DuckDBPyConnection, within_days: int | None = None, end: dt.date | None = None
           ) -> tuple[dict[str, dict[int, Measure]] | None, dt.date | None]:
    """The latest stored measurements and the date they run to (None when there are none, or, with
    ``within_days``, when they are that many days or more older than the data's end)."""
    if not table_exists(con, "rule_precision"):
        return None, None
    rows = con.execute("""SELECT rule, horizon_months, measured, adverse, expected, as_of FROM rule_precision
                          WHERE run_id = (SELECT max(run_id) FROM rule_precision) ORDER BY 1, 2""").fetchall()
    if not rows:
        return None, None
    as_of = rows[0][5]
    end = end or data_end(con)
    if within_days is not None and (as_of is None or end is None or (end - as_of).days >= within_days):
        return None, None
    out: dict[str, dict[int, Measure]] = {}
    for rule, h, n, k, exp, _ in rows:
        out.setdefault(rule, {})[int(h)] = _measure(rule, int(h), int(n), int(k), float(exp or 0.0))
    return out, as_of


def latest(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, dict[int, Measure]], dt.date | None]:
    """The latest stored measurements, else measured now (a store warned before they were stored)."""
    measures, end = stored(con)
    if measures is not None:
        return measures, end
    return measure(con), data_end(con)


def catalog_rows(con: duckdb.DuckDBPyConnection, catalog: RuleCatalog) -> tuple[list[dict], dt.date | None]:
    """The rule catalog with each rule's measured precision and lift (6 and 12 months) and whether it is
    muted now; and the date the measurements run to."""
    measures, end = latest(con)
    out = []
    for r in catalog.rules:
        ms = measures.get(r.code, {})
        m = deciding(ms, catalog.suppression.min_measured)
        row = {"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "kind": r.kind, "scope": r.scope,
               "severity": r.severity, "enabled": r.enabled, "mute": r.mute,
               "muted": bool(r.enabled and is_muted(catalog, r.code, ms)),
               "measured": m.measured if m else max((x.measured for x in ms.values()), default=0),
               "deciding_horizon": m.horizon_months if m else None}
        for h in HORIZONS:
            x = ms.get(h)
            row[f"m{h}"] = x.as_dict() if x else None
        out.append(row)
    return out, end
