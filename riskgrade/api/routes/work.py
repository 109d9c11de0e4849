"""我的待办 (my work): the user's queue with due dates, batch assignment, the sign-off (复核), attachments,
exports and the unit figures (处置率、办结率、超期率)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...service import alerts, work
from ...service.errors import Refused
from ..deps import Me, St
from ..schemas import ALERT_ERRORS, STEP_ERRORS, AlertId, AlertOut, AlertStepResult
from .alerts import step_result

router = APIRouter(tags=["work"])
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


class WorkItem(AlertOut):
    member_name: str | None = Field(default=None, description="the first member's name in the user's region")
    assignee_name: str | None = Field(default=None, description="the assignee in words (a user's or unit's name)")
    due_on: dt.date | None = Field(default=None, description="the due date that applies now (assign, then close)")
    close_due: dt.date | None = Field(default=None, description="the date it is due to be closed by")
    overdue: bool = Field(description="past its due date and not closed")


class WorkTask(BaseModel):
    plan_id: int
    task_name: str
    uscc: str
    region_code: str
    check_mode: str


class WorkPage(BaseModel):
    total: int = Field(description="待办: alerts in the queue")
    due_soon: int = Field(description="即将到期: due within due_soon_days, not overdue")
    overdue: int = Field(description="已超期")
    due_soon_days: int
    page: int
    page_size: int
    items: list[WorkItem]
    tasks: list[WorkTask] = Field(description="plan entities naming the user among their inspectors")


class BatchAssign(BaseModel):
    alert_ids: list[Annotated[str, Field(pattern=r"^[0-9a-fA-F]{16}$")]] = Field(min_length=1,
                                                                                 max_length=work.MAX_BATCH)
    to: str = Field(min_length=1, max_length=128, description="user:<name>, or a unit: 370102 or 370102:<department>")
    note: str = Field(default="", max_length=1000)


class BatchItem(BaseModel):
    alert_id: str
    log_seq: int
    log_hash: str
    assignee: str | None


class BatchResult(BaseModel):
    assigned: int
    items: list[BatchItem]


class ReviewRequest(BaseModel):
    note: str = Field(default="", max_length=1000, description="the reviewer's note (required to return)")


class Attachment(BaseModel):
    attachment_id: int
    alert_id: str
    filename: str
    kind: Literal["pdf", "png", "jpg", "xlsx", "docx"]
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: dt.datetime


class UnitFigures(BaseModel):
    unit: str = Field(description="county code, or department code (by=department)")
    unit_name: str
    received: int
    handled: int = Field(description="handled, waiting for review or closed")
    closed: int
    overdue: int = Field(description="not closed and past due, or closed after the due date")
    handled_rate: float | None = Field(description="处置率 = handled / received")
    closed_rate: float | None = Field(description="办结率 = closed / received")
    overdue_rate: float | None = Field(description="超期率 = overdue / received")


@router.get("/api/work", response_model=WorkPage, responses=ALERT_ERRORS)
def work_queue(me: Me, st: St, sort: Literal["due", "raised", "severity", "status"] = "due",
               page: Annotated[int, Query(ge=1, le=100000)] = 1,
               page_size: Annotated[int, Query(ge=1, le=200)] = 20) -> WorkPage:
    """我的待办: alerts assigned to the user or the user's unit, open ones routed to the user's county, those
    waiting for the user's sign-off; with due dates and overdue flags, and the user's inspection tasks."""
    v = work.queue(st, me, sort=sort, page=page, page_size=page_size, via="api")
    names = work.labels(st, [x.get("assignee") for x in v.queue.items], "zh")
    items = [WorkItem(**{k: x.get(k) for k in AlertOut.model_fields}, member_name=x.get("member_name"),
                      assignee_name=names.get(x.get("assignee")), due_on=x.get("due_on"),
                      close_due=x.get("close_due"), overdue=bool(x.get("overdue"))) for x in v.queue.items]
    return WorkPage(total=v.queue.total, due_soon=v.queue.due_soon, overdue=v.queue.overdue,
                    due_soon_days=v.soon_days, page=page, page_size=page_size, items=items,
                    tasks=[WorkTask(**t) for t in v.tasks])


@router.post("/api/work/assign", response_model=BatchResult, responses=STEP_ERRORS)
def work_batch_assign(body: BatchAssign, me: Me, st: St) -> BatchResult:
    """Assign several alerts to one user or unit at once (all or none: a refusal names the alert)."""
    done = work.batch_assign(st, me, body.alert_ids, body.to, body.note, via="api")
    return BatchResult(assigned=len(done), items=[BatchItem(**d) for d in done])


@router.get("/api/work/export", responses={**ALERT_ERRORS, 200: {"content": {m: {} for m in MEDIA.values()},
            "description": "the queue as XLSX or CSV"}}, response_class=Response)
def work_export(me: Me, st: St, format: Literal["xlsx", "csv"] = "xlsx",
                lang: Literal["zh", "en"] = "zh") -> Response:
    """The whole queue as XLSX or CSV (Chinese headers by default); audited (``export_work``)."""
    data, _ = work.export_queue(st, me, format, lang, via="api")
    return Response(data, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="work-{me.user.username}.{format}"'})


@router.get("/api/work/units", response_model=list[UnitFigures], responses=ALERT_ERRORS)
def work_units(me: Me, st: St,
               month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$",
                                                  description="YYYY-MM (default: the newest alert's month)")] = None,
               by: Literal["county", "department"] = "county") -> list[UnitFigures]:
    """Per unit in the user's region, the alerts raised in the month: received, handled, closed, overdue, and
    处置率 (handled / received), 办结率 (closed / received), 超期率 (overdue / received)."""
    rows = work.unit_stats(st, me, work.month_of(month) if month else work.latest_month(st), by, via="api")
    return [UnitFigures(**r, unit_name=work.unit_name(st, r["unit"], by)) for r in rows]


@router.post("/api/work/alerts/{alert_id}/approve", response_model=AlertStepResult, responses=STEP_ERRORS)
def work_approve(alert_id: AlertId, me: Me, st: St, body: ReviewRequest | None = None) -> AlertStepResult:
    """复核通过: a reviewer (admin or credit officer) other than the alert's handlers closes it: review -> closed."""
    me.require("alerts.write")
    return step_result(alerts.perform(st, me.user, alert_id.lower(), "approve", note=body.note if body else ""))


