"""Load and validate the indicator catalog (``defaults/indicators.yaml`` or a province's own file)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from .. import config
from ..errors import RiskgradeError
from .checks import Check

DIMENSIONS = {
    "basic": ("基础属性", "basic attributes"),
    "dynamic": ("动态信息", "dynamic information"),
    "regulatory": ("监管信息", "regulatory information"),
    "related": ("关联关系信息", "related-party information"),
    "social": ("社会评价信息", "social evaluation"),
    "operating": ("经营状况", "operating status"),
    "enforcement": ("监管执法", "supervision and enforcement"),
}
ENTITY_TYPES = ("enterprise", "individual", "cooperative")
# address: every other entity at the same address string, whenever it registered (the catalog before 2027.01-3);
# building_linked: co-registration at one building (compute.BUILDING_WINDOW_DAYS, a phone or a person shared)
RELATIONS = ("address", "building_linked", "phone", "person", "person_risky")
# columns of the indicator table that are entity attributes, not indicators
RESERVED = ("uscc", "name", "entity_type", "region_code", "industry_code", "industry_section", "status",
            "established_on", "registered_capital", "bucket", "address", "phone_id", "legal_rep_id")


class Indicator(BaseModel):
    """One indicator, described like a column of a dbt schema: names in Chinese and English, what it
    measures (``description``), its legal basis (``basis``, ``direction_basis``) and the checks its
    values pass on any month (``checks``, :mod:`.checks`)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    description: str = ""
    checks: list[Check] = Field(default_factory=list)
    dimension: Literal["basic", "dynamic", "regulatory", "related", "social", "operating", "enforcement"]
    kind: Literal["event", "entity", "derived", "related", "domain"]
    sql: str | None = None
    relation: str | None = None
    # kind domain: a professional domain's latest grade as a risk level; ``levels`` and
    # ``max_age_days`` come from the fusion configuration (riskgrade.scoring.fusion) when loaded
    domain: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")
    levels: dict[str, int] | None = None
    max_age_days: int | None = None
    applies_to: list[Literal["enterprise", "individual", "cooperative"]] = list(ENTITY_TYPES)
    basis: str = ""
    # risk direction (风险方向): up = a higher value raises the risk, down = lowers it, either = no
    # legal direction (the data decides); None (a province file that does not say) counts as either and
    # ``classify`` names such indicators
    direction: Literal["up", "down", "either"] | None = None
    direction_basis: str = ""
    # the value a reason is measured from (default: 0 for up and down, the training median for either)
    reference: float | None = None
    # the fact behind a reason (事实): an SQL aggregate over the entity's events ``e`` (the same dialect and
    # named dates as ``sql``) giving a Chinese sentence, or null; without it the fact is "名称：值"
    # (riskgrade.indicators.facts)
    fact: str | None = None
    enabled: bool = True

    @property
    def risk_direction(self) -> str:
        return self.direction or "either"

    @model_validator(mode="after")
    def _check(self) -> Indicator:
        if self.code in RESERVED:
            raise ValueError(f"{self.code} is an entity attribute; choose another indicator code")
        if self.kind == "related":
            if self.relation not in RELATIONS:
                raise ValueError(f"{self.code}: relation must be one of {', '.join(RELATIONS)}")
        elif self.kind == "domain":
            if not self.domain or self.sql:
                raise ValueError(f"{self.code}: an indicator of kind domain names its domain and has no sql")
        elif self.domain:
            raise ValueError(f"{self.code}: only an indicator of kind domain names a domain")
        elif not self.sql:
            raise ValueError(f"{self.code}: an indicator of kind {self.kind} needs sql")
        return self


class Catalog(BaseModel):
    version: str
    indicators: list[Indicator]

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        seen: set[str] = set()
        for i in self.indicators:
            if i.code in seen:
                raise ValueError(f"indicator code {i.code} appears twice")
            seen.add(i.code)
        return self

    @property
    def enabled(self) -> list[Indicator]:
        return [i for i in self.indicators if i.enabled]

    def undirected(self) -> list[str]:
        """Enabled indicators that declare no risk direction (treated as either)."""
        return [i.code for i in self.enabled if i.direction is None]

    def get(self, code: str) -> Indicator:
        for i in self.indicators:
            if i.code == code:
                return i
        raise KeyError(code)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def check_targets(self) -> dict[str, tuple[str, list[Check], str | None]]:
        """Every enabled indicator's column, checks and the entities it applies to, for
        :func:`riskgrade.indicators.checks.run_checks` over a table of computed indicators."""
        return {i.code: (i.code, list(i.checks), None if len(i.applies_to) == len(ENTITY_TYPES) else
                         "entity_type IN (" + ", ".join(f"'{t}'" for t in i.applies_to) + ")")
                for i in self.enabled}


def load_catalog(path: Path | None = None, fusion=None) -> Catalog:
    """The built-in catalog, or a province's own YAML; a clear one-line error when it is invalid.

    A province file may also *extend* the built-in one: ``extends: default`` keeps every built-in
    indicator, then ``indicators`` adds new ones or replaces those with the same code, and
    ``disable: [code, ...]`` drops some.

    Indicators of kind ``domain`` take their level mapping from the fusion configuration
    (``fusion``, a :class:`riskgrade.indicators.domains.FusionConfig`; default: the built-in
    ``fusion.yaml``), and stay enabled only when it fuses their domain by indicator.
    """
    data, where = config.read_yaml(path, "indicators.yaml")
    if data.get("extends") == "default":
        base, _ = config.read_yaml(None, "indicators.yaml")
        by_code = {i["code"]: i for i in base["indicators"]}
        for i in data.get("indicators") or []:
            by_code[i["code"]] = {**by_code.get(i["code"], {}), **i}
        for code in data.get("disable") or []:
            if code not in by_code:
                raise RiskgradeError(f"{where}: disable names an unknown indicator {code}")
            by_code[code]["enabled"] = False
        data = {"version": data.get("version", base["version"]), "indicators": list(by_code.values())}
    for i in data.get("indicators") or []:
        if isinstance(i, dict) and i.get("kind") == "domain" and ("levels" in i or "max_age_days" in i):
            raise RiskgradeError(f"{where}: indicator {i.get('code')}: a domain's levels and max_age_days belong in "
                                 "the fusion configuration (fusion.yaml), not in the catalog")
    catalog = config.validate(Catalog, data, where)
    if any(i.kind == "domain" for i in catalog.indicators):
        from .domains import apply_to_catalog, load_fusion

        catalog = apply_to_catalog(catalog, fusion if fusion is not None else load_fusion(), where)
    return catalog
