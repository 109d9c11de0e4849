"""The expert scorecard (专家评分卡): risk points per indicator band, from configuration.

A scikit-learn estimator with the trained scorecard's output protocol (:mod:`.base`): the parsed
configuration is a parameter (``ExpertScorecard(config=...)``; :meth:`ExpertScorecard.from_yaml`
and :func:`load_scorecard` read the YAML, never ``fit``), ``fit`` learns nothing but checks the
configuration against the indicators at hand and their risk directions and returns ``self``, fitted
state ends in ``_``, and every use checks that the scorecard is fitted.  It scores in the engine
(:meth:`~ExpertScorecard.score_sql`) or on arrays (:meth:`~ExpertScorecard.predict_score`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .. import config as configuration
from ..errors import RiskgradeError
from .base import ScoreSQL
from .trained import sql_number

MAX_SCORE = 1000


class Band(BaseModel):
    min: float
    points: float


class ScorecardConfig(BaseModel):
    version: str
    base: float = 0
    points: dict[str, list[Band]] = Field(default_factory=dict)

    def __repr__(self) -> str:  # short, for the estimator's repr
        return f"ScorecardConfig(version={self.version!r}, base={self.base!r}, points=<{len(self.points)} indicators>)"


def load_scorecard(path: Path | None = None) -> ScorecardConfig:
    """The built-in ``scorecard.yaml`` or a province's own, validated (a one-line error naming the field)."""
    return configuration.load(ScorecardConfig, path, "scorecard.yaml")


def _columns(X) -> tuple[int, Mapping]:
    """(rows, code -> values) of a pandas DataFrame or a mapping of arrays."""
    if hasattr(X, "columns"):
        return len(X), {c: X[c] for c in X.columns}
    if isinstance(X, Mapping):
        return (len(next(iter(X.values()))) if X else 0), X
    raise TypeError("X: a pandas DataFrame of indicators, or a mapping of indicator code -> values")


