"""The service: a FastAPI application over the registry (``riskgrade serve``).

Everything under ``/api/`` except ``POST /api/login`` needs a signed-in user; every endpoint applies
the user's role (``registry.users.PERMISSIONS``) and region scope (GB/T 2260 prefix) the same way;
every look at an entity's grade or profile, at an alert, every export and every alert step is written
to the audit chain.  Alerts (预警) are read from and written to the warehouse (:mod:`.alerts`).  Grades
are an internal reference: never public, never in an unauthenticated answer.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import and_, func, literal, or_, select

from .. import __version__
from ..errors import RiskgradeError
from ..registry.db import open_registry
from ..registry.models import Entity, Event, Grade, Plan, PlanEntity, Snapshot
from ..registry.publish import check_row, secret_key
from ..registry.users import LoginFailed, authenticate, can, issue_token, mask, revoke_token
from . import alerts as alert_store
from .deps import SESSION_COOKIE, ApiError, AppState, Principal, RateLimiter, now, principal, record, state

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


# --------------------------------------------------------------------------- schemas
def _aware(value: dt.datetime) -> dt.datetime:
    """Times are stored as the server's local time; answers carry the offset (RFC 3339 date-time)."""
    return value.astimezone() if value.tzinfo is None else value


Time = Annotated[dt.datetime, AfterValidator(_aware)]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class LoginRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    region_prefix: str


class LoginResponse(BaseModel):
    token: str
    expires_at: Time
    user: UserOut


class SnapshotOut(BaseModel):
    id: int
    as_of: dt.date
    published_at: Time
    model: str
    model_version: str
    catalog_version: str
    grade_mode: str
    entities: int
    content_hash: str


class EntityHit(BaseModel):
    uscc: str
    name: str
    entity_type: str
    region_code: str
    industry_code: str | None
    status: str
    grade: str | None
    score: float | None
    labels: list[str]


class Page(BaseModel):
    total: int
    page: int
    page_size: int
    as_of: dt.date | None
    items: list[EntityHit]


class Reason(BaseModel):
    code: str = Field(description="the indicator's code")
    points: float = Field(description="its contribution to the score: positive raised the risk, negative lowered it")
    name_zh: str | None = Field(default=None, description="the indicator's Chinese name")
    name_en: str | None = Field(default=None, description="the indicator's English name")
    direction: str | None = Field(default=None, description="the indicator's risk direction: up, down or either")
    fact: str | None = Field(default=None, description="the fact behind it in Chinese, from the records known at the "
                                                       "month's end (null when not published with the grade)")


class GradeOut(BaseModel):
    as_of: dt.date
    grade: str
    score: float
    previous_grade: str | None
    grade_rule: str | None
    reasons: list[Reason] = Field(description="the contributions that raised the risk, most points first")
    labels: list[str]
    sealed: bool = Field(description="the row's seal checks out (false: altered since publication)")
    score_base: float | None = Field(default=None, description="the score at every indicator's reference: score = "
                                     "min(1000, max(0, score_base + the points of reasons and lowering)); null when "
                                     "the month was published without it")
    lowering: list[Reason] = Field(default_factory=list, description="the contributions that lowered the risk "
                                                                      "(negative points), largest first")
    clipped: bool | None = Field(default=None, description="score_base plus every contribution lies outside 0..1000, so "
                                 "the score is that sum clipped to the range; null when score_base is unknown")


class TimelineItem(BaseModel):
    event_date: dt.date
    event_type: str
    detail: str | None
    amount: float | None
    source: str | None
    end_date: dt.date | None


class PlanMembership(BaseModel):
    plan_id: int
    as_of: dt.date
    task_name: str
    selection: str
    check_mode: str


class AlertBrief(BaseModel):
    alert_id: str
    rule: str
    rule_name: str
    severity: str = Field(description="low, medium or high")
    raised_on: dt.date = Field(description="the date of the records that raised the alert (never the run date)")
    status: str = Field(description="open, assigned, handled or closed")
    summary: str | None
    responsible_unit: str | None


class Profile(BaseModel):
    uscc: str
    name: str
    entity_type: str
    region_code: str
    industry_code: str | None
    industry_section: str | None
    established_on: dt.date | None
    status: str
    closed_on: dt.date | None
    registered_capital: float | None
    address: str | None
    legal_rep_id: str | None
    phone_id: str | None
    current: GradeOut | None
    history: list[GradeOut]
    timeline: list[TimelineItem]
    plans: list[PlanMembership]
    alerts: list[AlertBrief] | None = Field(
        default=None, description="early-warning alerts (预警) of which the entity is a member, visible to the user; "
                                  "null when the warehouse is busy or the role may not read alerts")


class GradeCount(BaseModel):
    grade: str
    entities: int
    share: float
    mean_score: float


class RegionCount(BaseModel):
    region_code: str
    grade: str
    entities: int


class Distribution(BaseModel):
    as_of: dt.date
    total: int
    grades: list[GradeCount]
    by_region: list[RegionCount]


class MigrationCell(BaseModel):
    from_grade: str
    to_grade: str
    entities: int


class PlanOut(BaseModel):
    id: int
    as_of: dt.date
    task_name: str
    domain: str
    seed: str
    drawn: int
    in_scope: int


class PlanEntityOut(BaseModel):
    uscc: str
    region_code: str
    grade: str
    selection: str
    inclusion_probability: float
    check_mode: str
    inspectors: list[str]


class PlanDetail(PlanOut):
    entities: list[PlanEntityOut]


