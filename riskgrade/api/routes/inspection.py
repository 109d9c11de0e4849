"""Inspection plans (双随机抽查) and their results."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ...service import plans as plan_service
from ...service import results
from ...service.errors import Refused
from ..deps import Body, Me, St
from ..schemas import (ALERT_ERRORS, ERRORS, STEP_ERRORS, PlanCreated, PlanDetail, PlanEntityOut, PlanId, PlanOut, PlanRequest,
                       PlanVerification, ResultsImported, SealedPackage)

router = APIRouter(tags=["inspection"])


@router.get("/api/plans", response_model=list[PlanOut], responses=ERRORS)
def plans(me: Me, st: St) -> list[PlanOut]:
    """Published inspection plans, with how many of their entities are in the user's region."""
    return [PlanOut(id=p.id, as_of=p.as_of, task_name=p.task_name, domain=p.domain, seed=p.seed, drawn=p.drawn,
                    in_scope=n) for p, n in plan_service.plans(st, me)]


class InspectionItem(BaseModel):
    domain: str = Field(description="the inspection domain (general, food, drug, special_equipment, ...)")
    code: str = Field(description="the item's code, as tasks name it (e.g. FOOD-01)")
    name_zh: str
    name_en: str
    basis: str = Field(description="legal basis (依据)")
    method: str = Field(description="onsite, written, online or sampling (检查方式)")
    department: str = Field(description="the department that carries it out")


class ItemListOut(BaseModel):
    version: str
    items: list[InspectionItem]


class ApprovalOut(BaseModel):
    plan_id: int
    state: str = Field(description="draft (待审批), approved (已生效), rejected (已驳回), or in_force (drawn where no "
                                   "approval is asked, e.g. the command line)")
    requested_by: str | None = None
    requested_at: dt.datetime | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    team: list[str] = Field(default_factory=list, description="user names of the inspectors in charge")
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str = ""


class DecisionIn(BaseModel):
    note: str = Field("", max_length=1000, description="the approver's note (needed to reject)")


@router.get("/api/plans/items", response_model=ItemListOut, responses=ERRORS)
def items(me: Me, st: St, domain: str | None = None) -> ItemListOut:
    """The province's inspection items (抽查事项清单), optionally of one domain."""
    me.require("plans.read")
    lst = plan_service.items_list(st.home)
    return ItemListOut(version=lst.version, items=[InspectionItem(domain=d, **it.model_dump())
                                                   for d, its in lst.domains.items() if domain in (None, d)
                                                   for it in its])


def _approval_out(st, plan_id: int) -> ApprovalOut:
    row = plan_service.approval(st, plan_id)
    if row is None:
        return ApprovalOut(plan_id=plan_id, state=plan_service.state(st, plan_id))
    return ApprovalOut(plan_id=plan_id, state=row.state, requested_by=row.requested_by, requested_at=row.requested_at,
                       period_start=row.period_start, period_end=row.period_end,
                       team=[x for x in (row.team or "").split(";") if x], decided_by=row.decided_by,
                       decided_at=row.decided_at, note=row.note or "")


@router.get("/api/plans/{plan_id}/approval", response_model=ApprovalOut, responses=ERRORS)
def approval(plan_id: PlanId, me: Me, st: St) -> ApprovalOut:
    """A plan's approval (审批): its state, who submitted and who decided, the note, period and team."""
    plan_service.detail(st, me, plan_id)
    return _approval_out(st, plan_id)


@router.post("/api/plans/{plan_id}/approve", response_model=ApprovalOut, responses=STEP_ERRORS)
def approve(plan_id: PlanId, body: DecisionIn, me: Me, st: St) -> ApprovalOut:
    """Approve a plan waiting for approval (→ approved, 已生效): an approver role (administrators by default),
    not the plan's author, whose region covers the plan; 409 when the plan is not waiting.  Audited."""
    plan_service.decide(st, me, plan_id, True, body.note, via="api")
    return _approval_out(st, plan_id)


@router.post("/api/plans/{plan_id}/reject", response_model=ApprovalOut, responses=STEP_ERRORS)
def reject(plan_id: PlanId, body: DecisionIn, me: Me, st: St) -> ApprovalOut:
    """Reject a plan waiting for approval (→ rejected, 已驳回) with a note saying why.  Audited."""
    plan_service.decide(st, me, plan_id, False, body.note, via="api")
    return _approval_out(st, plan_id)