class ExpertScorecard(BaseEstimator):
    """Score = base + sum of band points, clipped to 0..1000 (higher = riskier).

    ``config``: the parsed scorecard (a :class:`ScorecardConfig`, or its mapping as read from YAML);
    ``directions``: indicator -> "up" | "down" | "either" (the catalog's risk directions; missing:
    either), which the points must follow; ``calibration``: [a, b] of a Platt scaling of the score to
    the probability of a bad outcome, 1 / (1 + exp(-(a * score / 1000 + b))), learned elsewhere
    (``riskgrade.scoring.train.calibrate``); without it the scorecard states points, not odds, and
    its probability is missing (NaN, NULL in the engine).
    """

    name = "expert"

    def __init__(self, config: ScorecardConfig | Mapping | None = None, directions: Mapping[str, str] | None = None,
                 calibration: list[float] | None = None):
        self.config = config
        self.directions = directions
        self.calibration = calibration

    @classmethod
    def from_yaml(cls, path: Path | None = None, **params) -> ExpertScorecard:
        """An unfitted scorecard configured from ``path`` (default: the built-in ``scorecard.yaml``)."""
        return cls(config=load_scorecard(path), **params)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y: object = None, directions: Mapping[str, str] | None = None) -> ExpertScorecard:
        """Check the configuration against the indicators it may use and their risk directions.

        ``X``: the indicators at hand: a DataFrame of indicator values (its columns) or the indicator
        codes themselves (the catalog's enabled ones); ``y`` is ignored (an expert scorecard learns
        nothing).  Every indicator with points must be at hand; with a direction, its points must follow
        it (up: no negative points, never fewer for a higher band; down: the mirror).  ``directions``
        here is kept for callers of the earlier signature; it overrides the parameter of that name."""
        if self.config is None:
            raise ValueError("ExpertScorecard needs its configuration: ExpertScorecard(config=load_scorecard(path)) "
                             "or ExpertScorecard.from_yaml(path)")
        cfg = (self.config if isinstance(self.config, ScorecardConfig)
               else configuration.validate(ScorecardConfig, dict(self.config), "scorecard"))
        if self.calibration is not None and len(self.calibration) != 2:
            raise ValueError("calibration: [a, b] of 1 / (1 + exp(-(a * score / 1000 + b)))")
        codes = [str(c) for c in (X.columns if hasattr(X, "columns") else X)]
        unknown = sorted(set(cfg.points) - set(codes))
        if unknown:
            raise RiskgradeError(f"scorecard {cfg.version}: points for unknown or disabled indicators: {', '.join(unknown)}")
        dirs = dict(directions if directions is not None else (self.directions or {}))
        for code, bands in cfg.points.items():
            d = dirs.get(code) or "either"
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
        self.base_ = float(cfg.base)
        self.selected_ = list(self.bands_)
        self.n_features_in_ = len(codes)
        self.classes_ = np.array([0, 1])  # scikit-learn: the columns of predict_proba
        return self

    # ------------------------------------------------------------------ in the engine
    def points_sql(self, code: str) -> str:
        check_is_fitted(self, "bands_")
        bands = self.bands_[code]
        whens = " ".join(f"WHEN {code} >= {b.min!r} THEN {b.points!r}" for b in reversed(bands))
        return f"(CASE {whens} ELSE 0 END)"

    def score_sql(self) -> ScoreSQL:
        """The scorecard as SQL over the indicator columns (:class:`~.base.ScoreSQL`): ``reasons`` holds
        every indicator with non-zero points (a value in one of its bands; the reference is no band, 0
        points) as a struct {points, code}, most points first: positive ones are reasons, negative ones
        lowered the risk.  ``score`` is exactly clip(base + their points, 0, 1000)."""
        check_is_fitted(self, "bands_")
        raw = " + ".join([repr(float(self.config_.base))] + [self.points_sql(c) for c in self.bands_])
        # exact in DECIMAL (the configuration's points), given as a DOUBLE like every model's score
        score = f"CAST(least({MAX_SCORE}.0, greatest(0.0, {raw})) AS DOUBLE)"
        items = ", ".join(f"{{'points': CAST({self.points_sql(c)} AS DOUBLE), 'code': '{c}'}}" for c in self.bands_)
        reasons = f"list_filter(list_reverse_sort([{items}]), x -> x.points <> 0)"
        c = self.calibration
        proba = (f"1.0 / (1.0 + exp(-({sql_number(c[0])} * ({score}) / 1000.0 + {sql_number(c[1])})))" if c
                 else "CAST(NULL AS DOUBLE)")
        return {"score": score, "probability": proba, "reasons": reasons, "raw": f"CAST({raw} AS DOUBLE)",
                "base": sql_number(self.base_)}

    # ------------------------------------------------------------------ on arrays
    def contributions(self, X) -> dict[str, np.ndarray]:
        """Points of each indicator with a band (a missing column or value scores 0 points)."""
        check_is_fitted(self, "bands_")
        n, cols = _columns(X)
        out = {}
        for code, bands in self.bands_.items():
            x = np.asarray(cols[code] if code in cols else np.full(n, np.nan), dtype=float)
            pts = np.zeros(n)
            for b in bands:  # ascending: the highest band met wins
                pts = np.where(np.nan_to_num(x, nan=-np.inf) >= b.min, b.points, pts)
            out[code] = pts
        return out

    def predict_score(self, X) -> np.ndarray:
        """Scores 0..1000 of rows of indicator values (a DataFrame or a mapping of code -> array)."""
        check_is_fitted(self, "bands_")
        n, _ = _columns(X)
        total = np.full(n, self.base_)
        for pts in self.contributions(X).values():
            total += pts
        return np.clip(total, 0, MAX_SCORE)

    predict = predict_score  # the earlier name

    def predict_risk(self, X) -> np.ndarray:
        """The probability of a bad outcome of each row by the calibration (NaN without one)."""
        s = self.predict_score(X)
        c = self.calibration
        if not c:
            return np.full(len(s), np.nan)
        return 1.0 / (1.0 + np.exp(-(c[0] * s / 1000.0 + c[1])))

    def predict_proba(self, X) -> np.ndarray:
        """scikit-learn's shape: one row per entity, the columns P(good) and P(bad) (``classes_`` 0, 1)."""
        p = self.predict_risk(X)
        return np.column_stack([1.0 - p, p])


def expert_for(catalog, path: Path | None = None) -> ExpertScorecard:
    """The fitted expert scorecard of a catalog: the configured points (``path`` or the built-in
    ``scorecard.yaml``) without those of domain indicators fused by result, checked against the
    catalog's enabled indicators and their risk directions."""
    from .fusion import general_scorecard

    directions = {i.code: i.risk_direction for i in catalog.enabled}
    return ExpertScorecard(general_scorecard(load_scorecard(path), catalog), directions=directions).fit(
        [i.code for i in catalog.enabled])
