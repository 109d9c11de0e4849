"""The audit chain as the service writes and reads it."""

from __future__ import annotations

import datetime as dt
import json

from ..registry import audit, queries
from .state import AppState, Principal


def record(st: AppState, who: Principal | str, action: str, target: str = "", detail: dict | None = None) -> None:
    """Append an entry under the user's name (or a name such as ``system``)."""
    name = who if isinstance(who, str) else who.user.username
    audit.append(st.factory, name, action, target, detail)


def via_detail(via: str | None) -> dict:
    """The audit detail naming the face an action came through (``console``, ``api``), empty for the CLI."""
    return {"via": via} if via else {}


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def entries(st: AppState, me: Principal, page: int, page_size: int) -> list[dict]:
    """Audit entries, newest first (``audit.read``)."""
    me.require("audit.read")
    return [{"id": r.id, "at": r.at, "username": r.username, "action": r.action, "target": r.target,
             "detail": json.loads(r.detail or "{}")} for r in queries.audit_entries(st.factory, (page - 1) * page_size,
                                                                                    page_size)]


def log_page(st: AppState, me: Principal, page: int, page_size: int) -> tuple[int, list]:
    """(entries in all, one page of the registry's entries, newest first) for the console."""
    me.require("audit.read")
    return queries.audit_count(st.factory), queries.audit_entries(st.factory, (page - 1) * page_size, page_size)


def verify(st: AppState, me: Principal, via: str | None = None) -> audit.Verdict:
    """Check the chain (names the first edited or deleted entry); the check is itself audited."""
    me.require("audit.read")
    v = audit.verify(st.factory)
    record(st, me, "audit_verify", "", {"ok": v.ok, **via_detail(via)})
    return v
