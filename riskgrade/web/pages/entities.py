"""Entity search and profile (with a readable explanation of the grade and the entity's alerts)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...contract import GRADES, INSPECTION_RESULT_EN, INSPECTION_RESULT_ZH
from ...service import entities, results as results_service, reviews
from ...service.errors import Refused
from ...export import table_bytes
from ..common import (PAGE_SIZE, Form, Me, PageError, PlanId, St, json_block, lang_of, message, need, page_error,
                      page_number, render)
from ..i18n import SECTIONS_EN, STRINGS
from ..names import (breakdown, detail_name, event_names, explain, indicator_name, industry_label,
                     label_name, label_names, region_name, rule_label, rule_name)

router = APIRouter(include_in_schema=False)


SORTS = ("uscc", "name", "region", "industry", "grade", "score")


def _search_args(request: Request) -> tuple[dict, dict]:
    """The search's filters as the page keeps them, and as the service takes them (checked)."""
    p = request.query_params
    q = (p.get("q") or "").strip()[:100]
    region, industry, grade, label = (p.get(k) or "" for k in ("region", "industry", "grade", "label"))
    legal_rep, address = ((p.get(k) or "").strip()[:100] for k in ("legal_rep", "address"))
    sort = p.get("sort") if p.get("sort") in SORTS else "uscc"
    desc = p.get("desc") == "1"
    kept = {k: v for k, v in (("q", q), ("region", region), ("industry", industry), ("grade", grade),
                              ("label", label), ("legal_rep", legal_rep), ("address", address)) if v}
    args = dict(q=q or None, region=region if re.fullmatch(r"\d{2,6}", region) else None,
                industry=industry if re.fullmatch(r"[A-T]", industry) else None,
                grade=grade if grade in GRADES else None,
                label=label if re.fullmatch(r"[a-z0-9_]{1,64}", label) else None, sort=sort, descending=desc,
                legal_rep=legal_rep or None, address=address or None)
    return kept, args