@router.post("/api/work/alerts/{alert_id}/return", response_model=AlertStepResult, responses=STEP_ERRORS)
def work_return(alert_id: AlertId, body: ReviewRequest, me: Me, st: St) -> AlertStepResult:
    """复核退回: the reviewer sends it back with a note: review -> handled (to be handled and closed again)."""
    me.require("alerts.write")
    return step_result(alerts.perform(st, me.user, alert_id.lower(), "return", note=body.note))


@router.get("/api/work/alerts/{alert_id}/attachments", response_model=list[Attachment], responses=ALERT_ERRORS)
def work_attachments(alert_id: AlertId, me: Me, st: St) -> list[Attachment]:
    """An alert's attachments."""
    return [Attachment(**r) for r in work.attachments_of(st, me, alert_id.lower())]


async def _attachment_body(request: Request) -> bytes:
    """The body, refused (413) from its Content-Length before it is read, and counted while it streams."""
    limit = work.MAX_ATTACHMENT_MB * 1024 * 1024
    length = request.headers.get("content-length")
    too_big = Refused(413, "too_large", f"an attachment is at most {work.MAX_ATTACHMENT_MB} MB", "attachment_too_big")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
        raise too_big
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/api/work/alerts/{alert_id}/attachments", response_model=Attachment, responses=STEP_ERRORS,
             openapi_extra={"requestBody": {"required": True, "content": {
                 m: {"schema": {"type": "string", "format": "binary"}} for m in
                 ("application/pdf", "image/png", "image/jpeg", MEDIA["xlsx"],
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document")}}})
async def work_attach(alert_id: AlertId, me: Me, st: St, body: Annotated[bytes, Depends(_attachment_body)],
                      filename: Annotated[str, Query(min_length=1, max_length=200)] = "attachment") -> Attachment:
    """Add a file to an alert (PDF, JPG, PNG, XLSX or DOCX, by its content; at most 20 MB), stored by SHA-256;
    audited (``alert_attach``)."""
    from starlette.concurrency import run_in_threadpool

    row = await run_in_threadpool(work.attach, st, me, alert_id.lower(), filename, body, "api")
    return Attachment(**row)


@router.get("/api/work/alerts/{alert_id}/attachments/{attachment_id}", responses=ALERT_ERRORS,
            response_class=Response)
def work_attachment(alert_id: AlertId, attachment_id: int, me: Me, st: St) -> Response:
    """An attachment's file; audited (``alert_attachment_read``)."""
    from ...warning.attachments import TYPES

    row, data = work.download(st, me, alert_id.lower(), int(attachment_id), via="api")
    return Response(data, media_type=TYPES[row["kind"]], headers={
        "Content-Disposition": f"attachment; filename=\"attachment-{row['attachment_id']}.{row['kind']}\"; "
                               f"filename*=UTF-8''{quote(row['filename'])}", "X-Content-Type-Options": "nosniff"})
