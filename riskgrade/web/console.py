"""The web console (控制台): server-rendered pages over the registry, Chinese by default.

Pages: login, dashboard (grade shares and trend, migration, heat maps by area and industry), entity
search and profile (with a readable explanation of the grade and the entity's alerts), early-warning
alerts (预警: list with counts, detail with the disposition forms, via :mod:`riskgrade.api.alerts`),
inspection plans with a plan wizard and results upload, data quality, model report, and
administration (users, audit log).

Security, the same as the API's: every page but the login needs the console session (cookie
``riskgrade_session``: HttpOnly, SameSite=Strict, expiring after ``SESSION_HOURS``); every form
carries the session's CSRF token (the login form a double-submit token of its own); logins are
rate-limited (the API's :class:`~riskgrade.api.deps.RateLimiter`) and accounts lock after repeated
failures; every page applies the role's permissions and the user's region prefix, and views of
profiles, plans and exports are written to the audit chain.  Pages load nothing but this server's
``/static/`` files (vendored ECharts, ``console.css``, ``console.js``) under a CSP without
``unsafe-inline``: chart data travels in a JSON data block.  The standalone quality and model
reports are shown in a frame, each with a CSP naming the hashes of its own inline scripts.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import functools
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import and_, func, literal, or_, select

from .. import __version__
from ..api import alerts as alert_store
from ..api.deps import SESSION_COOKIE, AppState, Principal, record, state
from ..errors import RiskgradeError
from ..registry.models import ROLES, AuditEntry, Entity, Event, Grade, Plan, PlanEntity, Snapshot
from ..registry.users import (SESSION_HOURS, LoginFailed, add_user, authenticate, can, issue_token, list_users, mask,
                              resolve_token, revoke_token, update_user)
from .assets import ECHARTS_FILE
from .i18n import INSPECTION_EN, LABELS_EN, LANGS, OVERRIDES_EN, SECTIONS_EN, STRINGS

LANG_COOKIE = "riskgrade_lang"
LOGIN_COOKIE = "riskgrade_login"   # the login form's double-submit CSRF token
PAGE_SIZE = 20
MAX_UPLOAD_MB = 50
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "font-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
            "frame-ancestors 'none'")
GRADE_ORDER = ("A", "B", "C", "D", "E")
HIGH = ("C", "D", "E")
NAV = (("dashboard", "/", "stats.read"), ("search", "/entities", "entity.read"),
       ("alerts", "/alerts", "alerts.read|stats.read"), ("plans", "/plans", "plans.read"),
       ("quality", "/quality", "stats.read"), ("model", "/model", "stats.read"),
       ("users", "/admin/users", "users.manage"), ("audit", "/admin/audit", "audit.read"))
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


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


def mount(app: FastAPI) -> None:
    """Add the console's pages and static files to the service's application."""
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired):
        q = {"next": exc.next_url} if exc.next_url not in ("", "/") else {}
        if exc.expired:
            q["expired"] = "1"
        return RedirectResponse("/login" + ("?" + urlencode(q) if q else ""), status_code=303)

    @app.exception_handler(PageError)
    async def _error_page(request: Request, exc: PageError):
        return _page(request, "error.html", getattr(request.state, "me", None), status=exc.status,
                     message=_t(request)[exc.key].format(**exc.fields), detail=exc.detail)


# --------------------------------------------------------------------------- language, templates, names
def _lang(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(LANG_COOKIE)
    return c if c in LANGS else "zh"


def _t(request: Request) -> dict[str, str]:
    return STRINGS[_lang(request)]


def _num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "—"
    return f"{float(v):,.{digits}f}" if digits else f"{int(round(float(v))):,}"


def _pct(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{float(v) * 100:.{digits}f}%"


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("riskgrade.web", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(num=_num, pct=_pct, region=region_name)
    env.globals.update(version=__version__, grades=GRADE_ORDER, echarts_file=ECHARTS_FILE)
    return env


def region_name(code: str | None) -> str:
    from ..codes import regions

    if not code:
        return "—"
    full = code + "0" * (6 - len(code))
    return f"{code} {regions.name(full)}" if regions.table().get(full) else code


def section_name(section: str | None, lang: str) -> str:
    from ..codes.industries import section_name as zh

    if not section:
        return "—"
    return f"{section} {zh(section) if lang == 'zh' else SECTIONS_EN.get(section, '')}".strip()


def _section_of(industry_code: str | None) -> str | None:
    from ..codes.industries import DIVISION_SECTION

    digits = (industry_code or "").lstrip("ABCDEFGHIJKLMNOPQRST")
    return DIVISION_SECTION.get(digits[:2])


@functools.lru_cache(maxsize=1)
def _indicator_names() -> dict[str, tuple[str, str]]:
    from ..indicators import load_catalog
    from ..indicators.facts import ATTRIBUTES

    return {**ATTRIBUTES, **{i.code: (i.name_zh, i.name_en) for i in load_catalog().indicators}}


@functools.lru_cache(maxsize=1)
def _label_names() -> dict[str, str]:
    from ..scoring import load_labels

    return {x.code: x.name_zh for x in load_labels().labels}


@functools.lru_cache(maxsize=1)
def _override_names() -> dict[str, str]:
    from ..scoring import load_grading

    return {o.code: o.name_zh for o in load_grading().overrides}


def indicator_name(code: str, lang: str) -> str:
    zh, en = _indicator_names().get(code, (code, code))
    return zh if lang == "zh" else en


def label_name(code: str, lang: str) -> str:
    if code.startswith("industry_"):
        return ("行业门类：" if lang == "zh" else "Industry: ") + section_name(code[9:], lang)
    return (_label_names().get(code) if lang == "zh" else LABELS_EN.get(code)) or code


def _labels(text: str | None) -> list[str]:
    return [x for x in (text or "").split(";") if x]


def explain(grade: dict, lang: str) -> list[str]:
    """A readable explanation of a grade: what it is, what decided it, what raised the score, labels, change."""
    t = STRINGS[lang]
    out = [t["explain_head"].format(date=grade["as_of"].isoformat(), grade=t[f"grade_{grade['grade']}"],
                                    score=_num(grade["score"]))]
    rule = grade.get("grade_rule") or "score"
    if rule == "score":
        out.append(t["explain_rule_score"])
    elif rule == "industry_floor":
        out.append(t["explain_rule_floor"])
    else:
        name = (_override_names().get(rule) if lang == "zh" else OVERRIDES_EN.get(rule)) or rule
        out.append(t["explain_rule_override"].format(name=name))
    top = [r for r in grade["reasons"] if r["points"] > 0][:5]
    if top:
        out.append(t["explain_reasons"].format(items=t["item_sep"].join(
            t["points_fmt"].format(name=indicator_name(r["code"], lang), p=_num(r["points"], 1)) for r in top)))
    else:
        out.append(t["explain_no_reasons"])
    low = [r for r in grade.get("lowering", []) if r["points"] < 0][:5]
    if low:
        out.append(t["explain_lowering"].format(items=t["item_sep"].join(
            t["points_down_fmt"].format(name=indicator_name(r["code"], lang), p=_num(-r["points"], 1)) for r in low)))
    if grade["labels"]:
        out.append(t["explain_labels"].format(items=t["list_sep"].join(label_name(x, lang) for x in grade["labels"])))
    prev = grade.get("previous_grade")
    if not prev:
        out.append(t["explain_first"])
    elif prev == grade["grade"]:
        out.append(t["explain_same"].format(g=prev))
    else:
        up = GRADE_ORDER.index(grade["grade"]) > GRADE_ORDER.index(prev)
        out.append(t["explain_up" if up else "explain_down"].format(g=prev))
    return out


def _signed(v: float, exact: bool = False) -> str:
    """Points with their sign: +12.3, −4.0 (a true minus sign); ``exact``: to the hundredth, as stored."""
    return ("+" if v >= 0 else "\u2212") + (_exact(abs(v)) if exact else _num(abs(v), 1))


def _exact(v: float) -> str:
    """A score or sum as stored (to the hundredth), without trailing zeros: 1,000, 623.45, 120.5."""
    return f"{float(v):,.2f}".rstrip("0").rstrip(".")


def breakdown(grade: dict, lang: str) -> dict:
    """How a grade's score adds up, for the profile: the base, each contribution that raised the risk and
    each that lowered it (name, signed points, the fact behind it), and the sum line (base + points =
    score, or the sum clipped to 0..1000; without a recorded base, the points' sum only)."""
    t = STRINGS[lang]

    def row(r: dict) -> dict:
        name = indicator_name(r["code"], lang)
        if name == r["code"]:  # an indicator the built-in catalog does not name: its published name
            name = (r.get("name_zh") if lang == "zh" else r.get("name_en")) or r.get("name_zh") or t["unnamed_indicator"]
        return {"name": name, "points": t["points_signed"].format(p=_signed(r["points"])), "fact": r.get("fact") or ""}

    base, total, raw = grade["score_base"], grade["points_total"], grade["unclipped"]
    fields = {"total": _signed(total, exact=True), "score": _exact(grade["score"])}
    if base is None:
        line = t["sum_no_base"].format(**fields)
    else:
        fields.update(base=_exact(base), sum=_exact(raw))
        if abs(min(1000.0, max(0.0, raw)) - float(grade["score"])) > 0.011:  # the points do not add up: say so
            line = t["sum_mismatch"].format(**fields)
        else:
            line = t["sum_high" if raw > 1000 else "sum_low" if raw < 0 else "sum_line"].format(**fields)
    return {"base": None if base is None else _num(base, 1), "raising": [row(r) for r in grade["reasons"]],
            "lowering": [row(r) for r in grade["lowering"]], "sum": line}


def rule_label(rule: str | None, lang: str) -> str:
    """What decided a grade, by name: the score, the industry floor or a one-vote override."""
    t = STRINGS[lang]
    if not rule or rule == "score":
        return t["rule_by_score"]
    if rule == "industry_floor":
        return t["rule_by_floor"]
    return (_override_names().get(rule) if lang == "zh" else OVERRIDES_EN.get(rule)) or rule


# --------------------------------------------------------------------------- rendering and the signed-in user
def _page(request: Request, template: str, me: Principal | None, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    t = STRINGS[lang]
    other = "en" if lang == "zh" else "zh"
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    nav = [(key, href) for key, href, perm in NAV if me is not None and _can_any(me, perm)]
    html = _env().get_template(template).render(
        t=t, lang=lang, me=me, nav=nav, path=request.url.path, csrf=me.token.csrf if me else "",
        lang_url=request.url.path + "?" + urlencode({**query, "lang": other}),
        can=(lambda p: me is not None and can(me.user.role, p)), label_name=lambda c: label_name(c, lang),
        section_name=lambda s: section_name(s, lang), **ctx)
    resp = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP})
    if request.query_params.get("lang") in LANGS:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return resp


