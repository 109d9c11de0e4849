"""我的待办 (my work): one queue per user of the alerts assigned to the user or the user's unit, with due
dates from the province's time limits (:mod:`riskgrade.warning.worklimits`), overdue flags, batch
assignment, attachments, the sign-off (复核) and the unit figures for the level above; shared by the
console (``/work``) and the API (``/api/work``).

* *queue*: alerts visible to the user (:mod:`riskgrade.warning.queries`' rule) and not closed: assigned to
  ``user:<me>`` or to the user's unit (``unit:<region>`` / ``unit:<region>:<department>``), open ones routed
  to the user's county, and, for reviewers (:data:`riskgrade.service.alerts.REVIEWER_ROLES`), those waiting
  for a sign-off the user did not handle; plus the user's inspection tasks (plan entities naming the user
  among their inspectors, by user name or by the inspector directory's id that is the user:
  :mod:`riskgrade.service.work_tasks`);
* *unit figures*: per county (or department), the alerts raised in a month: received, handled (处置:
  handled, waiting for review or closed), closed (办结), overdue (超期: open past the due date, or closed
  after it); 处置率 = handled / received, 办结率 = closed / received, 超期率 = overdue / received.

Every read, export, upload and download is audited; every write checks role and region.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


from ..errors import RiskgradeError
from ..warning import queries as q
from .alerts import AlertError, REVIEWER_ROLES, check_step, limits, routing_table, run_step, store, viewer_of
from .audit import record, via_detail
from .state import AppState, Principal

MAX_BATCH = 200             # alerts in one batch assignment
MAX_ATTACHMENT_MB = 20      # one attachment at most (checked before the body is read)
EXPORT_ROWS = 20000         # rows of one queue export at most
SORTS = tuple(q.QUEUE_SORTS)


@dataclass
class WorkView:
    queue: q.Queue
    tasks: list[dict]
    today: dt.date
    soon_days: int


def _due(st: AppState):
    from ..warning.worklimits import due_sql

    return due_sql(limits(st))


def my_tasks(st: AppState, me: Principal, limit: int = 200, con=None) -> list[dict]:
    """Plan entities in the user's region that name the user among their inspectors, of plans in force, newest
    plan first: by user name, or by the inspector directory's id that is the user (the user name is the id, or
    a unique name match within the user's unit: :mod:`riskgrade.service.work_tasks`).  ``con``: the warehouse,
    when the caller has it open (its directory); else it is opened here (without it when busy)."""
    from . import work_tasks

    if not me.can("plans.read"):
        return []
    if con is not None:
        return work_tasks.tasks(st.factory, con, me.user, me.region, limit)
    try:
        with store(st.home) as wh:
            return work_tasks.tasks(st.factory, wh.con, me.user, me.region, limit)
    except AlertError:  # the warehouse busy: the registry's copy of the directory (published plans) alone
        return work_tasks.tasks(st.factory, None, me.user, me.region, limit)


def queue(st: AppState, me: Principal, *, sort: str = "due", page: int = 1, page_size: int = 20,
          via: str | None = None, today: dt.date | None = None) -> WorkView:
    """The user's queue (``alerts.read``): a page of alerts with due dates and overdue flags, the counts
    (待办, 即将到期, 已超期) and the user's inspection tasks.  Audited."""
    me.require("alerts.read")
    today = today or dt.date.today()
    w = limits(st)
    v = viewer_of(me.user, st.home)
    with store(st.home) as wh:
        res = q.work_queue(wh.con, v, _due(st), today, w.due_soon_days, reviewer=me.user.role in REVIEWER_ROLES,
                           sort=sort if sort in SORTS else "due", page=page, page_size=page_size)
        tasks = my_tasks(st, me, con=wh.con)
    record(st, me, "work_queue", "", {"page": page, "results": len(res.items), "total": res.total,
                                      **via_detail(via)})
    return WorkView(res, tasks, today, w.due_soon_days)


def batch_assign(st: AppState, me: Principal, alert_ids: list[str], to: str, note: str = "",
                 via: str = "api") -> list[dict]:
    """Assign several visible alerts to one user or unit in one warehouse transaction: every alert is checked
    first (status, the assignee's fitness) and nothing is written when one fails (409/422 naming it).  Each
    assignment is in the alert log and the audit chain.  Returns (alert_id, log seq, hash) per alert."""
    from ..registry import audit
    from . import work_assignees as wa

    me.require("alerts.write")
    ids = list(dict.fromkeys(a.strip().lower() for a in alert_ids if a and a.strip()))
    if not ids:
        raise AlertError(422, "invalid", "alert_ids: choose at least one alert / 请至少选择一条预警", "batch_empty")
    if len(ids) > MAX_BATCH:
        raise AlertError(422, "invalid", f"alert_ids: at most {MAX_BATCH} at once", "batch_too_many")
    v = viewer_of(me.user, st.home)
    users = wa.users_by_name(st.factory)
    note = (note or "").strip()
    done = []
    with store(st.home, write=True) as wh:
        checked = []
        for aid in ids:
            a = q.visible_alert(wh.con, v, aid)
            if a is None:
                raise AlertError(404, "not_found", f"no alert {aid} in your region", "not_found")
            try:
                kw = check_step(st, me.user, v, a, "assign", to=to, action=None, note=note, users=users)
            except AlertError as e:
                raise AlertError(e.status, e.code, f"{aid}: {e.message}", e.key, {"alert_id": aid}) from None
            checked.append((a, kw))
        with wh.transaction():
            for a, kw in checked:
                run_step(st, wh, v, a, "assign", kw)
        for a, _ in checked:
            seq, h, logged = q.last_log_entry(wh.con, a["alert_id"])
            done.append((a, seq, h, logged))
    for a, seq, h, logged in done:
        audit.append(st.factory, v.username, "alert_assign", a["alert_id"],
                     {**logged, "log_seq": int(seq), "log_hash": h, "rule": a["rule"], "via": via, "batch": len(done)})
    return [{"alert_id": a["alert_id"], "log_seq": int(seq), "log_hash": h, "assignee": logged.get("assignee")}
            for a, seq, h, logged in done]


