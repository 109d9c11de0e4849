"""Grade reviews (申诉/复核): the list with counts by state, and the provincial reviewer's decision."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...service import reviews
from ...service.errors import Refused
from ..common import Form, Me, St, message, need, page_error, page_number, render

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/reviews")
def review_list(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "entity.read")
    p = request.query_params
    state = p.get("state") if p.get("state") in reviews.STATES else None
    page = page_number(p)
    found = reviews.listing(st, me, state, page, PAGE, via="console")
    return render(request, "reviews.html", me, rows=found["rows"], counts=found["counts"], total=found["total"],
                  state=state or "", page=page, pages=max(1, -(-found["total"] // PAGE)),
                  may_decide=reviews.may_decide(me), error=p.get("error", "")[:300],
                  done={k: p[k] for k in ("approved", "rejected") if re.fullmatch(r"\d{1,9}", p.get(k, ""))},
                  page_url=lambda n: "/reviews?" + urlencode({**({"state": state} if state else {}), "page": n}))


@router.post("/reviews/{review_id}/decide")
def review_decide(request: Request, review_id: int, me: Me, form: Form, st: St) -> Response:
    """Approve or reject (audited); back to the list, or to the company file it was decided from."""
    need(me, "entity.read")
    approve = form.get("decision") == "approve"
    try:
        r = reviews.decide(st, me, review_id, approve, str(form.get("note", ""))[:2000], via="console")
    except Refused as e:
        if e.status == 404:
            raise page_error(e) from None
        r, err = None, message(request, e)
    back_entity = form.get("back") == "entity"
    if r is None:
        return RedirectResponse("/reviews?" + urlencode({"error": err}), status_code=303)
    q = urlencode({"approved" if approve else "rejected": r["id"]})
    if back_entity:
        return RedirectResponse(f"/entities/{r['uscc']}?{q}#review", status_code=303)
    return RedirectResponse(f"/reviews?{q}", status_code=303)
