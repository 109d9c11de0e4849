"""Local accounts: argon2 password hashes, roles, region scope, bearer tokens and console sessions.

Roles (``ROLES``): administrator, credit officer (信用监管), inspector (执法人员), domain officer
(专业领域: with a ``department``, the alerts routed to it), analyst (statistics only, read-only) and
auditor (the audit log, and alerts read-only).  A user's
``region_prefix`` is a GB/T 2260 prefix: ``37`` the province, ``3701`` a city, ``370102`` a county;
the same rule scopes every endpoint and export.  Tokens are random secrets of which only the
sha256 is stored; console sessions expire after ``SESSION_HOURS`` and lock after repeated failures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pathlib import Path

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from ..errors import RiskgradeError
from .models import ROLES, LoginAttempt, Token, User
from .totp_key import TotpKeys, is_sealed, totp_keys

SESSION_HOURS = 8
API_TOKEN_DAYS = 30
MAX_FAILED = 5          # failed logins before a lock
LOCK_MINUTES = 15
THROTTLE_SECONDS = 60   # the login throttle's window: failed attempts counted in the registry, shared by workers
THROTTLE_PER_USER = 10  # failed attempts a window per user name
THROTTLE_PER_CLIENT = 60  # ... per client address (an office behind one address has many users)
PENDING_MINUTES = 5     # a console sign-in waiting for its one-time code (token kind "pending")
ENROL_MINUTES = 15      # an administrator without TOTP signed in only to enrol (token kind "enrol")
LOGIN_FAILED = "wrong user name or password, or the account is locked or disabled"  # the one answer to every failure
TOTP_ISSUER = "riskgrade"
_ph = PasswordHasher()
_DUMMY_HASH = _ph.hash("riskgrade-dummy-password-0")  # verified for unknown users: the same work as a real check

PERMISSIONS: dict[str, set[str]] = {
    "entity.read": {"admin", "credit_officer", "inspector", "domain_officer"},   # individual grades and profiles
    "pii.read": {"admin", "inspector"},                                         # unmasked ids and phones
    "stats.read": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "plans.read": {"admin", "credit_officer", "inspector"},
    "plans.write": {"admin", "credit_officer"},
    "results.write": {"admin", "credit_officer", "inspector"},
    "export": {"admin", "credit_officer"},
    "audit.read": {"admin", "auditor"},
    # the sealed package of a published draw (strata, grades, inclusion probabilities, salt) and its verification:
    # the auditor (纪检/法制审核) and administrators only
    "plans.sealed": {"admin", "auditor"},
    "users.manage": {"admin"},
    "publish": {"admin", "credit_officer"},
    # early warning (预警): alerts whose members are in the user's region; a domain officer only those routed to
    # the user's department; analysts see counts only (stats.read), auditors read the alerts and their log
    "alerts.read": {"admin", "credit_officer", "inspector", "domain_officer", "auditor"},
    "alerts.write": {"admin", "credit_officer", "inspector", "domain_officer"},    # assign, handle, close
    "alerts.target": {"admin", "credit_officer"},                                  # 定向抽查 into a task's plans
}


def can(role: str, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, set())


def check_password_strength(pw: str) -> None:
    if len(pw) < 10 or not re.search(r"[A-Za-z]", pw) or not re.search(r"\d", pw):
        raise RiskgradeError("a password needs at least 10 characters with letters and digits")


def check_department(department: str | None) -> str | None:
    d = (department or "").strip()
    if len(d) > 128:
        raise RiskgradeError("a department name has at most 128 characters")
    return d or None


def add_user(factory: sessionmaker[Session], username: str, password: str, role: str, region_prefix: str,
             display_name: str = "", department: str | None = None) -> User:
    if role not in ROLES:
        raise RiskgradeError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if not re.fullmatch(r"\d{2}(\d{2}(\d{2})?)?", region_prefix):
        raise RiskgradeError(f"region {region_prefix!r}: a GB/T 2260 prefix of 2, 4 or 6 digits")
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,64}", username):
        raise RiskgradeError(f"user name {username!r}: 2-64 letters, digits or _.@-")
    check_password_strength(password)
    department = check_department(department)
    with factory() as s:
        if s.execute(select(User).where(User.username == username)).scalar_one_or_none():
            raise RiskgradeError(f"user {username} exists already")
        u = User(username=username, display_name=display_name or username, password_hash=_ph.hash(password),
                 role=role, region_prefix=region_prefix, department=department, disabled=False, failed_logins=0,
                 created_at=dt.datetime.now().replace(microsecond=0))
        s.add(u)
        s.commit()
        return u


def get_user(factory: sessionmaker[Session], username: str) -> User:
    with factory() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if u is None:
        raise RiskgradeError(f"no user {username}")
    return u


def update_user(factory: sessionmaker[Session], username: str, **changes) -> User:
    with factory() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if u is None:
            raise RiskgradeError(f"no user {username}")
        if "role" in changes and changes["role"] not in ROLES:
            raise RiskgradeError(f"unknown role {changes['role']!r}: one of {', '.join(ROLES)}")
        if "department" in changes:
            changes["department"] = check_department(changes["department"])
        new_password = "password" in changes
        if new_password:
            check_password_strength(changes["password"])
            u.password_hash = _ph.hash(changes.pop("password"))
        for k, v in changes.items():
            setattr(u, k, v)
        if changes.get("disabled") or new_password:  # a disabled account or a new password ends every session
            s.execute(delete(Token).where(Token.user_id == u.id))
        s.commit()
        return u


def list_users(factory: sessionmaker[Session]) -> list[User]:
    with factory() as s:
        return list(s.execute(select(User).order_by(User.username)).scalars())


class LoginFailed(RiskgradeError):
    """A refused sign-in: the one message for the client, and the reason for the audit log only."""

    def __init__(self, message: str = LOGIN_FAILED, reason: str = "password"):
        super().__init__(message)
        self.reason = reason


def authenticate(factory: sessionmaker[Session], username: str, password: str) -> User:
    """The user whose password this is, active and not locked; otherwise :class:`LoginFailed` with one message
    (:data:`LOGIN_FAILED`) whatever the reason (unknown user, wrong password, locked or disabled account), after
    the same argon2 work (a dummy hash is verified for an unknown user)."""
    now = dt.datetime.now()
    with factory() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        try:
            _ph.verify(u.password_hash if u is not None else _DUMMY_HASH, password)
            good = u is not None
        except (VerificationError, InvalidHashError):
            good = False
        if u is None or u.disabled or (u.locked_until and u.locked_until > now):
            raise LoginFailed(LOGIN_FAILED, "unknown" if u is None else "disabled" if u.disabled else "locked")
        if not good:
            fail(s, u, now)
            raise LoginFailed(LOGIN_FAILED, "password") from None
        if not u.totp_secret:  # with a second factor, the count starts again only once the code is right
            u.failed_logins, u.locked_until = 0, None
        s.commit()
        return u


def fail(s: Session, u: User, now: dt.datetime) -> None:
    """One more failure of an account (a wrong password or one-time code); the account locks after
    ``MAX_FAILED``.  Commits."""
    u.failed_logins += 1
    if u.failed_logins >= MAX_FAILED:
        u.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        u.failed_logins = 0
    s.commit()


# --------------------------------------------------------------------------- the login throttle (shared)
_THROTTLE_LOCK = 7281947  # PostgreSQL advisory lock of the throttle (the audit chain's is 7281946)


def _serialise(s: Session) -> None:
    """Take the throttle's write lock for this transaction: count-then-insert is then atomic across threads,
    workers and servers.  PostgreSQL: a transaction-scoped advisory lock; SQLite: the database's write lock,
    taken by a first write (the delete of expired rows), so the count that follows sees every committed row."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text(f"SELECT pg_advisory_xact_lock({_THROTTLE_LOCK})"))


