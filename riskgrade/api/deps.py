"""Request context for the API: the application's state, the signed-in user (bearer token, or the
console's session cookie with CSRF on writes), and the API's error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..service.errors import Refused
from ..service.principal import SESSION_COOKIE, resolve
from ..service.state import AppState, Principal

CSRF_HEADER = "X-CSRF-Token"

MAX_UPLOAD_MB = 50  # the largest request body an upload may send, counted while it streams

__all__ = ["CSRF_HEADER", "MAX_UPLOAD_MB", "SESSION_COOKIE", "ApiError", "AppState", "Body", "EnrolMe", "Me",
           "Principal", "St", "capped_body", "client", "principal", "state"]


class ApiError(Refused):
    """An error with a stable body: ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(status, code, message, headers=headers)


def state(request: Request) -> AppState:
    return request.app.state.rg


def principal(request: Request, st: AppState = Depends(state)) -> Principal:
    """The signed-in user: a bearer token (API) or the console's session cookie (with CSRF on writes)."""
    return _principal(request, st, enrolling=False)


def _principal(request: Request, st: AppState, enrolling: bool) -> Principal:
    """The signed-in user: a bearer token (API) or the console's session cookie (with CSRF on writes).  An
    ``enrol`` token (an administrator without a second factor) is refused with 403 ``totp_enrolment_required``
    everywhere but the enrolment endpoints (``enrolling``)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = resolve(st, auth[7:].strip())
        if found is not None and found[1].kind == "enrol":
            if enrolling:
                return Principal(found[0], found[1], "bearer")
            raise ApiError(403, "totp_enrolment_required", "this sign-in may only enrol a second factor: POST "
                           "/api/me/totp, then /api/me/totp/confirm (administrators sign in with a one-time code)")
        if found is None or found[1].kind not in ("api", "session"):  # never a pending sign-in
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


def enrolling_principal(request: Request, st: AppState = Depends(state)) -> Principal:
    """The signed-in user, or an administrator signed in only to enrol a second factor (an ``enrol`` token)."""
    return _principal(request, st, enrolling=True)


St = Annotated[AppState, Depends(state)]
Me = Annotated[Principal, Depends(principal)]
EnrolMe = Annotated[Principal, Depends(enrolling_principal)]


def client(request: Request, st: AppState) -> str:
    """The client's address: the peer, or ``X-Forwarded-For`` only from a configured trusted proxy."""
    return st.client(request.client.host if request.client else None, request.headers.get("x-forwarded-for"))


async def capped_body(request: Request) -> bytes:
    """The request body, counted while it streams: 413 as soon as it passes ``limit`` bytes, whether or not a
    ``Content-Length`` was sent (a chunked upload has none).  The body is then what ``request.body()`` and
    ``request.form()`` read."""
    limit = MAX_UPLOAD_MB * 1024 * 1024
    length = request.headers.get("content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
        raise ApiError(413, "too_large", f"the upload is larger than {limit // (1024 * 1024)} MB")
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise ApiError(413, "too_large", f"the upload is larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's cache: request.body() / request.form() read it instead of the stream
    return body


Body = Annotated[bytes, Depends(capped_body)]