def latest_month(st: AppState) -> dt.date:
    """The month of the newest alert (this month when there is none): what the unit figures show first."""
    with store(st.home) as wh:
        return q.latest_alert_month(wh.con) or dt.date.today().replace(day=1)


def month_of(text: str | None, today: dt.date | None = None) -> dt.date:
    """A month (YYYY-MM) as its first day; this month when none is given."""
    if text:
        try:
            return dt.date.fromisoformat(text + "-01") if len(text) == 7 else dt.date.fromisoformat(text).replace(day=1)
        except ValueError:
            raise AlertError(422, "invalid", "month: YYYY-MM", "month_invalid") from None
    return (today or dt.date.today()).replace(day=1)


def unit_stats(st: AppState, me: Principal, month: dt.date, by: str = "county", via: str | None = None,
               today: dt.date | None = None) -> list[dict]:
    """Per unit in the user's region, the month's alerts: received, handled, closed, overdue and the three
    rates (``stats.read``: figures only, no alert).  Audited."""
    me.require("stats.read")
    if by not in ("county", "department"):
        raise AlertError(422, "invalid", "by: county or department", "by_invalid")
    v = q.Viewer(me.user.username, "stats", me.region)
    with store(st.home) as wh:
        rows = q.unit_figures(wh.con, v, _due(st), today or dt.date.today(), month, by)
    record(st, me, "work_units", month.strftime("%Y-%m"), {"by": by, "units": len(rows),
                                                           **via_detail(via)})
    return rows


# --------------------------------------------------------------------------- export
EXPORT_HEADERS = {"zh": ["预警编号", "企业名称", "预警规则", "严重程度", "状态", "承办", "责任单位", "预警日期",
                         "办理期限", "是否超期"],
                  "en": ["Alert id", "Company", "Rule", "Severity", "Status", "Assignee", "Responsible unit",
                         "Raised on", "Due", "Overdue"]}
SEVERITY_WORDS = {"zh": {"high": "高", "medium": "中", "low": "低"}, "en": {"high": "high", "medium": "medium",
                                                                          "low": "low"}}


def export_queue(st: AppState, me: Principal, fmt: str, lang: str = "zh", via: str | None = None,
                 today: dt.date | None = None) -> tuple[bytes, int]:
    """The user's whole queue as XLSX or CSV (Chinese headers by default; company names, due dates, status
    words), in the user's scope; audited (``export_work``)."""
    from ..export import table_bytes
    from ..warning.workflow import STATUS_ZH
    from . import work_assignees as wa

    me.require("alerts.read")
    if fmt not in ("xlsx", "csv"):
        raise AlertError(422, "invalid", "format: xlsx or csv", "format_invalid")
    today = today or dt.date.today()
    w = limits(st)
    v = viewer_of(me.user, st.home)
    with store(st.home) as wh:
        res = q.work_queue(wh.con, v, _due(st), today, w.due_soon_days, reviewer=me.user.role in REVIEWER_ROLES,
                           page_size=EXPORT_ROWS)
    users, table = wa.users_by_name(st.factory), routing_table(st.home)
    lang = "en" if lang == "en" else "zh"
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    rows = [[x["alert_id"], x.get("area_name") if x.get("scope") == "area" else (x.get("member_name") or ""),
             x.get("rule_name") or x["rule"], SEVERITY_WORDS[lang].get(x["severity"], x["severity"]),
             STATUS_ZH.get(x["status"], x["status"]) if lang == "zh" else x["status"],
             wa.label(x.get("assignee"), users, table, lang), x.get("responsible_unit") or "",
             x["raised_on"].isoformat() if x.get("raised_on") else "",
             x["due_on"].isoformat() if x.get("due_on") else "", yes if x.get("overdue") else no]
            for x in res.items]
    data = table_bytes(EXPORT_HEADERS[lang], rows, fmt)
    record(st, me, "export_work", fmt, {"rows": len(rows), **via_detail(via)})
    return data, len(rows)


