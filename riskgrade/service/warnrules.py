"""The warning-rule catalog with each rule's measured precision (精确率), lift (提升倍数) and muting, for the
API (``GET /api/alerts/rules``) and the console (the rule catalog on the alerts page).

Figures are aggregates over all alerts (no entity is named), so any role that reads alerts or statistics
may see them.  They are the latest ``warn`` run's measurements (:mod:`riskgrade.warning.precision`), with
the muting each rule has under the built-in catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..warning import precision
from ..warning.rules import load_rules
from .alerts import store
from .state import AppState, Principal


@dataclass
class RuleCatalogView:
    rules: list[dict]
    measured_to: str | None          # the date the measurements run to (ISO), None before any warn
    min_lift: float
    min_precision: float | None
    min_measured: int
    prior_alerts: int


def rule_catalog(st: AppState, me: Principal, *, muted_only: bool = False) -> RuleCatalogView:
    """Every rule with its precision and lift at 6 and 12 months, alerts measured and muting
    (``alerts.read`` or ``stats.read``); with ``muted_only``, the muted rules (for review)."""
    me.require("alerts.read|stats.read")
    catalog = load_rules()
    with store(st.home) as wh:
        rows, end = precision.catalog_rows(wh.con, catalog)
    if muted_only:
        rows = [r for r in rows if r["muted"]]
    s = catalog.suppression
    return RuleCatalogView(rows, end.isoformat() if end else None, s.min_lift, s.min_precision, s.min_measured,
                           precision.PRIOR_ALERTS)
