"""Exchange with a double-random platform: the inspection-object directory (检查对象名录库).

One row per active entity of a month's snapshot with its grade and labels, so that the platform can
draw by grade.  Internal to regulators (it carries grades): never published.  Columns and an
example are in docs/inspection.md.
"""

from __future__ import annotations

DIRECTORY_COLUMNS = ("uscc", "name", "entity_type", "region_code", "industry_code", "grade", "labels", "as_of")


def directory_query(snapshot_id: int) -> str:
    return f"""
        SELECT g.uscc, g.name, g.entity_type, e.region_code, g.industry_code, g.grade, g.labels, g.as_of
        FROM grades g JOIN entities e USING (uscc)
        WHERE g.snapshot_id = {int(snapshot_id)} AND e.status = 'active'
        ORDER BY g.uscc"""
