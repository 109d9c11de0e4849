"""Inspection plans: the list, the plan wizard (month, task, budget and seed; the population it draws from;
the plan drawn and published), a plan's entities, and the results upload."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...errors import RiskgradeError
from ...service import entities as entity_service
from ...service import plans as plan_service
from ...service import results
from ...service.errors import Refused
from ...service.state import AppState, Principal
from ..common import (Form, Me, PageError, PlanId, St, lang_of, message, need, page_error, page_number, render,
                      small_int, texts)
from ..i18n import SECTIONS_EN

router = APIRouter(include_in_schema=False)
PLAN_PAGE = 50


@router.get("/plans")
def plans(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "plans.read")
    return render(request, "plans.html", me, rows=plan_service.plans(st, me))


@router.get("/plans/new")
def plan_wizard(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "plans.write")
    return _wizard(request, me, st, {"seed": dt.date.today().strftime("%Y%m%d")}, step=1)


def _tasks(st: AppState, me: Principal) -> list:
    try:
        return plan_service.tasks(st, me)
    except Refused as e:
        raise page_error(e) from None


def _wizard(request: Request, me: Principal, st: AppState, v: dict, step: int, errors: list[str] | None = None,
            population: tuple[str, list] | None = None, status: int = 200) -> HTMLResponse:
    from ...inspection.config import load_sampling

    mode, rows = population or ("four", [])
    ratios = load_sampling().ratios.get(mode, {})
    return render(request, "plan_new.html", me, status=status, v=v, step=step, errors=errors or [],
                  months=plan_service.months(st), tasks=_tasks(st, me),
                  population=[(g, n, ratios.get(g)) for g, n in rows], general_ok=len(me.user.region_prefix) == 2,
                  regions=entity_service.regions(st, me), sections=sorted(SECTIONS_EN))


def _wizard_values(form: dict, me: Principal, st: AppState, t: dict) -> tuple[dict, list[str], Any]:
    """Validated wizard fields, error messages, and the task (an existing one, a new one, or None: general)."""
    from ...inspection.tasks import Task

    v = {k: str(form.get(k, "")).strip() for k in ("as_of", "task", "budget", "seed", "new_name", "new_domain",
                                                   "new_region", "new_industry")}
    v["optimise"] = bool(form.get("optimise"))
    errors = []
    if v["as_of"] not in {a.isoformat() for a in plan_service.months(st)}:
        errors.append(t["invalid_month"])
    if v["budget"] and small_int(v["budget"], 10_000_001) is None:
        errors.append(t["invalid_budget"])
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v["seed"]):
        errors.append(t["invalid_seed"])
    task: Any = None
    if v["task"] == "new":
        region = v["new_region"] or (me.user.region_prefix if len(me.user.region_prefix) > 2 else "")
        task = Task(None, v["new_name"], v["new_domain"] or "general", region, v["new_industry"].upper())
        if not v["new_name"]:
            errors.append(t["task_name_needed"])
        else:
            try:
                task.validate()
            except RiskgradeError as e:
                errors.append(str(e))
    elif small_int(v["task"]) is not None:
        task = next((x for x in _tasks(st, me) if x.task_id == small_int(v["task"])), None)
        if task is None:
            errors.append(t["task_out_of_scope"])
    if task is not None and not errors and not plan_service.task_allowed(me.region, task.region_prefix):
        errors.append(t["task_out_of_scope"])
    if task is None and v["task"] in ("", "general") and len(me.user.region_prefix) != 2:
        errors.append(t["task_out_of_scope"])
    return v, errors, task


@router.post("/plans/new")
def plan_create(request: Request, me: Me, form: Form, st: St) -> Response:
    need(me, "plans.write")
    t = texts(request)
    v, errors, task = _wizard_values(form, me, st, t)
    if errors:
        return _wizard(request, me, st, v, step=1, errors=errors, status=422)
    if form.get("step") == "edit":
        return _wizard(request, me, st, v, step=1)
    population = plan_service.population(st, me, v["as_of"], task)
    if form.get("step") != "create":
        return _wizard(request, me, st, v, step=3, population=population)
    try:
        out = plan_service.create_for_task(st, me, as_of=dt.date.fromisoformat(v["as_of"]), seed=v["seed"],
                                           budget=small_int(v["budget"]) if v["budget"] else None, task=task,
                                           optimise=v["optimise"], via="console")
    except RiskgradeError as e:
        return _wizard(request, me, st, v, step=3, errors=[str(e)], population=population, status=422)
    return RedirectResponse(f"/plans/{out.plan_id}?created=1", status_code=303)


@router.get("/plans/{plan_id}")
def plan_detail(request: Request, plan_id: PlanId, me: Me, st: St) -> HTMLResponse:
    need(me, "plans.read")
    p = request.query_params
    page = page_number(p, 2**31)
    try:
        plan, total, rows = plan_service.page(st, me, plan_id, page, PLAN_PAGE, via="console")
    except Refused as e:
        raise page_error(e) from None
    return render(request, "plan.html", me, plan=plan, rows=rows, total=total, page=page,
                  pages=max(1, -(-total // PLAN_PAGE)), created=bool(p.get("created")), m=plan_service.manifest(me, plan),
                  page_url=lambda n: f"/plans/{plan_id}?page={n}", **_entry(request, plan_id, rows, st))


def _entry(request: Request, plan_id: int, rows: list, st: AppState) -> dict:
    """The per-entity results entry of the plan page (web/pages/entities.py result_entry): each shown entity's
    latest result, the result words, and the outcome of the last entry."""
    from ...contract import INSPECTION_RESULT_EN, INSPECTION_RESULT_ZH

    found = results.linked(st, plan_id=plan_id, usccs=[pe.uscc for pe, _ in rows]) if rows else []
    latest: dict[str, dict] = {}
    for r in found or []:
        latest.setdefault(r["uscc"], r)  # newest first
    words = INSPECTION_RESULT_ZH if lang_of(request) == "zh" else INSPECTION_RESULT_EN
    p = request.query_params
    return {"latest": latest, "result_words": words, "entered": p.get("entered", "")[:18],
            "entry_error": p.get("entry_error", "")[:300], "entry_uscc": p.get("entry_uscc", "")[:18],
            "today": dt.date.today().isoformat()}


# --------------------------------------------------------------------------- results upload
def _plan_or_404(st: AppState, plan_id: int):
    try:
        return plan_service.get(st, plan_id)
    except Refused as e:
        raise page_error(e) from None


@router.get("/plans/{plan_id}/results/template")
def results_template(request: Request, plan_id: PlanId, me: Me, st: St) -> Response:
    """The plan's results template (XLSX, the page's language), for the entities in the user's region."""
    need(me, "results.write")
    try:
        name, data = results.template(st, me, plan_id, lang_of(request), via="console")
    except Refused as e:
        raise page_error(e) from None
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/plans/{plan_id}/results")
def results_form(request: Request, plan_id: PlanId, me: Me, st: St) -> HTMLResponse:
    need(me, "results.write")
    return render(request, "results.html", me, plan=_plan_or_404(st, plan_id), errors=[], outcome=None, rejections=[])


