"""The one output protocol of a scoring model: the expert scorecard and the trained scorecard alike.

Both models are scikit-learn estimators (``sklearn.base.BaseEstimator``): configuration in
``__init__`` as plain parameters and nothing else done there, validation and learning in ``fit``
(which returns ``self``), fitted state in attributes ending in ``_``, and
``sklearn.utils.validation.check_is_fitted`` before any use (``NotFittedError`` otherwise), so
``clone``, ``get_params`` and ``repr`` work.  A fitted model offers:

* ``predict_score(X)``: the risk score 0..1000 (higher = riskier) of each row of indicators;
* ``predict_risk(X)``: the model's probability of a bad outcome of each row (one number a row;
  NaN when the model states points, not odds: an expert scorecard without a calibration);
* ``predict_proba(X)``: the same in scikit-learn's shape, an (n, 2) array of P(good), P(bad);
* ``score_sql()``: the same as SQL expressions over the indicator columns, one :class:`ScoreSQL`
  (below), which the monthly run (:mod:`riskgrade.snapshot`) uses whatever the model;
* ``base_`` (the score of an entity at every indicator's reference) and ``selected_`` (the
  indicators that can give points).

Nothing downstream branches on the model's type: the snapshot asks the model for its SQL.
"""

from __future__ import annotations

from typing import Protocol, TypedDict, runtime_checkable

MAX_SCORE = 1000.0

# the keys of score_sql(), in the order the tests and the snapshot read them
SCORE_SQL_KEYS = ("score", "probability", "reasons", "raw", "base")
# the type of ``reasons`` in the engine: every non-zero contribution, most points first
REASON_TYPE = "STRUCT(points DOUBLE, code VARCHAR)[]"


class ScoreSQL(TypedDict):
    """A model as SQL over the indicator columns (DuckDB's dialect, transpiled for Spark)."""

    score: str  # the risk score, clipped to 0..1000 (higher = riskier)
    probability: str  # the model's probability of a bad outcome (a NULL DOUBLE when it has none)
    reasons: str  # list of {points, code}: every non-zero contribution, most points first; positive ones are reasons
    raw: str  # base + the contributions, before clipping
    base: str  # the score at every indicator's reference (a number)


@runtime_checkable
class RiskModel(Protocol):
    """What the monthly run needs of a fitted model (:class:`~.expert.ExpertScorecard`,
    :class:`~.trained.TrainedScorecard`)."""

    name: str

    def fit(self, X, y=None, **fit_params) -> RiskModel: ...

    def predict_score(self, X): ...

    def predict_risk(self, X): ...

    def predict_proba(self, X): ...

    def score_sql(self) -> ScoreSQL: ...
