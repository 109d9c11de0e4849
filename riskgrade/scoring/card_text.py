"""The words of the model card (模型卡), in Chinese and English."""

from __future__ import annotations

from markupsafe import Markup

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