def _rejections(request: Request, rows: list[dict]) -> list[dict]:
    """The rejected lines in the page's language: each with its line, column and why (the words of the
    inspection stage's reason catalog, carried with each line by the service)."""
    zh = lang_of(request) == "zh"
    return [{**r, "text": r.get("message_zh" if zh else "message") or r.get("reason", "")} for r in rows[:500]]


def _refusal(request: Request, e: Refused) -> str:
    """A refused upload in the page's language; the first rejected line's reason in that language too."""
    first = (e.fields.get("rejected") or [None])[0]
    if first and lang_of(request) == "zh" and first.get("reason_zh") and "why" in e.fields:
        e = Refused(e.status, e.code, e.message, e.key, {**e.fields, "why": first["reason_zh"]})
    return message(request, e)


@router.post("/plans/{plan_id}/results")
async def results_upload(request: Request, plan_id: PlanId, me: Me, form: Form, st: St) -> HTMLResponse:
    from starlette.concurrency import run_in_threadpool

    need(me, "results.write")
    plan = _plan_or_404(st, plan_id)
    upload = form.get("file")
    data = await upload.read() if hasattr(upload, "read") else b""
    try:
        outcome = await run_in_threadpool(results.upload, st, me, plan_id, data,
                                          filename=getattr(upload, "filename", "") or "", via="console")
    except Refused as e:
        return render(request, "results.html", me, plan=plan, errors=[_refusal(request, e)], outcome=None,
                      rejections=_rejections(request, e.fields.get("rejected", [])), status=422)
    return render(request, "results.html", me, plan=plan, errors=[], outcome=outcome,
                  rejections=_rejections(request, outcome["rejections"]))


# --------------------------------------------------------------------------- the sealed draw package (auditors)
def _sealed_page(request: Request, me: Principal, st: AppState, plan_id: int, verdict: dict | None = None,
                 status: int = 200) -> HTMLResponse:
    try:
        pkg = plan_service.sealed(st, me, plan_id, via="console")
    except Refused as e:
        raise _sealed_error(e) from None
    t = texts(request)
    words = [t[VERIFIED.get(c, "")] if VERIFIED.get(c) in t else c for c in (verdict or {}).get("checked", [])]
    return render(request, "sealed.html", me, pkg=pkg, verdict=verdict, checked_words=words, status=status,
                  shown=SEALED_ROWS)


VERIFIED = {"commitment": "verified_commitment", "stored plan": "verified_stored_plan",
            "sealed package (re-drawn)": "verified_redrawn"}  # what plans verify checked, in the page's words


SEALED_ROWS = 500  # drawn entities shown on the page; the download has them all


def _sealed_error(e: Refused) -> PageError:
    """A refusal of the sealed package as an error page with its own words (403 role, 404 none, 503 busy)."""
    if e.key in ("sealed_forbidden", "sealed_missing"):
        return PageError(e.status, e.key)
    return page_error(e)


@router.get("/sealed")
def sealed_list(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, plan_service.SEALED_PERMISSION)
    return render(request, "sealed_list.html", me, rows=plan_service.sealed_list(st, me))


@router.get("/plans/{plan_id}/sealed")
def sealed_view(request: Request, plan_id: PlanId, me: Me, st: St) -> HTMLResponse:
    return _sealed_page(request, me, st, plan_id)


@router.post("/plans/{plan_id}/sealed/verify")
def sealed_verify(request: Request, plan_id: PlanId, me: Me, form: Form, st: St) -> HTMLResponse:
    try:
        verdict = plan_service.verify_sealed(st, me, plan_id, via="console")
    except Refused as e:
        raise _sealed_error(e) from None
    return _sealed_page(request, me, st, plan_id, verdict)


@router.get("/plans/{plan_id}/sealed/download")
def sealed_download(request: Request, plan_id: PlanId, me: Me, st: St) -> Response:
    try:
        name, data = plan_service.sealed_download(st, me, plan_id, via="console")
    except Refused as e:
        raise _sealed_error(e) from None
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})
