"""Effectiveness of risk-weighted inspection (监管效能).

For the plans of a task (or one plan), from the results linked to them:

* the problem-finding rate per grade with a 95% Wilson interval;
* the prevalence of problems in the whole eligible population, estimated from the known inclusion
  probabilities: the stratified (Hajek / Horvitz-Thompson) estimator ``sum_h W_h p_h`` with
  ``W_h = N_h / N`` over the strata that were inspected, and its standard error
  ``sqrt(sum_h W_h^2 (1 - f_h) p_h (1 - p_h) / (n_h - 1))``;
* what a uniform random draw of the same size would have found (prevalence x inspections), and the
  lift (observed rate / prevalence);
* the share of A-class entities disturbed (inspected on site), and coverage by county.

A problem found (发现问题) is an inspection result ``problem`` or ``corrected``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb

from ..errors import RiskgradeError
from ..render import echarts_inline_js, environment
from ..sql import table_exists
from ..stats import Z95, wilson  # noqa: F401  (Z95: re-exported)
from .plan import PROBLEM_RESULTS


def plans_of(con: duckdb.DuckDBPyConnection, plan_id: int | None, task_id: int | None) -> list[int]:
    if not table_exists(con, "plans"):
        raise RiskgradeError("no inspection plans yet: draw one with `riskgrade plan`")
    if plan_id is not None:
        ids = [r[0] for r in con.execute("SELECT plan_id FROM plans WHERE plan_id = ?", [plan_id]).fetchall()]
    elif task_id is not None:
        ids = [r[0] for r in con.execute("SELECT plan_id FROM plans WHERE task_id = ? ORDER BY plan_id", [task_id]).fetchall()]
    else:
        raise RiskgradeError("say which plan (--plan) or task (--task)")
    if not ids:
        raise RiskgradeError(f"no plan {'with id ' + str(plan_id) if plan_id is not None else 'for task ' + str(task_id)}")
    return ids


def measure(con: duckdb.DuckDBPyConnection, plan_ids: list[int]) -> dict:
    ids = ", ".join(str(int(i)) for i in plan_ids)
    problems = ", ".join(f"'{x}'" for x in PROBLEM_RESULTS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE eff AS
        SELECT pe.plan_id, pe.uscc, pe.grade, pe.region_code, pe.stratum, pe.selection, pe.check_mode,
               pe.inclusion_probability AS pi, pe.risk_probability AS expected_p,
               r.n_results > 0 AS inspected, coalesce(r.found, false) AS found
        FROM plan_entities pe
        LEFT JOIN (SELECT plan_id, uscc, count(*) AS n_results, bool_or(result IN ({problems})) AS found
                   FROM plan_results WHERE plan_id IN ({ids}) GROUP BY ALL) r USING (plan_id, uscc)
        WHERE pe.plan_id IN ({ids})
    """)
    grades = []
    for g, planned, insp, found, onsite, expected in con.execute("""
            SELECT grade, count(*), count(*) FILTER (WHERE inspected), count(*) FILTER (WHERE inspected AND found),
                   count(*) FILTER (WHERE inspected AND check_mode = 'onsite'),
                   sum(expected_p) FILTER (WHERE inspected)
            FROM eff GROUP BY grade ORDER BY grade""").fetchall():
        lo, hi = wilson(found, insp)
        # expected: the model's calibrated chance of an adverse result, summed over the entities inspected
        grades.append({"grade": g, "planned": planned, "inspected": insp, "found": found, "onsite": onsite,
                       "rate": found / insp if insp else None, "ci_low": lo, "ci_high": hi,
                       "expected": float(expected) if expected is not None else None})
    planned = sum(x["planned"] for x in grades)
    expected_found = (sum(x["expected"] for x in grades if x["expected"] is not None)
                      if any(x["expected"] is not None for x in grades) else None)
    inspected = sum(x["inspected"] for x in grades)
    found = sum(x["found"] for x in grades)
    # stratified estimate of the population's prevalence from the inclusion probabilities
    strata = con.execute(f"""
        WITH sizes AS (SELECT plan_id, stratum, count(*) AS big_n FROM plan_population WHERE plan_id IN ({ids})
                       GROUP BY ALL)
        SELECT e.plan_id, e.stratum, s.big_n, count(*) FILTER (WHERE e.inspected) AS n,
               count(*) FILTER (WHERE e.inspected AND e.found) AS k, any_value(e.pi)
        FROM eff e JOIN sizes s USING (plan_id, stratum) GROUP BY ALL""").fetchall()
    covered = [(big_n, n, k, pi) for _, _, big_n, n, k, pi in strata if n > 0]
    total_n = sum(c[0] for c in covered)
    prevalence = se = None
    if total_n:
        prevalence = sum(big_n / total_n * (k / n) for big_n, n, k, _ in covered)
        var = 0.0
        for big_n, n, k, _ in covered:
            if n > 1:
                w, p, f = big_n / total_n, k / n, min(n / big_n, 1.0)
                var += w * w * (1 - f) * p * (1 - p) / (n - 1)
        se = math.sqrt(var)
    pop_all = con.execute(f"SELECT count(*) FROM plan_population WHERE plan_id IN ({ids})").fetchall()[0][0]
    rate = found / inspected if inspected else None
    lo, hi = wilson(found, inspected)
    uniform = prevalence * inspected if prevalence is not None else None
    lift = (rate / prevalence) if (rate is not None and prevalence) else None
    # A-class entities disturbed: inspected on site, against all A-class entities in the plans' scope
    a_scope = 0
    for (manifest,) in con.execute(f"SELECT manifest FROM plans WHERE plan_id IN ({ids})").fetchall():
        for ln in json.loads(manifest).get("grades", []):
            if ln["grade"] == "A":
                a_scope += ln["in_scope"]
    a_onsite = next((x["onsite"] for x in grades if x["grade"] == "A"), 0)
    counties = [
        {"region_code": c, "eligible": el, "planned": pl, "inspected": ins, "found": fd,
         "coverage": ins / el if el else None, "rate": fd / ins if ins else None}
        for c, el, pl, ins, fd in con.execute(f"""
            WITH pop AS (SELECT pp.plan_id, pp.uscc, coalesce(pe.region_code, en.region_code) AS region_code
                         FROM plan_population pp LEFT JOIN plan_entities pe USING (plan_id, uscc)
                         LEFT JOIN entities en USING (uscc) WHERE pp.plan_id IN ({ids}))
            SELECT p.region_code, count(*), count(e.uscc), count(*) FILTER (WHERE e.inspected),
                   count(*) FILTER (WHERE e.inspected AND e.found)
            FROM pop p LEFT JOIN eff e USING (plan_id, uscc) GROUP BY 1 ORDER BY 1""").fetchall()]
    con.execute("DROP TABLE IF EXISTS eff")
    return {
        "plans": plan_ids, "planned": planned, "inspected": inspected, "found": found, "expected_found": expected_found,
        "rate": rate, "ci_low": lo, "ci_high": hi, "eligible_population": pop_all,
        "prevalence_estimate": prevalence, "prevalence_se": se,
        "prevalence_ci": [max(0.0, prevalence - Z95 * se), min(1.0, prevalence + Z95 * se)] if se is not None else None,
        "uniform_expected_found": uniform, "extra_found": (found - uniform) if uniform is not None else None,
        "lift": lift, "a_scope": a_scope, "a_disturbed": a_onsite,
        "a_disturbed_share": a_onsite / a_scope if a_scope else None,
        "grades": grades, "counties": counties,
        "strata_covered": len(covered), "strata": len(strata),
    }


