"""From score to grade: cut-offs, one-vote overrides (一票否决), industry floors; and labels (标注)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from .. import config
from ..contract import GRADE_SETS
from ..indicators.checks import Check

GRADES = {mode: list(letters) for mode, letters in GRADE_SETS.items()}


class Override(BaseModel):
    """A one-vote override or a floor (一票否决), described like the catalog's indicators: names, what it
    does, its legal basis and the checks its condition passes (:mod:`riskgrade.indicators.checks`)."""

    code: str
    when: str
    at_least: str | None = None
    grade: str | None = None
    name_zh: str = ""
    name_en: str = ""
    description: str = ""
    basis: str = ""
    checks: list[Check] = Field(default_factory=list)


class IndustryFloor(BaseModel):
    at_least: str = "B"
    prefixes: list[str] = Field(default_factory=list)


class GradingConfig(BaseModel):
    version: str
    mode: Literal["four", "five"] = "four"
    cutoffs: dict[str, float]
    target_shares: dict[str, float] = Field(default_factory=lambda: {"A": 0.57, "B": 0.33, "C": 0.07, "D": 0.03})
    overrides: list[Override] = Field(default_factory=list)
    high_attention_industries: IndustryFloor = Field(default_factory=IndustryFloor)

    @model_validator(mode="after")
    def _check(self) -> GradingConfig:
        grades = GRADES[self.mode]
        need = grades[1:4]  # B, C, D by score; E only by override in five-grade mode
        if sorted(self.cutoffs) != sorted(need):
            raise ValueError(f"cutoffs must give the lower bound of {', '.join(need)}")
        vals = [self.cutoffs[g] for g in need]
        if vals != sorted(vals) or len(set(vals)) != len(vals):
            raise ValueError("cutoffs must increase from B to D")
        if sorted(self.target_shares) != ["A", "B", "C", "D"] or abs(sum(self.target_shares.values()) - 1) > 1e-6:
            raise ValueError("target_shares must give A, B, C and D, adding up to 1")
        for o in self.overrides:
            for g in (o.at_least, o.grade):
                if g is not None and g not in GRADES["five"]:
                    raise ValueError(f"override {o.code}: unknown grade {g}")
        return self

    @property
    def grades(self) -> list[str]:
        return GRADES[self.mode]


class Label(BaseModel):
    """A label (标注), described like the catalog's indicators: names, what it marks, its basis and the
    checks its condition passes (:mod:`riskgrade.indicators.checks`)."""

    code: str
    name_zh: str
    when: str
    name_en: str = ""
    description: str = ""
    basis: str = ""
    checks: list[Check] = Field(default_factory=list)


class LabelConfig(BaseModel):
    version: str
    four_new_industries: list[str] = Field(default_factory=list)
    labels: list[Label]


def load_grading(path: Path | None = None, mode: str | None = None) -> GradingConfig:
    cfg = config.load(GradingConfig, path, "grading.yaml")
    if mode:
        cfg = cfg.model_copy(update={"mode": mode})
    return cfg


def load_labels(path: Path | None = None) -> LabelConfig:
    return config.load(LabelConfig, path, "labels.yaml")


def cutoffs_from_shares(scores, shares: dict[str, float]) -> dict[str, float]:
    """Cut-offs (lower bounds of B, C, D) that give these shares of a population's scores."""
    import numpy as np

    cum = np.cumsum([shares["A"], shares["B"], shares["C"]])
    q = np.quantile(np.asarray(scores, dtype=float), cum)
    q = np.maximum.accumulate(q + np.arange(3) * 1e-6)  # strictly increasing
    return {"B": round(float(q[0]), 2), "C": round(float(q[1]), 2), "D": round(float(q[2]), 2)}


def grade_sql(cfg: GradingConfig, score: str = "score") -> tuple[str, str]:
    """(grade expression, rule expression) over the indicator table with a ``score`` column.

    Order: the score's grade; raised to each applicable override's floor; in five-grade mode an
    override with a fixed grade (E for revoked) wins; high-attention industries get a floor.
    The rule names what decided the grade: ``score``, an override code, or ``industry_floor``.
    """
    grades = cfg.grades
    rank = {g: i for i, g in enumerate(grades)}
    by_score = ("CASE " + " ".join(f"WHEN {score} >= {cfg.cutoffs[g]!r} THEN {rank[g]}" for g in reversed(grades[1:4]))
                + " ELSE 0 END")
    steps: list[tuple[str, str, int, str]] = []  # (condition, "fixed" | "floor", rank, rule)
    for o in cfg.overrides:
        if o.grade is not None:
            if o.grade in rank:  # E exists only in five-grade mode
                steps.append((o.when, "fixed", rank[o.grade], o.code))
        elif o.at_least is not None and o.at_least in rank:
            steps.append((o.when, "floor", rank[o.at_least], o.code))
    floor = cfg.high_attention_industries
    if floor.prefixes and floor.at_least in rank:
        cond = " OR ".join(f"starts_with(coalesce(industry_code, ''), '{p}')" for p in floor.prefixes)
        steps.append((cond, "floor", rank[floor.at_least], "industry_floor"))
    # fixed grades (E) win over everything; floors raise in turn
    steps.sort(key=lambda s: s[1] == "fixed")
    r, rule = by_score, "'score'"
    for cond, kind, k, code in steps:
        new = str(k) if kind == "fixed" else f"greatest({r}, {k})"
        rule = f"CASE WHEN coalesce({cond}, false) AND ({new}) <> ({r}) THEN '{code}' ELSE {rule} END"
        r = f"CASE WHEN coalesce({cond}, false) THEN {new} ELSE {r} END"
    letters = "[" + ", ".join(f"'{g}'" for g in grades) + "]"
    return f"{letters}[({r}) + 1]", rule


def label_condition(cfg: LabelConfig, lab: Label) -> str:
    """A label's condition as SQL over the indicator table (``{four_new}`` filled in)."""
    when = lab.when
    if "{four_new}" in when:
        prefixes = cfg.four_new_industries
        cond = " OR ".join(f"starts_with(coalesce(industry_code, ''), '{p}')" for p in prefixes) or "false"
        when = when.replace("{four_new}", f"({cond})")
    return when


def labels_sql(cfg: LabelConfig) -> str:
    """A ';'-joined string of the label codes that apply (catalog order)."""
    parts = []
    for lab in cfg.labels:
        when = label_condition(cfg, lab)
        if "{section}" in lab.code:
            parts.append(f"CASE WHEN coalesce({when}, false) THEN 'industry_' || industry_section END")
        else:
            parts.append(f"CASE WHEN coalesce({when}, false) THEN '{lab.code}' END")
    return "concat_ws(';', " + ", ".join(parts) + ")"
