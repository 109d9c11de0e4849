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
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import RiskgradeError
from .models import ROLES, Token, User

SESSION_HOURS = 8
API_TOKEN_DAYS = 30
MAX_FAILED = 5          # failed logins before a lock
LOCK_MINUTES = 15
_ph = PasswordHasher()

PERMISSIONS: dict[str, set[str]] = {
    "entity.read": {"admin", "credit_officer", "inspector", "domain_officer"},   # individual grades and profiles
    "pii.read": {"admin", "inspector"},                                         # unmasked ids and phones
    "stats.read": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "plans.read": {"admin", "credit_officer", "inspector"},
    "plans.write": {"admin", "credit_officer"},
    "results.write": {"admin", "credit_officer", "inspector"},
    "export": {"admin", "credit_officer"},
    "audit.read": {"admin", "auditor"},
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
        if "password" in changes:
            check_password_strength(changes["password"])
            u.password_hash = _ph.hash(changes.pop("password"))
        for k, v in changes.items():
            setattr(u, k, v)
        if changes.get("disabled"):
            s.execute(delete(Token).where(Token.user_id == u.id))
        s.commit()
        return u


def list_users(factory: sessionmaker[Session]) -> list[User]:
    with factory() as s:
        return list(s.execute(select(User).order_by(User.username)).scalars())


class LoginFailed(RiskgradeError):
    pass


def authenticate(factory: sessionmaker[Session], username: str, password: str) -> User:
    now = dt.datetime.now()
    with factory() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if u is None:
            _ph.hash(password)  # same work whether or not the user exists
            raise LoginFailed("wrong user name or password")
        if u.disabled:
            raise LoginFailed("this account is disabled")
        if u.locked_until and u.locked_until > now:
            raise LoginFailed(f"too many failed logins: locked until {u.locked_until:%H:%M}")
        try:
            _ph.verify(u.password_hash, password)
        except (VerificationError, InvalidHashError):
            u.failed_logins += 1
            if u.failed_logins >= MAX_FAILED:
                u.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
                u.failed_logins = 0
            s.commit()
            raise LoginFailed("wrong user name or password") from None
        u.failed_logins, u.locked_until = 0, None
        s.commit()
        return u


def _h(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(factory: sessionmaker[Session], user: User, kind: str = "api") -> tuple[str, Token]:
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now().replace(microsecond=0)
    life = dt.timedelta(hours=SESSION_HOURS) if kind == "session" else dt.timedelta(days=API_TOKEN_DAYS)
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
