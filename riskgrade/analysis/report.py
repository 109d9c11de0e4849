"""Reports of the analysis stage: the analysis page (区域性、行业性风险研判) and the monthly report
(信用风险分类管理月度报告, 领导参阅), as standalone HTML with Apache ECharts inlined (no network), as
JSON, or, for the monthly report, as PDF printed by headless Chromium.

* :func:`write_analysis` writes a :func:`riskgrade.analysis.regional.analyse` result as ``.html`` or
  ``.json``;
* :func:`build_monthly` gathers the month's figures from the store: the month's snapshot (the newest
  whose as-of date falls in the month), grade distribution and change, trend, migration, the county x
  industry heat map, hotspots, inspection effectiveness, early-warning alerts and data quality;
* :func:`write_monthly` writes them as ``.html``, ``.pdf`` or ``.json``; ``render.html_to_pdf`` prints an
  HTML page with Chromium (``$RISKGRADE_CHROMIUM``, else ``chromium`` / ``chromium-browser`` /
  ``google-chrome`` on ``PATH``).

Charts are drawn with animation off and the SVG renderer, so that a printed page holds the finished
(vector) chart.  The report is for internal use: it holds aggregates, never a single entity's grade.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import jinja2
from markupsafe import Markup

from .. import render
from ..dates import parse_month
from ..errors import RiskgradeError
from ..sql import table_exists
from ..stats import wilson
from . import regional
from .texts import BY_EN, BY_ZH, MONTHLY_TEXT, TEXT

LANGS = ("zh", "en")
MONTHLY_SCHEMA = "riskgrade.monthly-report/1"
GRADE_COLOURS = {"A": "#2e8b57", "B": "#3b73c4", "C": "#f0a030", "D": "#d9413a", "E": "#7b2d8e"}
HEAT_ROWS = 25  # counties in the report's heat map (those with the most high-risk entities)
HOTSPOTS_SHOWN = 10


# --------------------------------------------------------------------------- formatting
_pct, _num = render.pct, render.num


def _environment() -> jinja2.Environment:
    return render.environment("riskgrade.analysis")


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise RiskgradeError(f"--lang must be one of {', '.join(LANGS)} (got {lang!r})")


# --------------------------------------------------------------------------- chart data
def heatmap(region_cells: list[dict], cross_cells: list[dict], section_cells: list[dict], *, rows: int = HEAT_ROWS,
            min_entities: int = 5, province_high_share: float | None = None) -> dict:
    """County x section high-risk shares for a heat map: the ``rows`` counties with the most high-risk
    entities (most first), the sections by entities (most first) and a last column for the whole county.

    Each value is ``[x, y, share %, entities, high-risk, significant, colour value]``; the colour scale
    tops out at three times the province's share (at least 10%), so that a few tiny cells at 100% do not
    wash the rest out."""
    counties = sorted(region_cells, key=lambda c: (-c["high"], -c["entities"], c["key"]))[:rows]
    sections = [c["key"] for c in sorted(section_cells, key=lambda c: (-c["entities"], c["key"]))]
    cross = {(c["region_code"], c["industry_section"]): c for c in cross_cells}
    values = []
    for y, county in enumerate(counties):
        for x, sec in enumerate(sections):
            c = cross.get((county["key"], sec))
            if c is not None and c["entities"] >= min_entities:
                values.append([x, y, round(100 * c["high_share"], 1), c["entities"], c["high"], bool(c["significant"])])
        values.append([len(sections), y, round(100 * county["high_share"], 1), county["entities"], county["high"],
                       bool(county["significant"])])
    top = max([v[2] for v in values] + [1.0])
    if province_high_share is not None:
        top = min(top, max(10.0, 5 * math.ceil(3 * 100 * province_high_share / 5)))
    for v in values:
        v.append(min(v[2], top))
    return {
        "rows": [c["name"] for c in counties],
        "row_keys": [c["key"] for c in counties],
        "columns": sections,
        "column_names": [regional.section_name(s) for s in sections],
        "values": values,
        "max": top,
        "min_entities": min_entities,
    }


def _analysis_chart_data(r: dict, L: dict, lang: str) -> dict:
    tested = [c for c in r["cells"] if c["tested"]]
    top = sorted(tested, key=lambda c: (-(c["high_share"] or 0), -c["entities"], c["key"]))[:30][::-1]
    hot = r["hotspots"][:20][::-1]
    months = r["trend"]["months"]
    return {
        "grades": r["grades"], "high": r["high_grades"],
        "colours": [GRADE_COLOURS.get(g, "#888") for g in r["grades"]],
        "labels": {"share": L["share_axis"], "count": L["count_axis"], "high_share": L["high_share"],
                   "excess": L["excess"], "province": L["province"], "expected": L["expected"],
                   "total": L["total"], "lorenz_x": L["lorenz_x"], "lorenz_y": L["lorenz_y"]},
        "cells": {"names": [f"{c['name']}" for c in top],
                  "shares": {g: [c["shares"][g] for c in top] for g in r["grades"]},
                  "province_high": r["province"]["high_share"]},
        "hotspots": {"names": [h["name"] for h in hot], "excess": [h["excess_high"] for h in hot],
                     "expected": [h["expected_high"] for h in hot], "high": [h["high"] for h in hot]},
        "lorenz": r["concentration"]["lorenz"],
        "trend": {"months": [m["month"] for m in months],
                  "shares": {g: [m["shares"].get(g) for m in months] for g in r["grades"]},
                  "counts": {g: [m["counts"].get(g) for m in months] for g in r["grades"]},
                  "high": [m["high_share"] for m in months]},
    }


# --------------------------------------------------------------------------- the analysis page
def render_analysis_html(r: dict, lang: str = "zh") -> str:
    """The analysis (:func:`riskgrade.analysis.regional.analyse` result) as one standalone HTML page."""
    _check_lang(lang)
    L = TEXT[lang]
    listed = r["cells"] if r["by"] != "county_industry" else [c for c in r["cells"] if c["tested"]]
    listed = sorted(listed, key=lambda c: c["key"])
    heat = None
    if r["by"] == "county_industry":
        counties: dict[str, dict] = {}
        sections: dict[str, dict] = {}
        for c in r["cells"]:
            for agg, k in ((counties, c["region_code"]), (sections, c["industry_section"])):
                a = agg.setdefault(k, {"key": k, "entities": 0, "high": 0, "significant": False})
                a["entities"] += c["entities"]
                a["high"] += c["high"]
        for k, a in counties.items():
            a["name"] = regional.region_name(k)
            a["high_share"] = a["high"] / a["entities"] if a["entities"] else 0.0
        heat = heatmap(list(counties.values()), r["cells"], list(sections.values()), min_entities=r["min_entities"],
                       province_high_share=r["province"]["high_share"])
    return _environment().get_template("analysis.html.j2").render(
        r=r, L=L, lang=lang, listed=listed, hidden=len(r["cells"]) - len(listed),
        by_name=(BY_ZH if lang == "zh" else BY_EN)[r["by"]], colours=GRADE_COLOURS, heat=heat,
        echarts_version=render.ECHARTS_VERSION, echarts_js=Markup(render.echarts_inline_js()),
        chart_data=render.script_json({**_analysis_chart_data(r, L, lang), "heat": heat}),
    )


def write_analysis(r: dict, path: Path | str, lang: str = "zh") -> Path:
    """Write the analysis as ``.html`` (:func:`render_analysis_html`) or ``.json``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        text = render_analysis_html(r, lang)
    elif suffix == ".json":
        _check_lang(lang)
        text = json.dumps(r, ensure_ascii=False, indent=2) + "\n"
    else:
        raise RiskgradeError(f"cannot write the analysis as {path.name!r}: use a .html or .json file name")
    return render.atomic_write(path, text)


