"""Early warning (预警): alerts visible to the user, their detail and the disposition steps."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from ...service import alerts
from ..deps import Me, St
from ..schemas import (ALERT_ERRORS, STEP_ERRORS, AlertDetail, AlertEntity, AlertEvidence, AlertId, AlertLogEntry,
                       AlertLogVerdict, AlertOut, AlertPage, AlertRouting, AlertStepResult, AlertTarget,
                       AssignRequest, CloseRequest, HandleRequest, Severity, Status, TargetRequest)

router = APIRouter(tags=["alerts"])


def _alert_out(a: dict) -> AlertOut:
    return AlertOut(**{k: a.get(k) for k in AlertOut.model_fields})


def step_result(done: alerts.StepDone) -> AlertStepResult:
    return AlertStepResult(step=done.op, alert=_alert_out(done.alert), log_seq=done.seq, log_hash=done.hash,
                           detail=done.detail, task_id=done.task_id, added=done.added)


@router.get("/api/alerts", response_model=AlertPage, responses=ALERT_ERRORS)
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
    f = alerts.Filters(status, rule, severity, unit.strip() if unit else None, region, raised_from, raised_to)
    res, _ = alerts.listing(st, me, f, page, page_size)
    return AlertPage(total=res.total, page=page, page_size=page_size, by_status=res.by_status,
                     by_severity=res.by_severity, items=[_alert_out(a) for a in res.items])


@router.get("/api/alerts/log/verify", response_model=AlertLogVerdict, responses=ALERT_ERRORS)
def alert_log_verify(me: Me, st: St) -> AlertLogVerdict:
    """Check the warehouse's alert log (hash chain): names the first entry edited or deleted."""
    return AlertLogVerdict(**alerts.verify_log(st, me))


@router.get("/api/alerts/{alert_id}", response_model=AlertDetail, responses=ALERT_ERRORS)
def alert_detail(alert_id: AlertId, me: Me, st: St) -> AlertDetail:
    """An alert: its members and evidence in the user's region, routing, the disposition log, targets (audited)."""
    d = alerts.detail(st, me, alert_id.lower())
    return AlertDetail(
        **_alert_out(d).model_dump(), info=d["info"],
        entities=[AlertEntity(**m) for m in d["member_list"]], members_outside_region=d["members_outside_region"],
        evidence=[AlertEvidence(**e) for e in d["evidence"]], evidence_total=d["evidence_total"],
        log=[AlertLogEntry(**e) for e in d["log"]],
        routing=AlertRouting(unit_kind=d["unit_kind"], responsible_unit=d["responsible_unit"],
                             region_code=d.get("region_code"), region_name=d["region_name"]),
        targets=[AlertTarget(**x) for x in d["targets"]], next_steps=d["next_steps"])


@router.post("/api/alerts/{alert_id}/assign", response_model=AlertStepResult, responses=STEP_ERRORS)
def alert_assign(alert_id: AlertId, body: AssignRequest, me: Me, st: St) -> AlertStepResult:
    """Assign an alert (分办) to a unit or person: open or assigned -> assigned."""
    me.require("alerts.write")
    return step_result(alerts.perform(st, me.user, alert_id.lower(), "assign", to=body.to.strip(), note=body.note))


@router.post("/api/alerts/{alert_id}/handle", response_model=AlertStepResult, responses=STEP_ERRORS)
def alert_handle(alert_id: AlertId, body: HandleRequest, me: Me, st: St) -> AlertStepResult:
    """Record a disposition (处置: 提醒 / 警示 / 约谈 / 检查): assigned or handled -> handled."""
    me.require("alerts.write")
    return step_result(alerts.perform(st, me.user, alert_id.lower(), "handle", action=body.action, note=body.note))


@router.post("/api/alerts/{alert_id}/close", response_model=AlertStepResult, responses=STEP_ERRORS)
def alert_close(alert_id: AlertId, me: Me, st: St, body: CloseRequest | None = None) -> AlertStepResult:
    """Close a handled alert (办结): handled -> closed; a closed alert cannot change."""
    me.require("alerts.write")
    return step_result(alerts.perform(st, me.user, alert_id.lower(), "close", note=body.note if body else ""))


@router.post("/api/alerts/{alert_id}/target", response_model=AlertStepResult, responses=STEP_ERRORS)
def alert_target(alert_id: AlertId, body: TargetRequest, me: Me, st: St) -> AlertStepResult:
    """定向抽查: the alert's entities become targets of an inspection task in your region (every plan drawn for
    the task includes them); high-severity alerts, or rules marked inspect, and not closed."""
    me.require("alerts.target")
    return step_result(alerts.perform(st, me.user, alert_id.lower(), "target", task_id=body.task_id,
                                       reason=body.reason))
