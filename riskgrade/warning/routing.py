"""Routing (分办): which unit an alert goes to, by the province's routing table
(:mod:`riskgrade.codes.departments`, ``defaults/routing.yaml`` or ``--routing FILE``).

* A rule with ``route: county``, a registration cluster and an area alert go to the default department
  (the county market-supervision bureau) of the county: the entity's, the area's, or the most common among
  a cluster's members (ties: the smallest code).
* ``route: auto`` (the default) for an entity alert: when the entity carries on a licensed activity - it
  has an ``admin_license`` ``granted`` record dated on or before the alert - the supervisor of that licence
  (the latest one's; a licence-expiry alert: the licence that lapsed): the granting department when it
  supervises (谁审批、谁监管), else the department of the licence's domain (an approval-only body such as
  the 行政审批服务局 is never a supervisor); otherwise the department of the entity's industry (谁主管、谁监管);
  otherwise the county bureau.  Departments are matched by code, never by one free text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..codes.departments import RoutingTable
from .grouping import Outcome


@dataclass(frozen=True)
class Unit:
    kind: str           # county (the default department: the county bureau) or department
    name: str           # the responsible unit's name
    region_code: str | None
    code: str           # the department code (routing table)
    basis: str          # licence, licence_domain, industry, default, county (rule / scope)

    def __getitem__(self, i: int):  # (kind, name, region_code) as before
        return (self.kind, self.name, self.region_code)[i]


def county_unit(code: str | None, table: RoutingTable | None = None) -> str:
    from ..codes import departments

    t = table or departments.load()
    return t.unit(t.default, code)


def _county(region: dict[str, str | None], members) -> str | None:
    c = Counter(region.get(u) for u in members)
    if not c:
        return None
    top = max(c.values())
    return min((k for k, n in c.items() if n == top), key=lambda k: (k is None, k or ""))


def route(con: duckdb.DuckDBPyConnection, outcomes: list[Outcome], rules: dict,
          table: RoutingTable) -> tuple[dict[str, Unit], Counter]:
    """alert_id -> its :class:`Unit` for new alerts; and the licence sources routing read that match no
    department of the table (source text -> alerts)."""
    new = sorted((o for o in outcomes if o.new), key=lambda o: o.alert_id)
    usccs = sorted({u for o in new for u in o.members})
    ent: dict[str, tuple] = {}
    if usccs:
        con.register("w_route_usccs", pa.table({"uscc": pa.array(usccs, pa.string())}))
        ent = {r[0]: r[1:] for r in con.execute(
            "SELECT uscc, region_code, industry_section, industry_code FROM entities "
            "WHERE uscc IN (SELECT uscc FROM w_route_usccs)").fetchall()}
        con.unregister("w_route_usccs")
    region = {u: v[0] for u, v in ent.items()}
    auto = [o for o in new if o.scope == "entity" and rules[o.rule].route == "auto"
            and rules[o.rule].kind != "licence_expiry" and o.members]
    lic: dict[str, str] = {}
    if auto:
        con.register("w_route", pa.table({
            "alert_id": pa.array([o.alert_id for o in auto], pa.string()),
            "uscc": pa.array([min(o.members) for o in auto], pa.string()),
            "raised_on": pa.array([o.raised_on for o in auto], pa.date32()),
        }))
        lic = dict(con.execute("""
            SELECT a.alert_id, max_by(trim(e.source), (e.event_date, e.record_id, e.source))
            FROM w_route a JOIN events e ON e.uscc = a.uscc
            WHERE e.event_type = 'admin_license' AND e.detail = 'granted' AND e.event_date <= a.raised_on
              AND nullif(trim(e.source), '') IS NOT NULL
            GROUP BY a.alert_id""").fetchall())
        con.unregister("w_route")
    out: dict[str, Unit] = {}
    unmapped: Counter = Counter()
    for o in new:
        rule = rules[o.rule]
        code = o.info.get("region_code") if o.scope == "area" else _county(region, o.members)
        source = None
        if o.scope == "entity" and rule.route == "auto":
            if rule.kind == "licence_expiry":
                trig = sorted((e for e, role in o.evidence.values() if role == "trigger" and (e["source"] or "").strip()),
                              key=lambda e: (e["event_date"] or o.raised_on, e["source"], e["record_id"]))
                source = trig[0]["source"].strip() if trig else None
            else:
                source = lic.get(o.alert_id)
            _r, section, industry = ent.get(min(o.members), (None, None, None)) if o.members else (None, None, None)
            if source is not None and table.department_of(source) is None:
                unmapped[source] += 1
            dept, basis = table.supervisor(source, section, industry)
        else:
            dept, basis = table.default, "county"
        kind = "county" if dept == table.default else "department"
        out[o.alert_id] = Unit(kind, table.unit(dept, code), code, dept, basis)
    return out, unmapped
