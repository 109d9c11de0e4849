"""The published months' figures in a user's region, read from the monthly summaries written at publication
(:mod:`riskgrade.registry.summaries`) instead of aggregating the grades on every request.

Each function returns what the matching on-the-fly query of :mod:`riskgrade.registry.queries` returns (same rows,
same order where that query orders them); ``tests/test_summaries.py`` holds them equal.  A snapshot published
before summaries existed is summarised once, on its first read, and a warning says so.
"""

from __future__ import annotations

import logging
import weakref
from collections import defaultdict

from ..registry import summaries as store
from .state import AppState

log = logging.getLogger(__name__)
LEVELS = store.LEVELS


def level_for(region_prefix: str) -> int:
    """The summary level that holds the region's rows: the shortest of 2/4/6 digits at least the prefix's length."""
    return next((w for w in LEVELS if w >= len(region_prefix)), LEVELS[-1])


_known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # session factory -> snapshots with summaries


def _ready(st: AppState, snapshot_ids: list[int]) -> None:
    known = _known.setdefault(st.factory, set())
    if known.issuperset(snapshot_ids):  # summaries are never removed: once there, always there
        return
    done = store.ensure(st.factory, list(snapshot_ids))
    known.update(snapshot_ids)
    if done:
        log.warning("snapshots %s had no monthly summaries (published before they existed): summarised now, once",
                    ", ".join(map(str, done)))


def grade_counts(st: AppState, snapshot_ids: list[int], region_prefix: str
                 ) -> list[tuple[int, str, int, float | None]]:
    """(snapshot, grade, entities, mean score) of several snapshots in the region."""
    _ready(st, snapshot_ids)
    acc: dict[tuple[int, str], list] = defaultdict(lambda: [0, 0.0])
    for sid, _, _, g, n, total, _ in store.rows(st.factory, snapshot_ids, "region", level_for(region_prefix),
                                                region_prefix):
        a = acc[(sid, g)]
        a[0] += n
        a[1] += total
    return [(sid, g, n, t / n if n else None) for (sid, g), (n, t) in acc.items() if n]


def distribution(st: AppState, snapshot_id: int, region_prefix: str
                 ) -> tuple[list[tuple[str, int, float | None]], list[tuple[str, str, int]]]:
    """(grade, entities, mean score) by grade, and (county, grade, entities), in the region, ordered."""
    by_grade = sorted((g, n, m) for _, g, n, m in grade_counts(st, [snapshot_id], region_prefix))
    by_region = sorted((r, g, n) for _, r, _, g, n, _, _ in
                       store.rows(st.factory, [snapshot_id], "region", 6, region_prefix) if n)
    return by_grade, by_region


def migration(st: AppState, from_snapshot: int, to_snapshot: int, region_prefix: str
              ) -> list[tuple[str, str, int]] | None:
    """(grade then, grade now, entities) of the region's entities graded in both snapshots, ordered; None when the
    summaries hold another pair of months (``from_snapshot`` is not the month before ``to_snapshot``)."""
    _ready(st, [to_snapshot])
    acc: dict[tuple[str, str], int] = defaultdict(int)
    rows = store.rows(st.factory, [to_snapshot], "move", 6, region_prefix)
    if rows and any(base != from_snapshot for *_, base in rows):
        return None
    if not rows:
        with st.factory() as s:
            if store.previous_snapshot(s, to_snapshot) != from_snapshot:
                return None
    for _, _, key, g, n, _, _ in rows:
        region_then, grade_then = key.split(":", 1)
        if region_then.startswith(region_prefix):
            acc[(grade_then, g)] += n
    return sorted((f, t, n) for (f, t), n in acc.items() if n)


def area_cells(st: AppState, snapshot_id: int, region_prefix: str, width: int
               ) -> list[tuple[str, str | None, str, int]]:
    """(area: the first ``width`` digits of the county, industry division or None, grade, entities) in the
    region (``width`` one of 2, 4, 6)."""
    _ready(st, [snapshot_id])
    if width in LEVELS and width >= len(region_prefix):
        return [(r, key or None, g, n) for _, r, key, g, n, _, _ in
                store.rows(st.factory, [snapshot_id], "cell", width, region_prefix) if n]
    acc: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for _, r, key, g, n, _, _ in store.rows(st.factory, [snapshot_id], "cell", 6, region_prefix):
        acc[(r[:width], key or None, g)] += n
    return [(a, d, g, n) for (a, d, g), n in acc.items() if n]


def area_sections(st: AppState, snapshot_id: int, region_prefix: str, width: int
                  ) -> list[tuple[str, str | None, str, int]]:
    """(area: the first ``width`` digits of the county, GB/T 4754 section letter or None, grade, entities) in the
    region: :func:`area_cells` with the divisions summed into their sections (half the rows to read)."""
    _ready(st, [snapshot_id])
    level = width if width in LEVELS and width >= len(region_prefix) else 6
    acc: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for _, r, key, g, n, _, _ in store.rows(st.factory, [snapshot_id], "section", level, region_prefix):
        acc[(r[:width], key or None, g)] += n
    return [(a, sc, g, n) for (a, sc, g), n in acc.items() if n]


def breakdown(st: AppState, snapshot_id: int, region_prefix: str, kind: str) -> list[tuple[str, str, int, float]]:
    """(key, grade, entities, mean score) in the region by ``kind``: ``section`` (industry section), ``type``
    (entity type) or ``label``; ordered by key and grade."""
    _ready(st, [snapshot_id])
    acc: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0.0])
    for _, _, key, g, n, total, _ in store.rows(st.factory, [snapshot_id], kind, level_for(region_prefix),
                                                region_prefix):
        a = acc[(key, g)]
        a[0] += n
        a[1] += total
    return sorted((k, g, n, t / n) for (k, g), (n, t) in acc.items() if n)
