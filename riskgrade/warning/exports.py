"""Exports of the warning stage: alerts (one row per entity per alert) and pushes to domain systems.

Pushes (推送至专业系统): every abnormal-list (经营异常名录) and serious-dishonesty (严重违法失信名单)
listing and removal, with the entity, the reason, the deciding authority and whether the listing
still stands as of the export date; format ``riskgrade-push/1`` (docs/warning.md has the schema).
"""

from __future__ import annotations

import datetime as dt

from ..contract import ABNORMAL_REASON_ZH
from .evaluate import day, lit
from .queries import HELD

PUSH_FORMAT = "riskgrade-push/1"
REASON_ZH = ABNORMAL_REASON_ZH  # defined in contract


ALERT_EXPORT_COLUMNS = ("alert_id", "rule", "severity", "uscc", "raised_on", "scope", "rule_name", "name", "members",
                       "summary", "status", "assignee", "disposition", "unit_kind", "responsible_unit",
                       "region_code", "label", "evidence", "alert_raised_on", "last_record_on", "run_id")


def _filters(status: str | None, rule: str | None) -> list[str]:
    where = []
    if status:
        where.append(f"a.status = {lit(status)}")
    if rule:
        where.append(f"a.rule = {lit(rule)}")
    return where


def alerts_query(status: str | None = None, rule: str | None = None, include_area: bool = False,
                 include_held: bool = False) -> str:
    """One row per entity per alert; a cluster alert has one row per member with the same ``alert_id``.
    ``raised_on`` is the date of the records that raised the alert for that member (for members a grown
    cluster added later: their own registration's), never the run date.  Area alerts (about a county x
    industry, no members) only with ``include_area``: one row each, ``uscc`` and ``name`` empty.  The alerts
    held out of the queue (muted, uncorroborated: ``queries.HELD``) only when asked for, by their status or
    ``include_held``, as the lists show them.

    Deterministic: no wall-clock column (``created_at`` stays in the table), a total order."""
    where = _filters(status, rule)
    if not status and not include_held:
        where.append(f"a.status NOT IN ({', '.join(lit(x) for x in HELD)})")
    cond = ('WHERE ' + ' AND '.join(where)) if where else ''
    area = ""
    if include_area:
        area = f"""
        UNION ALL
        SELECT a.alert_id, a.rule, a.severity, CAST(NULL AS VARCHAR) AS uscc, a.raised_on, a.scope, a.rule_name,
               json_extract_string(a.info, '$.area_name') AS name, a.members, a.summary, a.status, a.assignee,
               a.disposition, a.unit_kind, a.responsible_unit, a.region_code, a.label,
               'complaints:' || json_extract_string(a.info, '$.month') AS evidence, a.raised_on AS alert_raised_on,
               a.last_record_on, a.run_id
        FROM alerts a WHERE a.scope = 'area'{' AND ' + ' AND '.join(where) if where else ''}"""
    return f"""
        WITH trig AS (SELECT alert_id, uscc, string_agg(coalesce(source, '') || ':' || record_id, ';'
                             ORDER BY event_date, source, record_id) AS evidence
                      FROM alert_evidence WHERE role = 'trigger' GROUP BY ALL)
        SELECT * FROM (
        SELECT a.alert_id, a.rule, a.severity, m.uscc, m.raised_on, a.scope, a.rule_name, n.name, a.members,
               a.summary, a.status, a.assignee, a.disposition, a.unit_kind, a.responsible_unit, a.region_code,
               a.label, t.evidence, a.raised_on AS alert_raised_on, a.last_record_on, a.run_id
        FROM alerts a JOIN alert_members m USING (alert_id)
        LEFT JOIN entities n ON n.uscc = m.uscc
        LEFT JOIN trig t ON t.alert_id = m.alert_id AND t.uscc = m.uscc
        {cond}{area})
        ORDER BY alert_raised_on, alert_id, uscc NULLS FIRST"""


