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


def sql_number(x) -> str:
    """A number as a SQL literal: integers as they are, anything else as a DOUBLE (an exponent makes
    DuckDB and Spark read it as one, not as a DECIMAL)."""
    if isinstance(x, int):
        return str(x)
    r = repr(float(x))
    return r if "e" in r else r + "e0"


class TrainedScorecard:
    name = "trained"

    def __init__(self, pdo: float = 50.0, base_score: float = 500.0, base_odds: float = 1 / 19,
                 max_n_bins: int = 6, min_bin_size: float = 0.05, categorical: list[str] | None = None,
                 C: float = 1.0, selection_iv: float = 0.02, min_prebin_size: float = 0.05):
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.categorical = categorical
        self.C = C
        self.selection_iv = selection_iv
        self.min_prebin_size = min_prebin_size

    def fit(self, X, y, sample_weight=None) -> TrainedScorecard:
        """X: a pandas DataFrame of indicators; y: 1 = bad outcome; sample_weight: e.g. inverse inclusion
        probabilities of inspected entities (Horvitz-Thompson)."""
        from optbinning import BinningProcess, Scorecard
        from sklearn.linear_model import LogisticRegression

        # a column without a single value has nothing to learn from (and would stop the binning)
        names = [c for c in X.columns if X[c].notna().any()]
        cats = [c for c in (self.categorical or []) if c in names] or [
            c for c in names if X[c].dtype == object or str(X[c].dtype) in ("string", "str", "category")]
        self.binning_ = BinningProcess(
            names, categorical_variables=cats or None, max_n_bins=self.max_n_bins, min_bin_size=self.min_bin_size,
            min_prebin_size=self.min_prebin_size,
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
        # reasons are points above the average training entity's (a fixed reference, the same in every engine)
        contrib = self.contributions(X)
        self.contrib_mean_ = {k: float(np.mean(v)) for k, v in contrib.items()}
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
        """For each row, the indicators that add the most risk points above the average training entity."""
        contrib = self.contributions(X)
        names = list(contrib)
        m = np.column_stack([contrib[n] for n in names]) if names else np.zeros((len(X), 0))
        ref = getattr(self, "contrib_mean_", None)
        m = m - (np.array([ref[n] for n in names]) if ref else np.average(m, axis=0))
        m = np.round(m, 1)
        order = np.argsort(-m, axis=1, kind="stable")[:, :top]
        out = []
        for i, idx in enumerate(order):
            out.append([(names[j], float(m[i, j])) for j in idx if m[i, j] > 0])
        return out

    # ------------------------------------------------------------------ in the engine
    def bins_(self, name: str) -> dict:
        """One selected indicator's bins as data: ``{"kind": "numerical", "splits": [...]}`` (bin i holds
        ``splits[i-1] <= x < splits[i]``) or ``{"kind": "categorical", "categories": [[...], ...]}``, with
        ``woe`` per bin and ``woe_missing``, read back through optbinning's own transform so that the SQL
        below computes what ``predict_proba`` computes."""
        import pandas as pd

        var = self.binning_.get_binned_variable(name)
        base = {c: np.nan for c in self.features_}
        if var.dtype == "categorical":
            cats = [[c for c in group] for group in var.splits]
            probes = [g[0] for g in cats] + ["\x00 a category not seen in training", None]
            kind = {"kind": "categorical", "categories": [[str(c) for c in g] for g in cats]}
        else:
            splits = [float(x) for x in var.splits]
            probes = ([splits[0] - 1.0] + splits) if splits else [0.0]
            probes = probes + [np.nan]
            kind = {"kind": "numerical", "splits": splits}
        frame = pd.DataFrame([{**base, name: v} for v in probes])
        if var.dtype == "categorical":
            frame[name] = frame[name].astype(object)
        woe = self.binning_.transform(frame, metric="woe")[name].to_numpy(dtype=float)
        if var.dtype == "categorical":
            kind["woe_unknown"] = float(woe[-2])
            woe = np.delete(woe, -2)
        return {**kind, "woe": [float(w) for w in woe[:-1]], "woe_missing": float(woe[-1])}

    @staticmethod
    def _case(col: str, bins: dict, values: list, missing, unknown=None) -> str:
        """CASE over an indicator column giving ``values[i]`` for bin i, ``missing`` for NULL and
        ``unknown`` for a category no bin holds."""
        whens = [f"WHEN {col} IS NULL THEN {sql_number(missing)}"]
        if bins["kind"] == "categorical":
            for group, v in zip(bins["categories"], values):
                items = ", ".join("'" + c.replace("'", "''") + "'" for c in group)
                whens.append(f"WHEN CAST({col} AS VARCHAR) IN ({items}) THEN {sql_number(v)}")
            return f"(CASE {' '.join(whens)} ELSE {sql_number(unknown)} END)"
        splits = bins["splits"]
        for sp, v in zip(splits, values):
            whens.append(f"WHEN {col} < {sql_number(sp)} THEN {sql_number(v)}")
        return f"(CASE {' '.join(whens)} ELSE {sql_number(values[len(splits)])} END)"

    def score_sql(self, top: int = 10) -> dict[str, str]:
        """The scorecard as SQL over the indicator columns (any engine): ``score`` (0..1000),
        ``probability`` and ``reasons`` (a list of structs {points, code}, most points first, at most
        ``top``, points above the average training entity's).  Equal to :meth:`predict_score`,
        :meth:`predict_proba` and :meth:`reasons` (tested)."""
        est = self.scorecard_.estimator_
        names = list(self.selected_)
        coef = est.coef_[0]
        ref = getattr(self, "contrib_mean_", None) or {}
        terms, items = [], []
        for j, name in enumerate(names):
            b = self.bins_(name)
            pts = [self.factor_ * coef[j] * w for w in b["woe"]]
            pts_missing = self.factor_ * coef[j] * b["woe_missing"]
            pts_unknown = self.factor_ * coef[j] * b.get("woe_unknown", 0.0)
            col = '"' + name.replace('"', '""') + '"'
            terms.append(self._case(col, b, pts, pts_missing, pts_unknown))
            mean = ref.get(name, 0.0)
            rel = [round(p - mean, 1) for p in pts]
            items.append(f"{{'points': {self._case(col, b, rel, round(pts_missing - mean, 1), round(pts_unknown - mean, 1))}, "
                         f"'code': '{name}'}}")
        eta = f"({sql_number(est.intercept_[0] * self.factor_)} + {' + '.join(terms) if terms else '0.0'}) / {sql_number(self.factor_)}"
        eta = f"least(20.72326583694641, greatest(-20.72326583694641, {eta}))"  # p clipped to [1e-9, 1 - 1e-9]
        score = f"least({MAX_SCORE}, greatest(0.0, {sql_number(self.offset_)} + {sql_number(self.factor_)} * {eta}))"
        reasons = (f"list_filter(list_reverse_sort([{', '.join(items)}]), x -> x.points > 0)[1:{int(top)}]"
                   if items else "[]")
        return {"score": score, "probability": f"1.0 / (1.0 + exp(-{eta}))", "reasons": reasons}

    def bin_index_sql(self, name: str) -> str:
        """The bin index of a selected indicator (optbinning's ``metric="indices"``: bins, then special,
        then missing), for per-indicator stability in the engine."""
        b = self.bins_(name)
        n = len(b["woe"])
        return self._case('"' + name.replace('"', '""') + '"', b, list(range(n)), n + 1, -1)

    def table(self):
        """Bins and their WoE per selected indicator (optbinning's scorecard table)."""
        return self.scorecard_.table(style="detailed")
