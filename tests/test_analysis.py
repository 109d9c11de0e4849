"""Regional and industry analysis (区域性、行业性风险研判) over a small hand-made province with known grades."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from riskgrade.analysis import regional
from riskgrade.analysis.report import render_analysis_html, write_analysis
from riskgrade.codes import industries
from riskgrade.errors import RiskgradeError
from riskgrade.snapshot import ensure_schema
from riskgrade.warehouse import Warehouse

from .conftest import make_usccs, run_cli

AUG, MID_SEP, SEP = dt.date(2026, 8, 31), dt.date(2026, 9, 15), dt.date(2026, 9, 30)
SCORE = {"A": 100.0, "B": 300.0, "C": 600.0, "D": 850.0, "E": 950.0}


def _county(code: str, n: int, sep, aug=None, industry=None) -> list[dict]:
    """n entities of one county: ``sep(i)`` / ``aug(i)`` give the grade (None = not classified that month)."""
    aug = aug or sep
    industry = industry or (lambda i: "5211" if i % 2 else "6210")
    return [{"county": code, "i": i, "sep": sep(i), "aug": aug(i), "industry": industry(i)} for i in range(n)]


def province() -> list[dict]:
    """Five counties; September (high risk = C + D):

    * 370102 历下区 100: 40 D (30 of them A in August), 60 A          -> 40% high: a clear hotspot
    * 370103 市中区 100: 5 D, 5 C, 50 B, 40 A                          -> 10%
    * 370202 市南区 400: 10 D, 10 C, 180 B, 200 A (one A new in September) -> 5%
    * 370211 黄岛区 200: 30 D, 20 C, 50 B, 100 A                       -> 25%: a hotspot with more high-risk
      entities than 370102 but a smaller excess over expectation
    * 370203 市北区 2: 1 D, 1 A (one B classified in August only)     -> 1 of 2 in D: not a hotspot
    """
    rows = []
    rows += _county("370102", 100, lambda i: "D" if i < 40 else "A", lambda i: "D" if i < 10 else "A",
                    lambda i: "6210" if i < 40 else ("5211" if i % 2 else "6210"))
    rows += _county("370103", 100, lambda i: "D" if i < 5 else "C" if i < 10 else "B" if i < 60 else "A",
                    industry=lambda i: "5211" if i % 2 else "1810")
    rows += _county("370202", 400, lambda i: "D" if i < 10 else "C" if i < 20 else "B" if i < 200 else "A",
                    lambda i: None if i == 399 else ("D" if i < 10 else "C" if i < 20 else "B" if i < 200 else "A"))
    rows += _county("370211", 200, lambda i: "D" if i < 30 else "C" if i < 50 else "B" if i < 100 else "A")
    rows += _county("370203", 3, lambda i: ["D", "A", None][i], lambda i: ["D", "A", "B"][i],
                    lambda i: ["6210", None, "5211"][i])
    codes = make_usccs(len(rows))
    for r, u in zip(rows, codes):
        r["uscc"] = u
        r["section"] = industries.DIVISION_SECTION[r["industry"][:2]] if r["industry"] else None
    return rows


def build_home(home: Path, rows: list[dict], *, mode: str = "four") -> None:
    """Write entities and four snapshots: two of 31 August (the first superseded, everything A), a mid-September
    run (everything B) and 30 September: the current ones are snapshot 2 (August) and 4 (September)."""
    with Warehouse(home, write=True) as wh:
        con = wh.con
        ensure_schema(con)
        with wh.transaction():
            con.executemany(
                "INSERT INTO entities (uscc, name, entity_type, region_code, industry_code, industry_section, "
                "established_on, status) VALUES (?, ?, 'enterprise', ?, ?, ?, DATE '2018-01-01', 'active')",
                [[r["uscc"], f"主体{n}", r["county"], r["industry"], r["section"]] for n, r in enumerate(rows)])
            runs = [(1, AUG, lambda r: r["aug"] and "A"), (2, AUG, lambda r: r["aug"]),
                    (3, MID_SEP, lambda r: r["sep"] and "B"), (4, SEP, lambda r: r["sep"])]
            for sid, as_of, grade_of in runs:
                graded = [(r, grade_of(r)) for r in rows if grade_of(r)]
                con.executemany(
                    "INSERT INTO grades (snapshot_id, as_of, uscc, name, entity_type, region_code, industry_code, "
                    "score, grade) VALUES (?, ?, ?, 'x', 'enterprise', ?, ?, ?, ?)",
                    [[sid, as_of, r["uscc"], r["county"], r["industry"], SCORE[g], g] for r, g in graded])
                counts: dict[str, int] = defaultdict(int)
                for _, g in graded:
                    counts[g] += 1
                con.execute("INSERT INTO snapshots (snapshot_id, as_of, created_at, model, model_version, model_reason, "
                            "catalog_version, config_fingerprint, grade_mode, entities, content_hash, grade_counts) "
                            "VALUES (?, ?, ?, 'expert', 'test-1', 'hand-made', 'cat-1', 'fp', ?, ?, ?, ?)",
                            [sid, as_of, dt.datetime(2026, 10, 1, 8, sid), mode, len(graded), f"h{sid}",
                             json.dumps(dict(counts))])


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return province()


@pytest.fixture(scope="module")
def prov_home(tmp_path_factory, rows) -> Path:
    home = tmp_path_factory.mktemp("analysis") / "home"
    build_home(home, rows)
    return home


def _analyse(home: Path, **kw) -> dict:
    with Warehouse(home) as wh:
        return regional.analyse(wh.con, SEP, **kw)


def _fisher_greater(k: int, n: int, K: int, N: int) -> float:
    """Reference: one-sided Fisher exact test of the 2x2 table (cell vs rest) x (high vs not)."""
    from scipy.stats import fisher_exact

    return float(fisher_exact([[k, n - k], [K - k, (N - n) - (K - k)]], alternative="greater").pvalue)


def _bh(p: list[float]) -> list[float]:
    """Reference Benjamini-Hochberg: q_(i) = min_{j >= i} p_(j) m / j."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


