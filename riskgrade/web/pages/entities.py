"""Entity search and profile (with a readable explanation of the grade and the entity's alerts)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...service import entities
from ...service.errors import Refused
from ..common import PAGE_SIZE, Me, PageError, St, json_block, lang_of, need, page_error, page_number, render
from ..i18n import SECTIONS_EN
from ..names import (GRADE_ORDER, breakdown, detail_name, event_names, explain, indicator_name, label_names,
                     rule_label, rule_name)

router = APIRouter(include_in_schema=False)


@router.get("/entities")
def search(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "entity.read")
    p = request.query_params
    q = (p.get("q") or "").strip()[:100]
    region = p.get("region") or ""
    industry = p.get("industry") or ""
    grade = p.get("grade") or ""
    label = p.get("label") or ""
    page = page_number(p)
    found = entities.search(st, me, q=q or None, region=region if re.fullmatch(r"\d{2,6}", region) else None,
                            industry=industry if re.fullmatch(r"[A-T]", industry) else None,
                            grade=grade if grade in GRADE_ORDER else None,
                            label=label if re.fullmatch(r"[a-z0-9_]{1,64}", label) else None,
                            page=page, page_size=PAGE_SIZE, via="console")
    total = found["total"]
    pages = max(1, -(-total // PAGE_SIZE))
    filters = {k: v for k, v in (("q", q), ("region", region), ("industry", industry), ("grade", grade),
                                 ("label", label)) if v}
    label_codes = [c for c in label_names() if "{" not in c]
    return render(request, "search.html", me, snap=found["snapshot"], rows=found["rows"], total=total, page=page,
                  pages=pages, f=filters, regions=entities.regions(st, me), label_codes=label_codes,
                  sections=sorted(SECTIONS_EN), page_url=lambda n: "/entities?" + urlencode({**filters, "page": n}))


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
                  breakdown=breakdown(current, lang) if current else None, rule_label=lambda r: rule_label(r, lang),
                  legal_rep=p["legal_rep_id"], phone=p["phone_id"],
                  indicator=lambda c: indicator_name(c, lang), event_name=lambda c: names.get(c, c),
                  detail_name=lambda typ, d: detail_name(typ, d, lang), chart_json=json_block({"score": score_data}),
                  alerts=p["alerts"], alerts_readable=p["alerts_readable"],
                  rule_name=lambda code, zh: rule_name(code, zh, lang))
