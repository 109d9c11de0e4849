"""Every string the web console shows: one dictionary per language (``zh`` by default, ``en``).

Templates read them as ``t.key``; both dictionaries must have the same keys (tested).  Names that
come from configuration (indicators, labels, overrides) live in the catalogs, in Chinese and English
(``name_zh``, ``name_en``): ``LABELS_EN`` and ``OVERRIDES_EN`` below read them from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping


LANGS = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN", "product": "信用风险分类管理", "skip": "跳到正文", "nav_label": "主导航",
        "dashboard": "总览", "search": "主体查询", "plans": "抽查计划", "quality": "数据质量", "model": "模型报告",
        "users": "用户管理", "audit": "审计日志", "logout": "退出", "lang_switch": "English", "lang_switch_label":
        "切换到英文界面", "signed_in_as": "当前用户", "region": "辖区", "role": "角色",
        # login
        "code_title": "动态验证码", "code_hint": "请输入身份验证器应用中显示的 6 位动态验证码。",
        "totp_title": "双因素登录", "totp_code": "动态验证码（6 位）", "totp_confirm": "确认启用",
        "totp_intro": "在身份验证器应用（如 FreeOTP、Google Authenticator）中添加账户：输入下面的 otpauth 地址或密钥，再填写应用显示的验证码确认。",
        "totp_uri": "otpauth 地址", "totp_secret": "密钥", "totp_enabled": "双因素登录已启用。如需更换设备，请联系系统管理员重置。",
        "totp_done": "双因素登录已启用，以后登录需输入动态验证码。", "totp_bad_code": "验证码不正确，请核对设备时间后重试。",
        "totp_already": "双因素登录已启用。", "totp_required": "请输入动态验证码。",
        "totp_enrol_first": "管理员须使用双因素登录：请先完成设置，之后方可使用系统。",
        "login_title": "登录", "username": "用户名", "password": "密码", "login_button": "登录",
        "login_failed": "用户名或密码错误，或账户已锁定、停用。", "login_rate_limited": "登录尝试过多，请一分钟后再试。",
        "login_expired": "会话已过期或尚未登录，请重新登录。", "login_hint": "内部系统：分类结果仅供监管内部参考，不对外公开。",
        "logged_out": "已安全退出。",
        # errors
        "error_title": "无法完成", "forbidden": "您的角色无权访问此页面或执行此操作。",
        "csrf": "表单已失效（缺少或错误的安全令牌），请返回刷新页面后重试。", "not_found": "未找到，或不在您的辖区内。",
        "back_home": "返回总览", "busy": "数据仓库正被其他任务占用，请稍后再试。",
        # dashboard
        "dash_title": "信用风险分类总览", "as_of": "分类月份", "entities": "主体数", "nothing_published":
        "尚未发布任何分类结果。省级信用部门每月完成分类并发布后，这里显示本辖区的结果。", "shares": "等级分布", "trend": "各月等级占比趋势",
        "migration": "等级迁移", "migration_caption": "上月等级（行）→ 本月等级（列），单位：户",
        "migration_need_two": "发布两个月份后显示等级迁移。", "from_to": "{a} → {b}", "heat_grade": "各地区等级构成（较高及高风险占比高者在前）",
        "top_areas_note": "图中列出较高及高风险（C/D/E）占比最高的 {k} 个地区（共 {n} 个）；展开下方表格可看全部地区。",
        "small_cell_note": "颜色越深，较高及高风险（C/D/E）占比越高；主体少于 {m} 户的格子为灰色、不着色（户数太少，占比说明不了问题）。",
        "entities_n": "主体数", "whole_scope": "全部辖区", "all_industries": "全部行业",
        "results_template": "下载结果模板（Excel）", "results_template_help": "模板已列出本计划在您辖区内抽中的主体，填写检查日期和检查结果后上传即可。", "alert_who": "涉及主体 / 预警编号", "and_more": " 等 {n} 户", "alert_open": "查看预警", "risk_grade": "信用风险等级", "help": "操作手册", "export_xlsx": "导出 Excel", "export_csv": "导出 CSV", "jump_to": "跳至", "go": "转到",
        "heat_industry": "地区 × 行业门类：较高及高风险（C/D/E）占比", "level": "地区层级", "level_city": "市",
        "level_county": "县（市、区）", "show": "显示", "chart_table": "图表数据（表格）", "grade": "等级",
        "share": "占比", "mean_score": "平均分值", "month": "月份", "area": "地区", "industry": "行业",
        "high_share": "C/D/E 占比", "export_grades": "导出本月分类结果（CSV，留痕）", "total": "合计",
        "grade_A": "A 类（信用风险低）", "grade_B": "B 类（信用风险一般）", "grade_C": "C 类（信用风险较高）",
        "grade_D": "D 类（信用风险高）", "grade_E": "E 类（特别关注）",
        # search
        "search_title": "市场主体查询", "q": "名称或统一社会信用代码", "all": "全部", "label": "标注",
        "search_button": "查询", "results": "共 {n} 户", "no_results": "没有符合条件的主体。", "uscc": "统一社会信用代码",
        "name": "名称", "entity_type": "主体类型", "score": "风险分值", "labels": "标注", "page": "第 {p} / {n} 页",
        "prev": "上一页", "next": "下一页", "pagination": "分页", "reset": "清除条件",
        # profile
        "attributes": "基本信息", "established_on": "成立日期",
        "status": "登记状态", "closed_on": "注销/吊销日期", "registered_capital": "注册资本（万元）", "address": "住所",
        "legal_rep_id": "法定代表人标识", "phone_id": "联系电话标识", "masked": "（已脱敏）",
        "current_grade": "当前分类", "explanation": "分类说明", "no_grade": "该主体没有已发布的分类结果。",
        "reasons": "主要原因", "points": "分值", "history": "分类历史", "previous_grade": "上期等级", "rule": "判定依据",
        "sealed": "防篡改校验", "seal_ok": "通过", "seal_bad": "未通过：发布后被改动！", "timeline": "涉企信息时间线",
        "event_date": "日期", "event_type": "类型", "detail": "详情", "amount": "金额/数量", "source": "来源",
        "no_events": "没有记录。", "plan_memberships": "列入的抽查计划", "no_plans": "未列入任何已发布的抽查计划。",
        "selection": "抽取方式", "check_mode": "检查方式", "task": "抽查任务",
        "explain_head": "{date} 分类结果为 {grade}，风险分值 {score} 分（0–1000，分值越高风险越高）。",
        "explain_rule_score": "等级由风险分值决定。", "explain_rule_override": "适用一票否决规则：{name}。",
        "explain_rule_floor": "所属行业为重点关注行业，等级不低于 B 类。",
        "explain_reasons": "推高风险分值的主要因素（按影响从大到小）：{items}。", "explain_no_reasons":
        "没有推高风险分值的因素。", "explain_labels": "标注：{items}。", "explain_first": "这是该主体首次分类。",
        "explain_same": "与上期（{g}）相同。", "explain_up": "较上期 {g} 类风险上升。", "explain_down": "较上期 {g} 类风险下降。",
        "item_sep": "；", "list_sep": "、", "points_fmt": "{name}（+{p} 分）",
        "explain_lowering": "降低风险分值的因素：{items}。", "points_down_fmt": "{name}（−{p} 分）",
        # how the score adds up (评分构成)
        "breakdown": "评分构成", "breakdown_item": "项目", "fact": "依据的事实", "base_score": "基准分",
        "base_note": "各项指标均处于参考值时的风险分值", "base_unknown": "该月未记录基准分",
        "raising": "推高风险的因素", "lowering": "降低风险的因素", "no_raising": "没有推高风险的因素。",
        "no_lowering": "没有降低风险的因素。", "points_signed": "{p} 分", "no_fact": "—",
        "sum_line": "基准分 {base} 分，加各项分值合计 {total} 分，等于风险分值 {score} 分。",
        "sum_high": "基准分 {base} 分，加各项分值合计 {total} 分，得 {sum} 分，超过上限 1000 分，风险分值记为 {score} 分。",
        "sum_low": "基准分 {base} 分，加各项分值合计 {total} 分，得 {sum} 分，低于下限 0 分，风险分值记为 {score} 分。",
        "sum_no_base": "各项分值合计 {total} 分；该月分类未记录基准分，无法列出完整的计算过程。",
        "sum_mismatch": "基准分 {base} 分，加各项分值合计 {total} 分，得 {sum} 分，与风险分值 {score} 分不一致，请核查该月分类结果。",
        "facts_language": "", "unnamed_indicator": "其他指标", "rule_by_score": "风险分值",
        "rule_by_floor": "重点关注行业（不低于 B 类）",
        # plans
        "plans_title": "双随机抽查计划", "new_plan": "新建抽查计划", "plan": "计划", "seed": "随机种子",
        "drawn": "抽取户数", "in_scope": "本辖区户数", "domain": "领域", "no_plans_yet": "尚无已发布的抽查计划。",
        "plan_title": "抽查计划 {id}", "algorithm": "抽取算法", "budget": "抽查数量上限", "none": "无",
        "rates": "各等级抽查比例", "ratio": "配置比例", "rate": "实际比例", "eligible": "可抽取", "forced": "必查",
        "inclusion_probability": "入样概率", "inspectors": "执法人员", "upload_results": "上传抽查结果",
        "entities_in_scope": "本辖区内的计划主体", "random": "随机抽取", "onsite": "现场检查", "written": "书面检查",
        "notes": "说明", "content_hash": "内容哈希",
        # wizard
        "wizard_title": "新建抽查计划", "step1": "第一步：月份与任务", "step2": "第二步：数量与随机种子",
        "step3": "第三步：确认", "general_task": "全省通用双随机抽查", "new_task": "新建任务……",
        "new_task_name": "新任务名称", "new_task_domain": "抽查领域",
        "new_task_region": "区划前缀（留空为本辖区）", "new_task_industry": "行业门类或代码（可选，如 F、5211）",
        "budget_hint": "留空则按配置比例抽取", "seed_hint": "公开的随机种子，相同输入与种子得到相同计划",
        "optimise": "按预期发现问题最多分配（需要数量上限）", "preview": "下一步：预览", "create": "确认生成计划",
        "back": "返回修改", "population": "任务范围内的主体（按等级）", "configured_ratio": "配置抽查比例",
        "plan_created": "已生成并发布抽查计划 {id}。", "invalid_budget": "抽查数量须为 0 或正整数。",
        "invalid_seed": "随机种子须为 1–64 个字母、数字或 - _ .", "invalid_month": "请选择已发布的分类月份。",
        "task_out_of_scope": "该任务范围超出您的辖区。", "task_name_needed": "请填写新任务名称。",
        # results
        "results_title": "上传抽查结果：计划 {id}", "results_file": "结果文件（CSV 或 XLSX，仅抽查检查结果）",
        "results_help": "文件各列：统一社会信用代码、检查日期、检查结果（未发现问题、发现问题已责令改正、发现问题待后续处理、"
                        "通过登记的住所（经营场所）无法联系、不配合检查情节严重、未发现开展本次抽查涉及的经营活动），"
                        "可选检查人员、备注。每户每个检查日期一条；再次上传同一户同一日期的结果以最新一次为准。"
                        "只能上传本计划在您辖区内的主体。CSV（UTF-8 或 GB18030 编码）、XLSX 或 Parquet 文件均可。",
        "upload": "上传", "results_done": "已导入：读取 {read} 行，接收 {accepted}，退回 {rejected}；"
        "新关联 {linked} 条结果，更新 {updated} 条，{with_result} / {planned} 户计划主体已有结果。",
        "results_rejected_title": "退回的行（未导入）", "results_line": "行", "results_column": "列",
        "results_reason": "原因", "results_value": "内容",
        "results_empty": "请选择一个 CSV 或 XLSX 文件。", "results_too_big": "文件过大（上限 {mb} MB）。",
        "results_bad_csv": "无法读取文件：{why}", "results_not_inspection": "第 {line} 行不是抽查检查结果（记录类型为「{v}」），整个文件未导入。",
        "results_out_of_scope": "第 {line} 行的主体 {uscc} 不是本计划在您辖区内的主体，整个文件未导入。",
        "results_missing_cols": "缺少列：{cols}。这不是抽查结果文件。",
        "results_entity_columns": "文件含有主体信息列（{cols}）：结果文件只能包含抽查结果，整个文件未导入。",
        "results_unknown_cols": "文件含有无法识别的列 {cols}：结果文件只有统一社会信用代码、检查日期、检查结果、检查人员、备注五列。",
        "results_not_results": "这不是抽查结果文件：{why}。",
        "results_none_accepted": "没有可导入的结果：第 {line} 行 {column}：{why}。",
        # quality
        "quality_title": "数据质量监测评估", "rows_read": "读取行数", "accepted": "接收", "merged": "合并（重复报送）",
        "quarantined": "隔离", "validity_rate": "有效率", "attribution_rate": "记名率", "timeliness": "及时率",
        "completeness_rate": "完整率", "target": "目标", "timely_target": "目标：{share} 在 {d} 个工作日内归集",
        "met": "达标", "not_met": "未达标",
        "full_report": "完整数据质量报告", "open_separately": "在新窗口打开", "deliveries": "报送批次",
        # model
        "model_title": "分类模型", "model_used": "采用模型", "model_version": "模型版本", "catalog_version": "指标体系版本",
        "grade_mode": "等级制", "published_at": "发布时间", "expert_only":
        "本月采用专家评分卡（各项指标的权重由省级信用部门在指标体系中设定），没有训练模型的报告。",
        "model_missing": "找不到模型 {id} 的记录（{home}/models）。", "four": "四级（A–D）", "five": "五级（A–E）",
        "expert": "专家评分卡", "trained": "训练评分卡",
        # admin
        "users_title": "用户管理", "display_name": "显示名称", "state": "状态", "active": "启用", "disabled": "停用",
        "disable": "停用", "enable": "启用", "add_user": "新增用户", "add": "新增", "user_added": "已新增用户 {u}。",
        "user_changed": "已更新用户 {u}。", "region_prefix": "辖区",
        "created_at": "创建时间", "department": "所属部门（专业领域人员，按预警的责任单位）",
        "department_col": "部门", "cannot_disable_self": "不能停用自己的账户。", "outside_region": "只能管理本辖区内的用户。",
        "confirm_disable": "确定停用该用户？其会话将立即失效。",
        "invalid_region": "辖区代码 {region} 不是现行的省（2 位）、市（4 位）或县（6 位）行政区划代码。",
        "cannot_change_self": "不能修改自己的角色或辖区，请由另一位管理员操作。", "cannot_reset_self": "不能在此重置自己的密码。",
        "bad_request": "无法识别的操作。", "weak_password": "密码至少 10 位，须同时包含字母和数字。",
        "department_too_long": "部门名称最多 128 个字。", "edit": "编辑", "user_edit_title": "用户：{u}",
        "locked": "已锁定（多次登录失败）", "unlock": "解锁", "reset_password": "重置密码", "new_password": "新密码",
        "save": "保存", "user_profile": "账户信息", "user_actions": "账户操作", "back_to_users": "返回用户列表",
        "user_done_save": "已保存。", "user_done_unlock": "已解锁。", "user_done_password": "已重置密码，该用户的会话已全部失效。",
        "user_done_disable": "已停用，该用户的会话已全部失效。", "user_done_enable": "已启用。",
        "reset_password_help": "新密码至少 10 位，须同时包含字母和数字；请通过安全渠道告知本人。",
        "two_factor": "双因素登录", "two_factor_on": "已启用", "two_factor_off": "未启用",
        "audit_title": "审计日志", "verify": "校验哈希链", "verify_ok": "审计日志完整：{n} 条，链头 {id}:{hash}",
        "verify_bad": "审计日志被篡改：{problem}", "at": "时间", "user": "用户", "action": "操作", "target_col": "对象",
        "detail_col": "详情",
        "role_admin": "系统管理员", "role_credit_officer": "信用监管人员", "role_inspector": "执法检查人员",
        "role_domain_officer": "专业领域人员", "role_analyst": "统计分析人员", "role_auditor": "审计人员",
        "type_enterprise": "企业", "type_individual": "个体工商户", "type_cooperative": "农民专业合作社",
        "status_active": "存续", "status_deregistered": "注销", "status_revoked": "吊销",
        # alerts (预警)
        "alerts": "预警", "alerts_title": "监测预警", "alert_title": "预警 {id}", "alert_id": "预警编号",
        "raised_on": "触发日期", "last_record_on": "最近记录日期", "alert_rule": "预警规则", "severity": "风险程度",
        "sev_high": "高", "sev_medium": "中", "sev_low": "低", "scope": "预警范围", "scope_entity": "单个主体",
        "scope_cluster": "关联主体聚集", "scope_area": "县区行业", "alert_members": "涉及主体", "astatus": "处置状态",
        # rule catalog (预警规则与精确率): warning/precision.py
        "st_muted": "已静默", "expected_risk": "预期风险", "rules_link": "预警规则与精确率", "rules_title": "预警规则与精确率",
        "rules_intro": "精确率：某条规则发出预警后，被预警的主体在随后 6 个月或 12 个月内确实出现问题（抽查检查发现问题、受到行政处罚、列入严重违法失信名单等）的比例。提升倍数：这一比例是同期全部在营主体出现问题比例的多少倍；1 倍表示与随机挑选无异，倍数越高，预警越值得优先处理。只统计已满观察期的预警。",
        "rules_mute_intro": "提升倍数低于 {min_lift} 倍（且已统计预警不少于 {min_measured} 条）的规则默认“静默”：其预警照常生成和统计，但不进入待分办队列，可在“已静默”中复核。各省可在规则文件中把某条规则设为“始终提醒”或“始终静默”。",
        "rules_measured_to": "统计截至 {d}", "rule_code": "规则代码", "rule_name_col": "规则名称",
        "precision_6m": "6 个月精确率", "lift_6m": "6 个月提升倍数", "precision_12m": "12 个月精确率",
        "lift_12m": "12 个月提升倍数", "rules_measured": "已统计预警", "rule_muted": "是否静默", "yes": "是", "no": "否",
        "rules_muted_only": "只看已静默的规则", "rules_all": "全部规则", "rules_none": "暂无规则。", "mute_never": "始终提醒",
        "mute_always": "始终静默",
        "st_open": "待分办", "st_assigned": "已分办", "st_handled": "已处置", "st_closed": "已办结",
        "unit": "责任单位", "unit_kind": "单位类型", "unit_department": "审批部门（谁审批、谁监管）",
        "unit_county": "县级市场监管局", "assignee": "承办单位或人员", "disposition": "处置方式",
        "disp_remind": "提醒", "disp_warn": "警示", "disp_interview": "约谈", "disp_inspect": "检查",
        "summary": "摘要", "date_from": "触发日期起", "date_to": "触发日期止", "unit_contains": "责任单位包含",
        "alerts_count": "共 {n} 条预警", "no_alerts": "没有符合条件的预警。", "by_status": "按处置状态",
        "by_severity": "按风险程度", "by_rule": "按预警规则", "by_area": "按县区（分办地）", "count": "数量",
        "alerts_stats_only": "您的角色只能查看预警统计数字，不能查看具体预警。", "alert_basics": "预警信息",
        "routing": "分办", "region_routed": "所在县区", "members_outside": "另有 {n} 户主体不在您的辖区，未显示。",
        "members_of": "{n} / {total}", "evidence": "证据记录", "evidence_role": "作用", "role_trigger": "触发",
        "role_context": "背景", "evidence_more": "共 {total} 条，显示前 {n} 条。", "record_id": "记录编号",
        "no_evidence": "没有可显示的证据记录。", "alert_log": "处置记录（哈希链，不可篡改）", "seq": "序号", "hash": "哈希",
        "act_raise": "系统预警", "act_extend": "扩展", "act_assign": "分办", "act_handle": "处置", "act_close": "办结",
        "act_target": "定向抽查", "log_from_to": "{a} → {b}", "log_task": "列入抽查任务 {id}（{n} 户）",
        "log_raise": "涉及 {members} 户，分办至 {unit}", "disposition_section": "处置",
        "step_assign": "分办", "step_handle": "登记处置", "step_close": "办结", "step_target": "列入定向抽查",
        "note": "备注", "target_task": "抽查任务", "target_reason": "原因（可选）",
        "no_tasks": "您的辖区内没有抽查任务；可在“新建抽查计划”中创建。", "targets": "定向抽查",
        "targets_none": "尚未列入抽查任务。", "target_row": "任务 {id}：{name}（{n} 户，{at}）",
        "closed_final": "该预警已办结，不能再变更。", "step_done": "已完成“{step}”，已记入处置记录和审计日志。",
        "profile_alerts": "预警", "profile_no_alerts": "没有涉及该主体的预警。",
        "alerts_unavailable": "数据仓库繁忙，暂时无法显示预警。", "info": "规则数据",
        "step_conflict": "该预警当前为“{status}”，不能执行“{step}”（待分办 → 已分办 → 已处置 → 已办结）。",
        "target_closed": "该预警已办结，不能再列入定向抽查。",
        "target_severity": "只有高风险预警（或规则标明须 100% 抽查的预警）可以列入定向抽查。",
        "task_missing": "请选择一个抽查任务。", "assign_to_needed": "请填写承办单位或人员。",
        "action_needed": "请选择处置方式。", "filter": "筛选",
        "welcome": "欢迎使用。请从上方导航选择功能。", "footer": "riskgrade {v} · 离线运行，不加载任何外部资源",
        # the sealed draw package (纪检/法制审核) and two-factor keys
        "sealed_nav": "密封核验包", "sealed_list_title": "抽查密封核验包（纪检/法制审核）",
        "sealed_title": "抽查计划 {id} 的密封核验包", "sealed_section": "密封核验包（纪检/法制审核）",
        "sealed_open": "查看密封核验包", "sealed_download": "下载核验包（zip）",
        "sealed_intro": "密封核验包只供纪检、法制审核人员和系统管理员查阅：它含有分层（县区 × 等级）、每层的入样概率、随机种子、抽签盐值和带等级的抽中名单。公开的“一公开”文件不含这些内容，因为它们会泄露企业的信用风险等级。每次查阅、下载和核验都记入审计日志。",
        "sealed_none": "暂无已发布的密封核验包（用 riskgrade plan --publish 发布抽查结果时生成）。",
        "sealed_draw": "抽签依据", "sealed_commitment": "种子承诺值", "sealed_salt": "抽签盐值",
        "sealed_salt_commitment": "盐值承诺值", "sealed_population": "可抽总体（户）", "sealed_hash": "核验包哈希值",
        "sealed_seed_help": "公开的随机种子，与抽签前公布的承诺值对应。",
        "sealed_salt_help": "系统在承诺种子时随机生成、从不公开；有了它，才能由种子重算每户的抽签号。",
        "sealed_population_help": "抽签时所有可被抽中的主体。",
        "sealed_hash_help": "与抽签一同公布，之后核验包的任何改动都会被发现。",
        "sealed_strata": "分层与入样概率", "sealed_stratum": "分层", "sealed_stratum_size": "层内户数",
        "sealed_strata_help": "入样概率 = 该层抽中户数 ÷ 该层户数，即该层每一户被抽中的机会。F 层为必查对象（不抽签）。",
        "sealed_selection": "抽中名单（含等级）",
        "sealed_probability_help": "入样概率是每户被抽中的机会：例如 0.2500 表示该户所在分层每 4 户抽 1 户。",
        "sealed_more": "本页只显示前 {n} 户（共 {total} 户），完整名单请下载核验包。", "sealed_files": "核验包文件",
        "sealed_verify": "核验这次抽签", "sealed_verify_help": "核对随机种子与事先公布的承诺值一致、核验包与系统中保存的计划一致，并用核验包重新抽签，看抽中名单是否相同。",
        "sealed_verified": "核验通过：{checked}。", "sealed_not_verified": "核验未通过：",
        "verified_commitment": "公开的随机种子与抽签前的承诺值一致", "verified_stored_plan": "与系统中保存的计划一致",
        "verified_redrawn": "用密封核验包重新抽签，结果一致",
        "sealed_forbidden": "只有纪检、法制审核人员和系统管理员可以查阅密封核验包。",
        "sealed_missing": "这个计划没有密封核验包（未发布，或不在您的辖区）。",
        "totp_key_unavailable": "双因素登录暂不可用：服务器缺少解密密钥，请联系系统运维人员。",
    },
    "en": {
        "html_lang": "en", "product": "Credit risk classification", "skip": "Skip to content", "nav_label": "Main",
        "dashboard": "Dashboard", "search": "Entities", "plans": "Inspection plans", "quality": "Data quality",
        "model": "Model report", "users": "Users", "audit": "Audit log", "logout": "Log out", "lang_switch": "中文",
        "lang_switch_label": "Switch to Chinese", "signed_in_as": "Signed in as", "region": "Region", "role": "Role",
        "code_title": "One-time code", "code_hint": "Enter the 6-digit code your authenticator app shows.",
        "totp_title": "Two-factor sign-in", "totp_code": "One-time code (6 digits)", "totp_confirm": "Turn on",
        "totp_intro": "Add an account in an authenticator app (e.g. FreeOTP, Google Authenticator): type in the otpauth address or the secret below, then confirm with the code the app shows.",
        "totp_uri": "otpauth address", "totp_secret": "Secret", "totp_enabled": "Two-factor sign-in is on. To move to another device, ask an administrator to reset it.",
        "totp_done": "Two-factor sign-in is on: from now on, signing in asks for a one-time code.", "totp_bad_code": "The code does not match: check the device's clock and try again.",
        "totp_already": "Two-factor sign-in is on already.", "totp_required": "Enter the one-time code.",
        "totp_enrol_first": "Administrators sign in with two factors: set it up first, then the console opens.",
        "login_title": "Log in", "username": "User name", "password": "Password", "login_button": "Log in",
        "login_failed": "Wrong user name or password, or the account is locked or disabled.",
        "login_rate_limited": "Too many login attempts: wait a minute.",
        "login_expired": "Your session has expired or you are not logged in: please log in.",
        "login_hint": "Internal system: grades are a regulatory reference and never public.",
        "logged_out": "You have logged out.",
        "error_title": "Not possible", "forbidden": "Your role may not open this page or do this.",
        "csrf": "The form has expired (missing or wrong security token): go back, reload and try again.",
        "not_found": "Not found, or not in your region.", "back_home": "Back to the dashboard",
        "busy": "The warehouse is busy with another job: try again shortly.",
        "dash_title": "Credit risk classification overview", "as_of": "Month", "entities": "Entities",
        "nothing_published": "Nothing has been published yet. Once the provincial credit department classifies and publishes a month, your area's results appear here.", "shares": "Grade shares",
        "trend": "Grade shares by month", "migration": "Grade migration",
        "migration_caption": "Previous grade (rows) → this month's grade (columns), entities",
        "migration_need_two": "Migration appears once two months are published.", "from_to": "{a} → {b}",
        "heat_grade": "Grades by area (highest share of C/D/E first)",
        "top_areas_note": "The chart lists the {k} areas with the highest share of grades C/D/E (of {n}); the table below lists every area.",
        "small_cell_note": "Darker means a higher share of grades C/D/E; cells with fewer than {m} entities are grey and uncoloured (too few to say anything).",
        "entities_n": "Entities", "whole_scope": "whole area", "all_industries": "All industries",
        "results_template": "Download the results template (Excel)", "results_template_help": "The template lists this plan's drawn entities in your region: fill in the date and the result, then upload it.", "alert_who": "Entity / alert id", "and_more": " and {n} in all", "alert_open": "open", "risk_grade": "Credit risk grade", "help": "User guide", "export_xlsx": "Export Excel", "export_csv": "Export CSV", "jump_to": "Go to page", "go": "Go", "heat_industry": "Area × industry section: share of grades C/D/E",
        "level": "Area level", "level_city": "city", "level_county": "county", "show": "Show",
        "chart_table": "Chart data (table)", "grade": "Grade", "share": "Share", "mean_score": "Mean score",
        "month": "Month", "area": "Area", "industry": "Industry", "high_share": "C/D/E share",
        "export_grades": "Export this month's grades (CSV, audited)", "total": "Total",
        "grade_A": "A (low risk)", "grade_B": "B (moderate risk)", "grade_C": "C (elevated risk)",
        "grade_D": "D (high risk)", "grade_E": "E (special attention)",
        "search_title": "Find market entities", "q": "Name or USCC", "all": "All", "label": "Label",
        "search_button": "Search", "results": "{n} entities", "no_results": "No entity matches.", "uscc": "USCC",
        "name": "Name", "entity_type": "Type", "score": "Score", "labels": "Labels", "page": "Page {p} of {n}",
        "prev": "Previous", "next": "Next", "pagination": "Pages", "reset": "Clear filters",
        "attributes": "Registration",
        "established_on": "Established", "status": "Status", "closed_on": "Closed on",
        "registered_capital": "Registered capital (10,000 CNY)", "address": "Address", "legal_rep_id": "Legal rep. id",
        "phone_id": "Phone id", "masked": "(masked)", "current_grade": "Current grade", "explanation": "Why this grade",
        "no_grade": "No published grade for this entity.", "reasons": "Main reasons", "points": "Points",
        "history": "Grade history", "previous_grade": "Previous", "rule": "Decided by", "sealed": "Seal",
        "seal_ok": "intact", "seal_bad": "BROKEN: altered after publication!", "timeline": "Records timeline",
        "event_date": "Date", "event_type": "Type", "detail": "Detail", "amount": "Amount", "source": "Source",
        "no_events": "No records.", "plan_memberships": "Inspection plans", "no_plans": "In no published plan.",
        "selection": "Selection", "check_mode": "Check", "task": "Task",
        "explain_head": "Graded {grade} as of {date}, with a risk score of {score} (0–1000, higher is riskier).",
        "explain_rule_score": "The grade follows from the score.",
        "explain_rule_override": "A one-vote override applies: {name}.",
        "explain_rule_floor": "Its industry is one of high attention: the grade is at least B.",
        "explain_reasons": "What raised the score most: {items}.", "explain_no_reasons": "Nothing raised the score.",
        "explain_labels": "Labels: {items}.", "explain_first": "This is its first grade.",
        "explain_same": "Unchanged from the previous month ({g}).",
        "explain_up": "Riskier than the previous month ({g}).",
        "explain_down": "Less risky than the previous month ({g}).", "item_sep": "; ", "list_sep": ", ",
        "points_fmt": "{name} (+{p})",
        "explain_lowering": "What lowered the score: {items}.", "points_down_fmt": "{name} (−{p})",
        "breakdown": "How the score adds up", "breakdown_item": "Item", "fact": "Fact behind it",
        "base_score": "Base score", "base_note": "the score with every indicator at its reference value",
        "base_unknown": "not recorded for this month", "raising": "What raised the risk",
        "lowering": "What lowered the risk", "no_raising": "Nothing raised the risk.",
        "no_lowering": "Nothing lowered the risk.", "points_signed": "{p} points", "no_fact": "—",
        "sum_line": "Base score {base} plus the points {total} gives the score {score}.",
        "sum_high": "Base score {base} plus the points {total} gives {sum}, above the maximum of 1000: the score is "
                    "{score}.",
        "sum_low": "Base score {base} plus the points {total} gives {sum}, below the minimum of 0: the score is {score}.",
        "sum_no_base": "The points add up to {total}; the base score was not recorded for this month, so the full sum "
                       "cannot be shown.",
        "sum_mismatch": "Base score {base} plus the points {total} gives {sum}, which does not match the score {score}: "
                        "check this month's classification.",
        "facts_language": "Facts are given in Chinese, as the records state them.",
        "unnamed_indicator": "another indicator", "rule_by_score": "score", "rule_by_floor": "industry floor (at least B)",
        "plans_title": "Double-random inspection plans", "new_plan": "New plan", "plan": "Plan", "seed": "Seed",
        "drawn": "Drawn", "in_scope": "In your region", "domain": "Domain", "no_plans_yet": "No published plan yet.",
        "plan_title": "Inspection plan {id}", "algorithm": "Algorithm", "budget": "Budget", "none": "none",
        "rates": "Rates by grade", "ratio": "Configured", "rate": "Used", "eligible": "Eligible", "forced": "Forced",
        "inclusion_probability": "Inclusion prob.", "inspectors": "Inspectors", "upload_results": "Upload results",
        "entities_in_scope": "Planned entities in your region", "random": "random", "onsite": "on site",
        "written": "in writing", "notes": "Notes", "content_hash": "Content hash",
        "wizard_title": "New inspection plan", "step1": "Step 1: month and task", "step2": "Step 2: size and seed",
        "step3": "Step 3: confirm", "general_task": "Province-wide general inspection", "new_task": "New task…",
        "new_task_name": "New task name", "new_task_domain": "Inspection domain",
        "new_task_region": "Region prefix (empty: your region)",
        "new_task_industry": "Industry section or code (optional, e.g. F, 5211)",
        "budget_hint": "Empty: draw at the configured ratios",
        "seed_hint": "Published seed: the same inputs and seed give the same plan",
        "optimise": "Allocate to the most expected findings (needs a budget)", "preview": "Next: preview",
        "create": "Create the plan", "back": "Change", "population": "Entities in the task's scope (by grade)",
        "configured_ratio": "Configured ratio",
        "plan_created": "Plan {id} drawn and published.",
        "invalid_budget": "The budget must be 0 or a positive whole number.",
        "invalid_seed": "The seed: 1-64 letters, digits or - _ .", "invalid_month": "Choose a published month.",
        "task_out_of_scope": "This task's scope is larger than your region.",
        "task_name_needed": "Give the new task a name.",
        "results_title": "Upload inspection results: plan {id}",
        "results_file": "Results file (CSV or XLSX, inspection results only)",
        "results_help": "Columns: uscc, date, result (pass, corrected, problem, unreachable, refused, not_operating, or "
                        "their Chinese words such as 未发现问题), optional inspector and notes. One result per entity "
                        "and date; uploading a result again for the same entity and date replaces it. Only entities "
                        "of this plan in your region. CSV in UTF-8 or GB18030.",
        "upload": "Upload",
        "results_done": "Imported: {read} rows read, {accepted} accepted, {rejected} rejected; "
                        "{linked} results newly linked, {updated} updated, {with_result} of {planned} planned entities "
                        "have a result.",
        "results_rejected_title": "Rejected lines (not imported)", "results_line": "Line", "results_column": "Column",
        "results_reason": "Reason", "results_value": "Value",
        "results_empty": "Choose a CSV or XLSX file.", "results_too_big": "The file is too large (at most {mb} MB).",
        "results_bad_csv": "Cannot read the file: {why}",
        "results_not_inspection": "Line {line} is not an inspection result (event_type={v}); nothing was imported.",
        "results_out_of_scope": "Line {line}: {uscc} is not an entity of this plan in your region; nothing was "
                                "imported.",
        "results_missing_cols": "Missing columns: {cols}. This is not a results file.",
        "results_entity_columns": "The file has entity columns ({cols}): a results file holds inspection results "
                                  "only; nothing was imported.",
        "results_unknown_cols": "Unknown columns {cols}: a results file has uscc, date, result, inspector and notes.",
        "results_not_results": "Not a results file: {why}.",
        "results_none_accepted": "No result could be imported: line {line}, {column}: {why}.",
        "quality_title": "Data quality", "rows_read": "Rows read", "accepted": "Accepted",
        "merged": "Merged (re-delivered)",
        "quarantined": "Quarantined", "validity_rate": "Validity", "attribution_rate": "Attribution",
        "timeliness": "Timeliness", "completeness_rate": "Completeness", "target": "Target",
        "timely_target": "target: {share} within {d} workdays", "met": "met",
        "not_met": "not met", "full_report": "Full data-quality report",
        "open_separately": "Open in a new window", "deliveries": "Deliveries",
        "model_title": "Classification model", "model_used": "Model", "model_version": "Model version",
        "catalog_version": "Catalog version", "grade_mode": "Grades", "published_at": "Published",
        "expert_only": "This month used the expert scorecard (weights set by the provincial credit department in the "
                       "indicator system): there is no trained model to report.",
        "model_missing": "No record of model {id} ({home}/models).", "four": "four (A–D)", "five": "five (A–E)",
        "expert": "expert scorecard", "trained": "trained scorecard",
        "users_title": "Users", "display_name": "Display name", "state": "State", "active": "active",
        "disabled": "disabled", "disable": "Disable", "enable": "Enable", "add_user": "Add a user", "add": "Add",
        "user_added": "User {u} added.", "user_changed": "User {u} updated.",
        "region_prefix": "Region (GB/T 2260 prefix: 37, 3701 or 370102)", "created_at": "Created",
        "department": "Department (domain officers: as alerts name the responsible unit)",
        "department_col": "Department",
        "cannot_disable_self": "You cannot disable your own account.",
        "outside_region": "You manage users of your region only.",
        "confirm_disable": "Disable this user? Their sessions end at once.",
        "invalid_region": "Region {region} is not a current province (2 digits), city (4) or county (6) code.",
        "cannot_change_self": "You cannot change your own role or region: ask another administrator.",
        "cannot_reset_self": "You cannot reset your own password here.",
        "bad_request": "Unknown action.", "weak_password": "A password needs at least 10 characters with letters and digits.",
        "department_too_long": "A department name has at most 128 characters.", "edit": "Edit", "user_edit_title": "User: {u}",
        "locked": "locked (failed sign-ins)", "unlock": "Unlock", "reset_password": "Reset password", "new_password": "New password",
        "save": "Save", "user_profile": "Account", "user_actions": "Actions", "back_to_users": "Back to users",
        "user_done_save": "Saved.", "user_done_unlock": "Unlocked.", "user_done_password": "Password reset; the user's sessions have ended.",
        "user_done_disable": "Disabled; the user's sessions have ended.", "user_done_enable": "Enabled.",
        "reset_password_help": "At least 10 characters with letters and digits; tell the user through a safe channel.",
        "two_factor": "Two-factor sign-in", "two_factor_on": "on", "two_factor_off": "off",
        "audit_title": "Audit log", "verify": "Verify the hash chain",
        "verify_ok": "Audit log intact: {n} entries, head {id}:{hash}",
        "verify_bad": "Audit log tampered with: {problem}", "at": "At", "user": "User", "action": "Action",
        "target_col": "Target", "detail_col": "Detail",
        "role_admin": "administrator", "role_credit_officer": "credit officer", "role_inspector": "inspector",
        "role_domain_officer": "domain officer", "role_analyst": "analyst", "role_auditor": "auditor",
        "type_enterprise": "enterprise", "type_individual": "individual business", "type_cooperative": "cooperative",
        "status_active": "active", "status_deregistered": "deregistered", "status_revoked": "revoked",
        "alerts": "Alerts", "alerts_title": "Early-warning alerts", "alert_title": "Alert {id}", "alert_id": "Alert",
        "raised_on": "Raised on", "last_record_on": "Latest record", "alert_rule": "Rule", "severity": "Severity",
        "sev_high": "high", "sev_medium": "medium", "sev_low": "low", "scope": "Scope", "scope_entity": "one entity",
        "scope_cluster": "linked entities (cluster)", "scope_area": "county × industry", "alert_members": "Entities",
        # rule catalog: warning/precision.py
        "st_muted": "muted", "expected_risk": "Expected risk", "rules_link": "Rules and precision", "rules_title": "Warning rules and their precision",
        "rules_intro": "Precision: of the entities a rule alerted, the share that did have a problem (an inspection finding, a penalty, a serious-dishonesty listing ...) within 6 or 12 months. Lift: how many times the rate of all entities active in the same months that is; 1 means no better than picking at random. Only alerts whose follow-up period has ended are counted.",
        "rules_mute_intro": "Rules with a lift below {min_lift} (and at least {min_measured} alerts counted) are muted by default: their alerts are still raised and counted but stay out of the open queue, for review under muted. A province sets mute: never (always raised) or always (always muted) in its rules file.",
        "rules_measured_to": "measured to {d}", "rule_code": "Code", "rule_name_col": "Rule",
        "precision_6m": "Precision 6 m", "lift_6m": "Lift 6 m", "precision_12m": "Precision 12 m",
        "lift_12m": "Lift 12 m", "rules_measured": "Alerts counted", "rule_muted": "Muted", "yes": "yes", "no": "no",
        "rules_muted_only": "Muted rules only", "rules_all": "All rules", "rules_none": "No rules.", "mute_never": "always raised",
        "mute_always": "always muted",
        "astatus": "Status", "st_open": "open", "st_assigned": "assigned", "st_handled": "handled",
        "st_closed": "closed", "unit": "Responsible unit", "unit_kind": "Unit type",
        "unit_department": "licensing department", "unit_county": "county bureau", "assignee": "Assigned to",
        "disposition": "Disposition", "disp_remind": "remind", "disp_warn": "warn", "disp_interview": "interview",
        "disp_inspect": "inspect", "summary": "Summary", "date_from": "Raised from", "date_to": "Raised until",
        "unit_contains": "Unit contains", "alerts_count": "{n} alerts", "no_alerts": "No alert matches.",
        "by_status": "By status", "by_severity": "By severity", "by_rule": "By rule",
        "by_area": "By county (routed to)", "count": "Count",
        "alerts_stats_only": "Your role sees alert counts only, not individual alerts.", "alert_basics": "Alert",
        "routing": "Routing", "region_routed": "County",
        "members_outside": "{n} more entities outside your region are not shown.", "members_of": "{n} / {total}",
        "evidence": "Evidence", "evidence_role": "Role", "role_trigger": "trigger", "role_context": "context",
        "evidence_more": "{total} records; the first {n} are shown.", "record_id": "Record id",
        "no_evidence": "No evidence to show.", "alert_log": "Disposition log (hash chain, tamper-evident)",
        "seq": "Seq", "hash": "Hash", "act_raise": "raised", "act_extend": "extended", "act_assign": "assigned",
        "act_handle": "handled", "act_close": "closed", "act_target": "sent to inspection", "log_from_to": "{a} → {b}",
        "log_task": "inspection task {id} ({n} entities)", "log_raise": "{members} entities, routed to {unit}",
        "disposition_section": "Disposition", "step_assign": "Assign", "step_handle": "Record disposition",
        "step_close": "Close", "step_target": "Send to inspection task", "note": "Note",
        "target_task": "Inspection task", "target_reason": "Reason (optional)",
        "no_tasks": "No inspection task in your region: create one in the plan wizard.",
        "targets": "Targeted inspection", "targets_none": "Not sent to an inspection task.",
        "target_row": "Task {id}: {name} ({n} entities, {at})",
        "closed_final": "This alert is closed and cannot change.",
        "step_done": "Done: “{step}”, written to the disposition log and the audit log.",
        "profile_alerts": "Alerts", "profile_no_alerts": "No alert concerns this entity.",
        "alerts_unavailable": "The warehouse is busy: alerts cannot be shown now.", "info": "Figures",
        "step_conflict": "The alert is {status}: “{step}” is not possible (open → assigned → handled → closed).",
        "target_closed": "The alert is closed: nothing left to inspect.",
        "target_severity": "Only high-severity alerts (or rules marked for 100% inspection) can be sent to an "
                           "inspection task.",
        "task_missing": "Choose an inspection task.", "assign_to_needed": "Say who handles the alert.",
        "action_needed": "Choose a disposition.", "filter": "Filter",
        "welcome": "Welcome. Choose a page from the menu above.",
        "footer": "riskgrade {v} · runs offline, loads nothing from outside",
        # the sealed draw package (auditors) and two-factor keys
        "sealed_nav": "Sealed draws", "sealed_list_title": "Sealed draw packages (auditors)",
        "sealed_title": "Sealed package of plan {id}", "sealed_section": "Sealed package (auditors)",
        "sealed_open": "Open the sealed package", "sealed_download": "Download the package (zip)",
        "sealed_intro": "The sealed package is for auditors (discipline inspection, legal review) and administrators only: it holds the strata (county × grade), each stratum's inclusion probability, the seed, the draw salt and the selection with grades. The public files leave these out because they reveal entities' risk grades. Every read, download and verification is written to the audit log.",
        "sealed_none": "No sealed package has been published yet (riskgrade plan --publish makes one).",
        "sealed_draw": "The draw", "sealed_commitment": "Seed commitment", "sealed_salt": "Draw salt",
        "sealed_salt_commitment": "Salt commitment", "sealed_population": "Population (entities)",
        "sealed_hash": "Package hash",
        "sealed_seed_help": "The revealed seed, which matches the commitment published before the draw.",
        "sealed_salt_help": "Made at random by the system when the seed was committed, never published: with it, each entity's draw key follows from the seed.",
        "sealed_population_help": "Every entity that could be drawn.",
        "sealed_hash_help": "Published with the draw: any later change to the package shows.",
        "sealed_strata": "Strata and inclusion probabilities", "sealed_stratum": "Stratum",
        "sealed_stratum_size": "Entities in stratum",
        "sealed_strata_help": "Inclusion probability = drawn ÷ entities in the stratum: the chance each entity of the stratum had to be drawn. Stratum F holds the entities inspected regardless (no draw).",
        "sealed_selection": "Drawn entities (with grades)",
        "sealed_probability_help": "The inclusion probability is the chance each entity had to be drawn: 0.2500 means one in four of its stratum.",
        "sealed_more": "The first {n} of {total} are shown; download the package for all.", "sealed_files": "Files",
        "sealed_verify": "Verify this draw", "sealed_verify_help": "As riskgrade plans verify: the seed against its commitment, the stored plan, and the draw redone from the sealed package.",
        "sealed_verified": "Verified: {checked}.", "sealed_not_verified": "Verification failed:",
        "verified_commitment": "the revealed seed matches the commitment made before the draw",
        "verified_stored_plan": "the package equals the stored plan",
        "verified_redrawn": "the draw redone from the sealed package gives the same selection",
        "sealed_forbidden": "Only auditors and administrators may read a sealed package.",
        "sealed_missing": "This plan has no sealed package (not published, or not in your region).",
        "totp_key_unavailable": "Two-factor sign-in is unavailable: the server lacks the key to its secrets. Ask the operator.",
    },
}


class CatalogNames(Mapping):
    """code -> English name, read from a catalog (the built-in YAML) when first asked."""

    def __init__(self, load: Callable[[], dict[str, str]]):
        self._load = load
        self._names: dict[str, str] | None = None

    def _data(self) -> dict[str, str]:
        if self._names is None:
            self._names = self._load()
        return self._names

    def __getitem__(self, code: str) -> str:
        return self._data()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


def _merge_features() -> None:
    """Add the words of :mod:`riskgrade.web.texts`' feature modules; a key defined twice is an error."""
    from .texts import feature_strings

    for name, strings in feature_strings():
        for lang in LANGS:
            clash = STRINGS[lang].keys() & strings[lang].keys()
            if clash:
                raise RuntimeError(f"web/texts/{name}.py redefines {sorted(clash)[:5]} ({lang})")
            STRINGS[lang].update(strings[lang])


_merge_features()

def _labels_en() -> dict[str, str]:
    from ..scoring.grading import load_labels

    return {x.code: x.name_en for x in load_labels().labels if x.name_en}


def _overrides_en() -> dict[str, str]:
    from ..scoring.grading import load_grading

    return {o.code: o.name_en for o in load_grading().overrides if o.name_en}


# the English names of labels and overrides: the catalogs' name_en (labels.yaml, grading.yaml)
LABELS_EN: Mapping[str, str] = CatalogNames(_labels_en)
OVERRIDES_EN: Mapping[str, str] = CatalogNames(_overrides_en)

SECTIONS_EN = {
    "A": "Agriculture, forestry, animal husbandry and fishery", "B": "Mining", "C": "Manufacturing",
    "D": "Electricity, heat, gas and water", "E": "Construction", "F": "Wholesale and retail",
    "G": "Transport, storage and post", "H": "Accommodation and catering", "I": "Information technology",
    "J": "Finance", "K": "Real estate", "L": "Leasing and business services", "M": "Research and technical services",
    "N": "Water, environment and public facilities", "O": "Residential and repair services", "P": "Education",
    "Q": "Health and social work", "R": "Culture, sports and entertainment", "S": "Public administration",
    "T": "International organisations",
}
