"""Exports for a signed-in user.  The grades export keeps the API's columns for now (the one grades-export
column list, :mod:`riskgrade.service.grades`, is unified separately)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from ..registry import queries
from .audit import record
from .errors import Refused
from .state import AppState, Principal

API_GRADE_COLUMNS = ("uscc", "as_of", "score", "grade", "labels", "reasons", "region_code")


def grades_csv(st: AppState, me: Principal, as_of: dt.date | None = None) -> tuple[dt.date, str, int]:
    """The month's grades in the user's region as CSV text: (month, text, rows); audited (``export``)."""
    me.require("export")
    snap = queries.latest_snapshot(st.factory, as_of)
    if snap is None:
        raise Refused(404, "not_found", "nothing published for that month", "not_found")
    rows = queries.grades_in_region(st.factory, snap.id, me.region)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(API_GRADE_COLUMNS)
    for g in rows:
        w.writerow([g.uscc, snap.as_of, g.score, g.grade, g.labels or "", g.reasons or "", g.region_code])
    record(st, me, "export_grades", snap.as_of.isoformat(), {"rows": len(rows)})
    return snap.as_of, buf.getvalue(), len(rows)
