"""Who is signed in, and the rules that follow from it: signing in and out, tokens and sessions, and the
one rule for personal identifiers (``pii.read``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..registry.models import Token, User
from ..registry.totp_key import TotpKeyError
from ..registry.users import (LOGIN_FAILED, LoginFailed, authenticate, can, check_code, issue_token,
                              mask, new_totp_secret, release_attempt, reserve_attempt, resolve_token, revoke_token,
                              set_totp, totp_step, totp_uri)
from .audit import record, via_detail
from .errors import Refused
from .state import AppState, Principal

PII_PERMISSION = "pii.read"
SESSION_COOKIE = "riskgrade_session"  # the console's session (the API takes it too, with CSRF on writes)


def reads_pii(user: User) -> bool:
    """The one rule for personal identifiers (the legal representative's id, phones): shown in full to a
    role holding ``pii.read`` (``registry.users.PERMISSIONS``), masked for every other, in the API and the
    console alike."""
    return can(user.role, PII_PERMISSION)


def shown(user: User, value: str | None) -> str | None:
    """A personal identifier as this user may see it: in full, or masked."""
    return value if reads_pii(user) else mask(value)


def resolve(st: AppState, secret: str) -> tuple[User, Token] | None:
    """The user and token of a bearer token or session cookie; None when unknown or expired."""
    return resolve_token(st.factory, secret) if secret else None


def session_of(st: AppState, secret: str) -> Principal | None:
    """The console's signed-in user, from its session cookie (an API token is no session)."""
    found = resolve(st, secret)
    if found is None or found[1].kind != "session":
        return None
    return Principal(found[0], found[1], "session")


@dataclass
class SignedIn:
    """The outcome of a password accepted: ``step`` ``done`` (a token or session), ``code`` (a console sign-in
    waiting for its one-time code: a ``pending`` token) or ``enrol`` (an administrator without a second factor:
    an ``enrol`` session that may only enrol one)."""
    secret: str
    token: Token
    user: User
    step: str


def needs_totp(st: AppState, user: User) -> bool:
    """Administrators must sign in with a one-time code (unless the setting ``require_admin_totp`` is off, in
    tests only); every other user may enrol one, and then must give it."""
    return bool(user.totp_secret) or (st.require_admin_totp and user.role == "admin")


def _failed(st: AppState, username: str, client: str, via: str | None, why: str) -> Refused:
    """A failed attempt (its row in the throttle was written when it was reserved): audited, one answer."""
    record(st, username[:64] or "?", "login_failed", client, {**via_detail(via), "why": why})
    return Refused(401, "login_failed", LOGIN_FAILED, "login_failed")


def _reserve(st: AppState, username: str, client: str) -> int:
    """Count the attempt against the throttle before any check (atomically, in the registry: racing workers
    cannot pass the limit together); 429 ``rate_limited`` once the user name or the client has used it up."""
    attempt = reserve_attempt(st.factory, username, client)
    if attempt is None:
        raise Refused(429, "rate_limited", "too many login attempts: wait a minute", "login_rate_limited",
                      headers={"Retry-After": "60"})
    return attempt


def _password(st: AppState, username: str, password: str, client: str, via: str | None) -> User:
    attempt = _reserve(st, username, client)
    try:
        user = authenticate(st.factory, username, password)
    except LoginFailed as e:
        raise _failed(st, username, client, via, e.reason) from None
    release_attempt(st.factory, attempt)
    return user


def _code(st: AppState, user: User, code: str, client: str, via: str | None) -> User:
    attempt = _reserve(st, user.username, client)
    try:
        user = check_code(st.factory, user.id, code)
    except LoginFailed as e:
        raise _failed(st, user.username, client, via, e.reason) from None
    except TotpKeyError as e:  # the server cannot read the secret: the operator's key, not the user's failure
        release_attempt(st.factory, attempt)
        record(st, user.username, "login_refused", client, {"why": "totp_key", **via_detail(via)})
        raise Refused(503, "totp_key_unavailable", f"two-factor sign-in is unavailable: {e} (ask the operator)",
                      "totp_key_unavailable") from None
    release_attempt(st.factory, attempt)
    return user


def sign_in(st: AppState, username: str, password: str, client: str, kind: str = "api",
            via: str | None = None, code: str | None = None) -> tuple[str, Token, User]:
    """Check the password and, for a user with two-factor sign-in (every administrator), the one-time ``code``;
    then issue a token (``api``) or a console session (``session``); both outcomes are audited.  Attempts are
    counted in the registry per user name and client address (shared by every worker, atomically) and every
    failure answers the same.  An administrator without a second factor gets an ``enrol`` token (15 minutes)
    that may only enrol one (``POST /api/me/totp``, ``/api/me/totp/confirm``), which then gives a full token.
    Raises :class:`Refused` 429 ``rate_limited``, 401 ``login_failed``, 401 ``totp_required`` (the password was
    right: send it again with ``code``) or 503 ``totp_key_unavailable`` (the server lacks the secrets' key)."""
    user = _password(st, username, password, client, via)
    if needs_totp(st, user):
        if not user.totp_secret:
            secret, tok = issue_token(st.factory, user, "enrol")
            record(st, user.username, "login_enrol_only", client, via_detail(via))
            return secret, tok, user
        if not code:
            raise Refused(401, "totp_required", "give the one-time code of your authenticator app (field code)",
                          "totp_required")
        user = _code(st, user, code, client, via)
    secret, tok = issue_token(st.factory, user, kind)
    record(st, user.username, "login", client, {**via_detail(via),
                                                **({"second_factor": "totp"} if user.totp_secret else {})})
    return secret, tok, user


def begin_console(st: AppState, username: str, password: str, client: str) -> SignedIn:
    """The console's first step, the password: a session (``done``), a pending sign-in waiting for the one-time
    code (``code``), or an administrator's session that may only enrol a second factor (``enrol``)."""
    user = _password(st, username, password, client, "console")
    if needs_totp(st, user):
        kind, step = ("pending", "code") if user.totp_secret else ("enrol", "enrol")
        secret, tok = issue_token(st.factory, user, kind)
        record(st, user.username, "login_password_ok" if step == "code" else "login_enrol_only", client,
               {"via": "console"})
        return SignedIn(secret, tok, user, step)
    secret, tok = issue_token(st.factory, user, "session")
    record(st, user.username, "login", client, {"via": "console"})
    return SignedIn(secret, tok, user, "done")


def pending_of(st: AppState, secret: str, kind: str = "pending") -> Principal | None:
    """The user of a pending sign-in (``pending``) or of an enrol-only session (``enrol``)."""
    found = resolve(st, secret)
    if found is None or found[1].kind != kind:
        return None
    return Principal(found[0], found[1], kind)


def finish_console(st: AppState, pending: str, code: str, client: str) -> SignedIn:
    """The console's second step: the one-time code of a pending sign-in; the pending token is spent and a
    session issued.  401 ``login_failed`` (the pending sign-in stays, until the account locks or it expires)."""
    p = pending_of(st, pending)
    if p is None:
        raise Refused(401, "login_failed", "the sign-in has expired: give the password again", "login_expired")
    user = _code(st, p.user, code, client, "console")
    revoke_token(st.factory, pending)
    secret, tok = issue_token(st.factory, user, "session")
    record(st, user.username, "login", client, {"via": "console", "second_factor": "totp"})
    return SignedIn(secret, tok, user, "done")


# --------------------------------------------------------------------------- enrolling a second factor
def totp_offer(me: Principal, st: AppState | None = None, via: str | None = None) -> dict:
    """A new secret for the user to enrol, with its ``otpauth://`` URI (shown as text).  Nothing is stored
    until a code confirms it; a user who has one already must have it reset by an operator.  Given ``st``, the
    offer is audited (``totp_offer``, never the secret)."""
    if me.user.totp_secret:
        raise Refused(409, "conflict", "two-factor sign-in is set up already", "totp_already")
    secret = new_totp_secret()
    if st is not None:
        record(st, me, "totp_offer", me.user.username, {"via": via} if via else None)
    return {"secret": secret, "uri": totp_uri(secret, me.user.username)}


def totp_confirm(st: AppState, me: Principal, secret: str, code: str, client: str,
                 via: str | None = None, current: str = "", kind: str = "session") -> str | None:
    """Enrol ``secret`` once ``code`` proves the authenticator has it (audited ``totp_enrol``; the secret is
    never logged).  An enrol-only sign-in (``current``: its secret) is spent and a full one of ``kind`` (a console
    ``session``, or an ``api`` token) returned (its secret); otherwise None."""
    if me.user.totp_secret:
        raise Refused(409, "conflict", "two-factor sign-in is set up already", "totp_already")
    if not (isinstance(secret, str) and 16 <= len(secret) <= 64 and secret.isalnum() and secret.isupper()):
        raise Refused(422, "invalid", "not a base32 secret", "totp_bad_code")
    step = totp_step(secret, code)
    if step is None:
        raise Refused(422, "invalid", "the code does not match: check the device's clock and try again",
                      "totp_bad_code")
    me.user.totp_secret = set_totp(st.factory, me.user.username, secret, step).totp_secret
    record(st, me, "totp_enrol", me.user.username, {"via": via} if via else None)
    if me.token.kind != "enrol":
        return None
    revoke_token(st.factory, current)
    new, _ = issue_token(st.factory, me.user, kind)
    record(st, me.user.username, "login", client, {"via": via or "console", "second_factor": "totp"})
    return new


def sign_out(st: AppState, me: Principal, secret: str, via: str | None = None) -> None:
    """End this token or session (audited)."""
    revoke_token(st.factory, secret)
    record(st, me, "logout", "", {"via": via} if via else None)
