"""Administration: users within the administrator's region, and the audit log with its check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...errors import RiskgradeError
from ...registry.models import ROLES
from ...service import admin, audit
from ...service.errors import Refused
from ...service.state import AppState, Principal
from ..common import Form, Me, St, texts, message, need, page_number, render

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 50


@router.get("/admin/users")
def users_page(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "users.manage")
    return _users(request, me, st)


def _users(request: Request, me: Principal, st: AppState, errors: list[str] | None = None, notice: str = "",
           v: dict | None = None, status: int = 200) -> HTMLResponse:
    return render(request, "users.html", me, users=admin.users(st, me), roles=ROLES, errors=errors or [],
                  notice=notice, v=v or {}, status=status, regions=admin.region_choices(me), locked=admin.locked)


@router.post("/admin/users")
def user_add(request: Request, me: Me, form: Form, st: St) -> HTMLResponse:
    need(me, "users.manage")
    t = texts(request)
    v = {k: str(form.get(k, "")).strip() for k in ("username", "display_name", "role", "region", "department")}
    try:
        u = admin.add(st, me, username=v["username"], password=str(form.get("password", "")), role=v["role"],
                      region=v["region"], display_name=v["display_name"], department=v["department"] or None,
                      via="console")
    except Refused as e:
        return _users(request, me, st, [message(request, e)], v=v, status=422)
    except RiskgradeError as e:
        why = t["weak_password"] if "password" in str(e) else t["department_too_long"] if "department" in str(e) else str(e)
        return _users(request, me, st, [why], v=v, status=422)
    return _users(request, me, st, notice=t["user_added"].format(u=u.username))


@router.post("/admin/users/{username}/state")
def user_state(request: Request, username: str, me: Me, form: Form, st: St) -> HTMLResponse:
    need(me, "users.manage")
    t = texts(request)
    try:
        admin.set_disabled(st, me, username, form.get("action") == "disable", via="console")
    except Refused as e:
        return _users(request, me, st, [message(request, e)], status=e.status)
    return _users(request, me, st, notice=t["user_changed"].format(u=username))


@router.get("/admin/users/{username}")
def user_page(request: Request, username: str, me: Me, st: St) -> HTMLResponse:
    need(me, "users.manage")
    return _user(request, me, st, username)


def _user(request: Request, me: Principal, st: AppState, username: str, errors: list[str] | None = None,
          notice: str = "", status: int = 200) -> HTMLResponse:
    try:
        u = admin.user(st, me, username)
    except Refused as e:
        return _users(request, me, st, [message(request, e)], status=e.status)
    done = request.query_params.get("done", "")
    t = texts(request)
    notice = notice or (t["user_done_" + done] if "user_done_" + done in t else "")
    return render(request, "user.html", me, u=u, roles=ROLES, regions=admin.region_choices(me),
                  is_locked=admin.locked(u), errors=errors or [], notice=notice, status=status)


@router.post("/admin/users/{username}")
def user_edit(request: Request, username: str, me: Me, form: Form, st: St) -> Response:
    """One of: save (role, region, department, display name), unlock, reset the password, disable, enable."""
    need(me, "users.manage")
    t = texts(request)
    op = str(form.get("op", ""))
    try:
        if op == "save":
            admin.change(st, me, username, role=str(form.get("role", "")), region=str(form.get("region", "")).strip(),
                         department=str(form.get("department", "")).strip() or None,
                         display_name=str(form.get("display_name", "")).strip(), via="console")
        elif op == "unlock":
            admin.unlock(st, me, username, via="console")
        elif op == "password":
            admin.reset_password(st, me, username, str(form.get("password", "")), via="console")
        elif op in ("disable", "enable"):
            admin.set_disabled(st, me, username, op == "disable", via="console")
        else:
            return _user(request, me, st, username, [t["bad_request"]], status=400)
    except Refused as e:
        return _user(request, me, st, username, [message(request, e)], status=e.status)
    except RiskgradeError as e:
        why = t["weak_password"] if "password" in str(e) else t["department_too_long"] if "department" in str(e) else str(e)
        return _user(request, me, st, username, [why], status=422)
    return RedirectResponse(f"/admin/users/{username}?done={op}", status_code=303)


@router.get("/admin/audit")
def audit_page(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "audit.read")
    p = request.query_params
    page = page_number(p, 2**31)
    verdict = audit.verify(st, me, via="console") if p.get("verify") else None
    total, rows = audit.log_page(st, me, page, AUDIT_PAGE)
    return render(request, "audit.html", me, rows=rows, page=page, pages=max(1, -(-total // AUDIT_PAGE)),
                  verdict=verdict, total=total, page_url=lambda n: f"/admin/audit?page={n}")