# --------------------------------------------------------------------------- attachments
def attach(st: AppState, me: Principal, alert_id: str, filename: str, data: bytes, via: str = "api") -> dict:
    """Add a file to a visible alert that is not closed (``alerts.write``): PDF, JPG, PNG, XLSX or DOCX by its
    content, at most :data:`MAX_ATTACHMENT_MB`; stored by SHA-256 and audited (``alert_attach``)."""
    from ..warning import attachments

    me.require("alerts.write")
    if len(data) > MAX_ATTACHMENT_MB * 1024 * 1024:
        raise AlertError(413, "too_large", f"an attachment is at most {MAX_ATTACHMENT_MB} MB", "attachment_too_big")
    if attachments.sniff(data) is None:
        raise AlertError(422, "invalid", "附件须为 PDF、JPG、PNG、XLSX 或 DOCX 文件（按内容识别）/ the file must be a "
                                         "PDF, JPG, PNG, XLSX or DOCX (by its content)", "attachment_type")
    v = viewer_of(me.user, st.home)
    with store(st.home, write=True) as wh:
        a = q.visible_alert(wh.con, v, alert_id)
        if a is None:
            raise AlertError(404, "not_found", f"no alert {alert_id} in your region", "not_found")
        if a["status"] == "closed":
            raise AlertError(409, "conflict", f"alert {alert_id} is closed (已办结)", "attachment_closed")
        with wh.transaction():
            row = attachments.add(wh.con, st.home, alert_id, filename, data, me.user.username)
    record(st, me, "alert_attach", alert_id, {"attachment_id": row["attachment_id"], "sha256": row["sha256"],
                                              "kind": row["kind"], "size": row["size"], "via": via})
    return row


def attachments_of(st: AppState, me: Principal, alert_id: str) -> list[dict]:
    """The attachments of a visible alert (``alerts.read``)."""
    from ..warning import attachments

    me.require("alerts.read")
    v = viewer_of(me.user, st.home)
    with store(st.home) as wh:
        if q.visible_alert(wh.con, v, alert_id) is None:
            raise AlertError(404, "not_found", f"no alert {alert_id} in your region", "not_found")
        return attachments.listed(wh.con, alert_id)


def download(st: AppState, me: Principal, alert_id: str, attachment_id: int, via: str = "api") -> tuple[dict, bytes]:
    """An attachment of a visible alert and its bytes (``alerts.read``); audited (``alert_attachment_read``)."""
    from ..warning import attachments

    me.require("alerts.read")
    v = viewer_of(me.user, st.home)
    with store(st.home) as wh:
        if q.visible_alert(wh.con, v, alert_id) is None:
            raise AlertError(404, "not_found", f"no alert {alert_id} in your region", "not_found")
        try:
            found = attachments.read(wh.con, st.home, alert_id, attachment_id)
        except (OSError, RiskgradeError) as e:
            raise AlertError(503, "unavailable", f"attachment {attachment_id} cannot be read: {e}", "busy") from None
    if found is None:
        raise AlertError(404, "not_found", f"alert {alert_id} has no attachment {attachment_id}", "not_found")
    record(st, me, "alert_attachment_read", alert_id, {"attachment_id": attachment_id, "sha256": found[0]["sha256"],
                                                       "via": via})
    return found


def limits_of(st: AppState):
    """The time limits in force (for the pages' definitions)."""
    return limits(st)


def unit_name(st: AppState, code: str | None, by: str, lang: str = "zh") -> str:
    """A unit of the figures in words: a county's name, or a department's (routing table)."""
    from ..codes import regions

    if not code:
        return ""
    if by == "county":
        return regions.name(code) if code in regions.table() else code
    try:
        return routing_table(st.home).dept(code).name_zh
    except Exception:  # a code the table no longer has
        return code


def labels(st: AppState, values: list[str | None], lang: str = "zh") -> dict[str, str]:
    """How assignees read (users' names, units' names; free text as written)."""
    from . import work_assignees as wa

    users, table = wa.users_by_name(st.factory), routing_table(st.home)
    return {x: wa.label(x, users, table, lang) for x in set(values) if x}


def assignee_choices(st: AppState, me: Principal) -> list[tuple[str, str]]:
    """(value, label) of the users and units the user may assign to: active users who handle alerts in the
    user's region (and above it), and the user's region's unit."""
    from ..registry.users import can
    from . import work_assignees as wa

    users, table = wa.users_by_name(st.factory), routing_table(st.home)
    out = [(f"unit:{me.region}", wa.label(f"unit:{me.region}", users, table))]
    for u in sorted(users.values(), key=lambda u: u.username):
        if not u.disabled and can(u.role, "alerts.write") and (u.region_prefix.startswith(me.region)
                                                                  or me.region.startswith(u.region_prefix)):
            out.append((f"user:{u.username}", wa.label(f"user:{u.username}", users, table)))
    return out


__all__ = ["MAX_ATTACHMENT_MB", "MAX_BATCH", "SORTS", "WorkView", "assignee_choices", "attach", "attachments_of",
           "batch_assign", "download", "export_queue", "labels", "latest_month", "limits_of", "month_of", "my_tasks",
           "queue", "unit_name", "unit_stats"]
