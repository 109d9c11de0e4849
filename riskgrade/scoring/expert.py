"""The expert scorecard (专家评分卡): risk points per indicator band, from configuration.

It follows scikit-learn's conventions: parameters in ``__init__``, ``fit`` returns ``self`` (an
expert scorecard learns nothing, it only checks the configuration against the catalog), fitted
state ends in ``_``.  It scores in the engine (``score_sql``) or on arrays (``predict``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from .. import config
from ..errors import RiskgradeError

MAX_SCORE = 1000


class Band(BaseModel):
    min: float
    points: float


class ScorecardConfig(BaseModel):
    version: str
    base: float = 0
    points: dict[str, list[Band]] = Field(default_factory=dict)


def load_scorecard(path: Path | None = None) -> ScorecardConfig:
    return config.load(ScorecardConfig, path, "scorecard.yaml")


class ExpertScorecard:
    """Score = base + sum of band points, clipped to 0..1000 (higher = riskier)."""

    name = "expert"

    def __init__(self, config: ScorecardConfig | None = None):
        self.config = config

    def fit(self, indicator_codes: list[str], y: object = None, directions: dict[str, str] | None = None) -> ExpertScorecard:
        """Check the configuration against the catalog: every indicator known and enabled, and, with
        ``directions`` (indicator -> up / down / either), points that follow each indicator's risk
        direction (up: no negative points, never fewer for a higher band; down: the mirror)."""
        cfg = self.config or load_scorecard()
        unknown = sorted(set(cfg.points) - set(indicator_codes))
        if unknown:
            raise RiskgradeError(f"scorecard {cfg.version}: points for unknown or disabled indicators: {', '.join(unknown)}")
        for code, bands in cfg.points.items():
            d = (directions or {}).get(code) or "either"
            pts = [b.points for b in sorted(bands, key=lambda x: x.min)]
            if d == "up" and (min(pts) < 0 or any(b < a for a, b in zip(pts, pts[1:]))):
                raise RiskgradeError(f"scorecard {cfg.version}: {code} raises the risk (direction up) but its points "
                                     f"{pts} are negative or fall for a higher band")
            if d == "down" and (max(pts) > 0 or any(b > a for a, b in zip(pts, pts[1:]))):
                raise RiskgradeError(f"scorecard {cfg.version}: {code} lowers the risk (direction down) but its points "
                                     f"{pts} are positive or rise for a higher band")
        self.config_ = cfg
        self.bands_ = {code: sorted(b, key=lambda x: x.min) for code, b in cfg.points.items()}
        self.version_ = cfg.version
        return self

    # ------------------------------------------------------------------ in the engine
    def points_sql(self, code: str) -> str:
        bands = self.bands_[code]
        whens = " ".join(f"WHEN {code} >= {b.min!r} THEN {b.points!r}" for b in reversed(bands))
        return f"(CASE {whens} ELSE 0 END)"

    def score_sql(self) -> tuple[str, str]:
        """(score expression, contributions expression): every indicator with non-zero points (a value
        in one of its bands; the reference is no band, 0 points) as a list of structs {points, code},
        most points first: positive ones are reasons, negative ones lowered the risk.  The score is
        exactly clip(base + their points, 0, 1000)."""
        total = " + ".join([repr(float(self.config_.base))] + [self.points_sql(c) for c in self.bands_])
        score = f"least({MAX_SCORE}.0, greatest(0.0, {total}))"
        items = ", ".join(f"{{'points': CAST({self.points_sql(c)} AS DOUBLE), 'code': '{c}'}}" for c in self.bands_)
        reasons = f"list_filter(list_reverse_sort([{items}]), x -> x.points <> 0)"
        return score, reasons

    @property
    def base_(self) -> float:
        return float(self.config_.base)

    # ------------------------------------------------------------------ on arrays
    def predict(self, X: dict[str, np.ndarray]) -> np.ndarray:
        """Scores for columns of indicator values (missing columns or NaN score 0 points)."""
        n = len(next(iter(X.values()))) if X else 0
        total = np.full(n, float(self.config_.base))
        for code, bands in self.bands_.items():
            x = np.asarray(X.get(code, np.full(n, np.nan)), dtype=float)
            pts = np.zeros(n)
            for b in bands:  # ascending: the highest band met wins
                pts = np.where(np.nan_to_num(x, nan=-np.inf) >= b.min, b.points, pts)
            total += pts
        return np.clip(total, 0, MAX_SCORE)
