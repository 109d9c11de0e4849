"""办理时限 and 复核: the province's time limits of alert disposition and which alerts need a reviewer's
sign-off before they close (``defaults/worklimits.yaml``; a home's own ``worklimits.yaml`` replaces it).

* *due dates* count calendar days from the day an alert was raised: an open alert is due to be assigned
  ``assign_days`` after it; every alert is due to be closed ``handle_days`` after it (per rule, else per
  severity).  :func:`due_sql` is the same rule as a DuckDB expression (queues and statistics);
* *overdue*: today past the due date that applies (assign while open, close afterwards) and not closed;
* *review*: whether closing goes to 待复核 first (per rule, else the severity list, else ``default``);
* ``note_min_length``: the characters a disposition, closing or review note needs at least.

Checked on load (unknown keys, days out of range, rules the catalog does not know) with a clear message.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import config
from ..errors import RiskgradeError
from .workflow import OUT_OF_QUEUE

FILE = "worklimits.yaml"
Severity = Literal["high", "medium", "low"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Review(_Strict):
    default: bool = False
    severities: tuple[Severity, ...] = ()


class RuleLimit(_Strict):
    handle_days: int | None = Field(default=None, ge=1, le=365)
    review: bool | None = None


class HandleDays(_Strict):
    high: int = Field(ge=1, le=365)
    medium: int = Field(ge=1, le=365)
    low: int = Field(ge=1, le=365)


class WorkLimits(_Strict):
    version: int = 1
    assign_days: int = Field(ge=0, le=60)
    handle_days: HandleDays
    due_soon_days: int = Field(default=2, ge=0, le=60)
    note_min_length: int = Field(default=4, ge=1, le=200)
    review: Review = Review()
    rules: dict[str, RuleLimit] = Field(default_factory=dict)

    def days_to_close(self, rule: str, severity: str) -> int:
        r = self.rules.get(rule)
        if r is not None and r.handle_days is not None:
            return r.handle_days
        return getattr(self.handle_days, severity, self.handle_days.medium)

    def needs_review(self, rule: str, severity: str) -> bool:
        r = self.rules.get(rule)
        if r is not None and r.review is not None:
            return r.review
        return severity in self.review.severities or self.review.default

    def assign_due(self, raised_on: dt.date) -> dt.date:
        return raised_on + dt.timedelta(days=self.assign_days)

    def close_due(self, rule: str, severity: str, raised_on: dt.date) -> dt.date:
        return raised_on + dt.timedelta(days=self.days_to_close(rule, severity))

    def due(self, a: dict) -> dt.date | None:
        """The due date that applies now: to assign while open, to close afterwards; None when closed,
        muted or uncorroborated (nothing is due)."""
        raised = a.get("raised_on")
        if raised is None or a.get("status") in ("closed", *OUT_OF_QUEUE):
            return None
        if a.get("status") == "open":
            return self.assign_due(raised)
        return self.close_due(a.get("rule") or "", a.get("severity") or "medium", raised)

    def overdue(self, a: dict, today: dt.date) -> bool:
        d = self.due(a)
        return d is not None and today > d


def due_sql(w: WorkLimits, alias: str = "a") -> tuple[str, str, list]:
    """(close-due expression, due-now expression, parameters) in DuckDB over the alerts table ``alias``:
    the rule of :meth:`WorkLimits.close_due` and :meth:`WorkLimits.due`.  The parameters are used twice
    in that order (close-due's, then due-now's)."""
    whens, params = [], []
    for code, r in sorted(w.rules.items()):
        if r.handle_days is not None:
            whens.append(f"WHEN {alias}.rule = ? THEN ?")
            params += [code, r.handle_days]
    for sev in ("high", "medium", "low"):
        whens.append(f"WHEN {alias}.severity = ? THEN ?")
        params += [sev, getattr(w.handle_days, sev)]
    days = f"(CASE {' '.join(whens)} ELSE {int(w.handle_days.medium)} END)"
    close_due = f"CAST({alias}.raised_on + to_days(CAST({days} AS INTEGER)) AS DATE)"
    held = ", ".join(f"'{s}'" for s in ("closed", *OUT_OF_QUEUE))
    due_now = (f"(CASE WHEN {alias}.status IN ({held}) THEN NULL "
               f"WHEN {alias}.status = 'open' THEN CAST({alias}.raised_on + to_days({int(w.assign_days)}) AS DATE) "
               f"ELSE {close_due} END)")
    return close_due, due_now, params


def _check_rules(w: WorkLimits, where: str) -> None:
    from .rules import load_rules

    known = {r.code for r in load_rules(None).rules}
    unknown = sorted(set(w.rules) - known)
    if unknown:
        raise RiskgradeError(f"{where}: rules: unknown rule {unknown[0]!r} (办理时限中的规则代码不存在): one of "
                             f"{', '.join(sorted(known))}")


@functools.lru_cache(maxsize=8)
def _load(path: str | None, stamp: float) -> WorkLimits:
    data, where = config.read_yaml(Path(path) if path else None, FILE)
    w = config.validate(WorkLimits, data, where)
    _check_rules(w, where)
    return w


def load(home: Path | None = None, path: Path | None = None) -> WorkLimits:
    """The time limits: ``path``, else the home's own ``worklimits.yaml``, else the shipped one (read again
    when the file changes)."""
    if path is None and home is not None and (Path(home) / FILE).exists():
        path = Path(home) / FILE
    stamp = Path(path).stat().st_mtime if path is not None and Path(path).exists() else 0.0
    return _load(str(path) if path is not None else None, stamp)