def reserve_attempt(factory: sessionmaker[Session], username: str, client: str) -> int | None:
    """Count this sign-in attempt against the throttle, atomically: None when the user name or the client
    address has used up its attempts in the window (nothing is written); otherwise the id of the attempt's row,
    written in the same transaction as the count.  The row stands for a failure until :func:`release_attempt`
    removes it (the attempt succeeded), so N attempts racing through two workers can never pass the limit."""
    now = dt.datetime.now()
    since = now - dt.timedelta(seconds=THROTTLE_SECONDS)
    with factory() as s:
        _serialise(s)
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < since))  # SQLite: this write takes the lock
        by_user = s.execute(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username[:64], LoginAttempt.at > since)).scalar_one()
        by_client = s.execute(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.client == client[:64], LoginAttempt.at > since)).scalar_one()
        if by_user >= THROTTLE_PER_USER or by_client >= THROTTLE_PER_CLIENT:
            s.rollback()
            return None
        row = LoginAttempt(username=username[:64], client=client[:64], at=now)
        s.add(row)
        s.commit()
        return row.id


def release_attempt(factory: sessionmaker[Session], attempt_id: int | None) -> None:
    """The attempt succeeded: it no longer counts as a failure."""
    if attempt_id is None:
        return
    with factory() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        s.commit()


