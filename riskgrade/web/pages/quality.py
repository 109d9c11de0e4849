"""Data quality and the model report: each page, and its standalone report shown in a frame with a CSP
naming the hashes of its own inline scripts."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...errors import RiskgradeError
from ...service import model, plans, quality
from ...service.errors import Refused
from ..common import Me, PageError, St, lang_of, need, page_error, render
from ..names import indicator_names

router = APIRouter(include_in_schema=False)


def _measures(st, me) -> dict:
    try:
        return quality.measures(st, me)
    except Refused as e:
        raise PageError(e.status, e.key, e.message) from None


@router.get("/quality")
def quality_page(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "stats.read")
    return render(request, "quality.html", me, m=_measures(st, me))


def _report(html: str) -> HTMLResponse:
    """A standalone report for the console's frame: its inline scripts allowed by hash, nothing else."""
    hashes = []
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        if "application/json" not in attrs:
            hashes.append("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'")
    csp = (f"default-src 'none'; script-src {' '.join(hashes) or chr(39) + 'none' + chr(39)}; "
           "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
    return HTMLResponse(html, headers={"Content-Security-Policy": csp, "X-Frame-Options": "SAMEORIGIN"})


@router.get("/quality/report")
def quality_report(request: Request, me: Me, st: St) -> HTMLResponse:
    from ... import quality as quality_stage

    need(me, "stats.read")
    return _report(quality_stage.render_html(_measures(st, me), lang_of(request)))


@router.get("/model")
def model_page(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "stats.read")
    snap, path = model.snapshot_and_card(st, me, request.query_params.get("as_of"))
    return render(request, "model.html", me, snap=snap, has_report=path is not None, months=plans.months(st),
                  as_of=snap.as_of.isoformat() if snap else "")


@router.get("/model/report")
def model_report(request: Request, me: Me, st: St) -> HTMLResponse:
    from ...scoring.card import render_model_card

    need(me, "stats.read")
    lang = lang_of(request)
    try:
        card = model.card(st, me, request.query_params.get("as_of"))
    except Refused as e:
        raise page_error(e) from None
    names = {c: (zh if lang == "zh" else en) for c, (zh, en) in indicator_names().items()}
    names["entity_type"] = "主体类型" if lang == "zh" else "entity type"
    try:
        html = render_model_card(card, lang, names)
    except RiskgradeError as e:
        raise PageError(404, "not_found", str(e)) from None
    return _report(html)
