"""Routing (分办): which unit an alert goes to.

* A rule with ``route: county``, a registration cluster and an area alert go to the county market
  regulation bureau (GB/T 2260 county code: the entity's, the area's, or the most common among a
  cluster's members).
* ``route: auto`` (the default) for an entity alert: when the entity carries on a licensed activity
  - it has an ``admin_license`` ``granted`` record dated on or before the alert whose ``source``
  names the licensing department - the alert goes to that department (the latest such licence's);
  a licence-expiry alert goes to the department of the licence that lapsed.  Otherwise the county.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa

from ..codes import regions
from .grouping import Outcome


def county_unit(code: str | None) -> str:
    if not code:
        return "（未知县区）市场监督管理局"
    return f"{regions.name(code)}市场监督管理局"


def route(con: duckdb.DuckDBPyConnection, outcomes: list[Outcome], rules: dict) -> dict[str, tuple[str, str, str]]:
    """alert_id -> (unit_kind, responsible_unit, region_code) for new alerts."""
    new = [o for o in outcomes if o.new]
    usccs = sorted({u for o in new for u in o.members})
    region: dict[str, str] = {}
    if usccs:
        con.register("w_route_usccs", pa.table({"uscc": pa.array(usccs, pa.string())}))
        region = dict(con.execute("SELECT uscc, region_code FROM entities WHERE uscc IN (SELECT uscc FROM w_route_usccs)")
                      .fetchall())
        con.unregister("w_route_usccs")
    auto = [o for o in new if o.scope == "entity" and rules[o.rule].route == "auto" and rules[o.rule].kind != "licence_expiry"]
    dept: dict[str, str] = {}
    if auto:
        con.register("w_route", pa.table({
            "alert_id": pa.array([o.alert_id for o in auto], pa.string()),
            "uscc": pa.array([next(iter(o.members)) for o in auto], pa.string()),
            "raised_on": pa.array([o.raised_on for o in auto], pa.date32()),
        }))
        dept = dict(con.execute("""
            SELECT a.alert_id, max_by(e.source, (e.event_date, e.record_id))
            FROM w_route a JOIN events e ON e.uscc = a.uscc
            WHERE e.event_type = 'admin_license' AND e.detail = 'granted' AND e.event_date <= a.raised_on
              AND nullif(trim(e.source), '') IS NOT NULL
            GROUP BY a.alert_id""").fetchall())
        con.unregister("w_route")
    out: dict[str, tuple[str, str, str]] = {}
    for o in new:
        rule = rules[o.rule]
        if o.scope == "area":
            code = o.info.get("region_code")
        else:
            code = Counter(region.get(u) for u in o.members).most_common(1)[0][0]
        if o.scope == "entity" and rule.route == "auto" and rule.kind == "licence_expiry":
            trig = next((e for e, role in o.evidence.values() if role == "trigger" and e["source"]), None)
            if trig and trig["source"].strip():
                out[o.alert_id] = ("department", trig["source"].strip(), code)
                continue
        if o.alert_id in dept:
            out[o.alert_id] = ("department", dept[o.alert_id].strip(), code)
        else:
            out[o.alert_id] = ("county", county_unit(code), code)
    return out
