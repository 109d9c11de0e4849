"""The statistics every stage shares, each defined once: PSI, Wilson intervals, weighted AUC and KS,
Benjamini-Hochberg.

PSI (population stability index) of an ``actual`` distribution against an ``expected`` one, over the
same bins::

    PSI = sum over bins of (a - e) * ln(a / e)        a, e = the bin's shares

A bin empty in one of the two distributions would make the logarithm infinite, so each share is
raised to at least :data:`PSI_FLOOR` first.  The floor is **1e-6**, for two reasons:

* it only ever stands in for an *empty* bin and never changes an observed share: a month's profile
  holds at most ``profile_max_entities`` = 250 000 entities (monitoring.yaml), so the smallest share
  a bin can have is 4e-6, above the floor.  The former 1e-4 of ``riskgrade monitor`` raised every bin
  of fewer than 25 entities in 250 000 to 25, so a rare bin's drift was understated;
* the figures already kept in every trained model's record (the validation PSI, the monthly score
  and indicator PSI of ``scored_months`` / ``indicator_psi``) were computed with 1e-6; with the same
  floor they stay comparable with every new figure, and the model card and ``riskgrade monitor``
  print the same PSI for the same two distributions.

Before (tests/test_stats.py pins one input): the monitor printed 0.712399 (1e-4) where the model
report printed 1.173595 (1e-6); both print 1.173595 now.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

PSI_FLOOR = 1e-6
Z95 = 1.959963984540054


# --------------------------------------------------------------------------- PSI
def psi_shares(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI of ``actual`` bin shares against ``expected`` ones (bin ``i`` is position ``i``; the shorter
    list is padded with empty bins)."""
    n = max(len(expected), len(actual))
    e = np.clip(np.pad(np.asarray(expected, dtype=float), (0, n - len(expected))), PSI_FLOOR, None)
    a = np.clip(np.pad(np.asarray(actual, dtype=float), (0, n - len(actual))), PSI_FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_counts(expected: Mapping[str, int], n_expected: int, actual: Mapping[str, int], n_actual: int) -> float:
    """PSI of ``actual`` bin counts (of ``n_actual`` in all) against ``expected`` ones, bins by key."""
    total = 0.0
    for k in set(expected) | set(actual):
        e = max(expected.get(k, 0) / max(n_expected, 1), PSI_FLOOR)
        a = max(actual.get(k, 0) / max(n_actual, 1), PSI_FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def bin_shares(edges: Sequence[float], scores: np.ndarray) -> list[float]:
    """Share of ``scores`` in each bin cut at ``edges`` (a score on an edge goes to the upper bin)."""
    idx = np.searchsorted(np.asarray(edges), scores, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return [float(c) / max(len(scores), 1) for c in counts]


def psi_scores(edges: Sequence[float], expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI of ``actual`` scores against ``expected`` ones over the bins cut at ``edges``."""
    return psi_shares(bin_shares(edges, expected), bin_shares(edges, actual))


# --------------------------------------------------------------------------- proportions
def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """95% Wilson score interval of a proportion k / n (None, None when n is 0)."""
    if n <= 0:
        return None, None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def benjamini_hochberg(p: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given."""
    if not p:
        return []
    from scipy.stats import false_discovery_control

    return [float(v) for v in false_discovery_control(p, method="bh")]


# --------------------------------------------------------------------------- ranking
class RankedScores:
    """A score's tie groups, computed once, for fast weighted AUCs and KS under many bootstrap weights."""

    def __init__(self, s: np.ndarray):
        vals, self.group = np.unique(np.asarray(s, dtype=float), return_inverse=True)
        self.n_groups = len(vals)

    def _split(self, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.bincount(self.group, weights=w * (y == 1), minlength=self.n_groups)
        neg = np.bincount(self.group, weights=w * (y == 0), minlength=self.n_groups)
        return pos, neg

    def ks(self, y: np.ndarray, w: np.ndarray) -> float:
        """The largest gap between the weighted score distributions of the bad and the good (ties together)."""
        pos, neg = self._split(y, w)
        tp, tn = pos.sum(), neg.sum()
        if tp <= 0 or tn <= 0:
            return float("nan")
        return float(np.max(np.abs(np.cumsum(pos) / tp - np.cumsum(neg) / tn)))

    def auc(self, y: np.ndarray, w: np.ndarray) -> float:
        """Weighted ROC AUC, tied scores counting one half."""
        pos, neg = self._split(y, w)
        below = np.cumsum(neg) - neg
        tp, tn = pos.sum(), neg.sum()
        if tp <= 0 or tn <= 0:
            return float("nan")
        return float(np.sum(pos * (below + 0.5 * neg)) / (tp * tn))


def weighted_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None) -> float:
    y = np.asarray(y).astype(int)
    return RankedScores(s).auc(y, np.ones(len(y)) if w is None else np.asarray(w, dtype=float))


def weighted_ks(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None) -> float:
    """The largest gap between the weighted score distributions of the bad and the good (tied scores
    move together)."""
    y = np.asarray(y).astype(int)
    return RankedScores(s).ks(y, np.ones(len(y)) if w is None else np.asarray(w, dtype=float))
