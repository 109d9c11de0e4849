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

from ...registry.users import ENROL_MINUTES, PENDING_MINUTES, SESSION_HOURS, totp_uri
from ...service import principal as principals
from ...service.errors import Refused
from ...service.state import AppState, Principal
from ..common import (LOGIN_COOKIE, SESSION_COOKIE, Form, LoginRequired, Me, PageError, St, capped, client, render,
                      safe_next)

STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}

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


PENDING_COOKIE = "riskgrade_pending"  # a sign-in waiting for its one-time code (path /login)
ENROL_COOKIE = "riskgrade_enrol"      # an administrator signed in only to enrol a second factor (path /account)


def _cookie(resp: Response, request: Request, name: str, value: str, max_age: int, path: str) -> None:
    resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", path=path,
                    secure=request.url.scheme == "https")


def _signed_in(request: Request, secret: str, next_url: str) -> Response:
    resp = RedirectResponse(safe_next(next_url or None), status_code=303)
    _cookie(resp, request, SESSION_COOKIE, secret, SESSION_HOURS * 3600, "/")
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    resp.delete_cookie(PENDING_COOKIE, path="/login")
    return resp


def _code_page(request: Request, error: str = "", status: int = 200, next_url: str = "") -> HTMLResponse:
    held = request.cookies.get(LOGIN_COOKIE, "")
    return render(request, "login_code.html", None, status=status, login_csrf=held, error=error,
                  next_url=safe_next(next_url or None))


async def _login_form(request: Request, fields: int) -> dict:
    await capped(request, 64 * 1024)
    form = await request.form(max_files=0, max_fields=fields)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(str(form.get("csrf", "")), cookie):
        raise PageError(403, "csrf")
    return dict(form)


@router.post("/login")
async def login(request: Request, st: St) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await _login_form(request, 10)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:256]
    next_url = str(form.get("next", ""))
    try:
        out = await run_in_threadpool(principals.begin_console, st, username, password, client(request, st))
    except Refused as e:
        return _login_page(request, e.key, e.status, username, next_url)
    if out.step == "code":  # the password was right: now the one-time code
        resp = _code_page(request, next_url=next_url)
        _cookie(resp, request, PENDING_COOKIE, out.secret, PENDING_MINUTES * 60, "/login")
        return resp
    if out.step == "enrol":  # an administrator without a second factor: only the enrolment page
        resp = RedirectResponse("/account/totp", status_code=303)
        _cookie(resp, request, ENROL_COOKIE, out.secret, ENROL_MINUTES * 60, "/account")
        resp.delete_cookie(LOGIN_COOKIE, path="/login")
        return resp
    return _signed_in(request, out.secret, next_url)


@router.post("/login/code")
async def login_code(request: Request, st: St) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await _login_form(request, 5)
    next_url = str(form.get("next", ""))
    try:
        out = await run_in_threadpool(principals.finish_console, st, request.cookies.get(PENDING_COOKIE, ""),
                                      str(form.get("code", ""))[:16], client(request, st))
    except Refused as e:
        if e.key == "login_expired":
            return _login_page(request, e.key, 401, "", next_url)
        return _code_page(request, e.key, e.status, next_url)
    return _signed_in(request, out.secret, next_url)


# --------------------------------------------------------------------------- two-factor enrolment
def _account(request: Request, st: AppState) -> tuple[Principal, str]:
    """The user of this page: a console session, or an administrator's enrol-only sign-in."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    me = principals.session_of(st, secret)
    if me is None:
        secret = request.cookies.get(ENROL_COOKIE, "")
        me = principals.pending_of(st, secret, "enrol")
    if me is None:
        raise LoginRequired("/account/totp" if request.method == "GET" else "", expired=False)
    return me, secret


def _totp_page(request: Request, me: Principal, offer: dict | None, error: str = "", notice: str = "",
               status: int = 200) -> HTMLResponse:
    full = me.token.kind == "session"
    if full:
        request.state.me = me
    return render(request, "totp.html", me if full else None, status=status, offer=offer, error=error,
                  notice=notice, enrolled=bool(me.user.totp_secret), enrol_only=not full, form_csrf=me.token.csrf)


@router.get("/account/totp")
def totp_form(request: Request, st: St) -> HTMLResponse:
    me, _ = _account(request, st)
    return _totp_page(request, me, None if me.user.totp_secret else principals.totp_offer(me))


@router.post("/account/totp")
async def totp_enrol(request: Request, st: St) -> Response:
    me, secret = _account(request, st)
    await capped(request, 64 * 1024)
    form = await request.form(max_files=0, max_fields=5)
    if not hmac.compare_digest(str(form.get("csrf", "")), me.token.csrf):
        raise PageError(403, "csrf")
    offered = str(form.get("secret", ""))[:64]
    try:
        new = principals.totp_confirm(st, me, offered, str(form.get("code", ""))[:16], client(request, st),
                                      via="console", current=secret)
    except Refused as e:
        offer = None if me.user.totp_secret else {"secret": offered, "uri": totp_uri(offered, me.user.username)
                                                  if offered.isalnum() else ""}
        return _totp_page(request, me, offer, error=e.key, status=e.status)
    if new is None:
        return _totp_page(request, me, None, notice="totp_done")
    resp = RedirectResponse("/", status_code=303)
    _cookie(resp, request, SESSION_COOKIE, new, SESSION_HOURS * 3600, "/")
    resp.delete_cookie(ENROL_COOKIE, path="/account")
    return resp


@router.post("/logout")
def logout(request: Request, me: Me, form: Form, st: St) -> Response:
    principals.sign_out(st, me, request.cookies.get(SESSION_COOKIE, ""), via="console")
    resp = RedirectResponse("/login?bye=1", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
