"""The console's words: numbers, regions, industry sections, indicators, labels, rules, records, and the
readable explanation of a grade, in the page's language (Chinese names from the catalogs, English ones
from :mod:`.i18n`)."""

from __future__ import annotations

import functools
import re
from typing import Any

from ..contract import GRADES, INSPECTION_RESULT_EN
from .i18n import LABELS_EN, OVERRIDES_EN, SECTIONS_EN, STRINGS

HIGH = ("C", "D", "E")


def num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "—"
    return f"{float(v):,.{digits}f}" if digits else f"{int(round(float(v))):,}"


def pct(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{float(v) * 100:.{digits}f}%"


def region_name(code: str | None) -> str:
    from ..codes import regions

    if not code:
        return "—"
    full = code + "0" * (6 - len(code))
    return f"{code} {regions.name(full)}" if regions.table().get(full) else code


def section_name(section: str | None, lang: str) -> str:
    from ..codes.industries import section_name as zh

    if not section:
        return "—"
    return f"{section} {zh(section) if lang == 'zh' else SECTIONS_EN.get(section, '')}".strip()


def industry_label(section: str | None, code: str | None, lang: str) -> str:
    """An entity's industry in words: the section's name and the 4-digit class code (``批发和零售业 · 5225``)."""
    sc = section or section_of(code)
    digits = (code or "").lstrip("ABCDEFGHIJKLMNOPQRST")
    name = section_name(sc, lang).split(" ", 1)[-1] if sc else ""
    return " · ".join(x for x in (name, digits) if x) or "—"


def section_of(industry_code: str | None) -> str | None:
    from ..codes.industries import DIVISION_SECTION

    digits = (industry_code or "").lstrip("ABCDEFGHIJKLMNOPQRST")
    return DIVISION_SECTION.get(digits[:2])


@functools.lru_cache(maxsize=1)
def indicator_names() -> dict[str, tuple[str, str]]:
    from ..indicators import load_catalog
    from ..indicators.facts import ATTRIBUTES

    return {**ATTRIBUTES, **{i.code: (i.name_zh, i.name_en) for i in load_catalog().indicators}}


@functools.lru_cache(maxsize=1)
def label_names() -> dict[str, str]:
    from ..scoring import load_labels

    return {x.code: x.name_zh for x in load_labels().labels}


@functools.lru_cache(maxsize=1)
def _override_names() -> dict[str, str]:
    from ..scoring import load_grading

    return {o.code: o.name_zh for o in load_grading().overrides}


def indicator_name(code: str, lang: str) -> str:
    zh, en = indicator_names().get(code, (code, code))
    return zh if lang == "zh" else en


def label_name(code: str, lang: str) -> str:
    if code.startswith("industry_"):
        return ("行业门类：" if lang == "zh" else "Industry: ") + section_name(code[9:], lang)
    return (label_names().get(code) if lang == "zh" else LABELS_EN.get(code)) or code


def explain(grade: dict, lang: str) -> list[str]:
    """A readable explanation of a grade: what it is, what decided it, what raised the score, labels, change."""
    t = STRINGS[lang]
    out = [t["explain_head"].format(date=grade["as_of"].isoformat(), grade=t[f"grade_{grade['grade']}"],
                                    score=num(grade["score"]))]
    rule = grade.get("grade_rule") or "score"
    if rule == "score":
        out.append(t["explain_rule_score"])
    elif rule == "industry_floor":
        out.append(t["explain_rule_floor"])
    else:
        name = (_override_names().get(rule) if lang == "zh" else OVERRIDES_EN.get(rule)) or rule
        out.append(t["explain_rule_override"].format(name=name))
    top = [r for r in grade["reasons"] if r["points"] > 0][:5]
    if top:
        out.append(t["explain_reasons"].format(items=t["item_sep"].join(
            t["points_fmt"].format(name=indicator_name(r["code"], lang), p=num(r["points"], 1)) for r in top)))
    else:
        out.append(t["explain_no_reasons"])
    low = [r for r in grade.get("lowering", []) if r["points"] < 0][:5]
    if low:
        out.append(t["explain_lowering"].format(items=t["item_sep"].join(
            t["points_down_fmt"].format(name=indicator_name(r["code"], lang), p=num(-r["points"], 1)) for r in low)))
    if grade["labels"]:
        out.append(t["explain_labels"].format(items=t["list_sep"].join(label_name(x, lang) for x in grade["labels"])))
    prev = grade.get("previous_grade")
    if not prev:
        out.append(t["explain_first"])
    elif prev == grade["grade"]:
        out.append(t["explain_same"].format(g=prev))
    else:
        up = GRADES.index(grade["grade"]) > GRADES.index(prev)
        out.append(t["explain_up" if up else "explain_down"].format(g=prev))
    return out


def _signed(v: float, exact: bool = False) -> str:
    """Points with their sign: +12.3, −4.0 (a true minus sign); ``exact``: to the hundredth, as stored."""
    return ("+" if v >= 0 else "\u2212") + (_exact(abs(v)) if exact else num(abs(v), 1))


def _exact(v: float) -> str:
    """A score or sum as stored (to the hundredth), without trailing zeros: 1,000, 623.45, 120.5."""
    return f"{float(v):,.2f}".rstrip("0").rstrip(".")


def breakdown(grade: dict, lang: str) -> dict:
    """How a grade's score adds up, for the profile: the base, each contribution that raised the risk and
    each that lowered it (name, signed points, the fact behind it), and the sum line (base + points =
    score, or the sum clipped to 0..1000; without a recorded base, the points' sum only)."""
    t = STRINGS[lang]

    def row(r: dict) -> dict:
        name = indicator_name(r["code"], lang)
        if name == r["code"]:  # an indicator the built-in catalog does not name: its published name
            name = (r.get("name_zh") if lang == "zh" else r.get("name_en")) or r.get("name_zh") or t["unnamed_indicator"]
        return {"name": name, "points": t["points_signed"].format(p=_signed(r["points"])), "fact": r.get("fact") or ""}

    base, total, raw = grade["score_base"], grade["points_total"], grade["unclipped"]
    fields = {"total": _signed(total, exact=True), "score": _exact(grade["score"])}
    if base is None:
        line = t["sum_no_base"].format(**fields)
    else:
        fields.update(base=_exact(base), sum=_exact(raw))
        if abs(min(1000.0, max(0.0, raw)) - float(grade["score"])) > 0.011:  # the points do not add up: say so
            line = t["sum_mismatch"].format(**fields)
        else:
            line = t["sum_high" if raw > 1000 else "sum_low" if raw < 0 else "sum_line"].format(**fields)
    return {"base": None if base is None else num(base, 1), "raising": [row(r) for r in grade["reasons"]],
            "lowering": [row(r) for r in grade["lowering"]], "sum": line}


def rule_label(rule: str | None, lang: str) -> str:
    """What decided a grade, by name: the score, the industry floor or a one-vote override."""
    t = STRINGS[lang]
    if not rule or rule == "score":
        return t["rule_by_score"]
    if rule == "industry_floor":
        return t["rule_by_floor"]
    return (_override_names().get(rule) if lang == "zh" else OVERRIDES_EN.get(rule)) or rule


@functools.lru_cache(maxsize=1)
def _rule_names_en() -> dict[str, str]:
    from ..warning import load_rules

    return {r.code: r.name_en for r in load_rules().rules}


def rule_name(code: str, name_zh: str | None, lang: str) -> str:
    """A warning rule's name: as the alert carries it (Chinese), or the catalog's English name."""
    if lang == "zh":
        return name_zh or code
    return _rule_names_en().get(code) or name_zh or code


def event_names(lang: str) -> dict[str, str]:
    from ..contract import EVENT_TYPE_NAMES_ZH

    names = {**EVENT_TYPE_NAMES_ZH, "grade": "信用风险分类结果"}  # "grade": a grade-jump alert's evidence
    return names if lang == "zh" else {k: k.replace("_", " ") for k in names}


def detail_name(event_type: str, detail: str | None, lang: str) -> str:
    from ..indicators.facts import detail_name as zh

    if lang == "zh":
        return zh(event_type, detail)  # the Chinese word of a detail code (the facts use the same)
    if event_type == "inspection" and detail:
        return INSPECTION_RESULT_EN.get(detail, detail)
    return detail or ""


def log_text(entry: dict, lang: str) -> str:
    """One step of the alert log in words: from -> to, to whom, how, the note."""
    t = STRINGS[lang]
    d = entry.get("detail") or {}
    parts = []
    if d.get("from") and d.get("to"):
        parts.append(t["log_from_to"].format(a=t.get("st_" + d["from"], d["from"]), b=t.get("st_" + d["to"], d["to"])))
    if d.get("assignee"):
        parts.append(f"{t['assignee']}：{d['assignee']}" if lang == "zh" else f"{t['assignee']}: {d['assignee']}")
    if d.get("action"):
        parts.append(t.get("disp_" + d["action"], d["action"]))
    if d.get("task"):
        parts.append(t["log_task"].format(id=d["task"], n=d.get("entities", 0)))
    if entry.get("action") in ("raise", "extend"):
        parts.append(t["log_raise"].format(members=d.get("members", ""), unit=d.get("unit", "")))
    if d.get("note"):
        parts.append(("备注：" if lang == "zh" else "note: ") + str(d["note"]))
    return t["item_sep"].join(str(x) for x in parts)


# --------------------------------------------------------------------------- words for codes the pages show
# Inspection domains (抽查领域) by their usual codes; a task created with a Chinese domain shows as typed.
DOMAINS = {
    "general": ("综合（不限领域）", "General"), "food": ("食品", "Food"), "drug": ("药品", "Drugs"),
    "medical_device": ("医疗器械", "Medical devices"), "cosmetics": ("化妆品", "Cosmetics"),
    "special_equipment": ("特种设备", "Special equipment"), "product_quality": ("产品质量", "Product quality"),
    "measurement": ("计量", "Measurement"), "advertising": ("广告", "Advertising"),
    "pricing": ("价格", "Pricing"), "competition": ("反不正当竞争", "Unfair competition"),
    "registration": ("登记事项", "Registration"), "annual_report": ("年度报告公示信息", "Annual reports"),
    "online": ("网络交易", "Online trade"), "certification": ("认证认可", "Certification"),
    "standards": ("标准化", "Standards"), "intellectual_property": ("知识产权", "Intellectual property"),
}

# What an alert's figures (info) are called.
INFO_KEYS = {
    "window_days": ("统计天数", "window (days)"), "count": ("次数", "count"), "expected": ("基线期望", "expected"),
    "p_value": ("显著性（p 值）", "p-value"), "month": ("月份", "month"), "cusum": ("累积和指标", "CUSUM"),
    "previous_grade": ("原等级", "previous grade"), "grade": ("现等级", "grade"),
    "listed_on": ("列入日期", "listed on"), "complaints_since_listing": ("列入后投诉举报", "complaints since listing"),
    "valid_until": ("有效期至", "valid until"), "granted_on": ("许可日期", "granted on"),
    "expired_on": ("到期日期", "expired on"), "first_registered": ("首户登记日期", "first registered"),
    "amount": ("金额", "amount"), "detail": ("类别", "kind"), "end_date": ("截止日期", "end date"),
    "region_code": ("县区", "county"), "industry": ("行业", "industry"), "members": ("涉及主体", "entities"),
    "links": ("关联方式", "links"), "report_year": ("年报年度", "report year"), "event_type": ("记录类型", "record type"),
    "department": ("部门", "department"), "as_of": ("分类月份", "as of"), "steps": ("跃升级数", "steps"),
    "baseline_count": ("基线期投诉举报", "baseline complaints"), "baseline_days": ("基线天数", "baseline days"),
    "size": ("主体户数", "entities"), "last_registered": ("末户登记日期", "last registered"),
    "address": ("住所", "address"), "capital": ("注册资本（万元）", "registered capital"),
    "name_stem": ("相同字号", "shared trade name"), "earlier_tenants": ("此前已在该楼登记的主体", "earlier tenants"),
}

# What members of a registration cluster share (the alert's links).
LINKS = {"phone": ("同一联系电话", "phone"), "legal_rep": ("同一法定代表人", "legal representative"),
         "relation": ("同一股东或高管", "shareholder or executive"), "address": ("同一住所", "address"),
         "name_stem": ("相同字号", "trade name"), "capital": ("相同注册资本", "registered capital"),
         "after": ("其后列入异常或无法联系", "later listed or unreachable")}

# Audit log actions (操作留痕), by the code the log stores.
AUDIT_ACTIONS = {
    "login": ("登录", "sign-in"), "logout": ("退出", "sign-out"), "login_refused": ("登录被拒", "sign-in refused"),
    "login_password_ok": ("密码正确，待动态码", "password right, code pending"),
    "login_enrol_only": ("登录（仅可设置双因素）", "sign-in (enrolment only)"),
    "totp_enrol": ("设置双因素登录", "two-factor enrolled"), "totp_remove": ("取消双因素登录", "two-factor removed"),
    "user_add": ("新增用户", "user added"), "user_change": ("修改用户", "user changed"),
    "user_disable": ("停用用户", "user disabled"), "user_enable": ("启用用户", "user enabled"),
    "user_unlock": ("解锁用户", "user unlocked"), "user_password_reset": ("重置密码", "password reset"),
    "search": ("查询主体", "entity search"), "view_profile": ("查看主体档案", "entity file viewed"),
    "view_alert": ("查看预警", "alert viewed"), "list_alerts": ("查看预警列表", "alerts listed"),
    "view_plan": ("查看抽查计划", "plan viewed"), "create_plan": ("生成抽查计划", "plan drawn"),
    "plan_create": ("生成抽查计划", "plan drawn"), "task_create": ("新建抽查任务", "task created"),
    "upload_results": ("上传检查结果", "results uploaded"), "results_upload": ("上传检查结果", "results uploaded"),
    "results_refused": ("检查结果被拒收", "results refused"), "results_template": ("下载结果模板", "results template"),
    "read_refused": ("越权访问被拒", "read refused"),
    "export_grades": ("导出分类结果", "grades exported"), "export_alerts": ("导出预警", "alerts exported"),
    "export_plan": ("导出抽查计划", "plan exported"), "export_results": ("导出检查结果", "results exported"),
    "export_pushes": ("导出推送信息", "pushes exported"), "export_national": ("导出上报数据", "national export"),
    "export_quarantine": ("导出隔离记录", "quarantine exported"), "export_fused": ("导出融合等级", "fused grades exported"),
    "export_measures": ("导出差异化监管措施", "measures exported"), "export_whitelist": ("导出白名单", "whitelist exported"),
    "export_directory": ("导出主体名录", "directory exported"), "model_train": ("训练模型", "model trained"),
    "model_approve": ("批准模型", "model approved"), "audit_verify": ("校验审计日志", "audit log verified"),
    "audit_checkpoint": ("导出审计检查点", "audit checkpoint"), "audit_key_rotate": ("更换审计密钥", "audit key rotated"),
    "alert_log_verify": ("校验预警日志", "alert log verified"), "registry_verify": ("校验发布库", "registry verified"),
    "publish": ("发布分类结果", "published"),
    # grade reviews (申诉/复核), the per-company results entry and the printable documents
    "review_propose": ("提出分类复核", "grade review proposed"), "review_approve": ("同意分类复核", "grade review approved"),
    "review_reject": ("驳回分类复核", "grade review rejected"), "review_refused": ("分类复核操作被拒", "grade review refused"),
    "view_reviews": ("查看分类复核", "grade reviews viewed"), "results_entry": ("录入检查结果", "result entered"),
    "print_notice": ("打印检查通知书", "inspection notice printed"),
    "print_record": ("打印检查结果记录", "inspection record printed"),
    "plan_submit": ("提交抽查计划审批", "plan submitted for approval"), "plan_approve": ("批准抽查计划", "plan approved"),
    "plan_reject": ("驳回抽查计划", "plan rejected"), "plan_publish": ("抽查计划入库", "plan copied to the registry"),
    # 我的待办 (issue 19)
    "work_queue": ("查看我的待办", "work queue viewed"), "export_work": ("导出我的待办", "work queue exported"),
    "work_units": ("查看单位办理统计", "unit figures viewed"), "alert_attach": ("上传预警附件", "attachment uploaded"),
    "alert_attachment_read": ("下载预警附件", "attachment downloaded"), "alert_approve": ("复核通过", "sign-off approved"),
    "alert_return": ("复核退回", "sign-off returned"),
    "export_search": ("导出查询结果", "search results exported"),
    "export_area_alerts": ("导出区域预警", "area alerts exported"),
    "export_rejected_results": ("导出被拒收的检查结果", "rejected results exported"),
    "export_indicators": ("导出指标表", "indicators exported"),
    "read_sealed": ("查看密封抽查名单", "sealed plan read"), "verify_plan": ("校验抽查计划", "plan verified"),
    "alert_assign": ("分派预警", "alert assigned"), "alert_handle": ("处置预警", "alert handled"),
    "alert_close": ("办结预警", "alert closed"), "alert_target": ("预警转抽查任务", "alert sent to a task"),
    "login_failed": ("登录失败", "sign-in failed"), "totp_offer": ("生成双因素登录密钥", "two-factor key offered"),
    "integrity_failure": ("发现数据被篡改", "integrity failure"),
    "analysis": ("导出区域分析", "analysis exported"), "report": ("导出月度报告", "monthly report exported"),
    "model_report": ("导出模型报告", "model report exported"), "model_card": ("导出模型卡", "model card exported"),
}


def word(table: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    """The (zh, en) words of ``code`` in ``table`` in the page's language; a code not in the table as it is."""
    names = table.get(code)
    return (names[0] if lang == "zh" else names[1]) if names else code


def domain_name(code: str | None, lang: str) -> str:
    return word(DOMAINS, code, lang) if code else ""


def audit_action(code: str, lang: str) -> str:
    return word(AUDIT_ACTIONS, code, lang)


def info_items(info: dict | None, lang: str) -> list[tuple[str, str]]:
    """An alert's figures as (name, value) pairs in words; codes among the values become names."""
    out = []
    for k, v in (info or {}).items():
        if v is None or v == "" or k in ("rule", "snapshot_id", "is_new", "keys"):
            continue
        if k == "links" and isinstance(v, dict):  # how many members share each link
            v = ("、" if lang == "zh" else ", ").join(
                f"{word(LINKS, x, lang)} {n}" + (" 户" if lang == "zh" else "")
                for x, n in v.items() if n)
        elif k == "links" and isinstance(v, list):
            v = ("、" if lang == "zh" else ", ").join(sorted({
                word(LINKS, str(x).split(":", 1)[0], lang) if str(x).split(":", 1)[0] in LINKS else str(x)
                for x in v}))
        elif k == "region_code":
            v = region_name(str(v))
        elif k == "event_type":
            v = event_names(lang).get(str(v), v)
        elif isinstance(v, float):
            v = num(v, 2) if abs(v) >= 0.01 or v == 0 else f"{v:.2g}"
        out.append((word(INFO_KEYS, k, lang), str(v)))
    return out


SYSTEM_USERS = {"riskgrade-warn": ("系统（监测预警）", "system (early warning)")}


def user_name(username: str | None, lang: str) -> str:
    """A log's user: the system's own by name; a command-line user as 命令行 plus the login in the page's code."""
    return word(SYSTEM_USERS, username or "", lang)


def source_name(source: str | None, lang: str) -> str:
    """Where a record came from, in words: results uploaded to a plan, the monthly classification, a domain by its
    code; a department's own text as delivered."""
    if not source:
        return ""
    m = re.fullmatch(r"results:plan-(\d+)", source)
    if m:
        return (f"检查结果上传（计划 {m.group(1)}）" if lang == "zh" else f"results uploaded (plan {m.group(1)})")
    if source == "grades":
        return "信用风险分类" if lang == "zh" else "classification"
    return domain_name(source, lang) if source in DOMAINS else source


def stratum_name(key: str | None, lang: str) -> str:
    """A draw's stratum in words: ``370102-A`` is 济南市历下区 · A 类; other keys as they are."""
    if key == "F":  # the forced stratum: entities inspected whatever the draw
        return "必查对象（不抽签）" if lang == "zh" else "forced (not drawn)"
    m = re.fullmatch(r"(\d{6})-([A-E])", key or "")
    if not m:
        return key or ""
    return f"{region_name(m.group(1))} · {m.group(2)} 类" if lang == "zh" else f"{region_name(m.group(1))} · grade {m.group(2)}"