# --------------------------------------------------------------------------- the monthly report
def month_snapshot(con: duckdb.DuckDBPyConnection, month: str) -> int:
    """The month's snapshot: the newest snapshot whose as-of date falls in the month."""
    first, last = parse_month(month)
    rows = con.execute("SELECT snapshot_id FROM snapshots WHERE as_of BETWEEN ? AND ? "
                       "ORDER BY as_of DESC, snapshot_id DESC LIMIT 1", [first, last]).fetchall() \
        if regional.has_snapshots(con) else []
    if not rows:
        raise RiskgradeError(f"no classification in {first:%Y-%m}: run `riskgrade classify --as-of {last}` first")
    return int(rows[0][0])


def _inspection_summary(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date, grades: list[str]) -> dict | None:
    """Inspections whose results are dated in the month (plan_results.event_date), by grade, and the
    effectiveness (lift over a uniform draw) of the plans they belong to; None when there are none."""
    if not (table_exists(con, "plan_results") and table_exists(con, "plan_entities")):
        return None
    from ..inspection.effectiveness import measure
    from ..inspection.plan import PROBLEM_RESULTS

    problems = ", ".join(f"'{x}'" for x in PROBLEM_RESULTS)
    rows = con.execute(f"""
        WITH r AS (SELECT plan_id, uscc, bool_or(result IN ({problems})) AS found, any_value(check_mode) AS mode
                   FROM plan_results WHERE event_date BETWEEN ? AND ? GROUP BY ALL)
        SELECT coalesce(pe.grade, '?'), count(*), count(*) FILTER (WHERE r.found), list(DISTINCT r.plan_id)
        FROM r LEFT JOIN plan_entities pe USING (plan_id, uscc) GROUP BY 1 ORDER BY 1""", [first, last]).fetchall()
    if not rows:
        return None
    by_grade = []
    plans: set[int] = set()
    for g, n, f, ps in rows:
        lo, hi = wilson(f, n)
        by_grade.append({"grade": g, "inspected": int(n), "found": int(f), "rate": regional.rounded(f / n) if n else None,
                         "ci": [regional.rounded(lo), regional.rounded(hi)]})
        plans.update(int(p) for p in ps)
    order = {g: i for i, g in enumerate(grades)}
    by_grade.sort(key=lambda x: order.get(x["grade"], 99))
    n = sum(x["inspected"] for x in by_grade)
    f = sum(x["found"] for x in by_grade)
    eff = measure(con, sorted(plans))
    return {"inspected": n, "found": f, "rate": regional.rounded(f / n) if n else None, "by_grade": by_grade,
            "plans": sorted(plans), "lift": regional.rounded(eff.get("lift"), 4),
            "prevalence_estimate": regional.rounded(eff.get("prevalence_estimate")),
            "uniform_expected_found": regional.rounded(eff.get("uniform_expected_found"), 2),
            "a_disturbed_share": regional.rounded(eff.get("a_disturbed_share"))}


