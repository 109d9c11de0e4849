"""Who an alert is assigned to (承办): a user or a unit, never free text.

Stored in ``alerts.assignee`` as

* ``user:<username>`` - an existing, active user who may handle alerts (``alerts.write``) and whose region
  covers the alert's (the alert's county starts with the user's region prefix);
* ``unit:<region>`` or ``unit:<region>:<department code>`` - a unit as routing names them: a GB/T 2260
  region (the county market-supervision bureau when no department is given) and, optionally, a department
  code of the routing table.  The unit's region covers the alert's county, and lies in the assigner's region.

:func:`parse` accepts what a person types: ``user:zhang`` or a bare user name, ``370102``, ``370102:health``
or ``370102/health``.  Anything else is refused with a message in Chinese and English.  Assignees written
before (free text) stay as they were and are shown as written (:func:`label`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..codes import regions
from ..registry.users import can
from .errors import Refused

UNIT = re.compile(r"(?:unit:)?(\d{2}|\d{4}|\d{6})(?:[:/]([a-z][a-z0-9_]{0,31}))?")
USER = re.compile(r"(?:user:)?([A-Za-z0-9_.\-]{1,64})")


@dataclass(frozen=True)
class Assignee:
    kind: str                 # user | unit
    value: str                # the stored form: user:<name> | unit:<region>[:<department>]
    username: str | None = None
    region: str | None = None
    department: str | None = None


def refuse(why_zh: str, why_en: str, key: str = "assignee_invalid") -> Refused:
    return Refused(422, "invalid", f"{why_zh} / {why_en}", key, {"zh": why_zh, "en": why_en})


FREE_TEXT = ("承办须为系统用户或单位代码（如 370102 或 370102:health），不能是自由文本",
             "the assignee must be a user or a unit code (e.g. 370102 or 370102:health), not free text")


def parse(text: str, users: dict, table) -> Assignee:
    """The assignee a typed text names (``users``: username -> User; ``table``: the routing table); raises
    :class:`Refused` 422 for free text, an unknown user or region, or a department the table does not have."""
    t = (text or "").strip()
    if not t:
        raise refuse("请选择承办人或承办单位", "choose the user or unit who handles the alert", "assignee_invalid")
    m = UNIT.fullmatch(t)
    if m:
        region, dept = m.group(1), m.group(2)
        if not regions.is_region_prefix(region):  # the rule user administration applies to regions
            raise refuse(f"未知的行政区划代码 {region}", f"unknown region code {region}")
        if dept is not None and dept not in {d.code for d in table.departments}:
            raise refuse(f"分办表中没有部门代码 {dept}", f"the routing table has no department {dept}")
        return Assignee("unit", f"unit:{region}" + (f":{dept}" if dept else ""), region=region, department=dept)
    m = USER.fullmatch(t)
    if m and m.group(1) in users:
        return Assignee("user", f"user:{m.group(1)}", username=m.group(1))
    if t.startswith("user:"):
        raise refuse(f"没有用户 {t[5:]}", f"no user {t[5:]}")
    raise refuse(*FREE_TEXT)


def check(who: Assignee, users: dict, alert: dict, assigner_region: str) -> None:
    """An assignee fit for this alert: a user active, allowed to handle alerts and covering the alert's
    region; a unit covering the alert's region within the assigner's."""
    county = alert.get("region_code") or ""
    if who.kind == "user":
        u = users[who.username]
        if u.disabled:
            raise refuse(f"用户 {u.username} 已停用", f"user {u.username} is disabled")
        if not can(u.role, "alerts.write"):
            raise refuse(f"用户 {u.username} 的角色不能处置预警", f"user {u.username}'s role may not handle alerts")
        if not county.startswith(u.region_prefix):
            raise refuse(f"用户 {u.username} 的辖区不含该预警所在地区", f"user {u.username}'s region does not cover the alert")
        return
    if not who.region.startswith(assigner_region) and not assigner_region.startswith(who.region):
        raise refuse(f"单位 {who.region} 不在您的辖区内", f"unit {who.region} is outside your region")
    if county and not county.startswith(who.region):
        raise refuse(f"单位 {who.region} 的辖区不含该预警所在地区", f"unit {who.region} does not cover the alert's region")


def label(value: str | None, users: dict, table=None, lang: str = "zh") -> str:
    """How an assignee reads: a user's name, a unit's name; older free text as written."""
    if not value:
        return ""
    if value.startswith("user:"):
        name = value[5:]
        u = users.get(name)
        shown = (u.display_name or name) if u is not None else name
        return f"{shown}（{name}）" if lang == "zh" else f"{shown} ({name})"
    if value.startswith("unit:"):
        parts = value.split(":")
        region = parts[1]
        dept = parts[2] if len(parts) > 2 else None
        if table is not None and len(region) == 6:
            try:
                return table.unit(dept or table.default, region)
            except Exception:  # a department the table no longer has: the code, readable
                pass
        rname = regions.name(region) if region in regions.table() else region
        return rname + (f" · {dept}" if dept else "")
    return value


def users_by_name(factory) -> dict:
    from ..registry.users import list_users

    return {u.username: u for u in list_users(factory)}


def mine(value: str | None, username: str, region_prefix: str, department_code: str | None) -> bool:
    """Whether an assignee is this user or this user's unit (the region, and the department if any)."""
    if not value:
        return False
    if value == f"user:{username}":
        return True
    if value.startswith("unit:"):
        parts = value.split(":")
        dept = parts[2] if len(parts) > 2 else None
        return parts[1] == region_prefix and (dept is None or dept == department_code)
    return False

