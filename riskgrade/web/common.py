"""What every console page shares: language, templates and formatters, the signed-in user (session cookie),
posted forms with their CSRF token, permissions, and the error pages.

Security, the same as the API's: every page but the login needs the console session (cookie
``riskgrade_session``: HttpOnly, SameSite=Strict, expiring after ``SESSION_HOURS``); every form
carries the session's CSRF token (the login form a double-submit token of its own); every page applies
the role's permissions and the user's region prefix (in the service).  Pages load nothing but this
server's ``/static/`` files under a CSP without ``unsafe-inline``: chart data travels in a JSON block.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse

from .. import __version__
from ..contract import GRADES
from ..service.errors import Refused
from ..service.principal import SESSION_COOKIE, session_of
from ..service.state import AppState, Principal
from ..render import ECHARTS_FILE, environment
from .i18n import LANGS, STRINGS
from .names import (DOMAINS, audit_action, domain_name, industry_label, info_items, label_name, num, pct,
                    region_name, section_name, source_name, stratum_name, user_name)

LANG_COOKIE = "riskgrade_lang"
LOGIN_COOKIE = "riskgrade_login"   # the login form's double-submit CSRF token
PAGE_SIZE = 20
MAX_UPLOAD_MB = 50
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "font-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
            "frame-ancestors 'none'")
NAV = (("dashboard", "/", "stats.read"), ("work_nav", "/work", "alerts.read"),
       ("search", "/entities", "entity.read"),
       ("alerts", "/alerts", "alerts.read|stats.read"), ("plans", "/plans", "plans.read"),
       ("quality", "/quality", "stats.read"), ("model", "/model", "stats.read"),
       ("users", "/admin/users", "users.manage"), ("audit", "/admin/audit", "audit.read"),
       ("sealed_nav", "/sealed", "plans.sealed"), ("rv_nav", "/reviews", "entity.read"))


# --------------------------------------------------------------------------- errors the pages raise
class LoginRequired(Exception):
    def __init__(self, next_url: str, expired: bool):
        super().__init__(next_url)
        self.next_url, self.expired = next_url, expired


class PageError(Exception):
    """An error page (403 forbidden / csrf, 404 not found, 503 busy) with a message key of :data:`STRINGS`."""

    def __init__(self, status: int, key: str, detail: str = "", **fields: Any):
        super().__init__(key)
        self.status, self.key, self.detail, self.fields = status, key, detail, fields


def page_error(e: Refused) -> PageError:
    """A service refusal as an error page with its own words when the console has them (a plan not yet approved,
    say), else forbidden, not found or busy (anything else: not found)."""
    known = e.key in ("busy", "not_found", "forbidden") or e.key in STRINGS["zh"]
    fields = {k: v for k, v in e.fields.items()
              if isinstance(v, (str, int, float)) and k not in ("status", "key", "detail")}
    try:
        STRINGS["zh"][e.key].format(**fields) if known else None
    except (KeyError, IndexError, ValueError):
        known = False  # its words need fields the refusal does not carry
    return PageError(e.status if e.status in (403, 404, 409, 503) else 422, e.key if known else "not_found",
                     **(fields if known else {}))


def message(request: Request, e: Refused) -> str:
    """A refusal in the page's language: its message key with its fields, else its English message."""
    t = texts(request)
    if e.key in t:
        return t[e.key].format(**{k: t.get(f"st_{v}", t.get(f"step_{v}", v)) if isinstance(v, str) else v
                                  for k, v in e.fields.items()})
    return e.message


