"""The monthly report (月度报告, 领导参阅): HTML content of a hand-made province, errors, and the PDF of a
simulated province checked page by page as images."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from riskgrade import render
from riskgrade.analysis import report
from riskgrade.errors import RiskgradeError
from riskgrade.warehouse import Warehouse

from .conftest import ROOT, run_cli
from .test_analysis import build_home, province

ARTIFACTS = ROOT / "test-artifacts" / "report"


def _add_inspections_and_alerts(home: Path, rows: list[dict]) -> None:
    """Plan 1 (drawn from August): 10 A and 10 D entities eligible, 4 A and 5 D drawn; in September the 4 A
    found 1 problem and 4 of the D found 3; the fifth D was inspected in October (no problem).  Alerts: three
    raised by September records (one high, a cluster of two entities), one by August records."""
    from riskgrade.inspection.tables import ensure_schema as inspection_schema
    from riskgrade.warning.tables import ensure_schema as warning_schema

    a = [r["uscc"] for r in rows if r["aug"] == "A"][:10]
    d = [r["uscc"] for r in rows if r["aug"] == "D"][:10]
    now = dt.datetime(2026, 10, 5, 9)
    with Warehouse(home, write=True) as wh:
        con = wh.con
        inspection_schema(con)
        warning_schema(con)
        with wh.transaction():
            manifest = {"grades": [{"grade": "A", "in_scope": 10}, {"grade": "D", "in_scope": 10}]}
            con.execute("INSERT INTO plans (plan_id, as_of, snapshot_id, seed, drawn, manifest, created_at) "
                        "VALUES (1, DATE '2026-08-31', 2, '7', 9, ?, ?)", [json.dumps(manifest), now])
            con.executemany("INSERT INTO plan_population VALUES (1, ?, ?)", [[u, "A"] for u in a] + [[u, "D"] for u in d])
            drawn = [(u, "A", 0.4) for u in a[:4]] + [(u, "D", 0.5) for u in d[:5]]
            con.executemany("INSERT INTO plan_entities (plan_id, uscc, region_code, grade, stratum, selection, "
                            "inclusion_probability, check_mode) VALUES (1, ?, '370102', ?, ?, 'random', ?, 'onsite')",
                            [[u, g, g, pi] for u, g, pi in drawn])
            results = [(a[0], "2026-09-10", "problem"), (a[1], "2026-09-11", "pass"), (a[2], "2026-09-12", "pass"),
                       (a[3], "2026-09-13", "pass"), (d[0], "2026-09-14", "corrected"), (d[1], "2026-09-15", "problem"),
                       (d[2], "2026-09-16", "problem"), (d[3], "2026-09-17", "pass"), (d[4], "2026-10-02", "pass")]
            con.executemany("INSERT INTO plan_results VALUES (1, ?, 'general', ?, ?, ?, 'onsite', '', ?)",
                            [[u, f"r{i}", day, res, now] for i, (u, day, res) in enumerate(results)])
            alerts = [("a1", "address_cluster", "异常注册聚集", "high", "2026-09-03", 2, "open", "370102"),
                      ("a2", "address_cluster", "异常注册聚集", "medium", "2026-09-20", 1, "assigned", "370102"),
                      ("a3", "license_expired", "行政许可到期未延续", "medium", "2026-09-25", 1, "closed", "370211"),
                      ("a0", "license_expired", "行政许可到期未延续", "medium", "2026-08-20", 1, "open", "370211")]
            con.executemany("INSERT INTO alerts (alert_id, rule, rule_name, severity, raised_on, members, status, "
                            "region_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [[*x, now] for x in alerts])
            members = [("a1", a[0]), ("a1", a[1]), ("a2", a[2]), ("a3", a[2]), ("a0", d[0])]
            con.executemany("INSERT INTO alert_members VALUES (?, ?, NULL, 1)", members)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    rows = province()
    h = tmp_path_factory.mktemp("report") / "home"
    build_home(h, rows)
    _add_inspections_and_alerts(h, rows)
    return h


def _build(home: Path, month: str, lang: str = "zh") -> dict:
    with Warehouse(home) as wh:
        return report.build_monthly(wh.con, month, lang=lang)


def test_monthly_figures(home: Path) -> None:
    d = _build(home, "2026-09")
    # the month's snapshot: the newest dated in September (30 Sep, id 4), not the mid-month run (id 3)
    assert (d["snapshot_id"], d["as_of"], d["month"]) == (4, "2026-09-30", "2026-09")
    p = d["province"]
    assert p["entities"] == 802 and p["counts"] == {"A": 401, "B": 280, "C": 35, "D": 86} and p["high"] == 121
    assert d["previous"]["snapshot_id"] == 2 and d["previous"]["month"] == "2026-08"
    assert d["change"]["high_share"] == pytest.approx((121 - 91) / 802, abs=1e-6)
    assert d["change"]["D"] == pytest.approx((86 - 56) / 802, abs=1e-6)
    assert [m["month"] for m in d["trend"]] == ["2026-08", "2026-09"]
    assert d["migration"]["worsened"] == 30
    assert [h["key"] for h in d["hotspots_county"]] == ["370102", "370211"]
    assert d["hotspots_county_industry"][0]["key"] == "370102/H"
    assert {c["key"] for c in d["cities"]} == {"3701", "3702"}
    # the heat map: counties by high-risk entities, sections by entities, a last column for the whole county
    hm = d["heatmap"]
    assert hm["rows"][:2] == ["青岛市黄岛区", "济南市历下区"] and hm["columns"][0] == "F"
    cell = next(v for v in hm["values"] if v[1] == 1 and v[0] == hm["columns"].index("H"))
    assert cell[2] == pytest.approx(100 * 40 / 70, abs=0.05) and cell[3] == 70 and cell[5] is True
    total = next(v for v in hm["values"] if v[1] == 1 and v[0] == len(hm["columns"]))
    assert total[2] == 40.0 and total[3] == 100
    # inspections dated in September: 8, of which 4 found a problem; the plan's lift uses all its 9 results
    ins = d["inspection"]
    assert (ins["inspected"], ins["found"], ins["rate"]) == (8, 4, 0.5)
    assert [(g["grade"], g["inspected"], g["found"]) for g in ins["by_grade"]] == [("A", 4, 1), ("D", 4, 3)]
    assert ins["plans"] == [1]
    assert ins["prevalence_estimate"] == pytest.approx(0.5 * 1 / 4 + 0.5 * 3 / 5, abs=1e-6)
    assert ins["lift"] == pytest.approx((4 / 9) / 0.425, abs=1e-4)
    # alerts raised by September records
    w = d["warnings"]
    assert (w["alerts"], w["high"], w["entities"], w["open_all"]) == (3, 1, 3, 3)
    assert [(r["rule"], r["alerts"]) for r in w["by_rule"]] == [("address_cluster", 2), ("license_expired", 1)]
    assert w["by_status"] == {"assigned": 1, "closed": 1, "open": 1}
    # the abstract
    s = "".join(d["summary"])
    assert "2026年9月末，全省纳入信用风险分类管理的市场主体共 802 户" in s
    assert "高风险（C、D 类）主体 121 户，占 15.1%，较上月（2026-08）上升 3.7 个百分点" in s
    assert "本月完成抽查检查 8 户次，发现问题 4 户（50.0%）" in s
    assert "本月新增预警 3 条（高级 1 条），涉及市场主体 3 户" in s


def test_monthly_html(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    p = run_cli("report", "--month", "2026-09", "--out", str(out), home=home)
    assert "written to" in p.stderr
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    for heading in ("领导参阅", "综述", "一、风险分类总体情况", "二、变化趋势与等级迁移", "三、区域与行业分布",
                    "四、风险热点", "五、抽查检查与监管效能", "六、监测预警", "七、数据质量", "内部资料 注意保密"):
        assert heading in html, heading
    assert "山东省市场主体信用风险分类管理月度报告" in html and "2026年9月" in html
    for chart in ("chart-grades", "chart-trend", "chart-heat", "chart-hotspots", "chart-inspection", "chart-warnings"):
        assert f'id="{chart}"' in html
    assert "animation = false" in html and 'renderer: "svg"' in html and "size: A4" in html
    assert "break-before: page" in html
    assert "http://" not in html and "https://" not in html
    # numbers: grade table, inspections, alerts
    grade_table = html[html.index('id="grade-table"'):html.index("</table>", html.index('id="grade-table"'))]
    assert re.search(r"<b[^>]*>D</b></td><td class=\"n\">86</td><td class=\"n\">10.7%</td>", grade_table)
    assert "<td class=\"n\">121</td><td class=\"n\">15.1%</td>" in grade_table and "+3.7" in grade_table
    ins = html[html.index('id="inspection-table"'):]
    assert '<td>D</td><td class="n">4</td><td class="n">3</td><td class="n">75.0%</td>' in ins
    warn = html[html.index('id="warnings-table"'):]
    assert '<td>异常注册聚集</td><td class="n">2</td><td class="n">1</td>' in warn
    assert "济南市历下区 · 住宿和餐饮业" in html  # the top county x industry hotspot
    # the report holds aggregates only: no entity's code
    with Warehouse(home) as wh:
        usccs = [r[0] for r in wh.con.execute("SELECT uscc FROM grades WHERE snapshot_id = 4").fetchall()]
    assert not any(u in html for u in usccs)


def test_month_without_inspections_or_alerts(home: Path, tmp_path: Path) -> None:
    d = _build(home, "2026-08")
    assert d["snapshot_id"] == 2 and d["inspection"] is None and d["previous"] is None and d["migration"] is None
    assert d["warnings"]["alerts"] == 1
    html = report.render_monthly_html(d)
    assert 'id="no-inspection"' in html and "本月无抽查检查结果" in html and "暂无迁移数据" in html
    # a store never warned and with no plans
    bare = tmp_path / "bare"
    build_home(bare, province())
    d = _build(bare, "2026-09")
    assert d["inspection"] is None and d["warnings"] is None
    html = report.render_monthly_html(d)
    assert "本月无抽查检查结果" in html and "尚未开展监测预警" in html
    assert "本月无抽查检查结果。" in d["summary"] and "尚未开展监测预警。" in d["summary"]
    # English
    en = report.render_monthly_html(_build(home, "2026-09", "en"), "en")
    assert '<html lang="en">' in en and "1. Classification overview" in en and "For leadership reference" in en


def test_report_errors(home: Path, tmp_path: Path, monkeypatch) -> None:
    with Warehouse(home) as wh:
        with pytest.raises(RiskgradeError, match=r"no classification in 2026-07: run `riskgrade classify --as-of 2026-07-31`"):
            report.build_monthly(wh.con, "2026-07")
        for bad in ("2026-13", "Sept 2026", "2026/09", ""):
            with pytest.raises(RiskgradeError, match="--month: expected a month as YYYY-MM"):
                report.build_monthly(wh.con, bad)
    p = run_cli("report", "--month", "2026-10", "--out", str(tmp_path / "r.html"), home=home, check=False,
                env={"COLUMNS": "500"})
    lines = [ln for ln in p.stderr.strip().splitlines() if not ln[:2].isdigit()]
    assert p.returncode == 1 and lines == ["error: no classification in 2026-10: run `riskgrade classify --as-of "
                                           "2026-10-31` first"]
    with pytest.raises(RiskgradeError, match="use a .html or .pdf"):
        report.write_monthly(_build(home, "2026-09"), tmp_path / "r.docx")
    # PDF without a browser: say what to install, or to write .html
    monkeypatch.setenv("RISKGRADE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(RiskgradeError, match="not an executable.*write the report as .html"):
        render.find_chromium()
    monkeypatch.delenv("RISKGRADE_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RiskgradeError, match="install chromium.*or write the report as .html"):
        render.find_chromium()
    p = run_cli("report", "--month", "2026-09", "--out", str(tmp_path / "r.pdf"), home=home, check=False,
                env={"COLUMNS": "500", "RISKGRADE_CHROMIUM": str(tmp_path / "no-such-chromium")})
    assert p.returncode == 1 and "write the report as .html" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.pdf").exists()


# --------------------------------------------------------------------------- the PDF
def _chromium() -> str | None:
    return os.environ.get("RISKGRADE_CHROMIUM") or next(
        (shutil.which(n) for n in render.CHROMIUM_NAMES if shutil.which(n)), None)


def _coloured(img) -> int:
    """Pixels with a clear hue (not white, grey or black): chart bars, heat cells, lines."""
    import numpy as np

    a = np.asarray(img.convert("RGB"), dtype=np.int16)
    return int(((a.max(axis=2) - a.min(axis=2)) > 60).sum())


def _inked(img) -> float:
    import numpy as np

    a = np.asarray(img.convert("L"))
    return float((a < 200).mean())


CHART_SECTIONS = ("一、风险分类总体情况", "二、变化趋势与等级迁移", "三、区域与行业分布", "五、抽查检查与监管效能",
                  "六、监测预警")
HEADINGS = ("领导参阅", "综述", *CHART_SECTIONS, "四、风险热点", "七、数据质量")


@pytest.mark.slow
def test_pdf_report_of_a_simulated_province(tmp_path: Path) -> None:
    if _chromium() is None:
        pytest.skip("no Chromium to print with (CI installs Debian's chromium)")
    import pypdfium2 as pdfium

    home, delivery = tmp_path / "home", tmp_path / "delivery"
    run_cli("simulate", "--entities", "3000", "--seed", "1", "--out", str(delivery), home=home)
    run_cli("ingest", str(delivery), home=home)
    run_cli("classify", "--as-of", "2026-08-31", "--model", "expert", home=home)
    run_cli("classify", "--as-of", "2026-09-30", "--model", "expert", home=home)
    # inspections (results dated September and October) and early warning, so every section has content
    run_cli("plan", "--as-of", "2026-08-31", "--budget", "300", "--seed", "7", "--out", str(tmp_path / "plan.csv"),
            home=home)
    run_cli("simulate-results", "--plan", "1", "--delivery", str(delivery), "--out", str(tmp_path / "res.csv"), home=home)
    run_cli("results", "import", str(tmp_path / "res.csv"), "--plan", "1", home=home)
    run_cli("warn", home=home)
    pdf_path = tmp_path / "report.pdf"
    run_cli("report", "--month", "2026-09", "--out", str(pdf_path), home=home)
    raw = pdf_path.read_bytes()
    assert raw.startswith(b"%PDF")
    # every font in the file is Noto Sans CJK (no fallback font, no missing glyphs drawn as boxes)
    fonts = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([A-Za-z0-9-]+)", raw))
    assert fonts and all(f.startswith(b"NotoSansCJK") for f in fonts), fonts

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    pdf = pdfium.PdfDocument(str(pdf_path))
    n = len(pdf)
    assert 8 <= n <= 14
    texts, coloured = [], []
    for i in range(n):
        page = pdf[i]
        w, h = page.get_size()
        assert (round(w), round(h)) == (595, 842)  # A4 in points
        img = page.render(scale=1.5).to_pil()
        img.save(ARTIFACTS / f"page-{i + 1:02d}.png")
        text = re.sub(r"\s+", "", page.get_textpage().get_text_range())
        texts.append(text)
        coloured.append(_coloured(img))
        assert _inked(img) > 0.004, f"page {i + 1} is blank"
        assert f"{i + 1}/{n}" in text  # the page number in the footer
    pdf.close()
    everything = "".join(texts)
    for heading in HEADINGS:
        assert heading in everything, heading
    assert "山东省市场主体信用风险分类管理月度报告" in texts[0] and "2026年9月" in texts[0]
    # each section starts a page; the chart sections' pages carry chart colours, the quality page hardly any
    for heading in (*CHART_SECTIONS, "四、风险热点", "七、数据质量"):
        pages = [i for i, t in enumerate(texts) if heading in t]
        assert len(pages) == 1, heading
    for heading in CHART_SECTIONS:
        i = next(i for i, t in enumerate(texts) if heading in t)
        assert coloured[i] > 15_000, (heading, coloured[i])  # grade page 19,366 since inspections follow listings/complaints
    quality_page = next(i for i, t in enumerate(texts) if "七、数据质量" in t)
    assert coloured[quality_page] < 5_000
    # chart text is real text (SVG charts print as vector): grade axis and the heat map's county names
    grades_page = texts[next(i for i, t in enumerate(texts) if CHART_SECTIONS[0] in t)]
    assert "本月2026-09" in grades_page and "上月2026-08" in grades_page
    heat_page = texts[next(i for i, t in enumerate(texts) if CHART_SECTIONS[2] in t)]
    assert "市" in heat_page and "区" in heat_page