@router.get("/entities")
def search(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "entity.read")
    filters, args = _search_args(request)
    page = page_number(request.query_params)
    try:  # counted up to COUNT_LIMIT (or the page's end): a province's search matches about every entity
        found = entities.search(st, me, page=page, page_size=PAGE_SIZE, via="console",
                                count_limit=entities.COUNT_LIMIT, **args)
    except Refused as e:
        raise page_error(e) from None
    total, exact = found["total"], found["exact"]
    pages = max(1, -(-total // PAGE_SIZE))
    if exact and page > pages:  # a page past the end (a jump, an old link): the last one
        page = pages
        found = entities.search(st, me, page=page, page_size=PAGE_SIZE, via="console",
                                count_limit=entities.COUNT_LIMIT, **args)
    order = {"sort": args["sort"], **({"desc": "1"} if args["descending"] else {})}
    label_codes = [c for c in label_names() if "{" not in c]

    def sort_url(col: str) -> str:
        flip = col == args["sort"] and not args["descending"]
        return "/entities?" + urlencode({**filters, "sort": col, **({"desc": "1"} if flip else {})})

    return render(request, "search.html", me, snap=found["snapshot"], rows=found["rows"], total=total, page=page,
                  pages=pages, exact=exact, f=filters, regions=entities.regions(st, me), label_codes=label_codes,
                  sections=sorted(SECTIONS_EN), names_ok=entities.reads_names(me), sort=args["sort"], desc=args["descending"], sort_url=sort_url,
                  keep={**filters, **order}, export_url=lambda fmt: "/entities/export?" + urlencode(
                      {**filters, **order, "fmt": fmt}),
                  page_url=lambda n: "/entities?" + urlencode({**filters, **order, "page": n}))


@router.get("/entities/export")
def search_export(request: Request, me: Me, st: St) -> Response:
    """The search's matches as a spreadsheet (XLSX or CSV) with the page's words as headers; audited."""
    need(me, "entity.read")
    fmt = request.query_params.get("fmt", "xlsx")
    if fmt not in ("xlsx", "csv"):
        fmt = "xlsx"
    _, args = _search_args(request)
    try:
        found = entities.search(st, me, via="console", export=fmt, **args)
    except Refused as e:
        raise page_error(e) from None
    lang = lang_of(request)
    t = STRINGS[lang]
    snap = found["snapshot"]
    headers = [t["uscc"], t["name"], t["entity_type"], t["region"], t["industry"], t["risk_grade"], t["score"], t["labels"],
               t["as_of"]]
    rows = [[e.uscc, e.name, t.get("type_" + str(e.entity_type), e.entity_type), region_name(e.region_code),
             industry_label(e.industry_section, e.industry_code, lang), g.grade if g else "",
             round(g.score, 1) if g and g.score is not None else None,
             "；".join(label_name(c, lang) for c in (g.labels or "").split(";") if c and not c.startswith("industry_"))
             if g else "", snap.as_of.isoformat() if snap else ""] for e, g in found["rows"]]
    body = table_bytes(headers, rows, fmt)
    stem = f"entities-{snap.as_of.isoformat() if snap else 'none'}"
    media = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


@router.get("/entities/{uscc}")
def profile(request: Request, uscc: str, me: Me, st: St) -> HTMLResponse:
    need(me, "entity.read")
    lang = lang_of(request)
    if not re.fullmatch(r"[0-9A-Za-z]{18}", uscc):
        raise PageError(404, "not_found")
    try:
        p = entities.profile(st, me, uscc, timeline_limit=300, via="console")
    except Refused as e:
        raise page_error(e) from None
    grades, current = p["grades"], p["current"]
    score_data = {"months": [g["as_of"].isoformat()[:7] for g in reversed(grades)],
                  "scores": [round(g["score"], 1) for g in reversed(grades)],
                  "grades": [g["grade"] for g in reversed(grades)]}
    names = event_names(lang)
    return render(request, "profile.html", me, e=p["entity"], current=current, grades=grades, events=p["events"],
                  plans=p["plans"], explanation=explain(current, lang) if current else [], pii=p["pii"],
                  breakdown=breakdown(current, lang) if current else None, rule_label=lambda r: STRINGS[lang]["rv_rule_review"] if r == "review" else rule_label(r, lang),
                  legal_rep=p["legal_rep_id"], phone=p["phone_id"],
                  indicator=lambda c: indicator_name(c, lang), event_name=lambda c: names.get(c, c),
                  detail_name=lambda typ, d: detail_name(typ, d, lang), chart_json=json_block({"score": score_data}),
                  alerts=p["alerts"], alerts_readable=p["alerts_readable"],
                  rule_name=lambda code, zh: rule_name(code, zh, lang), legal_rep_name=p["legal_rep_name"],
                  names_ok=p["names"], related=p["related"], related_limit=entities.RELATED_LIMIT,
                  reviews=p["reviews"], adjustment=p["adjustment"], may_propose=p["may_propose"],
                  may_decide=p["may_decide"], results=p["results"], result_word=lambda c: result_word(c, lang),
                  grade_choices=[g for g in GRADES[:5 if p["grade_mode"] == "five" else 4]
                                 if not current or g != current["grade"]],
                  flash=_flash(request), error=request.query_params.get("error", "")[:300])


def result_word(code: str | None, lang: str) -> str:
    """An inspection result in words (the contract's Chinese, or English)."""
    return (INSPECTION_RESULT_ZH if lang == "zh" else INSPECTION_RESULT_EN).get(code or "", code or "")


def _flash(request: Request) -> dict:
    p = request.query_params
    return {k: p[k] for k in ("proposed", "approved", "rejected") if re.fullmatch(r"\d{1,9}", p.get(k, ""))}


@router.post("/entities/{uscc}/reviews")
def review_propose(request: Request, uscc: str, me: Me, form: Form, st: St) -> Response:
    """Propose a grade review from the company file (audited); back to the file with the outcome."""
    need(me, "entity.read")
    if not re.fullmatch(r"[0-9A-Za-z]{18}", uscc):
        raise PageError(404, "not_found")
    try:
        r = reviews.propose(st, me, uscc, str(form.get("to_grade", "")), str(form.get("reason", ""))[:2000],
                            via="console")
    except Refused as e:
        if e.status == 404:
            raise page_error(e) from None
        return RedirectResponse(f"/entities/{uscc.upper()}?" + urlencode({"error": message(request, e)}) + "#review",
                                status_code=303)
    return RedirectResponse(f"/entities/{uscc.upper()}?proposed={r['id']}#review", status_code=303)


# --------------------------------------------------------------------------- a drawn entity: result entry, documents
@router.post("/plans/{plan_id}/entities/{uscc}/result")
def result_entry(request: Request, plan_id: PlanId, uscc: str, me: Me, form: Form, st: St) -> Response:
    """One entity's result typed on the plan page: the results intake (audited ``results_entry``); back to the
    plan's page with the outcome."""
    need(me, "results.write")
    if not re.fullmatch(r"[0-9A-Za-z]{18}", uscc):
        raise PageError(404, "not_found")
    page = str(form.get("page", "1"))
    back = {"page": page if page.isdigit() else "1"}
    try:
        results_service.enter(st, me, plan_id, uscc, str(form.get("date", "")), str(form.get("result", "")),
                              str(form.get("note", ""))[:500], via="console")
    except Refused as e:
        if e.status == 404:
            raise page_error(e) from None
        back.update(entry_error=message(request, e)[:300], entry_uscc=uscc.upper())
    else:
        back["entered"] = uscc.upper()
    return RedirectResponse(f"/plans/{plan_id}?" + urlencode(back) + f"#e-{uscc.upper()}", status_code=303)


@router.get("/plans/{plan_id}/entities/{uscc}/{kind}")
def document(request: Request, plan_id: PlanId, uscc: str, kind: str, me: Me, st: St) -> HTMLResponse:
    """The printable inspection notice (检查通知书) or result record (检查结果记录) of a drawn entity (A4)."""
    need(me, "plans.read")
    if not re.fullmatch(r"[0-9A-Za-z]{18}", uscc) or kind not in entities.DOCUMENTS:
        raise PageError(404, "not_found")
    lang = lang_of(request)
    try:
        d = entities.document(st, me, plan_id, uscc, kind, via="console")
    except Refused as e:
        raise page_error(e) from None
    return render(request, "document.html", me, kind=kind, e=d["entity"], plan=d["plan"], pe=d["member"],
                  results=d["results"], legal_rep_name=d["legal_rep_name"],
                  result_word=lambda c: result_word(c, lang))
