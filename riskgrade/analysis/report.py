"""Reports of the analysis stage: the analysis page (区域性、行业性风险研判) and the monthly report
(信用风险分类管理月度报告, 领导参阅), as standalone HTML with Apache ECharts inlined (no network), as
JSON, or, for the monthly report, as PDF printed by headless Chromium.

* :func:`write_analysis` writes a :func:`riskgrade.analysis.regional.analyse` result as ``.html`` or
  ``.json``;
* :func:`build_monthly` gathers the month's figures from the store: the month's snapshot (the newest
  whose as-of date falls in the month), grade distribution and change, trend, migration, the county x
  industry heat map, hotspots, inspection effectiveness, early-warning alerts and data quality;
* :func:`write_monthly` writes them as ``.html``, ``.pdf`` or ``.json``; :func:`html_to_pdf` prints an
  HTML page with Chromium (``$RISKGRADE_CHROMIUM``, else ``chromium`` / ``chromium-browser`` /
  ``google-chrome`` on ``PATH``).

Charts are drawn with animation off and the SVG renderer, so that a printed page holds the finished
(vector) chart.  The report is for internal use: it holds aggregates, never a single entity's grade.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import jinja2
from markupsafe import Markup

from ..errors import RiskgradeError
from ..web import assets
from . import regional

LANGS = ("zh", "en")
MONTHLY_SCHEMA = "riskgrade.monthly-report/1"
GRADE_COLOURS = {"A": "#2e8b57", "B": "#3b73c4", "C": "#f0a030", "D": "#d9413a", "E": "#7b2d8e"}
HEAT_ROWS = 25  # counties in the report's heat map (those with the most high-risk entities)
HOTSPOTS_SHOWN = 10
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT = 180  # seconds

BY_ZH = {"county": "县（市、区）", "city": "设区市", "industry": "行业门类", "division": "行业大类",
         "county_industry": "县（市、区）× 行业门类"}
BY_EN = {"county": "county", "city": "city", "industry": "industry section", "division": "industry division",
         "county_industry": "county x industry section"}

# --------------------------------------------------------------------------- texts
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "analysis_title": "区域性、行业性风险研判",
        "as_of": "分类基准日",
        "snapshot": "快照",
        "model": "模型",
        "by": "分析维度",
        "high_def": "高风险等级",
        "generated": "生成时间",
        "internal": "内部资料 注意保密",
        "summary": "总体情况",
        "entities": "市场主体",
        "high_share": "高风险占比",
        "mean_score": "平均风险分",
        "hotspots_n": "风险热点",
        "top_decile": "前 10% 单元集中高风险主体",
        "top_decile_sub": "这些单元的主体数占 {e}",
        "gini": "高风险集中度（基尼系数）",
        "gini_sub": "0 = 各单元比例相同；HHI {h}",
        "distribution": "一、等级分布",
        "distribution_chart": "高风险占比最高的单元（已检验单元）",
        "cells_note": "共 {n} 个单元，其中 {t} 个主体数不少于 {m} 户，参加显著性检验；{s} 个显著高于全省。",
        "cells_hidden": "主体数少于 {m} 户的 {h} 个单元未列出（见 JSON 输出）。",
        "key": "代码",
        "name": "名称",
        "n": "主体数",
        "high": "高风险",
        "ci": "95% 区间",
        "expected": "期望数",
        "excess": "超出数",
        "ratio": "风险指数",
        "q": "校正 p 值",
        "sig": "显著",
        "new_high": "新增高风险",
        "yes": "是",
        "province": "全省",
        "hotspots": "二、风险热点",
        "hotspots_note": "显著高于全省的单元，按超出期望的高风险主体数排序。",
        "no_hotspots": "没有显著高于全省高风险占比的单元。",
        "rank": "排名",
        "concentration": "三、高风险集中度",
        "lorenz": "洛伦兹曲线（横轴：主体累计占比；纵轴：高风险主体累计占比）",
        "units": "单元数",
        "lorenz_x": "主体累计占比",
        "lorenz_y": "高风险主体累计占比",
        "hhi_high": "高风险主体 HHI",
        "hhi_entities": "主体 HHI",
        "trend": "四、变化趋势",
        "month": "月份",
        "migration": "五、等级迁移",
        "migration_note": "{a} → {b}；行：上期等级，列：本期等级。风险上升 {w} 户，下降 {i} 户，不变 {u} 户，新纳入 {n} 户，退出 {g} 户。",
        "no_migration": "只有一个月的分类结果，无法计算迁移。",
        "from_to": "上期 \\ 本期",
        "new": "新纳入",
        "gone": "退出",
        "method": "六、方法说明",
        "method_text": (
            "高风险 = {h} 类。显著性检验：单侧超几何检验（等价于该单元与全省其余主体比较的 Fisher 精确检验），"
            "原假设为“该单元的主体是从全省随机抽取的”，p = P(X ≥ 高风险数)；主体数不少于 {m} 户的单元参加检验，"
            "用 Benjamini–Hochberg 方法控制错误发现率（FDR = {a}），校正后 p 值不大于 {a} 且高于期望者为显著。"
            "风险指数 = 单元高风险占比 ÷ 全省高风险占比；95% 区间为 Wilson 区间。"
            "集中度：前 10% 单元按高风险主体数排序；基尼系数按高风险占比排序的洛伦兹曲线计算。"
        ),
        "footer": "本报告由 riskgrade 生成；图表使用 Apache ECharts {v}（Apache-2.0 许可）。仅供内部使用。",
        "unknown": "未知",
        "grade_share": "等级占比",
        "share_axis": "占比",
        "count_axis": "户数",
        "heatmap": "高风险占比热力图（县 × 行业门类）",
        "total": "合计",
    },
    "en": {
        "html_lang": "en",
        "analysis_title": "Regional and industry risk analysis",
        "as_of": "As of",
        "snapshot": "snapshot",
        "model": "model",
        "by": "Breakdown",
        "high_def": "High-risk grades",
        "generated": "Generated",
        "internal": "Internal use only",
        "summary": "Summary",
        "entities": "Entities",
        "high_share": "High-risk share",
        "mean_score": "Mean score",
        "hotspots_n": "Hotspots",
        "top_decile": "High-risk entities in the top 10% of cells",
        "top_decile_sub": "those cells hold {e} of all entities",
        "gini": "Concentration (Gini)",
        "gini_sub": "0 = the same share everywhere; HHI {h}",
        "distribution": "1. Grade distribution",
        "distribution_chart": "Cells with the highest high-risk share (tested cells)",
        "cells_note": "{n} cells; {t} with at least {m} entities were tested; {s} are significantly above the province.",
        "cells_hidden": "{h} cells with fewer than {m} entities are not listed (see the JSON output).",
        "key": "Code",
        "name": "Name",
        "n": "Entities",
        "high": "High-risk",
        "ci": "95% interval",
        "expected": "Expected",
        "excess": "Excess",
        "ratio": "Risk index",
        "q": "Adjusted p",
        "sig": "Sig.",
        "new_high": "Newly high-risk",
        "yes": "yes",
        "province": "Province",
        "hotspots": "2. Hotspots",
        "hotspots_note": "Cells significantly above the province, ranked by excess high-risk entities.",
        "no_hotspots": "No cell is significantly above the province's high-risk share.",
        "rank": "Rank",
        "concentration": "3. Concentration of high risk",
        "lorenz": "Lorenz curve (x: cumulative share of entities; y: of high-risk entities)",
        "units": "Cells",
        "lorenz_x": "cumulative share of entities",
        "lorenz_y": "of high-risk entities",
        "hhi_high": "HHI of high-risk entities",
        "hhi_entities": "HHI of entities",
        "trend": "4. Trend",
        "month": "Month",
        "migration": "5. Grade migration",
        "migration_note": "{a} → {b}; rows: grade before, columns: grade after. Worsened {w}, improved {i}, unchanged {u}, new {n}, gone {g}.",
        "no_migration": "Only one month is classified: no migration.",
        "from_to": "before \\ after",
        "new": "new",
        "gone": "gone",
        "method": "6. Method",
        "method_text": (
            "High risk = grades {h}. Significance: a one-sided hypergeometric test (Fisher's exact test of the cell "
            "against the rest of the province) of the null hypothesis that the cell's entities are a random draw "
            "from the province, p = P(X >= high-risk entities); cells with at least {m} entities are tested; p-values "
            "are adjusted with the Benjamini-Hochberg procedure (false discovery rate {a}); a cell is significant when "
            "its adjusted p-value is at most {a} and it is above expectation. Risk index = the cell's high-risk share / "
            "the province's; intervals are Wilson 95% intervals. Concentration: the top 10% of cells by high-risk "
            "entities; the Gini coefficient of the Lorenz curve of cells ordered by high-risk share."
        ),
        "footer": "Generated by riskgrade; charts by Apache ECharts {v} (Apache-2.0). Internal use only.",
        "unknown": "unknown",
        "grade_share": "grade shares",
        "share_axis": "share",
        "count_axis": "entities",
        "heatmap": "High-risk share heat map (county x industry section)",
        "total": "All",
    },
}

MONTHLY_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{p}市场主体信用风险分类管理月度报告",
        "subtitle": "{y}年{m}月",
        "mark": "领导参阅",
        "internal": "内部资料 注意保密",
        "org": "信用监管处编",
        "meta": "分类基准日 {d}（快照 {s}，{model} 模型 {v}）· 生成时间 {g}",
        "abstract": "综述",
        "s_overview": "{y}年{m}月末，全省纳入信用风险分类管理的市场主体共 {n} 户，其中 {parts}。",
        "s_grade_part": "{g} 类 {n} 户（{p}）",
        "s_high": "高风险（{h} 类）主体 {k} 户，占 {p}",
        "s_change_up": "，较上月（{pm}）上升 {d} 个百分点",
        "s_change_down": "，较上月（{pm}）下降 {d} 个百分点",
        "s_change_flat": "，与上月（{pm}）持平",
        "s_migration": "与上月相比，{w} 户风险等级上升，{i} 户下降，新纳入 {n} 户。",
        "s_hotspots": "经显著性检验，{c} 个县（市、区）、{ci} 个“县 × 行业”单元的高风险占比显著高于全省，{top}。",
        "s_hotspots_top": "超出最多的是{names}",
        "s_no_hotspots": "经显著性检验，没有县（市、区）的高风险占比显著高于全省。",
        "s_concentration": "高风险主体最多的 10% 县（市、区）集中了全省 {h} 的高风险主体，而其主体数占 {e}。",
        "s_inspection": "本月完成抽查检查 {n} 户次，发现问题 {f} 户（{r}）；相关抽查计划的问题发现率为同等数量随机抽查的 {l} 倍。",
        "s_inspection_nolift": "本月完成抽查检查 {n} 户次，发现问题 {f} 户（{r}）。",
        "s_no_inspection": "本月无抽查检查结果。",
        "s_warnings": "本月新增预警 {n} 条（高级 {h} 条），涉及市场主体 {m} 户；目前未办结预警 {o} 条。",
        "s_no_warnings": "本月无新增预警。",
        "s_no_warn_run": "尚未开展监测预警。",
        "s_quality": "数据质量：涉企信息记名率 {a}（目标 ≥ {t}），{d} 个工作日内归集占比 {w}，字段完整率 {c}。",
        "sec_grades": "一、风险分类总体情况",
        "grades_chart": "各等级主体数及占比（本月与上月）",
        "this_month": "本月",
        "prev_month": "上月",
        "grade": "等级",
        "entities": "主体数",
        "share": "占比",
        "change_pp": "较上月（百分点）",
        "mean_score": "平均风险分",
        "all": "合计",
        "high": "高风险",
        "sec_trend": "二、变化趋势与等级迁移",
        "trend_chart": "各月等级分布与高风险占比",
        "month": "月份",
        "high_share": "高风险占比",
        "migration": "等级迁移（{a} → {b}）",
        "migration_note": "行：上月等级，列：本月等级。风险上升 {w} 户，下降 {i} 户，不变 {u} 户，新纳入 {n} 户，退出 {g} 户。",
        "no_migration": "只有本月的分类结果，暂无迁移数据。",
        "from_to": "上月 \\ 本月",
        "new": "新纳入",
        "gone": "退出",
        "sec_regions": "三、区域与行业分布",
        "heatmap": "高风险占比热力图：高风险主体最多的 {n} 个县（市、区）× 行业门类",
        "heat_note": "数字和颜色为该县该行业的高风险主体占比（%）；空白为主体数少于 {m} 户；右列 Σ 为该县全部主体。",
        "heat_sig": "黑框：显著高于全省。",
        "by_city": "分设区市",
        "by_industry": "分行业门类",
        "name": "名称",
        "ratio": "风险指数",
        "sig": "显著",
        "sig_mark": "▲",
        "sec_hotspots": "四、风险热点",
        "card_hotspots": "风险热点",
        "hotspots_chart": "超出期望的高风险主体数（县 × 行业门类热点）",
        "hotspots_county": "县（市、区）热点",
        "hotspots_ci": "“县 × 行业”热点",
        "rank": "排名",
        "expected": "期望数",
        "excess": "超出数",
        "q": "校正 p 值",
        "no_hotspots": "无显著热点。",
        "top_counties": "高风险占比居前的县（市、区）",
        "top_counties_note": "主体数不少于 {m} 户的县（市、区），按高风险占比排序；▲ 为显著高于全省。",
        "sec_inspection": "五、抽查检查与监管效能",
        "no_inspection": "本月无抽查检查结果（本月没有导入检查日期在本月的抽查结果）。",
        "insp_cards_n": "本月检查户次",
        "insp_cards_f": "发现问题",
        "insp_cards_r": "问题发现率",
        "insp_cards_l": "提升倍数（对比随机抽查）",
        "insp_cards_a": "A 类被现场检查比例",
        "insp_chart": "本月分等级问题发现率",
        "inspected": "检查户次",
        "found": "发现问题",
        "rate": "发现率",
        "ci": "95% 区间",
        "plans": "涉及抽查计划：{p}。提升倍数等按这些计划的全部结果计算（逆概率加权）。",
        "sec_warnings": "六、监测预警",
        "no_warn_run": "尚未开展监测预警（库中没有预警数据）。",
        "no_warnings": "本月无新增预警。",
        "warn_cards_n": "本月新增预警",
        "warn_cards_h": "其中高级",
        "warn_cards_m": "涉及主体",
        "warn_cards_o": "未办结预警（全部）",
        "warn_month_status": "本月新增：",
        "warn_chart": "本月新增预警（按规则）",
        "rule": "预警规则",
        "alerts": "预警数",
        "severity": "级别",
        "status": "状态",
        "by_region": "按县（市、区）",
        "sec_quality": "七、数据质量",
        "q_rows": "读取记录数",
        "q_validity": "有效率",
        "q_attribution": "记名率（目标 ≥ {t}）",
        "q_timely": "{d} 个工作日内归集占比",
        "q_completeness": "字段完整率",
        "q_deliveries": "本月入库批次 {n} 批，读取 {r} 条。",
        "q_note": "指标为数据库全部批次的累计情况，详见数据质量监测评估报告（riskgrade quality）。",
        "met": "达标",
        "not_met": "未达标",
        "sec_notes": "说明",
        "notes": (
            "本月分类结果取分类基准日在本月的最新快照；“高风险”指 {h} 类。|"
            "显著性：单侧超几何检验（即与全省其余主体比较的 Fisher 精确检验），主体数不少于 {m} 户的单元参加，"
            "用 Benjamini–Hochberg 方法校正多重检验（错误发现率 {a}）。风险指数 = 单元高风险占比 ÷ 全省高风险占比。|"
            "监管效能按抽查计划的入样概率作逆概率加权估计；本月检查指检查日期在本月的抽查结果。|"
            "预警按触发记录的日期计入月份。|"
            "本报告仅含汇总数据，供内部参阅，不得公开。"
        ),
        "footer": "riskgrade 生成 · 图表使用 Apache ECharts {v}（Apache-2.0）",
        "page": "第 {p} 页",
        "severity_high": "高",
        "severity_medium": "中",
        "severity_low": "低",
    },
    "en": {
        "title": "Monthly report on credit risk classification{p}",
        "subtitle": "{y}-{m:02d}",
        "mark": "For leadership reference",
        "internal": "Internal: do not publish",
        "org": "Credit supervision division",
        "meta": "As of {d} (snapshot {s}, {model} model {v}) · generated {g}",
        "abstract": "Summary",
        "s_overview": "At the end of {y}-{m:02d}, {n} market entities were classified: {parts}.",
        "s_grade_part": "{g} {n} ({p})",
        "s_high": "High-risk entities (grades {h}): {k}, {p}",
        "s_change_up": ", up {d} points on last month ({pm})",
        "s_change_down": ", down {d} points on last month ({pm})",
        "s_change_flat": ", unchanged on last month ({pm})",
        "s_migration": "Since last month {w} entities moved to a riskier grade, {i} to a safer one; {n} are new.",
        "s_hotspots": "{c} counties and {ci} county x industry cells have a high-risk share significantly above the province; {top}.",
        "s_hotspots_top": "the largest excess is in {names}",
        "s_no_hotspots": "No county has a high-risk share significantly above the province.",
        "s_concentration": "The 10% of counties with the most high-risk entities hold {h} of them and {e} of all entities.",
        "s_inspection": "{n} inspections this month found problems at {f} ({r}); the plans found {l} times what a uniform random draw would.",
        "s_inspection_nolift": "{n} inspections this month found problems at {f} ({r}).",
        "s_no_inspection": "No inspections this month.",
        "s_warnings": "{n} new alerts this month ({h} high), on {m} entities; {o} alerts are not closed.",
        "s_no_warnings": "No new alerts this month.",
        "s_no_warn_run": "Early warning has not been run.",
        "s_quality": "Data quality: attribution rate {a} (target ≥ {t}), reported within {d} working days {w}, completeness {c}.",
        "sec_grades": "1. Classification overview",
        "grades_chart": "Entities per grade (this month and last month)",
        "this_month": "This month",
        "prev_month": "Last month",
        "grade": "Grade",
        "entities": "Entities",
        "share": "Share",
        "change_pp": "Change (points)",
        "mean_score": "Mean score",
        "all": "All",
        "high": "High-risk",
        "sec_trend": "2. Trend and migration",
        "trend_chart": "Grades per month and high-risk share",
        "month": "Month",
        "high_share": "High-risk share",
        "migration": "Grade migration ({a} → {b})",
        "migration_note": "Rows: last month, columns: this month. Worsened {w}, improved {i}, unchanged {u}, new {n}, gone {g}.",
        "no_migration": "Only this month is classified: no migration yet.",
        "from_to": "before \\ after",
        "new": "new",
        "gone": "gone",
        "sec_regions": "3. Regions and industries",
        "heatmap": "High-risk share: the {n} counties with the most high-risk entities x industry sections",
        "heat_note": "Number and colour: the high-risk share (%) of the county's entities in that section; blank: fewer than {m} entities; last column Σ: the whole county.",
        "heat_sig": " Black frame: significantly above the province.",
        "by_city": "By city",
        "by_industry": "By industry section",
        "name": "Name",
        "ratio": "Risk index",
        "sig": "Sig.",
        "sig_mark": "▲",
        "sec_hotspots": "4. Hotspots",
        "card_hotspots": "Hotspots",
        "hotspots_chart": "Excess high-risk entities (county x industry hotspots)",
        "hotspots_county": "County hotspots",
        "hotspots_ci": "County x industry hotspots",
        "rank": "Rank",
        "expected": "Expected",
        "excess": "Excess",
        "q": "Adjusted p",
        "no_hotspots": "No significant hotspot.",
        "top_counties": "Counties with the highest high-risk share",
        "top_counties_note": "Counties with at least {m} entities, by high-risk share; ▲ significantly above the province.",
        "sec_inspection": "5. Inspections and effectiveness",
        "no_inspection": "No inspections this month (no inspection result dated this month was imported).",
        "insp_cards_n": "Inspections this month",
        "insp_cards_f": "Problems found",
        "insp_cards_r": "Finding rate",
        "insp_cards_l": "Lift over a uniform draw",
        "insp_cards_a": "A-class inspected on site",
        "insp_chart": "Finding rate by grade this month",
        "inspected": "Inspected",
        "found": "Found",
        "rate": "Rate",
        "ci": "95% interval",
        "plans": "Plans: {p}. The lift uses all results of these plans (inverse-probability weighted).",
        "sec_warnings": "6. Early warning",
        "no_warn_run": "Early warning has not been run (no alerts in the store).",
        "no_warnings": "No new alerts this month.",
        "warn_cards_n": "New alerts",
        "warn_cards_h": "of which high",
        "warn_cards_m": "Entities",
        "warn_cards_o": "Not closed (all)",
        "warn_month_status": "new this month: ",
        "warn_chart": "New alerts by rule",
        "rule": "Rule",
        "alerts": "Alerts",
        "severity": "Severity",
        "status": "Status",
        "by_region": "By county",
        "sec_quality": "7. Data quality",
        "q_rows": "Rows read",
        "q_validity": "Validity",
        "q_attribution": "Attribution (target ≥ {t})",
        "q_timely": "Reported within {d} working days",
        "q_completeness": "Completeness",
        "q_deliveries": "{n} deliveries loaded this month, {r} rows read.",
        "q_note": "Cumulative over every delivery held; see the data quality report (riskgrade quality).",
        "met": "met",
        "not_met": "not met",
        "sec_notes": "Notes",
        "notes": (
            "The month's classification is the newest snapshot dated in the month; high risk = grades {h}.|"
            "Significance: one-sided hypergeometric (Fisher exact) test against the rest of the province for cells "
            "of at least {m} entities, Benjamini-Hochberg adjusted (false discovery rate {a}). Risk index = the cell's "
            "high-risk share / the province's.|"
            "Effectiveness is inverse-probability weighted by the plans' inclusion probabilities; this month's "
            "inspections are the results dated in the month.|"
            "Alerts count in the month of the records that raised them.|"
            "Aggregates only; for internal reference, not for publication."
        ),
        "footer": "Generated by riskgrade · charts by Apache ECharts {v} (Apache-2.0)",
        "page": "page {p}",
        "severity_high": "high",
        "severity_medium": "medium",
        "severity_low": "low",
    },
}


# --------------------------------------------------------------------------- formatting
def _pct(v: Any, digits: int = 1) -> str:
    if v is None:
        return "—"
    return f"{float(v) * 100:.{digits}f}%"


def _num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "—"
    if digits:
        return f"{float(v):,.{digits}f}"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def _pval(v: Any) -> str:
    if v is None:
        return "—"
    v = float(v)
    if v < 0.001:
        return "<0.001"
    return f"{v:.3f}"


def _pp(v: Any) -> str:
    """A change of a share in percentage points, signed."""
    if v is None:
        return "—"
    x = float(v) * 100
    return f"{x:+.1f}" if abs(x) >= 0.05 else "0.0"


def _heat(v: Any, top: float = 1.0) -> str:
    """Background of a share cell: white (0) -> red (``top`` or more)."""
    if v is None:
        return ""
    f = max(0.0, min(1.0, float(v) / top)) if top > 0 else 0.0
    light = round(97 - 45 * f)
    return f"background:hsl(4,75%,{light}%)"


@jinja2.pass_context
def _t(ctx, key: str, **kw: Any) -> str:
    text = ctx["L"][key]
    return text.format(**kw) if kw else text


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskgrade.analysis", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(pct=_pct, num=_num, pval=_pval, pp=_pp, heat=_heat)
    env.globals["t"] = _t
    return env


def _script_json(data: Any) -> Markup:
    return Markup(assets.inline_script(json.dumps(data, ensure_ascii=False)).replace("<", "\\u003c"))


def _atomic_write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


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
        echarts_version=assets.ECHARTS_VERSION, echarts_js=Markup(assets.echarts_inline_js()),
        chart_data=_script_json({**_analysis_chart_data(r, L, lang), "heat": heat}),
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
    return _atomic_write(path, text)


# --------------------------------------------------------------------------- the monthly report
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_month(month: str) -> tuple[dt.date, dt.date]:
    """``'2026-09'`` -> (first day, last day) of that month; a clear error otherwise."""
    m = _MONTH.match(month.strip()) if isinstance(month, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 9999:
        raise RiskgradeError(f"--month: expected a month as YYYY-MM (e.g. 2026-09), got {month!r}")
    first = dt.date(int(m.group(1)), int(m.group(2)), 1)
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def month_snapshot(con: duckdb.DuckDBPyConnection, month: str) -> int:
    """The month's snapshot: the newest snapshot whose as-of date falls in the month."""
    first, last = parse_month(month)
    rows = con.execute("SELECT snapshot_id FROM snapshots WHERE as_of BETWEEN ? AND ? "
                       "ORDER BY as_of DESC, snapshot_id DESC LIMIT 1", [first, last]).fetchall() \
        if regional.has_snapshots(con) else []
    if not rows:
        raise RiskgradeError(f"no classification in {first:%Y-%m}: run `riskgrade classify --as-of {last}` first")
    return int(rows[0][0])


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0])


