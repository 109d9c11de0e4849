"""User administration within the administrator's region (``users.manage``), audited."""

from __future__ import annotations

import datetime as dt

from ..codes.regions import is_region_prefix
from ..errors import RiskgradeError
from ..registry.models import ROLES, User
from ..registry.users import add_user, list_users, update_user
from .audit import record, via_detail
from .errors import Refused
from .state import AppState, Principal


def users(st: AppState, me: Principal) -> list[User]:
    """The accounts whose region lies within the administrator's."""
    me.require("users.manage")
    return [u for u in list_users(st.factory) if u.region_prefix.startswith(me.region)]


def add(st: AppState, me: Principal, *, username: str, password: str, role: str, region: str,
        display_name: str = "", department: str | None = None, via: str | None = None) -> User:
    """A new account within the administrator's region (403 ``outside_region`` otherwise); a bad name, role,
    region or password raises :class:`~riskgrade.errors.RiskgradeError`."""
    me.require("users.manage")
    check_region(region)
    if not region.startswith(me.region):
        raise Refused(403, "forbidden", "the region is not within yours", "outside_region")
    u = add_user(st.factory, username, password, role, region, display_name, department or None)
    record(st, me, "user_add", u.username, {"role": u.role, "region": u.region_prefix, **via_detail(via),
                                            **({"department": u.department} if u.department else {})})
    return u


def check_region(region: str) -> None:
    """A user's region must be a current GB/T 2260 division (province, city or county): not 99, not 379999."""
    if not is_region_prefix(region):
        raise Refused(422, "invalid", f"{region!r} is not a current GB/T 2260 province (2 digits), city (4) or "
                      "county (6)", "invalid_region", {"region": region})


def region_choices(me: Principal) -> list[str]:
    """The divisions an administrator may give a user: his own, and the current cities and counties in it."""
    from ..codes.regions import table

    out = {me.region} if is_region_prefix(me.region) else set()
    for code, r in table().items():
        if not r.current or not code.startswith(me.region) or r.name == "市辖区":
            continue
        if r.level == "prefecture" and len(me.region) <= 2:
            out.add(code[:4])
        elif r.level == "county":
            out.add(code)
    return sorted(out)


def user(st: AppState, me: Principal, username: str) -> User:
    """One account within the administrator's region (403 ``outside_region`` for any other, existing or not)."""
    me.require("users.manage")
    target = next((u for u in list_users(st.factory) if u.username == username), None)
    if target is None or not target.region_prefix.startswith(me.region):
        raise Refused(403, "forbidden", "the user is not within your region", "outside_region")
    return target


def locked(u: User) -> bool:
    return bool(u.locked_until and u.locked_until > dt.datetime.now())


def change(st: AppState, me: Principal, username: str, *, role: str, region: str, department: str | None,
           display_name: str, via: str | None = None) -> User:
    """Change an account's role, region, department and display name (audited ``user_change`` with what was
    and what is).  The new region must be a current division within the administrator's; an administrator
    cannot change his own role or region (another administrator must)."""
    target = user(st, me, username)
    check_region(region)
    if not region.startswith(me.region):
        raise Refused(403, "forbidden", "the region is not within yours", "outside_region")
    if role not in ROLES:
        raise RiskgradeError(f"unknown role {role!r}")
    if target.id == me.user.id and (role != target.role or region != target.region_prefix):
        raise Refused(422, "invalid", "ask another administrator to change your own role or region",
                      "cannot_change_self")
    before = {"role": target.role, "region": target.region_prefix, "department": target.department,
              "display_name": target.display_name}
    u = update_user(st.factory, username, role=role, region_prefix=region, department=department or None,
                    display_name=display_name[:128])
    after = {"role": u.role, "region": u.region_prefix, "department": u.department, "display_name": u.display_name}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    record(st, me, "user_change", username, {"changed": changed, **via_detail(via)})
    return u


def unlock(st: AppState, me: Principal, username: str, via: str | None = None) -> None:
    """Lift a lock left by failed sign-ins (audited ``user_unlock``)."""
    user(st, me, username)
    update_user(st.factory, username, failed_logins=0, locked_until=None)
    record(st, me, "user_unlock", username, via_detail(via))


def reset_password(st: AppState, me: Principal, username: str, password: str, via: str | None = None) -> None:
    """Set a new password (the same strength rules as a new account), end the user's sessions, lift any lock
    (audited ``user_password_reset``; the password itself is never recorded)."""
    target = user(st, me, username)
    if target.id == me.user.id:
        raise Refused(422, "invalid", "change your own password another way", "cannot_reset_self")
    update_user(st.factory, username, password=password, failed_logins=0, locked_until=None)
    record(st, me, "user_password_reset", username, via_detail(via))


def set_disabled(st: AppState, me: Principal, username: str, disabled: bool, via: str | None = None) -> None:
    """Disable or enable an account within the administrator's region (never one's own)."""
    target = user(st, me, username)
    if disabled and target.id == me.user.id:
        raise Refused(422, "invalid", "you cannot disable yourself", "cannot_disable_self")
    update_user(st.factory, username, disabled=disabled)
    record(st, me, "user_disable" if disabled else "user_enable", username, via_detail(via))
