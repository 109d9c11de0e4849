"""Sampling configuration (``defaults/sampling.yaml`` or a province's own YAML), validated on load."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from .. import config
from ..contract import GRADE_SETS as GRADES


class Trigger(BaseModel):
    label: str
    name_zh: str = ""


class TriggerOnly(BaseModel):
    label: str
    grades: list[str]
    name_zh: str = ""


class Frequency(BaseModel):
    min_months: int = Field(12, ge=0)
    except_grades: list[str] = Field(default_factory=lambda: ["D", "E"])


class Conflict(BaseModel):
    inspector_id: str
    uscc: str


class InspectorRules(BaseModel):
    per_inspection: int = Field(2, ge=1)
    cross_county: bool = False
    avoid_last_inspectors: bool = True
    conflicts: list[Conflict] = Field(default_factory=list)


class Approval(BaseModel):
    """Who approves a drawn plan before it is final (审批).  ``service``: plans drawn in the console or through the
    API wait for approval (待审批); ``cli``: so do plans drawn with ``riskgrade plan`` (off by default: a command
    line draw is in force as drawn, as before); ``approver_roles``: the roles that approve (a user other than the
    one who drew the plan, whose region covers the plan's)."""
    service: bool = True
    cli: bool = False
    approver_roles: list[str] = Field(default_factory=lambda: ["admin"], min_length=1)


class SamplingConfig(BaseModel):
    version: str
    ratios: dict[str, dict[str, float]]
    floors: dict[str, float] = Field(default_factory=dict)
    ceilings: dict[str, float] = Field(default_factory=dict)
    frequency: Frequency = Field(default_factory=Frequency)
    force_include: list[Trigger] = Field(default_factory=list)
    trigger_only: list[TriggerOnly] = Field(default_factory=list)
    written_check_grades: list[str] = Field(default_factory=list)
    inspectors: InspectorRules = Field(default_factory=InspectorRules)
    approval: Approval = Field(default_factory=Approval)

    @model_validator(mode="after")
    def _check(self) -> SamplingConfig:
        for mode, grades in GRADES.items():
            if mode not in self.ratios:
                raise ValueError(f"ratios: give a table for {mode} grades ({', '.join(grades)})")
            if sorted(self.ratios[mode]) != sorted(grades):
                raise ValueError(f"ratios.{mode} must give exactly {', '.join(grades)}")
        for name, table in (("ratios.four", self.ratios["four"]), ("ratios.five", self.ratios["five"]),
                            ("floors", self.floors), ("ceilings", self.ceilings)):
            for g, v in table.items():
                if g not in GRADES["five"]:
                    raise ValueError(f"{name}: unknown grade {g}")
                if not 0 <= v <= 1:
                    raise ValueError(f"{name}.{g}: a share between 0 and 1, not {v}")
        for g, lo in self.floors.items():
            if lo > self.ceilings.get(g, 1.0):
                raise ValueError(f"floors.{g} ({lo}) is above ceilings.{g}")
        return self

    def ratio(self, mode: str, grade: str) -> float:
        return self.ratios[mode][grade]

    def floor(self, grade: str) -> float:
        return self.floors.get(grade, 0.0)

    def ceiling(self, grade: str) -> float:
        return self.ceilings.get(grade, 1.0)


def load_sampling(path: Path | None = None) -> SamplingConfig:
    return config.load(SamplingConfig, path, "sampling.yaml")