AREA_EXPORT_COLUMNS = ("alert_id", "rule", "rule_name", "severity", "region_code", "industry_level",
                       "industry", "area_name", "month", "complaints", "baseline", "cusum", "entities_in_area",
                       "raised_on", "last_record_on", "summary", "status", "assignee", "disposition", "unit_kind",
                       "responsible_unit", "run_id")


def area_alerts_query(status: str | None = None, rule: str | None = None) -> str:
    """One row per area alert (区域性、行业性: a county x industry) with its figures: the alarm month, its
    complaints, the baseline (mean of the months before), the CUSUM, and the entities the cell held.
    Figures are fixed-point decimals (3 places), so that two runs on the same data write the same bytes."""
    where = ["a.scope = 'area'"] + _filters(status, rule)
    j = "json_extract_string(a.info, '$.{}')".format
    return f"""
        SELECT a.alert_id, a.rule, a.rule_name, a.severity, a.region_code,
               coalesce({j('industry_level')}, 'section') AS industry_level,
               {j('industry')} AS industry, {j('area_name')} AS area_name, {j('month')} AS month,
               TRY_CAST({j('count')} AS BIGINT) AS complaints,
               CAST(TRY_CAST({j('expected')} AS DOUBLE) AS DECIMAL(18, 3)) AS baseline,
               CAST(TRY_CAST({j('cusum')} AS DOUBLE) AS DECIMAL(18, 3)) AS cusum,
               TRY_CAST({j('entities_in_area')} AS BIGINT) AS entities_in_area,
               a.raised_on, a.last_record_on, a.summary, a.status, a.assignee, a.disposition, a.unit_kind,
               a.responsible_unit, a.run_id
        FROM alerts a WHERE {' AND '.join(where)}
        ORDER BY a.raised_on, a.alert_id"""


def pushes_query(as_of: dt.date, since: dt.date | None = None) -> str:
    """Abnormal-list and serious-dishonesty records for domain systems, format ``riskgrade-push/1``."""
    reasons = "CASE e.detail " + " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in REASON_ZH.items()) + " END"
    since_sql = f" AND (e.event_date >= {day(since)} OR e.reported_on >= {day(since)})" if since else ""
    return f"""
        WITH r AS (
            SELECT e.*, CASE WHEN e.event_type LIKE 'abnormal_list_%' THEN 'abnormal_list' ELSE 'serious_dishonest' END
                       AS list,
                   CASE WHEN e.event_type LIKE '%\\_in' ESCAPE '\\' THEN 'in' ELSE 'out' END AS action
            FROM events e
            WHERE e.event_type IN ('abnormal_list_in', 'abnormal_list_out', 'serious_dishonest_in',
                                   'serious_dishonest_out') AND e.event_date <= {day(as_of)}),
        outs AS (SELECT uscc, list, detail, event_date FROM r WHERE action = 'out')
        SELECT {lit(PUSH_FORMAT)} AS format,
               substr(sha256(r.list || '|' || coalesce(r.source, '') || '|' || r.record_id), 1, 16) AS push_id,
               r.list, r.action, r.uscc, n.name, n.entity_type, n.region_code, n.industry_code,
               r.event_date AS decided_on, r.detail AS reason_code,
               CASE WHEN r.list = 'abnormal_list' THEN {reasons.replace('e.detail', 'r.detail')} END AS reason_zh,
               r.source AS authority, r.record_id, r.end_date AS planned_end, r.reported_on,
               r.action = 'in' AND NOT EXISTS (
                   SELECT 1 FROM outs o WHERE o.uscc = r.uscc AND o.list = r.list AND o.event_date >= r.event_date
                     AND (r.list <> 'abnormal_list' OR o.detail IS NULL OR r.detail IS NULL OR o.detail = r.detail))
                   AS listed_as_of, {day(as_of)} AS as_of
        FROM r LEFT JOIN entities n USING (uscc)
        WHERE true{since_sql.replace('e.', 'r.')}
        ORDER BY r.event_date, r.list, r.uscc, r.record_id"""


def empty_query(columns: tuple[str, ...]) -> str:
    """An export with these columns and no row: for a home that was never warned (opened read-only)."""
    return "SELECT " + ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in columns) + " WHERE false"
