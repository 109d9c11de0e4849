"""Early-warning alerts (预警): the list with counts (or counts only, for statistics roles), the detail with
the disposition forms, and the steps."""

from __future__ import annotations

import datetime as dt
import hmac
import re
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...service import alerts, work
from ...service.errors import Refused
from ...service.state import AppState, Principal
from ...warning.attachments import TYPES as ATTACHMENT_TYPES
from ...warning.queries import SEVERITIES, STATUSES
from ..common import (PAGE_SIZE, Form, Me, PageError, St, capped, lang_of, message, need, page_error, page_number,
                      render, small_int)
from ..names import detail_name, event_names, log_text, rule_name

router = APIRouter(include_in_schema=False)


def _filters(p) -> tuple[alerts.Filters, dict]:
    """The alerts page's filters from the query string (unknown values are ignored)."""
    def day(k: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(p.get(k) or "")
        except ValueError:
            return None

    f = alerts.Filters(
        status=p.get("status") if p.get("status") in STATUSES else None,
        rule=p.get("rule") if re.fullmatch(r"[a-z][a-z0-9_]{0,63}", p.get("rule") or "") else None,
        severity=p.get("severity") if p.get("severity") in SEVERITIES else None,
        unit=(p.get("unit") or "").strip()[:100] or None,
        region=p.get("region") if re.fullmatch(r"\d{2,6}", p.get("region") or "") else None,
        raised_from=day("from"), raised_to=day("to"))
    shown = {k: v for k, v in (("status", f.status), ("rule", f.rule), ("severity", f.severity), ("unit", f.unit),
                               ("region", f.region),
                               ("from", f.raised_from.isoformat() if f.raised_from else None),
                               ("to", f.raised_to.isoformat() if f.raised_to else None)) if v}
    return f, shown


@router.get("/alerts")
def alerts_page(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "alerts.read|stats.read")
    p = request.query_params
    page = page_number(p)
    f, shown = _filters(p)
    try:
        if me.can("alerts.read"):
            res, rules = alerts.listing(st, me, f, page, PAGE_SIZE, rules=True, via="console")
            totals = None
        else:
            res, rules = None, []
            totals = alerts.counts(st, me, f)
    except Refused as e:
        raise page_error(e) from None
    url = (lambda **kw: "/alerts?" + urlencode({k: v for k, v in {**shown, **kw}.items() if v}))
    total = res.total if res else totals.total
    return render(request, "alerts.html", me, res=res, totals=totals, rules=rules, f=shown, page=page,
                  pages=max(1, -(-total // PAGE_SIZE)), total=total, url=url, statuses=STATUSES,
                  severities=SEVERITIES, page_url=lambda n: url(page=n),
                  rule_name=lambda code, zh: rule_name(code, zh, lang_of(request)))


def _alert_view(request: Request, me: Principal, st: AppState, alert_id: str, *, errors: list[str] | None = None,
                done: str = "", status: int = 200, form: dict | None = None) -> HTMLResponse:
    if not re.fullmatch(r"[0-9a-f]{16}", alert_id):
        raise PageError(404, "not_found")
    try:
        d = alerts.detail(st, me, alert_id, tasks=True, via="console")
    except Refused as e:
        raise page_error(e) from None
    lang = lang_of(request)
    names = event_names(lang)
    try:
        who = work.labels(st, [d.get("assignee"), *[(e.get("detail") or {}).get("assignee") for e in d["log"]]], lang)
        choices = work.assignee_choices(st, me) if me.can("alerts.write") else []
    except Refused as e:
        raise page_error(e) from None

    def log_words(e: dict) -> str:  # assignees by name (a user's, a unit's), as the page shows them
        x = e.get("detail") or {}
        return log_text({**e, "detail": {**x, "assignee": who.get(x["assignee"], x["assignee"])}}
                        if x.get("assignee") else e, lang)

    return render(request, "alert.html", me, status=status, a=d, tasks=d["tasks"], errors=errors or [], done=done,
                  v=form or {}, rule_name=lambda code, zh: rule_name(code, zh, lang),
                  event_name=lambda c: names.get(c, c), detail_name=lambda typ, x: detail_name(typ, x, lang),
                  log_text=log_words, who=who, choices=choices, max_mb=work.MAX_ATTACHMENT_MB)


@router.get("/alerts/rules")
def alert_rules_page(request: Request, me: Me, st: St) -> HTMLResponse:
    """The rule catalog: each rule's measured precision and lift, and which rules are muted (for review)."""
    from ...service import warnrules

    need(me, "alerts.read|stats.read")
    muted = request.query_params.get("muted") == "1"
    try:
        v = warnrules.rule_catalog(st, me, muted_only=muted)
    except Refused as e:
        raise page_error(e) from None
    lang = lang_of(request)
    return render(request, "alert_rules.html", me, v=v, muted=muted,
                  rule_name=lambda code, zh: rule_name(code, zh, lang))


@router.post("/alerts/{alert_id}/attach")
async def alert_attach(request: Request, alert_id: str, me: Me, st: St) -> Response:
    """An attachment (附件): its size checked from the request's length before anything is read, its type from
    its content."""
    need(me, "alerts.write")
    if not re.fullmatch(r"[0-9a-f]{16}", alert_id):
        raise PageError(404, "not_found")
    limit = work.MAX_ATTACHMENT_MB * 1024 * 1024
    await capped(request, limit + 64 * 1024)
    form = await request.form(max_files=1, max_fields=5)
    if not hmac.compare_digest(str(form.get("csrf", "")), me.token.csrf):
        raise PageError(403, "csrf")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        err = Refused(422, "invalid", "file missing", "attachment_missing")
    else:
        data = await upload.read(limit + 1)
        try:
            work.attach(st, me, alert_id, upload.filename, data, via="console")
            return RedirectResponse(f"/alerts/{alert_id}?done=attach", status_code=303)
        except Refused as e:
            if e.status in (404, 503) and e.key in ("not_found", "busy"):
                raise page_error(e) from None
            err = e
    return _alert_view(request, me, st, alert_id, errors=[message(request, err)], status=err.status)


@router.get("/alerts/{alert_id}/attachments/{attachment_id}")
def alert_attachment(alert_id: str, attachment_id: str, me: Me, st: St) -> Response:
    need(me, "alerts.read")
    n = small_int(attachment_id)
    if not re.fullmatch(r"[0-9a-f]{16}", alert_id) or n is None:
        raise PageError(404, "not_found")
    try:
        row, data = work.download(st, me, alert_id, n, via="console")
    except Refused as e:
        raise page_error(e) from None
    return Response(data, media_type=ATTACHMENT_TYPES[row["kind"]], headers={
        "Content-Disposition": f"attachment; filename=\"attachment-{n}.{row['kind']}\"; "
                               f"filename*=UTF-8''{quote(row['filename'])}",
        "X-Content-Type-Options": "nosniff"})


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: str, me: Me, st: St) -> HTMLResponse:
    need(me, "alerts.read")
    done = request.query_params.get("done") or ""
    return _alert_view(request, me, st, alert_id, done=done if done in (*alerts.STEPS, "attach") else "")


@router.post("/alerts/{alert_id}/{op}")
def alert_step(request: Request, alert_id: str, op: str, me: Me, form: Form, st: St) -> Response:
    if op not in alerts.STEPS:
        raise PageError(404, "not_found")
    need(me, "alerts.target" if op == "target" else "alerts.write")
    fields = {k: str(form.get(k, "")).strip() for k in ("to", "action", "note", "task", "reason")}
    task = small_int(fields["task"])
    try:
        alerts.perform(st, me.user, alert_id if re.fullmatch(r"[0-9a-f]{16}", alert_id) else "-", op,
                       to=fields["to"][:128], action=fields["action"], note=fields["note"][:1000], task_id=task,
                       reason=fields["reason"][:500], via="console")
    except Refused as e:
        if e.status in (404, 503) and e.key in ("not_found", "busy"):
            raise page_error(e) from None
        return _alert_view(request, me, st, alert_id, errors=[message(request, e)], status=e.status,
                           form={**fields, "op": op})
    return RedirectResponse(f"/alerts/{alert_id}?done={op}", status_code=303)
