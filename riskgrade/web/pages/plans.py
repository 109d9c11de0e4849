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
from ...service import results, store_cache
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
    rows = plan_service.plans(st, me)
    return render(request, "plans.html", me, rows=rows, states=plan_service.states(st, [p.id for p, _ in rows]))


@router.get("/plans/new")
def plan_wizard(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "plans.write")
    start, end = _quarter(dt.date.today())
    return _wizard(request, me, st, {"seed": dt.date.today().strftime("%Y%m%d"), "period_start": start.isoformat(),
                                     "period_end": end.isoformat(), "items": [], "team": []}, step=1)


def _tasks(st: AppState, me: Principal) -> list:
    try:
        return plan_service.tasks(st, me)
    except Refused as e:
        raise page_error(e) from None


def _quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    """This quarter's first and last day: the period a new plan proposes."""
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    nxt = dt.date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def _wizard(request: Request, me: Principal, st: AppState, v: dict, step: int, errors: list[str] | None = None,
            allocation: Any = None, status: int = 200) -> HTMLResponse:
    items = plan_service.items_list(st.home)
    team = plan_service.team(st, me)
    return render(request, "plan_new.html", me, status=status, v=v, step=step, errors=errors or [],
                  months=plan_service.months(st), tasks=_tasks(st, me), allocation=allocation,
                  general_ok=len(me.user.region_prefix) == 2, item_domains=list(items.domains.items()),
                  item_names={c: (d, it) for c, (d, it) in items.by_code().items()}, team=team,
                  team_names={u.username: u for u in team}, method_names=_methods(request),
                  regions=entity_service.regions(st, me), sections=sorted(SECTIONS_EN))


def _methods(request: Request) -> dict[str, str]:
    from ...inspection.items import METHODS

    zh = lang_of(request) == "zh"
    return {k: w[0 if zh else 1] for k, w in METHODS.items()}


def _wizard_values(form: dict, me: Principal, st: AppState, t: dict) -> tuple[dict, list[str], Any]:
    """Validated wizard fields, error messages, and the task (an existing one, a new one, or None: general)."""
    from ...inspection.items import check_codes
    from ...inspection.tasks import Task

    v = {k: str(form.get(k, "")).strip() for k in ("as_of", "task", "budget", "seed", "new_name", "new_domain",
                                                   "new_region", "new_industry", "period_start", "period_end")}
    v["optimise"] = bool(form.get("optimise"))
    # checkboxes named item:<code> and team:<user name> (the posted form keeps one value per name)
    v["items"] = sorted(k[5:] for k in form if k.startswith("item:"))
    v["team"] = sorted(k[5:] for k in form if k.startswith("team:"))
    errors = []
    if not v["period_start"] and not v["period_end"]:  # not given (an older form, a script): this quarter
        v["period_start"], v["period_end"] = (d.isoformat() for d in _quarter(dt.date.today()))
    try:
        start, end = dt.date.fromisoformat(v["period_start"]), dt.date.fromisoformat(v["period_end"])
        if end < start:
            raise ValueError
        v["period"] = (start, end)
    except ValueError:
        errors.append(t["invalid_period"])
    if set(v["team"]) - {u.username for u in plan_service.team(st, me)}:
        errors.append(t["team_not_in_scope"])
    if v["as_of"] not in {a.isoformat() for a in plan_service.months(st)}:
        errors.append(t["invalid_month"])
    if v["budget"] and small_int(v["budget"], 10_000_001) is None:
        errors.append(t["invalid_budget"])
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v["seed"]):
        errors.append(t["invalid_seed"])
    task: Any = None
    if v["task"] == "new":
        region = v["new_region"] or (me.user.region_prefix if len(me.user.region_prefix) > 2 else "")
        task = Task(None, v["new_name"], v["new_domain"] or "general", region, v["new_industry"].upper(),
                    period_start=v.get("period", (None, None))[0], period_end=v.get("period", (None, None))[1])
        try:
            task.check_items = check_codes(plan_service.items_list(st.home), task.domain, v["items"])
        except RiskgradeError:
            errors.append(t["item_not_in_domain"])
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
    budget = small_int(v["budget"]) if v["budget"] else None
    try:  # the draw's own allocation: what the preview shows is what the plan draws
        allocation = plan_service.preview(st, me, v["as_of"], task, budget, v["optimise"])
    except Refused as e:
        raise page_error(e) from None
    except RiskgradeError as e:
        return _wizard(request, me, st, v, step=1, errors=[str(e)], status=422)
    if form.get("step") != "create":
        return _wizard(request, me, st, v, step=3, allocation=allocation)
    try:
        out = plan_service.create_for_task(st, me, as_of=dt.date.fromisoformat(v["as_of"]), seed=v["seed"],
                                           budget=budget, task=task, optimise=v["optimise"], via="console",
                                           period=v["period"], team=v["team"])
    except RiskgradeError as e:
        return _wizard(request, me, st, v, step=3, errors=[str(e)], allocation=allocation, status=422)
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
    return _plan_page(request, me, st, plan, rows, total, page, created=bool(p.get("created")),
                      decided=p.get("decided", ""))