# --------------------------------------------------------------------------- shares, means, significance
def test_county_shares_means_and_significance(prov_home: Path, rows: list[dict]) -> None:
    r = _analyse(prov_home, by="county", min_entities=1)
    assert r["schema"] == "riskgrade.analysis/1" and r["snapshot_id"] == 4 and r["as_of"] == "2026-09-30"
    assert r["grades"] == ["A", "B", "C", "D"] and r["high_grades"] == ["C", "D"]
    assert r["province_name"] == "山东省"
    p = r["province"]
    assert p["entities"] == 802 and p["counts"] == {"A": 401, "B": 280, "C": 35, "D": 86}
    assert p["high"] == 121 and p["high_share"] == pytest.approx(121 / 802, abs=1e-6)
    assert p["mean_score"] == pytest.approx((401 * 100 + 280 * 300 + 35 * 600 + 86 * 850) / 802, abs=0.01)

    cells = {c["key"]: c for c in r["cells"]}
    assert list(cells) == ["370102", "370103", "370202", "370203", "370211"]
    a = cells["370102"]
    assert a["name"] == "济南市历下区" and a["entities"] == 100
    assert a["counts"] == {"A": 60, "B": 0, "C": 0, "D": 40}
    assert a["shares"] == {"A": 0.6, "B": 0.0, "C": 0.0, "D": 0.4}
    assert a["mean_score"] == 400.0  # (60 x 100 + 40 x 850) / 100
    assert a["high"] == 40 and a["high_share"] == 0.4
    assert a["expected_high"] == pytest.approx(100 * 121 / 802, abs=1e-3)
    assert a["excess_high"] == pytest.approx(40 - 100 * 121 / 802, abs=1e-3)
    assert a["ratio"] == pytest.approx(0.4 / (121 / 802), abs=1e-4)
    lo, hi = a["high_ci"]
    assert lo < 0.4 < hi and lo == pytest.approx(0.3094, abs=1e-3) and hi == pytest.approx(0.4980, abs=1e-3)
    assert cells["370103"]["mean_score"] == 262.5  # (40 x 100 + 50 x 300 + 5 x 600 + 5 x 850) / 100
    assert cells["370211"]["counts"] == {"A": 100, "B": 50, "C": 20, "D": 30} and cells["370211"]["high_share"] == 0.25

    # significance: exact one-sided tests equal Fisher's test of the cell against the rest; BH over the 5 cells
    ref_p = {k: _fisher_greater(c["high"], c["entities"], 121, 802) for k, c in cells.items()}
    ref_q = dict(zip(ref_p, _bh(list(ref_p.values()))))
    for k, c in cells.items():
        assert c["tested"] is True
        assert c["p_value"] == pytest.approx(ref_p[k], rel=1e-6)
        assert c["q_value"] == pytest.approx(ref_q[k], rel=1e-6)
    assert cells["370102"]["significant"] and cells["370102"]["q_value"] < 1e-6
    assert cells["370211"]["significant"] and cells["370211"]["q_value"] < 0.01
    # the tiny county: 1 of 2 entities in D (50% against 15%) is not flagged: P(X >= 1) = 1 - C(681,2)/C(802,2)
    tiny = cells["370203"]
    assert tiny["high_share"] == 0.5 and tiny["significant"] is False
    assert tiny["p_value"] == pytest.approx(1 - (681 * 680) / (802 * 801), rel=1e-6)
    assert not cells["370103"]["significant"] and not cells["370202"]["significant"]
    assert r["test"]["tested_cells"] == 5 and r["test"]["significant_cells"] == 2
    assert "Benjamini-Hochberg" in r["test"]["correction"]