def _inspection_summary(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date, grades: list[str]) -> dict | None:
    """Inspections whose results are dated in the month (plan_results.event_date), by grade, and the
    effectiveness (lift over a uniform draw) of the plans they belong to; None when there are none."""
    if not (_has_table(con, "plan_results") and _has_table(con, "plan_entities")):
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
        lo, hi = regional.wilson(f, n)
        by_grade.append({"grade": g, "inspected": int(n), "found": int(f), "rate": regional._r(f / n) if n else None,
                         "ci": [regional._r(lo), regional._r(hi)]})
        plans.update(int(p) for p in ps)
    order = {g: i for i, g in enumerate(grades)}
    by_grade.sort(key=lambda x: order.get(x["grade"], 99))
    n = sum(x["inspected"] for x in by_grade)
    f = sum(x["found"] for x in by_grade)
    eff = measure(con, sorted(plans))
    return {"inspected": n, "found": f, "rate": regional._r(f / n) if n else None, "by_grade": by_grade,
            "plans": sorted(plans), "lift": regional._r(eff.get("lift"), 4),
            "prevalence_estimate": regional._r(eff.get("prevalence_estimate")),
            "uniform_expected_found": regional._r(eff.get("uniform_expected_found"), 2),
            "a_disturbed_share": regional._r(eff.get("a_disturbed_share"))}


