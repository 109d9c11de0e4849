"""Regional and industry risk analysis (区域性、行业性风险研判) over the sealed monthly snapshots.

``analyse(con, as_of, by=...)`` reads the ``snapshots`` and ``grades`` tables written by
``riskgrade classify`` and returns one JSON-serialisable ``dict`` (schema ``riskgrade.analysis/1``):

* **cells**: one per unit of the breakdown ``by``: ``county`` (GB/T 2260 county-level
  ``region_code``), ``city`` (its first four digits), ``industry`` (GB/T 4754 section letter),
  ``division`` (GB/T 4754 division, two digits) or ``county_industry`` (county x section).  Each
  cell has its entities, the count and share of every grade, the mean score, the count and share
  of *high-risk* entities (C+D in four-grade mode, D+E in five-grade mode, or ``high=``) with a
  95% Wilson interval, the count expected at the province's share, the excess, and the
  significance of the excess;
* **significance**: a one-sided exact test of "this cell holds more high-risk entities than a
  random draw of its size from the province would": the hypergeometric upper tail
  ``P(X >= k)``, ``X ~ Hypergeometric(N, K, n)`` (``N`` entities and ``K`` high-risk entities in
  the province, ``n`` in the cell), which is Fisher's exact test of the cell against the rest of
  the province.  Cells with at least ``min_entities`` entities are tested; the p-values are
  adjusted for multiple testing with the Benjamini-Hochberg procedure (false discovery rate
  ``alpha``); a cell is *significant* when its adjusted p-value (``q_value``) is at most ``alpha``;
* **hotspots**: the significant cells ranked by excess high-risk entities (``high - expected_high``);
* **concentration** of high risk across the cells: the share of the province's high-risk
  entities held by the top 10% of cells (ranked by high-risk entities), with those cells' share of
  all entities beside it; the Gini coefficient of the Lorenz curve of high-risk entities against
  entities (0 when every cell has the province's share); Herfindahl-Hirschman indices of
  high-risk entities and of entities;
* **trend**: the grade shares of the newest snapshot of each month up to ``as_of`` (at most
  ``months`` months), and each cell's high-risk share in those months;
* **migration**: the grade migration matrix between the previous month's snapshot (or
  ``from_as_of``) and this one, and each cell's entities newly high-risk since then.

Only aggregates leave this module: no single entity's grade.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

import duckdb

from ..codes import industries, regions
from ..contract import GRADE_SETS
from ..errors import RiskgradeError
from ..snapshot import current_snapshot
from ..sql import literals, table_exists
from ..stats import benjamini_hochberg, wilson  # noqa: F401  (re-exported for the faces)

SCHEMA_ID = "riskgrade.analysis/1"
BREAKDOWNS = ("county", "city", "industry", "division", "county_industry")
HIGH_DEFAULT = {"four": ("C", "D"), "five": ("D", "E")}
UNKNOWN = "?"
TEST_NAME = "one-sided hypergeometric (Fisher exact) test of the cell against the rest of the province"
CORRECTION = "Benjamini-Hochberg (false discovery rate)"

# GB/T 4754 division -> section, as SQL rows (the grades table keeps the 4-digit class code)
_DIVMAP_SQL = "SELECT * FROM (VALUES " + ", ".join(
    f"('{d}', '{s}')" for d, s in sorted(industries.DIVISION_SECTION.items())) + ") AS dm(division, section)"

_KEY_SQL = {
    "county": "county",
    "city": "city",
    "industry": "section",
    "division": "division",
    "county_industry": "county || '/' || section",
}


def _base_sql(snapshot_ids: Iterable[int]) -> str:
    ids = ", ".join(str(int(i)) for i in snapshot_ids) or "NULL"
    return f"""
        SELECT g.snapshot_id, g.uscc, coalesce(g.region_code, '{UNKNOWN}') AS county,
               coalesce(left(g.region_code, 4), '{UNKNOWN}') AS city,
               coalesce(dm.section, e.industry_section, '{UNKNOWN}') AS section,
               coalesce(dm.division, '{UNKNOWN}') AS division, g.grade, g.score
        FROM grades g
        LEFT JOIN ({_DIVMAP_SQL}) dm ON dm.division = left(regexp_replace(g.industry_code, '^[A-Za-z]', ''), 2)
        LEFT JOIN (SELECT uscc, any_value(industry_section) AS industry_section FROM entities GROUP BY uscc) e
               USING (uscc)
        WHERE g.snapshot_id IN ({ids})"""


_q = literals  # riskgrade.sql.literals


# --------------------------------------------------------------------------- names
def region_name(code: str) -> str:
    """A county (6 digits) or a city (4 digits) by its GB/T 2260 name, else the code itself."""
    if code == UNKNOWN:
        return "未知区划"
    if len(code) == 4:
        r = regions.table().get(code + "00")
        return r.name if r is not None else code
    return regions.name(code)


def section_name(section: str) -> str:
    if section == UNKNOWN:
        return "行业未填报"
    return industries.section_name(section) or section


def cell_name(by: str, key: str) -> str:
    if by in ("county", "city"):
        return region_name(key)
    if by == "industry":
        return section_name(key)
    if by == "division":
        if key == UNKNOWN:
            return section_name(UNKNOWN)
        sec = industries.DIVISION_SECTION.get(key, UNKNOWN)
        return f"{sec}{key} {section_name(sec)}"
    county, _, sec = key.partition("/")
    return f"{region_name(county)} · {section_name(sec)}"


def _dims(by: str, key: str) -> dict[str, str]:
    if by == "county":
        return {"region_code": key, "city": key[:4]}
    if by == "city":
        return {"city": key}
    if by == "industry":
        return {"industry_section": key}
    if by == "division":
        return {"industry_division": key, "industry_section": industries.DIVISION_SECTION.get(key, UNKNOWN)}
    county, _, sec = key.partition("/")
    return {"region_code": county, "industry_section": sec}


def province_name(codes: Iterable[str]) -> str | None:
    """The province of a set of county codes when they share one, else None."""
    prefixes = {c[:2] for c in codes if c and c != UNKNOWN}
    if len(prefixes) != 1:
        return None
    r = regions.table().get(prefixes.pop() + "0000")
    return r.name if r is not None else None


# --------------------------------------------------------------------------- statistics
def excess_p_values(k: list[int], n: list[int], K: int, N: int) -> list[float]:
    """One-sided p-values ``P(X >= k_i)`` with ``X ~ Hypergeometric(N, K, n_i)``: the chance that a cell of
    ``n_i`` entities drawn at random from a province of ``N`` entities, ``K`` of them high-risk, holds at
    least ``k_i`` high-risk ones (Fisher's exact test of the cell against the rest, alternative "greater")."""
    if not k:
        return []
    from scipy.stats import hypergeom

    import numpy as np

    kk = np.asarray(k, dtype=np.int64)
    nn = np.asarray(n, dtype=np.int64)
    p = hypergeom.sf(kk - 1, N, K, nn)
    return [float(min(1.0, max(0.0, v))) for v in p]


def lorenz_gini(cells: list[tuple[int, int]]) -> tuple[float | None, list[list[float]]]:
    """Gini coefficient of high-risk entities against entities over cells ``(n, k)``: cells sorted by
    their high-risk share, the Lorenz curve runs through (cumulative share of entities, cumulative share
    of high-risk entities); Gini = 1 - 2 x the area under it.  0 = every cell has the same share."""
    N = sum(n for n, _ in cells)
    K = sum(k for _, k in cells)
    if N == 0 or K == 0:
        return None, [[0.0, 0.0], [1.0, 1.0]]
    pts = [[0.0, 0.0]]
    x = y = 0.0
    area = 0.0
    for n, k in sorted((c for c in cells if c[0] > 0), key=lambda c: (c[1] / c[0], c[0])):
        x2, y2 = x + n / N, y + k / K
        area += (x2 - x) * (y + y2) / 2
        x, y = x2, y2
        pts.append([round(x, 6), round(y, 6)])
    return max(0.0, 1 - 2 * area), pts


def concentration(cells: list[dict]) -> dict:
    """How concentrated the high-risk entities are across the cells (see the module docstring)."""
    N = sum(c["entities"] for c in cells)
    K = sum(c["high"] for c in cells)
    units = len(cells)
    top_n = max(1, math.ceil(units * 0.10)) if units else 0
    ranked = sorted(cells, key=lambda c: (-c["high"], -c["entities"], c["key"]))[:top_n]
    gini, lorenz = lorenz_gini([(c["entities"], c["high"]) for c in cells])
    return {
        "units": units,
        "entities": N,
        "high": K,
        "top_decile_units": top_n,
        "top_decile_keys": [c["key"] for c in ranked],
        "top_decile_high_share": _r(sum(c["high"] for c in ranked) / K) if K else None,
        "top_decile_entity_share": _r(sum(c["entities"] for c in ranked) / N) if N else None,
        "gini": _r(gini),
        "hhi_high": _r(sum((c["high"] / K) ** 2 for c in cells)) if K else None,
        "hhi_entities": _r(sum((c["entities"] / N) ** 2 for c in cells)) if N else None,
        "lorenz": lorenz,
    }


def rounded(v: float | None, digits: int = 6) -> float | None:
    """``v`` rounded to ``digits`` decimals (None stays None): how the analysis records its figures."""
    return None if v is None else round(float(v), digits)


_r = rounded


# --------------------------------------------------------------------------- snapshots
def snapshot_info(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> dict:
    row = con.execute("SELECT snapshot_id, as_of, grade_mode, model, model_version, entities, content_hash "
                      "FROM snapshots WHERE snapshot_id = ?", [snapshot_id]).fetchall()
    if not row:
        raise RiskgradeError(f"no snapshot {snapshot_id}")
    sid, as_of, mode, model, version, n, content = row[0]
    return {"snapshot_id": int(sid), "as_of": as_of.isoformat(), "month": as_of.strftime("%Y-%m"),
            "grade_mode": mode or "four", "model": model, "model_version": version, "entities": int(n or 0),
            "content_hash": content}


def monthly_snapshots(con: duckdb.DuckDBPyConnection, upto: dt.date, months: int | None = None) -> list[dict]:
    """The newest snapshot of each month with as_of <= ``upto``, oldest first (at most ``months``)."""
    rows = con.execute("""
        SELECT snapshot_id, as_of FROM (
            SELECT snapshot_id, as_of, row_number() OVER (PARTITION BY strftime(as_of, '%Y-%m')
                                                          ORDER BY as_of DESC, snapshot_id DESC) AS rn
            FROM snapshots WHERE as_of <= ?)
        WHERE rn = 1 ORDER BY as_of""", [upto]).fetchall()
    out = [{"snapshot_id": int(s), "as_of": a.isoformat(), "month": a.strftime("%Y-%m")} for s, a in rows]
    return out[-months:] if months else out


def has_snapshots(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, "snapshots")


def grade_list(con: duckdb.DuckDBPyConnection, mode: str, snapshot_ids: Iterable[int]) -> list[str]:
    base = list(GRADE_SETS.get(mode, GRADE_SETS["four"]))
    ids = ", ".join(str(int(i)) for i in snapshot_ids)
    seen = [r[0] for r in con.execute(f"SELECT DISTINCT grade FROM grades WHERE snapshot_id IN ({ids}) "
                                      "AND grade IS NOT NULL ORDER BY grade").fetchall()]
    return base + [g for g in seen if g not in base]


def high_grades(mode: str, grades: list[str], high: Iterable[str] | None) -> list[str]:
    chosen = [h.strip().upper() for h in high if h.strip()] if high else list(HIGH_DEFAULT.get(mode, ("C", "D")))
    if not chosen:
        raise RiskgradeError("--high: name at least one grade, e.g. C,D")
    bad = [h for h in chosen if h not in grades]
    if bad:
        raise RiskgradeError(f"--high: {', '.join(bad)} is not a grade of this classification ({', '.join(grades)})")
    return [g for g in grades if g in chosen]


# --------------------------------------------------------------------------- the analysis
def _grade_block(counts: dict[str, int], n: int, grades: list[str]) -> tuple[dict, dict]:
    c = {g: int(counts.get(g, 0)) for g in grades}
    s = {g: _r(v / n) if n else None for g, v in c.items()}
    return c, s


def province_totals(con: duckdb.DuckDBPyConnection, snapshot_ids: list[int], grades: list[str],
                    high: list[str]) -> dict[int, dict]:
    """Province figures of each snapshot: entities, grade counts and shares, mean score, high-risk share."""
    cols = ", ".join(f"count(*) FILTER (WHERE grade = {_q([g])})" for g in grades)
    rows = con.execute(f"""
        SELECT snapshot_id, count(*), avg(score), count(*) FILTER (WHERE grade IN ({_q(high)})), {cols}
        FROM grades WHERE snapshot_id IN ({', '.join(str(int(i)) for i in snapshot_ids)})
        GROUP BY snapshot_id""").fetchall()
    out = {}
    for sid, n, mean, k, *gc in rows:
        counts, shares = _grade_block(dict(zip(grades, gc)), n, grades)
        out[int(sid)] = {"entities": int(n), "counts": counts, "shares": shares,
                         "mean_score": _r(mean, 2), "high": int(k), "high_share": _r(k / n) if n else None}
    return out


def analyse(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None, *, by: str = "county",
            min_entities: int = 10, alpha: float = 0.05, high: Iterable[str] | None = None, months: int = 12,
            from_as_of: dt.date | None = None, snapshot_id: int | None = None) -> dict:
    """Grade shares, mean scores, significance, hotspots, concentration, trend and migration by ``by``.

    Give ``as_of`` (the classification date; its newest snapshot) or a ``snapshot_id``.  See the module
    docstring for what is computed and docs/analysis.md for the JSON shape.
    """
    if by not in BREAKDOWNS:
        raise RiskgradeError(f"--by must be one of {', '.join(BREAKDOWNS)} (got {by!r})")
    if min_entities < 1:
        raise RiskgradeError("--min-entities must be at least 1")
    if not 0 < alpha < 1:
        raise RiskgradeError("--alpha must be between 0 and 1")
    if months < 1:
        raise RiskgradeError("--months must be at least 1")
    if snapshot_id is None:
        if as_of is None:
            raise RiskgradeError("say which classification: an as-of date")
        snapshot_id = current_snapshot(con, as_of)
    snap = snapshot_info(con, snapshot_id)
    as_of_d = dt.date.fromisoformat(snap["as_of"])
    mode = snap["grade_mode"]

    # the months of the trend: the newest snapshot of each month up to this one; this one stands for its month
    held = [s for s in monthly_snapshots(con, as_of_d) if s["month"] != snap["month"]]
    held.append({k: snap[k] for k in ("snapshot_id", "as_of", "month")})
    trend_snaps = held[-months:]
    # the migration's starting point: the month before (or the snapshot asked for)
    prev = None
    if from_as_of is not None:
        if from_as_of >= as_of_d:
            raise RiskgradeError(f"--from {from_as_of} must be before the analysed classification ({as_of_d})")
        prev = {k: v for k, v in snapshot_info(con, current_snapshot(con, from_as_of)).items()
                if k in ("snapshot_id", "as_of", "month")}
    elif len(held) > 1:
        prev = held[-2]
    all_ids = sorted({s["snapshot_id"] for s in trend_snaps} | ({prev["snapshot_id"]} if prev else set()))
    grades = grade_list(con, mode, all_ids)
    hi = high_grades(mode, grades, high)

    totals = province_totals(con, all_ids, grades, hi)
    prov = totals[snapshot_id]
    N, K = prov["entities"], prov["high"]
    if N == 0:
        raise RiskgradeError(f"the classification as of {snap['as_of']} holds no entities")
    p0 = K / N

    key = _KEY_SQL[by]
    base = _base_sql(all_ids)
    gcols = ", ".join(f"count(*) FILTER (WHERE grade = {_q([g])})" for g in grades)
    rows = con.execute(f"""
        SELECT {key} AS key, count(*), avg(score), count(*) FILTER (WHERE grade IN ({_q(hi)})), {gcols}
        FROM ({base}) b WHERE snapshot_id = {int(snapshot_id)} GROUP BY key ORDER BY key""").fetchall()

    # each cell's high-risk share in the months of the trend
    tr_rows = con.execute(f"""
        SELECT snapshot_id, {key} AS key, count(*), count(*) FILTER (WHERE grade IN ({_q(hi)}))
        FROM ({base}) b WHERE snapshot_id IN ({', '.join(str(s['snapshot_id']) for s in trend_snaps)})
        GROUP BY ALL""").fetchall()
    tr = {(int(s), k): (n, h) for s, k, n, h in tr_rows}

    new_high: dict[str, int] = {}
    if prev is not None:
        new_high = dict(con.execute(f"""
            SELECT {key} AS key, count(*) FILTER (WHERE b.grade IN ({_q(hi)})
                                                  AND (x.grade IS NULL OR x.grade NOT IN ({_q(hi)})))
            FROM ({base}) b LEFT JOIN (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(prev['snapshot_id'])}) x
                 USING (uscc)
            WHERE b.snapshot_id = {int(snapshot_id)} GROUP BY key""").fetchall())

    cells: list[dict[str, Any]] = []
    for k_, n, mean, k, *gc in rows:
        counts, shares = _grade_block(dict(zip(grades, gc)), n, grades)
        lo, hi_ci = wilson(k, n)
        expected = n * p0
        cells.append({
            "key": k_, "name": cell_name(by, k_), **_dims(by, k_),
            "entities": int(n), "counts": counts, "shares": shares, "mean_score": _r(mean, 2),
            "high": int(k), "high_share": _r(k / n), "high_ci": [_r(lo), _r(hi_ci)],
            "expected_high": _r(expected, 3), "excess_high": _r(k - expected, 3),
            "ratio": _r((k / n) / p0, 4) if p0 else None,
            "tested": n >= min_entities, "p_value": None, "q_value": None, "significant": False,
            "new_high": int(new_high.get(k_, 0)) if prev is not None else None,
            "trend": [_r(tr[(s["snapshot_id"], k_)][1] / tr[(s["snapshot_id"], k_)][0])
                      if (s["snapshot_id"], k_) in tr else None for s in trend_snaps],
        })
    tested = [c for c in cells if c["tested"]]
    ps = excess_p_values([c["high"] for c in tested], [c["entities"] for c in tested], K, N)
    qs = benjamini_hochberg(ps)
    for c, p, q in zip(tested, ps, qs):
        c["p_value"], c["q_value"] = p, q
        c["significant"] = bool(q <= alpha and c["excess_high"] > 0)
    hot = sorted((c for c in cells if c["significant"]), key=lambda c: (-c["excess_high"], c["q_value"], c["key"]))
    hotspots = [{"rank": i + 1, "key": c["key"], "name": c["name"], "entities": c["entities"], "high": c["high"],
                 "high_share": c["high_share"], "expected_high": c["expected_high"], "excess_high": c["excess_high"],
                 "ratio": c["ratio"], "p_value": c["p_value"], "q_value": c["q_value"]} for i, c in enumerate(hot)]

    trend = []
    for s in trend_snaps:
        t = totals.get(s["snapshot_id"])
        if t is not None:
            trend.append({**s, **t})

    prefixes = [r[0] for r in con.execute(f"SELECT DISTINCT left(region_code, 2) || '0000' FROM grades "
                                          f"WHERE snapshot_id = {int(snapshot_id)} LIMIT 3").fetchall()]
    return {
        "schema": SCHEMA_ID,
        "generated_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "as_of": snap["as_of"],
        "snapshot_id": snapshot_id,
        "model": snap["model"],
        "model_version": snap["model_version"],
        "grade_mode": mode,
        "grades": grades,
        "high_grades": hi,
        "province_name": province_name(prefixes),
        "by": by,
        "min_entities": min_entities,
        "alpha": alpha,
        "test": {"name": TEST_NAME, "alternative": "greater", "correction": CORRECTION, "alpha": alpha,
                 "tested_cells": len(tested), "significant_cells": len(hot)},
        "province": prov,
        "cells": cells,
        "hotspots": hotspots,
        "concentration": concentration(cells),
        "trend": {"months": trend},
        "migration": migration(con, prev["snapshot_id"], snapshot_id, grades) if prev is not None else None,
    }


def migration(con: duckdb.DuckDBPyConnection, from_id: int, to_id: int, grades: list[str]) -> dict:
    """Grade migration between two snapshots: rows = grade before (and ``new``), columns = grade after
    (and ``gone``); ``worsened`` / ``improved`` count entities that moved to a riskier / safer grade."""
    a, b = snapshot_info(con, from_id), snapshot_info(con, to_id)
    rows = con.execute(f"""
        SELECT x.grade, y.grade, count(*)
        FROM (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(from_id)}) x
        FULL JOIN (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(to_id)}) y USING (uscc)
        GROUP BY ALL""").fetchall()
    order = {g: i for i, g in enumerate(grades)}
    rows_l, cols_l = grades + ["new"], grades + ["gone"]
    m = [[0] * len(cols_l) for _ in rows_l]
    worse = better = same = new = gone = 0
    for f, t, n in rows:
        i = rows_l.index(f) if f in order else len(grades)
        j = cols_l.index(t) if t in order else len(grades)
        m[i][j] += int(n)
        if f is None:
            new += n
        elif t is None:
            gone += n
        elif order.get(t, 0) > order.get(f, 0):
            worse += n
        elif order.get(t, 0) < order.get(f, 0):
            better += n
        else:
            same += n
    row_shares = [[_r(v / sum(r)) if sum(r) else None for v in r] for r in m]
    return {
        "from": {k: a[k] for k in ("snapshot_id", "as_of", "month")},
        "to": {k: b[k] for k in ("snapshot_id", "as_of", "month")},
        "rows": rows_l, "columns": cols_l, "matrix": m, "row_shares": row_shares,
        "worsened": int(worse), "improved": int(better), "unchanged": int(same), "new": int(new), "gone": int(gone),
    }