class PlanRequest(BaseModel):
    as_of: dt.date = Field(description="the published month the plan draws from")
    budget: int = Field(ge=1, le=10_000_000, description="at most this many inspections")
    seed: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$", description="the published seed")
    task_id: int | None = Field(default=None, description="a task (its region must be within yours)")
    domain: str = Field(default="general", pattern=r"^[a-z][a-z0-9_]{0,39}$")
    optimise: bool = False


class PlanCreated(BaseModel):
    plan_id: int
    drawn: int
    expected_findings: float | None
    uniform_expected_findings: float | None
    content_hash: str
    notes: list[str]


class ResultsImported(BaseModel):
    plan_id: int
    read: int
    accepted: int
    merged: int
    quarantined: int
    linked: int
    planned: int
    with_result: int


class AuditOut(BaseModel):
    id: int
    at: Time
    username: str
    action: str
    target: str
    detail: dict


class AuditVerdict(BaseModel):
    ok: bool
    entries: int
    head_id: int
    head_hash: str
    problem: str
    bad_id: int | None


Status = Literal["open", "assigned", "handled", "closed"]
Severity = Literal["low", "medium", "high"]
Disposition = Literal["提醒", "警示", "约谈", "检查", "remind", "warn", "interview", "inspect"]


class AlertOut(BaseModel):
    alert_id: str = Field(description="16 hex digits, the same for every member of a cluster or area alert")
    rule: str
    rule_name: str
    severity: str = Field(description="low, medium or high")
    scope: str = Field(description="entity, cluster or area")
    raised_on: dt.date = Field(description="the date of the records that raised the alert (never the run date)")
    last_record_on: dt.date | None
    members: int = Field(description="entities in the alert, in any region")
    members_in_region: int = Field(description="of which in the user's region (the others are withheld)")
    summary: str | None
    label: str | None
    unit_kind: str | None = Field(description="department (licensing department) or county (county bureau)")
    responsible_unit: str | None
    region_code: str | None = Field(description="GB/T 2260 county the alert is routed to")
    status: str = Field(description="open (待分办), assigned (已分办), handled (已处置) or closed (已办结)")
    assignee: str | None
    disposition: str | None = Field(description="remind, warn, interview or inspect (提醒, 警示, 约谈, 检查)")
    created_at: Time | None
    updated_at: Time | None


class AlertPage(BaseModel):
    total: int
    page: int
    page_size: int
    by_status: dict[str, int] = Field(description="alerts matching every filter but the status, by status")
    by_severity: dict[str, int] = Field(description="alerts matching every filter but the severity, by severity")
    items: list[AlertOut]


class AlertEntity(BaseModel):
    uscc: str
    name: str | None
    region_code: str | None
    raised_on: dt.date | None = Field(description="when this member's records raised (or joined) the alert")


class AlertEvidence(BaseModel):
    uscc: str
    role: str = Field(description="trigger (the records that fired the rule) or context")
    source: str | None
    record_id: str | None
    event_type: str | None
    event_date: dt.date | None
    detail: str | None
    amount: float | None


class AlertLogEntry(BaseModel):
    seq: int = Field(description="position in the warehouse's hash-chained alert_log")
    logged_at: Time
    username: str
    action: str = Field(description="raise, extend, assign, handle, target or close")
    detail: dict
    hash: str


class AlertRouting(BaseModel):
    unit_kind: str | None
    responsible_unit: str | None
    region_code: str | None
    region_name: str | None


class AlertTarget(BaseModel):
    task_id: int
    task_name: str | None
    entities: int
    added_at: Time | None


class AlertDetail(AlertOut):
    info: dict = Field(description="the rule's figures (counts, windows, p-value, links ...)")
    entities: list[AlertEntity] = Field(description="members in the user's region")
    members_outside_region: int
    evidence: list[AlertEvidence] = Field(description=f"records behind the alert, of the members shown (at most "
                                                      f"{alert_store.EVIDENCE_LIMIT}, triggers first)")
    evidence_total: int
    log: list[AlertLogEntry]
    routing: AlertRouting
    targets: list[AlertTarget] = Field(description="inspection tasks the alert's entities were sent to (定向抽查)")
    next_steps: list[str] = Field(description="steps the alert's status allows")


class AssignRequest(BaseModel):
    to: str = Field(min_length=1, max_length=128, pattern=r"\S", description="the unit or person who handles it (分办)")
    note: str = Field(default="", max_length=1000)


class HandleRequest(BaseModel):
    action: Disposition = Field(description="the disposition (处置方式), Chinese or English")
    note: str = Field(default="", max_length=1000)


class CloseRequest(BaseModel):
    note: str = Field(default="", max_length=1000)


class TargetRequest(BaseModel):
    task_id: int = Field(ge=1, le=2**31 - 1, description="an inspection task within your region")
    reason: str = Field(default="", max_length=500, description="default: the alert's rule and summary")


class AlertStepResult(BaseModel):
    step: str
    alert: AlertOut
    log_seq: int = Field(description="the step's entry in the warehouse's alert_log")
    log_hash: str
    detail: dict
    task_id: int | None = None
    added: int | None = Field(default=None, description="target: entities added to the task")


class RuleCount(BaseModel):
    rule: str
    rule_name: str
    alerts: int


class RegionAlerts(BaseModel):
    region_code: str
    alerts: int


