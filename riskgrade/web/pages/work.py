"""我的待办 (my work): the user's queue with due dates and overdue flags, batch assignment, exports, and the
unit figures (处置率、办结率、超期率) for the level above."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...service import work
from ...service.errors import Refused
from ..common import (PAGE_SIZE, Me, PageError, St, capped, lang_of, message, need, page_error, page_number, render,
                      small_int)
from ..names import rule_name

router = APIRouter(include_in_schema=False)
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


async def _batch_form(request: Request, me: Me):
    """A batch form (several ``ids``) posted with this session's CSRF token (403 without it)."""
    await capped(request, 256 * 1024)
    form = await request.form(max_files=0, max_fields=work.MAX_BATCH + 10)
    if not hmac.compare_digest(str(form.get("csrf", "")), me.token.csrf):
        raise PageError(403, "csrf")
    return form


def _queue_page(request: Request, me, st, *, errors: list[str] | None = None, status: int = 200,
                done: int | None = None) -> HTMLResponse:
    p = request.query_params
    page = page_number(p)
    sort = p.get("sort") if p.get("sort") in work.SORTS else "due"
    lang = lang_of(request)
    try:
        view = work.queue(st, me, sort=sort, page=page, page_size=PAGE_SIZE, via="console")
        names = work.labels(st, [x.get("assignee") for x in view.queue.items], lang)
        choices = work.assignee_choices(st, me) if me.can("alerts.write") else []
    except Refused as e:
        raise page_error(e) from None
    url = (lambda **kw: "/work?" + urlencode({k: v for k, v in {"sort": sort, **kw}.items() if v}))
    return render(request, "work.html", me, status=status, view=view, q=view.queue, sort=sort, sorts=work.SORTS,
                  page=page, pages=max(1, -(-view.queue.total // PAGE_SIZE)), page_url=lambda n: url(page=n), url=url,
                  names=names, choices=choices, errors=errors or [], done=done,
                  rule_name=lambda code, zh: rule_name(code, zh, lang))


@router.get("/work")
def work_page(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "alerts.read")
    return _queue_page(request, me, st, done=small_int(request.query_params.get("done")))


@router.post("/work/assign")
def work_assign(request: Request, me: Me, st: St, form: Annotated[object, Depends(_batch_form)]) -> Response:
    need(me, "alerts.write")
    ids = [str(x) for x in form.getlist("ids")]
    try:
        done = work.batch_assign(st, me, ids, str(form.get("to", ""))[:128], str(form.get("note", ""))[:1000],
                                 via="console")
    except Refused as e:
        if e.status == 503:
            raise page_error(e) from None
        return _queue_page(request, me, st, errors=[message(request, e)], status=e.status)
    return RedirectResponse(f"/work?done={len(done)}", status_code=303)


@router.get("/work/export.{fmt}")
def work_export(request: Request, fmt: str, me: Me, st: St) -> Response:
    need(me, "alerts.read")
    if fmt not in MEDIA:
        raise PageError(404, "not_found")
    try:
        data, _ = work.export_queue(st, me, fmt, lang_of(request), via="console")
    except Refused as e:
        raise page_error(e) from None
    return Response(data, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="work-{me.user.username}.{fmt}"'})


@router.get("/work/units")
def work_units(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "stats.read")
    p = request.query_params
    by = p.get("by") if p.get("by") in ("county", "department") else "county"
    try:
        month = work.month_of(p.get("month")) if p.get("month") else work.latest_month(st)
    except Refused:
        month = work.month_of(None)
    try:
        rows = work.unit_stats(st, me, month, by, via="console")
        w = work.limits_of(st)
    except Refused as e:
        raise page_error(e) from None
    return render(request, "work_units.html", me, rows=rows, by=by, month=month.strftime("%Y-%m"), w=w,
                  unit_name=lambda code: work.unit_name(st, code, by, lang_of(request)))
