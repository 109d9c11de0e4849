"""Professional domains as indicators (专业领域): the fusion configuration the catalog needs.

A catalog indicator of kind ``domain`` takes its levels (a domain grade -> an ordinal risk level
0-3) and its maximum age from the fusion configuration (``defaults/fusion.yaml`` or a province's
file), and stays enabled only when that configuration fuses its domain by indicator.  The
configuration's schema and loader live here, upstream of scoring, so that the catalog never imports
scoring; :mod:`riskgrade.scoring.fusion` fuses grades with it and re-exports these names.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import config
from ..contract import GRADES

MODES = ("indicator", "overlay", "matrix")
LEVELS = 4  # risk levels 0 (low) .. 3 (high)
GRADE_ORDER = "".join(GRADES)  # riskgrade.contract; rank = position: A 0 (least risky) .. E 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_matrix(matrix: dict[str, list[str]], where: str) -> None:
    rows = set(matrix)
    need = set("ABCD")
    if not need <= rows or not rows <= set(GRADE_ORDER):
        raise ValueError(f"{where}: rows must be the general grades A, B, C, D (and optionally E), got "
                         f"{', '.join(sorted(rows))}")
    for g, cells in matrix.items():
        if len(cells) != LEVELS:
            raise ValueError(f"{where}: row {g} needs {LEVELS} grades, one per domain level 0-{LEVELS - 1}")
        allowed = GRADE_ORDER if g == "E" else GRADE_ORDER[:4]
        bad = [c for c in cells if c not in allowed]
        if bad:
            raise ValueError(f"{where}: row {g}: unknown grade {bad[0]!r} (use {', '.join(allowed)})")


class DomainFusion(_Strict):
    name_zh: str = ""
    name_en: str = ""
    mode: Literal["indicator", "overlay", "matrix"] | None = None
    levels: dict[str, int]
    matrix: dict[str, list[str]] | None = None
    max_age_days: int | None = Field(None, ge=1)
    basis: str = ""

    @field_validator("levels", mode="before")
    @classmethod
    def _keys(cls, v: object) -> object:
        # YAML reads `1: 0` with an integer key; grades are compared as trimmed, upper-cased text
        if isinstance(v, dict):
            return {str(k).strip().upper(): x for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _check(self) -> DomainFusion:
        if not self.levels:
            raise ValueError("levels must map at least one domain grade to a risk level")
        for k, v in self.levels.items():
            if not k:
                raise ValueError("levels: an empty domain grade")
            if not 0 <= v < LEVELS:
                raise ValueError(f"levels: grade {k} -> {v}: a risk level is 0 (low) to {LEVELS - 1} (high)")
        if self.matrix is not None:
            _check_matrix(self.matrix, "matrix")
        return self


class FusionConfig(_Strict):
    version: str
    default_mode: Literal["indicator", "overlay", "matrix"] = "matrix"
    keep_overrides: bool = True
    matrix: dict[str, list[str]] | None = None
    domains: dict[str, DomainFusion]

    @model_validator(mode="after")
    def _check(self) -> FusionConfig:
        if not self.domains:
            raise ValueError("domains: configure at least one professional domain")
        for name in self.domains:
            if not name.replace("_", "a").isalnum() or not name[0].isalpha() or name != name.lower() or not name.isascii():
                raise ValueError(f"domains: {name!r} is not a domain code (lower-case letters, digits, _)")
        if self.matrix is not None:
            _check_matrix(self.matrix, "matrix")
        for name, d in self.domains.items():
            if self.mode_of(name) == "matrix" and d.matrix is None and self.matrix is None:
                raise ValueError(f"domains.{name}: mode matrix needs a matrix (here or at the top level)")
        return self

    def mode_of(self, domain: str) -> str:
        return self.domains[domain].mode or self.default_mode

    def matrix_of(self, domain: str) -> dict[str, list[str]]:
        m = self.domains[domain].matrix or self.matrix
        assert m is not None
        return m

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def load_fusion(path: Path | None = None) -> FusionConfig:
    """The built-in ``fusion.yaml`` or a province's own; a one-line error naming the file and the field."""
    return config.load(FusionConfig, path, "fusion.yaml")


def apply_to_catalog(catalog, fusion: FusionConfig, where: str = "catalog"):
    """The catalog with each ``domain`` indicator's levels (and maximum age) from ``fusion``; an
    indicator stays enabled only when its domain is fused by indicator (a domain the configuration
    does not name is not fused at all: its indicator is disabled)."""
    out = []
    for i in catalog.indicators:
        if i.kind == "domain":
            d = fusion.domains.get(i.domain or "")
            if d is None:
                i = i.model_copy(update={"enabled": False})
            else:
                i = i.model_copy(update={"levels": dict(d.levels), "max_age_days": d.max_age_days,
                                         "enabled": i.enabled and fusion.mode_of(i.domain or "") == "indicator"})
        out.append(i)
    return catalog.model_copy(update={"indicators": out})
