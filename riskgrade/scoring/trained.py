"""The trained scorecard: optimal monotonic binning, WoE, logistic regression, PDO scaling to 0-1000.

Built on optbinning (``BinningProcess`` + ``Scorecard``) with scikit-learn's conventions:
parameters in ``__init__``, learned state with a trailing underscore, ``fit`` returns ``self``.
The score is a *risk* score (higher = riskier): 500 points at odds of 1 bad to 19 good, +50 points
each time the odds of bad double, clipped to 0..1000.  Missing values are a bin of their own in
fit, score and the points table alike (optbinning's missing bin).
"""

from __future__ import annotations

import logging

import numpy as np



class _QuietOptionalSolvers(logging.Filter):
    """optbinning imports cvxpy, which logs a message for every optional solver it cannot load."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "importing solver" not in record.getMessage()


logging.getLogger("__cvxpy__").addFilter(_QuietOptionalSolvers())

MAX_SCORE = 1000.0


class TrainedScorecard:
    name = "trained"

    def __init__(self, pdo: float = 50.0, base_score: float = 500.0, base_odds: float = 1 / 19,
                 max_n_bins: int = 6, min_bin_size: float = 0.05, categorical: list[str] | None = None,
                 C: float = 1.0, selection_iv: float = 0.02):
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.categorical = categorical
        self.C = C
        self.selection_iv = selection_iv

    def fit(self, X, y, sample_weight=None) -> TrainedScorecard:
        """X: a pandas DataFrame of indicators; y: 1 = bad outcome; sample_weight: e.g. inverse inclusion
        probabilities of inspected entities (Horvitz-Thompson)."""
        from optbinning import BinningProcess, Scorecard
        from sklearn.linear_model import LogisticRegression

        names = list(X.columns)
        cats = [c for c in (self.categorical or []) if c in names] or [
            c for c in names if X[c].dtype == object or str(X[c].dtype) in ("string", "str", "category")]
        self.binning_ = BinningProcess(
            names, categorical_variables=cats or None, max_n_bins=self.max_n_bins, min_bin_size=self.min_bin_size,
            selection_criteria={"iv": {"min": self.selection_iv}} if self.selection_iv else None,
        )
        # odds of bad double every pdo points: score = offset + factor * ln(odds_bad)
        self.factor_ = self.pdo / np.log(2)
        self.offset_ = self.base_score - self.factor_ * np.log(self.base_odds)
        self.scorecard_ = Scorecard(
            binning_process=self.binning_,
            estimator=LogisticRegression(C=self.C, max_iter=1000, solver="lbfgs"),
            scaling_method=None,
        )
        y = np.asarray(y).astype(int)
        self.scorecard_.fit(X, y, sample_weight=sample_weight)
        self.binning_ = self.scorecard_.binning_process_  # the fitted copy
        self.features_ = names
        self.selected_ = list(self.binning_.get_support(names=True))
        self.base_rate_ = float(np.average(y, weights=sample_weight))
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probability of a bad outcome."""
        return self.scorecard_.predict_proba(X)[:, 1]

    def predict_score(self, X) -> np.ndarray:
        """Risk score 0..1000 (higher = riskier)."""
        return self.score_from_proba(self.predict_proba(X))

    def score_from_proba(self, p: np.ndarray) -> np.ndarray:
        """The PDO-scaled risk score of probabilities of a bad outcome."""
        p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
        return np.clip(self.offset_ + self.factor_ * np.log(p / (1 - p)), 0, MAX_SCORE)

    def contributions(self, X) -> dict[str, np.ndarray]:
        """Per selected indicator, its points in the risk score: factor x coefficient x WoE-term, so that
        the points of all indicators plus the intercept's add up to the score before clipping.  Larger
        = pushes the entity towards risk."""
        est = self.scorecard_.estimator_
        Xw = self.binning_.transform(X, metric="woe")
        coef = est.coef_[0]
        return {name: self.factor_ * coef[i] * Xw[name].to_numpy(dtype=float) for i, name in enumerate(Xw.columns)}

    def reasons(self, X, top: int = 5) -> list[list[tuple[str, float]]]:
        """For each row, the indicators that add the most risk points above the population average."""
        contrib = self.contributions(X)
        names = list(contrib)
        m = np.column_stack([contrib[n] for n in names]) if names else np.zeros((len(X), 0))
        m = m - np.average(m, axis=0)  # relative to the average entity
        order = np.argsort(-m, axis=1)[:, :top]
        out = []
        for i, idx in enumerate(order):
            out.append([(names[j], round(float(m[i, j]), 1)) for j in idx if m[i, j] > 0])
        return out

    def table(self):
        """Bins and their WoE per selected indicator (optbinning's scorecard table)."""
        return self.scorecard_.table(style="detailed")
