"""Attachments of alerts (附件): files a handler adds as evidence of a disposition (a notice served, a
photo, a signed record), kept under the data home by their SHA-256 and listed in ``alert_attachments``.

* types by content, never by the name's ending: PDF (``%PDF-``), PNG, JPEG, and the Office Open XML
  workbook (XLSX: a ZIP holding ``xl/workbook.xml``) and document (DOCX: ``word/document.xml``);
* the file lives at ``<home>/attachments/<sha256[:2]>/<sha256>`` (written once; the same content twice is
  one file); the row names the alert, the name given, the type, size, hash, who and when.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from pathlib import Path

import duckdb

from ..errors import RiskgradeError

TYPES = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
SCHEMA = """CREATE TABLE IF NOT EXISTS alert_attachments (
    attachment_id INTEGER, alert_id VARCHAR, filename VARCHAR, kind VARCHAR, size BIGINT, sha256 VARCHAR,
    uploaded_by VARCHAR, uploaded_at TIMESTAMP)"""


def sniff(data: bytes) -> str | None:
    """The type of a file by its content (one of :data:`TYPES`), None when it is none of them."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "word/document.xml" in names:
            return "docx"
    return None


def clean_name(name: str, kind: str) -> str:
    """A file name safe to show and to send back: no folders, no control characters, the type's ending."""
    base = re.sub(r"[\x00-\x1f\x7f/\\\\:*?\"<>|]", "_", Path(name or "").name).strip(" .")[:120] or "attachment"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem}.{kind}"


def path_of(home: Path, sha: str) -> Path:
    return Path(home) / "attachments" / sha[:2] / sha


def add(con: duckdb.DuckDBPyConnection, home: Path, alert_id: str, filename: str, data: bytes, user: str) -> dict:
    """Store a file for an alert (its type sniffed); returns its row."""
    kind = sniff(data)
    if kind is None:
        raise RiskgradeError("not a PDF, JPG, PNG, XLSX or DOCX file")
    sha = hashlib.sha256(data).hexdigest()
    target = path_of(home, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    con.execute(SCHEMA)
    nid = con.execute("SELECT coalesce(max(attachment_id), 0) + 1 FROM alert_attachments").fetchall()[0][0]
    row = {"attachment_id": int(nid), "alert_id": alert_id, "filename": clean_name(filename, kind), "kind": kind,
           "size": len(data), "sha256": sha, "uploaded_by": user,
           "uploaded_at": dt.datetime.now().replace(microsecond=0)}
    con.execute("INSERT INTO alert_attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row.values()))
    return row


def listed(con: duckdb.DuckDBPyConnection, alert_id: str) -> list[dict]:
    """An alert's attachments, oldest first."""
    from ..sql import table_exists

    if not table_exists(con, "alert_attachments"):
        return []
    cur = con.execute("SELECT * FROM alert_attachments WHERE alert_id = ? ORDER BY attachment_id", [alert_id])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def read(con: duckdb.DuckDBPyConnection, home: Path, alert_id: str, attachment_id: int) -> tuple[dict, bytes] | None:
    """An attachment of an alert and its bytes (checked against the hash); None when it has none of that id."""
    rows = [r for r in listed(con, alert_id) if r["attachment_id"] == attachment_id]
    if not rows:
        return None
    data = path_of(home, rows[0]["sha256"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != rows[0]["sha256"]:
        raise RiskgradeError(f"attachment {attachment_id}: the stored file does not match its SHA-256")
    return rows[0], data
