"""Static files, signing in and out."""

from __future__ import annotations

import functools
import hmac
import re
import secrets
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...registry.users import SESSION_HOURS
from ...service import principal as principals
from ...service.errors import Refused
from ..common import LOGIN_COOKIE, SESSION_COOKIE, Form, Me, PageError, St, render, safe_next

STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


@functools.lru_cache(maxsize=32)
def _static_file(name: str) -> bytes | None:
    f = resources.files("riskgrade.web").joinpath("static", name)
    return f.read_bytes() if f.is_file() else None


@router.get("/static/{name}")
def static(name: str) -> Response:
    suffix = Path(name).suffix
    body = _static_file(name) if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) and suffix in STATIC_TYPES else None
    if body is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(body, media_type=STATIC_TYPES[suffix], headers={"Cache-Control": "public, max-age=86400"})


@router.get("/login")
def login_form(request: Request, st: St) -> HTMLResponse:
    if principals.session_of(st, request.cookies.get(SESSION_COOKIE, "")) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


def _login_page(request: Request, error: str = "", status: int = 200, username: str = "",
                next_url: str | None = None) -> HTMLResponse:
    held = request.cookies.get(LOGIN_COOKIE, "")
    token = held if re.fullmatch(r"[A-Za-z0-9_-]{32}", held) else secrets.token_urlsafe(24)  # one per browser
    notice = "login_expired" if request.query_params.get("expired") else (
        "logged_out" if request.query_params.get("bye") else "")
    resp = render(request, "login.html", None, status=status, login_csrf=token, error=error, notice=notice,
                  username=username, next_url=safe_next(next_url or request.query_params.get("next")))
    resp.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login",
                    secure=request.url.scheme == "https")
    return resp


@router.post("/login")
async def login(request: Request, st: St) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await request.form(max_files=0, max_fields=10)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:256]
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(str(form.get("csrf", "")), cookie):
        raise PageError(403, "csrf")
    client = request.client.host if request.client else "?"
    try:
        secret, _, _ = await run_in_threadpool(principals.sign_in, st, username, password, client, "session",
                                               "console")
    except Refused as e:
        return _login_page(request, e.key, e.status, username, str(form.get("next", "")))
    resp = RedirectResponse(safe_next(str(form.get("next", "")) or None), status_code=303)
    resp.set_cookie(SESSION_COOKIE, secret, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict", path="/",
                    secure=request.url.scheme == "https")
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, me: Me, form: Form, st: St) -> Response:
    principals.sign_out(st, me, request.cookies.get(SESSION_COOKIE, ""), via="console")
    resp = RedirectResponse("/login?bye=1", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