def throttled(factory: sessionmaker[Session], username: str, client: str) -> bool:
    """Whether the user name or the client address has used up its failed attempts in the window (a read only;
    the sign-in itself uses :func:`reserve_attempt`, which counts and records in one locked transaction)."""
    since = dt.datetime.now() - dt.timedelta(seconds=THROTTLE_SECONDS)
    with factory() as s:
        by_user = s.execute(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username[:64], LoginAttempt.at > since)).scalar_one()
        if by_user >= THROTTLE_PER_USER:
            return True
        by_client = s.execute(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.client == client[:64], LoginAttempt.at > since)).scalar_one()
        return by_client >= THROTTLE_PER_CLIENT


def note_failure(factory: sessionmaker[Session], username: str, client: str) -> None:
    """Count a failed attempt that was not reserved (and forget those older than the window)."""
    now = dt.datetime.now()
    with factory() as s:
        _serialise(s)
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(seconds=THROTTLE_SECONDS)))
        s.add(LoginAttempt(username=username[:64], client=client[:64], at=now))
        s.commit()


# --------------------------------------------------------------------------- two-factor sign-in (TOTP)
def totp_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app takes (typed in, or scanned as a QR code elsewhere)."""
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def new_totp_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def totp_step(secret: str, code: str, after: int | None = None, at: float | None = None) -> int | None:
    """The time step (30 s) at which ``code`` is this secret's code, allowing one step of clock drift either
    way and never a step at or before ``after`` (a code is used once); None when it is not."""
    import time

    import pyotp

    code = (code or "").strip().replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    t = pyotp.TOTP(secret)
    now = int(time.time() if at is None else at)
    for drift in (0, -1, 1):
        step = now // 30 + drift
        if (after is None or step > after) and hmac.compare_digest(t.generate_otp(step), code):
            return step
    return None


def _home(factory: sessionmaker[Session]) -> Path | None:
    home = getattr(factory, "riskgrade_home", None)
    if home is None:
        url = factory.kw["bind"].url
        home = Path(url.database).parent if url.get_backend_name() == "sqlite" and url.database else None
    return home


def totp_keys_of(factory: sessionmaker[Session]) -> TotpKeys:
    """The keys that encrypt this registry's two-factor secrets (:mod:`.totp_key`; the key file is made on first
    use); the first use in a process also encrypts every secret an older riskgrade stored in plain text
    (:func:`seal_plaintext`)."""
    keys = totp_keys(_home(factory), create=True)
    if not getattr(factory, "riskgrade_totp_sealed", False) and keys.current is not None:
        seal_plaintext(factory, keys)
        factory.riskgrade_totp_sealed = True
    return keys


def seal_plaintext(factory: sessionmaker[Session], keys: TotpKeys | None = None) -> int:
    """Encrypt every two-factor secret stored in plain text (by riskgrade before 0006); returns how many."""
    keys = keys or totp_keys(_home(factory), create=True)
    n = 0
    with factory() as s:
        for u in s.execute(select(User).where(User.totp_secret.is_not(None))).scalars():
            if not is_sealed(u.totp_secret):
                u.totp_secret = keys.encrypt(u.totp_secret, u.id)
                n += 1
        s.commit()
    return n


def totp_secret(factory: sessionmaker[Session], username: str) -> str | None:
    """A user's two-factor secret in plain text (for the operator's tools; never logged).  Raises
    :class:`TotpKeyError` when this process does not hold its key."""
    u = get_user(factory, username)
    if not u.totp_secret:
        return None
    return totp_keys_of(factory).decrypt(u.totp_secret, u.id)


def set_totp(factory: sessionmaker[Session], username: str, secret: str | None, step: int | None = None) -> User:
    """Enrol (a new secret, stored encrypted; ``step``: the step of the code that confirmed it) or remove
    two-factor sign-in."""
    keys = totp_keys_of(factory) if secret is not None else None
    with factory() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if u is None:
            raise RiskgradeError(f"no user {username}")
        u.totp_secret, u.totp_last_step = (keys.encrypt(secret, u.id) if keys else None), step
        s.commit()
        return u


def check_code(factory: sessionmaker[Session], user_id: int, code: str) -> User:
    """The second factor: the user's current one-time code, once.  A wrong code counts as a failed login (the
    account locks after ``MAX_FAILED``); :class:`LoginFailed` with the one message otherwise.  Raises
    :class:`TotpKeyError` when this process does not hold the key of the user's secret (not counted)."""
    now = dt.datetime.now()
    keys = totp_keys_of(factory)
    with factory() as s:
        u = s.get(User, user_id)
        if u is None or u.disabled or (u.locked_until and u.locked_until > now) or not u.totp_secret:
            raise LoginFailed(LOGIN_FAILED, "locked_or_disabled")
        secret = keys.decrypt(u.totp_secret, u.id)  # TotpKeyError: the server's key, not the user's failure
        step = totp_step(secret, code, u.totp_last_step)
        if step is None:
            fail(s, u, now)
            raise LoginFailed(LOGIN_FAILED, "code")
        u.totp_last_step, u.failed_logins, u.locked_until = step, 0, None
        s.commit()
        return u