def _me(request: Request, st: Annotated[AppState, Depends(state)]) -> Principal:
    """The console's user, from the session cookie; anyone else is sent to the login page."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    found = resolve_token(st.factory, cookie) if cookie else None
    if found is None or found[1].kind != "session":
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "", expired=bool(cookie))
    me = Principal(found[0], found[1], "session")
    request.state.me = me
    return me


Me = Annotated[Principal, Depends(_me)]
St = Annotated[AppState, Depends(state)]


async def _posted(request: Request, me: Me) -> dict:
    """The fields of a form posted with this session's CSRF token (403 without it)."""
    length = request.headers.get("content-length") or "0"
    if not length.isdigit() or int(length) > MAX_UPLOAD_MB * 1024 * 1024:
        raise PageError(413, "results_too_big", mb=MAX_UPLOAD_MB)
    form = await request.form(max_files=1, max_fields=50)
    if not hmac.compare_digest(str(form.get("csrf", "")), me.token.csrf):
        raise PageError(403, "csrf")
    return dict(form)


Form = Annotated[dict, Depends(_posted)]


def _need(me: Principal, permission: str) -> None:
    if not _can_any(me, permission):
        raise PageError(403, "forbidden", permission)


def _can_any(me: Principal, permissions: str) -> bool:
    """``a|b``: either permission."""
    return any(can(me.user.role, p) for p in permissions.split("|"))


def _safe_next(url: str | None) -> str:
    if url and re.fullmatch(r"/(?![/\\])[A-Za-z0-9/_\-.?=&%+]*", url) and not url.startswith("/login"):
        return url
    return "/"


def _settings(st: AppState):
    from .. import settings

    return settings.load(st.home)


# --------------------------------------------------------------------------- static files
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


# --------------------------------------------------------------------------- login and logout
@router.get("/login")
def login_form(request: Request, st: St) -> HTMLResponse:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie and (found := resolve_token(st.factory, cookie)) and found[1].kind == "session":
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


def _login_page(request: Request, error: str = "", status: int = 200, username: str = "",
                next_url: str | None = None) -> HTMLResponse:
    held = request.cookies.get(LOGIN_COOKIE, "")
    token = held if re.fullmatch(r"[A-Za-z0-9_-]{32}", held) else secrets.token_urlsafe(24)  # one per browser
    notice = "login_expired" if request.query_params.get("expired") else (
        "logged_out" if request.query_params.get("bye") else "")
    resp = _page(request, "login.html", None, status=status, login_csrf=token, error=error, notice=notice,
                 username=username, next_url=_safe_next(next_url or request.query_params.get("next")))
    resp.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login",
                    secure=request.url.scheme == "https")
    return resp