def _warnings_summary(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> dict | None:
    """Alerts raised in the month (by the date of the records that raised them); None when never warned."""
    if not _has_table(con, "alerts"):
        return None
    m = "raised_on BETWEEN ? AND ?"
    n, high, members = con.execute(f"SELECT count(*), count(*) FILTER (WHERE severity = 'high'), "
                                   f"coalesce(sum(members), 0) FROM alerts WHERE {m}", [first, last]).fetchall()[0]
    entities = n and _has_table(con, "alert_members") and con.execute(
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
        "change": ({g: regional._r((prov["shares"][g] or 0) - (prev["shares"].get(g) or 0)) for g in grades}
                   | {"high_share": regional._r(prov["high_share"] - prev["high_share"])}) if prev else None,
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
        echarts_version=assets.ECHARTS_VERSION, echarts_js=Markup(assets.echarts_inline_js()),
        chart_data=_script_json(_monthly_chart_data(d, lang)),
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
        return _atomic_write(path, json.dumps(d, ensure_ascii=False, indent=2) + "\n")
    html = render_monthly_html(d, lang)
    if suffix == ".pdf":
        return html_to_pdf(html, path, chromium=chromium)
    return _atomic_write(path, html)


# --------------------------------------------------------------------------- PDF with headless Chromium
def find_chromium() -> str:
    """The Chromium to print with: ``$RISKGRADE_CHROMIUM``, else the first of chromium, chromium-browser,
    google-chrome on PATH; a clear error when there is none."""
    env = os.environ.get("RISKGRADE_CHROMIUM", "").strip()
    if env:
        exe = shutil.which(env)
        if exe is None:
            raise RiskgradeError(f"RISKGRADE_CHROMIUM={env!r} is not an executable: point it at chromium, "
                                 "or write the report as .html")
        return exe
    for name in CHROMIUM_NAMES:
        exe = shutil.which(name)
        if exe:
            return exe
    raise RiskgradeError("writing a PDF needs Chromium and none was found: install chromium (Debian: "
                         "apt-get install chromium fonts-noto-cjk) or set RISKGRADE_CHROMIUM, or write the report as .html")


def html_to_pdf(html: str, pdf: Path | str, *, chromium: str | None = None, timeout: float = PDF_TIMEOUT,
                budget_ms: int = 20000) -> Path:
    """Print an HTML page to PDF with headless Chromium (A4 and margins come from the page's ``@page`` CSS).

    The page is written to a private temporary folder and opened from there with a throw-away profile; no
    network is used.  ``budget_ms`` of virtual time lets the inline scripts draw the charts first.
    """
    pdf = Path(pdf)
    exe = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="riskgrade-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html, encoding="utf-8")
        out = Path(tmp) / "report.pdf"
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
               f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               f"--print-to-pdf={out}", f"--virtual-time-budget={int(budget_ms)}",
               "--run-all-compositor-stages-before-draw", src.as_uri()]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise RiskgradeError(f"Chromium did not finish printing the PDF within {timeout:.0f} s") from None
        except OSError as e:
            raise RiskgradeError(f"cannot run Chromium ({exe}): {e.strerror or e}") from None
        if not out.exists() or out.stat().st_size == 0:
            lines = [ln for ln in (p.stderr or "").splitlines() if ln.strip()]
            raise RiskgradeError(f"Chromium ({exe}) did not write the PDF (exit {p.returncode})"
                                 + (f": {lines[-1].strip()[:200]}" if lines else ""))
        return _atomic_write(pdf, out.read_bytes())
