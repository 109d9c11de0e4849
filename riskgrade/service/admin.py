"""User administration within the administrator's region (``users.manage``), audited."""

from __future__ import annotations

from ..registry.models import User
from ..registry.users import add_user, list_users, update_user
from .audit import record
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
    if not region.startswith(me.region):
        raise Refused(403, "forbidden", "the region is not within yours", "outside_region")
    u = add_user(st.factory, username, password, role, region, display_name, department or None)
    record(st, me, "user_add", u.username, {"role": u.role, "region": u.region_prefix, **({"via": via} if via else {}),
                                            **({"department": u.department} if u.department else {})})
    return u


def set_disabled(st: AppState, me: Principal, username: str, disabled: bool, via: str | None = None) -> None:
    """Disable or enable an account within the administrator's region (never one's own)."""
    me.require("users.manage")
    target = next((u for u in list_users(st.factory) if u.username == username), None)
    if target is None or not target.region_prefix.startswith(me.region):
        raise Refused(403, "forbidden", "the user is not within your region", "outside_region")
    if disabled and target.id == me.user.id:
        raise Refused(422, "invalid", "you cannot disable yourself", "cannot_disable_self")
    update_user(st.factory, username, disabled=disabled)
    record(st, me, "user_disable" if disabled else "user_enable", username, {"via": via} if via else {})
