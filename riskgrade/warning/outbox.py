"""The outbox of notices and its senders (pluggable).

A sender is an object with a ``name`` and ``send(message: EmailMessage) -> None`` that raises on
failure.  Built in: ``smtp`` (any SMTP server; STARTTLS / SSL and login optional) and ``file``
(writes each message as ``<notice_id>.eml`` into a folder, for a gateway that picks them up).
Other packages add senders through the entry-point group ``riskgrade.notice_senders`` (a factory
taking the options as keyword arguments), e.g. an SMS gateway.

Delivery status per notice: ``queued`` -> ``sent`` (with the time), ``failed`` (the error, retried
on the next send) or ``no_contact`` (no address known for the entity; retried once one is given).
"""

from __future__ import annotations

import csv
import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

import duckdb

from ..errors import RiskgradeError


class Sender(Protocol):
    name: str
    needs_recipient: bool

    def send(self, message: EmailMessage) -> None: ...


class SmtpSender:
    name = "smtp"
    needs_recipient = True

    def __init__(self, host: str = "localhost", port: int = 25, user: str | None = None, password: str | None = None,
                 starttls: bool = False, ssl: bool = False, timeout: float = 30.0):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.ssl, self.timeout = starttls, ssl, timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
            s = cls(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                s.starttls()
            if self.user:
                s.login(self.user, self.password or "")
            self._smtp = s
        return self._smtp

    def send(self, message: EmailMessage) -> None:
        self._connect().send_message(message)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:
                pass
            self._smtp = None


class FileSender:
    name = "file"
    needs_recipient = False

    def __init__(self, dir: str | Path = "outbox"):
        self.dir = Path(dir)

    def send(self, message: EmailMessage) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        nid = message["X-Riskgrade-Notice"]
        (self.dir / f"{nid}.eml").write_bytes(bytes(message))

    def close(self) -> None:
        pass


SENDERS = {"smtp": SmtpSender, "file": FileSender}


def get_sender(name: str, **options) -> Sender:
    factory = SENDERS.get(name)
    if factory is None:
        from importlib.metadata import entry_points

        found = [ep for ep in entry_points(group="riskgrade.notice_senders") if ep.name == name]
        if not found:
            raise RiskgradeError(f"unknown sender {name!r}: smtp, file, or one registered in the entry-point group "
                                 "riskgrade.notice_senders")
        factory = found[0].load()
    return factory(**{k: v for k, v in options.items() if v is not None})


def read_contacts(path: Path) -> dict[str, str]:
    """``uscc,email`` (header row; Chinese headers 统一社会信用代码,电子邮箱 accepted)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise RiskgradeError(f"cannot read contacts {path}: {e.strerror}") from None
    out = {}
    for r in rows:
        u = (r.get("uscc") or r.get("统一社会信用代码") or "").strip().upper()
        a = (r.get("email") or r.get("电子邮箱") or "").strip()
        if u and a:
            out[u] = a
    return out


def message(notice: dict, sender_address: str, recipient: str | None) -> EmailMessage:
    m = EmailMessage()
    m["Subject"] = notice["subject"]
    m["From"] = sender_address
    if recipient:
        m["To"] = recipient
    m["Message-ID"] = make_msgid(idstring=notice["notice_id"], domain="riskgrade.local")
    m["X-Riskgrade-Notice"] = notice["notice_id"]
    m["X-Riskgrade-USCC"] = notice["uscc"]
    m.set_content(notice["body"], charset="utf-8")
    return m


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    no_contact: int = 0


def send(con: duckdb.DuckDBPyConnection, sender: Sender, sender_address: str, contacts: dict[str, str] | None = None,
         limit: int | None = None, progress=None) -> SendResult:
    """Send queued (and previously failed / contact-less) notices; record each one's status."""
    rows = con.execute(f"""
        SELECT n.notice_id, n.uscc, n.subject, n.body FROM outbox o JOIN notices n USING (notice_id)
        WHERE o.status IN ('queued', 'failed', 'no_contact') ORDER BY o.queued_at, n.notice_id
        {f'LIMIT {int(limit)}' if limit else ''}""").fetchall()
    res = SendResult()
    contacts = contacts or {}
    try:
        for nid, uscc, subject, body in rows:
            notice = {"notice_id": nid, "uscc": uscc, "subject": subject, "body": body}
            to = contacts.get(uscc)
            now = dt.datetime.now().replace(microsecond=0)
            if sender.needs_recipient and not to:
                con.execute("UPDATE outbox SET status = 'no_contact', channel = ?, last_error = ? WHERE notice_id = ?",
                            [sender.name, "no address known for this entity (--contacts)", nid])
                res.no_contact += 1
                continue
            try:
                sender.send(message(notice, sender_address, to))
            except (OSError, smtplib.SMTPException) as e:
                con.execute("UPDATE outbox SET status = 'failed', channel = ?, recipient = ?, attempts = attempts + 1, "
                            "last_error = ? WHERE notice_id = ?", [sender.name, to, str(e)[:500], nid])
                res.failed += 1
                continue
            con.execute("UPDATE outbox SET status = 'sent', channel = ?, recipient = ?, attempts = attempts + 1, "
                        "last_error = NULL, sent_at = ? WHERE notice_id = ?", [sender.name, to, now, nid])
            res.sent += 1
    finally:
        close = getattr(sender, "close", None)
        if close:
            close()
    return res
