"""Signing in and out, and who is signed in."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...service import principal as principals
from ..deps import SESSION_COOKIE, EnrolMe, Me, St, client
from ..schemas import ERRORS, ErrorResponse, LoginRequest, LoginResponse, TotpConfirm, TotpEnrolled, TotpOffer, UserOut

router = APIRouter(tags=["auth"])


def _user(u) -> UserOut:
    return UserOut(username=u.username, display_name=u.display_name, role=u.role, region_prefix=u.region_prefix)


@router.post("/api/login", response_model=LoginResponse, responses={
    **ERRORS, 429: {"model": ErrorResponse, "description": "too many failed attempts for this user name or client "
                                                           "in the last minute (rate_limited; Retry-After: 60)"},
    503: {"model": ErrorResponse, "description": "two-factor sign-in is unavailable: the server does not hold the "
                                                 "key of the user's secret (totp_key_unavailable)"}})
def login(body: LoginRequest, request: Request, st: St) -> LoginResponse:
    # a user with two-factor sign-in (every administrator) also sends the one-time code (``code``)
    """Sign in with a user name and password; returns a bearer token."""
    secret, tok, user = principals.sign_in(st, body.username, body.password, client(request, st), "api",
                                           code=body.code)
    return LoginResponse(token=secret, expires_at=tok.expires_at, user=_user(user),
                         scope="totp_enrolment" if tok.kind == "enrol" else "full")


def _bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


@router.post("/api/me/totp", response_model=TotpOffer, responses={**ERRORS, 409: ERRORS[403]})
def totp_offer(me: EnrolMe, st: St) -> TotpOffer:
    """Begin two-factor enrolment: a new secret and its otpauth:// URI (nothing is stored yet).  Also with the
    enrolment-only token of an administrator without a second factor.  409 when one is set up already (an
    operator resets it: riskgrade user totp NAME).  Audited (totp_offer, never the secret)."""
    return TotpOffer(**principals.totp_offer(me, st, via="api"))


@router.post("/api/me/totp/confirm", response_model=TotpEnrolled, responses={**ERRORS, 409: ERRORS[403]})
def totp_confirm(body: TotpConfirm, request: Request, me: EnrolMe, st: St) -> TotpEnrolled:
    """Turn two-factor sign-in on with the offered secret and a code the authenticator shows for it (422 when
    the code does not match).  An enrolment-only token is spent and a full token returned.  Audited
    (totp_enrol)."""
    current = _bearer(request)
    new = principals.totp_confirm(st, me, body.secret, body.code, client(request, st), via="api", current=current,
                                  kind="api")
    if new is None:
        return TotpEnrolled(user=_user(me.user))
    found = principals.resolve(st, new)
    return TotpEnrolled(token=new, expires_at=found[1].expires_at if found else None, user=_user(me.user))


@router.post("/api/logout", status_code=204, responses=ERRORS)
def logout(request: Request, me: EnrolMe, st: St):
    """End this token or session."""  # an enrolment-only token too (EnrolMe)
    auth = request.headers.get("authorization", "")
    principals.sign_out(st, me, auth[7:].strip() if auth.lower().startswith("bearer ") else
                        request.cookies.get(SESSION_COOKIE, ""))


@router.get("/api/me", response_model=UserOut, responses=ERRORS)
def me_(me: Me) -> UserOut:
    """The signed-in user, role and region."""
    return _user(me.user)
