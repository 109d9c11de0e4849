"""The trained scorecard: monotonic binning in each indicator's declared risk direction, WoE, a
sign-constrained logistic regression, PDO scaling to 0-1000, and reasons measured from references.

Built on optbinning (``BinningProcess``) and scikit-learn (``LogisticRegression``), with
scikit-learn's conventions: parameters in ``__init__``, learned state with a trailing underscore,
``fit`` returns ``self``, ``check_is_fitted`` before use; and the output protocol it shares with the
expert scorecard (:mod:`.base`: ``predict_score``, ``predict_risk``, ``predict_proba``, ``score_sql``).

*Directions.*  Every indicator declares whether a higher value raises the risk (``up``), lowers it
(``down``) or has no legal direction (``either``; indicator catalog).  Binning keeps the bad rate
monotonic in that direction (optbinning's ``monotonic_trend``), and the regression may only give an
indicator points that follow its bins' bad rates (a negative coefficient on the WoE): an indicator
whose coefficient comes out the other way (it only corrects another, correlated indicator) is left
out and the model fitted again, until every indicator agrees.  :attr:`direction_check_` records,
for every indicator, what happened; no bin of a fitted scorecard gives points against the declared
direction (tested).

*Score.*  A *risk* score (higher = riskier): 500 points at odds of 1 bad to 19 good, +50 points each
time the odds of bad double, clipped to 0..1000.  A missing value counts as the indicator's reference
in fit, score and the points table alike: the absence of data is never a reason.

*Reasons that add up.*  Each indicator has a reference value (catalog ``reference``: the absence of
the condition, 0, for up and down indicators; the training median, or the most frequent category,
for either).  The *base* is the score of an entity at every reference; an indicator's
*contribution* is its points minus the points of its reference's bin, rounded to 0.01.  The score
is exactly ``clip(base + sum of contributions, 0, 1000)``; a positive contribution (a reason) comes
only from a value beyond the reference in the risky direction (or a missing value whose bin is
riskier than the reference's), a negative one is a factor that lowered the risk.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..sql import literals
from .base import ScoreSQL


class _QuietOptionalSolvers(logging.Filter):
    """optbinning imports cvxpy, which logs a message for every optional solver it cannot load."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "importing solver" not in record.getMessage()


logging.getLogger("__cvxpy__").addFilter(_QuietOptionalSolvers())

MAX_SCORE = 1000.0
TRENDS = {"up": "ascending", "down": "descending"}