@router.post("/login")
async def login(request: Request, st: St) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:256]
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(str(form.get("csrf", "")), cookie):
        raise PageError(403, "csrf")
    client = request.client.host if request.client else "?"
    if not st.limiter.allow(f"ip:{client}", f"user:{username}"):
        return _login_page(request, "login_rate_limited", 429, username, str(form.get("next", "")))
    try:
        from starlette.concurrency import run_in_threadpool

        user = await run_in_threadpool(authenticate, st.factory, username, password)
    except LoginFailed as e:
        record(st, username or "?", "login_failed", client, {"via": "console", "why": str(e)})
        return _login_page(request, "login_failed", 401, username, str(form.get("next", "")))
    secret, tok = issue_token(st.factory, user, "session")
    record(st, user.username, "login", client, {"via": "console"})
    resp = RedirectResponse(_safe_next(str(form.get("next", "")) or None), status_code=303)
    resp.set_cookie(SESSION_COOKIE, secret, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict", path="/",
                    secure=request.url.scheme == "https")
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, me: Me, form: Form, st: St) -> Response:
    revoke_token(st.factory, request.cookies.get(SESSION_COOKIE, ""))
    record(st, me, "logout", "", {"via": "console"})
    resp = RedirectResponse("/login?bye=1", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# --------------------------------------------------------------------------- dashboard
def _months(s) -> list[tuple[dt.date, int]]:
    """Published months, oldest first, with the current (newest) snapshot of each."""
    rows = s.execute(select(Snapshot.as_of, func.max(Snapshot.id)).group_by(Snapshot.as_of)
                     .order_by(Snapshot.as_of)).all()
    return [(a, i) for a, i in rows]


def _snapshot(s, as_of: str | None) -> Snapshot | None:
    q = select(Snapshot)
    if as_of:
        try:
            q = q.where(Snapshot.as_of == dt.date.fromisoformat(as_of))
        except ValueError:
            return None
    return s.execute(q.order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1)).scalar_one_or_none()


def _in_region(me: Principal, column) -> Any:
    return column.startswith(me.user.region_prefix)


@router.get("/")
def home(request: Request, me: Me) -> Response:
    if not can(me.user.role, "stats.read"):
        if can(me.user.role, "audit.read"):  # an auditor lands on the audit log
            return RedirectResponse("/admin/audit", status_code=303)
        first = next((href for key, href, perm in NAV if _can_any(me, perm)), None)
        if first:
            return RedirectResponse(first, status_code=303)
        return _page(request, "welcome.html", me)
    return _dashboard(request, me, request.app.state.rg)


def _dashboard(request: Request, me: Principal, st: AppState) -> HTMLResponse:
    lang = _lang(request)
    t = STRINGS[lang]
    prefix = me.user.region_prefix
    level = request.query_params.get("level") or ("city" if len(prefix) == 2 else "county")
    level = level if level in ("city", "county") else "city"
    width = 4 if level == "city" and len(prefix) < 4 else 6
    with st.factory() as s:
        months = _months(s)[-12:]
        if not months:
            return _page(request, "dashboard.html", me, snap=None)
        snap = s.get(Snapshot, months[-1][1])
        ids = [i for _, i in months]
        counts = s.execute(select(Grade.snapshot_id, Grade.grade, func.count(), func.avg(Grade.score))
                           .where(Grade.snapshot_id.in_(ids), _in_region(me, Grade.region_code))
                           .group_by(Grade.snapshot_id, Grade.grade)).all()
        migration = []
        if len(months) >= 2:
            a = select(Grade.uscc, Grade.grade).where(Grade.snapshot_id == months[-2][1],
                                                      _in_region(me, Grade.region_code)).subquery()
            b = select(Grade.uscc, Grade.grade).where(Grade.snapshot_id == months[-1][1],
                                                      _in_region(me, Grade.region_code)).subquery()
            migration = s.execute(select(a.c.grade, b.c.grade, func.count()).join(b, b.c.uscc == a.c.uscc)
                                  .group_by(a.c.grade, b.c.grade)).all()
        area = func.substr(Grade.region_code, 1, width)
        division = func.substr(Grade.industry_code, 1, 2)
        cells = s.execute(select(area, division, Grade.grade, func.count())
                          .where(Grade.snapshot_id == snap.id, _in_region(me, Grade.region_code))
                          .group_by(area, division, Grade.grade)).all()
    grades = [g for g in GRADE_ORDER if any(x[1] == g for x in counts)] or list(GRADE_ORDER[:4])
    by = {(sid, g): (n, m) for sid, g, n, m in counts}
    current = [(g, *by.get((snap.id, g), (0, None))) for g in grades]
    total = sum(n for _, n, _ in current)
    trend_totals = {sid: sum(by.get((sid, g), (0,))[0] for g in grades) for sid in ids}
    trend = {"months": [a.isoformat()[:7] for a, _ in months],
             "series": [{"grade": g, "label": t[f"grade_{g}"],
                         "values": [round(by.get((sid, g), (0,))[0] / trend_totals[sid], 4) if trend_totals[sid] else 0
                                    for sid in ids]} for g in grades]}
    mig = {(f, to): n for f, to, n in migration}
    heat_grade, heat_industry = _heat_maps(cells, grades, lang)
    data = {"shares": [{"grade": g, "label": t[f"grade_{g}"], "n": n} for g, n, _ in current], "trend": trend,
            "heat_grade": heat_grade, "heat_industry": heat_industry}
    return _page(request, "dashboard.html", me, snap=snap, total=total, current=current, grades=grades, mig=mig,
                 mig_from=months[-2][0] if len(months) > 1 else None, level=level, heat_grade=heat_grade,
                 heat_industry=heat_industry, trend=trend, chart_json=_json_block(data))


