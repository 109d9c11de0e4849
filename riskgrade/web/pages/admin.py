"""Administration: users within the administrator's region, and the audit log with its check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

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
                  notice=notice, v=v or {}, status=status)


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
        return _users(request, me, st, [str(e)], v=v, status=422)
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


@router.get("/admin/audit")
def audit_page(request: Request, me: Me, st: St) -> HTMLResponse:
    need(me, "audit.read")
    p = request.query_params
    page = page_number(p, 2**31)
    verdict = audit.verify(st, me, via="console") if p.get("verify") else None
    total, rows = audit.log_page(st, me, page, AUDIT_PAGE)
    return render(request, "audit.html", me, rows=rows, page=page, pages=max(1, -(-total // AUDIT_PAGE)),
                  verdict=verdict, total=total, page_url=lambda n: f"/admin/audit?page={n}")
