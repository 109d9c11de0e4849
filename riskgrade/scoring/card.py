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

import datetime as dt
import json
import math
import re
from pathlib import Path

from markupsafe import Markup, escape

from ..contract import ENTITY_TYPES, EVENT_TYPE_NAMES_ZH, INSPECTION_RESULT_EN, INSPECTION_RESULT_ZH
from ..dates import add_months
from ..errors import RiskgradeError
from ..render import echarts_inline_js, environment
from .card_text import TEXT

DASH = "—"
TEMPLATE = "model_card.html.j2"
STATUSES = ("candidate", "approved", "retired")
PSI_WATCH, PSI_SIGNIFICANT = 0.1, 0.25
EVENT_EN = {"admin_penalty": "administrative penalty", "serious_dishonest_in": "listed as seriously dishonest",
            "complaint": "complaint"}



# ---------------------------------------------------------------------- formatting
def _months_after(day: str | None, months: int) -> str | None:
    """The ISO date ``months`` after a month end (the end of an outcome window), or None."""
    try:
        d = dt.date.fromisoformat(str(day))
    except ValueError:
        return None
    return add_months(d, months, keep_month_end=True).isoformat()


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
    words = INSPECTION_RESULT_ZH if lang == "zh" else INSPECTION_RESULT_EN
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


def render_model_card(record: dict, lang: str = "zh", names: dict[str, str] | None = None,
                      monitoring: dict | None = None, status: str | None = None) -> str:
    """The card's HTML.  ``monitoring`` ({"latest": comparison, "history": rows}, see
    :mod:`riskgrade.scoring.monitoring`) defaults to what classification stored in the record; ``status``
    (candidate, approved, retired) to the record's ``status`` (with ``approved_by`` and ``approved_at``)."""
    if lang not in TEXT:
        raise RiskgradeError("--lang must be zh or en")
    d = record.get("details") or {}
    if not d:
        raise RiskgradeError(f"model {record.get('model_id')} was saved without report details; train it again")
    if status is not None:
        if status not in STATUSES:
            raise RiskgradeError(f"status must be one of {', '.join(STATUSES)}")
        record = {**record, "status": status}
    env = environment("riskgrade.scoring", strict=False, trim=False)
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


def write_model_card(models_dir: Path, model_id: str, out: Path, lang: str = "zh", names: dict | None = None,
                     status: str | None = None) -> Path:
    path = models_dir / f"{model_id}.json"
    if not path.exists():
        raise RiskgradeError(f"no record of model {model_id} in {models_dir}")
    html = render_model_card(json.loads(path.read_text(encoding="utf-8")), lang, names, status=status)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
