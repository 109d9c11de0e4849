"""The model report (模型报告): one standalone HTML page per trained model, Chinese by default."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jinja2

from ..errors import RiskgradeError

TEXT = {
    "zh": {
        "title": "信用风险分类模型报告", "catalog": "指标体系版本", "used": "本月采用", "window": "数据窗口与效果",
        "train": "训练（截至日）", "validate": "跨时验证（截至日）", "entities": "户", "bad": "风险事件",
        "trained": "训练评分卡", "expert": "专家评分卡", "challenger": "挑战者模型（LightGBM）",
        "challenger_note": "挑战者模型仅作跨时对比，不用于分类：它显示可解释性较低的模型能多识别多少风险。",
        "target": "目标：截至日后 12 个月内抽查发现问题、受到行政处罚或列入严重违法失信名单；仅使用截至分类日已归集的记录。",
        "grades": "分类等级表（验证样本）", "grade": "等级", "cutoff": "分值下限", "share": "占比", "bad_rate": "风险事件率",
        "stability": "分值稳定性（PSI，相对训练样本）", "month": "分类月份",
        "psi_hint": "PSI < 0.1 稳定；0.1–0.25 需关注；> 0.25 显著漂移",
        "indicator_psi": "各指标分箱稳定性（PSI，相对训练样本）",
        "bias": "样本选择偏差校正（逆概率加权）", "bins": "分箱与分值（分值越高风险越高）", "indicator": "指标", "bin": "分箱",
        "count": "户数", "points": "分值",
        "monitoring": "月度监测（相对上一分类月）",
        "monitoring_note": "每月分类后，将本月分值与各指标的分布同上一分类月比较（PSI，固定分箱），并统计等级保持率与升降；"
                           "超过阈值即记录预警（riskgrade monitor 查看明细）。",
        "previous": "比较月份", "score_psi": "分值 PSI", "ind_watch": "需关注指标数", "ind_significant": "显著漂移指标数",
        "kept": "等级保持率", "up": "风险上升", "down": "风险下降", "alerts": "预警",
        "top_drift": "本月 PSI 最大的指标", "level": "状态", "changed": "分类口径变化",
        "levels": {"stable": "稳定", "watch": "需关注", "significant": "显著漂移", "n/a": "—"},
    },
    "en": {
        "title": "Credit risk classification model report", "catalog": "catalog", "used": "used this month",
        "window": "Data window and performance", "train": "Training (as of)", "validate": "Out-of-time validation (as of)",
        "entities": "entities", "bad": "outcomes", "trained": "trained scorecard", "expert": "expert scorecard",
        "challenger": "challenger (LightGBM)",
        "challenger_note": "The challenger is compared out of time only and never grades: it shows what a less "
                           "transparent model would gain.",
        "target": "Target: within 12 months after the as-of date, an inspection problem, an administrative penalty or a "
                  "serious-dishonesty listing; only records known at classification time are used.",
        "grades": "Grade table (validation sample)", "grade": "grade", "cutoff": "score from", "share": "share",
        "bad_rate": "outcome rate", "stability": "Score stability (PSI against training)", "month": "month",
        "psi_hint": "PSI < 0.1 stable; 0.1-0.25 watch; > 0.25 significant shift",
        "indicator_psi": "Stability of each indicator's bins (PSI against training)",
        "bias": "Selection-bias correction (inverse probability weighting)", "bins": "Bins and points (higher = riskier)",
        "indicator": "indicator", "bin": "bin", "count": "entities", "points": "points",
        "monitoring": "Monthly monitoring (against the previous classification month)",
        "monitoring_note": "After each monthly classification the distribution of the score and of every indicator is "
                           "compared with the previous classification month (PSI over fixed bins), with the share of "
                           "entities keeping their grade and the moves up and down; values beyond the bounds are "
                           "recorded as alerts (details: riskgrade monitor).",
        "previous": "compared with", "score_psi": "score PSI", "ind_watch": "indicators to watch",
        "ind_significant": "indicators drifting", "kept": "grade kept", "up": "riskier", "down": "less risky",
        "alerts": "alerts", "top_drift": "Indicators with the largest PSI this month", "level": "level",
        "changed": "classification changed",
        "levels": {"stable": "stable", "watch": "watch", "significant": "significant drift", "n/a": "—"},
    },
}


def render_model_report(record: dict, lang: str = "zh", names: dict[str, str] | None = None,
                        monitoring: dict | None = None) -> str:
    """The report's HTML.  ``monitoring`` ({"latest": comparison, "history": rows}, see
    :mod:`riskgrade.scoring.monitoring`) defaults to what classification stored in the record."""
    if lang not in TEXT:
        raise RiskgradeError("--lang must be zh or en")
    from ..web.assets import echarts_inline_js

    env = jinja2.Environment(autoescape=True, loader=jinja2.FileSystemLoader(
        str(resources.files("riskgrade.scoring").joinpath("templates"))))
    tpl = env.get_template("model_report.html.j2")
    d = record.get("details") or {}
    if not d:
        raise RiskgradeError(f"model {record.get('model_id')} was saved without report details; train it again")
    mon = monitoring if monitoring is not None else record.get("monitoring")
    return tpl.render(m=_Obj(record), d=_Obj(d), t=TEXT[lang], lang=lang, names=names or {},
                      echarts=echarts_inline_js(), roc_json=json.dumps(d["roc"]), mon=_Obj(mon) if mon else None)


class _Obj(dict):
    """Attribute access for the template."""

    def __getattr__(self, k):
        v = self.get(k)
        if isinstance(v, dict):
            return _Obj(v)
        if isinstance(v, list):
            return [_Obj(x) if isinstance(x, dict) else x for x in v]
        return v


def write_model_report(models_dir: Path, model_id: str, out: Path, lang: str = "zh", names: dict | None = None) -> Path:
    path = models_dir / f"{model_id}.json"
    if not path.exists():
        raise RiskgradeError(f"no record of model {model_id} in {models_dir}")
    html = render_model_report(json.loads(path.read_text(encoding="utf-8")), lang, names)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
