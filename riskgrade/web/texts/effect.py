"""Words of the plan page's 监管效能 section (the figures' own words come from
:mod:`riskgrade.inspection.effectiveness`' report)."""

STRINGS = {
    "zh": {
        "eff_note": "“发现问题”指检查结果为发现问题已责令改正、发现问题待后续处理、通过登记住所无法联系、不配合检查或"
                    "未发现开展经营活动。数字为整个计划（不限于本辖区），随结果录入更新。“95% 置信区间”表示按已检查户数，"
                    "真实问题发现率大致落在这个范围内；检查户数越少，范围越宽。",
    },
    "en": {
        "eff_note": "A problem is a result of corrected, problem, unreachable, refused or not operating. Figures are for "
                    "the whole plan (not only your region) and follow the results entered. The 95% interval is the range "
                    "the true finding rate most likely lies in, given how many were inspected; fewer inspections, wider range.",
    },
}
