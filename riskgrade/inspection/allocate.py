"""How many entities to draw in each stratum: ratios fitted to a budget, floors, ceilings, optimisation.

Pure functions over counts, so that the arithmetic is testable on its own.

* :func:`grade_rates` turns the configured per-grade ratios into the sampling rate of each grade:
  the ratios themselves without a budget; with a budget B, the ratios scaled by one common factor
  lambda (found by bisection) so that ``sum_g N_g * clip(lambda * r_g, floor_g, ceiling_g) = B``.
* :func:`optimal_rates` maximises expected findings ``sum_g n_g * m_g`` (m_g: mean probability of
  a finding in grade g) subject to ``sum n_g = B`` and the floors and ceilings: a linear programme
  whose optimum is the greedy one (fractional knapsack): every grade at its floor, then the rest of
  the budget to the grades with the highest m_g first, each up to its ceiling.
* :func:`stratified_allocation` rounds the per-stratum targets ``rate_g * N_gc`` to whole entities
  by the largest-remainder method twice: first each grade's total (within one of its target, the
  plan's total exact), then that total over the grade's counties, so that each stratum gets the
  floor or the ceiling of its target and every county its share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Rates:
    rates: dict[str, float]
    floors_kept: bool = True
    budget_filled: bool = True
    note: str = ""


def _fill(sizes: dict[str, int], rates: dict[str, float]) -> float:
    return sum(sizes[g] * rates[g] for g in sizes)


def grade_rates(sizes: dict[str, int], ratios: dict[str, float], floors: dict[str, float],
                ceilings: dict[str, float], budget: float | None) -> Rates:
    """Sampling rate per grade.  ``sizes``: eligible entities per grade (forced ones excluded);
    ``budget``: entities to draw among them (None: the ratios as configured)."""
    lo = {g: floors.get(g, 0.0) for g in sizes}
    hi = {g: max(ceilings.get(g, 1.0), lo[g]) for g in sizes}

    def at(lam: float) -> dict[str, float]:
        return {g: min(max(lam * ratios.get(g, 0.0), lo[g]), hi[g]) for g in sizes}

    if budget is None:
        return Rates(at(1.0))
    return _fit(sizes, lo, hi, at, budget)


def _fit(sizes, lo, hi, at, budget: float) -> Rates:
    budget = max(float(budget), 0.0)
    need = _fill(sizes, lo)
    if need > budget + 1e-9:
        scale = budget / need if need else 0.0
        return Rates({g: lo[g] * scale for g in sizes}, floors_kept=False,
                     note=f"the floors alone need {math.ceil(need):,} inspections, more than the budget of "
                          f"{budget:,.0f}: floors scaled down to fit")
    most = _fill(sizes, hi)
    if most <= budget + 1e-9:
        return Rates(dict(hi), budget_filled=most >= budget - 1e-9,
                     note="" if most >= budget - 1e-9 else
                     f"every grade at its ceiling gives {most:,.0f} inspections, fewer than the budget")
    a, b = 0.0, 1.0
    while _fill(sizes, at(b)) < budget:
        b *= 2.0
        if b > 1e12:
            break
    for _ in range(200):
        m = (a + b) / 2
        if _fill(sizes, at(m)) < budget:
            a = m
        else:
            b = m
    return Rates(at(b))


def optimal_rates(sizes: dict[str, int], finding: dict[str, float], floors: dict[str, float],
                  ceilings: dict[str, float], budget: float) -> Rates:
    """Rates that maximise expected findings for the budget, floors and ceilings kept."""
    lo = {g: floors.get(g, 0.0) for g in sizes}
    hi = {g: max(ceilings.get(g, 1.0), lo[g]) for g in sizes}
    need = _fill(sizes, lo)
    if need > budget + 1e-9:
        return _fit(sizes, lo, hi, lambda lam: dict(lo), budget)
    rates = dict(lo)
    left = budget - need
    for g in sorted(sizes, key=lambda g: (-finding.get(g, 0.0), g)):
        if left <= 0 or not sizes[g]:
            continue
        add = min(hi[g] - lo[g], left / sizes[g])
        rates[g] += add
        left -= add * sizes[g]
    return Rates(rates, budget_filled=left <= 1e-9,
                 note="" if left <= 1e-9 else "every grade at its ceiling: fewer inspections than the budget")


def integer_allocation(targets: dict[tuple, float], total: int | None = None) -> dict[tuple, int]:
    """Whole numbers per stratum: the floor of each target, then one more to the largest remainders
    (ties: stratum order) until the total (default: the rounded sum of targets) is reached."""
    if total is None:
        total = int(math.floor(sum(targets.values()) + 0.5 + 1e-9))
    base = {k: int(math.floor(v + 1e-9)) for k, v in targets.items()}
    left = total - sum(base.values())
    if left > 0:
        order = sorted(targets, key=lambda k: (-(targets[k] - base[k]), k))
        for k in order[:left]:
            base[k] += 1
    return base


def stratified_allocation(targets: dict[tuple[str, str], float], total: int | None = None) -> dict[tuple[str, str], int]:
    """Whole numbers per (grade, county) stratum: grade totals first, then counties within a grade."""
    by_grade: dict[str, float] = {}
    for (g, _), v in targets.items():
        by_grade[g] = by_grade.get(g, 0.0) + v
    grade_n = integer_allocation(by_grade, total)
    out: dict[tuple[str, str], int] = {}
    for g, n in grade_n.items():
        out.update(integer_allocation({k: v for k, v in targets.items() if k[0] == g}, n))
    return out