# --------------------------------------------------------------------------- language, templates
def lang_of(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(LANG_COOKIE)
    return c if c in LANGS else "zh"


def texts(request: Request) -> dict[str, str]:
    return STRINGS[lang_of(request)]


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = environment("riskgrade.web")  # the one Jinja environment (riskgrade.render); the console's own formatters
    env.filters.update(num=num, pct=pct, region=region_name)
    env.globals.update(version=__version__, grades=GRADES, echarts_file=ECHARTS_FILE)
    return env


def json_block(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` data block (never executed, so no CSP hash needed)."""
    return json.dumps(data, ensure_ascii=False, default=str).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


def render(request: Request, template: str, me: Principal | None, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A page in the request's language, with the navigation the user's role allows."""
    lang = lang_of(request)
    t = STRINGS[lang]
    other = "en" if lang == "zh" else "zh"
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    nav = [(key, href) for key, href, perm in NAV if me is not None and me.can(perm)]
    html = _env().get_template(template).render(
        t=t, lang=lang, me=me, nav=nav, path=request.url.path, csrf=me.token.csrf if me else "",
        lang_url=request.url.path + "?" + urlencode({**query, "lang": other}),
        can=(lambda p: me is not None and me.can(p)), label_name=lambda c: label_name(c, lang),
        section_name=lambda s: section_name(s, lang), domain_name=lambda d: domain_name(d, lang),
        audit_action=lambda a: audit_action(a, lang), info_items=lambda i: info_items(i, lang),
        domain_choices=lambda: [(c, domain_name(c, lang)) for c in DOMAINS], domain_codes=DOMAINS,
        source_name=lambda x: source_name(x, lang), user_name=lambda u: user_name(u, lang),
        industry_label=lambda sc, code: industry_label(sc, code, lang), stratum_name=lambda k: stratum_name(k, lang),
        **ctx)
    resp = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP})
    if request.query_params.get("lang") in LANGS:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return resp


def error_page(request: Request, exc: PageError) -> HTMLResponse:
    return render(request, "error.html", getattr(request.state, "me", None), status=exc.status,
                  message=texts(request)[exc.key].format(**exc.fields), detail=exc.detail)


# --------------------------------------------------------------------------- the signed-in user
def state(request: Request) -> AppState:
    return request.app.state.rg


def _me(request: Request, st: Annotated[AppState, Depends(state)]) -> Principal:
    """The console's user, from the session cookie; anyone else is sent to the login page."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    me = session_of(st, cookie)
    if me is None:
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "", expired=bool(cookie))
    request.state.me = me
    return me


Me = Annotated[Principal, Depends(_me)]
St = Annotated[AppState, Depends(state)]


async def capped(request: Request, limit: int | None = None) -> None:
    """Read the request body counting its bytes as they stream: 413 as soon as it passes ``limit``, with or
    without a ``Content-Length`` (a chunked upload has none).  ``request.form()`` then parses what was read."""
    limit = MAX_UPLOAD_MB * 1024 * 1024 if limit is None else limit
    length = request.headers.get("content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
        raise PageError(413, "results_too_big", mb=MAX_UPLOAD_MB)
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise PageError(413, "results_too_big", mb=MAX_UPLOAD_MB)
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's cache of the body: request.form() reads it


async def _posted(request: Request, me: Me) -> dict:
    """The fields of a form posted with this session's CSRF token (403 without it), at most ``MAX_UPLOAD_MB``."""
    await capped(request)
    form = await request.form(max_files=1, max_fields=50)
    if not hmac.compare_digest(str(form.get("csrf", "")), me.token.csrf):
        raise PageError(403, "csrf")
    return dict(form)


Form = Annotated[dict, Depends(_posted)]


def need(me: Principal, permission: str) -> None:
    """The page's permission (``a|b``: either), or the forbidden page."""
    if not me.can(permission):
        raise PageError(403, "forbidden", permission)


def safe_next(url: str | None) -> str:
    if url and re.fullmatch(r"/(?![/\\])[A-Za-z0-9/_\-.?=&%+]*", url) and not url.startswith("/login"):
        return url
    return "/"


def small_int(v: Any, limit: int = 2**31) -> int | None:
    """A field or query value as a whole number in ``[0, limit)``: ASCII digits only (``str.isdigit`` takes
    ``²`` and other Unicode digits, which ``int`` refuses), at most 10 of them; None otherwise."""
    v = str(v if v is not None else "").strip()
    return int(v) if re.fullmatch(r"[0-9]{1,10}", v) and int(v) < limit else None


def page_number(p, limit: int = 100000) -> int:
    """The ``page`` query parameter (1 when absent or out of range)."""
    n = small_int(p.get("page"), limit)
    return n if n else 1


def client(request: Request, st: AppState) -> str:
    """The client's address: the peer, or ``X-Forwarded-For`` only from a configured trusted proxy."""
    return st.client(request.client.host if request.client else None, request.headers.get("x-forwarded-for"))


PlanId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # a plan id in a page's path (a larger one: 422, never a 500)