def _heat_maps(cells, grades: list[str], lang: str) -> tuple[dict, dict]:
    """(areas x grades: share of the area's entities; areas x industry sections: share of C/D/E)."""
    area_total: dict[str, int] = {}
    area_grade: dict[tuple[str, str], int] = {}
    sect: dict[tuple[str, str], list[int]] = {}
    for a, division, g, n in cells:
        area_total[a] = area_total.get(a, 0) + n
        area_grade[(a, g)] = area_grade.get((a, g), 0) + n
        sc = _section_of(division)
        if sc:
            tot_hi = sect.setdefault((a, sc), [0, 0])
            tot_hi[0] += n
            tot_hi[1] += n if g in HIGH else 0
    areas = sorted(area_total)
    names = [region_name(a) for a in areas]
    hg = {"x": grades, "y": names, "data": [[xi, yi, round(area_grade.get((a, g), 0) / area_total[a], 4),
                                             area_grade.get((a, g), 0)]
                                            for yi, a in enumerate(areas) for xi, g in enumerate(grades)]}
    hg["max"] = max((d[2] for d in hg["data"]), default=1) or 1
    sections = sorted({sc for _, sc in sect})
    hi = {"x": sections, "names": [section_name(sc, lang) for sc in sections], "codes": sections, "y": names,
          "data": [[xi, yi, round(sect[(a, sc)][1] / sect[(a, sc)][0], 4), sect[(a, sc)][0]]
                   for yi, a in enumerate(areas) for xi, sc in enumerate(sections) if (a, sc) in sect]}
    hi["max"] = max((d[2] for d in hi["data"]), default=1) or 1
    return hg, hi


