"""The challenger model (LightGBM), compared out of time with the champion scorecard.

It never grades anyone by itself: each training records its out-of-time AUC and KS beside the
scorecard's so the regulator sees how much a less transparent model would gain.  Per-entity
contributions come from LightGBM's ``pred_contrib`` (SHAP values) without another package.
Deterministic: one thread, fixed seed.
"""

from __future__ import annotations

import numpy as np


class ChallengerModel:
    name = "challenger"

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.05, num_leaves: int = 31,
                 min_child_samples: int = 50, seed: int = 0):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed

    def _frame(self, X):
        X = X.copy()
        for c in X.columns:
            if X[c].dtype == object or str(X[c].dtype) in ("string", "str"):
                X[c] = X[c].astype("category")
        return X

    def fit(self, X, y, sample_weight=None) -> ChallengerModel:
        import lightgbm as lgb

        self.model_ = lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples, random_state=self.seed, n_jobs=1, deterministic=True,
            force_col_wise=True, verbose=-1,
        )
        self.model_.fit(self._frame(X), np.asarray(y).astype(int), sample_weight=sample_weight)
        self.features_ = list(X.columns)
        self.categorical_ = [c for c in X.columns if X[c].dtype == object or str(X[c].dtype) in ("string", "str")]
        return self

    def predict_risk(self, X) -> np.ndarray:
        """The probability of a bad outcome of each row."""
        # prediction gives the same numbers on any number of threads (training is kept to one)
        return self.model_.predict_proba(self._frame(X), num_threads=0)[:, 1]

    def predict_proba(self, X) -> np.ndarray:
        """scikit-learn's shape: the columns P(good) and P(bad)."""
        p = self.predict_risk(X)
        return np.column_stack([1.0 - p, p])

    def contributions(self, X) -> dict[str, np.ndarray]:
        """Per feature, its contribution to the log-odds of a bad outcome (the last column is the bias)."""
        c = self.model_.predict_proba(self._frame(X), pred_contrib=True)
        return {name: c[:, i] for i, name in enumerate(self.features_)}
