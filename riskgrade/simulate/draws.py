"""Random draws of the event simulation: working days, categorical draws, and the points of a
Poisson process per entity whose rate follows its latent risk (which changes once, at ``pop.change``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .population import Population
from .strings import NO_DAY

RateFn = Callable[[np.ndarray], "np.ndarray | float"]  # latent risk per entity -> events per year

def busday(day: np.ndarray, offset: np.ndarray | int = 0) -> np.ndarray:
    """Roll to a working day (Mon-Fri), then move ``offset`` working days on."""
    d = np.asarray(day, dtype=np.int64).astype("datetime64[D]")
    return np.busday_offset(d, offset, roll="forward").astype(np.int64).astype(np.int32)


def categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of an ``(n, k)`` matrix of non-negative weights."""
    if weights.shape[0] == 0:
        return np.zeros(0, np.int32)
    cum = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cum[:, -1]
    return (cum > u[:, None]).argmax(axis=1).astype(np.int32)


def poisson_points(
    rng: np.random.Generator, pop: Population, start: np.ndarray, stop: np.ndarray, rate: RateFn
) -> tuple[np.ndarray, np.ndarray]:
    """A Poisson process per entity over ``[start, stop)`` with a yearly rate ``rate(risk)``.

    The interval is split at the day the entity turns risky; each piece uses the
    risk in force on it.  Returns ``(entity index, day)``.
    """
    idxs, days = [], []
    for seg_s, seg_e, risk in (
        (start, np.minimum(stop, pop.change), pop.base_risk),
        (np.maximum(start, pop.change), stop, pop.risk_after),
    ):
        length = np.maximum(seg_e.astype(np.int64) - seg_s, 0)
        lam = np.asarray(rate(risk), dtype=np.float64) * length / 365.25
        k = rng.poisson(lam)
        idx = np.repeat(np.arange(pop.n, dtype=np.int32), k)
        day = (seg_s[idx] + rng.random(idx.size) * length[idx]).astype(np.int32)
        idxs.append(idx)
        days.append(day)
    return np.concatenate(idxs), np.concatenate(days)


def first_point(
    rng: np.random.Generator, pop: Population, start: np.ndarray, stop: np.ndarray, rate: RateFn
) -> np.ndarray:
    """First event of the same process (day, or ``NO_DAY`` when none before ``stop``)."""
    out = np.full(pop.n, NO_DAY, np.int32)
    for seg_s, seg_e, risk in (
        (start, np.minimum(stop, pop.change), pop.base_risk),
        (np.maximum(start, pop.change), stop, pop.risk_after),
    ):
        r = np.maximum(np.asarray(rate(risk), dtype=np.float64), 1e-12)
        t = seg_s + rng.exponential(1.0, pop.n) / r * 365.25
        hit = (out == NO_DAY) & (seg_e > seg_s) & (t < seg_e)
        out[hit] = t[hit].astype(np.int32)
    return out