def _json_block(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` data block (never executed, so no CSP hash needed)."""
    return json.dumps(data, ensure_ascii=False, default=str).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


# --------------------------------------------------------------------------- search and profile
@router.get("/entities")
def search(request: Request, me: Me, st: St) -> HTMLResponse:
    _need(me, "entity.read")
    p = request.query_params
    q = (p.get("q") or "").strip()[:100]
    region = p.get("region") or ""
    industry = p.get("industry") or ""
    grade = p.get("grade") or ""
    label = p.get("label") or ""
    page = int(p.get("page")) if (p.get("page") or "").isdigit() and 0 < int(p.get("page")) < 100000 else 1
    with st.factory() as s:
        snap = _snapshot(s, None)
        regions = s.execute(select(Entity.region_code).where(_in_region(me, Entity.region_code)).distinct()
                            .order_by(Entity.region_code)).scalars().all()
        conds = [_in_region(me, Entity.region_code)]
        if re.fullmatch(r"\d{2,6}", region):
            conds.append(Entity.region_code.startswith(region))
        if q:
            conds.append(or_(Entity.name.contains(q), Entity.uscc.startswith(q.upper())))
        if re.fullmatch(r"[A-T]", industry):
            conds.append(Entity.industry_section == industry)
        stmt = select(Entity, Grade).outerjoin(Grade, and_(Grade.uscc == Entity.uscc,
                                                           Grade.snapshot_id == (snap.id if snap else -1)))
        if grade in GRADE_ORDER:
            conds.append(Grade.grade == grade)
        if re.fullmatch(r"[a-z0-9_]{1,64}", label):
            conds.append((literal(";") + func.coalesce(Grade.labels, "") + literal(";")).contains(f";{label};"))
        stmt = stmt.where(*conds)
        total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = s.execute(stmt.order_by(Entity.uscc).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    pages = max(1, -(-total // PAGE_SIZE))
    filters = {k: v for k, v in (("q", q), ("region", region), ("industry", industry), ("grade", grade),
                                 ("label", label)) if v}
    record(st, me, "search", "", {**filters, "page": page, "results": len(rows), "via": "console"})
    label_codes = [c for c in _label_names() if "{" not in c]
    return _page(request, "search.html", me, snap=snap, rows=rows, total=total, page=page, pages=pages, f=filters,
                 regions=regions, label_codes=label_codes, sections=sorted(SECTIONS_EN),
                 page_url=lambda n: "/entities?" + urlencode({**filters, "page": n}))


@router.get("/entities/{uscc}")
def profile(request: Request, uscc: str, me: Me, st: St) -> HTMLResponse:
    from ..api.app import explanation as explain_grade
    from ..registry.publish import check_row

    _need(me, "entity.read")
    lang = _lang(request)
    if not re.fullmatch(r"[0-9A-Za-z]{18}", uscc):
        raise PageError(404, "not_found")
    with st.factory() as s:
        e = s.get(Entity, uscc.upper())
        if e is None or not me.scope(e.region_code):
            raise PageError(404, "not_found")
        hist = s.execute(select(Grade, Snapshot.as_of).join(Snapshot, Snapshot.id == Grade.snapshot_id)
                         .where(Grade.uscc == e.uscc).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())).all()
        events = s.execute(select(Event).where(Event.uscc == e.uscc)
                           .order_by(Event.event_date.desc(), Event.id.desc()).limit(300)).scalars().all()
        plans = s.execute(select(PlanEntity, Plan).join(Plan, Plan.id == PlanEntity.plan_id)
                          .where(PlanEntity.uscc == e.uscc).order_by(Plan.as_of.desc())).all()
    seen, grades, broken = set(), [], []
    for g, as_of in hist:
        if as_of in seen:
            continue
        seen.add(as_of)
        ok = check_row(st.key, as_of, g)
        if not ok:
            broken.append(as_of.isoformat())
        x = explain_grade(g)
        grades.append({"as_of": as_of, "grade": g.grade, "score": g.score, "previous_grade": g.previous_grade,
                       "grade_rule": g.grade_rule, "labels": _labels(g.labels), "sealed": ok,
                       "reasons": x["reasons"], "lowering": x["lowering"], "score_base": x["score_base"],
                       "points_total": x["total"], "unclipped": x["unclipped"]})
    pii = can(me.user.role, "pii.read")
    alerts = (alert_store.entity_alerts(st.home, alert_store.viewer_of(me.user), e.uscc)
              if can(me.user.role, "alerts.read") else None)
    record(st, me, "view_profile", e.uscc, {"grades_shown": len(grades), "via": "console",
                                            "alerts_shown": None if alerts is None else len(alerts)})
    if broken:
        record(st, "system", "integrity_failure", e.uscc, {"months": broken})
    current = grades[0] if grades else None
    score_data = {"months": [g["as_of"].isoformat()[:7] for g in reversed(grades)],
                  "scores": [round(g["score"], 1) for g in reversed(grades)],
                  "grades": [g["grade"] for g in reversed(grades)]}
    event_names = _event_names(lang)
    return _page(request, "profile.html", me, e=e, current=current, grades=grades, events=events, plans=plans,
                 explanation=explain(current, lang) if current else [], pii=pii,
                 breakdown=breakdown(current, lang) if current else None, rule_label=lambda r: rule_label(r, lang),
                 legal_rep=e.legal_rep_id if pii else mask(e.legal_rep_id),
                 phone=e.phone_id if pii else mask(e.phone_id),
                 indicator=lambda c: indicator_name(c, lang), event_name=lambda c: event_names.get(c, c),
                 detail_name=lambda typ, d: _detail_name(typ, d, lang), chart_json=_json_block({"score": score_data}),
                 alerts=alerts, alerts_readable=can(me.user.role, "alerts.read"),
                 rule_name=lambda code, zh: rule_name(code, zh, lang))


def _event_names(lang: str) -> dict[str, str]:
    from ..contract import EVENT_TYPE_NAMES_ZH

    return EVENT_TYPE_NAMES_ZH if lang == "zh" else {k: k.replace("_", " ") for k in EVENT_TYPE_NAMES_ZH}


def _detail_name(event_type: str, detail: str | None, lang: str) -> str:
    from ..indicators.facts import detail_name

    if lang == "zh":
        return detail_name(event_type, detail)  # the Chinese word of a detail code (the facts use the same)
    if event_type == "inspection" and detail:
        return INSPECTION_EN.get(detail, detail)
    return detail or ""


# --------------------------------------------------------------------------- early warning (预警)
@functools.lru_cache(maxsize=1)
def _rule_names_en() -> dict[str, str]:
    from ..warning import load_rules

    return {r.code: r.name_en for r in load_rules().rules}


def rule_name(code: str, name_zh: str | None, lang: str) -> str:
    """A rule's name: as the alert carries it (Chinese), or the catalog's English name."""
    if lang == "zh":
        return name_zh or code
    return _rule_names_en().get(code) or name_zh or code


def _alert_filters(p) -> tuple[alert_store.Filters, dict]:
    """The alerts page's filters from the query string (unknown values are ignored)."""
    def day(k: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(p.get(k) or "")
        except ValueError:
            return None

    f = alert_store.Filters(
        status=p.get("status") if p.get("status") in alert_store.STATUSES else None,
        rule=p.get("rule") if re.fullmatch(r"[a-z][a-z0-9_]{0,63}", p.get("rule") or "") else None,
        severity=p.get("severity") if p.get("severity") in alert_store.SEVERITIES else None,
        unit=(p.get("unit") or "").strip()[:100] or None,
        region=p.get("region") if re.fullmatch(r"\d{2,6}", p.get("region") or "") else None,
        raised_from=day("from"), raised_to=day("to"))
    shown = {k: v for k, v in (("status", f.status), ("rule", f.rule), ("severity", f.severity), ("unit", f.unit),
                               ("region", f.region),
                               ("from", f.raised_from.isoformat() if f.raised_from else None),
                               ("to", f.raised_to.isoformat() if f.raised_to else None)) if v}
    return f, shown


def _alert_page_error(e: alert_store.AlertError) -> PageError:
    return PageError(e.status if e.status in (403, 404, 503) else 422, e.key if e.key in ("busy", "not_found",
                                                                                         "forbidden") else "not_found")


@router.get("/alerts")
def alerts_page(request: Request, me: Me, st: St) -> HTMLResponse:
    _need(me, "alerts.read|stats.read")
    p = request.query_params
    page = int(p.get("page")) if (p.get("page") or "").isdigit() and 0 < int(p.get("page")) < 100000 else 1
    f, shown = _alert_filters(p)
    listing = can(me.user.role, "alerts.read")
    v = alert_store.viewer_of(me.user)
    try:
        with alert_store.store(st.home) as wh:
            if listing:
                res = alert_store.list_alerts(wh.con, v, f, page, PAGE_SIZE)
                rules = alert_store.rules_seen(wh.con, v)
                totals = None
            else:
                res, rules = None, []
                totals = alert_store.counts(wh.con, me.user.region_prefix, f)
    except alert_store.AlertError as e:
        raise _alert_page_error(e) from None
    if listing:
        record(st, me, "list_alerts", "", {**f.describe(), "page": page, "results": len(res.items), "via": "console"})
    url = (lambda **kw: "/alerts?" + urlencode({k: v for k, v in {**shown, **kw}.items() if v}))
    total = res.total if res else totals.total
    return _page(request, "alerts.html", me, res=res, totals=totals, rules=rules, f=shown, page=page,
                 pages=max(1, -(-total // PAGE_SIZE)), total=total, url=url, statuses=alert_store.STATUSES,
                 severities=alert_store.SEVERITIES, page_url=lambda n: url(page=n),
                 rule_name=lambda code, zh: rule_name(code, zh, _lang(request)))


def _alert_view(request: Request, me: Principal, st: AppState, alert_id: str, *, errors: list[str] | None = None,
                done: str = "", status: int = 200, form: dict | None = None) -> HTMLResponse:
    if not re.fullmatch(r"[0-9a-f]{16}", alert_id):
        raise PageError(404, "not_found")
    v = alert_store.viewer_of(me.user)
    try:
        with alert_store.store(st.home) as wh:
            d = alert_store.detail(wh.con, v, alert_id)
            tasks = alert_store.tasks_in_scope(wh.con, me.user.region_prefix) if can(me.user.role, "alerts.target") \
                else []
    except alert_store.AlertError as e:
        raise _alert_page_error(e) from None
    record(st, me, "view_alert", alert_id, {"rule": d["rule"], "members_shown": d["members_in_region"],
                                            "evidence_shown": len(d["evidence"]), "via": "console"})
    lang = _lang(request)
    event_names = _event_names(lang)
    return _page(request, "alert.html", me, status=status, a=d, tasks=tasks, errors=errors or [], done=done,
                 v=form or {}, rule_name=lambda code, zh: rule_name(code, zh, lang),
                 event_name=lambda c: event_names.get(c, c), detail_name=lambda typ, x: _detail_name(typ, x, lang),
                 log_text=lambda e: _log_text(e, lang))


def _log_text(entry: dict, lang: str) -> str:
    """One step of the alert log in words: from -> to, to whom, how, the note."""
    t = STRINGS[lang]
    d = entry.get("detail") or {}
    parts = []
    if d.get("from") and d.get("to"):
        parts.append(t["log_from_to"].format(a=t.get("st_" + d["from"], d["from"]), b=t.get("st_" + d["to"], d["to"])))
    if d.get("assignee"):
        parts.append(f"{t['assignee']}：{d['assignee']}" if lang == "zh" else f"{t['assignee']}: {d['assignee']}")
    if d.get("action"):
        parts.append(t.get("disp_" + d["action"], d["action"]))
    if d.get("task"):
        parts.append(t["log_task"].format(id=d["task"], n=d.get("entities", 0)))
    if entry.get("action") in ("raise", "extend"):
        parts.append(t["log_raise"].format(members=d.get("members", ""), unit=d.get("unit", "")))
    if d.get("note"):
        parts.append(("备注：" if lang == "zh" else "note: ") + str(d["note"]))
    return t["item_sep"].join(str(x) for x in parts)


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: str, me: Me, st: St) -> HTMLResponse:
    _need(me, "alerts.read")
    done = request.query_params.get("done") or ""
    return _alert_view(request, me, st, alert_id, done=done if done in alert_store.STEPS else "")


@router.post("/alerts/{alert_id}/{op}")
def alert_step(request: Request, alert_id: str, op: str, me: Me, form: Form, st: St) -> Response:
    if op not in alert_store.STEPS:
        raise PageError(404, "not_found")
    _need(me, "alerts.target" if op == "target" else "alerts.write")
    t = _t(request)
    fields = {k: str(form.get(k, "")).strip() for k in ("to", "action", "note", "task", "reason")}
    task = int(fields["task"]) if fields["task"].isdigit() and int(fields["task"]) < 2**31 else None
    try:
        alert_store.perform(st, me.user, alert_id if re.fullmatch(r"[0-9a-f]{16}", alert_id) else "-", op,
                            to=fields["to"][:128], action=fields["action"], note=fields["note"][:1000], task_id=task,
                            reason=fields["reason"][:500], via="console")
    except alert_store.AlertError as e:
        if e.status in (404, 503) and e.key in ("not_found", "busy"):
            raise _alert_page_error(e) from None
        msg = t[e.key].format(**{k: t.get(f"st_{v}", t.get(f"step_{v}", v)) for k, v in e.fields.items()}) \
            if e.key in t else e.message
        return _alert_view(request, me, st, alert_id, errors=[msg], status=e.status, form={**fields, "op": op})
    return RedirectResponse(f"/alerts/{alert_id}?done={op}", status_code=303)


# --------------------------------------------------------------------------- plans
@router.get("/plans")
def plans(request: Request, me: Me, st: St) -> HTMLResponse:
    _need(me, "plans.read")
    with st.factory() as s:
        rows = s.execute(select(Plan, func.count(PlanEntity.uscc)).outerjoin(
            PlanEntity, and_(PlanEntity.plan_id == Plan.id, _in_region(me, PlanEntity.region_code)))
            .group_by(Plan.id).order_by(Plan.id.desc())).all()
    return _page(request, "plans.html", me, rows=rows)


@router.get("/plans/new")
def plan_wizard(request: Request, me: Me, st: St) -> HTMLResponse:
    _need(me, "plans.write")
    return _wizard(request, me, st, {"seed": dt.date.today().strftime("%Y%m%d")}, step=1)


def _tasks(st: AppState, me: Principal) -> list:
    """Inspection tasks whose scope lies within the user's region."""
    from ..inspection.store import has_table
    from ..inspection.tasks import list_tasks
    from ..warehouse import Warehouse

    try:
        with Warehouse(st.home, lock_timeout=_settings(st).lock_timeout) as wh:
            tasks = list_tasks(wh.con) if has_table(wh.con, "tasks") else []
    except RiskgradeError as e:
        raise PageError(503, "busy", str(e)) from None
    return [x for x in tasks if _task_allowed(me, x.region_prefix)]


def _task_allowed(me: Principal, task_region: str) -> bool:
    mine = me.user.region_prefix
    return task_region.startswith(mine) or (not task_region and len(mine) == 2)


def _wizard(request: Request, me: Principal, st: AppState, v: dict, step: int, errors: list[str] | None = None,
            population: tuple[str, list] | None = None, status: int = 200) -> HTMLResponse:
    from ..inspection.config import load_sampling

    with st.factory() as s:
        months = [a for a, _ in reversed(_months(s))]
    mode, rows = population or ("four", [])
    ratios = load_sampling().ratios.get(mode, {})
    return _page(request, "plan_new.html", me, status=status, v=v, step=step, errors=errors or [], months=months,
                 tasks=_tasks(st, me), population=[(g, n, ratios.get(g)) for g, n in rows],
                 general_ok=len(me.user.region_prefix) == 2)


def _wizard_values(form: dict, me: Principal, st: AppState, t: dict) -> tuple[dict, list[str], Any]:
    """Validated wizard fields, error messages, and the task (an existing one, a new one, or None: general)."""
    from ..inspection.tasks import Task

    v = {k: str(form.get(k, "")).strip() for k in ("as_of", "task", "budget", "seed", "new_name", "new_domain",
                                                   "new_region", "new_industry")}
    v["optimise"] = bool(form.get("optimise"))
    errors = []
    with st.factory() as s:
        months = {a.isoformat() for a, _ in _months(s)}
    if v["as_of"] not in months:
        errors.append(t["invalid_month"])
    if v["budget"] and not (v["budget"].isdigit() and int(v["budget"]) <= 10_000_000):
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
    elif v["task"].isdigit():
        task = next((x for x in _tasks(st, me) if x.task_id == int(v["task"])), None)
        if task is None:
            errors.append(t["task_out_of_scope"])
    if task is not None and not errors and not _task_allowed(me, task.region_prefix):
        errors.append(t["task_out_of_scope"])
    if task is None and v["task"] in ("", "general") and len(me.user.region_prefix) != 2:
        errors.append(t["task_out_of_scope"])
    return v, errors, task


def _population(st: AppState, me: Principal, as_of: str, task) -> tuple[str, list[tuple[str, int]]]:
    """The month's grade mode and its graded entities in the task's scope (and the user's region), by grade."""
    from ..codes.industries import DIVISION_SECTION

    with st.factory() as s:
        snap = _snapshot(s, as_of)
        conds = [Grade.snapshot_id == (snap.id if snap else -1), _in_region(me, Grade.region_code)]
        if task is not None:
            if task.region_prefix:
                conds.append(Grade.region_code.startswith(task.region_prefix))
            ind = task.industry_prefix
            if ind[:1].isalpha():
                conds.append(or_(*[Grade.industry_code.startswith(d) for d, sc in DIVISION_SECTION.items()
                                   if sc == ind[0]]))
                ind = ind[1:]
            if ind:
                conds.append(Grade.industry_code.startswith(ind))
            if task.entity_types:
                conds.append(Grade.entity_type.in_(task.entity_types))
        rows = s.execute(select(Grade.grade, func.count()).where(*conds).group_by(Grade.grade)
                         .order_by(Grade.grade)).all()
    return (snap.grade_mode if snap else "four"), [(g, n) for g, n in rows]


@router.post("/plans/new")
def plan_create(request: Request, me: Me, form: Form, st: St) -> Response:
    from ..inspection.plan import make_plan
    from ..inspection.tasks import create_task
    from ..registry.publish import publish_plan
    from ..warehouse import Warehouse

    _need(me, "plans.write")
    t = _t(request)
    v, errors, task = _wizard_values(form, me, st, t)
    if errors:
        return _wizard(request, me, st, v, step=1, errors=errors, status=422)
    if form.get("step") == "edit":
        return _wizard(request, me, st, v, step=1)
    population = _population(st, me, v["as_of"], task)
    if form.get("step") != "create":
        return _wizard(request, me, st, v, step=3, population=population)
    cfg = _settings(st)
    as_of = dt.date.fromisoformat(v["as_of"])
    try:
        if task is not None and task.task_id is None:
            with Warehouse(st.home, write=True, lock_timeout=cfg.lock_timeout) as wh, wh.transaction():
                task = create_task(wh.con, task)
            record(st, me, "task_create", str(task.task_id), {**task.describe(), "via": "console"})
        out = make_plan(st.home, as_of, seed=v["seed"], budget=int(v["budget"]) if v["budget"] else None,
                        task_id=task.task_id if task is not None else None, optimise=v["optimise"],
                        memory_limit=cfg.memory_limit, threads=cfg.threads, lock_timeout=cfg.lock_timeout)
        publish_plan(st.home, st.factory, out.plan_id, lock_timeout=cfg.lock_timeout)
    except RiskgradeError as e:
        return _wizard(request, me, st, v, step=3, errors=[str(e)], population=population, status=422)
    record(st, me, "plan_create", str(out.plan_id), {"as_of": v["as_of"], "seed": v["seed"], "budget": v["budget"],
                                                     "task": out.task.name, "drawn": out.rows,
                                                     "content_hash": out.content_hash, "via": "console"})
    return RedirectResponse(f"/plans/{out.plan_id}?created=1", status_code=303)


@router.get("/plans/{plan_id}")
def plan_detail(request: Request, plan_id: int, me: Me, st: St) -> HTMLResponse:
    _need(me, "plans.read")
    p = request.query_params
    page = int(p.get("page")) if (p.get("page") or "").isdigit() and int(p.get("page")) > 0 else 1
    with st.factory() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise PageError(404, "not_found")
        scope = and_(PlanEntity.plan_id == plan_id, _in_region(me, PlanEntity.region_code))
        total = s.execute(select(func.count()).select_from(PlanEntity).where(scope)).scalar_one()
        rows = s.execute(select(PlanEntity, Entity.name).outerjoin(Entity, Entity.uscc == PlanEntity.uscc)
                         .where(scope).order_by(PlanEntity.uscc).offset((page - 1) * 50).limit(50)).all()
    record(st, me, "view_plan", str(plan_id), {"entities": total, "page": page, "via": "console"})
    return _page(request, "plan.html", me, plan=plan, rows=rows, total=total, page=page,
                 pages=max(1, -(-total // 50)), created=bool(p.get("created")), m=plan.manifest or {},
                 page_url=lambda n: f"/plans/{plan_id}?page={n}")


# --------------------------------------------------------------------------- results upload
@router.get("/plans/{plan_id}/results")
def results_form(request: Request, plan_id: int, me: Me, st: St) -> HTMLResponse:
    _need(me, "results.write")
    return _page(request, "results.html", me, plan=_plan_or_404(st, plan_id), errors=[], outcome=None)


def _plan_or_404(st: AppState, plan_id: int) -> Plan:
    with st.factory() as s:
        plan = s.get(Plan, plan_id)
    if plan is None:
        raise PageError(404, "not_found")
    return plan


def _check_results(data: bytes, plan_id: int, me: Principal, st: AppState, t: dict) -> list[str]:
    """A results file may hold inspection results of the plan's entities in the user's region only (as the API)."""
    from .. import contract

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as e:
            return [t["results_bad_csv"].format(why=e.reason)]
    rows = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(rows, [])]
    want = {}
    for col in ("uscc", "event_type"):
        names = {col} | {a.lower() for a in contract.EVENTS.column(col).aliases}
        want[col] = next((i for i, h in enumerate(header) if h in names), None)
    missing = [c for c, i in want.items() if i is None]
    if missing:
        return [t["results_missing_cols"].format(cols=", ".join(missing))]
    types = contract.vocabulary_map("event_type")
    usccs: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not any(x.strip() for x in row):
            continue
        cell = (lambda i: row[i].strip() if i < len(row) else "")
        kind = cell(want["event_type"])
        if types.get(kind.lower()) != "inspection":
            return [t["results_not_inspection"].format(line=line, v=kind[:40])]
        usccs.setdefault(cell(want["uscc"]).upper(), line)
    with st.factory() as s:
        planned = dict(s.execute(select(PlanEntity.uscc, PlanEntity.region_code)
                                 .where(PlanEntity.plan_id == plan_id)).all())
    for u, line in usccs.items():
        if not me.scope(planned.get(u)):
            return [t["results_out_of_scope"].format(line=line, uscc=u[:18])]
    return []


@router.post("/plans/{plan_id}/results")
async def results_upload(request: Request, plan_id: int, me: Me, form: Form, st: St) -> HTMLResponse:
    from starlette.concurrency import run_in_threadpool

    _need(me, "results.write")
    t = _t(request)
    plan = _plan_or_404(st, plan_id)
    upload = form.get("file")
    data = await upload.read() if hasattr(upload, "read") else b""
    errors = [t["results_empty"]] if not data else await run_in_threadpool(_check_results, data, plan_id, me, st, t)
    if errors:
        return _page(request, "results.html", me, plan=plan, errors=errors, outcome=None, status=422)
    outcome = await run_in_threadpool(_import_results, st, plan_id, data, me.user.username)
    if isinstance(outcome, str):
        return _page(request, "results.html", me, plan=plan, errors=[outcome], outcome=None, status=422)
    record(st, me, "results_upload", str(plan_id), {"file": outcome["file"], "upload": getattr(upload, "filename", ""),
                                                    "read": outcome["read"], "linked": outcome["linked"],
                                                    "via": "console"})
    return _page(request, "results.html", me, plan=plan, errors=[], outcome=outcome)


def _import_results(st: AppState, plan_id: int, data: bytes, username: str) -> dict | str:
    """Keep the upload in ``<home>/uploads`` (as the API does), ingest it and link it to the plan."""
    from ..inspection.results import import_results

    cfg = _settings(st)
    folder = st.home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"plan{plan_id}-{dt.datetime.now():%Y%m%d%H%M%S}-{username}-results.csv"
    path.write_bytes(data)
    try:
        r = import_results(st.home, path, plan_id, memory_limit=cfg.memory_limit, threads=cfg.threads,
                           lock_timeout=cfg.lock_timeout)
    except RiskgradeError as e:
        return str(e)
    ev = (r.delivery or {}).get("tables", {}).get("events", {})
    return {"read": ev.get("read", 0), "accepted": ev.get("accepted", 0), "merged": ev.get("merged", 0),
            "quarantined": ev.get("quarantined", 0), "linked": r.linked, "with_result": r.with_result,
            "planned": r.planned, "file": path.name}


# --------------------------------------------------------------------------- data quality and model report
_quality_cache: dict[str, tuple[float, dict]] = {}
_quality_lock = threading.Lock()


def _quality(st: AppState) -> dict:
    """The warehouse's quality measures, computed again only when the store file has changed."""
    from .. import quality
    from ..warehouse import STORE_FILE, Warehouse

    store = st.home / STORE_FILE
    stamp = store.stat().st_mtime if store.exists() else 0.0
    with _quality_lock:
        hit = _quality_cache.get(str(st.home))
        if hit and hit[0] == stamp:
            return hit[1]
    try:
        with Warehouse(st.home, lock_timeout=_settings(st).lock_timeout) as wh:
            m = quality.measure(wh.con)
    except RiskgradeError as e:
        raise PageError(503, "busy", str(e)) from None
    with _quality_lock:
        _quality_cache[str(st.home)] = (stamp, m)
    return m


@router.get("/quality")
def quality_page(request: Request, me: Me, st: St) -> HTMLResponse:
    _need(me, "stats.read")
    return _page(request, "quality.html", me, m=_quality(st))


def _report(html: str) -> HTMLResponse:
    """A standalone report for the console's frame: its inline scripts allowed by hash, nothing else."""
    hashes = []
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        if "application/json" not in attrs:
            hashes.append("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'")
    csp = (f"default-src 'none'; script-src {' '.join(hashes) or chr(39) + 'none' + chr(39)}; "
           "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
    return HTMLResponse(html, headers={"Content-Security-Policy": csp, "X-Frame-Options": "SAMEORIGIN"})


@router.get("/quality/report")
def quality_report(request: Request, me: Me, st: St) -> HTMLResponse:
    from .. import quality

    _need(me, "stats.read")
    return _report(quality.render_html(_quality(st), _lang(request)))


def _model(st: AppState, as_of: str | None) -> tuple[Snapshot | None, Path | None]:
    with st.factory() as s:
        snap = _snapshot(s, as_of)
    if snap is None or snap.model != "trained":
        return snap, None
    path = st.home / "models" / f"{snap.model_version}.json"
    return snap, path if re.fullmatch(r"[A-Za-z0-9_.-]+", snap.model_version or "") and path.is_file() else None


@router.get("/model")
def model_page(request: Request, me: Me, st: St) -> HTMLResponse:
    _need(me, "stats.read")
    as_of = request.query_params.get("as_of")
    snap, path = _model(st, as_of)
    with st.factory() as s:
        months = [a for a, _ in reversed(_months(s))]
    return _page(request, "model.html", me, snap=snap, has_report=path is not None, months=months,
                 as_of=snap.as_of.isoformat() if snap else "")


@router.get("/model/report")
def model_report(request: Request, me: Me, st: St) -> HTMLResponse:
    from ..scoring.report import render_model_report

    _need(me, "stats.read")
    lang = _lang(request)
    snap, path = _model(st, request.query_params.get("as_of"))
    if path is None:
        raise PageError(404, "not_found")
    names = {c: (zh if lang == "zh" else en) for c, (zh, en) in _indicator_names().items()}
    names["entity_type"] = "主体类型" if lang == "zh" else "entity type"
    try:
        html = render_model_report(json.loads(path.read_text(encoding="utf-8")), lang, names)
    except RiskgradeError as e:
        raise PageError(404, "not_found", str(e)) from None
    return _report(html)


# --------------------------------------------------------------------------- administration
@router.get("/admin/users")
def users_page(request: Request, me: Me, st: St) -> HTMLResponse:
    _need(me, "users.manage")
    return _users(request, me, st)


def _users(request: Request, me: Principal, st: AppState, errors: list[str] | None = None, notice: str = "",
           v: dict | None = None, status: int = 200) -> HTMLResponse:
    users = [u for u in list_users(st.factory) if u.region_prefix.startswith(me.user.region_prefix)]
    return _page(request, "users.html", me, users=users, roles=ROLES, errors=errors or [], notice=notice, v=v or {},
                 status=status)


@router.post("/admin/users")
def user_add(request: Request, me: Me, form: Form, st: St) -> HTMLResponse:
    _need(me, "users.manage")
    t = _t(request)
    v = {k: str(form.get(k, "")).strip() for k in ("username", "display_name", "role", "region", "department")}
    if not v["region"].startswith(me.user.region_prefix):
        return _users(request, me, st, [t["outside_region"]], v=v, status=422)
    try:
        u = add_user(st.factory, v["username"], str(form.get("password", "")), v["role"], v["region"],
                     v["display_name"], v["department"] or None)
    except RiskgradeError as e:
        return _users(request, me, st, [str(e)], v=v, status=422)
    record(st, me, "user_add", u.username, {"role": u.role, "region": u.region_prefix, "via": "console",
                                            **({"department": u.department} if u.department else {})})
    return _users(request, me, st, notice=t["user_added"].format(u=u.username))


@router.post("/admin/users/{username}/state")
def user_state(request: Request, username: str, me: Me, form: Form, st: St) -> HTMLResponse:
    _need(me, "users.manage")
    t = _t(request)
    target = next((u for u in list_users(st.factory) if u.username == username), None)
    if target is None or not target.region_prefix.startswith(me.user.region_prefix):
        return _users(request, me, st, [t["outside_region"]], status=403)
    disable = form.get("action") == "disable"
    if disable and target.id == me.user.id:
        return _users(request, me, st, [t["cannot_disable_self"]], status=422)
    update_user(st.factory, username, disabled=disable)
    record(st, me, "user_disable" if disable else "user_enable", username, {"via": "console"})
    return _users(request, me, st, notice=t["user_changed"].format(u=username))


@router.get("/admin/audit")
def audit_page(request: Request, me: Me, st: St) -> HTMLResponse:
    from ..registry.audit import verify

    _need(me, "audit.read")
    p = request.query_params
    page = int(p.get("page")) if (p.get("page") or "").isdigit() and int(p.get("page")) > 0 else 1
    verdict = None
    if p.get("verify"):
        verdict = verify(st.factory)
        record(st, me, "audit_verify", "", {"ok": verdict.ok, "via": "console"})
    with st.factory() as s:
        total = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        rows = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).offset((page - 1) * 50).limit(50)
                         ).scalars().all()
    return _page(request, "audit.html", me, rows=rows, page=page, pages=max(1, -(-total // 50)), verdict=verdict,
                 total=total, page_url=lambda n: f"/admin/audit?page={n}")


__all__ = ["mount", "router", "explain"]
