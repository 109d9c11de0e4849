"""Statistics in the user's region: published snapshots, the grade distribution, migration between months
(``stats.read``; no individual entity)."""

from __future__ import annotations

import datetime as dt

from ..registry import queries
from ..registry.models import Snapshot
from . import summaries
from .errors import Refused
from .state import AppState, Principal


def snapshots(st: AppState, me: Principal) -> list[Snapshot]:
    """Published monthly snapshots, newest first."""
    me.require("stats.read")
    return queries.snapshots(st.factory)


def distribution(st: AppState, me: Principal, as_of: dt.date | None = None) -> dict:
    """Grade shares and mean score in the user's region, and counts by county and grade."""
    me.require("stats.read")
    snap = queries.latest_snapshot(st.factory, as_of)
    if snap is None:
        raise Refused(404, "not_found", "nothing published yet" if not as_of else f"nothing published as of {as_of}",
                      "not_found")
    by_grade, by_region = summaries.distribution(st, snap.id, me.region)
    total = sum(n for _, n, _ in by_grade)
    return {"as_of": snap.as_of, "total": total,
            "grades": [{"grade": g, "entities": n, "share": n / total if total else 0.0,
                        "mean_score": round(float(m or 0), 1)} for g, n, m in by_grade],
            "by_region": [{"region_code": r, "grade": g, "entities": n} for r, g, n in by_region]}


def migration(st: AppState, me: Principal, from_: dt.date, to: dt.date) -> list[dict]:
    """Grade migration between two published months (entities in the user's region)."""
    me.require("stats.read")
    a, b = queries.latest_snapshot(st.factory, from_), queries.latest_snapshot(st.factory, to)
    if a is None or b is None:
        raise Refused(404, "not_found", f"both months must be published ({from_}, {to})", "not_found")
    rows = summaries.migration(st, a.id, b.id, me.region)
    if rows is None:  # not consecutive months: compared on the fly
        rows = queries.migration(st.factory, a.id, b.id, me.region)
    return [{"from_grade": f, "to_grade": t, "entities": n} for f, t, n in rows]
