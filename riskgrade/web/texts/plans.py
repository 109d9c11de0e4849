"""Console words of plans in 双随机 practice: inspection items (抽查事项清单), the period, the team of inspectors,
the preview that equals the draw, and approval (审批)."""

from __future__ import annotations

STRINGS = {
    "zh": {
        "plan_state": "审批状态", "plan_state_draft": "待审批", "plan_state_approved": "已生效",
        "plan_state_rejected": "已驳回", "plan_state_in_force": "已生效（命令行抽取）",
        "approval_section": "计划审批", "approval_note": "审批意见", "approve_button": "批准",
        "reject_button": "驳回", "approval_requested_by": "提交人", "approval_decided_by": "审批人",
        "approval_decided_at": "审批时间", "approval_requested_at": "提交时间",
        "plan_waits_approval": "本计划待审批：经审批人（非提交人）批准后生效，方可上传检查结果、下载结果模板。",
        "plan_was_rejected": "本计划已被驳回，不能执行；如需执行请重新抽取。",
        "plan_approved_msg": "已批准，计划生效。", "plan_rejected_msg": "已驳回该计划。",
        "approve_forbidden": "只有本计划提交人以外、辖区覆盖本计划的审批人可以审批。",
        "reject_note_needed": "驳回时请填写审批意见。", "plan_not_draft": "该计划不在待审批状态。",
        "plan_not_approved": "该计划尚未批准生效，不能上传检查结果或下载结果模板。",
        "plan_submitted": "计划已提交审批。",
        "items_legend": "抽查事项（本省抽查事项清单）", "items_none": "所选领域暂无抽查事项，可只选通用事项。",
        "items_hint": "按所选抽查领域列出；通用事项适用于各领域。",
        "item_basis": "依据", "item_method": "检查方式", "item_department": "实施部门", "plan_items": "抽查事项",
        "item_not_in_domain": "所选抽查事项不属于该抽查领域。",
        "period_start": "检查开始日期", "period_end": "检查结束日期", "plan_period": "检查期间",
        "invalid_period": "检查期间无效：请填写日期，结束日期不得早于开始日期。",
        "team_legend": "检查人员（按姓名与单位）", "team_none": "辖区内暂无检查人员账户。", "plan_team": "检查人员",
        "team_not_in_scope": "所选检查人员不在您的辖区内。",
        "preview_drawn": "将抽取（户）", "preview_recent": "近期已检（不抽）", "preview_trigger": "触发式监管（不抽）",
        "preview_forced_total": "必查（100% 触发）", "preview_total": "合计将抽取 {n} 户：预览与抽取使用同一分配算法，抽取结果与此一致。",
        "region_whole": "本辖区全部", "unit_of": "{unit}", "inspector_unknown": "（名录外人员）",
        "seed_explain": "抽签前公开的一个号码：任何人用同一个号码和同一份名单重新抽签，都会抽出同一批企业，"
                        "可以据此核对抽签是否公正。",
        "prob_explain": "这家企业按其信用风险等级被抽中的可能性：例如 0.2500 表示同一县区同一等级的企业"
                        "大约每 4 户抽 1 户；风险等级越高，被抽中的可能性越大；1.0000 表示必查。",
        "results_skipped": "未填写结果，已跳过 {n} 行（未填写检查日期、检查结果和备注的行不导入，也不算退回）。",
        "results_all_blank": "未填写结果，已跳过 {n} 行：文件中没有填写了检查结果的行，请填写检查日期和检查结果后再上传。",
    },
    "en": {
        "plan_state": "Approval", "plan_state_draft": "Awaiting approval", "plan_state_approved": "Approved, in force",
        "plan_state_rejected": "Rejected", "plan_state_in_force": "In force (drawn from the command line)",
        "approval_section": "Approval", "approval_note": "Note", "approve_button": "Approve",
        "reject_button": "Reject", "approval_requested_by": "Submitted by", "approval_decided_by": "Decided by",
        "approval_decided_at": "Decided at", "approval_requested_at": "Submitted at",
        "plan_waits_approval": "This plan awaits approval: once an approver (not its author) approves it, results "
                               "may be uploaded and the template downloaded.",
        "plan_was_rejected": "This plan was rejected and is not carried out; draw a new one if needed.",
        "plan_approved_msg": "Approved: the plan is in force.", "plan_rejected_msg": "The plan was rejected.",
        "approve_forbidden": "Only an approver other than the plan's author, whose region covers the plan, decides.",
        "reject_note_needed": "Say why the plan is rejected.", "plan_not_draft": "The plan is not awaiting approval.",
        "plan_not_approved": "The plan is not approved yet: no results upload or template until it is.",
        "plan_submitted": "The plan was submitted for approval.",
        "items_legend": "Inspection items (the province's list)",
        "items_none": "No items for this domain: choose from the general items.",
        "items_hint": "Listed by the chosen domain; general items apply to every domain.",
        "item_basis": "Legal basis", "item_method": "Method", "item_department": "Department",
        "plan_items": "Inspection items", "item_not_in_domain": "A chosen item does not belong to the domain.",
        "period_start": "Inspections from", "period_end": "Inspections until", "plan_period": "Period",
        "invalid_period": "Invalid period: give both dates, the end not before the start.",
        "team_legend": "Inspectors (by name and unit)", "team_none": "No inspector accounts in your region.",
        "plan_team": "Inspectors in charge", "team_not_in_scope": "A chosen inspector is not in your region.",
        "preview_drawn": "To draw", "preview_recent": "Recently inspected (left out)",
        "preview_trigger": "On triggers only (left out)", "preview_forced_total": "Forced (100% triggers)",
        "preview_total": "{n} entities will be drawn: the preview and the draw use one allocation, so the plan "
                         "draws exactly this.",
        "region_whole": "My whole region", "unit_of": "{unit}", "inspector_unknown": "(not in the directory)",
        "seed_explain": "a number made public before the draw: anyone who draws again with the same "
                        "number and the same list gets the same companies, so the draw can be checked.",
        "prob_explain": "how likely this company was to be drawn, given its risk grade: "
                        "0.2500 means about 1 in 4 companies of that grade in its county was drawn; the riskier the "
                        "grade, the likelier the draw; 1.0000 means always inspected.",
        "results_skipped": "{n} rows without a result were skipped (rows with no date, result or notes are neither "
                           "imported nor rejected).",
        "results_all_blank": "{n} rows without a result were skipped: no row of the file has a result; fill in the "
                             "date and the result, then upload again.",
    },
}
