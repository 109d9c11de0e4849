"""The console's dashboard figures: the last twelve published months in the user's region (grade counts
and mean scores), the migration between the last two, and the newest month by area x industry x grade."""

from __future__ import annotations

from ..registry import queries
from .state import AppState, Principal


def figures(st: AppState, me: Principal, width: int) -> dict | None:
    """``months`` [(as_of, snapshot id)], ``snapshot`` (the newest), ``counts`` [(snapshot id, grade, n, mean)],
    ``migration`` [(from, to, n)] and ``cells`` [(area of ``width`` digits, division, grade, n)]; None when
    nothing is published."""
    me.require("stats.read")
    months = queries.months(st.factory)[-12:]
    if not months:
        return None
    snap = queries.snapshot(st.factory, months[-1][1])
    ids = [i for _, i in months]
    counts = queries.grade_counts(st.factory, ids, me.region)
    migration = (queries.migration(st.factory, months[-2][1], months[-1][1], me.region) if len(months) >= 2 else [])
    cells = queries.area_cells(st.factory, snap.id, me.region, width)
    return {"months": months, "snapshot": snap, "counts": counts, "migration": migration, "cells": cells}
