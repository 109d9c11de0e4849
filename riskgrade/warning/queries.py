"""Read-only queries over the warning stage's tables (alerts and their members, evidence and log; notices).

The faces list and show alerts and notices through these functions, never with their own SQL.
"""

from __future__ import annotations

import duckdb


def list_alerts(con: duckdb.DuckDBPyConnection, *, status: str | None = None, rule: str | None = None,
                severity: str | None = None, unit: str | None = None, limit: int = 50) -> tuple[int, list[tuple]]:
    """Alerts, newest first, filtered by status, rule, severity and a text in the responsible unit: the
    number matching, and at most ``limit`` rows (alert_id, raised_on, rule, severity, members, status,
    responsible_unit, summary)."""
    where, args = [], []
    for col, v in (("status", status), ("rule", rule), ("severity", severity)):
        if v:
            where.append(f"{col} = ?")
            args.append(v)
    if unit:
        where.append("responsible_unit LIKE ?")
        args.append(f"%{unit}%")
    cond = "WHERE " + " AND ".join(where) if where else ""
    total = con.execute(f"SELECT count(*) FROM alerts {cond}", args).fetchall()[0][0]
    rows = con.execute(f"""
            SELECT alert_id, raised_on, rule, severity, members, status, responsible_unit, summary FROM alerts
            {cond}
            ORDER BY raised_on DESC, alert_id LIMIT {int(limit)}""", args).fetchall()
    return total, rows


def alert_members(con: duckdb.DuckDBPyConnection, alert_id: str) -> list[tuple]:
    """An alert's members: (uscc, name, raised_on)."""
    return con.execute("SELECT m.uscc, n.name, m.raised_on FROM alert_members m LEFT JOIN entities n "
                       "USING (uscc) WHERE alert_id = ? ORDER BY m.raised_on, m.uscc", [alert_id]).fetchall()


def alert_evidence(con: duckdb.DuckDBPyConnection, alert_id: str) -> list[tuple]:
    """An alert's evidence: (uscc, role, source, record_id, event_type, event_date)."""
    return con.execute("SELECT uscc, role, source, record_id, event_type, event_date FROM alert_evidence "
                       "WHERE alert_id = ? ORDER BY event_date, uscc, record_id", [alert_id]).fetchall()


def alert_log(con: duckdb.DuckDBPyConnection, alert_id: str) -> list[tuple]:
    """An alert's log: (seq, logged_at, username, action, detail)."""
    return con.execute("SELECT seq, logged_at, username, action, detail FROM alert_log WHERE alert_id = ? ORDER BY seq",
                       [alert_id]).fetchall()


def list_notices(con: duckdb.DuckDBPyConnection, status: str | None = None, limit: int = 50) -> list[tuple]:
    """Notices with their delivery status, newest first: (notice_id, uscc, as_of, status, channel,
    recipient, attempts, last_error, subject)."""
    return con.execute(f"""
            SELECT n.notice_id, n.uscc, n.as_of, o.status, o.channel, o.recipient, o.attempts, o.last_error, n.subject
            FROM notices n JOIN outbox o USING (notice_id) {'WHERE o.status = ?' if status else ''}
            ORDER BY n.created_at DESC, n.notice_id LIMIT {int(limit)}""", [status] if status else []).fetchall()
