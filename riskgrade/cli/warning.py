"""Commands of the warning stage (监测预警): warn, alerts and their disposition, notices, exports.

Handed to the ``riskgrade`` app by :func:`register`; each is a thin call into :mod:`riskgrade.warning`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from ..sql import table_exists
from .common import (HomeOpt, as_date, audit_export, err, open_store, out, progress, read_checkpoint, settings,
                     sub_app, wide, write_checkpoint)

UserOpt = Annotated[Optional[str], typer.Option("--user", help="who takes the step (default: $RISKGRADE_USER or login)")]
NoteOpt = Annotated[str, typer.Option("--note", help="note for the log")]
AlertArg = Annotated[str, typer.Argument(help="alert id (or a unique prefix)")]


def _require(con) -> None:
    if not table_exists(con, "alerts"):
        raise RiskgradeError("no alerts yet: run `riskgrade warn` first")


# --------------------------------------------------------------------------- warn
def warn(
    since: Annotated[Optional[str], typer.Option("--since", help="also evaluate records dated on or after this day")] = None,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="warning-rule catalog YAML (default: built-in)")] = None,
    home: HomeOpt = None,
    routing: Annotated[Optional[Path], typer.Option(
        "--routing", help="routing table YAML (default: the setting routing, else built-in)")] = None,
) -> None:
    """Run the early-warning rules over what arrived since the last run (监测预警)."""
    from ..warning import run_warn

    s = settings(home)
    d = as_date(since, "--since") if since else None
    r = run_warn(s.home, since=d, rules_path=rules, memory_limit=s.memory_limit, threads=s.threads,
                 lock_timeout=s.lock_timeout, progress=progress, routing_path=routing or s.routing)
    seen = f"deliveries {r.delivery_from + 1}..{r.delivery_to}" if r.delivery_to > r.delivery_from else "no new delivery"
    tab = Table(title=f"warn run {r.run_id}: {seen}"
                      + (f", since {r.since}" if r.since else "") + f", reference date {r.ref_date} ({r.seconds:.1f} s)")
    for c in ("rule", "raw hits", "already", "suppressed", "new alerts", "extended"):
        tab.add_column(c, justify="left" if c == "rule" else "right")
    from ..warning.grouping import SUPPRESSED

    for code, c in sorted(r.counts.items()):
        tab.add_row(code, f"{c['raw']:,}", f"{c['already']:,}", f"{sum(c[k] for k in SUPPRESSED):,}",
                    f"{c['alerts']:,}", f"{c['extended']:,}")
    tab.add_row("all", f"{r.total('raw'):,}", f"{r.total('already'):,}", f"{r.suppressed:,}", f"{r.total('alerts'):,}",
                f"{r.total('extended'):,}")
    out.print(tab)
    share = r.suppressed_share
    err.print(f"{r.new_records:,} new records, {r.new_entities:,} new or changed entities; "
              f"{r.total('alerts'):,} new alerts from {r.total('raw'):,} raw hits"
              + (f" ({share:.0%} grouped or suppressed)" if share is not None else ""), highlight=False)
    if r.total("alerts"):
        b = r.by_status
        err.print(f"the new alerts: {b.get('open', 0):,} in the queue (待分办); held for review: "
                  f"{b.get('uncorroborated', 0):,} uncorroborated (待印证, a single signal: `riskgrade alerts list "
                  f"--status uncorroborated`), {b.get('muted', 0):,} muted (已静默, a rule measured too weak: "
                  "`riskgrade alerts rules --muted`)", highlight=False)
    if r.unmapped_sources:
        err.print(f"{len(r.unmapped_sources):,} source texts match no department of the routing table "
                  f"{r.routing_version} (add them as aliases; their alerts went by industry or to the county bureau):",
                  highlight=False)
        for src, n in list(r.unmapped_sources.items())[:50]:
            err.print(f"  {src}: {n:,} records", highlight=False)


# --------------------------------------------------------------------------- exports
def export_alerts(
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .parquet or .json")],
    status: Annotated[Optional[str], typer.Option("--status", help="only alerts in this status")] = None,
    rule: Annotated[Optional[str], typer.Option("--rule", help="only this rule")] = None,
    home: HomeOpt = None,
    include_area: Annotated[bool, typer.Option(
        "--include-area", help="also area alerts (county x industry): one row each, uscc empty; their figures: "
                           "riskgrade export area-alerts")] = False,
    include_held: Annotated[bool, typer.Option(
        "--include-held", help="also the alerts held out of the queue for review: muted and uncorroborated "
                           "(待印证); or name one with --status")] = False,
) -> None:
    """One row per entity per alert: alert_id, rule, severity, uscc, raised_on (the records' date), ...

    The alerts in the queue and those taken up from it; the ones held out for review (muted, uncorroborated)
    only with --include-held or --status, as `alerts list` shows them."""
    from ..export import write_query
    from ..warning.exports import ALERT_EXPORT_COLUMNS, alerts_query, empty_query

    with open_store(home) as wh:
        sql = alerts_query(status, rule, include_area, include_held) if table_exists(wh.con, "alerts") else \
            empty_query(ALERT_EXPORT_COLUMNS)
        n = write_query(wh.con, sql, out_file)
    audit_export(home, "export_alerts", out_file, n, {"status": status, "rule": rule,
                                                      **({"include_area": True} if include_area else {}),
                                                      **({"include_held": True} if include_held else {})})
    err.print(f"{n:,} alert rows written to {out_file}")


def export_area_alerts(
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .parquet or .json")],
    status: Annotated[Optional[str], typer.Option("--status", help="only alerts in this status")] = None,
    rule: Annotated[Optional[str], typer.Option("--rule", help="only this rule")] = None,
    home: HomeOpt = None,
) -> None:
    """One row per area alert (county x industry) with its figures: month, complaints, baseline, CUSUM, entities."""
    from ..export import write_query
    from ..warning.exports import AREA_EXPORT_COLUMNS, area_alerts_query, empty_query

    with open_store(home) as wh:
        sql = area_alerts_query(status, rule) if table_exists(wh.con, "alerts") else empty_query(AREA_EXPORT_COLUMNS)
        n = write_query(wh.con, sql, out_file)
    audit_export(home, "export_area_alerts", out_file, n, {"status": status, "rule": rule})
    err.print(f"{n:,} area alerts written to {out_file}")


def export_pushes(
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .parquet or .json")],
    since: Annotated[Optional[str], typer.Option("--since", help="only records dated or reported on or after this day")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="listing status as of this day (default: today)")] = None,
    home: HomeOpt = None,
) -> None:
    """Abnormal-list and serious-dishonesty records for domain systems (推送至专业系统), format riskgrade-push/1."""
    from ..export import write_query
    from ..warning.exports import pushes_query

    d = as_date(as_of, "--as-of") if as_of else dt.date.today()
    with open_store(home) as wh:
        n = write_query(wh.con, pushes_query(d, as_date(since, "--since") if since else None), out_file)
    audit_export(home, "export_pushes", out_file, n, {"as_of": d.isoformat(), "since": since})
    err.print(f"{n:,} listing records written to {out_file}")


# --------------------------------------------------------------------------- alerts
def alerts_list(
    status: Annotated[Optional[str], typer.Option("--status", help="open, assigned, handled or closed")] = None,
    rule: Annotated[Optional[str], typer.Option("--rule", help="only this rule")] = None,
    severity: Annotated[Optional[str], typer.Option("--severity", help="only this severity")] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="responsible unit contains this text")] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many rows")] = 50,
    newest: Annotated[bool, typer.Option("--newest", help="newest first instead of highest expected risk first")] = False,
    home: HomeOpt = None,
) -> None:
    """Alerts, newest first.

    By default the highest expected risk (预期风险) comes first; --newest orders by date only."""
    from ..warning.queries import alert_rows

    with open_store(home) as wh:
        _require(wh.con)
        total, rows = alert_rows(wh.con, status=status, rule=rule, severity=severity, unit=unit, limit=limit,
                                 by_risk=not newest)
    tab = Table(title=f"alerts 预警 ({len(rows):,} of {total:,})")
    for c in ("alert", "raised on", "rule", "severity", "risk", "members", "status", "unit", "summary"):
        tab.add_column(c)
    for r in rows:
        tab.add_row(r[0], str(r[1]), r[2], r[3], "" if r[8] is None else f"{r[8]:.2f}", str(r[4]), r[5], r[6] or "",
                    r[7] or "")
    wide(tab)


def alerts_show(alert_id: AlertArg, home: HomeOpt = None) -> None:
    """One alert: members, evidence, and its log."""
    from ..warning.queries import alert_evidence, alert_log, alert_members
    from ..warning.workflow import get_alert

    with open_store(home) as wh:
        _require(wh.con)
        a = get_alert(wh.con, alert_id)
        members = alert_members(wh.con, a["alert_id"])
        evid = alert_evidence(wh.con, a["alert_id"])
        log = alert_log(wh.con, a["alert_id"])
    for k in ("alert_id", "rule", "rule_name", "severity", "scope", "raised_on", "summary", "status", "assignee",
              "disposition", "unit_kind", "responsible_unit", "region_code", "label"):
        out.print(f"{k}: {'' if a[k] is None else a[k]}", highlight=False)
    if a["scope"] == "area":  # about a county x industry: its figures, no members
        import json

        i = json.loads(a.get("info") or "{}")
        out.print(f"area: {i.get('area_name', '')} ({i.get('region_code', '')} x {i.get('industry', '')}); month "
                  f"{i.get('month', '')}: {i.get('count', '')} complaints, baseline {i.get('expected', '')}, CUSUM "
                  f"{i.get('cusum', '')}; {i.get('entities_in_area', '')} entities in the area", highlight=False)
    out.print(f"members ({len(members)}):", highlight=False)
    for m in members:
        out.print(f"  {m[0]} {m[1] or ''} {m[2]}", highlight=False)
    out.print(f"evidence ({len(evid)}):", highlight=False)
    for e in evid[:200]:
        out.print(f"  {e[5]} {e[0]} {e[4]} {e[2]}:{e[3]} ({e[1]})", highlight=False)
    out.print("log:", highlight=False)
    for e in log:
        out.print(f"  #{e[0]} {e[1]:%Y-%m-%d %H:%M:%S} {e[2]} {e[3]} {e[4]}", highlight=False)


def _step(alert_id: str, op: str, user: str | None, home: Path | None, permission: str = "alerts.write",
          **kw) -> None:
    """One step on an alert through the console's rules (:func:`riskgrade.service.alerts.perform`): taken as the
    registry user ``--user`` (its role and region), the assignee a user or unit, the note where the console needs
    one, closing to 待复核 where the time limits ask for a sign-off; written to the alert log and audited
    (``alert_<step>``, via cli).  A refusal writes nothing and exits non-zero with its reason."""
    from ..service import alerts as service
    from ..service.errors import Refused
    from ..service.state import open_state
    from ..warning.workflow import NEXT_STEP, STATUS_ZH, default_user, get_alert

    s = settings(home)
    with open_store(s) as wh:  # the id, or a unique prefix of it (as `alerts show` takes it)
        _require(wh.con)
        full = get_alert(wh.con, alert_id.strip().lower())["alert_id"]
    try:
        st = open_state(s.home, s.database_url)
        me = service.acting(st, user or default_user())
        me.require(permission)
        done = service.perform(st, me.user, full, op, via="cli", **kw)
    except Refused as e:
        status = (e.fields or {}).get("status") if e.key == "step_conflict" else None
        hint = f"; next: `riskgrade alerts {NEXT_STEP[status]}`" if status in NEXT_STEP else ""
        raise RiskgradeError(f"alert {full}: {e.message}{hint}") from None
    a = done.alert
    if op == "target":
        err.print(f"task {done.task_id}: {done.added} entities of alert {a['alert_id']} added as targets (定向抽查); "
                  f"log entry #{done.seq}", highlight=False)
        return
    err.print(f"alert {a['alert_id']}: {a['status']} ({STATUS_ZH[a['status']]}); log entry #{done.seq}",
              highlight=False)
    if a["status"] == "review":
        err.print(f"a reviewer's sign-off (复核) is needed: `riskgrade alerts approve {a['alert_id']} --user REVIEWER` "
                  f"or `riskgrade alerts return {a['alert_id']} --user REVIEWER --note ...` (a reviewer other than "
                  "its handlers)", highlight=False)


def alerts_assign(
    alert_id: AlertArg,
    to: Annotated[str, typer.Option("--to", help="the unit or person who handles it")],
    user: UserOpt = None, note: NoteOpt = "", home: HomeOpt = None,
) -> None:
    """Assign an alert (分办): open or assigned -> assigned.

    --to is a user (user:NAME or a user name) or a unit (unit:REGION[:DEPARTMENT], e.g. 370102 or
    370102:health), checked as in the console; --user is the registry user who assigns."""
    _step(alert_id, "assign", user, home, to=to, note=note)


def alerts_handle(
    alert_id: AlertArg,
    action: Annotated[str, typer.Option("--action", help="提醒, 警示, 约谈 or 检查 (remind, warn, interview, inspect)")],
    user: UserOpt = None, note: NoteOpt = "", home: HomeOpt = None,
) -> None:
    """Record a disposition (处置): assigned or handled -> handled.

    --note is required (处置说明, at least note_min_length characters of worklimits.yaml)."""
    _step(alert_id, "handle", user, home, action=action, note=note)


def alerts_close(alert_id: AlertArg, user: UserOpt = None, note: NoteOpt = "", home: HomeOpt = None) -> None:
    """Close a handled alert (办结).

    --note is required.  Where the time limits (worklimits.yaml) ask for a sign-off, the alert waits for a
    reviewer (handled -> review, 待复核): see alerts approve and alerts return."""
    _step(alert_id, "close", user, home, note=note)


ReviewerOpt = Annotated[Optional[str], typer.Option(
    "--user", help="the reviewer: an administrator or credit officer who did not handle the alert")]


def alerts_approve(
    alert_id: AlertArg,
    user: ReviewerOpt = None,
    note: Annotated[str, typer.Option("--note", help="the reviewer's note")] = "",
    home: HomeOpt = None,
) -> None:
    """Sign off an alert waiting for review (复核通过): review -> closed."""
    _step(alert_id, "approve", user, home, note=note)


def alerts_return(
    alert_id: AlertArg,
    user: ReviewerOpt = None,
    note: Annotated[str, typer.Option("--note", help="why it goes back (required)")] = "",
    home: HomeOpt = None,
) -> None:
    """Send an alert waiting for review back to be handled again (复核退回): review -> handled."""
    _step(alert_id, "return", user, home, note=note)


def alerts_target(
    alert_id: Annotated[str, typer.Option("--alert", help="the alert")],
    task_id: Annotated[int, typer.Option("--task", help="the inspection task (riskgrade task create)")],
    reason: Annotated[str, typer.Option("--reason", help="reason (default: the alert's rule and summary)")] = "",
    rules: Annotated[Optional[Path], typer.Option("--rules", help="warning-rule catalog YAML (default: built-in)")] = None,
    user: UserOpt = None,
    home: HomeOpt = None,
) -> None:
    """Send an alert's entities to an inspection task (定向抽查): every plan of the task includes them.

    --user is the registry user who sends it (a role that may target, e.g. credit_officer); the alert and
    the task must be within the user's region, as in the console."""
    _step(alert_id, "target", user, home, permission="alerts.target", task_id=task_id, reason=reason, rules=rules)


def alerts_verify_log(
    checkpoint: Annotated[Optional[Path], typer.Option(
        "--checkpoint", help="a signed checkpoint file (alerts checkpoint): the log must still reach its head")] = None,
    home: HomeOpt = None,
) -> None:
    """Check the alert log's hash chain; fails naming the first entry edited or deleted."""
    from ..warning.workflow import verify

    cp = read_checkpoint(checkpoint) if checkpoint else None
    with open_store(home) as wh:
        _require(wh.con)
        v = verify(wh.con, cp)
    if not v.ok:
        raise RiskgradeError(f"alert log NOT intact: {v.problem}")
    out.print(f"[green]alert log intact[/green]: {v.entries:,} entries; head #{v.head_seq} {v.head_hash}", highlight=False)


def alerts_checkpoint(
    out_file: Annotated[Path, typer.Option("--out", help="the checkpoint file (JSON) to keep off this machine")],
    home: HomeOpt = None,
) -> None:
    """Write the alert log's head (entry, hash, count, time), signed with the chain key, to a file."""
    from ..warning.workflow import checkpoint

    with open_store(home) as wh:
        _require(wh.con)
        cp = checkpoint(wh.con)
    write_checkpoint(cp, out_file)
    out.print(f"checkpoint of the alert log written to {out_file}: head #{cp['head_seq']} {cp['head_hash']}, "
              f"{cp['entries']:,} entries, key {cp['key_id']}", highlight=False)


# --------------------------------------------------------------------------- notices
def notices_build(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="open items as of this day (default: today)")] = None,
    home: HomeOpt = None,
) -> None:
    """Build notices for entities with open risk items (overdue report, abnormal list, unreachable, dishonesty)."""
    from ..warning.notices import build
    from ..warning.tables import ensure_schema

    d = as_date(as_of, "--as-of") if as_of else dt.date.today()
    with open_store(home, write=True) as wh:
        ensure_schema(wh.con)
        with wh.transaction():
            r = build(wh.con, d)
    err.print(f"{r.entities_with_items:,} entities with open items as of {d}: {r.new_notices:,} new notices queued, "
              f"{r.unchanged:,} unchanged since their last notice", highlight=False)
    if r.items_by_kind:
        out.print("items: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.items_by_kind.items())), highlight=False)


def notices_send(
    sender: Annotated[str, typer.Option("--sender", help="smtp, file, or a registered sender")] = "file",
    directory: Annotated[Optional[Path], typer.Option("--dir", help="file sender: folder for .eml files")] = None,
    smtp_host: Annotated[str, typer.Option("--smtp-host")] = "localhost",
    smtp_port: Annotated[int, typer.Option("--smtp-port")] = 25,
    smtp_user: Annotated[Optional[str], typer.Option("--smtp-user")] = None,
    smtp_password: Annotated[Optional[str], typer.Option("--smtp-password", envvar="RISKGRADE_SMTP_PASSWORD",
                                                         help="or $RISKGRADE_SMTP_PASSWORD")] = None,
    starttls: Annotated[bool, typer.Option("--starttls")] = False,
    from_addr: Annotated[str, typer.Option("--from", help="sender address")] = "noreply@riskgrade.local",
    contacts: Annotated[Optional[Path], typer.Option("--contacts", help="CSV uscc,email of the entities' addresses")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="at most this many notices")] = None,
    home: HomeOpt = None,
) -> None:
    """Send queued notices through a sender and record each one's delivery status."""
    from ..warning.outbox import get_sender, read_contacts, send
    from ..warning.tables import ensure_schema

    s = settings(home)
    opts: dict = {"dir": directory or (s.home / "outbox")} if sender == "file" else {}
    if sender == "smtp":
        opts = {"host": smtp_host, "port": smtp_port, "user": smtp_user, "password": smtp_password,
                "starttls": starttls}
    snd = get_sender(sender, **opts)
    book = read_contacts(contacts) if contacts else None
    with open_store(home, write=True) as wh:
        ensure_schema(wh.con)
        with wh.transaction():
            r = send(wh.con, snd, from_addr, book, limit)
    err.print(f"notices: {r.sent:,} sent, {r.failed:,} failed, {r.no_contact:,} without a contact address "
              f"(sender {sender})", highlight=False)
    if r.failed and not r.sent:
        raise RiskgradeError(f"no notice could be sent through {sender}; see `riskgrade notices list --status failed`")


