"""Inspection results coming back (抽查结果): the ONE parser and import of an uploaded results file, for
the API (``POST /api/plans/{id}/results``) and the console (``/plans/{id}/results``) alike.

A results file is CSV in the contract's events format, UTF-8 (with or without a byte-order mark) or
GB18030.  Its header names the columns in English or Chinese, in any case and spacing, as the ingest
matches them (``uscc``, ``USCC``, ``统一社会信用代码``, ``信用代码``, ``社会信用代码``; ``event_type``,
``事件类型``: the contract's aliases);
every row must be an inspection result (``event_type`` ``inspection`` / ``抽查检查结果``) of an entity of the
plan in the user's region.  An accepted file is kept in ``<home>/uploads`` (as UTF-8) and goes through
the normal ingest (validation, quarantine, de-duplication), then is linked to the plan.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field

from .. import contract
from .. import settings as settings_mod
from ..errors import RiskgradeError
from ..normalise import header_key
from ..registry import queries
from .audit import now, record
from .errors import Refused
from .plans import get as get_plan
from .state import AppState, Principal

MAX_MB = 50                           # the largest upload
REQUIRED = ("uscc", "event_type")     # columns a results file must have (by name or alias)


@dataclass
class ResultsFile:
    """A parsed results file: its text (decoded), the encoding it came in, its data rows, and each USCC with
    the line it first appears on."""
    text: str
    encoding: str
    rows: int
    usccs: dict[str, int] = field(default_factory=dict)


def _refused(key: str, message: str, status: int = 422, code: str = "invalid", **fields) -> Refused:
    return Refused(status, code, message, key, fields)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (a byte-order mark dropped), else GB18030."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as e:
        raise _refused("results_bad_csv", f"the file is neither UTF-8 nor GB18030 ({e.reason})",
                       why=e.reason) from None


def header_names(column: str) -> set[str]:
    """Every accepted header of an events column, as the ingest matches headers (:func:`header_key`: any case,
    no spaces): its name and the contract's aliases."""
    return {header_key(column)} | {header_key(a) for a in contract.EVENTS.column(column).aliases}


def parse(data: bytes) -> ResultsFile:
    """Read a results file: the encoding, the header (names or aliases, any case), and that every data row is
    an inspection result.  Raises :class:`Refused` 422 with the console's message key."""
    if not data:
        raise _refused("results_empty", "send the results CSV (inspection events in the contract's format)")
    if len(data) > MAX_MB * 1024 * 1024:
        raise _refused("results_too_big", f"the file is too large (at most {MAX_MB} MB)", mb=MAX_MB)
    text, encoding = decode(data)
    try:
        reader = csv.reader(io.StringIO(text))
        header = [header_key(h) for h in next(reader, [])]
        want = {col: next((i for i, h in enumerate(header) if h in header_names(col)), None) for col in REQUIRED}
        missing = [c for c, i in want.items() if i is None]
        if missing:
            raise _refused("results_missing_cols", f"missing columns: {', '.join(missing)} (inspection events in the "
                                                   "contract's format)", cols=", ".join(missing))
        types = contract.vocabulary_map("event_type")
        usccs: dict[str, int] = {}
        rows = 0
        for line, row in enumerate(reader, start=2):
            if not any(x.strip() for x in row):
                continue
            rows += 1
            cell = (lambda i: row[i].strip() if i < len(row) else "")
            kind = cell(want["event_type"])
            if types.get(kind.lower()) != "inspection":
                raise _refused("results_not_inspection", f"line {line} is not an inspection result "
                                                         f"(event_type={kind[:40]})", line=line, v=kind[:40])
            usccs.setdefault(cell(want["uscc"]).upper(), line)
    except csv.Error as e:
        raise _refused("results_bad_csv", f"cannot read the file: {e}", why=str(e)) from None
    if not rows:
        raise _refused("results_empty", "no result rows: send inspection events in the contract's format")
    return ResultsFile(text, encoding, rows, usccs)


def check_scope(st: AppState, me: Principal, plan_id: int, parsed: ResultsFile) -> None:
    """Every row an entity of the plan in the user's region, or 403 naming the first that is not."""
    planned = queries.planned_regions(st.factory, plan_id)
    for u, line in parsed.usccs.items():
        if not me.scope(planned.get(u)):
            raise Refused(403, "forbidden", f"line {line}: {u[:18]} is not an entity of plan {plan_id} in your region",
                          "results_out_of_scope", {"line": line, "uscc": u[:18]})


def upload(st: AppState, me: Principal, plan_id: int, data: bytes, *, filename: str = "",
           via: str | None = None) -> dict:
    """Check, keep, ingest and link a results file for a plan (``results.write``): the counts of the ingest
    (read, accepted, merged, quarantined) and of the linking (linked, planned, with_result) and the kept
    file's name.  Audited (``upload_results``; the console: ``results_upload``)."""
    from ..inspection.results import import_results

    me.require("results.write")
    get_plan(st, plan_id)
    parsed = parse(data)
    check_scope(st, me, plan_id, parsed)
    cfg = settings_mod.load(st.home)
    folder = st.home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"plan{plan_id}-{now():%Y%m%d%H%M%S}-{me.user.username}-{uuid.uuid4().hex[:12]}-results.csv"
    path.write_text(parsed.text, encoding="utf-8")
    try:
        r = import_results(st.home, path, plan_id, memory_limit=cfg.memory_limit, threads=cfg.threads,
                           lock_timeout=cfg.lock_timeout)
    except RiskgradeError as e:
        raise Refused(422, "invalid", str(e).splitlines()[0], "results_bad_csv", {"why": str(e)}) from None
    ev = (r.delivery or {}).get("tables", {}).get("events", {})
    out = {"plan_id": plan_id, "read": ev.get("read", 0), "accepted": ev.get("accepted", 0),
           "merged": ev.get("merged", 0), "quarantined": ev.get("quarantined", 0), "linked": r.linked,
           "planned": r.planned, "with_result": r.with_result, "file": path.name, "rows": parsed.rows}
    if via:
        record(st, me, "results_upload", str(plan_id), {"file": path.name, "upload": filename, "read": out["read"],
                                                        "linked": r.linked, "via": via})
    else:
        record(st, me, "upload_results", str(plan_id), {"file": path.name, "rows": parsed.rows, "linked": r.linked})
    return out
