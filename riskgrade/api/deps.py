"""Request context for the API: the application's state, the signed-in user (bearer token, or the
console's session cookie with CSRF on writes), and the API's error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..service.audit import now, record
from ..service.errors import Refused
from ..service.principal import SESSION_COOKIE, resolve
from ..service.state import AppState, Principal, RateLimiter

CSRF_HEADER = "X-CSRF-Token"

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "ApiError", "AppState", "Me", "Principal", "RateLimiter", "St", "now",
           "principal", "record", "state"]


class ApiError(Refused):
    """An error with a stable body: ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(status, code, message, headers=headers)


def state(request: Request) -> AppState:
    return request.app.state.rg


def principal(request: Request, st: AppState = Depends(state)) -> Principal:
    """The signed-in user: a bearer token (API) or the console's session cookie (with CSRF on writes)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = resolve(st, auth[7:].strip())
        if found is None:
            raise ApiError(401, "unauthenticated", "the token is unknown or has expired: log in again")
        return Principal(found[0], found[1], "bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = resolve(st, cookie)
        if found is not None and found[1].kind == "session":
            if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get(CSRF_HEADER) != found[1].csrf:
                raise ApiError(403, "csrf", "missing or wrong CSRF token")
            return Principal(found[0], found[1], "session")
    raise ApiError(401, "unauthenticated", "log in first (POST /api/login) and send the token as a bearer token")


St = Annotated[AppState, Depends(state)]
Me = Annotated[Principal, Depends(principal)]