TEXT = {
    "zh": {"title": "双随机抽查监管效能评估", "plans": "抽查计划", "summary": "总体", "planned": "计划抽查",
           "inspected": "已检查", "found": "发现问题", "rate": "问题发现率", "ci": "95% 置信区间",
           "prevalence": "全体可抽主体问题率（逆概率加权估计）", "uniform": "同等数量均匀随机抽查预计发现",
           "lift": "提升倍数", "a_share": "A 类主体被现场检查比例（无事不扰）", "grade": "等级",
           "by_grade": "分等级问题发现率", "by_county": "分县（市、区）覆盖", "county": "行政区划",
           "eligible": "可抽主体", "coverage": "检查覆盖率",
           "expected": "模型预计发现", "expected_note": "模型预计发现 = 已检查主体按模型校准的“检查发现问题概率”之和。",
           "method": "问题 = 检查结果为发现问题（含已责令改正）、通过登记住所无法联系、不配合检查或未发现开展经营活动"
                     "（与模型训练目标一致，见 outcomes.yaml）。全体问题率按分层简单随机抽样估计："
                     "各层（等级 × 县）以其已知入样概率加权（Horvitz-Thompson / Hájek），只含有检查结果的层。"},
    "en": {"title": "Inspection effectiveness", "plans": "plans", "summary": "Overall", "planned": "planned",
           "inspected": "inspected", "found": "problems found", "rate": "finding rate", "ci": "95% interval",
           "prevalence": "prevalence in the eligible population (inverse-probability estimate)",
           "uniform": "a uniform draw of the same size would have found", "lift": "lift",
           "a_share": "share of A-class entities inspected on site", "grade": "grade",
           "by_grade": "Finding rate by grade", "by_county": "Coverage by county", "county": "region",
           "eligible": "eligible", "coverage": "coverage",
           "expected": "expected by the model", "expected_note": "Expected = the sum, over the entities inspected, of the "
           "model's calibrated chance that an inspection finds an adverse result.",
           "method": "A problem = an adverse result as the model's outcome definition counts it (problem, corrected, "
                     "unreachable, refused, not operating; outcomes.yaml). The population's prevalence is the stratified "
                     "estimate: strata (grade x county) weighted by their known inclusion probabilities "
                     "(Horvitz-Thompson / Hajek), over the strata with results."},
}


def render_html(m: dict, lang: str = "zh") -> str:
    if lang not in TEXT:
        raise RiskgradeError("--lang must be zh or en")
    env = environment("riskgrade.inspection", strict=False, trim=False)
    chart = {"grades": [g["grade"] for g in m["grades"]],
             "rates": [round(100 * g["rate"], 2) if g["rate"] is not None else None for g in m["grades"]],
             "low": [round(100 * g["ci_low"], 2) if g["ci_low"] is not None else None for g in m["grades"]],
             "high": [round(100 * g["ci_high"], 2) if g["ci_high"] is not None else None for g in m["grades"]],
             "prevalence": round(100 * m["prevalence_estimate"], 2) if m["prevalence_estimate"] is not None else None}
    return env.get_template("effectiveness.html.j2").render(m=m, t=TEXT[lang], lang=lang, chart=json.dumps(chart),
                                                            echarts=echarts_inline_js())


def write_report(m: dict, out: Path, lang: str = "zh") -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps(m, ensure_ascii=False, indent=2), encoding="utf-8")
    elif out.suffix.lower() in (".html", ".htm"):
        out.write_text(render_html(m, lang), encoding="utf-8")
    else:
        raise RiskgradeError(f"{out}: write the report as .html or .json")