def _h(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(factory: sessionmaker[Session], user: User, kind: str = "api") -> tuple[str, Token]:
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now().replace(microsecond=0)
    life = (dt.timedelta(hours=SESSION_HOURS) if kind == "session" else
            dt.timedelta(minutes=ENROL_MINUTES) if kind == "enrol" else
            dt.timedelta(minutes=PENDING_MINUTES) if kind == "pending" else dt.timedelta(days=API_TOKEN_DAYS))
    t = Token(token_hash=_h(secret), user_id=user.id, kind=kind, csrf=secrets.token_urlsafe(24), created_at=now,
              expires_at=now + life)
    with factory() as s:
        s.add(t)
        s.commit()
    return secret, t


def resolve_token(factory: sessionmaker[Session], secret: str) -> tuple[User, Token] | None:
    if not secret:
        return None
    with factory() as s:
        t = s.get(Token, _h(secret))
        if t is None or t.expires_at < dt.datetime.now():
            return None
        u = s.get(User, t.user_id)
        if u is None or u.disabled:
            return None
        return u, t


def revoke_token(factory: sessionmaker[Session], secret: str) -> None:
    with factory() as s:
        s.execute(delete(Token).where(Token.token_hash == _h(secret)))
        s.commit()


def in_scope(user: User, region_code: str | None) -> bool:
    return bool(region_code) and region_code.startswith(user.region_prefix)


def mask(value: str | None) -> str | None:
    """Personal identifiers for roles that do not need them: the first two and last two characters."""
    if not value:
        return value
    return value[:2] + "*" * max(len(value) - 4, 2) + value[-2:] if len(value) > 4 else "****"