def test_hotspots_ranked_by_excess(prov_home: Path) -> None:
    r = _analyse(prov_home, by="county")
    # 370211 holds more high-risk entities (50) than 370102 (40) but a smaller excess over expectation
    assert [h["key"] for h in r["hotspots"]] == ["370102", "370211"]
    assert [h["rank"] for h in r["hotspots"]] == [1, 2]
    assert r["hotspots"][0]["excess_high"] == pytest.approx(40 - 100 * 121 / 802, abs=1e-3)
    assert r["hotspots"][1]["excess_high"] == pytest.approx(50 - 200 * 121 / 802, abs=1e-3)
    assert r["hotspots"][1]["high"] > r["hotspots"][0]["high"]
    # with the default --min-entities 10 the 2-entity county is listed but not tested
    tiny = next(c for c in r["cells"] if c["key"] == "370203")
    assert tiny["tested"] is False and tiny["p_value"] is None and tiny["significant"] is False
    assert r["test"]["tested_cells"] == 4


def test_city_industry_division_and_cross(prov_home: Path, rows: list[dict]) -> None:
    city = {c["key"]: c for c in _analyse(prov_home, by="city")["cells"]}
    assert set(city) == {"3701", "3702"}
    assert city["3701"]["name"] == "济南市" and city["3702"]["name"] == "青岛市"
    assert (city["3701"]["entities"], city["3701"]["high"]) == (200, 50)
    assert (city["3702"]["entities"], city["3702"]["high"]) == (602, 71)
    assert city["3701"]["significant"] and not city["3702"]["significant"]

    # industries: the expectation computed here from the rows themselves
    sep = [r for r in rows if r["sep"]]
    ind = _analyse(prov_home, by="industry", min_entities=1)
    cells = {c["key"]: c for c in ind["cells"]}
    for sec in ("C", "F", "H", "?"):
        mine = [r for r in sep if (r["section"] or "?") == sec]
        c = cells[sec]
        assert c["entities"] == len(mine)
        assert c["high"] == sum(r["sep"] in "CD" for r in mine)
        assert c["mean_score"] == pytest.approx(sum(SCORE[r["sep"]] for r in mine) / len(mine), abs=0.01)
        for g in "ABCD":
            assert c["counts"][g] == sum(r["sep"] == g for r in mine)
    assert cells["H"]["name"] == "住宿和餐饮业" and cells["?"]["name"] == "行业未填报"
    assert cells["H"]["significant"] and not cells["F"]["significant"]

    div = {c["key"]: c for c in _analyse(prov_home, by="division")["cells"]}
    assert div["62"]["entities"] == cells["H"]["entities"] and div["62"]["industry_section"] == "H"
    assert div["52"]["name"] == "F52 批发和零售业" and div["18"]["entities"] == 50

    cross = _analyse(prov_home, by="county_industry")
    cc = {c["key"]: c for c in cross["cells"]}
    # 370102's 40 D entities are all restaurants (H): 40 of its 70 H entities
    assert cc["370102/H"]["entities"] == 70 and cc["370102/H"]["high"] == 40
    assert cc["370102/H"]["region_code"] == "370102" and cc["370102/H"]["industry_section"] == "H"
    assert cc["370102/H"]["name"] == "济南市历下区 · 住宿和餐饮业"
    assert cross["hotspots"][0]["key"] == "370102/H"
    assert sum(c["entities"] for c in cross["cells"]) == 802


