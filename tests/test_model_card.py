"""The model card (模型卡): a hand-made record of the new format and one written before it, in Chinese and
English: headings, verdicts either way, the risk-direction table, translated reasons, no raw English in the
Chinese card outside <code>, nothing loaded from outside, and an old record rendered without a crash."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.scoring.card import render_model_card, write_model_card

NAMES = {"ar_missing_latest": "最近一个应报年度未报年报", "penalty_3y": "近三年行政处罚次数",
         "age_years": "成立年限（年）", "honor_3y": "近三年获得荣誉", "change_legal_rep_1y": "近一年法定代表人变更次数",
         "complaints_90d": "近 90 天投诉举报件数", "domain_food_level": "食品生产经营风险分级", "entity_type": "主体类型"}
LEFT_OUT = {
    "honor_3y": "information value below the selection threshold",
    "change_legal_rep_1y": "one bin only: the data do not support its declared direction",
    "complaints_90d": "its points would run against its bins' bad rates next to the other indicators "
                      "(a correlated indicator carries its risk)",
}


def _new_record() -> dict:
    """A trained model's record as train_candidate writes it (small), better than the expert scorecard and the
    approved model, one selected indicator failing the direction check (which cannot happen in training: the
    card must still show it)."""
    ci = lambda v, lo, hi: {"value": v, "low": lo, "high": hi}  # noqa: E731
    weights = {"method": "propensity", "observed_bad": 821, "without_outcome": 13773, "inspected_without_outcome": 4197,
               "plan_probabilities": 12, "trim_floor": 0.21308, "trimmed": 42, "weight_min": 1.5757,
               "weight_max": 4.8805, "effective_size": 4068.7}
    return {
        "used": "expert", "reason": "trained scorecard trained-2026-09-30-abcd1234: out-of-time AUC 0.671 ...",
        "train_as_of": "2024-09-30", "validate_as_of": "2025-09-30", "as_of": "2026-09-30",
        "train_rows": 5018, "train_bad": 2499, "validate_rows": 5451, "validate_bad": 2799,
        "auc_trained": 0.671, "ks_trained": 0.25, "auc_expert": 0.645, "ks_expert": 0.22,
        "auc_challenger": 0.66, "ks_challenger": 0.24, "selected": ["ar_missing_latest", "penalty_3y", "age_years"],
        "weighting": "propensity: 821 entities with an outcome observed for all (weight 1); ...",
        "model_id": "trained-2026-09-30-abcd1234", "cutoffs": {"B": 688.69, "C": 754.52, "D": 802.2},
        "expert_calibration": [2.844, -1.033], "inspection_calibration": [10.972, -7.854],
        "better_than_expert": True, "catalog_version": "2027.01-1", "features": [],
        "scored_months": {"2026-09-30": 0.0181}, "indicator_psi": {"2026-09-30": {"penalty_3y": 0.0004}},
        "details": {
            "bins": [
                {"indicator": "ar_missing_latest", "bin": "(-inf, 0.50)", "count": 13490, "event_rate": 0.3976,
                 "woe": 0.0703, "points": -2.1, "contribution": 0.0},
                {"indicator": "ar_missing_latest", "bin": "[0.50, inf)", "count": 1101, "event_rate": 0.6222,
                 "woe": -0.8438, "points": 24.9, "contribution": 26.93},
                {"indicator": "penalty_3y", "bin": "(-inf, 0.50)", "count": 13287, "event_rate": 0.3975,
                 "woe": 0.071, "points": -0.4, "contribution": -0.0},
                {"indicator": "penalty_3y", "bin": "[0.50, inf)", "count": 1306, "event_rate": 0.5888,
                 "woe": -0.7041, "points": 4.0, "contribution": 4.38},
                {"indicator": "age_years", "bin": "(-inf, 0.74)", "count": 1128, "event_rate": 0.4991,
                 "woe": -0.3417, "points": 31.8, "contribution": 31.59},
                {"indicator": "age_years", "bin": "[0.74, 2.51)", "count": 2092, "event_rate": 0.3706,
                 "woe": 0.1858, "points": -18.3, "contribution": -18.52},
                {"indicator": "age_years", "bin": "[2.51, inf)", "count": 11355, "event_rate": 0.4151,
                 "woe": -0.0021, "points": 0.2, "contribution": 0.0},
                {"indicator": "age_years", "bin": "Missing", "count": 15, "event_rate": 0.4,
                 "woe": -0.0021, "points": 0.2, "contribution": 0.0},
            ],
            "directions": [
                {"indicator": "ar_missing_latest", "direction": "up", "selected": True, "forced": False,
                 "left_out": None, "ok": False, "points": [24.86, -2.07]},
                {"indicator": "penalty_3y", "direction": "up", "selected": True, "forced": False, "left_out": None,
                 "ok": True, "points": [-0.4, 4.0]},
                {"indicator": "age_years", "direction": "either", "selected": True, "forced": False,
                 "left_out": None, "ok": True, "points": [31.79, -18.3, 0.2]},
                {"indicator": "honor_3y", "direction": "down", "selected": False, "forced": False,
                 "left_out": LEFT_OUT["honor_3y"], "ok": True, "points": []},
                {"indicator": "change_legal_rep_1y", "direction": "up", "selected": False, "forced": False,
                 "left_out": LEFT_OUT["change_legal_rep_1y"], "ok": True, "points": []},
                {"indicator": "complaints_90d", "direction": "up", "selected": False, "forced": False,
                 "left_out": LEFT_OUT["complaints_90d"], "ok": True, "points": []},
                {"indicator": "entity_type", "direction": "either", "selected": False, "forced": False,
                 "left_out": LEFT_OUT["honor_3y"], "ok": True, "points": []},
            ],
            "left_out": LEFT_OUT,
            "base": 672.22,
            "references": {"ar_missing_latest": 0.0, "penalty_3y": 0.0, "age_years": 7.0089},
            "roc": {"trained": [[0, 0], [0.5, 0.7], [1, 1]], "expert": [[0, 0], [0.5, 0.66], [1, 1]],
                    "challenger": [[0, 0], [0.5, 0.68], [1, 1]]},
            "bootstrap": {"reps": 200, "rows": 5451,
                          "auc": {"trained": ci(0.671, 0.658, 0.684), "expert": ci(0.645, 0.632, 0.661),
                                  "challenger": ci(0.66, 0.646, 0.673), "approved": ci(0.65, 0.637, 0.663)},
                          "diff": {"trained-expert": ci(0.026, 0.012, 0.039),
                                   "challenger-trained": ci(-0.011, -0.022, 0.001),
                                   "trained-approved": ci(0.021, 0.007, 0.034)}},
            "margin": 0.005,
            "versus_approved": {"model_id": "trained-2025-09-30-0bad0bad", "value": 0.021, "low": 0.007,
                                "high": 0.034, "better": True, "churn": 0.137},
            "grades_validation": [
                {"grade": "A", "entities": 2637, "share": 0.5517, "bad": 1003, "bad_rate": 0.3313},
                {"grade": "B", "entities": 1949, "share": 0.3411, "bad": 1101, "bad_rate": 0.4850},
                {"grade": "C", "entities": 534, "share": 0.0710, "bad": 410, "bad_rate": 0.6953},
                {"grade": "D", "entities": 331, "share": 0.0362, "bad": 285, "bad_rate": 0.8010}],
            "calibration": [{"bin": k, "entities": 545, "predicted": 0.1 * k - 0.05, "observed": 0.1 * k - 0.04}
                            for k in range(1, 11)],
            "inspection_calibration_table": [{"bin": k, "entities": 501, "predicted": 0.08 * k,
                                              "observed": 0.08 * k + 0.01} for k in range(1, 11)],
            "psi_validation": 0.0039,
            "score_edges": [600.0, 700.0], "train_score_shares": [0.3, 0.4, 0.3],
            "weights_train": weights, "weights_validation": {**weights, "observed_bad": 931},
            "outcomes": {
                "version": "2027.01-1", "horizon_months": 12,
                "inspection": {"results": ["corrected", "problem", "unreachable", "refused", "not_operating"],
                               "basis": "《企业信息公示暂行条例》第十七条"},
                "observed_for_all": [
                    {"event_type": "admin_penalty", "when": None, "basis": "《行政处罚法》", "enabled": True},
                    {"event_type": "serious_dishonest_in", "when": None, "basis": "《市场监督管理严重违法失信名单管理办法》",
                     "enabled": True},
                    {"event_type": "complaint", "when": "amount = 1", "basis": "投诉举报经核查属实", "enabled": False}],
                "weighting": {"method": "propensity", "trim_quantile": 0.01, "min_propensity": 0.005},
                "governance": {"margin": 0.005, "bootstrap": 200, "auto_approve_first": True, "max_age_months": 12}},
            "outcomes_version": "2027.01-1", "outcomes_fingerprint": "d97fad5cd716e3de",
            "predicted_bad_rate": 0.4186, "observed_bad_rate": 0.4266,
            "fused_domains": {"forced": ["domain_food_level"], "kept": [], "left_out": ["domain_food_level"]},
        },
    }


def _not_better() -> dict:
    r = copy.deepcopy(_new_record())
    d = r["details"]
    d["bootstrap"]["diff"]["trained-expert"] = {"value": 0.004, "low": -0.008, "high": 0.015}
    d["bootstrap"]["diff"]["trained-approved"] = {"value": 0.001, "low": -0.01, "high": 0.012}
    d["versus_approved"].update(value=0.001, low=-0.01, high=0.012, better=False)
    r["better_than_expert"] = False
    return r


def _old_record() -> dict:
    """A record written before the model card: no intervals, outcome definition, weights, directions,
    calibration or references; bins without contributions."""
    return {
        "model_id": "trained-2026-03-31-0123abcd", "catalog_version": "2026.12-1", "used": "trained",
        "train_as_of": "2024-03-31", "validate_as_of": "2025-03-31", "train_rows": 1000, "train_bad": 150,
        "validate_rows": 1100, "validate_bad": 160, "auc_trained": 0.71, "ks_trained": 0.3, "auc_expert": 0.7,
        "ks_expert": 0.29, "auc_challenger": None, "reason": "trained scorecard", "weighting": "none",
        "cutoffs": {"B": 300, "C": 500, "D": 700}, "scored_months": {},
        "details": {"roc": {"trained": [[0, 0], [1, 1]], "expert": [[0, 0], [1, 1]]}, "psi_validation": 0.01,
                    "grades_validation": [{"grade": "A", "entities": 10, "share": 0.5, "bad": 1, "bad_rate": None}],
                    "bins": [{"indicator": "penalty_3y", "bin": "[0.50, inf)", "count": 10, "event_rate": 0.5,
                              "woe": -0.7, "points": 4.0}]},
    }


def _visible(html: str) -> str:
    """The page's visible text outside <code>: no head, script, style or tags."""
    html = re.sub(r"<(head|script|style|code)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _row(html: str, code: str) -> str:
    """The direction table's row of an indicator."""
    rows = re.findall(r'<tr class="dir[^"]*">.*?</tr>', html, flags=re.S)
    found = [r for r in rows if f"<code>{code}</code>" in r]
    assert len(found) == 1, code
    return found[0]


def test_chinese_card_of_a_new_record() -> None:
    html = render_model_card({**_new_record(), "status": "candidate"}, "zh", NAMES)
    assert '<html lang="zh-CN">' in html and "信用风险分类模型报告" in html and "模型卡" in html
    for heading in ("审核要点", "一、数据窗口", "二、训练目标", "三、样本选择偏差校正（逆概率加权）", "四、效果对比",
                    "五、风险方向检查", "六、校准表", "七、等级分布", "八、稳定性", "九、分箱与分值", "审核意见"):
        assert f"{heading}" in html, heading
    # header: status, versions, as-of
    assert "候选" in html and "2027.01-1" in html and "d97fad5cd716e3de" in html and "2026-09-30" in html
    # windows and the outcome definition in Chinese words with their basis
    assert "2024-09-30 之后至 2025-09-30" in html and "5,018" in html and "2,499" in html and "14,594" in html
    for words in ("发现问题已责令改正", "发现问题待后续处理", "通过登记的住所（经营场所）无法联系", "不配合检查情节严重",
                  "未发现开展本次抽查涉及的经营活动", "行政处罚", "列入严重违法失信名单", "投诉举报（属实）",
                  "《企业信息公示暂行条例》第十七条", "不计入（已关闭）"):
        assert words in html, words
    # weighting in plain words and figures
    assert "倾向得分加权（逆概率加权）" in html and "1 ÷ 它被检查的概率" in html
    assert "4,197" in html and "1.58 – 4.88" in html and "4,069" in html and "0.2131" in html
    # every statistic explained
    assert "随机抽取一个有风险事件和一个无风险事件的主体，模型把前者排在更高风险位置的概率" in html
    assert "分值累计分布之间的最大差距" in html and "重复抽样 200 次" in html
    # verdicts: better than the expert scorecard and than the approved model, with the churn
    assert "结论：训练评分卡优于专家评分卡（置信区间下限 +0.012 高于阈值 0.005）" in html
    assert "结论：训练评分卡优于已批准模型 <code>trained-2025-09-30-0bad0bad</code>（置信区间下限 +0.007 高于阈值 0.005）" in html
    assert "等级变动比例：验证样本中 13.7% 的主体" in html
    assert "0.658 – 0.684" in html and "+0.026" in html and "−0.022 – +0.001" in html
    assert 'id="roc"' in html and "echarts" in html
    # direction table: every indicator, its direction in Chinese, ✗ on the failing row, reasons translated
    bad = _row(html, "ar_missing_latest")
    assert "✗" in bad and "推高风险" in bad and "最近一个应报年度未报年报" in bad and 'class="dir fail"' in bad
    assert "✓" in _row(html, "penalty_3y") and "无法定方向" in _row(html, "age_years")
    honor = _row(html, "honor_3y")
    assert "降低风险" in honor and "未入选" in honor and "信息值低于入选阈值" in honor and "✓" not in honor
    assert "数据不支持其声明方向（仅一个分箱）" in _row(html, "change_legal_rep_1y")
    assert "与相关指标共线、其分值将与风险方向相反，已剔除" in _row(html, "complaints_90d")
    assert "共 7 个指标，入选 3 个，方向检查不符合 1 个。" in html
    assert "1 个入选指标的分值与声明的风险方向不符" in html  # in the review points too
    assert "食品生产经营风险分级" in html and "训练样本中无该指标的数据" in html  # the fused domain left out
    # calibration, grades, stability
    assert "预测不良率 41.9%，实际不良率 42.7%" in html and "检查发现不良结果的概率" in html and "a = 10.972" in html
    assert "&lt; 688.69" in html and "688.69 – 754.52" in html and "≥ 802.20" in html and "80.1%" in html
    assert "风险事件率随等级 A→D 逐级升高" in html and "PSI = 0.004（稳定）" in html
    assert "各指标分箱稳定性" in html and "0.0181" in html
    # bins relative to the reference
    assert "相对参考值的分值" in html and "基准分 672.22" in html
    assert "得分 = 基准分 + 各指标相对参考值的分值之和，截取至 0–1000" in html
    assert "+26.93" in html and "−18.52" in html and "7.01" in html and "缺失（无数据）" in html
    assert "≥ 2.51" in html and "0.74 – 2.51" in html and ">−0.00<" not in html and ">+0.00<" not in html
    # print on A4, nothing from outside
    assert "@page { size: A4" in html and "@media print" in html
    assert 'src="http' not in html and "http://" not in html and "https://" not in html


def test_no_english_outside_code_in_the_chinese_card() -> None:
    for record in (_new_record(), _not_better(), _old_record()):
        words = set(re.findall(r"[A-Za-z][A-Za-z_-]+", _visible(render_model_card(record, "zh", NAMES))))
        # statistics keep their usual abbreviations (each explained), the challenger its library's name
        assert words <= {"AUC", "KS", "PSI", "ROC", "WoE", "LightGBM", "nbsp", "lt", "gt"}, words


def test_not_better_verdicts() -> None:
    html = render_model_card(_not_better(), "zh", NAMES)
    assert "结论：训练评分卡未显著优于专家评分卡（置信区间下限 −0.008 未高于阈值 0.005）" in html
    assert ("结论：训练评分卡未显著优于已批准模型 <code>trained-2025-09-30-0bad0bad</code>"
            "（置信区间下限 −0.010 未高于阈值 0.005）") in html
    assert "优于专家评分卡（置信区间下限 +" not in html
    en = render_model_card(_not_better(), "en", NAMES)
    assert "not significantly better than the expert scorecard (lower end of the interval −0.008" in en
    # no approved model when it was trained
    r = _not_better()
    del r["details"]["versus_approved"], r["details"]["bootstrap"]["diff"]["trained-approved"]
    assert "训练时尚无已批准模型，未与之对比。" in render_model_card(r, "zh", NAMES)


def test_english_card() -> None:
    html = render_model_card(_new_record(), "en", {})
    assert '<html lang="en">' in html and "Credit risk classification model report" in html
    for heading in ("1. Data windows", "2. Outcome definition", "3. Selection-bias correction", "4. Performance",
                    "5. Risk-direction check", "6. Calibration", "7. Grades", "8. Stability", "9. Bins and points"):
        assert heading in html, heading
    assert "Verdict: the trained scorecard is better than the expert scorecard (lower end of the interval +0.012" in html
    assert "problem found, corrected" in html and "administrative penalty" in html
    assert "information value below the selection threshold" in html and "✗" in _row(html, "ar_missing_latest")
    assert "points relative to the reference" in html


def test_status_and_approval() -> None:
    r = {**_new_record(), "status": "approved", "approved_by": "省局信用监管处", "approved_at": "2026-10-08 10:12:00"}
    html = render_model_card(r, "zh", NAMES)
    assert "已批准" in html and "省局信用监管处" in html and "2026-10-08 10:12:00" in html
    assert "已停用" in render_model_card(_new_record(), "zh", NAMES, status="retired")
    assert "retired" in render_model_card(_new_record(), "en", NAMES, status="retired")
    no_status = render_model_card(_new_record(), "zh", NAMES)
    assert "已批准</dd>" not in no_status and "候选" not in no_status
    with pytest.raises(RiskgradeError, match="status"):
        render_model_card(_new_record(), "zh", NAMES, status="published")
    with pytest.raises(RiskgradeError, match="zh or en"):
        render_model_card(_new_record(), "fr")


def test_an_old_record_renders_what_it_has() -> None:
    for lang in ("zh", "en"):
        html = render_model_card(_old_record(), lang, NAMES)
        assert "—" in html and 'src="http' not in html
    html = render_model_card(_old_record(), "zh", NAMES)
    assert "本记录由较早版本生成" in html and "置信区间" in html and "训练目标定义" in html
    assert "2025-03-31 之后至 2026-03-31" in html  # the validation window ends a horizon later
    assert "结论：训练评分卡的 AUC 高于专家评分卡（旧版记录无置信区间" in html and "旧版记录未保存加权明细。" in html and "0.710" in html
    assert "旧版记录未保存风险方向检查" in html and "旧版记录未保存校准表" in html
    assert "近三年行政处罚次数" in html and "+4.0" not in html and "4.0" in html  # points before the reference
    assert "相对参考值的分值" not in html
    # a record with only what the first trained models kept, and one without any details
    bare = {"model_id": "m", "details": {"bins": []}}
    assert "—" in render_model_card(bare, "zh") and "—" in render_model_card(bare, "en")
    with pytest.raises(RiskgradeError, match="without report details"):
        render_model_card({"model_id": "m"}, "zh")


def test_write_model_card(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "trained-2026-09-30-abcd1234.json").write_text(json.dumps(_new_record(), ensure_ascii=False),
                                                             encoding="utf-8")
    out = write_model_card(models, "trained-2026-09-30-abcd1234", tmp_path / "out" / "card.html", "zh", NAMES,
                             status="candidate")
    html = out.read_text(encoding="utf-8")
    assert "候选" in html and "五、风险方向检查" in html
    with pytest.raises(RiskgradeError, match="no record"):
        write_model_card(models, "nope", tmp_path / "x.html")


def test_horvitz_thompson_weighting_is_named() -> None:
    r = _new_record()
    r["details"]["weights_train"] = {"method": "horvitz_thompson", "plan_weighted": 120}
    html = render_model_card(r, "zh", NAMES)
    assert "按抽查计划入选概率加权 <code>Horvitz-Thompson</code>" in html and "倾向得分加权（逆概率加权）" in html
    assert "按计划入选概率加权的主体" in html and ">120<" in html
    words = set(re.findall(r"[A-Za-z][A-Za-z_-]+", _visible(html)))
    assert "Horvitz" not in words and "Thompson" not in words