def notices_list(
    status: Annotated[Optional[str], typer.Option("--status", help="queued, sent, failed or no_contact")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    home: HomeOpt = None,
) -> None:
    """Notices and their delivery status."""
    from ..warning.queries import list_notices

    with open_store(home) as wh:
        if not table_exists(wh.con, "notices"):
            raise RiskgradeError("no notices yet: run `riskgrade notices build` first")
        rows = list_notices(wh.con, status, limit)
    tab = Table(title="notices 告知")
    for c in ("notice", "uscc", "as of", "status", "channel", "recipient", "attempts", "error", "subject"):
        tab.add_column(c)
    for r in rows:
        tab.add_row(*["" if v is None else str(v) for v in r])
    wide(tab)


def register(app: typer.Typer) -> None:
    alerts_app = typer.Typer(help="Alerts (预警) and their disposition: list, show, assign, handle, close, target.",
                             no_args_is_help=True)
    app.add_typer(alerts_app, name="alerts")
    notices_app = typer.Typer(help="Notices to businesses (双推送): build from open risk items, send.",
                              no_args_is_help=True)
    app.add_typer(notices_app, name="notices")
    export_app = sub_app(app, "export")
    app.command()(warn)
    export_app.command("alerts")(export_alerts)
    # hidden from the group's list only so that the list keeps its layout (help texts only gain lines);
    # `riskgrade export area-alerts --help` and docs/warning.md describe it, `export alerts --help` names it
    export_app.command("area-alerts", hidden=True)(export_area_alerts)
    export_app.command("pushes")(export_pushes)
    alerts_app.command("list")(alerts_list)
    alerts_app.command("show")(alerts_show)
    alerts_app.command("assign")(alerts_assign)
    alerts_app.command("handle")(alerts_handle)
    alerts_app.command("close")(alerts_close)
    alerts_app.command("approve")(alerts_approve)
    alerts_app.command("return")(alerts_return)
    alerts_app.command("target")(alerts_target)
    alerts_app.command("verify-log")(alerts_verify_log)
    alerts_app.command("checkpoint")(alerts_checkpoint)
    notices_app.command("build")(notices_build)
    notices_app.command("send")(notices_send)
    notices_app.command("list")(notices_list)
