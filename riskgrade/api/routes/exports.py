"""Exports (audited)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ...service import exports
from ..deps import Me, St
from ..schemas import ERRORS

router = APIRouter(tags=["exports"])


@router.get("/api/exports/grades", responses={**ERRORS, 200: {"content": {"text/csv": {}}}})
def export_grades(me: Me, st: St, as_of: dt.date | None = None):
    """The month's grades in the user's region as CSV (audited)."""
    month, text, _ = exports.grades_csv(st, me, as_of)
    return StreamingResponse(iter([text]), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="grades-{month}.csv"'})
