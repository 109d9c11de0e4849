"""Inspection plans (双随机抽查) and their results."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ...service import plans as plan_service
from ...service import results
from ...service.errors import Refused
from ..deps import Body, Me, St
from ..schemas import (ALERT_ERRORS, ERRORS, PlanCreated, PlanDetail, PlanEntityOut, PlanId, PlanOut, PlanRequest,
                       PlanVerification, ResultsImported, SealedPackage)

router = APIRouter(tags=["inspection"])


@router.get("/api/plans", response_model=list[PlanOut], responses=ERRORS)
def plans(me: Me, st: St) -> list[PlanOut]:
    """Published inspection plans, with how many of their entities are in the user's region."""
    return [PlanOut(id=p.id, as_of=p.as_of, task_name=p.task_name, domain=p.domain, seed=p.seed, drawn=p.drawn,
                    in_scope=n) for p, n in plan_service.plans(st, me)]


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
