"""Statistics in the user's region: snapshots, grade distribution, migration, alert counts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from ...service import alerts, stats
from ..deps import Me, St
from ..schemas import (ALERT_ERRORS, ERRORS, AlertCounts, Distribution, MigrationCell, RegionAlerts, RuleCount,
                       SnapshotOut)

grades_router = APIRouter(tags=["grades"])
router = APIRouter(tags=["statistics"])


@grades_router.get("/api/snapshots", response_model=list[SnapshotOut], responses=ERRORS)
def snapshots(me: Me, st: St) -> list[SnapshotOut]:
    """Published monthly snapshots, newest first."""
    return [SnapshotOut.model_validate(r, from_attributes=True) for r in stats.snapshots(st, me)]


@router.get("/api/stats/grades", response_model=Distribution, responses=ERRORS)
def distribution(me: Me, st: St, as_of: dt.date | None = None) -> Distribution:
    """Grade shares and mean score in the user's region, and counts by county and grade."""
    return Distribution(**stats.distribution(st, me, as_of))


@router.get("/api/stats/migration", response_model=list[MigrationCell], responses=ERRORS)
def migration(me: Me, st: St, from_: Annotated[dt.date, Query(alias="from")], to: dt.date) -> list[MigrationCell]:
    """Grade migration between two published months (entities in the user's region)."""
    return [MigrationCell(**c) for c in stats.migration(st, me, from_, to)]


@router.get("/api/stats/alerts", response_model=AlertCounts, responses=ALERT_ERRORS)
def alert_stats(me: Me, st: St,
                raised_from: Annotated[dt.date | None, Query(description="raised on or after")] = None,
                raised_to: Annotated[dt.date | None, Query(description="raised on or before")] = None
                ) -> AlertCounts:
    """Counts of the alerts in the user's region by status, severity, rule and county (no individual alert)."""
    c = alerts.counts(st, me, alerts.Filters(raised_from=raised_from, raised_to=raised_to))
    return AlertCounts(total=c.total, by_status=c.by_status, by_severity=c.by_severity,
                       by_rule=[RuleCount(rule=r, rule_name=n, alerts=k) for r, n, k in c.by_rule],
                       by_region=[RegionAlerts(region_code=r, alerts=k) for r, k in c.by_region])
