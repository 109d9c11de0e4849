"""Signing in and out, and who is signed in."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...service import principal as principals
from ..deps import SESSION_COOKIE, Me, St, client
from ..schemas import ERRORS, LoginRequest, LoginResponse, UserOut

router = APIRouter(tags=["auth"])


def _user(u) -> UserOut:
    return UserOut(username=u.username, display_name=u.display_name, role=u.role, region_prefix=u.region_prefix)


@router.post("/api/login", response_model=LoginResponse, responses=ERRORS)
def login(body: LoginRequest, request: Request, st: St) -> LoginResponse:
    # a user with two-factor sign-in (every administrator) also sends the one-time code (``code``)
    """Sign in with a user name and password; returns a bearer token."""
    secret, tok, user = principals.sign_in(st, body.username, body.password, client(request, st), "api",
                                           code=body.code)
    return LoginResponse(token=secret, expires_at=tok.expires_at, user=_user(user))


@router.post("/api/logout", status_code=204, responses=ERRORS)
def logout(request: Request, me: Me, st: St):
    """End this token or session."""
    auth = request.headers.get("authorization", "")
    principals.sign_out(st, me, auth[7:].strip() if auth.lower().startswith("bearer ") else
                        request.cookies.get(SESSION_COOKIE, ""))


@router.get("/api/me", response_model=UserOut, responses=ERRORS)
def me_(me: Me) -> UserOut:
    """The signed-in user, role and region."""
    return _user(me.user)