def _warnings_summary(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> dict | None:
    """Alerts raised in the month (by the date of the records that raised them); None when never warned."""
    if not table_exists(con, "alerts"):
        return None
    m = "raised_on BETWEEN ? AND ?"
    n, high, members = con.execute(f"SELECT count(*), count(*) FILTER (WHERE severity = 'high'), "
                                   f"coalesce(sum(members), 0) FROM alerts WHERE {m}", [first, last]).fetchall()[0]
    entities = n and table_exists(con, "alert_members") and con.execute(
        f"SELECT count(DISTINCT uscc) FROM alert_members WHERE alert_id IN (SELECT alert_id FROM alerts WHERE {m})",
        [first, last]).fetchall()[0][0]
    open_all = con.execute("SELECT count(*) FROM alerts WHERE status <> 'closed'").fetchall()[0][0]
    by_rule = [{"rule": r, "name": nm or r, "alerts": int(a), "high": int(h), "members": int(mb or 0)}
               for r, nm, a, h, mb in con.execute(f"""
        SELECT rule, any_value(rule_name), count(*), count(*) FILTER (WHERE severity = 'high'), sum(members)
        FROM alerts WHERE {m} GROUP BY rule ORDER BY 3 DESC, 1""", [first, last]).fetchall()]
    by_status = dict(con.execute(f"SELECT status, count(*) FROM alerts WHERE {m} GROUP BY 1 ORDER BY 1",
                                 [first, last]).fetchall())
    by_region = [{"region_code": r, "name": regional.region_name(r) if r else "—", "alerts": int(a)}
                 for r, a in con.execute(f"""SELECT region_code, count(*) FROM alerts WHERE {m}
                     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10""", [first, last]).fetchall()]
    return {"alerts": int(n), "high": int(high), "entities": int(entities or members or 0), "open_all": int(open_all),
            "by_rule": by_rule, "by_status": by_status, "by_region": by_region}


def _quality_summary(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> dict | None:
    from .. import quality

    try:
        m = quality.measure(con)
    except RiskgradeError:
        return None
    s = m["summary"]
    month_deliveries = [t for t in m.get("trend", []) if t.get("load_date") and first.isoformat() <= str(t["load_date"])
                        <= last.isoformat()]
    keep = ("rows_read", "validity_rate", "attribution_rate", "attribution_target", "attribution_meets_target",
            "timeliness_within_share", "timeliness_target_workdays", "timeliness_meets_target", "completeness_rate",
            "quarantined", "deliveries")
    return {**{k: s.get(k) for k in keep}, "month_deliveries": len(month_deliveries),
            "month_rows_read": sum(int(t.get("read") or 0) for t in month_deliveries)}


def build_monthly(con: duckdb.DuckDBPyConnection, month: str, *, min_entities: int = 10, alpha: float = 0.05,
                  lang: str = "zh") -> dict:
    """Every figure of the monthly report (schema ``riskgrade.monthly-report/1``)."""
    _check_lang(lang)
    first, last = parse_month(month)
    sid = month_snapshot(con, month)
    kw = dict(snapshot_id=sid, min_entities=min_entities, alpha=alpha, months=24)
    county = regional.analyse(con, by="county", **kw)
    city = regional.analyse(con, by="city", **kw)
    industry = regional.analyse(con, by="industry", **kw)
    cross = regional.analyse(con, by="county_industry", **kw)
    months = county["trend"]["months"]
    prev = months[-2] if len(months) > 1 else None
    prov = county["province"]
    grades = county["grades"]
    data = {
        "schema": MONTHLY_SCHEMA,
        "month": f"{first:%Y-%m}",
        "as_of": county["as_of"],
        "snapshot_id": sid,
        "model": county["model"],
        "model_version": county["model_version"],
        "generated_at": dt.datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "province_name": county["province_name"],
        "grade_mode": county["grade_mode"],
        "grades": grades,
        "high_grades": county["high_grades"],
        "min_entities": min_entities,
        "alpha": alpha,
        "province": prov,
        "previous": prev,
        "change": ({g: regional.rounded((prov["shares"][g] or 0) - (prev["shares"].get(g) or 0)) for g in grades}
                   | {"high_share": regional.rounded(prov["high_share"] - prev["high_share"])}) if prev else None,
        "trend": months,
        "migration": county["migration"],
        "concentration": county["concentration"],
        "counties": county["cells"],
        "cities": city["cells"],
        "industries": industry["cells"],
        "hotspots_county": county["hotspots"],
        "hotspots_county_industry": cross["hotspots"],
        "top_counties": sorted((c for c in county["cells"] if c["tested"]),
                               key=lambda c: (-c["high_share"], -c["entities"], c["key"]))[:HOTSPOTS_SHOWN],
        "heatmap": heatmap(county["cells"], cross["cells"], industry["cells"], min_entities=min(5, min_entities),
                           province_high_share=prov["high_share"]),
        "inspection": _inspection_summary(con, first, last, grades),
        "warnings": _warnings_summary(con, first, last),
        "quality": _quality_summary(con, first, last),
    }
    data["summary"] = summary_sentences(data, lang)
    return data


def summary_sentences(d: dict, lang: str = "zh") -> list[str]:
    """The report's abstract (综述): a few sentences with the month's figures."""
    L = MONTHLY_TEXT[lang]
    y, mo = int(d["month"][:4]), int(d["month"][5:])
    p = d["province"]
    sep = "，" if lang == "zh" else ", "
    hs = "、".join(d["high_grades"]) if lang == "zh" else "+".join(d["high_grades"])
    parts = sep.join(L["s_grade_part"].format(g=g, n=_num(p["counts"][g]), p=_pct(p["shares"][g]))
                     for g in d["grades"] if p["counts"].get(g) or g in "ABCD")
    out = [L["s_overview"].format(y=y, m=mo, n=_num(p["entities"]), parts=parts)]
    high = L["s_high"].format(h=hs, k=_num(p["high"]), p=_pct(p["high_share"]))
    if d["previous"]:
        ch = d["change"]["high_share"] * 100
        key = "s_change_flat" if abs(ch) < 0.05 else ("s_change_up" if ch > 0 else "s_change_down")
        high += L[key].format(d=f"{abs(ch):.1f}", pm=d["previous"]["month"])
    out.append(high + ("。" if lang == "zh" else "."))
    mig = d["migration"]
    if mig:
        out.append(L["s_migration"].format(w=_num(mig["worsened"]), i=_num(mig["improved"]), n=_num(mig["new"])))
    hc, hci = d["hotspots_county"], d["hotspots_county_industry"]
    if hc or hci:
        names = ("、" if lang == "zh" else "; ").join(h["name"] for h in (hc or hci)[:3])
        out.append(L["s_hotspots"].format(c=len(hc), ci=len(hci), top=L["s_hotspots_top"].format(names=names)))
    else:
        out.append(L["s_no_hotspots"])
    c = d["concentration"]
    if c["top_decile_high_share"] is not None:
        out.append(L["s_concentration"].format(h=_pct(c["top_decile_high_share"]), e=_pct(c["top_decile_entity_share"])))
    ins = d["inspection"]
    if ins:
        key = "s_inspection" if ins.get("lift") else "s_inspection_nolift"
        out.append(L[key].format(n=_num(ins["inspected"]), f=_num(ins["found"]), r=_pct(ins["rate"]),
                                 l=f"{ins['lift']:.2f}" if ins.get("lift") else ""))
    else:
        out.append(L["s_no_inspection"])
    w = d["warnings"]
    if w is None:
        out.append(L["s_no_warn_run"])
    elif w["alerts"]:
        out.append(L["s_warnings"].format(n=_num(w["alerts"]), h=_num(w["high"]), m=_num(w["entities"]),
                                          o=_num(w["open_all"])))
    else:
        out.append(L["s_no_warnings"])
    q = d["quality"]
    if q and q.get("rows_read"):
        out.append(L["s_quality"].format(a=_pct(q["attribution_rate"]), t=_pct(q["attribution_target"], 0),
                                         d=q["timeliness_target_workdays"], w=_pct(q["timeliness_within_share"]),
                                         c=_pct(q["completeness_rate"])))
    return out


def _monthly_chart_data(d: dict, lang: str) -> dict:
    L = MONTHLY_TEXT[lang]
    grades = d["grades"]
    prev = d["previous"]
    hot = d["hotspots_county_industry"][:HOTSPOTS_SHOWN] or d["hotspots_county"][:HOTSPOTS_SHOWN]
    ins = d["inspection"]
    w = d["warnings"]
    return {
        "grades": grades, "colours": [GRADE_COLOURS.get(g, "#888") for g in grades],
        "labels": {k: L[k] for k in ("this_month", "prev_month", "entities", "share", "high_share", "excess",
                                     "expected", "rate", "alerts", "inspected", "found")},
        "dist": {"this": [d["province"]["counts"][g] for g in grades],
                 "this_share": [d["province"]["shares"][g] for g in grades],
                 "prev": [prev["counts"].get(g) for g in grades] if prev else None,
                 "prev_month": prev["month"] if prev else None, "month": d["month"]},
        "trend": {"months": [m["month"] for m in d["trend"]],
                  "counts": {g: [m["counts"].get(g) for m in d["trend"]] for g in grades},
                  "high": [m["high_share"] for m in d["trend"]]},
        "heat": d["heatmap"],
        "hotspots": {"names": [h["name"] for h in hot][::-1], "excess": [h["excess_high"] for h in hot][::-1],
                     "expected": [h["expected_high"] for h in hot][::-1]},
        "inspection": {"grades": [g["grade"] for g in ins["by_grade"]],
                       "rates": [g["rate"] for g in ins["by_grade"]],
                       "low": [g["ci"][0] for g in ins["by_grade"]],
                       "high": [g["ci"][1] for g in ins["by_grade"]]} if ins else None,
        "warnings": {"names": [r["name"] for r in w["by_rule"]][::-1],
                     "alerts": [r["alerts"] for r in w["by_rule"]][::-1]} if w and w["alerts"] else None,
    }


def render_monthly_html(d: dict, lang: str = "zh") -> str:
    """The monthly report as one standalone, printable HTML page (A4, a page per section)."""
    _check_lang(lang)
    L = MONTHLY_TEXT[lang]
    y, mo = int(d["month"][:4]), int(d["month"][5:])
    return _environment().get_template("monthly.html.j2").render(
        d=d, L=L, lang=lang, year=y, mon=mo, html_lang=TEXT[lang]["html_lang"], colours=GRADE_COLOURS,
        title=L["title"].format(p=(d["province_name"] or "全省") if lang == "zh" else
                                (f" ({d['province_name']})" if d["province_name"] else "")),
        hot_shown=HOTSPOTS_SHOWN, severity=lambda s: L.get(f"severity_{s}", s),
        status_name=_status_name(lang),
        echarts_version=render.ECHARTS_VERSION, echarts_js=Markup(render.echarts_inline_js()),
        chart_data=render.script_json(_monthly_chart_data(d, lang)),
    )


def _status_name(lang: str):
    if lang == "zh":
        try:
            from ..warning.workflow import STATUS_ZH
        except ImportError:  # pragma: no cover
            STATUS_ZH = {}
        return lambda s: STATUS_ZH.get(s, s)
    return lambda s: s


def write_monthly(d: dict, path: Path | str, lang: str = "zh", *, chromium: str | None = None) -> Path:
    """Write the monthly report: ``.html``, ``.pdf`` (printed by headless Chromium) or ``.json``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf", ".json"):
        raise RiskgradeError(f"cannot write the report as {path.name!r}: use a .html or .pdf file name")
    if suffix == ".json":
        return render.atomic_write(path, json.dumps(d, ensure_ascii=False, indent=2) + "\n")
    html = render_monthly_html(d, lang)
    if suffix == ".pdf":
        return render.html_to_pdf(html, path, chromium=chromium)
    return render.atomic_write(path, html)
