"""Request context: the registry, the signed-in user, permissions, region scope, audit, errors."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from ..registry import audit
from ..registry.models import Token, User
from ..registry.users import can, resolve_token

SESSION_COOKIE = "riskgrade_session"
CSRF_HEADER = "X-CSRF-Token"


class ApiError(Exception):
    """An error with a stable body: ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


@dataclass
class AppState:
    home: Path
    factory: sessionmaker[Session]
    key: bytes
    limiter: "RateLimiter"


@dataclass
class Principal:
    user: User
    token: Token
    via: str  # "bearer" or "session"

    def require(self, permission: str) -> None:
        if not can(self.user.role, permission):
            raise ApiError(403, "forbidden", f"the role {self.user.role} may not do this ({permission})")

    def scope(self, region_code: str | None) -> bool:
        return bool(region_code) and region_code.startswith(self.user.region_prefix)


class RateLimiter:
    """Login attempts in a sliding window of ``window`` seconds: at most ``per_user`` per user name and
    ``per_address`` per client address (an office behind one address has many users)."""

    def __init__(self, per_user: int = 10, per_address: int = 60, window: float = 60.0):
        self.per_user, self.per_address, self.window = per_user, per_address, window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            ok = True
            for k in keys:
                q = self._hits[k]
                while q and now - q[0] > self.window:
                    q.popleft()
                if len(q) >= (self.per_user if k.startswith("user:") else self.per_address):
                    ok = False
            if ok:
                for k in keys:
                    self._hits[k].append(now)
            return ok


def state(request: Request) -> AppState:
    return request.app.state.rg


def principal(request: Request, st: AppState = Depends(state)) -> Principal:
    """The signed-in user: a bearer token (API) or the console's session cookie (with CSRF on writes)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = resolve_token(st.factory, auth[7:].strip())
        if found is None:
            raise ApiError(401, "unauthenticated", "the token is unknown or has expired: log in again")
        return Principal(found[0], found[1], "bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = resolve_token(st.factory, cookie)
        if found is not None and found[1].kind == "session":
            if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get(CSRF_HEADER) != found[1].csrf:
                raise ApiError(403, "csrf", "missing or wrong CSRF token")
            return Principal(found[0], found[1], "session")
    raise ApiError(401, "unauthenticated", "log in first (POST /api/login) and send the token as a bearer token")


def record(st: AppState, who: Principal | str, action: str, target: str = "", detail: dict | None = None) -> None:
    name = who if isinstance(who, str) else who.user.username
    audit.append(st.factory, name, action, target, detail)


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)
