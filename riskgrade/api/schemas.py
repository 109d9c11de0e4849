"""The API's request and response bodies (pydantic) and the error bodies each endpoint documents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field

from ..warning.queries import EVIDENCE_LIMIT


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
    code: str | None = Field(default=None, max_length=16, description="the one-time code (TOTP) of a user with "
                             "two-factor sign-in (every administrator)")


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    region_prefix: str


class LoginResponse(BaseModel):
    token: str
    expires_at: Time
    user: UserOut
    scope: str = Field(default="full", description="full: a token for the whole API; totp_enrolment: an "
                       "administrator without a second factor, whose token may only enrol one (POST /api/me/totp, "
                       "then /api/me/totp/confirm, which returns a full token); every other endpoint answers 403 "
                       "totp_enrolment_required")


class TotpOffer(BaseModel):
    secret: str = Field(description="a new base32 secret, to be typed into an authenticator app; nothing is "
                        "stored until a code confirms it")
    uri: str = Field(description="the otpauth://totp/... URI of the secret")


class TotpConfirm(BaseModel):
    secret: str = Field(min_length=16, max_length=64, description="the secret of the offer")
    code: str = Field(max_length=16, description="the code the authenticator app shows for it")


class TotpEnrolled(BaseModel):
    enrolled: bool = True
    token: str | None = Field(default=None, description="a full token, when the request came with an enrolment-"
                              "only token (which is spent); otherwise null: the token in use stays valid")
    expires_at: Time | None = None
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


class ResultRejection(BaseModel):
    """A line of a results upload that was not stored: where and why.  ``code``: the stable reason code
    (docs/security-intake.md); ``message`` / ``message_zh``: where and why in English / Chinese;
    ``reason`` / ``reason_zh``: why alone."""
    line: int
    column: str
    reason: str
    value: str = ""
    code: str = ""
    message: str = ""
    message_zh: str = ""
    reason_zh: str = ""


class ResultsImported(BaseModel):
    """The outcome of a results upload.  ``read``: result lines read; ``accepted``: stored; ``quarantined``:
    rejected (the same as ``rejected``, kept for older clients), each in ``rejections``; ``skipped``: rows with
    no result filled in (no date, result or notes: a template row left blank), neither stored nor rejected;
    ``read`` = ``accepted`` + ``rejected`` + ``skipped``; ``linked``: results new
    to the plan, ``updated``: results of an entity and day uploaded before that changed (the latest wins),
    ``unchanged``: uploaded again as they were."""
    plan_id: int
    read: int
    accepted: int
    merged: int
    quarantined: int
    linked: int
    planned: int
    with_result: int
    upload_id: int | None = None
    source: str = ""
    rejected: int = 0
    skipped: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored_columns: list[str] = []
    rejections: list[ResultRejection] = []


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


Status = Literal["open", "assigned", "handled", "review", "closed", "muted", "uncorroborated"]
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
    expected_risk: float | None = Field(None, description="expected risk in [0, 1] (预期风险): the model's probability "
                                        "and the rule's measured precision (docs/warning.md); the list's order")
    area_name: str | None = Field(None, description="an area alert (scope area, no members): its county and "
                                                    "industry in Chinese")
    unit_code: str | None = Field(None, description="the routing table's department code of the responsible unit")


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
                                                      f"{EVIDENCE_LIMIT}, triggers first)")
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


# --------------------------------------------------------------------------- the sealed draw package (auditors)
class SealedStratum(BaseModel):
    stratum: str = Field(description="internal stratum: <county>-<grade>, F for entities inspected regardless")
    size: int = Field(description="entities in the stratum (the population it was drawn from)")
    drawn: int
    inclusion_probability: float | None = Field(description="drawn / size: the chance each entity of the stratum "
                                                "had to be drawn (入样概率)")


class SealedEntity(BaseModel):
    uscc: str
    name: str | None = None
    region_code: str | None = None
    grade: str | None = None
    stratum: str
    selection: str
    inclusion_probability: float | None = None
    draw_key: str | None = None
    check_mode: str | None = None


class SealedPackage(BaseModel):
    """The sealed verification package of a published draw, for the auditor role (纪检/法制审核)."""
    plan_id: int
    as_of: str
    task: str
    algorithm: str
    seed: str
    salt: str
    commitment: str
    salt_commitment: str
    sealed_hash: str = Field(description="the hash of the sealed files, published with the draw")
    population_hash: str
    population: int = Field(description="entities that could be drawn")
    drawn: int
    files: dict[str, str] = Field(description="file name -> sha256 of the sealed files")
    strata: list[SealedStratum]
    selection: list[SealedEntity]


class PlanVerification(BaseModel):
    plan_id: int
    ok: bool
    checked: list[str] = Field(description="what was checked, in order")
    problem: str | None = Field(default=None, description="the first check that failed")
    seed: str | None = None
    commitment: str | None = None
    drawn: int | None = None


# --------------------------------------------------------------------------- path parameters
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="plan id")]
AlertId = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{16}$", description="alert id (16 hex digits)")]
Uscc = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{18}$")]