def test_concentration(prov_home: Path) -> None:
    c = _analyse(prov_home, by="county")["concentration"]
    assert c["units"] == 5 and c["top_decile_units"] == 1
    assert c["top_decile_keys"] == ["370211"]  # the most high-risk entities (50 of 121)
    assert c["top_decile_high_share"] == pytest.approx(50 / 121, abs=1e-6)
    assert c["top_decile_entity_share"] == pytest.approx(200 / 802, abs=1e-6)
    assert c["hhi_high"] == pytest.approx((40**2 + 10**2 + 20**2 + 50**2 + 1**2) / 121**2, abs=1e-6)
    assert c["hhi_entities"] == pytest.approx((100**2 + 100**2 + 400**2 + 200**2 + 2**2) / 802**2, abs=1e-6)
    # Gini of the Lorenz curve, cells by high-risk share: 370202 (5%), 370103 (10%), 370211 (25%), 370102 (40%), 370203 (50%)
    cells = [(400, 20), (100, 10), (200, 50), (100, 40), (2, 1)]
    x = y = area = 0.0
    for n, k in cells:
        area += (n / 802) * (y + (y + k / 121)) / 2
        x, y = x + n / 802, y + k / 121
    assert c["gini"] == pytest.approx(1 - 2 * area, abs=1e-6)
    assert 0.3 < c["gini"] < 0.5
    assert c["lorenz"][0] == [0.0, 0.0] and c["lorenz"][-1] == [1.0, 1.0] and len(c["lorenz"]) == 6


def test_trend_and_migration(prov_home: Path) -> None:
    r = _analyse(prov_home, by="county")
    months = r["trend"]["months"]
    # newest snapshot per month: 31 August's second run (2), and the analysed 30 September (4), not 15 September
    assert [(m["month"], m["snapshot_id"]) for m in months] == [("2026-08", 2), ("2026-09", 4)]
    assert months[0]["counts"] == {"A": 430, "B": 281, "C": 35, "D": 56}
    assert months[0]["high_share"] == pytest.approx(91 / 802, abs=1e-6)
    assert months[1]["high_share"] == pytest.approx(121 / 802, abs=1e-6)
    cells = {c["key"]: c for c in r["cells"]}
    assert cells["370102"]["trend"] == [0.1, 0.4]
    assert cells["370102"]["new_high"] == 30 and cells["370211"]["new_high"] == 0

    m = r["migration"]
    assert m["from"]["snapshot_id"] == 2 and m["to"]["snapshot_id"] == 4
    assert m["rows"] == ["A", "B", "C", "D", "new"] and m["columns"] == ["A", "B", "C", "D", "gone"]
    assert m["matrix"] == [
        [400, 0, 0, 30, 0],
        [0, 280, 0, 0, 1],
        [0, 0, 35, 0, 0],
        [0, 0, 0, 56, 0],
        [1, 0, 0, 0, 0],
    ]
    assert (m["worsened"], m["improved"], m["unchanged"], m["new"], m["gone"]) == (30, 0, 771, 1, 1)
    assert m["row_shares"][0][3] == pytest.approx(30 / 430, abs=1e-6)

    # --from picks the starting point; one month only: no migration
    with Warehouse(prov_home) as wh:
        assert regional.analyse(wh.con, SEP, from_as_of=MID_SEP)["migration"]["from"]["snapshot_id"] == 3
        one = regional.analyse(wh.con, SEP, months=1)
        assert [x["month"] for x in one["trend"]["months"]] == ["2026-09"]
        assert one["migration"]["from"]["snapshot_id"] == 2  # still the month before
        first = regional.analyse(wh.con, AUG)
        assert first["migration"] is None and [x["month"] for x in first["trend"]["months"]] == ["2026-08"]
        assert all(c["new_high"] is None for c in first["cells"])


def test_high_grades_option_and_five_grade_mode(prov_home: Path, tmp_path: Path, rows: list[dict]) -> None:
    r = _analyse(prov_home, high=["D"], min_entities=1)
    assert r["high_grades"] == ["D"] and r["province"]["high"] == 86
    assert {c["key"]: c["high"] for c in r["cells"]}["370211"] == 30
    with pytest.raises(RiskgradeError, match="not a grade"):
        _analyse(prov_home, high=["E"])
    home = tmp_path / "five"
    build_home(home, rows, mode="five")
    with Warehouse(home) as wh:
        five = regional.analyse(wh.con, SEP)
    assert five["grades"] == ["A", "B", "C", "D", "E"] and five["high_grades"] == ["D", "E"]
    assert five["province"]["high"] == 86 and five["province"]["counts"]["E"] == 0


