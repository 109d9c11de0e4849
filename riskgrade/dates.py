"""Calendar arithmetic shared by every stage: month ends, months added, outcome windows, month names.

* :func:`is_month_end`, :func:`month_end`;
* :func:`add_months` - a date moved by calendar months, the day clamped (31 Jan + 1 -> 28/29 Feb), or
  with ``keep_month_end`` a month end staying a month end (30 Apr + 1 -> 31 May);
* :func:`years_back` - the same day some years earlier (29 February -> 28 February);
* :func:`month_end_after` - the end of the month ``n`` months after a date's month;
* :func:`parse_month` - ``'2026-09'`` -> its first and last day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from .errors import RiskgradeError


def is_month_end(d: dt.date) -> bool:
    return (d + dt.timedelta(days=1)).day == 1


def month_end(d: dt.date) -> dt.date:
    """The last day of ``d``'s month."""
    return dt.date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def add_months(d: dt.date, months: int, *, keep_month_end: bool = False) -> dt.date:
    """``d`` moved ``months`` calendar months (back when negative), the day of month clamped to the
    target month; with ``keep_month_end`` a month end stays a month end."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = calendar.monthrange(year, month)[1]
    if keep_month_end and is_month_end(d):
        return dt.date(year, month, last)
    return dt.date(year, month, min(d.day, last))


def years_back(d: dt.date, years: int) -> dt.date:
    """The same day ``years`` years earlier (29 February -> 28 February)."""
    return add_months(d, -12 * years)


def month_end_after(d: dt.date, months: int) -> dt.date:
    """The end of the month ``months`` after ``d``'s month (``0``: ``d``'s own month end)."""
    return month_end(add_months(d.replace(day=1), months))


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_month(month: str) -> tuple[dt.date, dt.date]:
    """``'2026-09'`` -> (first day, last day) of that month; a clear error otherwise."""
    m = _MONTH.match(month.strip()) if isinstance(month, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 9999:
        raise RiskgradeError(f"--month: expected a month as YYYY-MM (e.g. 2026-09), got {month!r}")
    first = dt.date(int(m.group(1)), int(m.group(2)), 1)
    return first, month_end(first)