class AlertCounts(BaseModel):
    total: int
    by_status: dict[str, int]
    by_severity: dict[str, int]
    by_rule: list[RuleCount]
    by_region: list[RegionAlerts] = Field(description="by the county the alerts are routed to")


class AlertLogVerdict(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: str
    bad_seq: int | None


ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
          422: {"model": ErrorResponse}}
ALERT_ERRORS = {**ERRORS, 503: {"model": ErrorResponse, "description": "the warehouse is busy with another job"}}
STEP_ERRORS = {**ALERT_ERRORS, 409: {"model": ErrorResponse, "description": "the alert's status does not allow it"}}


# --------------------------------------------------------------------------- the application
def create_app(home: Path, database_url: str | None = None) -> FastAPI:
    factory = open_registry(home, database_url)
    app = FastAPI(title="riskgrade", version=__version__,
                  description="信用风险分类管理 — credit risk classification for market regulators. Internal: grades are "
                              "a regulatory reference, never public. Every API path except POST /api/login needs a "
                              "bearer token.")
    app.state.rg = AppState(home, factory, secret_key(home), RateLimiter())

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status,
                            headers=exc.headers)

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(x) for x in first.get("loc", []))
        return JSONResponse({"error": {"code": "invalid", "message": f"{where}: {first.get('msg')}"}}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code)

    from ..web.console import mount
    mount(app)
    _routes(app)
    return app


def _latest(s, as_of: dt.date | None) -> Snapshot | None:
    q = select(Snapshot)
    if as_of:
        q = q.where(Snapshot.as_of == as_of)
    return s.execute(q.order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1)).scalar_one_or_none()


def _is_gb(data: bytes) -> bool:
    try:
        data.decode("gb18030")
        return True
    except UnicodeDecodeError:
        return False


def _labels(text: str | None) -> list[str]:
    return [x for x in (text or "").split(";") if x]


@functools.lru_cache(maxsize=1)
def _indicators() -> dict[str, tuple[str, str, str]]:
    """Indicator code -> (Chinese name, English name, risk direction), from the built-in catalog (and the entity
    attributes a trained scorecard may use as features)."""
    from ..indicators import load_catalog
    from ..indicators.facts import ATTRIBUTES

    names = {code: (zh, en, "either") for code, (zh, en) in ATTRIBUTES.items()}  # attributes a scorecard may use
    return {**names, **{i.code: (i.name_zh, i.name_en, i.risk_direction) for i in load_catalog().indicators}}


def explanation(g: Grade) -> dict:
    """A published grade's explanation: its contributions that raised the risk (``reasons``) and those that
    lowered it (``lowering``), each with the indicator's names, direction and fact, ``score_base``, the sum
    of the points, and ``clipped`` (base + sum outside 0..1000; None when the base is unknown)."""
    try:
        points = [p for p in json.loads(g.reason_points or "[]") if float(p["points"]) != 0]
    except (ValueError, TypeError, KeyError):
        points = []
    try:
        facts = json.loads(g.facts) if g.facts else {}
    except ValueError:
        facts = {}
    names = _indicators()

    def item(p: dict) -> dict:
        zh, en, direction = names.get(p["code"], (None, None, None))
        return {"code": p["code"], "points": round(float(p["points"]), 2), "name_zh": zh, "name_en": en,
                "direction": direction, "fact": facts.get(p["code"]) if isinstance(facts, dict) else None}

    reasons = [item(p) for p in sorted((p for p in points if float(p["points"]) > 0), key=lambda p: -float(p["points"]))]
    lowering = [item(p) for p in sorted((p for p in points if float(p["points"]) < 0), key=lambda p: float(p["points"]))]
    total = sum(float(p["points"]) for p in points)
    base = getattr(g, "score_base", None)
    raw = None if base is None else round(float(base) + total, 2)
    return {"reasons": reasons, "lowering": lowering, "score_base": None if base is None else float(base),
            "total": total, "unclipped": raw, "clipped": None if raw is None else not 0 <= raw <= 1000}


PlanId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="plan id")]
AlertId = Annotated[str, PathParam(pattern=r"^[0-9a-fA-F]{16}$", description="alert id (16 hex digits)")]
St = Annotated[AppState, Depends(state)]
Me = Annotated[Principal, Depends(principal)]


@contextlib.contextmanager
def _alert_errors() -> Iterator[None]:
    """The alert module's refusals as the API's error bodies (503 busy with Retry-After)."""
    try:
        yield
    except alert_store.AlertError as e:
        raise ApiError(e.status, e.code, e.message, {"Retry-After": "5"} if e.status == 503 else None) from None


def _alert_out(a: dict) -> AlertOut:
    return AlertOut(**{k: a.get(k) for k in AlertOut.model_fields})


def _step_result(done: alert_store.StepDone) -> AlertStepResult:
    return AlertStepResult(step=done.op, alert=_alert_out(done.alert), log_seq=done.seq, log_hash=done.hash,
                           detail=done.detail, task_id=done.task_id, added=done.added)


