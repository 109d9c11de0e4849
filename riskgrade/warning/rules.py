"""The warning-rule catalog (``defaults/warnings.yaml`` or a province's own YAML), validated on load."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import config
from ..contract import DETAIL_CODES, EVENT_TYPES
from ..errors import RiskgradeError
from .clusters import ClusterParams

SEVERITIES = ("low", "medium", "high")
SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高"}
LINK_KEYS = ("address", "phone", "legal_rep")


_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def severity_rank(s: str) -> int:
    try:
        return _RANK[s]
    except KeyError:
        raise ValueError(f"unknown severity {s!r}") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _event_type(v: str) -> str:
    if v not in EVENT_TYPES:
        raise ValueError(f"unknown event type {v!r}")
    return v


class WindowCountParams(_Strict):
    event_type: str
    details: list[str] | None = None
    min_count: int = Field(3, ge=1)
    window_days: int = Field(365, ge=1)
    high_from: int | None = None

    @model_validator(mode="after")
    def _check(self) -> WindowCountParams:
        _event_type(self.event_type)
        known = DETAIL_CODES.get(self.event_type)
        for d in self.details or []:
            if known and d not in known:
                raise ValueError(f"detail {d!r} is not a code of {self.event_type} ({', '.join(known)})")
        return self


class PoissonParams(_Strict):
    recent_days: int = Field(90, ge=7)
    baseline_days: int = Field(365, ge=30)
    prior_days: int = Field(365, ge=0)
    peer_years: int = Field(2, ge=1)
    min_count: int = Field(3, ge=1)
    p_value: float = Field(0.001, gt=0, lt=1)
    high_from: int | None = 6


class CusumParams(_Strict):
    baseline_months: int = Field(12, ge=3)
    k: float = Field(1.0, ge=0)
    h: float = Field(5.0, gt=0)
    variance_floor: float = Field(1.0, gt=0)
    min_count: int = Field(5, ge=1)
    industry_level: Literal["section", "division"] = "section"


class RecordParams(_Strict):
    event_type: str
    details: list[str] | None = None
    amount_zero: bool = False
    unless_later: str | None = None

    @model_validator(mode="after")
    def _check(self) -> RecordParams:
        _event_type(self.event_type)
        if self.unless_later:
            _event_type(self.unless_later)
        return self


class GradeJumpParams(_Strict):
    min_steps: int = Field(2, ge=1, le=4)
    high_to: list[Literal["A", "B", "C", "D", "E"]] = ["D", "E"]


class UnreachableParams(_Strict):
    listing_detail: str = "unreachable_address"
    min_complaints: int = Field(1, ge=1)


class LicenceParams(_Strict):
    grace_days: int = Field(30, ge=0)


PARAMS: dict[str, type[BaseModel]] = {
    "registration_cluster": ClusterParams,
    "count_in_window": WindowCountParams,
    "complaint_poisson": PoissonParams,
    "complaint_cusum": CusumParams,
    "record": RecordParams,
    "grade_jump": GradeJumpParams,
    "unreachable_complaints": UnreachableParams,
    "licence_expiry": LicenceParams,
}
# what an alert of each kind is about
SCOPES = {"registration_cluster": "cluster", "complaint_cusum": "area"}


class Rule(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    kind: Literal["registration_cluster", "count_in_window", "complaint_poisson", "complaint_cusum", "record",
                  "grade_jump", "unreachable_complaints", "licence_expiry"]
    severity: Literal["low", "medium", "high"] = "medium"
    route: Literal["auto", "county"] = "auto"
    params: dict = {}
    cooldown_days: int | None = Field(None, ge=0)
    max_age_days: int | None = Field(None, ge=1)
    inspect: bool = False
    label: str | None = None
    basis: str = ""
    enabled: bool = True
    # muting by measured precision (riskgrade/warning/precision.py): auto = muted when the measured lift is
    # below suppression.min_lift; never = always raised (a mandated trigger); always = always muted
    mute: Literal["auto", "never", "always"] = "auto"
    # corroboration (riskgrade/warning/corroboration.py): alone = an alert of the rule enters the open queue
    # without a second rule's alert on its entity (its evidence is already several records: a registration
    # cluster); `mute: never` implies it
    alone: bool = False

    @model_validator(mode="after")
    def _params(self) -> Rule:
        try:
            self.params = PARAMS[self.kind].model_validate(self.params).model_dump()
        except ValueError as e:  # pydantic ValidationError is a ValueError
            errs = getattr(e, "errors", None)
            if errs:
                first = errs()[0]
                raise ValueError(f"params.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
            raise
        return self

    @property
    def scope(self) -> str:
        return SCOPES.get(self.kind, "entity")

    def p(self) -> BaseModel:
        """The rule's parameters as their typed model."""
        return PARAMS[self.kind].model_validate(self.params)


