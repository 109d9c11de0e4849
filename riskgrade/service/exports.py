"""Exports for a signed-in user: the month's grades in the user's region, with the one grades-export column
list (:data:`riskgrade.service.grades.GRADES_EXPORT_COLUMNS`, the same as ``riskgrade export grades``)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from ..export import neutralise
from .audit import record
from .errors import Refused
from .grades import GRADES_EXPORT_COLUMNS, published_grade_rows
from .state import AppState, Principal


def grades_csv(st: AppState, me: Principal, as_of: dt.date | None = None) -> tuple[dt.date, str, int]:
    """The month's grades in the user's region as CSV text: (month, text, rows); audited (``export``)."""
    me.require("export")
    found = published_grade_rows(st.factory, as_of, region_prefix=me.region)
    if found is None:
        raise Refused(404, "not_found", "nothing published for that month", "not_found")
    month, rows = found
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=GRADES_EXPORT_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None else neutralise(v) for k, v in r.items()})  # formula cells as text
    record(st, me, "export_grades", month.isoformat(), {"rows": len(rows)})
    return month, buf.getvalue(), len(rows)
