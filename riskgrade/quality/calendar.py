"""Working days (工作日) for timeliness, by the official Chinese calendar.

Inside the years the ``chinesecalendar`` package knows (2004 to 2026 in
version 1.11), a day is a working day by the State Council's published
schedule: public holidays are off even on weekdays, make-up working days
(调休上班, e.g. Sunday 2025-09-28 and Saturday 2025-10-11) are on.  Outside
those years the fallback is *weekends only* (Monday to Friday are working
days), and the measures say how many rows needed it.

"Working days from A to B" is the number of working days after A up to and
including B: the same day is 0, Friday -> Monday is 1, 2025-09-30 -> 2025-10-09
is 1 (1-8 October 2025 were the National Day / Mid-Autumn holiday).  It is
negative when B lies before A.

For speed the count is done in SQL: :func:`create_calendar_table` builds one
row per day of a date range with a running working-day index, and
``index(B) - index(A)`` is the count.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from chinese_calendar import constants as _cc

OFFICIAL = "chinese_calendar"
FALLBACK = "weekends_only"
OFFICIAL_FIRST = dt.date(min(_cc.holidays).year, 1, 1)
OFFICIAL_LAST = dt.date(max(_cc.holidays).year, 12, 31)
try:  # pragma: no cover - depends on the installed distribution
    from importlib.metadata import version as _version

    OFFICIAL_VERSION = _version("chinesecalendar")
except Exception:  # pragma: no cover
    OFFICIAL_VERSION = getattr(chinese_calendar, "__version__", "")

DEFAULT_TABLE = "_rg_quality_calendar"


def is_official(day: dt.date) -> bool:
    """Whether ``day`` lies in the years the official calendar covers."""
    return OFFICIAL_FIRST <= day <= OFFICIAL_LAST


def is_workday(day: dt.date) -> bool:
    """Official working day inside the covered years, else Monday-Friday."""
    if is_official(day):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative if ``end < start``).

    A plain Python reference implementation (a loop over the days); the
    measures use the SQL calendar table instead.
    """
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    n = 0
    day = start + dt.timedelta(days=1)
    while day <= end:
        n += is_workday(day)
        day += dt.timedelta(days=1)
    return sign * n


def exceptions(first: dt.date, last: dt.date) -> list[tuple[dt.date, bool]]:
    """Days in ``[first, last]`` whose official status differs from the weekday rule.

    Holidays falling on Monday-Friday (``False``) and make-up working days on
    a weekend (``True``); a few dozen per year.
    """
    lo, hi = max(first, OFFICIAL_FIRST), min(last, OFFICIAL_LAST)
    out: dict[dt.date, bool] = {}
    for day in _cc.holidays:
        if lo <= day <= hi and day.weekday() < 5 and day not in _cc.workdays:
            out[day] = False
    for day in _cc.workdays:
        if lo <= day <= hi and day.weekday() >= 5:
            out[day] = True
    return sorted(out.items())


def create_calendar_table(con, first: dt.date, last: dt.date, name: str = DEFAULT_TABLE) -> str:
    """Create (or replace) the TEMP table ``name`` for ``[first, last]`` and return its name.

    Columns: ``d DATE`` (one row per day), ``is_workday BOOLEAN``,
    ``official BOOLEAN`` (the day lies inside the official calendar's years),
    ``workday_index BIGINT`` (working days from ``first`` up to and including ``d``).
    Works on read-only connections (temporary tables live in memory).
    """
    exc = exceptions(first, last)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        WITH days AS (
            SELECT CAST(generate_series AS DATE) AS d
            FROM generate_series(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), INTERVAL 1 DAY)
        ),
        exc AS (SELECT unnest(CAST(? AS DATE[])) AS d, unnest(CAST(? AS BOOLEAN[])) AS w),
        marked AS (
            SELECT days.d, COALESCE(exc.w, isodow(days.d) <= 5) AS is_workday
            FROM days LEFT JOIN exc ON exc.d = days.d
        )
        SELECT d, is_workday, d BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) AS official,
               SUM(CASE WHEN is_workday THEN 1 ELSE 0 END) OVER (ORDER BY d ROWS UNBOUNDED PRECEDING)::BIGINT
                   AS workday_index
        FROM marked
        ORDER BY d
        """,
        [first, last, [d for d, _ in exc], [w for _, w in exc], OFFICIAL_FIRST, OFFICIAL_LAST],
    )
    return name
