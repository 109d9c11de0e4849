"""The warning-rule catalog (预警规则) with each rule's measured precision, lift and muting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...service import warnrules
from ..deps import Me, St
from ..schemas import ALERT_ERRORS

router = APIRouter(tags=["alerts"])


class RuleMeasure(BaseModel):
    horizon_months: int = Field(description="follow-up window after the alert: 6 or 12 months")
    measured: int = Field(description="alerted entities whose follow-up window has ended")
    adverse: int = Field(description="of them, with an adverse outcome (defaults/outcomes.yaml) in the window")
    expected: float = Field(description="adverse outcomes expected at the base rate of comparable entities")
    precision: float | None = Field(description="adverse / measured (精确率)")
    precision_low: float | None = Field(description="95% Wilson interval, lower end")
    precision_high: float | None
    base_rate: float | None = Field(description="mean base rate of the entities active in the same months")
    lift: float | None = Field(description="adverse / expected (提升倍数): 1 = no better than chance")
    lift_low: float | None
    lift_high: float | None


class RuleOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str
    scope: str = Field(description="entity, cluster or area")
    severity: str
    enabled: bool
    mute: str = Field(description="auto (by the figures), never or always")
    muted: bool = Field(description="new alerts of the rule are stored as muted, outside the open queue")
    measured: int
    deciding_horizon: int | None = Field(description="the horizon muting goes by (the longest with enough alerts)")
    m6: RuleMeasure | None
    m12: RuleMeasure | None


class RuleCatalogOut(BaseModel):
    measured_to: str | None = Field(description="the date the measurements run to (the latest warn run)")
    min_lift: float
    min_precision: float | None
    min_measured: int
    prior_alerts: int = Field(description="pseudo-alerts at the base rate in the expected-risk shrinkage")
    rules: list[RuleOut]


@router.get("/api/alerts/rules", response_model=RuleCatalogOut, responses=ALERT_ERRORS)
def alert_rules(me: Me, st: St,
                muted: Annotated[bool, Query(description="only the rules muted now (for review)")] = False
                ) -> RuleCatalogOut:
    """The warning rules with their measured precision and lift at 6 and 12 months and whether they are muted."""
    v = warnrules.rule_catalog(st, me, muted_only=muted)
    return RuleCatalogOut(measured_to=v.measured_to, min_lift=v.min_lift, min_precision=v.min_precision,
                          min_measured=v.min_measured, prior_alerts=v.prior_alerts,
                          rules=[RuleOut(**{k: r[k] for k in RuleOut.model_fields if k not in ("m6", "m12")},
                                         m6=RuleMeasure(**{k: r["m6"][k] for k in RuleMeasure.model_fields})
                                         if r["m6"] else None,
                                         m12=RuleMeasure(**{k: r["m12"][k] for k in RuleMeasure.model_fields})
                                         if r["m12"] else None) for r in v.rules])
