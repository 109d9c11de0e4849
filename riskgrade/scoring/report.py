"""The model card (模型卡): one standalone HTML page per trained model that a credit department can review
and sign off, Chinese by default (``lang="en"`` for English).

The record of a trained model (``<home>/models/<id>.json``, :func:`riskgrade.scoring.train.train_candidate`)
is turned into plain figures with a one-line explanation each: the data windows, the outcome the model
predicts (with its policy basis), the correction for who was inspected, the out-of-time comparison with
the expert scorecard, the challenger and the approved model (95% bootstrap intervals and a verdict), the
risk-direction check of every indicator, calibration, the grade table, stability and monitoring, and the
bins with their points relative to each indicator's reference.  Records written before a field existed
render what they have; a missing figure shows as "—".  The page loads nothing from outside (ECharts is
inlined) and prints on A4.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ..contract import ENTITY_TYPES, EVENT_TYPE_NAMES_ZH
from ..errors import RiskgradeError
from ..inspection.results import RESULT_ZH
from ..web.i18n import INSPECTION_EN

DASH = "—"
TEMPLATE = "model_report.html.j2"
STATUSES = ("candidate", "approved", "retired")
PSI_WATCH, PSI_SIGNIFICANT = 0.1, 0.25
EVENT_EN = {"admin_penalty": "administrative penalty", "serious_dishonest_in": "listed as seriously dishonest",
            "complaint": "complaint"}

TEXT = {
    "zh": {
        "title": "信用风险分类模型报告（模型卡）",
        "subtitle": "供信用监管部门审核、批准使用",
        "model_id": "模型编号", "status": "状态", "catalog": "指标体系版本", "outcomes_version": "训练目标版本",
        "as_of": "建模截至日", "approved_by": "批准人", "approved_at": "批准时间", "used": "分类采用",
        "status_names": {"candidate": "候选", "approved": "已批准", "retired": "已停用"},
        "used_names": {"trained": "训练评分卡", "expert": "专家评分卡"},
        "status_none": "未登记（不在模型管理清单中）",
        # summary
        "s_summary": "审核要点",
        "summary_note": "以下为本页各节的结论摘要；✓ 表示符合要求，! 表示需要审核人关注。",
        "old_record": "本记录由较早版本生成，未保存{items}，相应内容以“—”表示。",
        "old_items": {"bootstrap": "置信区间", "outcomes": "训练目标定义", "weights_train": "加权明细",
                      "directions": "风险方向检查", "calibration": "校准表", "references": "参考值与基准分"},
        "item_sep": "、",
        "flag_directions_ok": "全部入选指标的分值均符合其声明的风险方向。",
        "flag_directions_bad": "{n} 个入选指标的分值与声明的风险方向不符（✗），不应批准。",
        "flag_grades_ok": "验证样本中风险事件率随等级 A→D 逐级升高。",
        "flag_grades_bad": "验证样本中风险事件率未随等级 A→D 逐级升高。",
        "flag_psi": "验证样本相对训练样本的分值稳定性 PSI = {psi}（{level}）。",
        "flag_no_approved": "训练时尚无已批准模型，未与之对比。",
        # 1 windows
        "s_window": "一、数据窗口",
        "window_note": "模型用较早的数据学习，再用较晚、未参与训练的数据检验（跨时验证）。每个样本取截至日的指标，"
                       "观察其后 {h} 个月内是否出现不良结果；所有记录只使用截至 {known} 已归集的部分。",
        "sample": "样本", "train": "训练样本", "validate": "验证样本（跨时）", "ind_as_of": "指标截至日",
        "outcome_window": "结果观察期", "rows": "加权样本户数", "bad": "其中出现不良结果",
        "represented": "代表的全部主体",
        "rows_note": "加权样本户数：直接观察到不良结果的主体与被检查过的主体之和（见第三节）；代表的全部主体：加权后样本代表的主体总数。",
        "window_range": "{a} 之后至 {b}",
        # 2 outcomes
        "s_outcomes": "二、训练目标（什么算“不良结果”）",
        "outcomes_note": "模型预测的是：指标截至日后 {h} 个月内，主体是否出现下列任一不良结果。",
        "outcome": "不良结果", "scope": "可观察范围", "basis": "政策依据", "enabled": "是否计入",
        "scope_inspection": "仅被检查的主体", "scope_all": "全部主体",
        "inspection_result": "抽查检查结果：{r}", "yes": "计入", "no": "不计入（已关闭）",
        "when": "附加条件", "substantiated": "（属实）",
        "outcomes_old": "旧版记录未保存训练目标定义。当时的目标：截至日后 12 个月内抽查发现问题、受到行政处罚或列入严重违法失信名单。",
        "outcomes_uninspected": "未被检查的主体不等于“没有问题”：第三节说明如何校正。",
        # 3 weighting
        "s_weighting": "三、样本选择偏差校正（逆概率加权）",
        "method": "方法",
        "methods": {
            "propensity": "倾向得分加权（逆概率加权）",
            "horvitz_thompson": Markup("按抽查计划入选概率加权 <code>Horvitz-Thompson</code>"),
            "naive": "未校正（未被检查视为无问题）",
        },
        "method_notes": {
            "propensity": ["问题：过去的检查多为定向检查（如因投诉举报、列入名单而检查），被检查的主体比一般主体风险更高；"
                           "若把未被检查的主体一律当作“没有问题”，模型会低估风险、也会学偏。",
                           "做法：受到行政处罚、列入严重违法失信名单等对所有主体都能观察到的不良结果直接计入（权重 1）；其余主体由"
                           "其中被检查过的主体代表，每个被检查主体的权重为“1 ÷ 它被检查的概率”（有抽查计划记录的用计划的入选概率，"
                           "其余用模型估计的概率）——越不容易被检查的主体，代表的同类主体越多。",
                           "截尾：被检查概率过小的按下限计算，以免个别主体权重过大。"],
            "horvitz_thompson": ["按抽查计划被抽中的主体，权重为“1 ÷ 入选概率”；其余主体权重为 1，未被检查的视为无问题"
                                 "（旧方法，仅供对比）。"],
            "naive": ["未被检查的主体一律视为无问题，未作校正（仅供对比，不宜据此批准）。"],
        },
        "w_item": "项目", "w_explain": "说明",
        "w_rows": {
            "observed_bad": ("直接观察到不良结果的主体", "权重为 1"),
            "without_outcome": ("无直接观察结果的主体", "由下一行的主体代表"),
            "inspected_without_outcome": ("其中被检查过、用作代表的主体", "每个代表若干未被检查的同类主体"),
            "plan_probabilities": ("其中使用抽查计划入选概率的", "其余用模型估计的被检查概率"),
            "trim_floor": ("被检查概率下限（截尾点）", "低于此值的按此值计算权重"),
            "trimmed": ("被截尾的主体", "被检查概率低于下限的主体数"),
            "weight_range": ("代表主体的权重范围", "最小值 – 最大值"),
            "effective_size": ("有效样本量", "加权后相当于多少个等权重的主体；越接近被检查主体数，估计越稳定"),
            "plan_weighted": ("按计划入选概率加权的主体", "其余主体权重为 1"),
        },
        "weighting_old": "旧版记录未保存加权明细。", "weighting_note": "训练记录原文：",
        # 4 performance
        "s_performance": "四、效果对比（跨时验证样本）",
        "explain_auc": "随机抽取一个有风险事件和一个无风险事件的主体，模型把前者排在更高风险位置的概率；0.5 相当于随机排序，越接近 1 越好。",
        "explain_ks": "有风险事件的主体与无风险事件的主体，其分值累计分布之间的最大差距；0 表示无法区分，越大区分能力越强。",
        "explain_ci": "95% 置信区间：对验证样本重复抽样 {reps} 次（自助法）得到的范围，考虑抽样误差后真实值有 95% 的可能落在其中。",
        "explain_diff": "AUC 差值：两个模型 AUC 之差；只有其 95% 置信区间下限高于阈值 {margin} 时，才认为前者显著更好。",
        "model": "模型", "ci": "95% 置信区间", "comparison": "比较", "auc_diff": "AUC 差值", "verdict": "结论",
        "trained": "训练评分卡（本模型）", "expert": "专家评分卡", "challenger": "挑战者模型（LightGBM）",
        "approved": "已批准模型", "trained_short": "训练评分卡",
        "role_trained": "待审核的模型", "role_expert": "按专家设定分值的现行评分卡",
        "role_challenger": "仅作对比，不用于分类", "role_approved": "当前用于分类的模型",
        "verdict_better": "优于专家评分卡（置信区间下限 {low} 高于阈值 {margin}）",
        "verdict_not_better": "未显著优于专家评分卡（置信区间下限 {low} 未高于阈值 {margin}）",
        "verdict_better_approved": "优于已批准模型 {id}（置信区间下限 {low} 高于阈值 {margin}）",
        "verdict_not_better_approved": "未显著优于已批准模型 {id}（置信区间下限 {low} 未高于阈值 {margin}）",
        "verdict_prefix": "结论：训练评分卡",
        "verdict_point_better": "的 AUC 高于专家评分卡（旧版记录无置信区间，无法判断是否显著）",
        "verdict_point_not": "的 AUC 未高于专家评分卡（旧版记录无置信区间）",
        "churn": "等级变动比例：验证样本中 {churn} 的主体在本模型下的等级与已批准模型不同。",
        "challenger_better": "挑战者模型的 AUC 显著高于训练评分卡：可解释性较低的模型还能多识别一些风险，可作为今后改进指标的参考。",
        "challenger_not": "挑战者模型与训练评分卡无显著差异：可解释的评分卡没有明显损失识别能力。",
        "challenger_worse": "挑战者模型的 AUC 显著低于训练评分卡：可解释的评分卡没有损失识别能力。",
        "challenger_note": "挑战者模型仅作跨时对比，不用于分类：它显示可解释性较低的模型能多识别多少风险。",
        "mark_better": "显著更好", "mark_not": "不显著", "mark_worse": "显著更差",
        "roc": "ROC 曲线（验证样本）",
        "roc_note": "横轴：无风险事件主体中被排在前面的比例；纵轴：有风险事件主体中被排在前面的比例。曲线越靠左上，区分能力越强；虚线为随机排序。",
        "fpr": "误报比例", "tpr": "识别比例",
        # 5 directions
        "s_directions": "五、风险方向检查",
        "directions_note": "每个指标在指标体系中事先声明风险方向：推高风险（数值越大风险越高）、降低风险（数值越大风险越低）或"
                           "无法定方向（由数据决定）。模型只允许入选指标的分值沿声明方向变化，与声明方向不符的指标不会入选。",
        "directions_legend": "方向检查：✓ 入选且各分箱分值符合声明方向；✗ 不符合（不应出现，出现即不得批准）；— 未入选，不参与评分。",
        "directions_count": "共 {n} 个指标，入选 {k} 个，方向检查不符合 {bad} 个。",
        "indicator": "指标", "direction": "声明方向", "selection": "是否入选", "left_out_reason": "未入选原因",
        "check": "方向检查", "bin_points": "各分箱分值（按分箱顺序）",
        "directions_names": {"up": "推高风险", "down": "降低风险", "either": "无法定方向"},
        "selected": "入选", "not_selected": "未入选", "forced": "融合指标",
        "reasons": {"iv": "信息值低于入选阈值", "one_bin": "数据不支持其声明方向（仅一个分箱）",
                    "against": "与相关指标共线、其分值将与风险方向相反，已剔除", "no_data": "训练样本中无该指标的数据",
                    "other": "其他原因"},
        "fused_note": "专业领域融合指标（指标融合）不因信息值低而剔除，其分值同样受风险方向约束：",
        "directions_old": "旧版记录未保存风险方向检查。",
        # 6 calibration
        "s_calibration": "六、校准表",
        "calibration_note": "把验证样本按模型预测的不良结果概率从低到高分为十组，比较每组的预测概率与实际（加权）发生率；两列越接近，"
                            "说明模型给出的概率越可信。",
        "overall": "整体：预测不良率 {p}，实际不良率 {o}。",
        "group": "组别（由低到高）", "entities": "户数", "predicted": "预测不良率", "observed": "实际不良率",
        "gap": "差（实际 − 预测，百分点）",
        "inspection_calibration": "检查发现不良结果的概率（供抽查计划使用）",
        "inspection_calibration_note": "只看验证期内被检查过的主体（按被检查可能性加权），把分值换算成“若检查该主体、发现不良结果的概率”，"
                                       "分十组比较换算概率与实际发现率。换算公式：概率 = 1 ÷ (1 + e^−(a × 分值 ÷ 1000 + b))。",
        "platt": "本模型 a = {a}，b = {b}；专家评分卡 a = {ea}，b = {eb}。",
        "calibration_old": "旧版记录未保存校准表。",
        # 7 grades
        "s_grades": "七、等级分布（验证样本）",
        "grades_note": "等级分值界限按训练年份全体主体的目标等级比例确定（分值越高风险越高）；占比与风险事件率均为加权值，"
                       "风险事件率应随等级 A→D 逐级升高。",
        "grade": "等级", "score_range": "分值区间", "share": "占比", "bad_count": "风险事件数", "bad_rate": "风险事件率",
        # 8 stability
        "s_stability": "八、稳定性",
        "psi_explain": "PSI（群体稳定性指数）衡量两批主体分值分布的差异：< 0.1 稳定；0.1–0.25 需关注；> 0.25 显著漂移。",
        "psi_validation": "验证样本相对训练样本：PSI = {psi}（{level}）。",
        "stability": "各分类月份的分值稳定性（PSI，相对训练样本）", "month": "分类月份",
        "psi_hint": "PSI < 0.1 稳定；0.1–0.25 需关注；> 0.25 显著漂移",
        "indicator_psi": "各指标分箱稳定性（PSI，相对训练样本）",
        "monitoring": "月度监测（相对上一分类月）",
        "monitoring_note": "每月分类后，将本月分值与各指标的分布同上一分类月比较（PSI，固定分箱），并统计等级保持率与升降；"
                           "超过阈值即记录预警（用 {cmd} 命令查看明细）。",
        "previous": "比较月份", "score_psi": "分值 PSI", "ind_watch": "需关注指标数", "ind_significant": "显著漂移指标数",
        "kept": "等级保持率", "up": "风险上升", "down": "风险下降", "alerts": "预警",
        "top_drift": "本月 PSI 最大的指标", "level": "状态", "changed": "分类口径变化",
        "levels": {"stable": "稳定", "watch": "需关注", "significant": "显著漂移", "n/a": "—"},
        # 9 bins
        "s_bins": "九、分箱与分值",
        "bins_formula": "得分 = 基准分 + 各指标相对参考值的分值之和，截取至 0–1000（分值越高风险越高）。",
        "bins_base": "基准分 {base}：所有指标都处于参考值的主体的得分。",
        "bins_reference": "参考值：推高或降低风险的指标为“没有该情形”（0），无法定方向的为训练样本的中位数（类别指标为最常见的类别）。"
                          "“相对参考值的分值”为正表示比参考值风险更高，为负表示更低；主体的分类理由即来自这些分值。",
        "bins_columns": "分箱区间含下限、不含上限；训练户数与风险事件率来自训练样本；证据权重（WoE）越低，该分箱的不良结果越集中。",
        "reference": "参考值", "bin": "分箱", "count": "训练户数", "woe": "证据权重 WoE", "points": "分值",
        "contribution": "相对参考值的分值", "ref_tag": "参考", "missing": "缺失（无数据）", "special": "特殊值",
        "all_values": "全部取值",
        "bins_old": "旧版记录未保存参考值与基准分，下表“分值”为未扣除参考值的分值。",
        # appendix and sign-off
        "s_appendix": "附：训练记录原文（英文，供技术人员核对）", "reason": "训练结论", "weighting": "加权说明",
        "fingerprint": "定义指纹",
        "s_signoff": "审核意见",
        "signoff_decision": "审核结论：□ 同意批准使用　□ 不同意　□ 需补充说明",
        "signoff_opinion": "审核意见：", "signoff_by": "审核人（签字）：", "signoff_date": "日期：",
    },
    "en": {
        "title": "Credit risk classification model report (model card)",
        "subtitle": "For review and sign-off by the credit supervision department",
        "model_id": "model", "status": "status", "catalog": "indicator catalog", "outcomes_version": "outcome definition",
        "as_of": "trained as of", "approved_by": "approved by", "approved_at": "approved at",
        "used": "used by classification",
        "status_names": {"candidate": "candidate", "approved": "approved", "retired": "retired"},
        "used_names": {"trained": "trained scorecard", "expert": "expert scorecard"},
        "status_none": "not registered (not in the model list)",
        "s_summary": "Review points",
        "summary_note": "The conclusions of the sections below; ✓ meets the requirement, ! needs the reviewer's attention.",
        "old_record": "This record was written by an earlier version and lacks {items}; those parts show “—”.",
        "old_items": {"bootstrap": "confidence intervals", "outcomes": "the outcome definition",
                      "weights_train": "the weighting figures", "directions": "the risk-direction check",
                      "calibration": "the calibration tables", "references": "references and base score"},
        "item_sep": ", ",
        "flag_directions_ok": "Every selected indicator's points follow its declared risk direction.",
        "flag_directions_bad": "Selected indicators giving points against their declared direction (✗): {n}. "
                               "Do not approve.",
        "flag_grades_ok": "In the validation sample the outcome rate rises from grade A to D.",
        "flag_grades_bad": "In the validation sample the outcome rate does not rise from grade A to D.",
        "flag_psi": "Score stability of the validation sample against training: PSI = {psi} ({level}).",
        "flag_no_approved": "No model was approved when this one was trained: no comparison with one.",
        "s_window": "1. Data windows",
        "window_note": "The model learns from earlier data and is checked on later data it never saw (out of time). Each "
                       "sample takes the indicators at its as-of date and looks for an adverse outcome in the following "
                       "{h} months; only records known by {known} are used.",
        "sample": "sample", "train": "training", "validate": "validation (out of time)", "ind_as_of": "indicators as of",
        "outcome_window": "outcome window", "rows": "weighted sample (entities)", "bad": "with an adverse outcome",
        "represented": "entities represented",
        "rows_note": "Weighted sample: entities with an outcome observed for all plus the inspected ones (section 3); "
                     "entities represented: the population the weighted sample stands for.",
        "window_range": "after {a} to {b}",
        "s_outcomes": "2. Outcome definition (what counts as adverse)",
        "outcomes_note": "The model predicts whether, within {h} months after the indicators' date, an entity has any of "
                         "these adverse outcomes.",
        "outcome": "adverse outcome", "scope": "observed for", "basis": "policy basis", "enabled": "counted",
        "scope_inspection": "inspected entities only", "scope_all": "every entity",
        "inspection_result": "inspection result: {r}", "yes": "yes", "no": "no (switched off)",
        "when": "condition", "substantiated": " (substantiated)",
        "outcomes_old": "This earlier record does not keep its outcome definition. The target then: within 12 months, an "
                        "inspection problem, an administrative penalty or a serious-dishonesty listing.",
        "outcomes_uninspected": "An uninspected entity is not “no problem”: section 3 explains the correction.",
        "s_weighting": "3. Selection-bias correction (inverse probability weighting)",
        "method": "method",
        "methods": {"propensity": "propensity weighting (inverse probability of inspection)",
                    "horvitz_thompson": "plan inclusion probabilities (Horvitz-Thompson)",
                    "naive": "no correction (uninspected counted as no problem)"},
        "method_notes": {
            "propensity": ["The problem: past inspections were mostly targeted (complaints, listings), so the inspected "
                           "are riskier than the rest; counting every uninspected entity as “no problem” would bias "
                           "the model.",
                           "The correction: an outcome observed for every entity (a penalty, a serious-dishonesty listing) "
                           "counts directly (weight 1); every other entity is represented by the inspected among them, each "
                           "weighted by 1 / (its chance of being inspected) — a recorded plan's inclusion probability, else "
                           "a fitted one.",
                           "Trimming: very small chances are raised to a floor so that no single entity weighs too much."],
            "horvitz_thompson": ["Entities drawn by a recorded plan weigh 1 / (inclusion probability); every other entity "
                                 "weighs 1 and an uninspected one counts as no problem (the previous method, for "
                                 "comparison)."],
            "naive": ["Uninspected entities count as no problem, uncorrected (for comparison only)."],
        },
        "w_item": "item", "w_explain": "meaning",
        "w_rows": {
            "observed_bad": ("entities with an outcome observed for all", "weight 1"),
            "without_outcome": ("entities without such an outcome", "represented by the next row"),
            "inspected_without_outcome": ("of them inspected, used as representatives",
                                          "each stands for similar uninspected entities"),
            "plan_probabilities": ("of which with a plan's inclusion probability",
                                   "the others: a fitted chance of inspection"),
            "trim_floor": ("floor of the chance of inspection", "smaller chances are raised to it"),
            "trimmed": ("entities trimmed", "chance of inspection below the floor"),
            "weight_range": ("weights of the representatives", "smallest – largest"),
            "effective_size": ("effective sample size", "how many equally weighted entities the weights are worth"),
            "plan_weighted": ("entities weighted by a plan's inclusion probability", "every other entity weighs 1"),
        },
        "weighting_old": "This earlier record keeps no weighting figures.", "weighting_note": "Its note:",
        "s_performance": "4. Performance (out-of-time validation sample)",
        "explain_auc": "The chance that, of a random entity with an adverse outcome and a random one without, the model "
                       "ranks the first as riskier; 0.5 is a random order, 1 is perfect.",
        "explain_ks": "The largest gap between the cumulative score distributions of entities with and without an adverse "
                      "outcome; 0 = no separation, larger is better.",
        "explain_ci": "95% interval: the range from {reps} bootstrap resamples of the validation sample; allowing for "
                      "sampling error, the true value lies in it with 95% confidence.",
        "explain_diff": "AUC difference: one model's AUC minus the other's; the first is significantly better only when the "
                        "lower end of its 95% interval is above the margin {margin}.",
        "model": "model", "ci": "95% interval", "comparison": "comparison", "auc_diff": "AUC difference",
        "verdict": "verdict",
        "trained": "trained scorecard (this model)", "expert": "expert scorecard", "challenger": "challenger (LightGBM)",
        "approved": "approved model", "trained_short": "trained scorecard",
        "role_trained": "the model under review", "role_expert": "the expert-set scorecard in use",
        "role_challenger": "for comparison only, never grades", "role_approved": "the model classification uses now",
        "verdict_better": "better than the expert scorecard (lower end of the interval {low} above the margin {margin})",
        "verdict_not_better": "not significantly better than the expert scorecard (lower end of the interval {low} "
                              "not above the margin {margin})",
        "verdict_better_approved": "better than the approved model {id} (lower end of the interval {low} above the "
                                   "margin {margin})",
        "verdict_not_better_approved": "not significantly better than the approved model {id} (lower end of the "
                                       "interval {low} not above the margin {margin})",
        "verdict_prefix": "Verdict: the trained scorecard is ",
        "verdict_point_better": "above the expert scorecard in AUC (an earlier record without intervals: "
                                "significance unknown)",
        "verdict_point_not": "not above the expert scorecard in AUC (an earlier record without intervals)",
        "churn": "Churn: {churn} of the validation entities get a different grade than under the approved model.",
        "challenger_better": "The challenger's AUC is significantly higher: a less transparent model would find some more "
                             "risk, a hint for improving the indicators.",
        "challenger_not": "The challenger is not significantly different: the transparent scorecard loses no clear ability.",
        "challenger_worse": "The challenger's AUC is significantly lower: the transparent scorecard loses nothing.",
        "challenger_note": "The challenger is compared out of time only and never grades: it shows what a less "
                           "transparent model would gain.",
        "mark_better": "significantly better", "mark_not": "not significant", "mark_worse": "significantly worse",
        "roc": "ROC curve (validation sample)",
        "roc_note": "x: share of entities without an outcome ranked ahead; y: share of entities with one ranked ahead. The "
                    "closer to the top left, the better; the dashed line is a random order.",
        "fpr": "false alarms", "tpr": "found",
        "s_directions": "5. Risk-direction check",
        "directions_note": "Every indicator declares its risk direction in the catalog: raises the risk (higher = riskier), "
                           "lowers it (higher = safer) or no legal direction (the data decide). A selected "
                           "indicator's points "
                           "may only move in its declared direction; one that would go against it is left out.",
        "directions_legend": "Check: ✓ selected and its points follow the declared direction; ✗ they do not (must not "
                             "happen: do not approve); — not selected, not scored.",
        "directions_count": "{n} indicators, {k} selected, {bad} failing the check.",
        "indicator": "indicator", "direction": "declared direction", "selection": "selected",
        "left_out_reason": "why left out",
        "check": "check", "bin_points": "points by bin (in bin order)",
        "directions_names": {"up": "raises risk", "down": "lowers risk", "either": "no legal direction"},
        "selected": "selected", "not_selected": "left out", "forced": "fused",
        "reasons": {"iv": "information value below the selection threshold",
                    "one_bin": "the data do not support its declared direction (one bin only)",
                    "against": "collinear with related indicators: its points would run against its direction, left out",
                    "no_data": "no data in the training sample", "other": "other"},
        "fused_note": "Professional-domain indicators (fused by indicator) are kept whatever their information value, "
                      "still bound to their direction:",
        "directions_old": "This earlier record keeps no risk-direction check.",
        "s_calibration": "6. Calibration",
        "calibration_note": "The validation sample in ten groups by the model's predicted chance of an adverse outcome, "
                            "lowest first: predicted against observed (weighted) rate. The closer, the more the "
                            "probabilities can be taken at face value.",
        "overall": "Overall: predicted {p}, observed {o}.",
        "group": "group (low to high)", "entities": "entities", "predicted": "predicted", "observed": "observed",
        "gap": "observed − predicted (percentage points)",
        "inspection_calibration": "Chance that an inspection finds an adverse result (for inspection plans)",
        "inspection_calibration_note": "The inspected entities of the validation year only (weighted by their chance of "
                                       "inspection): the score turned into the chance that inspecting the entity finds an "
                                       "adverse result, in ten groups against the observed rate. "
                                       "p = 1 / (1 + e^−(a × score / 1000 + b)).",
        "platt": "This model a = {a}, b = {b}; expert scorecard a = {ea}, b = {eb}.",
        "calibration_old": "This earlier record keeps no calibration table.",
        "s_grades": "7. Grades (validation sample)",
        "grades_note": "Grade cut-offs come from the target grade shares of the training year's whole population (higher "
                       "score = riskier); shares and outcome rates are weighted and the rate should rise from A to D.",
        "grade": "grade", "score_range": "score range", "share": "share", "bad_count": "outcomes",
        "bad_rate": "outcome rate",
        "s_stability": "8. Stability",
        "psi_explain": "PSI (population stability index) measures how different two score distributions are: < 0.1 "
                       "stable; 0.1-0.25 watch; > 0.25 significant shift.",
        "psi_validation": "Validation sample against training: PSI = {psi} ({level}).",
        "stability": "Score stability of each classified month (PSI against training)", "month": "month",
        "psi_hint": "PSI < 0.1 stable; 0.1-0.25 watch; > 0.25 significant shift",
        "indicator_psi": "Stability of each indicator's bins (PSI against training)",
        "monitoring": "Monthly monitoring (against the previous classification month)",
        "monitoring_note": "After each monthly classification the distribution of the score and of every indicator is "
                           "compared with the previous classification month (PSI over fixed bins), with the share of "
                           "entities keeping their grade and the moves up and down; values beyond the bounds are "
                           "recorded as alerts (details: {cmd}).",
        "previous": "compared with", "score_psi": "score PSI", "ind_watch": "indicators to watch",
        "ind_significant": "indicators drifting", "kept": "grade kept", "up": "riskier", "down": "less risky",
        "alerts": "alerts", "top_drift": "Indicators with the largest PSI this month", "level": "level",
        "changed": "classification changed",
        "levels": {"stable": "stable", "watch": "watch", "significant": "significant drift", "n/a": "—"},
        "s_bins": "9. Bins and points (higher = riskier)",
        "bins_formula": "score = base + the sum of every indicator's points relative to its reference, clipped to 0–1000.",
        "bins_base": "Base {base}: the score of an entity at every reference.",
        "bins_reference": "Reference: the absence of the condition (0) for indicators that raise or lower the risk; the "
                          "training median (the most frequent category) for those without a legal direction. A positive "
                          "relative value is riskier than the reference, a negative one safer; an entity's reasons "
                          "come from them.",
        "bins_columns": "Bins include their lower and exclude their upper bound; entities and outcome rates are of the "
                        "training sample; the lower the WoE, the more adverse outcomes in the bin.",
        "reference": "reference", "bin": "bin", "count": "entities", "woe": "WoE", "points": "points",
        "contribution": "points relative to the reference", "ref_tag": "reference", "missing": "missing",
        "special": "special", "all_values": "all values",
        "bins_old": "This earlier record keeps no references or base score: “points” are before subtracting the reference.",
        "s_appendix": "Record notes", "reason": "training result", "weighting": "weighting", "fingerprint": "fingerprint",
        "s_signoff": "Review",
        "signoff_decision": "Decision: □ approve for use　□ do not approve　□ more information needed",
        "signoff_opinion": "Opinion:", "signoff_by": "Reviewer (signature):", "signoff_date": "Date:",
    },
}


# ---------------------------------------------------------------------- formatting
def _months_after(day: str | None, months: int) -> str | None:
    """The ISO date ``months`` after a month end (the end of an outcome window), or None."""
    try:
        d = dt.date.fromisoformat(str(day))
    except ValueError:
        return None
    y, m = divmod(d.month - 1 + months, 12)
    last = calendar.monthrange(d.year + y, m + 1)[1]
    at_end = d.day == calendar.monthrange(d.year, d.month)[1]
    return dt.date(d.year + y, m + 1, last if at_end else min(d.day, last)).isoformat()


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _f(x, spec: str = ".3f") -> str:
    return format(x, spec) if _finite(x) else DASH


def _signed(x, digits: int = 3) -> str:
    """``+0.012``, ``−0.008`` (a true minus sign), ``0.000`` when it rounds to zero."""
    if not _finite(x):
        return DASH
    if round(x, digits) == 0:
        return format(0.0, f".{digits}f")
    return format(x, f"+.{digits}f").replace("-", "−")


def _plain(x, digits: int = 1) -> str:
    """A number with a true minus sign and no negative zero."""
    if not _finite(x):
        return DASH
    v = round(x, digits) + 0.0
    return format(v, f".{digits}f").replace("-", "−")


def _int(x) -> str:
    return f"{int(round(x)):,}" if _finite(x) else DASH


def _pct(x, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%" if _finite(x) else DASH


def _interval(iv: dict | None, signed: bool = False) -> str:
    if not iv or not _finite(iv.get("low")) or not _finite(iv.get("high")):
        return DASH
    f = _signed if signed else _f
    return f"{f(iv['low'])} – {f(iv['high'])}"


def _psi_level(x) -> str:
    if not _finite(x):
        return "n/a"
    return "significant" if x > PSI_SIGNIFICANT else "watch" if x > PSI_WATCH else "stable"


def _code(c) -> Markup:
    return Markup("<code>{}</code>").format(c)


def _indicator(code: str, names: dict[str, str]) -> Markup:
    name = names.get(code)
    if name and name != code:
        return Markup("{} {}").format(name, _code(code))
    return _code(code)


_INTERVAL = re.compile(r"^[\[(]\s*(-?inf|[-+0-9.eE]+)\s*,\s*(-?inf|[-+0-9.eE]+)\s*[\])]$")


def _bounds(label: str) -> tuple[float, float] | None:
    m = _INTERVAL.match(label.strip())
    return (float(m.group(1)), float(m.group(2))) if m else None


def _bin_label(label: str, indicator: str, t: dict, lang: str) -> Markup | str:
    """A bin in plain words: "< 0.50", "0.50 – 1.50", "≥ 1.50", 缺失, or the categories of a categorical bin."""
    if label == "Missing":
        return t["missing"]
    if label == "Special":
        return t["special"]
    b = _bounds(label)
    if b is not None:
        lo, hi = label.strip()[1:-1].split(",")
        lo, hi = lo.strip(), hi.strip()
        if math.isinf(b[0]) and math.isinf(b[1]):
            return t["all_values"]
        if math.isinf(b[0]):
            return f"< {hi}"
        if math.isinf(b[1]):
            return f"≥ {lo}"
        return f"{lo} – {hi}"
    if label.startswith("[") and label.endswith("]"):
        items = [x.strip().strip("'\"") for x in label[1:-1].split(",") if x.strip()]
        return Markup("、" if lang == "zh" else ", ").join(_category(x, indicator, lang) for x in items)
    return _code(label)


def _category(value, indicator: str, lang: str) -> Markup | str:
    if indicator == "entity_type" and value in ENTITY_TYPES:
        return ENTITY_TYPES[value][1] if lang == "zh" else value
    return _code(value) if lang == "zh" else str(value)


def _reference(ref, indicator: str, lang: str) -> Markup | str:
    if ref is None:
        return DASH
    if isinstance(ref, str):
        return _category(ref, indicator, lang)
    if _finite(ref):
        return f"{ref:g}" if float(ref).is_integer() else f"{ref:.2f}"
    return DASH


def _in_bin(ref, label: str) -> bool:
    b = _bounds(label)
    if b is None:
        return isinstance(ref, str) and label.startswith("[") and ref in [
            x.strip().strip("'\"") for x in label[1:-1].split(",")]
    return _finite(ref) and b[0] <= ref < b[1]


def _reason(reason: str | None, t: dict) -> Markup | str:
    if not reason:
        return ""
    r = t["reasons"]
    if reason.startswith("information value below"):
        return r["iv"]
    if reason.startswith("one bin only"):
        return r["one_bin"]
    if reason.startswith("its points would run against"):
        return r["against"]
    return Markup("{} {}").format(r["other"], _code(reason))


def _outcome_name(event_type: str, when: str | None, t: dict, lang: str) -> Markup | str:
    if lang == "zh":
        name = EVENT_TYPE_NAMES_ZH.get(event_type)
        name = Markup("{} {}").format(name, _code(event_type)) if name is None else name
    else:
        name = EVENT_EN.get(event_type) or event_type.replace("_", " ")
    if when is None:
        return name
    if event_type == "complaint" and when.replace(" ", "") == "amount=1":
        return Markup("{}{}").format(name, t["substantiated"])
    return Markup("{}（{} {}）" if lang == "zh" else "{} ({} {})").format(name, t["when"], _code(when))


def _inspection_name(result: str, lang: str) -> Markup | str:
    words = RESULT_ZH if lang == "zh" else INSPECTION_EN
    return words.get(result) or _code(result)


# ---------------------------------------------------------------------- the card's content
def card_context(record: dict, lang: str = "zh", names: dict[str, str] | None = None) -> dict:
    """Everything the card shows, formatted (strings, or Markup where it holds a ``<code>``)."""
    t = TEXT[lang]
    names = names or {}
    d = record.get("details") or {}
    boot = d.get("bootstrap") or {}
    aucs, diffs = boot.get("auc") or {}, boot.get("diff") or {}
    margin = d.get("margin")
    if margin is None:
        margin = ((d.get("outcomes") or {}).get("governance") or {}).get("margin", 0.0)
    oc = d.get("outcomes") or {}
    horizon = oc.get("horizon_months") or 12
    missing = [k for k in ("bootstrap", "outcomes", "weights_train", "directions", "calibration", "references")
               if not d.get(k) and k in t["old_items"]]

    as_of = record.get("as_of") or _months_after(record.get("validate_as_of"), horizon)

    # header
    status = record.get("status")
    header = {
        "model_id": record.get("model_id") or DASH,
        "status": t["status_names"].get(status, status) if status else None,
        "used": t["used_names"].get(record.get("used")) if not status else None,
        "approved_by": _approver(record.get("approved_by"), lang),
        "approved_at": str(record.get("approved_at") or "") or None,
        "catalog": record.get("catalog_version") or DASH,
        "outcomes_version": d.get("outcomes_version") or oc.get("version") or DASH,
        "fingerprint": d.get("outcomes_fingerprint"),
        "as_of": as_of or DASH,
    }

    # 1 windows
    def represented(w: dict | None):
        if not w or w.get("method") != "propensity":
            return DASH
        return _int((w.get("observed_bad") or 0) + (w.get("without_outcome") or 0))

    train_end = record.get("validate_as_of")
    windows = [
        {"label": t["train"], "as_of": record.get("train_as_of") or DASH,
         "window": t["window_range"].format(a=record.get("train_as_of"), b=train_end)
         if record.get("train_as_of") and train_end else DASH,
         "rows": _int(record.get("train_rows")), "bad": _int(record.get("train_bad")),
         "represented": represented(d.get("weights_train"))},
        {"label": t["validate"], "as_of": record.get("validate_as_of") or DASH,
         "window": t["window_range"].format(a=record.get("validate_as_of"), b=as_of)
         if record.get("validate_as_of") and as_of else DASH,
         "rows": _int(record.get("validate_rows")), "bad": _int(record.get("validate_bad")),
         "represented": represented(d.get("weights_validation"))},
    ]

    # 2 outcomes
    outcomes = None
    if oc:
        insp = oc.get("inspection") or {}
        outcomes = {
            "inspection": [Markup(escape(t["inspection_result"])).format(r=_inspection_name(r, lang))
                           for r in insp.get("results") or []],
            "inspection_basis": insp.get("basis") or DASH,
            "observed": [{"name": _outcome_name(o.get("event_type", ""), o.get("when"), t, lang),
                          "basis": o.get("basis") or DASH, "enabled": o.get("enabled", True)}
                         for o in oc.get("observed_for_all") or []],
        }

    # 3 weighting
    weighting = None
    wt, wv = d.get("weights_train"), d.get("weights_validation")
    if wt or wv:
        wt, wv = wt or {}, wv or {}
        methods = [m for m in (wt.get("method"), wv.get("method")) if m]
        rows = []

        def value(w: dict, key: str) -> str:
            if key == "trim_floor":
                return _f(w.get(key), ".4f")
            if key == "weight_range":
                return (f"{_f(w.get('weight_min'), '.2f')} – {_f(w.get('weight_max'), '.2f')}"
                        if _finite(w.get("weight_min")) else DASH)
            return _int(w.get(key))

        keys = [k for k in ("observed_bad", "without_outcome", "inspected_without_outcome", "plan_probabilities",
                            "trim_floor", "trimmed", "weight_range", "effective_size", "plan_weighted")
                if k in wt or k in wv or (k == "weight_range" and ("weight_min" in wt or "weight_min" in wv))]
        for k in keys:
            label, explain = t["w_rows"][k]
            rows.append({"label": label, "explain": explain, "train": value(wt, k), "validate": value(wv, k)})
        weighting = {
            "methods": [{"name": t["methods"].get(m, m), "notes": t["method_notes"].get(m, [])}
                        for m in dict.fromkeys(methods)],
            "train_method": t["methods"].get(wt.get("method"), DASH) if wt.get("method") else DASH,
            "validate_method": t["methods"].get(wv.get("method"), DASH) if wv.get("method") else DASH,
            "rows": rows,
        }

    # 4 performance
    kss = (d.get("bootstrap") or {}).get("ks") or {}

    def auc_row(key: str, label, role: str, ks) -> dict:
        a = aucs.get(key) or {}
        value = a.get("value", record.get(f"auc_{key}"))
        k = kss.get(key) or {}
        ks_text = _f(k.get("value", ks)) + (f"（{_interval(k)}）" if lang == "zh" and k else f" ({_interval(k)})" if k else "")
        return {"label": label, "role": role, "auc": _f(value), "ci": _interval(a), "ks": ks_text, "key": key}

    models = [auc_row("trained", t["trained"], t["role_trained"], record.get("ks_trained")),
              auc_row("expert", t["expert"], t["role_expert"], record.get("ks_expert"))]
    if record.get("auc_challenger") is not None or "challenger" in aucs:
        models.append(auc_row("challenger", t["challenger"], t["role_challenger"], record.get("ks_challenger")))
    va = d.get("versus_approved") or None
    if "approved" in aucs or va:
        label = Markup("{} {}").format(t["approved"], _code(va["model_id"])) if va and va.get("model_id") else t["approved"]
        models.append(auc_row("approved", label, t["role_approved"], None))

    def mark(iv: dict) -> str:
        if not _finite(iv.get("low")):
            return DASH
        return t["mark_better"] if iv["low"] > margin else t["mark_worse"] if iv.get("high", 0) < 0 else t["mark_not"]

    comparisons = []
    for key, a, b in (("trained-expert", t["trained_short"], t["expert"]),
                      ("trained-approved", t["trained_short"], t["approved"]),
                      ("challenger-trained", t["challenger"], t["trained_short"])):
        iv = diffs.get(key)
        if iv:
            comparisons.append({"label": f"{a} − {b}", "value": _signed(iv.get("value")),
                                "ci": _interval(iv, signed=True), "mark": mark(iv)})

    verdicts = []  # (ok, Markup)
    te = diffs.get("trained-expert")
    if te and _finite(te.get("low")):
        better = record["better_than_expert"] if "better_than_expert" in record else te["low"] > margin
        key = "verdict_better" if better else "verdict_not_better"
        verdicts.append((bool(better), Markup(escape(t["verdict_prefix"])) + Markup(escape(t[key])).format(
            low=_signed(te["low"]), margin=_f(margin))))
    elif _finite(record.get("auc_trained")) and _finite(record.get("auc_expert")):
        better = record["auc_trained"] > record["auc_expert"]
        verdicts.append((False, Markup(escape(t["verdict_prefix"] + t["verdict_point_better" if better
                                                                          else "verdict_point_not"]))))
    approved = None
    if va and _finite(va.get("low")):
        key = "verdict_better_approved" if va.get("better") else "verdict_not_better_approved"
        approved = {"ok": bool(va.get("better")),
                    "text": Markup(escape(t["verdict_prefix"])) + Markup(escape(t[key])).format(
                        id=_code(va.get("model_id") or DASH), low=_signed(va["low"]), margin=_f(margin)),
                    "churn": t["churn"].format(churn=_pct(va.get("churn"))) if _finite(va.get("churn")) else None}
    ct = diffs.get("challenger-trained")
    challenger_verdict = None
    if ct and _finite(ct.get("low")):
        challenger_verdict = (t["challenger_better"] if ct["low"] > 0 else
                              t["challenger_worse"] if _finite(ct.get("high")) and ct["high"] < 0 else t["challenger_not"])
    performance = {
        "models": models, "comparisons": comparisons, "verdicts": verdicts, "approved": approved,
        "no_approved": bool(boot) and not va, "challenger": challenger_verdict,
        "explain_ci": t["explain_ci"].format(reps=boot.get("reps") or DASH) if boot else None,
        "explain_diff": t["explain_diff"].format(margin=_f(margin)) if boot else None,
    }

    # 5 directions
    directions = None
    checks = d.get("directions")
    if checks:
        rows = []
        for r in checks:
            code = r.get("indicator", "")
            sel = bool(r.get("selected"))
            pts = r.get("points") or []
            rows.append({
                "name": _indicator(code, names),
                "direction": t["directions_names"].get(r.get("direction") or "either", r.get("direction")),
                "selected": sel, "forced": bool(r.get("forced")),
                "reason": _reason(r.get("left_out") or (d.get("left_out") or {}).get(code), t) if not sel else "",
                "ok": (r.get("ok", True) if sel else None),
                "points": " → ".join(_plain(p) for p in pts) if pts else DASH,
            })
        fused = d.get("fused_domains") or {}
        seen = {r.get("indicator") for r in checks}
        fused_rows = []
        for code in fused.get("forced") or []:
            if code in (fused.get("kept") or []):
                state = t["selected"]
            else:
                why = (d.get("left_out") or {}).get(code)
                state = Markup("{}（{}）" if lang == "zh" else "{} ({})").format(
                    t["not_selected"], _reason(why, t) if why else t["reasons"]["no_data"] if code not in seen else DASH)
            fused_rows.append({"name": _indicator(code, names), "state": state})
        directions = {
            "rows": rows, "fused": fused_rows,
            "count": t["directions_count"].format(n=len(rows), k=sum(r["selected"] for r in rows),
                                                  bad=sum(1 for r in rows if r["ok"] is False)),
            "bad": sum(1 for r in rows if r["ok"] is False),
        }

    # 6 calibration
    def cal_rows(rows: list[dict]) -> list[dict]:
        return [{"bin": r.get("bin"), "entities": _int(r.get("entities")), "predicted": _pct(r.get("predicted")),
                 "observed": _pct(r.get("observed")),
                 "gap": (_signed(100 * (r["observed"] - r["predicted"]), 1)
                         if _finite(r.get("observed")) and _finite(r.get("predicted")) else DASH)}
                for r in rows]

    ic, ec = record.get("inspection_calibration"), record.get("expert_calibration")
    calibration = {
        "rows": cal_rows(d.get("calibration") or []),
        "overall": (t["overall"].format(p=_pct(d.get("predicted_bad_rate")), o=_pct(d.get("observed_bad_rate")))
                    if _finite(d.get("predicted_bad_rate")) else None),
        "inspection": cal_rows(d.get("inspection_calibration_table") or []),
        "platt": (t["platt"].format(a=_f(ic[0], ".3f"), b=_f(ic[1], ".3f"),
                                    ea=_f(ec[0], ".3f") if ec else DASH, eb=_f(ec[1], ".3f") if ec else DASH)
                  if ic and len(ic) == 2 else None),
    }

    # 7 grades
    cut = record.get("cutoffs") or {}

    def score_range(g: str) -> str:
        c = lambda k: _f(cut.get(k), ".2f")  # noqa: E731
        return {"A": f"< {c('B')}", "B": f"{c('B')} – {c('C')}", "C": f"{c('C')} – {c('D')}",
                "D": f"≥ {c('D')}"}.get(g, DASH) if cut else DASH

    grades = [{"grade": g.get("grade"), "range": score_range(g.get("grade")), "entities": _int(g.get("entities")),
               "share": _pct(g.get("share")), "bad": _int(g.get("bad")), "bad_rate": _pct(g.get("bad_rate"))}
              for g in d.get("grades_validation") or []]
    rates = [g.get("bad_rate") for g in d.get("grades_validation") or [] if _finite(g.get("bad_rate"))]
    monotone = all(a < b for a, b in zip(rates, rates[1:])) if len(rates) >= 2 else None

    # 8 stability
    pv = d.get("psi_validation")
    psi_line = (t["psi_validation"].format(psi=_f(pv), level=t["levels"][_psi_level(pv)]) if _finite(pv) else None)

    # 9 bins
    refs = d.get("references") or {}
    groups: list[dict] = []
    for b in d.get("bins") or []:
        code = b.get("indicator", "")
        if not groups or groups[-1]["code"] != code:
            groups.append({"code": code, "name": _indicator(code, names),
                           "reference": _reference(refs.get(code), code, lang) if refs else DASH, "rows": []})
        label = str(b.get("bin", ""))
        is_ref = bool(refs) and code in refs and _in_bin(refs[code], label)
        groups[-1]["rows"].append({
            "bin": _bin_label(label, code, t, lang), "count": _int(b.get("count")), "event_rate": _pct(b.get("event_rate")),
            "woe": _plain(b.get("woe"), 3), "points": _plain(b.get("points")),
            "contribution": _signed(b.get("contribution"), 2) if "contribution" in b else DASH, "is_ref": is_ref})
    relative = any("contribution" in b for b in d.get("bins") or []) and "base" in d

    # summary for the reviewer: (ok, text)
    summary: list[tuple[bool, Markup | str]] = list(verdicts)
    if approved:
        summary.append((approved["ok"], approved["text"]))
    elif performance["no_approved"]:
        summary.append((True, t["flag_no_approved"]))
    if directions:
        summary.append((directions["bad"] == 0, t["flag_directions_ok"] if directions["bad"] == 0
                        else t["flag_directions_bad"].format(n=directions["bad"])))
    if monotone is not None:
        summary.append((monotone, t["flag_grades_ok"] if monotone else t["flag_grades_bad"]))
    if _finite(pv):
        summary.append((_psi_level(pv) == "stable", t["flag_psi"].format(psi=_f(pv), level=t["levels"][_psi_level(pv)])))

    return {
        "header": header, "windows": windows, "horizon": horizon, "known": as_of or DASH,
        "outcomes": outcomes, "weighting": weighting, "performance": performance, "directions": directions,
        "calibration": calibration, "grades": grades, "monotone": monotone, "psi_line": psi_line,
        "bins": groups, "relative": relative, "base": _f(d.get("base"), ".2f") if _finite(d.get("base")) else None,
        "summary": summary,
        "monitoring_note": Markup(escape(t["monitoring_note"])).format(cmd=_code("riskgrade monitor")),
        "old": t["old_record"].format(items=t["item_sep"].join(t["old_items"][k] for k in missing)) if missing else None,
        "reason": record.get("reason") or None,
        "weighting_note": record.get("weighting") if record.get("weighting") not in (None, "", "none") else None,
        "has_roc": bool((d.get("roc") or {}).get("trained")),
    }


def render_model_report(record: dict, lang: str = "zh", names: dict[str, str] | None = None,
                        monitoring: dict | None = None, status: str | None = None) -> str:
    """The card's HTML.  ``monitoring`` ({"latest": comparison, "history": rows}, see
    :mod:`riskgrade.scoring.monitoring`) defaults to what classification stored in the record; ``status``
    (candidate, approved, retired) to the record's ``status`` (with ``approved_by`` and ``approved_at``)."""
    if lang not in TEXT:
        raise RiskgradeError("--lang must be zh or en")
    from ..web.assets import echarts_inline_js

    d = record.get("details") or {}
    if not d:
        raise RiskgradeError(f"model {record.get('model_id')} was saved without report details; train it again")
    if status is not None:
        if status not in STATUSES:
            raise RiskgradeError(f"status must be one of {', '.join(STATUSES)}")
        record = {**record, "status": status}
    env = jinja2.Environment(autoescape=True, loader=jinja2.FileSystemLoader(
        str(resources.files("riskgrade.scoring").joinpath("templates"))))
    tpl = env.get_template(TEMPLATE)
    mon = monitoring if monitoring is not None else record.get("monitoring")
    return tpl.render(c=card_context(record, lang, names), m=_Obj(record), t=TEXT[lang], lang=lang,
                      names=names or {}, echarts=echarts_inline_js(), roc_json=json.dumps(d.get("roc") or {}),
                      mon=_Obj(mon) if mon else None, code=_code, indicator=lambda k: _indicator(k, names or {}))


class _Obj(dict):
    """Attribute access for the template."""

    def __getattr__(self, k):
        v = self.get(k)
        if isinstance(v, dict):
            return _Obj(v)
        if isinstance(v, list):
            return [_Obj(x) if isinstance(x, dict) else x for x in v]
        return v


def _approver(by: str | None, lang: str) -> str | None:
    """Who approved: a user as recorded; classify's automatic approval of a data home's first model in words."""
    if not by:
        return None
    if by.startswith("classify (first model"):
        return "系统自动批准（本数据目录首个训练模型，分类时自动批准）" if lang == "zh" else \
            "approved automatically by classify (the first trained model of this data home)"
    return by


def write_model_report(models_dir: Path, model_id: str, out: Path, lang: str = "zh", names: dict | None = None,
                       status: str | None = None) -> Path:
    path = models_dir / f"{model_id}.json"
    if not path.exists():
        raise RiskgradeError(f"no record of model {model_id} in {models_dir}")
    html = render_model_report(json.loads(path.read_text(encoding="utf-8")), lang, names, status=status)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
