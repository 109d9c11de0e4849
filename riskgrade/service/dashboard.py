"""The console's dashboard figures: the last twelve published months in the user's region (grade counts
and mean scores), the migration between the last two, and the newest month by area x industry x grade, read
from the monthly summaries written at publication (:mod:`riskgrade.service.summaries`)."""

from __future__ import annotations

from ..registry import queries
from . import summaries
from .state import AppState, Principal


def figures(st: AppState, me: Principal, width: int) -> dict | None:
    """``months`` [(as_of, snapshot id)], ``snapshot`` (the newest), ``counts`` [(snapshot id, grade, n, mean)],
    ``migration`` [(from, to, n)] and ``cells`` [(area of ``width`` digits, industry section, grade, n)]; None when
    nothing is published."""
    me.require("stats.read")
    months = queries.months(st.factory)[-12:]
    if not months:
        return None
    snap = queries.snapshot(st.factory, months[-1][1])
    ids = [i for _, i in months]
    counts = summaries.grade_counts(st, ids, me.region)
    migration = []
    if len(months) >= 2:
        migration = summaries.migration(st, months[-2][1], months[-1][1], me.region)
        if migration is None:  # the summaries compare with another month (an older month published again since)
            migration = queries.migration(st.factory, months[-2][1], months[-1][1], me.region)
    cells = summaries.area_sections(st, snap.id, me.region, width)
    return {"months": months, "snapshot": snap, "counts": counts, "migration": migration, "cells": cells}
