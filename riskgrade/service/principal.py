"""Who is signed in, and the rules that follow from it: signing in and out, tokens and sessions, and the
one rule for personal identifiers (``pii.read``)."""

from __future__ import annotations

from ..registry.models import Token, User
from ..registry.users import LoginFailed, authenticate, can, issue_token, mask, resolve_token, revoke_token
from .audit import record
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


def sign_in(st: AppState, username: str, password: str, client: str, kind: str = "api",
            via: str | None = None) -> tuple[str, Token, User]:
    """Check the password (rate-limited per user name and client address; accounts lock after repeated
    failures) and issue a token (``api``) or a console session (``session``); both outcomes are audited.
    Raises :class:`Refused` 429 ``rate_limited`` or 401 ``login_failed``."""
    if not st.limiter.allow(f"ip:{client}", f"user:{username}"):
        raise Refused(429, "rate_limited", "too many login attempts: wait a minute", "login_rate_limited")
    try:
        user = authenticate(st.factory, username, password)
    except LoginFailed as e:
        record(st, username[:64] or "?", "login_failed", client, {"via": via, "why": str(e)} if via else None)
        raise Refused(401, "login_failed", str(e), "login_failed") from None
    secret, tok = issue_token(st.factory, user, kind)
    record(st, user.username, "login", client, {"via": via} if via else None)
    return secret, tok, user


def sign_out(st: AppState, me: Principal, secret: str, via: str | None = None) -> None:
    """End this token or session (audited)."""
    revoke_token(st.factory, secret)
    record(st, me, "logout", "", {"via": via} if via else None)
