"""一址多企 (``address_cohabitants``, catalog 2027.01-3) on the simulated province with office towers and shell
clusters: tower tenants are no longer counted against each other, shell-cluster members still are; the catalog
before (``relation: address``, every other entity at the same address string) is kept for comparison."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from riskgrade.indicators import compute_indicators, load_catalog
from riskgrade.warehouse import Warehouse

T = dt.date(2025, 10, 31)  # a year before the simulated province's end, the date docs/indicators.md measures at
BEFORE = """extends: default
version: "2027.01-2"
indicators:
  - code: address_cohabitants
    name_zh: 同一住所登记的其他在营主体数（一址多企）
    name_en: Other active entities registered at the same address
    relation: address
"""


def _shares(home: Path, delivery: Path, catalog_path: Path | None) -> dict[str, tuple[int, int, int]]:
    """(in scope, value >= 3, value >= 10) of tower tenants and shell-cluster members, by the scorecard's bands."""
    truth = delivery / "_truth" / "entities.parquet"
    with Warehouse(home) as wh:
        compute_indicators(wh.con, load_catalog(catalog_path), T, table="ind")
        rows = wh.con.execute(f"""
            SELECT t.tower_id IS NOT NULL AND t.tower_id >= 0 AND NOT t.is_shell AS tower, t.is_shell AS shell,
                   coalesce(i.address_cohabitants, 0) AS k
            FROM ind i JOIN read_parquet('{truth}') t USING (uscc)""").fetchall()
    out = {}
    for name, pick in (("tower", 0), ("shell", 1)):
        ks = [r[2] for r in rows if r[pick]]
        out[name] = (len(ks), sum(k >= 3 for k in ks), sum(k >= 10 for k in ks))
    others = [r[2] for r in rows if not r[0] and not r[1]]
    out["other"] = (len(others), sum(k >= 3 for k in others), 0)
    return out


@pytest.mark.slow
def test_towers_not_counted_shell_clusters_still_are(simulated_towers_home, tmp_path: Path) -> None:
    home, delivery = simulated_towers_home
    before_yaml = tmp_path / "before.yaml"
    before_yaml.write_text(BEFORE, encoding="utf-8")
    after, before = _shares(home, delivery, None), _shares(home, delivery, before_yaml)
    # the same entities in scope either way (docs/indicators.md: 262 tower tenants, 412 shell members)
    assert after["tower"][0] == before["tower"][0] == 262 and after["shell"][0] == before["shell"][0] == 412
    # before: over half the tower tenants got points (+40 from 3, +100 from 10) for their building's other tenants
    assert before["tower"][1:] == (145, 119)
    # after: none does; the shell-cluster members keep theirs (321 of 412 before)
    assert after["tower"][1:] == (0, 0)
    assert before["shell"][1] == 321 and after["shell"][1] >= 310
    assert after["other"][1] == before["other"][1] == 0