@router.get("/api/plans/{plan_id}", response_model=PlanDetail, responses=ERRORS)
def plan(plan_id: PlanId, me: Me, st: St) -> PlanDetail:
    """A plan's entities in the user's region."""
    p, ents = plan_service.detail(st, me, plan_id)
    return PlanDetail(id=p.id, as_of=p.as_of, task_name=p.task_name, domain=p.domain, seed=p.seed, drawn=p.drawn,
                      in_scope=len(ents), entities=[PlanEntityOut(
                          uscc=e.uscc, region_code=e.region_code, grade=e.grade, selection=e.selection,
                          inclusion_probability=e.inclusion_probability, check_mode=e.check_mode,
                          inspectors=[x for x in (e.inspectors or "").split(";") if x]) for e in ents])


@router.post("/api/plans", response_model=PlanCreated, status_code=201, responses=ERRORS)
def create_plan(body: PlanRequest, me: Me, st: St) -> PlanCreated:
    """Draw a plan in the user's region (a task for that region is created when none is given)."""
    res = plan_service.create(st, me, as_of=body.as_of, seed=body.seed, budget=body.budget, task_id=body.task_id,
                       domain=body.domain, optimise=body.optimise)
    return PlanCreated(plan_id=res.plan_id, drawn=res.rows, expected_findings=res.expected,
                       uniform_expected_findings=res.uniform_expected, content_hash=res.content_hash,
                       notes=res.notes)


@router.post("/api/plans/{plan_id}/results", response_model=ResultsImported, responses=ERRORS,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string", "minLength": 1,
                                         "description": "inspection results: uscc, date, result (the contract's "
                                                        "codes or Chinese words), optional inspector and notes"}},
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                     "schema": {"type": "string", "format": "binary"}},
                 "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_results(plan_id: PlanId, request: Request, me: Me, st: St, body: Body) -> ResultsImported:
    """Upload inspection results for a plan (CSV, XLSX or Parquet: uscc, date, result; optional inspector,
    notes).  Only inspection results of the plan's entities in the user's region; every line is accepted or
    rejected with its line, column and reason (``rejections``: a stable ``code``, and ``message`` /
    ``message_zh``, where and why in English / Chinese).  A file that is not a results file, or reaches outside
    the user's scope, is refused whole (422, 403); so is a file none of whose lines is accepted (422, the
    lines in ``error.rejections``)."""
    from starlette.concurrency import run_in_threadpool

    me.require("results.write")
    plan_service.get(st, plan_id)
    try:
        out = await run_in_threadpool(results.upload, st, me, plan_id, body)
    except Refused as e:
        if "rejected" not in e.fields:
            raise
        return JSONResponse({"error": {"code": e.code, "message": e.message, "rejections": e.fields["rejected"]}},
                            status_code=e.status, headers=e.headers)
    return ResultsImported(**{k: out[k] for k in ResultsImported.model_fields})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/api/plans/{plan_id}/results/template", responses={**ERRORS, 200: {"content": {XLSX: {}},
            "description": "an XLSX results template"}}, response_class=Response)
def results_template(plan_id: PlanId, me: Me, st: St, lang: str = "zh") -> Response:
    """A results template for the plan (XLSX): the upload's headers (Chinese with ``lang=zh``, the default),
    one row per entity of the plan in the user's region with its name for reference and its inspectors, the
    result words as a pick list, and a sheet of instructions; audited (``results_template``)."""
    name, data = results.template(st, me, plan_id, "en" if lang == "en" else "zh", via="api")
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --------------------------------------------------------------------------- the sealed draw package (auditors)
@router.get("/api/plans/{plan_id}/sealed", response_model=SealedPackage, responses=ERRORS)
def sealed(plan_id: PlanId, me: Me, st: St) -> SealedPackage:
    """The sealed verification package of a published draw: strata (size, drawn, inclusion probability), seed,
    salt, commitments and the selection with grades.  The auditor (纪检/法制审核) and administrators only (403
    for every other role, audited as read_refused); every read audited (read_sealed)."""
    pkg = plan_service.sealed(st, me, plan_id, via="api")
    return SealedPackage(**{k: pkg[k] for k in SealedPackage.model_fields})


@router.get("/api/plans/{plan_id}/sealed/download", responses={**ERRORS, 200: {
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    "description": "plan-<id>/plan.json, population.csv, selected.csv"}})
def sealed_download(plan_id: PlanId, me: Me, st: St) -> Response:
    """The sealed package's files as a zip (the auditor and administrators; audited)."""
    name, data = plan_service.sealed_download(st, me, plan_id, via="api")
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/api/plans/{plan_id}/sealed/verify", response_model=PlanVerification, responses=ALERT_ERRORS)
def sealed_verify(plan_id: PlanId, me: Me, st: St) -> PlanVerification:
    """Verify a published draw as `riskgrade plans verify` does: the revealed seed against its commitment, the
    package against the stored plan, and the full re-draw from the sealed package.  ``ok`` false names the first
    check that failed.  The auditor and administrators only; audited (verify_plan)."""
    return PlanVerification(**plan_service.verify_sealed(st, me, plan_id, via="api"))