def _routes(app: FastAPI) -> None:

    @app.post("/api/login", response_model=LoginResponse, responses=ERRORS, tags=["auth"])
    def login(body: LoginRequest, request: Request, st: St) -> LoginResponse:
        """Sign in with a user name and password; returns a bearer token."""
        client = request.client.host if request.client else "?"
        if not st.limiter.allow(f"ip:{client}", f"user:{body.username}"):
            raise ApiError(429, "rate_limited", "too many login attempts: wait a minute")
        try:
            user = authenticate(st.factory, body.username, body.password)
        except LoginFailed as e:
            record(st, body.username[:64] or "?", "login_failed", client)
            raise ApiError(401, "login_failed", str(e)) from None
        secret, tok = issue_token(st.factory, user, "api")
        record(st, user.username, "login", client)
        return LoginResponse(token=secret, expires_at=tok.expires_at, user=UserOut(
            username=user.username, display_name=user.display_name, role=user.role, region_prefix=user.region_prefix))

    @app.post("/api/logout", status_code=204, responses=ERRORS, tags=["auth"])
    def logout(request: Request, me: Me, st: St):
        """End this token or session."""
        auth = request.headers.get("authorization", "")
        revoke_token(st.factory, auth[7:].strip() if auth.lower().startswith("bearer ") else
                     request.cookies.get(SESSION_COOKIE, ""))
        record(st, me, "logout")

    @app.get("/api/me", response_model=UserOut, responses=ERRORS, tags=["auth"])
    def me_(me: Me) -> UserOut:
        """The signed-in user, role and region."""
        u = me.user
        return UserOut(username=u.username, display_name=u.display_name, role=u.role, region_prefix=u.region_prefix)

    @app.get("/api/snapshots", response_model=list[SnapshotOut], responses=ERRORS, tags=["grades"])
    def snapshots(me: Me, st: St) -> list[SnapshotOut]:
        """Published monthly snapshots, newest first."""
        me.require("stats.read")
        with st.factory() as s:
            rows = s.execute(select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())).scalars().all()
        return [SnapshotOut.model_validate(r, from_attributes=True) for r in rows]

    @app.get("/api/entities", response_model=Page, responses=ERRORS, tags=["entities"])
    def search(me: Me, st: St,
               q: Annotated[str | None, Query(max_length=100, description="name contains, or USCC prefix")] = None,
               region: Annotated[str | None, Query(pattern=r"^\d{2,6}$", description="GB/T 2260 prefix")] = None,
               industry: Annotated[str | None, Query(pattern=r"^[A-T]?\d{0,4}$")] = None,
               grade: Annotated[str | None, Query(pattern=r"^[A-E]$")] = None,
               label: Annotated[str | None, Query(max_length=64)] = None,
               as_of: dt.date | None = None,
               page: Annotated[int, Query(ge=1, le=100000)] = 1,
               page_size: Annotated[int, Query(ge=1, le=200)] = 20) -> Page:
        """Search entities in the user's region by name, USCC, region, industry, grade or label."""
        me.require("entity.read")
        with st.factory() as s:
            snap = _latest(s, as_of)
            if as_of and snap is None:
                raise ApiError(404, "not_found", f"no published snapshot as of {as_of}")
            conds = [Entity.region_code.startswith(me.user.region_prefix)]
            if region:
                conds.append(Entity.region_code.startswith(region))
            if q:
                term = q.strip()
                conds.append(or_(Entity.name.contains(term), Entity.uscc.startswith(term.upper())))
            if industry:
                if industry[:1].isalpha():
                    conds.append(Entity.industry_section == industry[0])
                    industry = industry[1:]
                if industry:
                    conds.append(Entity.industry_code.startswith(industry))
            sid = snap.id if snap else -1
            stmt = select(Entity, Grade).outerjoin(Grade, and_(Grade.uscc == Entity.uscc, Grade.snapshot_id == sid))
            if grade:
                conds.append(Grade.grade == grade)
            if label:
                conds.append((literal(";") + func.coalesce(Grade.labels, "") + literal(";")).contains(f";{label};"))
            stmt = stmt.where(*conds)
            total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
            rows = s.execute(stmt.order_by(Entity.uscc).offset((page - 1) * page_size).limit(page_size)).all()
        items = [EntityHit(uscc=e.uscc, name=e.name, entity_type=e.entity_type, region_code=e.region_code,
                           industry_code=e.industry_code, status=e.status, grade=g.grade if g else None,
                           score=g.score if g else None, labels=_labels(g.labels if g else None))
                 for e, g in rows]
        record(st, me, "search", "", {"q": q, "region": region, "industry": industry, "grade": grade, "label": label,
                                      "page": page, "results": len(items)})
        return Page(total=total, page=page, page_size=page_size, as_of=snap.as_of if snap else None, items=items)

    @app.get("/api/entities/{uscc}", response_model=Profile, responses=ERRORS, tags=["entities"])
    def profile(uscc: Annotated[str, PathParam(pattern=r"^[0-9A-Za-z]{18}$")], me: Me, st: St,
                timeline_limit: Annotated[int, Query(ge=0, le=2000, description="newest records to include")] = 100
                ) -> Profile:
        """An entity's profile: grade history with reasons and labels, records timeline, plans."""
        me.require("entity.read")
        with st.factory() as s:
            e = s.get(Entity, uscc.upper())
            if e is None or not me.scope(e.region_code):
                raise ApiError(404, "not_found", f"no entity {uscc} in your region")
            hist = s.execute(select(Grade, Snapshot.as_of).join(Snapshot, Snapshot.id == Grade.snapshot_id)
                             .where(Grade.uscc == e.uscc).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())).all()
            events = s.execute(select(Event).where(Event.uscc == e.uscc)
                               .order_by(Event.event_date.desc(), Event.id.desc()).limit(timeline_limit)).scalars().all()
            plans = s.execute(select(PlanEntity, Plan).join(Plan, Plan.id == PlanEntity.plan_id)
                              .where(PlanEntity.uscc == e.uscc).order_by(Plan.as_of.desc())).all()
        seen, grades, broken = set(), [], []
        for g, as_of in hist:
            if as_of in seen:
                continue  # an earlier publication of the same month
            seen.add(as_of)
            ok = check_row(st.key, as_of, g)
            if not ok:
                broken.append(as_of.isoformat())
            x = explanation(g)
            grades.append(GradeOut(as_of=as_of, grade=g.grade, score=g.score, previous_grade=g.previous_grade,
                                   grade_rule=g.grade_rule, labels=_labels(g.labels), sealed=ok,
                                   reasons=[Reason(**r) for r in x["reasons"]],
                                   lowering=[Reason(**r) for r in x["lowering"]],
                                   score_base=x["score_base"], clipped=x["clipped"]))
        pii = me.user.role in ("admin", "inspector")
        alerts = (alert_store.entity_alerts(st.home, alert_store.viewer_of(me.user), e.uscc)
                  if can(me.user.role, "alerts.read") else None)
        record(st, me, "view_profile", e.uscc, {"grades_shown": len(grades),
                                                "alerts_shown": None if alerts is None else len(alerts)})
        if broken:
            record(st, "system", "integrity_failure", e.uscc, {"months": broken})
        return Profile(
            uscc=e.uscc, name=e.name, entity_type=e.entity_type, region_code=e.region_code,
            industry_code=e.industry_code, industry_section=e.industry_section, established_on=e.established_on,
            status=e.status, closed_on=e.closed_on, registered_capital=e.registered_capital, address=e.address,
            legal_rep_id=e.legal_rep_id if pii else mask(e.legal_rep_id),
            phone_id=e.phone_id if pii else mask(e.phone_id),
            current=grades[0] if grades else None, history=grades,
            timeline=[TimelineItem(event_date=v.event_date, event_type=v.event_type, detail=v.detail, amount=v.amount,
                                   source=v.source, end_date=v.end_date) for v in events],
            plans=[PlanMembership(plan_id=p.id, as_of=p.as_of, task_name=p.task_name, selection=pe.selection,
                                  check_mode=pe.check_mode) for pe, p in plans],
            alerts=None if alerts is None else [AlertBrief(**{k: a.get(k) for k in AlertBrief.model_fields})
                                                for a in alerts])

    @app.get("/api/stats/grades", response_model=Distribution, responses=ERRORS, tags=["statistics"])
    def distribution(me: Me, st: St, as_of: dt.date | None = None) -> Distribution:
        """Grade shares and mean score in the user's region, and counts by county and grade."""
        me.require("stats.read")
        with st.factory() as s:
            snap = _latest(s, as_of)
            if snap is None:
                raise ApiError(404, "not_found", "nothing published yet" if not as_of else f"nothing published as of {as_of}")
            scope = and_(Grade.snapshot_id == snap.id, Grade.region_code.startswith(me.user.region_prefix))
            by_grade = s.execute(select(Grade.grade, func.count(), func.avg(Grade.score)).where(scope)
                                 .group_by(Grade.grade).order_by(Grade.grade)).all()
            by_region = s.execute(select(Grade.region_code, Grade.grade, func.count()).where(scope)
                                  .group_by(Grade.region_code, Grade.grade).order_by(Grade.region_code, Grade.grade)).all()
        total = sum(n for _, n, _ in by_grade)
        return Distribution(as_of=snap.as_of, total=total,
                            grades=[GradeCount(grade=g, entities=n, share=n / total if total else 0.0,
                                               mean_score=round(float(m or 0), 1)) for g, n, m in by_grade],
                            by_region=[RegionCount(region_code=r, grade=g, entities=n) for r, g, n in by_region])

    @app.get("/api/stats/migration", response_model=list[MigrationCell], responses=ERRORS, tags=["statistics"])
    def migration(me: Me, st: St, from_: Annotated[dt.date, Query(alias="from")], to: dt.date) -> list[MigrationCell]:
        """Grade migration between two published months (entities in the user's region)."""
        me.require("stats.read")
        with st.factory() as s:
            a, b = _latest(s, from_), _latest(s, to)
            if a is None or b is None:
                raise ApiError(404, "not_found", f"both months must be published ({from_}, {to})")
            ga = select(Grade.uscc, Grade.grade).where(Grade.snapshot_id == a.id,
                                                       Grade.region_code.startswith(me.user.region_prefix)).subquery()
            gb = select(Grade.uscc, Grade.grade).where(Grade.snapshot_id == b.id,
                                                       Grade.region_code.startswith(me.user.region_prefix)).subquery()
            rows = s.execute(select(ga.c.grade, gb.c.grade, func.count()).join(gb, gb.c.uscc == ga.c.uscc)
                             .group_by(ga.c.grade, gb.c.grade).order_by(ga.c.grade, gb.c.grade)).all()
        return [MigrationCell(from_grade=f, to_grade=t, entities=n) for f, t, n in rows]

    @app.get("/api/plans", response_model=list[PlanOut], responses=ERRORS, tags=["inspection"])
    def plans(me: Me, st: St) -> list[PlanOut]:
        """Published inspection plans, with how many of their entities are in the user's region."""
        me.require("plans.read")
        with st.factory() as s:
            rows = s.execute(select(Plan, func.count(PlanEntity.uscc)).outerjoin(
                PlanEntity, and_(PlanEntity.plan_id == Plan.id,
                                 PlanEntity.region_code.startswith(me.user.region_prefix)))
                .group_by(Plan.id).order_by(Plan.id.desc())).all()
        return [PlanOut(id=p.id, as_of=p.as_of, task_name=p.task_name, domain=p.domain, seed=p.seed, drawn=p.drawn,
                        in_scope=n) for p, n in rows]

    @app.get("/api/plans/{plan_id}", response_model=PlanDetail, responses=ERRORS, tags=["inspection"])
    def plan(plan_id: PlanId, me: Me, st: St) -> PlanDetail:
        """A plan's entities in the user's region."""
        me.require("plans.read")
        with st.factory() as s:
            p = s.get(Plan, plan_id)
            if p is None:
                raise ApiError(404, "not_found", f"no published plan {plan_id}")
            ents = s.execute(select(PlanEntity).where(PlanEntity.plan_id == plan_id,
                                                      PlanEntity.region_code.startswith(me.user.region_prefix))
                             .order_by(PlanEntity.uscc)).scalars().all()
        record(st, me, "view_plan", str(plan_id), {"entities": len(ents)})
        return PlanDetail(id=p.id, as_of=p.as_of, task_name=p.task_name, domain=p.domain, seed=p.seed, drawn=p.drawn,
                          in_scope=len(ents), entities=[PlanEntityOut(
                              uscc=e.uscc, region_code=e.region_code, grade=e.grade, selection=e.selection,
                              inclusion_probability=e.inclusion_probability, check_mode=e.check_mode,
                              inspectors=[x for x in (e.inspectors or "").split(";") if x]) for e in ents])

    @app.post("/api/plans", response_model=PlanCreated, status_code=201, responses=ERRORS, tags=["inspection"])
    def create_plan(body: PlanRequest, me: Me, st: St) -> PlanCreated:
        """Draw a plan in the user's region (a task for that region is created when none is given)."""
        from ..inspection.plan import make_plan
        from ..inspection.tasks import Task, create_task, get_task
        from ..registry.publish import publish_plan
        from ..warehouse import Warehouse

        me.require("plans.write")
        with st.factory() as s:
            if _latest(s, body.as_of) is None:
                raise ApiError(404, "not_found", f"no published classification as of {body.as_of}")
        with Warehouse(st.home, write=True) as wh:
            if body.task_id is not None:
                try:
                    task = get_task(wh.con, body.task_id)
                except Exception:
                    raise ApiError(404, "not_found", f"no task {body.task_id}") from None
                if not (task.region_prefix or "").startswith(me.user.region_prefix):
                    raise ApiError(403, "forbidden", "the task's region is not within yours")
                task_id = task.task_id
            else:
                with wh.transaction():
                    task_id = create_task(wh.con, Task(None, f"{me.user.region_prefix} 双随机抽查 ({body.as_of})",
                                                       body.domain, me.user.region_prefix)).task_id
        try:
            res = make_plan(st.home, body.as_of, seed=body.seed, budget=body.budget, task_id=task_id,
                            optimise=body.optimise)
        except Exception as e:  # RiskgradeError: a clear reason (e.g. --optimise without probabilities)
            raise ApiError(422, "plan_failed", str(e).splitlines()[0]) from None
        publish_plan(st.home, st.factory, res.plan_id)
        record(st, me, "create_plan", str(res.plan_id), {"as_of": body.as_of.isoformat(), "budget": body.budget,
                                                          "seed": body.seed, "task_id": task_id})
        return PlanCreated(plan_id=res.plan_id, drawn=res.rows, expected_findings=res.expected,
                           uniform_expected_findings=res.uniform_expected, content_hash=res.content_hash,
                           notes=res.notes)

    @app.post("/api/plans/{plan_id}/results", response_model=ResultsImported, responses=ERRORS, tags=["inspection"],
              openapi_extra={"requestBody": {"required": True, "content": {
                  "text/csv": {"schema": {"type": "string", "minLength": 1,
                                          "description": "inspection events in the contract's format"}}}}})
    async def upload_results(plan_id: PlanId, request: Request, me: Me, st: St) -> ResultsImported:
        """Upload inspection results (CSV in the contract's events format) for a plan; every row must be an
        entity of the plan in the user's region."""
        from ..inspection.results import import_results

        me.require("results.write")
        with st.factory() as s:
            if s.get(Plan, plan_id) is None:
                raise ApiError(404, "not_found", f"no published plan {plan_id}")
        body = await request.body()
        if not body or len(body) > 50_000_000:
            raise ApiError(422, "invalid", "send the results CSV as the request body (at most 50 MB)")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = body.decode("gb18030", errors="strict") if _is_gb(body) else None
            if text is None:
                raise ApiError(422, "invalid", "the file is neither UTF-8 nor GB18030") from None
        rows = list(csv.DictReader(io.StringIO(text)))
        usccs = {(r.get("uscc") or r.get("统一社会信用代码") or "").strip().upper() for r in rows}
        if not rows or not any((r.get("uscc") or r.get("统一社会信用代码")) for r in rows):
            raise ApiError(422, "invalid", "no rows with a uscc column: send inspection events in the contract's format")
        with st.factory() as s:
            planned = {u: reg for u, reg in s.execute(select(PlanEntity.uscc, PlanEntity.region_code)
                                                      .where(PlanEntity.plan_id == plan_id)).all()}
        foreign = sorted(u for u in usccs if u not in planned or not me.scope(planned[u]))
        if foreign:
            raise ApiError(403, "forbidden", f"{len(foreign)} rows are not entities of plan {plan_id} in your region "
                                             f"(e.g. {foreign[0]})")
        up = st.home / "uploads"
        up.mkdir(parents=True, exist_ok=True)
        path = up / f"plan{plan_id}-{now():%Y%m%d%H%M%S}-{me.user.username}-results.csv"
        path.write_text(text, encoding="utf-8")
        try:
            r = import_results(st.home, path, plan_id)
        except RiskgradeError as e:
            raise ApiError(422, "invalid", str(e).splitlines()[0]) from None
        ev = (r.delivery or {}).get("tables", {}).get("events", {})
        record(st, me, "upload_results", str(plan_id), {"file": path.name, "rows": len(rows), "linked": r.linked})
        return ResultsImported(plan_id=plan_id, read=ev.get("read", 0), accepted=ev.get("accepted", 0),
                               merged=ev.get("merged", 0), quarantined=ev.get("quarantined", 0), linked=r.linked,
                               planned=r.planned, with_result=r.with_result)

    @app.get("/api/exports/grades", responses={**ERRORS, 200: {"content": {"text/csv": {}}}}, tags=["exports"])
    def export_grades(me: Me, st: St, as_of: dt.date | None = None):
        """The month's grades in the user's region as CSV (audited)."""
        me.require("export")
        with st.factory() as s:
            snap = _latest(s, as_of)
            if snap is None:
                raise ApiError(404, "not_found", "nothing published for that month")
            rows = s.execute(select(Grade).where(Grade.snapshot_id == snap.id,
                                                 Grade.region_code.startswith(me.user.region_prefix))
                             .order_by(Grade.uscc)).scalars().all()
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["uscc", "as_of", "score", "grade", "labels", "reasons", "region_code"])
        for g in rows:
            w.writerow([g.uscc, snap.as_of, g.score, g.grade, g.labels or "", g.reasons or "", g.region_code])
        record(st, me, "export_grades", snap.as_of.isoformat(), {"rows": len(rows)})
        return StreamingResponse(iter([buf.getvalue()]), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="grades-{snap.as_of}.csv"'})

    @app.get("/api/audit", response_model=list[AuditOut], responses=ERRORS, tags=["audit"])
    def audit_log(me: Me, st: St, page: Annotated[int, Query(ge=1, le=1000000)] = 1,
                  page_size: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
        """Audit entries, newest first."""
        from ..registry.models import AuditEntry

        me.require("audit.read")
        with st.factory() as s:
            rows = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc())
                             .offset((page - 1) * page_size).limit(page_size)).scalars().all()
        return [AuditOut(id=r.id, at=r.at, username=r.username, action=r.action, target=r.target,
                         detail=json.loads(r.detail or "{}")) for r in rows]

    @app.get("/api/audit/verify", response_model=AuditVerdict, responses=ERRORS, tags=["audit"])
    def audit_verify(me: Me, st: St) -> AuditVerdict:
        """Check the audit chain: names the first edited or deleted entry."""
        from ..registry.audit import verify

        me.require("audit.read")
        v = verify(st.factory)
        record(st, me, "audit_verify", "", {"ok": v.ok})
        return AuditVerdict(ok=v.ok, entries=v.entries, head_id=v.head_id, head_hash=v.head_hash, problem=v.problem,
                            bad_id=v.bad_id)

    # ----------------------------------------------------------------------- early warning (预警)
    @app.get("/api/alerts", response_model=AlertPage, responses=ALERT_ERRORS, tags=["alerts"])
    def alerts_list(
            me: Me, st: St,
            status: Annotated[Status | None, Query(description="workflow status")] = None,
            rule: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="rule code")] = None,
            severity: Severity | None = None,
            unit: Annotated[str | None, Query(max_length=100, description="responsible unit contains")] = None,
            region: Annotated[str | None, Query(pattern=r"^\d{2,6}$", description="GB/T 2260 prefix")] = None,
            raised_from: Annotated[dt.date | None, Query(description="raised on or after")] = None,
            raised_to: Annotated[dt.date | None, Query(description="raised on or before")] = None,
            page: Annotated[int, Query(ge=1, le=100000)] = 1,
            page_size: Annotated[int, Query(ge=1, le=200)] = 20) -> AlertPage:
        """Alerts visible to the user (a member, or an area alert's county, in the region; a domain officer's
        department), newest records first, with counts by status and severity."""
        me.require("alerts.read")
        f = alert_store.Filters(status, rule, severity, unit.strip() if unit else None, region, raised_from, raised_to)
        with _alert_errors(), alert_store.store(st.home) as wh:
            res = alert_store.list_alerts(wh.con, alert_store.viewer_of(me.user), f, page, page_size)
        record(st, me, "list_alerts", "", {**f.describe(), "page": page, "results": len(res.items)})
        return AlertPage(total=res.total, page=page, page_size=page_size, by_status=res.by_status,
                         by_severity=res.by_severity, items=[_alert_out(a) for a in res.items])

    @app.get("/api/alerts/log/verify", response_model=AlertLogVerdict, responses=ALERT_ERRORS, tags=["alerts"])
    def alert_log_verify(me: Me, st: St) -> AlertLogVerdict:
        """Check the warehouse's alert log (hash chain): names the first entry edited or deleted."""
        from ..warning.store import has_table
        from ..warning.workflow import GENESIS, verify

        me.require("audit.read")
        with _alert_errors(), alert_store.store(st.home) as wh:
            v = verify(wh.con) if has_table(wh.con, "alert_log") else None
        verdict = (AlertLogVerdict(ok=True, entries=0, head_seq=0, head_hash=GENESIS, problem="", bad_seq=None)
                   if v is None else AlertLogVerdict(ok=v.ok, entries=v.entries, head_seq=v.head_seq,
                                                     head_hash=v.head_hash, problem=v.problem, bad_seq=v.bad_seq))
        record(st, me, "alert_log_verify", "", {"ok": verdict.ok, "entries": verdict.entries})
        return verdict

    @app.get("/api/alerts/{alert_id}", response_model=AlertDetail, responses=ALERT_ERRORS, tags=["alerts"])
    def alert_detail(alert_id: AlertId, me: Me, st: St) -> AlertDetail:
        """An alert: its members and evidence in the user's region, routing, the disposition log, targets (audited)."""
        from ..codes import regions

        me.require("alerts.read")
        aid = alert_id.lower()
        with _alert_errors(), alert_store.store(st.home) as wh:
            d = alert_store.detail(wh.con, alert_store.viewer_of(me.user), aid)
        record(st, me, "view_alert", aid, {"rule": d["rule"], "members_shown": d["members_in_region"],
                                           "evidence_shown": len(d["evidence"])})
        rc = d.get("region_code")
        return AlertDetail(
            **_alert_out(d).model_dump(), info=d["info"],
            entities=[AlertEntity(**m) for m in d["member_list"]], members_outside_region=d["members_outside_region"],
            evidence=[AlertEvidence(**e) for e in d["evidence"]], evidence_total=d["evidence_total"],
            log=[AlertLogEntry(**e) for e in d["log"]],
            routing=AlertRouting(unit_kind=d["unit_kind"], responsible_unit=d["responsible_unit"], region_code=rc,
                                 region_name=regions.name(rc) if rc and regions.table().get(rc) else None),
            targets=[AlertTarget(**x) for x in d["targets"]], next_steps=d["next_steps"])

    @app.post("/api/alerts/{alert_id}/assign", response_model=AlertStepResult, responses=STEP_ERRORS, tags=["alerts"])
    def alert_assign(alert_id: AlertId, body: AssignRequest, me: Me, st: St) -> AlertStepResult:
        """Assign an alert (分办) to a unit or person: open or assigned -> assigned."""
        me.require("alerts.write")
        with _alert_errors():
            done = alert_store.perform(st, me.user, alert_id.lower(), "assign", to=body.to.strip(), note=body.note)
        return _step_result(done)

    @app.post("/api/alerts/{alert_id}/handle", response_model=AlertStepResult, responses=STEP_ERRORS, tags=["alerts"])
    def alert_handle(alert_id: AlertId, body: HandleRequest, me: Me, st: St) -> AlertStepResult:
        """Record a disposition (处置: 提醒 / 警示 / 约谈 / 检查): assigned or handled -> handled."""
        me.require("alerts.write")
        with _alert_errors():
            done = alert_store.perform(st, me.user, alert_id.lower(), "handle", action=body.action, note=body.note)
        return _step_result(done)

    @app.post("/api/alerts/{alert_id}/close", response_model=AlertStepResult, responses=STEP_ERRORS, tags=["alerts"])
    def alert_close(alert_id: AlertId, me: Me, st: St, body: CloseRequest | None = None) -> AlertStepResult:
        """Close a handled alert (办结): handled -> closed; a closed alert cannot change."""
        me.require("alerts.write")
        with _alert_errors():
            done = alert_store.perform(st, me.user, alert_id.lower(), "close", note=body.note if body else "")
        return _step_result(done)

    @app.post("/api/alerts/{alert_id}/target", response_model=AlertStepResult, responses=STEP_ERRORS, tags=["alerts"])
    def alert_target(alert_id: AlertId, body: TargetRequest, me: Me, st: St) -> AlertStepResult:
        """定向抽查: the alert's entities become targets of an inspection task in your region (every plan drawn for
        the task includes them); high-severity alerts, or rules marked inspect, and not closed."""
        me.require("alerts.target")
        with _alert_errors():
            done = alert_store.perform(st, me.user, alert_id.lower(), "target", task_id=body.task_id,
                                       reason=body.reason)
        return _step_result(done)

    @app.get("/api/stats/alerts", response_model=AlertCounts, responses=ALERT_ERRORS, tags=["statistics"])
    def alert_stats(me: Me, st: St,
                    raised_from: Annotated[dt.date | None, Query(description="raised on or after")] = None,
                    raised_to: Annotated[dt.date | None, Query(description="raised on or before")] = None
                    ) -> AlertCounts:
        """Counts of the alerts in the user's region by status, severity, rule and county (no individual alert)."""
        me.require("stats.read")
        f = alert_store.Filters(raised_from=raised_from, raised_to=raised_to)
        with _alert_errors(), alert_store.store(st.home) as wh:
            c = alert_store.counts(wh.con, me.user.region_prefix, f)
        return AlertCounts(total=c.total, by_status=c.by_status, by_severity=c.by_severity,
                           by_rule=[RuleCount(rule=r, rule_name=n, alerts=k) for r, n, k in c.by_rule],
                           by_region=[RegionAlerts(region_code=r, alerts=k) for r, k in c.by_region])


def app_from_env() -> FastAPI:
    """The application for ``riskgrade serve`` (uvicorn factory; one per worker process)."""
    from .. import settings as settings_mod

    s = settings_mod.load()
    return create_app(s.home, s.database_url)