class Suppression(_Strict):
    min_severity: Literal["low", "medium", "high"] = "low"
    cooldown_days: int = Field(180, ge=0)
    max_age_days: int | None = Field(400, ge=1)
    skip_closed: bool = True
    # muting (warning/precision.py): a rule whose measured lift (adverse outcomes of its alerted entities
    # against comparable entities) is below min_lift, or precision below min_precision, with at least
    # min_measured measured alerts, is muted: its alerts are stored with status muted, outside the queue
    min_lift: float = Field(2.5, ge=0)
    min_precision: float | None = Field(None, ge=0, le=1)
    min_measured: int = Field(50, ge=1)
    # corroboration (warning/corroboration.py): an alert enters the open queue when its entity (a member) has
    # alerts of at least queue_min_rules different rules (this one included, any status) raised within
    # queue_window_days of it, or its rule stands alone; the others are stored as uncorroborated (待印证),
    # outside the queue, listed for review.  1 = off (every alert that is not muted is queued)
    queue_min_rules: int = Field(2, ge=1, le=10)
    queue_window_days: int = Field(365, ge=1, le=1095)


class RuleCatalog(_Strict):
    version: str
    suppression: Suppression = Suppression()
    target_min_severity: Literal["low", "medium", "high"] = "high"
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RuleCatalog:
        seen: set[str] = set()
        for r in self.rules:
            if r.code in seen:
                raise ValueError(f"rule code {r.code} appears twice")
            seen.add(r.code)
        return self

    @property
    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def get(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)

    def cooldown(self, rule: Rule) -> int:
        return self.suppression.cooldown_days if rule.cooldown_days is None else rule.cooldown_days

    def max_age(self, rule: Rule) -> int | None:
        return self.suppression.max_age_days if rule.max_age_days is None else rule.max_age_days

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def load_rules(path: Path | None = None) -> RuleCatalog:
    """The built-in catalog, or a province's own YAML (complete, or ``extends: default``)."""
    data, where = config.read_yaml(path, "warnings.yaml")
    if data.get("extends") == "default":
        base, _ = config.read_yaml(None, "warnings.yaml")
        by_code = {r["code"]: r for r in base["rules"]}
        for r in data.get("rules") or []:
            if not isinstance(r, dict) or "code" not in r:
                raise RiskgradeError(f"{where}: every rule needs a code")
            by_code[r["code"]] = {**by_code.get(r["code"], {}), **r}
        for code in data.get("disable") or []:
            if code not in by_code:
                raise RiskgradeError(f"{where}: disable names an unknown rule {code}")
            by_code[code]["enabled"] = False
        merged = {k: v for k, v in base.items() if k != "rules"}
        for k in ("version", "suppression", "target_min_severity"):
            if k in data:
                merged[k] = {**base.get(k, {}), **data[k]} if isinstance(data[k], dict) else data[k]
        data = {**merged, "rules": list(by_code.values())}
    return config.validate(RuleCatalog, data, where)
