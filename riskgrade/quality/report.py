"""The data-quality report (数据质量监测评估报告): one standalone HTML file, or JSON.

The HTML page needs no network: Apache ECharts (vendored in
``riskgrade/web/static``) and the chart data are inlined, the styles are
inline, and the page holds no ``http://`` or ``https://`` text.  Every table
is plain HTML, so the figures are readable with JavaScript off or in print.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from .. import render
from ..errors import RiskgradeError
from . import calendar as wcal
from .measures import TABLE_NAMES_ZH, reason_en, reason_zh

LANGS = ("zh", "en")

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "title": "数据质量监测评估报告",
        "scope_all": "全部批次",
        "scope_one": "第 {n} 批次",
        "deliveries": "批次数",
        "loaded": "入库时间",
        "generated": "生成时间",
        "summary": "总体情况",
        "card_rows": "读取记录数",
        "card_rows_sub": "接收 {a} · 合并 {m} · 隔离 {q}",
        "card_validity": "有效率",
        "card_validity_sub": "重复率 {d}",
        "card_attribution": "记名率（涉企信息）",
        "card_attribution_sub": "目标 ≥ {t}；未记名 {u} 条",
        "card_timely": "{d} 个工作日内归集占比",
        "card_timely_sub": "中位数 {m} 个工作日；超期 {l} 条",
        "card_completeness": "字段完整率",
        "card_completeness_sub": "全部字段填报单元格占比",
        "pass": "达标",
        "fail": "未达标",
        "na": "无数据",
        "tables": "一、各数据表质量",
        "table": "数据表",
        "source": "来源部门",
        "no_source": "（未注明来源）",
        "read": "读取",
        "accepted": "接收",
        "merged": "合并（重复）",
        "quarantined": "隔离",
        "revisions": "其中更正",
        "validity": "有效率",
        "duplicate": "重复率",
        "by_source": "二、涉企信息按来源部门",
        "unmapped_sources": "未对应部门的来源（分办表无此部门）",
        "unmapped_note": "以下来源部门在分办表（routing.yaml）中没有对应部门，其预警无法按“谁审批、谁监管”分办；请在分办表中补充部门代码或别名。分办表版本：",
        "attribution": "记名率",
        "unattributed": "未记名",
        "timely_share": "{d}日内占比",
        "reasons": "三、隔离原因分析",
        "reason": "原因代码",
        "explanation": "说明",
        "rows": "记录数",
        "share": "占隔离比例",
        "share_of_read": "占读取比例",
        "no_reasons": "没有被隔离的记录。",
        "completeness": "四、字段完整性",
        "field": "字段",
        "all_sources": "合计",
        "completeness_note": "完整率 = 字段非空的记录数 ÷ 格式正确的读取记录数；颜色越红完整性越差。",
        "timeliness": "五、归集及时性",
        "timeliness_note": (
            "及时性 = 发生日期至归集日期之间的工作日数（不含发生当日，含归集当日），"
            "仅统计来源提供了归集日期的记录；目标：{d} 个工作日内归集（通化标准）。"
        ),
        "calendar_note": (
            "工作日依据国务院办公厅公布的节假日安排（含调休上班日，{first} 至 {last}，"
            "chinesecalendar {version}）：{off} 条按官方日历计算；"
            "{fb} 条超出官方日历年份，按“仅周末休息”计算。"
        ),
        "histogram": "归集用时分布（工作日）",
        "with_reported": "有归集日期",
        "without_reported": "无归集日期",
        "median": "中位数",
        "p90": "90分位",
        "within": "{d}日内",
        "late": "超期",
        "before_event": "早于发生日期",
        "status": "是否达标",
        "attribution_section": "六、记名率",
        "attribution_note": (
            "记名率 = 可归于库内市场主体并被接收（含合并）的记录 ÷ 读取记录；目标 ≥ {t}。"
            "“未记名”为统一社会信用代码有效但库中无此主体的记录。"
        ),
        "attributed": "已记名",
        "other_quarantined": "其他原因隔离",
        "delivery": "批次",
        "trend": "七、批次趋势",
        "trend_chart": "各批次读取量与质量指标",
        "path": "数据来源路径",
        "files": "八、无法读取的文件",
        "no_files": "所有文件均已读取。",
        "format": "格式",
        "encoding": "编码",
        "file_reason": "原因",
        "ignored": "已忽略的文件",
        "reason_chart": "隔离原因分布",
        "unreadable_count": "无法读取文件数",
        "footer": "本报告由 riskgrade 生成；图表使用 Apache ECharts {v}（Apache-2.0 许可）。",
        "noscript": "图表需要启用 JavaScript；各项数据见表格。",
        "workdays": "工作日",
        "rate_axis": "比率",
    },
    "en": {
        "html_lang": "en",
        "title": "Data quality monitoring report",
        "scope_all": "all deliveries",
        "scope_one": "delivery {n}",
        "deliveries": "Deliveries",
        "loaded": "Loaded",
        "generated": "Generated",
        "summary": "Summary",
        "card_rows": "Rows read",
        "card_rows_sub": "accepted {a} · merged {m} · quarantined {q}",
        "card_validity": "Validity rate",
        "card_validity_sub": "duplicate rate {d}",
        "card_attribution": "Attribution rate (events)",
        "card_attribution_sub": "target ≥ {t}; {u} unattributed",
        "card_timely": "Reported within {d} working days",
        "card_timely_sub": "median {m} working days; {l} late",
        "card_completeness": "Field completeness",
        "card_completeness_sub": "share of filled cells over all fields",
        "pass": "meets target",
        "fail": "below target",
        "na": "no data",
        "tables": "1. Quality per table",
        "table": "Table",
        "source": "Source",
        "no_source": "(no source given)",
        "read": "Read",
        "accepted": "Accepted",
        "merged": "Merged (duplicates)",
        "quarantined": "Quarantined",
        "revisions": "of which revisions",
        "validity": "Validity",
        "duplicate": "Duplicates",
        "by_source": "2. Events per source department",
        "unmapped_sources": "Sources matching no department (routing table)",
        "unmapped_note": "These source departments match no department of the routing table (routing.yaml): their "
                         "alerts cannot follow 谁审批、谁监管; add them as department codes or aliases. Routing table version:",
        "attribution": "Attribution",
        "unattributed": "Unattributed",
        "timely_share": "≤{d} days",
        "reasons": "3. Quarantine reasons",
        "reason": "Reason code",
        "explanation": "Meaning",
        "rows": "Rows",
        "share": "Share of quarantined",
        "share_of_read": "Share of read",
        "no_reasons": "No rows were quarantined.",
        "completeness": "4. Field completeness",
        "field": "Field",
        "all_sources": "All",
        "completeness_note": "Completeness = rows where the field is filled / well-formed rows read; redder is worse.",
        "timeliness": "5. Timeliness",
        "timeliness_note": (
            "Working days from the event date to the reported date (excluding the event day, including the "
            "reported day), for rows whose source gave a reported date; target: within {d} working days (Tonghua rule)."
        ),
        "calendar_note": (
            "Working days follow the official Chinese holiday schedule including make-up working days "
            "({first} to {last}, chinesecalendar {version}) for {off} rows; {fb} rows fall outside those years "
            "and use weekends only."
        ),
        "histogram": "Working days to report",
        "with_reported": "With reported date",
        "without_reported": "Without",
        "median": "Median",
        "p90": "P90",
        "within": "≤{d} days",
        "late": "Late",
        "before_event": "Before event",
        "status": "Status",
        "attribution_section": "6. Attribution rate",
        "attribution_note": (
            "Attribution rate = rows accepted or merged (belonging to a held entity) / rows read; target ≥ {t}. "
            "Unattributed = valid USCC but no such entity held."
        ),
        "attributed": "Attributed",
        "other_quarantined": "Quarantined for other reasons",
        "delivery": "Delivery",
        "trend": "7. Trend across deliveries",
        "trend_chart": "Rows read and quality per delivery",
        "path": "Path",
        "files": "8. Unreadable files",
        "no_files": "Every file could be read.",
        "format": "Format",
        "encoding": "Encoding",
        "file_reason": "Reason",
        "ignored": "Ignored files",
        "reason_chart": "Quarantine reasons",
        "unreadable_count": "Unreadable files",
        "footer": "Generated by riskgrade; charts by Apache ECharts {v} (Apache-2.0).",
        "noscript": "Charts need JavaScript; every figure is also in the tables.",
        "workdays": "working days",
        "rate_axis": "rate",
    },
}

# Short names of the quarantine reasons for chart axes (the tables show the full explanation).
REASON_SHORT_ZH = {
    "malformed_row": "行格式错误",
    "bad_encoding": "编码混用",
    "missing_required": "必填字段为空",
    "bad_uscc": "信用代码错误",
    "bad_enum": "代码值无效",
    "unknown_event_type": "未知事件类型",
    "bad_region": "区划代码无效",
    "bad_industry": "行业代码无效",
    "bad_date": "日期无法识别",
    "future_date": "未来日期",
    "bad_number": "数值无法识别",
    "bad_amount": "数值非有限数",
    "bad_name": "姓名含数字",
    "text_too_long": "文本超长",
    "conflicting_duplicate": "同键内容冲突",
    "unattributed": "未记名",
}

TABLE_NAMES_EN = {
    "entities": "Entities",
    "events": "Events",
    "relations": "Relations",
    "inspectors": "Inspectors",
    "domain_grades": "Domain grades",
}


def _field_label(table: str, field: str, lang: str) -> str:
    from .. import contract

    spec = contract.TABLES.get(table)
    if lang == "zh" and spec is not None:
        try:
            col = spec.column(field)
        except KeyError:
            return field
        if col.aliases:
            return f"{col.aliases[0]}（{field}）"
    return field


def _environment() -> jinja2.Environment:
    env = render.environment("riskgrade.quality")
    env.filters["num"] = functools.partial(render.num, fraction=2)  # the quality report's numbers: 2 decimals
    env.filters["heat"] = render.heat_completeness
    return env


def _chart_data(m: dict, lang: str) -> dict:
    L = LABELS[lang]
    reasons: dict[str, int] = {}
    for tab in m.get("tables", {}).values():
        for code, r in tab.get("reasons", {}).items():
            reasons[code] = reasons.get(code, 0) + r["rows"]
    ordered = sorted(reasons.items(), key=lambda kv: (kv[1], kv[0]))  # ascending: largest on top
    days = m.get("timeliness", {}).get("target_workdays", 7)
    hist = m.get("timeliness", {}).get("histogram", [])
    return {
        "labels": {
            "read": L["read"],
            "validity": L["validity"],
            "attribution": L["attribution"],
            "timely": L["timely_share"].format(d=days),
            "rows": L["rows"],
            "workdays": L["workdays"],
            "rate": L["rate_axis"],
            "target": "target" if lang == "en" else "目标",
        },
        "trend": {
            "x": [f"#{t['delivery_id']}" + (f" {t['load_date']}" if t.get("load_date") else "") for t in m.get("trend", [])],
            "read": [t["read"] for t in m.get("trend", [])],
            "validity": [t["validity_rate"] for t in m.get("trend", [])],
            "attribution": [t["attribution_rate"] for t in m.get("trend", [])],
            "timely": [t["timeliness_within_share"] for t in m.get("trend", [])],
            "attribution_target": m.get("targets", {}).get("attribution_rate", 0.8),
        },
        "reasons": {
            "names": [f"{REASON_SHORT_ZH.get(c, c)} ({c})" if lang == "zh" else c for c, _ in ordered],
            "rows": [n for _, n in ordered],
        },
        "histogram": {
            "x": [b["label"] for b in hist],
            "rows": [b["rows"] for b in hist],
            "late": [b["min"] is not None and b["min"] > days for b in hist],
        },
    }


def render_html(measures: dict, lang: str = "zh") -> str:
    """The report as one standalone HTML page (Chinese by default, ``lang="en"`` for English)."""
    if lang not in LANGS:
        raise RiskgradeError(f"unknown report language {lang!r} (use one of: {', '.join(LANGS)})")
    m = measures
    L = LABELS[lang]
    table_names = TABLE_NAMES_ZH if lang == "zh" else TABLE_NAMES_EN
    cal = m.get("calendar") or {}
    fields = {
        t: {f: _field_label(t, f, lang) for f in c.get("fields", {})} for t, c in m.get("completeness", {}).items()
    }
    explain = reason_zh if lang == "zh" else reason_en
    chart_json = json.dumps(_chart_data(m, lang), ensure_ascii=False)
    return _environment().get_template("quality.html.j2").render(
        m=m,
        L=L,
        lang=lang,
        table_name=lambda t: table_names.get(t, t),
        source_name=lambda s: s if s else L["no_source"],
        field_name=lambda t, f: fields.get(t, {}).get(f, f),
        explain=explain,
        cal=cal,
        echarts_version=render.ECHARTS_VERSION,
        echarts_js=Markup(render.echarts_inline_js()),
        chart_data=Markup(render.inline_script(chart_json).replace("<", "\\u003c")),
        official_first=cal.get("official_range", [wcal.OFFICIAL_FIRST.isoformat()])[0],
        official_last=cal.get("official_range", [None, wcal.OFFICIAL_LAST.isoformat()])[1],
    )


def write_report(measures: dict, path: Path | str, lang: str = "zh") -> Path:
    """Write the report to ``path``: ``.html``/``.htm`` -> :func:`render_html`, ``.json`` -> the measures.

    The file is written atomically (a temporary file renamed over it).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        text = render_html(measures, lang)
    elif suffix == ".json":
        text = json.dumps(measures, ensure_ascii=False, indent=2) + "\n"
    else:
        raise RiskgradeError(f"cannot write a quality report as {path.name!r}: use a .html or .json file name")
    render.atomic_write(path, text)
    return path