def _plan_page(request: Request, me: Principal, st: AppState, plan: Any, rows: list, total: int, page: int,
               status: int = 200, created: bool = False, decided: str = "", approval_error: str = "") -> HTMLResponse:
    """The plan page: the draw, its approval, the shown entities' results and entry forms, its 监管效能."""
    usccs, lang = [pe.uscc for pe, _ in rows], lang_of(request)
    # read from the warehouse once per store state (opening it and measuring took most of the page at 1M)
    found, eff = store_cache.memo(st.home, ("plan_results", plan.id, tuple(usccs), lang),
                                  lambda: results.plan_results(st, plan.id, usccs, lang),
                                  keep=lambda out: out[0] is not None)  # not while the store is busy
    return render(request, "plan.html", me, status=status, plan=plan, rows=rows, total=total, page=page,
                  pages=max(1, -(-total // PLAN_PAGE)), created=created, m=plan_service.manifest(me, plan),
                  page_url=lambda n: f"/plans/{plan.id}?page={n}", **_entry(request, found), eff=eff,
                  **_plan_extras(request, me, st, plan, rows, decided=decided, approval_error=approval_error))


def _entry(request: Request, found: list[dict] | None) -> dict:
    """The per-entity results entry of the plan page (web/pages/entities.py result_entry): each shown entity's
    latest result (of ``found``, newest first), the result words, and the outcome of the last entry."""
    from ...contract import INSPECTION_RESULT_EN, INSPECTION_RESULT_ZH

    latest: dict[str, dict] = {}
    for r in found or []:
        latest.setdefault(r["uscc"], r)  # newest first
    words = INSPECTION_RESULT_ZH if lang_of(request) == "zh" else INSPECTION_RESULT_EN
    p = request.query_params
    return {"latest": latest, "result_words": words, "entered": p.get("entered", "")[:18],
            "entry_error": p.get("entry_error", "")[:300], "entry_uscc": p.get("entry_uscc", "")[:18],
            "today": dt.date.today().isoformat()}


def _plan_extras(request: Request, me: Principal, st: AppState, plan: Any, rows: list, decided: str = "",
                 approval_error: str = "") -> dict:
    """What the plan page shows beside the draw: its approval (state, who, note, the approver's form), items,
    period, team, and the inspectors of the shown entities (``rows``) by name and unit."""
    from ...inspection.items import describe_items
    from ..names import region_name

    row = plan_service.approval(st, plan.id)
    names = plan_service.inspector_names(st, plan.id, [i for pe, _ in rows for i in (pe.inspectors or "").split(";") if i])
    unknown = texts(request)["inspector_unknown"]

    def person(iid: str) -> str:
        name, unit = names.get(iid, ("", ""))
        return f"{name}（{region_name(unit)}）" if name else f"{iid} {unknown}"

    task = (plan.manifest or {}).get("task") or {}
    return {"approval": row, "plan_state": plan_service.state(st, plan.id),
            "may_approve": row is not None and plan_service.may_approve(me, plan, row),
            "items": describe_items(plan_service.items_list(st.home), task.get("check_items"), lang_of(request)),
            "period": task.get("period", "").strip(" ."), "team": plan_service.team_of(st, row), "person": person,
            "decided": decided, "approval_error": approval_error}


@router.post("/plans/{plan_id}/approval")
def plan_decide(request: Request, plan_id: PlanId, me: Me, form: Form, st: St) -> Response:
    """Approve or reject a plan waiting for approval (the approver, not the plan's author)."""
    need(me, "plans.read")
    approve = form.get("decision") == "approve"
    try:
        plan_service.decide(st, me, plan_id, approve, str(form.get("note", "")), via="console")
    except Refused as e:
        if e.key not in ("approve_forbidden", "reject_note_needed", "plan_not_draft"):
            raise page_error(e) from None
        plan, total, rows = plan_service.page(st, me, plan_id, 1, PLAN_PAGE, via="console")
        return _plan_page(request, me, st, plan, rows, total, 1, status=e.status, approval_error=message(request, e))
    return RedirectResponse(f"/plans/{plan_id}?decided={'approved' if approve else 'rejected'}", status_code=303)


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
