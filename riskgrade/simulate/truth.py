"""Ground truth of "future violation" in a simulated province, for tests and benchmarks.

A model scored at an as-of date ``T`` is meant to rank entities by the chance that an
inspection in the coming months finds something wrong.  The delivery only shows the results of
the inspections that happened, and those were targeted (see docs/simulate.md): counting an
uninspected entity as "no problem" understates the risk of the entities nobody looked at.  The
simulation knows the latent risk, so the exact answer is available:

* :func:`adverse_probability` -- for every entity, the probability that an inspection on a
  uniformly random day of ``(T, T + months]`` has an adverse result (anything but ``pass``),
  from :func:`.events.inspection_outcome_weights` of the latent risk on that day;
* :func:`violation_probability` -- the same for a *violation* found (problem, unreachable, refused: not an
  on-the-spot correction, not a closed business), the truth the warning queue is judged by;
* :func:`expected_auc` -- the AUC of a score against these probabilistic labels, without
  sampling noise;
* :func:`sample_violation` -- one binary draw of the outcome per entity, when a benchmark wants
  hard labels.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..dates import add_months
from ..errors import RiskgradeError
from .events import inspection_outcome_weights

PASS = 0  # column of ``pass`` in inspection_outcome_weights (contract order)
VIOLATION = (2, 3, 4)  # problem, unreachable, refused: the columns of a violation found
_COLUMNS = ["uscc", "base_risk", "risk_change_on", "risk_after", "is_shell", "established_on", "deregistered_on"]


def adverse_share(risk: np.ndarray, shell: np.ndarray) -> np.ndarray:
    """Probability that one inspection is adverse (not ``pass``) at latent risk ``risk``."""
    w = inspection_outcome_weights(np.asarray(risk, dtype=np.float64), np.asarray(shell, dtype=np.float64))
    return 1.0 - w[:, PASS] / w.sum(axis=1)


def violation_share(risk: np.ndarray, shell: np.ndarray) -> np.ndarray:
    """Probability that one inspection finds a violation (problem, unreachable, refused) at latent risk ``risk``."""
    w = inspection_outcome_weights(np.asarray(risk, dtype=np.float64), np.asarray(shell, dtype=np.float64))
    return w[:, list(VIOLATION)].sum(axis=1) / w.sum(axis=1)


def _days(col: pd.Series) -> np.ndarray:
    """A date column as int64 day numbers since 1970-01-01 (missing -> a day far in the future)."""
    d = col.to_numpy(dtype="datetime64[D]")
    out = d.astype(np.int64)
    out[np.isnat(d)] = np.iinfo(np.int32).max
    return out


def read_truth(truth_dir: Path | str) -> pd.DataFrame:
    """The columns of ``truth_dir/entities.parquet`` the functions here need."""
    path = Path(truth_dir) / "entities.parquet"
    if not path.exists():
        raise RiskgradeError(f"no ground truth at {path}: give the simulated delivery's _truth folder")
    return pq.read_table(path, columns=_COLUMNS).to_pandas(date_as_object=False)


def adverse_probability(truth_dir: Path | str, as_of: dt.date, months: int = 12) -> pd.DataFrame:
    """Probability of an adverse inspection result for every entity in the ``months`` after ``as_of``.

    For an inspection on a day drawn uniformly from the ``N`` days ``as_of + 1 .. as_of + months``
    (calendar months), the latent risk is ``base_risk`` before ``risk_change_on`` and
    ``risk_after`` from that day on, so the probability is exactly
    ``(1 - f) * q(base_risk) + f * q(risk_after)``, with ``f`` the share of the ``N`` days on or
    after the change and ``q(r) = 1 - w_pass(r) / sum(w(r))`` from
    :func:`.events.inspection_outcome_weights` (with the entity's shell flag).

    Returns a DataFrame in the truth file's order with columns ``uscc``, ``p_adverse`` (float)
    and ``active_at`` (bool: established on or before ``as_of`` and not closed -- deregistered or
    revoked -- on or before it).  Every entity is kept: ``p_adverse`` of an inactive one is what an
    inspection would find by its latent risk, so filter on ``active_at`` to score the population
    a regulator could inspect.  Entities closing inside the window keep their probability too
    (the question is "would an inspection find a problem", not "will there be an inspection").
    The window may run past the simulated end: latent risk does not change after it.
    """
    return _in_window(truth_dir, as_of, months, adverse_share, "p_adverse")


def violation_probability(truth_dir: Path | str, as_of: dt.date, months: int = 12) -> pd.DataFrame:
    """:func:`adverse_probability` for a violation found (problem, unreachable, refused: :func:`violation_share`),
    column ``p_violation`` instead of ``p_adverse``."""
    return _in_window(truth_dir, as_of, months, violation_share, "p_violation")


def _in_window(truth_dir: Path | str, as_of: dt.date, months: int, share, column: str) -> pd.DataFrame:
    if months < 1:
        raise ValueError("months must be at least 1")
    t = read_truth(truth_dir)
    start = np.datetime64(as_of, "D").astype(np.int64)  # last day before the window
    stop = np.datetime64(add_months(as_of, months), "D").astype(np.int64)  # last day in the window
    n_days = stop - start
    change = _days(t["risk_change_on"])
    after = np.clip(stop - np.maximum(change, start + 1) + 1, 0, n_days) / n_days
    shell = t["is_shell"].to_numpy(dtype=bool)
    q_base = share(t["base_risk"].to_numpy(), shell)
    q_after = share(t["risk_after"].to_numpy(), shell)
    est = _days(t["established_on"])
    closed = _days(t["deregistered_on"])
    return pd.DataFrame(
        {
            "uscc": t["uscc"].to_numpy(),
            column: (1.0 - after) * q_base + after * q_after,
            "active_at": (est <= start) & (closed > start),
        }
    )


def sample_violation(truth_dir: Path | str, as_of: dt.date, seed: int, months: int = 12) -> pd.DataFrame:
    """One draw of "an inspection in the window would be adverse": columns ``uscc``, ``violation``, ``active_at``.

    ``violation`` is Bernoulli(``p_adverse``) per entity (independent, from ``numpy`` seeded by
    ``seed``); the same arguments give the same draw.
    """
    p = adverse_probability(truth_dir, as_of, months)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"uscc": p["uscc"], "violation": rng.random(len(p)) < p["p_adverse"].to_numpy(), "active_at": p["active_at"]}
    )


def expected_auc(scores: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> float:
    """AUC of ``scores`` (higher = riskier) against probabilistic labels ``p`` in ``[0, 1]``.

    Each entity counts as a positive with weight ``p`` and as a negative with weight ``1 - p``;
    the result is the weighted share of (positive, negative) pairs of *different* entities that
    the score orders correctly, ties counting one half::

        sum_{i != j} p_i (1 - p_j) [s_i > s_j] + 1/2 [s_i == s_j]
        ---------------------------------------------------------
                       sum_{i != j} p_i (1 - p_j)

    Numerator and denominator are the expected numbers of concordant and of all pairs when the
    labels are drawn Bernoulli(``p``), so this is the expected AUC over such draws up to the
    (O(1/n)) difference between a ratio of expectations and an expectation of ratios, with no
    sampling noise.  With 0/1 labels it is the ordinary ROC AUC.  Leaving out the pairs of an
    entity with itself (which stacking the entity as a positive and a negative with sample
    weights would count as ties) keeps a perfect score from being pulled towards 1/2.
    O(n log n).  Raises ``ValueError`` on NaN scores, ``p`` outside ``[0, 1]``, different lengths,
    or when there is no pair (all ``p`` 0, or all 1).
    """
    s = np.asarray(scores, dtype=np.float64)
    q = np.asarray(p, dtype=np.float64)
    if s.shape != q.shape or s.ndim != 1:
        raise ValueError("scores and p must be one-dimensional and of the same length")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
        raise ValueError("p must be in [0, 1]")
    _, group = np.unique(s, return_inverse=True)  # rank of each distinct score, ascending
    pos = np.bincount(group, weights=q)
    neg = np.bincount(group, weights=1.0 - q)
    self_pairs = float((q * (1.0 - q)).sum())
    neg_below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
    self_by_group = np.bincount(group, weights=q * (1.0 - q))
    concordant = float((pos * neg_below).sum() + 0.5 * (pos * neg - self_by_group).sum())
    total = float(pos.sum() * neg.sum()) - self_pairs
    if total <= 0:
        raise ValueError("no (positive, negative) pair: every p is 0 or every p is 1")
    return concordant / total