# --------------------------------------------------------------------------- output
def _check_shape(value, shape, path="$") -> None:
    """A small structural schema check: dicts by key, lists by their first element's shape, types by tuple."""
    if isinstance(shape, dict):
        assert isinstance(value, dict), path
        assert set(shape) <= set(value), f"{path}: missing {set(shape) - set(value)}"
        for k, s in shape.items():
            _check_shape(value[k], s, f"{path}.{k}")
    elif isinstance(shape, list):
        assert isinstance(value, list), path
        for i, v in enumerate(value):
            _check_shape(v, shape[0], f"{path}[{i}]")
    else:
        assert isinstance(value, shape), f"{path}: {type(value).__name__} is not {shape}"


NUM = (int, float)
OPT_NUM = (int, float, type(None))
GRADES = {g: int for g in "ABCD"}
SHARES = {g: OPT_NUM for g in "ABCD"}
SCHEMA = {
    "schema": str, "generated_at": str, "as_of": str, "snapshot_id": int, "model": str, "model_version": str,
    "grade_mode": str, "grades": [str], "high_grades": [str], "province_name": (str, type(None)), "by": str,
    "min_entities": int, "alpha": float,
    "test": {"name": str, "alternative": str, "correction": str, "alpha": float, "tested_cells": int,
             "significant_cells": int},
    "province": {"entities": int, "counts": GRADES, "shares": SHARES, "mean_score": NUM, "high": int, "high_share": NUM},
    "cells": [{"key": str, "name": str, "entities": int, "counts": GRADES, "shares": SHARES, "mean_score": NUM,
               "high": int, "high_share": NUM, "high_ci": [NUM], "expected_high": NUM, "excess_high": NUM,
               "ratio": OPT_NUM, "tested": bool, "p_value": OPT_NUM, "q_value": OPT_NUM, "significant": bool,
               "new_high": (int, type(None)), "trend": [OPT_NUM]}],
    "hotspots": [{"rank": int, "key": str, "name": str, "entities": int, "high": int, "high_share": NUM,
                  "expected_high": NUM, "excess_high": NUM, "ratio": NUM, "p_value": NUM, "q_value": NUM}],
    "concentration": {"units": int, "entities": int, "high": int, "top_decile_units": int, "top_decile_keys": [str],
                      "top_decile_high_share": NUM, "top_decile_entity_share": NUM, "gini": NUM, "hhi_high": NUM,
                      "hhi_entities": NUM, "lorenz": [[NUM]]},
    "trend": {"months": [{"month": str, "as_of": str, "snapshot_id": int, "entities": int, "counts": GRADES,
                          "shares": SHARES, "mean_score": NUM, "high": int, "high_share": NUM}]},
    "migration": {"from": {"snapshot_id": int, "as_of": str, "month": str},
                  "to": {"snapshot_id": int, "as_of": str, "month": str}, "rows": [str], "columns": [str],
                  "matrix": [[int]], "row_shares": [[OPT_NUM]], "worsened": int, "improved": int, "unchanged": int,
                  "new": int, "gone": int},
}


def _main(args: list[str], home: Path, monkeypatch, capsys) -> tuple[int, str]:
    """``riskgrade ARGS`` in this process (through :func:`riskgrade.cli.main`): exit code and stderr."""
    from riskgrade.cli import main

    monkeypatch.setattr(sys, "argv", ["riskgrade", *args])
    monkeypatch.setenv("RISKGRADE_HOME", str(home))
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main()
    return int(e.value.code or 0), " ".join(capsys.readouterr().err.split())


