"""The audit log and its check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...service import audit
from ..deps import Me, St
from ..schemas import ERRORS, AuditOut, AuditVerdict

router = APIRouter(tags=["audit"])


@router.get("/api/audit", response_model=list[AuditOut], responses=ERRORS)
def audit_log(me: Me, st: St, page: Annotated[int, Query(ge=1, le=1000000)] = 1,
              page_size: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
    """Audit entries, newest first."""
    return [AuditOut(**e) for e in audit.entries(st, me, page, page_size)]


@router.get("/api/audit/verify", response_model=AuditVerdict, responses=ERRORS)
def audit_verify(me: Me, st: St) -> AuditVerdict:
    """Check the audit chain: names the first edited or deleted entry."""
    v = audit.verify(st, me)
    return AuditVerdict(ok=v.ok, entries=v.entries, head_id=v.head_id, head_hash=v.head_hash, problem=v.problem,
                        bad_id=v.bad_id)
