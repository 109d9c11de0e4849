"""The training target as configuration (``defaults/outcomes.yaml``): which outcomes are adverse, with
their policy basis, and how learning corrects for who was inspected."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from .. import config, contract


class InspectionOutcome(BaseModel):
    results: list[str]
    basis: str = ""

    @field_validator("results")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        known = contract.DETAIL_CODES["inspection"]
        bad = [r for r in v if r not in known]
        if bad:
            raise ValueError(f"unknown inspection results {bad}: choose from {', '.join(known)}")
        if "pass" in v:
            raise ValueError("a passed inspection is not an adverse outcome")
        return v


class ObservedOutcome(BaseModel):
    event_type: str
    when: str | None = None  # an SQL condition over the event's columns (detail, amount, source)
    basis: str = ""
    enabled: bool = True

    @field_validator("event_type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in contract.EVENT_TYPES or v == "inspection":
            raise ValueError(f"{v}: not an event type observed for every entity")
        return v


class Weighting(BaseModel):
    method: Literal["propensity", "horvitz_thompson", "naive"] = "propensity"
    trim_quantile: float = Field(0.01, ge=0, lt=0.5)
    min_propensity: float = Field(0.005, gt=0, le=1)


class Governance(BaseModel):
    margin: float = Field(0.0, ge=0, le=0.2)
    bootstrap: int = Field(200, ge=20, le=5000)
    auto_approve_first: bool = True
    max_age_months: int = Field(12, ge=1, le=60)


class OutcomeConfig(BaseModel):
    version: str
    horizon_months: int = Field(12, ge=1, le=36)
    inspection: InspectionOutcome
    observed_for_all: list[ObservedOutcome] = Field(default_factory=list)
    weighting: Weighting = Field(default_factory=Weighting)
    governance: Governance = Field(default_factory=Governance)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]

    def observed_sql(self) -> str:
        """The condition on ``events`` of an adverse outcome observed for every entity."""
        parts = []
        for o in self.observed_for_all:
            if o.enabled:
                parts.append(f"(event_type = '{o.event_type}'" + (f" AND ({o.when})" if o.when else "") + ")")
        return " OR ".join(parts) or "false"

    def inspection_sql(self) -> str:
        """The condition on ``events`` of an adverse inspection result."""
        return "(event_type = 'inspection' AND detail IN (" + ", ".join(f"'{r}'" for r in self.inspection.results) + "))"


def load_outcomes(path: Path | None = None) -> OutcomeConfig:
    return config.load(OutcomeConfig, path, "outcomes.yaml")


def adverse_results(path: Path | None = None) -> tuple[str, ...]:
    """The inspection results that count as adverse (发现问题, in the wide sense of the outcome definition)."""
    return tuple(load_outcomes(path).inspection.results)