def test_cli_json_output(prov_home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "analysis.json"
    p = run_cli("analyse", "--as-of", "2026-09-30", "--out", str(out), home=prov_home)
    assert "2 significant" in p.stdout and "370102" in p.stdout  # hotspots printed
    data = json.loads(out.read_text(encoding="utf-8"))
    _check_shape(data, SCHEMA)
    assert data["by"] == "county" and data["min_entities"] == 10 and data["alpha"] == 0.05
    assert [h["key"] for h in data["hotspots"]] == ["370102", "370211"]
    assert {c["key"]: c["high"] for c in data["cells"]} == {"370102": 40, "370103": 10, "370202": 20, "370203": 1,
                                                              "370211": 50}
    # aggregates only: no entity's code appears anywhere
    text = out.read_text(encoding="utf-8")
    with Warehouse(prov_home) as wh:
        some = [r[0] for r in wh.con.execute("SELECT uscc FROM grades WHERE snapshot_id = 4 LIMIT 50").fetchall()]
    assert not any(u in text for u in some)

    assert _main(["analyse", "--as-of", "2026-09-30", "--by", "city", "--min-entities", "1", "--high", "D",
                  "--out", str(tmp_path / "city.json")], prov_home, monkeypatch, capsys)[0] == 0
    city = json.loads((tmp_path / "city.json").read_text(encoding="utf-8"))
    assert city["by"] == "city" and city["high_grades"] == ["D"] and city["min_entities"] == 1
    assert {c["key"]: c["high"] for c in city["cells"]} == {"3701": 45, "3702": 41}


def test_cli_html_output(prov_home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "analysis.html"
    run_cli("analyse", "--as-of", "2026-09-30", "--by", "county", "--out", str(out), home=prov_home)
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "区域性、行业性风险研判" in html
    for heading in ("一、等级分布", "二、风险热点", "三、高风险集中度", "四、变化趋势", "五、等级迁移", "六、方法说明"):
        assert heading in html
    assert "济南市历下区" in html and "40.0% (40)" in html and "Benjamini–Hochberg" in html
    assert 'id="hotspot-table"' in html and html.count("▲ 是") == 2
    assert "echarts" in html and "http://" not in html and "https://" not in html  # ECharts inlined, offline
    # English, and the county x industry page with its heat map
    en = tmp_path / "en.html"
    assert _main(["analyse", "--as-of", "2026-09-30", "--by", "county_industry", "--lang", "en", "--out", str(en)],
                 prov_home, monkeypatch, capsys)[0] == 0
    t = en.read_text(encoding="utf-8")
    assert '<html lang="en">' in t and "Regional and industry risk analysis" in t and 'id="chart-heat"' in t
    with Warehouse(prov_home) as wh:
        r = regional.analyse(wh.con, SEP, by="industry")
    assert "住宿和餐饮业" in render_analysis_html(r, "zh")


def test_cli_errors(prov_home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    # through the installed command: exit 1 and one line on stderr
    for args, words in ((("analyse", "--as-of", "2026-07-31"), "no classification as of 2026-07-31"),
                        (("analyse", "--as-of", "2026-09-30", "--by", "street"), "--by must be one of")):
        p = run_cli(*args, home=prov_home, check=False, env={"COLUMNS": "40"})  # a narrow terminal: still one line
        lines = [ln for ln in p.stderr.strip().splitlines() if not ln[:2].isdigit()]  # progress lines start with a time
        assert p.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], p.stderr

    def err(*args: str, home: Path = prov_home) -> str:
        code, text = _main(list(args), home, monkeypatch, capsys)
        assert code == 1, text
        return text

    assert "not a date" in err("analyse", "--as-of", "30/09/2026")
    assert ".html or .json" in err("analyse", "--as-of", "2026-09-30", "--out", str(tmp_path / "a.xlsx"))
    assert "--lang" in err("analyse", "--as-of", "2026-09-30", "--lang", "fr")
    assert "--min-entities" in err("analyse", "--as-of", "2026-09-30", "--min-entities", "0")
    assert "--from" in err("analyse", "--as-of", "2026-09-30", "--from", "2026-10-31")
    assert "--high" in err("analyse", "--as-of", "2026-09-30", "--high", "X")
    assert "riskgrade classify" in err("analyse", "--as-of", "2026-09-30", home=tmp_path / "empty")
    with pytest.raises(RiskgradeError, match="cannot write the analysis"):
        write_analysis(_analyse(prov_home), tmp_path / "x.pdf")


def test_statistics_helpers() -> None:
    # BH of a textbook example: p = (0.01, 0.04, 0.03, 0.005) -> q = (0.02, 0.04, 0.04, 0.02)
    assert regional.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # the exact test: 2 of 2 when 1 in 10 of a 10-entity province is high-risk: P = C(1,... ) = 0 (impossible) -> p(X>=2)=0
    assert regional.excess_p_values([2, 1, 0], [2, 2, 5], 1, 10) == pytest.approx([0.0, 0.2, 1.0])
    gini, pts = regional.lorenz_gini([(10, 1), (10, 1)])
    assert gini == pytest.approx(0.0) and pts[-1] == [1.0, 1.0]
    assert regional.lorenz_gini([(10, 0), (10, 0)])[0] is None
    lo, hi = regional.wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4) and regional.wilson(0, 0) == (None, None)
    assert not math.isnan(regional.excess_p_values([40], [100], 121, 802)[0])
