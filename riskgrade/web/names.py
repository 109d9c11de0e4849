"""The console's words: numbers, regions, industry sections, indicators, labels, rules, records, and the
readable explanation of a grade, in the page's language (Chinese names from the catalogs, English ones
from :mod:`.i18n`)."""

from __future__ import annotations

import functools
from typing import Any

from ..contract import GRADES, INSPECTION_RESULT_EN
from .i18n import LABELS_EN, OVERRIDES_EN, SECTIONS_EN, STRINGS

GRADE_ORDER = GRADES  # riskgrade.contract
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
        up = GRADE_ORDER.index(grade["grade"]) > GRADE_ORDER.index(prev)
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

    return EVENT_TYPE_NAMES_ZH if lang == "zh" else {k: k.replace("_", " ") for k in EVENT_TYPE_NAMES_ZH}


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