def sql_number(x) -> str:
    """A number as a SQL literal: integers as they are, anything else as a DOUBLE (an exponent makes
    DuckDB and Spark read it as one, not as a DECIMAL)."""
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    r = repr(float(x))
    return r if "e" in r else r + "e0"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class TrainedScorecard(BaseEstimator):
    """A scorecard learned from outcomes, kept to the indicators' declared risk directions.

    ``directions``: indicator -> "up" | "down" | "either" (missing: either); ``references``:
    indicator -> the value reasons are measured from; ``forced``: indicators kept in whatever their
    information value (a professional domain fused by indicator), still direction-constrained.
    """

    name = "trained"

    def __init__(self, pdo: float = 50.0, base_score: float = 500.0, base_odds: float = 1 / 19,
                 max_n_bins: int = 6, min_bin_size: float = 0.05, categorical: list[str] | None = None,
                 C: float = 1.0, selection_iv: float = 0.02, min_prebin_size: float = 0.05,
                 directions: dict[str, str] | None = None, references: dict[str, float] | None = None,
                 forced: list[str] | None = None):
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.categorical = categorical
        self.C = C
        self.selection_iv = selection_iv
        self.min_prebin_size = min_prebin_size
        self.directions = directions
        self.references = references
        self.forced = forced

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None) -> TrainedScorecard:
        """X: a pandas DataFrame of indicators; y: 1 = bad outcome; sample_weight: what each training
        entity stands for (inverse inclusion or propensity weights, see :mod:`.train`)."""
        from optbinning import BinningProcess
        from sklearn.linear_model import LogisticRegression

        if self.pdo <= 0 or not 0 < self.base_odds:
            raise ValueError("pdo and base_odds must be positive")
        self.__dict__.pop("_bins_cache", None)
        y = np.asarray(y).astype(int)
        if len(np.unique(y)) < 2:
            raise ValueError("the outcome needs both classes to learn from")
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        directions = dict(self.directions or {})
        # a column without a single value has nothing to learn from (and would stop the binning)
        names = [c for c in X.columns if X[c].notna().any()]
        cats = [c for c in (self.categorical or []) if c in names] or [
            c for c in names if X[c].dtype == object or str(X[c].dtype) in ("string", "str", "category")]
        trends = {c: {"monotonic_trend": TRENDS[directions[c]]} for c in names
                  if c not in cats and directions.get(c) in TRENDS}
        forced = [c for c in (self.forced or []) if c in names]
        self.categorical_ = cats
        # references: where reasons are measured from; a missing value counts as the reference (no data is
        # never a reason)
        self.references_ = {}
        for c in names:
            ref = (self.references or {}).get(c)
            if ref is None:
                if c in cats:
                    ref = X[c].mode(dropna=True).iloc[0]
                elif directions.get(c) in TRENDS:
                    ref = 0.0
                else:
                    ref = float(np.nanmedian(X[c].to_numpy(dtype=float)))
            self.references_[c] = ref if c in cats else float(ref)
        self.features_ = names
        X = self._filled(X)
        self.binning_ = BinningProcess(
            names, categorical_variables=cats or None, max_n_bins=self.max_n_bins, min_bin_size=self.min_bin_size,
            min_prebin_size=self.min_prebin_size, binning_fit_params=trends or None, fixed_variables=forced or None,
            selection_criteria={"iv": {"min": self.selection_iv}} if self.selection_iv else None,
        ).fit(X[names], y, sample_weight=w)
        # odds of bad double every pdo points: score = offset + factor * ln(odds_bad)
        self.factor_ = self.pdo / np.log(2)
        self.offset_ = self.base_score - self.factor_ * np.log(self.base_odds)
        woe = self.binning_.transform(X, metric="woe", metric_missing="empirical", metric_special="empirical")
        support = list(self.binning_.get_support(names=True))
        left_out: dict[str, str] = {c: "information value below the selection threshold" for c in names
                                    if c not in support}
        kept = [c for c in support if float(np.nanstd(woe[c].to_numpy(dtype=float))) > 0]
        for c in support:
            if c not in kept:
                left_out[c] = "one bin only: the data do not support its declared direction"
        # sign-constrained regression: points must follow each indicator's own bins (coefficient < 0 on
        # the WoE); the worst offender is left out and the model fitted again
        while True:
            lr = LogisticRegression(C=self.C, max_iter=2000, solver="lbfgs")
            if kept:
                lr.fit(woe[kept].to_numpy(dtype=float), y, sample_weight=w)
                coef = lr.coef_[0]
            else:
                coef = np.zeros(0)
            wrong = [(float(c), n) for c, n in zip(coef, kept) if c > 1e-9]
            if not wrong:
                break
            _, worst = max(wrong)
            kept.remove(worst)
            left_out[worst] = ("its points would run against its bins' bad rates next to the other indicators "
                               "(a correlated indicator carries its risk)")
        if not kept:
            lr.fit(np.zeros((len(y), 1)), y, sample_weight=w)
            coef = np.zeros(0)
        self.intercept_ = float(lr.intercept_[0])
        self.coef_ = {n: float(c) for n, c in zip(kept, coef)}
        self.selected_ = kept
        self.left_out_ = left_out
        self.base_rate_ = float(np.average(y, weights=w))
        self.ref_points_ = {c: self._points_of(c, [self.references_[c]])[0] for c in kept}
        self.base_ = round(self.offset_ + self.factor_ * self.intercept_ + sum(self.ref_points_.values()), 2)
        self.direction_check_ = self._direction_check(directions, forced)
        bad = [d for d in self.direction_check_ if d["selected"] and not d["ok"]]
        if bad:  # cannot happen with monotonic bins and negative coefficients; a guard, not a fallback
            raise AssertionError(f"points against the declared direction: {bad}")
        self.classes_ = np.array([0, 1])  # scikit-learn: the columns of predict_proba
        return self

    def _filled(self, X):
        """The indicator columns with each missing value replaced by the indicator's reference."""
        X = X[self.features_].copy()
        for c, ref in self.references_.items():
            if X[c].isna().any():
                X[c] = X[c].astype(object).where(X[c].notna(), ref) if c in self.categorical_ else X[c].fillna(ref)
        return X

    def _woe(self, X):
        return self.binning_.transform(self._filled(X), metric="woe", metric_missing="empirical",
                                       metric_special="empirical")

    def _points_of(self, name: str, values: list) -> list[float]:
        """Points (factor x coefficient x WoE) of ``values`` of one selected indicator."""
        import pandas as pd

        frame = pd.DataFrame({c: [np.nan] * len(values) for c in self.features_})
        frame[name] = pd.Series(values, dtype=object if name in self.categorical_ else float)
        woe = self._woe(frame)[name].to_numpy(dtype=float)
        return [float(self.factor_ * self.coef_[name] * v) for v in woe]

    def _direction_check(self, directions: dict[str, str], forced: list[str]) -> list[dict]:
        out = []
        for c in self.features_:
            d = directions.get(c) or "either"
            row = {"indicator": c, "direction": d, "selected": c in self.coef_, "forced": c in forced,
                   "left_out": self.left_out_.get(c), "ok": True, "points": []}
            if c in self.coef_:
                b = self.bins_(c)
                pts = [round(self.factor_ * self.coef_[c] * x, 2) for x in b["woe"]]
                row["points"] = pts
                if b["kind"] == "numerical" and d in TRENDS:
                    steps = np.diff(pts)
                    row["ok"] = bool(np.all(steps >= -1e-6) if d == "up" else np.all(steps <= 1e-6))
            out.append(row)
        return out

    # ------------------------------------------------------------------ predict
    def contributions(self, X) -> dict[str, np.ndarray]:
        """Per selected indicator, its points minus its reference's points, rounded to 0.01
        (positive: raises the risk)."""
        check_is_fitted(self, "coef_")
        woe = self._woe(X[self.features_]) if self.selected_ else None
        return {n: np.round(self.factor_ * self.coef_[n] * woe[n].to_numpy(dtype=float) - self.ref_points_[n], 2) + 0.0
                for n in self.selected_}

    def raw_score(self, X) -> np.ndarray:
        """base + the sum of the contributions (before clipping to 0..1000)."""
        c = self.contributions(X)
        total = np.full(len(X), self.base_)
        for v in c.values():
            total = total + v
        return np.round(total, 2)

    def predict_score(self, X) -> np.ndarray:
        """Risk score 0..1000 (higher = riskier): clip(base + contributions)."""
        return np.clip(self.raw_score(X), 0, MAX_SCORE)

    def predict_risk(self, X) -> np.ndarray:
        """The model's probability of a bad outcome of each row (from the unclipped score)."""
        eta = (self.raw_score(X) - self.offset_) / self.factor_
        return 1.0 / (1.0 + np.exp(-np.clip(eta, -20.72326583694641, 20.72326583694641)))

    def predict_proba(self, X) -> np.ndarray:
        """scikit-learn's shape: one row per entity, the columns P(good) and P(bad) (``classes_`` 0, 1)."""
        p = self.predict_risk(X)
        return np.column_stack([1.0 - p, p])

    def score_from_proba(self, p: np.ndarray) -> np.ndarray:
        """The PDO-scaled risk score of probabilities of a bad outcome."""
        check_is_fitted(self, "coef_")
        p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
        return np.clip(self.offset_ + self.factor_ * np.log(p / (1 - p)), 0, MAX_SCORE)

    def reasons(self, X, top: int = 5) -> list[list[tuple[str, float]]]:
        """For each row, the indicators that add points above their reference, most first."""
        contrib = self.contributions(X)
        names = list(contrib)
        m = np.column_stack([contrib[n] for n in names]) if names else np.zeros((len(X), 0))
        order = np.argsort(-m, axis=1, kind="stable")[:, :top]
        return [[(names[j], float(m[i, j])) for j in idx if m[i, j] > 0] for i, idx in enumerate(order)]

    # ------------------------------------------------------------------ in the engine
    def bins_(self, name: str) -> dict:
        """One selected indicator's bins as data: ``{"kind": "numerical", "splits": [...]}`` (bin i holds
        ``splits[i-1] <= x < splits[i]``) or ``{"kind": "categorical", "categories": [[...], ...]}``, with
        ``woe`` per bin and ``woe_missing``, read back through optbinning's own transform so that the SQL
        below computes what ``predict_score`` computes.  Computed once per indicator and kept."""
        check_is_fitted(self, "coef_")
        cache = self.__dict__.setdefault("_bins_cache", {})
        if name not in cache:
            cache[name] = self._bins(name)
        return cache[name]

    def _bins(self, name: str) -> dict:
        import pandas as pd

        var = self.binning_.get_binned_variable(name)
        base = {c: np.nan for c in self.features_}
        if var.dtype == "categorical":
            cats = [list(group) for group in var.splits]
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
        woe = self._woe(frame)[name].to_numpy(dtype=float)
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
                items = literals(group)
                whens.append(f"WHEN CAST({col} AS VARCHAR) IN ({items}) THEN {sql_number(v)}")
            return f"(CASE {' '.join(whens)} ELSE {sql_number(unknown)} END)"
        splits = bins["splits"]
        for sp, v in zip(splits, values):
            whens.append(f"WHEN {col} < {sql_number(sp)} THEN {sql_number(v)}")
        return f"(CASE {' '.join(whens)} ELSE {sql_number(values[len(splits)])} END)"

    def contribution_sql(self, name: str) -> str:
        """One selected indicator's contribution (points above its reference's, rounded to 0.01)."""
        b = self.bins_(name)
        k, ref = self.factor_ * self.coef_[name], self.ref_points_[name]

        def rel(w: float) -> float:
            return round(k * w - ref, 2) + 0.0

        return self._case(_quote(name), b, [rel(w) for w in b["woe"]], rel(b["woe_missing"]),
                          rel(b.get("woe_unknown", 0.0)))

    def score_sql(self, top: int = 10) -> ScoreSQL:
        """The scorecard as SQL over the indicator columns (any engine): ``raw`` (base + contributions),
        ``score`` (0..1000), ``probability``, ``base`` and ``reasons`` (every non-zero contribution as a
        struct {points, code}, most points first).  Equal to :meth:`raw_score`, :meth:`predict_score`,
        :meth:`predict_risk` and :meth:`contributions` (tested)."""
        check_is_fitted(self, "coef_")
        terms = {name: self.contribution_sql(name) for name in self.selected_}
        raw = f"round({sql_number(self.base_)} + {' + '.join(terms.values()) if terms else '0.0'}, 2)"
        score = f"least({MAX_SCORE}, greatest(0.0, {raw}))"
        eta = f"least(20.72326583694641, greatest(-20.72326583694641, ({raw} - {sql_number(self.offset_)}) / {sql_number(self.factor_)}))"
        items = [f"{{'points': {t}, 'code': '{name}'}}" for name, t in terms.items()]
        reasons = f"list_filter(list_reverse_sort([{', '.join(items)}]), x -> x.points <> 0)" if items else "[]"
        return {"raw": raw, "score": score, "probability": f"1.0 / (1.0 + exp(-{eta}))", "reasons": reasons,
                "base": sql_number(self.base_)}

    def bin_index_sql(self, name: str) -> str:
        """The bin index of a selected indicator (optbinning's ``metric="indices"``: bins, then special,
        then missing), for per-indicator stability in the engine."""
        b = self.bins_(name)
        n = len(b["woe"])
        return self._case(_quote(name), b, list(range(n)), n + 1, -1)

    def table(self):
        """Bins per selected indicator: count, bad rate, WoE, points and contribution above the reference."""
        import pandas as pd

        check_is_fitted(self, "coef_")
        rows = []
        for name in self.selected_:
            t = self.binning_.get_binned_variable(name).binning_table.build()
            t = t[t.index != "Totals"]
            k = self.factor_ * self.coef_[name]
            for _, r in t.iterrows():
                woe = float(r["WoE"])
                if str(r["Bin"]) == "Missing":
                    woe = self.bins_(name)["woe_missing"]
                rows.append({"Variable": name, "Bin": r["Bin"], "Count": int(r["Count"]),
                             "Event rate": float(r["Event rate"]), "WoE": woe, "Points": k * woe,
                             "Contribution": round(k * woe - self.ref_points_[name], 2)})
        return pd.DataFrame(rows, columns=["Variable", "Bin", "Count", "Event rate", "WoE", "Points", "Contribution"])
