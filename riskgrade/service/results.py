"""Inspection results coming back (抽查结果): the ONE parser and intake of an uploaded results file, for the
CLI (``riskgrade results import``), the API (``POST /api/plans/{id}/results``) and the console
(``/plans/{id}/results``) alike.  See ``docs/security-intake.md``.

A results file holds inspection results and nothing else: one row per entity and inspection day, with the
columns ``uscc``, the date and the result (the contract's codes, e.g. ``problem``, or its Chinese words, e.g.
``发现问题待后续处理``), optionally the inspector and notes.  Headers are matched as the ingest matches them
(:func:`header_key`: English or Chinese, any case and spacing; the contract's aliases).  CSV in any encoding
the ingest detects (UTF-8, with or without a byte-order mark, or GB18030), XLSX (the first sheet) or Parquet
(the same columns; its row count, width, unpacked size and column names checked from the footer before any
data is read).

Refused as a whole file, with the reason: not a results file (no ``uscc``, date or result column, an unknown
column, the same column twice, undecodable, empty, too big), entity columns (``name``, ``region_code``, ...),
a row of another event type, and any row of an entity outside the plan or the uploader's region (403).
Tolerated and ignored: the events format's ``record_id``, ``source`` and ``reported_on`` (the system mints the
record id and the source).  Every other row is accepted or rejected with its line, column and reason; the
accepted ones are stored by :func:`riskgrade.inspection.results.intake_results`, which keeps every line.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import contract
from .. import settings as settings_mod
from ..codes import uscc as uscc_codes
from ..errors import RiskgradeError
from ..inspection.results import Rejected, ResultRow, intake_results
from ..normalise import clean, header_key
from .audit import now, record, via_detail
from .errors import Refused
from .plans import get as get_plan
from .state import AppState, Principal

MAX_MB = 50                  # the largest upload
MAX_ROWS = 200_000           # result lines of one upload
MAX_CELL = 2_000             # characters of one cell (a longer one rejects its line)
MAX_COLUMNS = 64
XLSX_MAX_UNZIPPED = 200 << 20  # an XLSX whose parts unzip to more is refused (a zip bomb); Parquet: unpacked
PARQUET_MAGIC = b"PAR1"


def _keys(*names: str) -> frozenset[str]:
    return frozenset(header_key(n) for n in names)


def _contract(table: contract.Table, column: str) -> tuple[str, ...]:
    c = table.column(column)
    return (c.name, *c.aliases)


# the columns of a results file: the name it is reported under -> every accepted header (header_key)
COLUMNS: dict[str, frozenset[str]] = {
    "uscc": _keys(*_contract(contract.EVENTS, "uscc")),
    "date": _keys("date", "inspected_on", "inspection_date", *_contract(contract.EVENTS, "event_date"),
                  "检查日期", "抽查日期", "检查时间"),
    "result": _keys("result", *_contract(contract.EVENTS, "detail"), "检查结果", "抽查结果", "结果"),
    "inspector": _keys("inspector", "inspectors", "检查人员", "执法人员", "检查人"),
    "notes": _keys("notes", "note", "remarks", "备注", "说明"),
    "event_type": _keys(*_contract(contract.EVENTS, "event_type")),  # optional; every row must be inspection
}
REQUIRED = ("uscc", "date", "result")
# what an officer fills in: a row with none of these (a template row left as downloaded: the USCC, the name and
# the pre-filled inspectors only) carries no result, and is skipped and counted, not rejected
RESULT_FIELDS = ("date", "result", "notes")
# the events format's columns a results file may carry and that are ignored: the system mints them
# the template's reference column (the entity's name, to find the row): never read
TEMPLATE_NAME_HEADER = {"zh": "主体名称（仅供核对，不导入）", "en": "entity name (for reference, not imported)"}
IGNORED: frozenset[str] = _keys(*_contract(contract.EVENTS, "record_id"), *_contract(contract.EVENTS, "source"),
                                *_contract(contract.EVENTS, "reported_on"), *TEMPLATE_NAME_HEADER.values())
# columns of the other tables of the contract (an entities-shaped file), refused by name
ENTITY_HEADERS: dict[str, str] = {
    k: c.name for t in contract.TABLES.values() if t.name != "events" for c in t.columns
    for k in _keys(c.name, *c.aliases) if not any(k in v for v in COLUMNS.values())}
# the result: the contract's codes, their Chinese and English words (any case, half- or full-width)
RESULT_WORDS: dict[str, str] = {
    **{code: code for code in contract.DETAIL_CODES["inspection"]},
    **{(clean(w) or "").lower(): code for code, w in contract.INSPECTION_RESULT_ZH.items()},
    **{w.lower(): code for code, w in contract.INSPECTION_RESULT_EN.items()},
    "无法联系": "unreachable",
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", "%Y.%m.%d")


@dataclass
class ResultsFile:
    """A parsed results file: its format and encoding, the result lines it holds (``rows``), each USCC
    with the line it first appears on, the rows that parse, the lines rejected (line, column, reason),
    each data line's original text and the headers ignored."""
    encoding: str
    format: str = "csv"
    rows: int = 0
    usccs: dict[str, int] = field(default_factory=dict)
    results: list[ResultRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    raw: dict[int, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)   # (line, uscc) of rows without a result


def _refused(key: str, message: str, status: int = 422, code: str = "invalid", **fields) -> Refused:
    return Refused(status, code, message, key, fields)


# --------------------------------------------------------------------------- reading the file
def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) as the ingest detects it (:func:`riskgrade.ingest.readers.detect_encoding`): UTF-8
    (a byte-order mark dropped) or GB18030; anything else is refused."""
    from ..ingest.readers import Unreadable, detect_encoding

    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        f.write(data)
        f.flush()
        try:
            enc = detect_encoding(Path(f.name))
        except Unreadable as e:
            raise _refused("results_bad_csv", f"cannot read the file: {e}", why=str(e)) from None
    if enc not in ("utf-8", "utf-8-sig", "gb18030"):
        raise _refused("results_bad_csv", f"cannot read the file: {enc} text (send UTF-8 or GB18030)",
                       why=f"{enc} (send UTF-8 or GB18030)")
    try:
        text = data.decode("utf-8-sig" if enc.startswith("utf-8") else enc)
    except UnicodeDecodeError as e:
        raise _refused("results_bad_csv", f"cannot read the file: {e.reason}", why=e.reason) from None
    return text, ("utf-8" if enc.startswith("utf-8") else enc)


def _csv_rows(data: bytes) -> tuple[str, list[tuple[int, list[str]]]]:
    text, encoding = decode(data)
    out = []
    try:
        reader = csv.reader(io.StringIO(text, newline=None))
        for row in reader:
            out.append((reader.line_num, row))
            if len(out) > MAX_ROWS + 1:
                raise _refused("results_bad_csv", f"more than {MAX_ROWS:,} lines: split the file",
                               why=f"more than {MAX_ROWS:,} lines")
    except csv.Error as e:
        raise _refused("results_bad_csv", f"cannot read the file: {e}", why=str(e)) from None
    return encoding, out


def _xlsx_cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """The first sheet's rows, after checking (before reading it) that the archive does not unzip to more than
    :data:`XLSX_MAX_UNZIPPED` and that the sheet declares no more than :data:`MAX_ROWS` rows and
    :data:`MAX_COLUMNS` columns."""
    bad = lambda why: _refused("results_bad_csv", f"cannot read the file: {why}", why=why)  # noqa: E731
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > XLSX_MAX_UNZIPPED:
                raise bad("the spreadsheet unzips to more than 200 MB")
            sheets = sorted(n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
            if sheets:
                with z.open(sheets[0]) as f:
                    head = f.read(8192).decode("utf-8", "replace")
                m = re.search(r'<dimension ref="[A-Z]*\d*:?([A-Z]+)(\d+)"', head)
                if m:
                    width = 0
                    for ch in m.group(1):
                        width = width * 26 + ord(ch) - 64
                    if int(m.group(2)) > MAX_ROWS + 1 or width > MAX_COLUMNS:
                        raise bad(f"the sheet declares {m.group(1)}{m.group(2)} (at most {MAX_ROWS:,} rows, "
                                  f"{MAX_COLUMNS} columns)")
    except zipfile.BadZipFile:
        raise bad("not a readable Excel .xlsx file") from None
    try:
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        if sheet.total_height > MAX_ROWS + 1 or sheet.total_width > MAX_COLUMNS:
            raise bad(f"the sheet is too large (at most {MAX_ROWS:,} rows, {MAX_COLUMNS} columns)")
        rows = sheet.to_python(skip_empty_area=False)
    except Refused:
        raise
    except Exception as e:  # calamine raises its own error types
        raise bad(f"not a readable Excel .xlsx file ({type(e).__name__})") from None
    return [(k + 1, [_xlsx_cell(v) for v in r]) for k, r in enumerate(rows)]


def _parquet_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """A Parquet file's rows (line 1: the column names, then one line per row), after checking from its
    footer alone, before any data is read: at most :data:`MAX_ROWS` rows and :data:`MAX_COLUMNS` columns, no
    more than :data:`XLSX_MAX_UNZIPPED` bytes uncompressed, and the columns those of a results file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    bad = lambda why: _refused("results_bad_csv", f"cannot read the file: {why}", why=why)  # noqa: E731
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        meta = pf.metadata
    except Exception as e:  # pyarrow raises its own error types for a damaged footer
        raise bad(f"not a readable Parquet file ({type(e).__name__})") from None
    if meta.num_rows > MAX_ROWS:
        raise bad(f"{meta.num_rows:,} rows (at most {MAX_ROWS:,}): split the file")
    if meta.num_columns > MAX_COLUMNS:
        raise bad(f"{meta.num_columns:,} columns (at most {MAX_COLUMNS})")
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if unpacked > XLSX_MAX_UNZIPPED:
        raise bad(f"the file unpacks to more than {XLSX_MAX_UNZIPPED >> 20} MB")
    header = [str(n) for n in pf.schema_arrow.names]
    keys, found = _columns(header)
    _only_results(header, keys, found)
    try:
        table = pf.read()
    except Exception as e:
        raise bad(f"not a readable Parquet file ({type(e).__name__})") from None
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [(1, header), *((k + 2, [_xlsx_cell(c[k]) for c in cols]) for k in range(table.num_rows))]


def _line_text(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    return buf.getvalue().rstrip("\r\n")[:4000]


def _date(v: str) -> dt.date | None:
    for f in DATE_FORMATS:
        try:
            return dt.datetime.strptime(v, f).date()
        except ValueError:
            pass
    v2 = v.replace("T", " ")
    try:
        return dt.datetime.fromisoformat(v2).date()
    except ValueError:
        pass
    if re.fullmatch(r"[1-9][0-9]{4}(\.[0-9]+)?", v):  # an Excel serial day (1927-2173), as the ingest reads it
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(v)))
    return None


# --------------------------------------------------------------------------- the one parser
def parse(data: bytes, *, scope: Callable[[dict[str, int]], None] | None = None) -> ResultsFile:
    """Read a results file: its format and encoding, the header (names or aliases, any case), that it is a
    results file and every row an inspection result, then each row (accepted or rejected with its line,
    column and reason).  ``scope`` is given every well-formed USCC with its first line before the rows are
    read, and raises to refuse the file.  Raises :class:`Refused` (422, or the scope's) with the console's
    message key."""
    if not data:
        raise _refused("results_empty", "send the results file (CSV, XLSX or Parquet: uscc, date, result)")
    if len(data) > MAX_MB * 1024 * 1024:
        raise _refused("results_too_big", f"the file is too large (at most {MAX_MB} MB)", mb=MAX_MB)
    if data[:4] == b"PK\x03\x04":
        fmt, encoding, lines = "xlsx", "xlsx", _xlsx_rows(data)
    elif data[:4] == PARQUET_MAGIC and data[-4:] == PARQUET_MAGIC:
        fmt, encoding, lines = "parquet", "parquet", _parquet_rows(data)
    else:
        fmt = "csv"
        encoding, lines = _csv_rows(data)
    while lines and not any((c or "").strip() for c in lines[0][1]):
        lines.pop(0)  # blank lines above the header
    if not lines:
        raise _refused("results_empty", "no result rows: send uscc, date and result")
    header = lines[0][1]
    body = [(n, r) for n, r in lines[1:] if any((c or "").strip() for c in r)]
    keys, found = _columns(header)
    out = ResultsFile(encoding, fmt, len(body))
    if not body:
        raise _refused("results_empty", "no result rows: send uscc, date and result")
    cell = (lambda row, col: (clean(row[found[col]]) or "") if col in found and found[col] < len(row) else "")
    if "event_type" in found:
        types = contract.vocabulary_map("event_type")
        for line, row in body:
            kind = cell(row, "event_type")
            if kind and types.get(kind.lower()) != "inspection":
                raise _refused("results_not_inspection", f"line {line} is not an inspection result "
                               f"(event_type={kind[:40]}): a results file holds inspection results only",
                               line=line, v=kind[:40])
    if "uscc" not in found:
        raise _refused("results_missing_cols", _missing_message(["uscc"], header, keys), cols="uscc")
    for line, row in body:
        if u := cell(row, "uscc").upper():
            out.usccs.setdefault(u, line)
    if scope is not None:  # who may be written comes before what the file holds (a malformed code: its line)
        try:
            scope({u: line for u, line in out.usccs.items() if len(u) == 18 and uscc_codes.is_valid(u)})
        except Refused as e:  # the refused lines with their original text
            rows = dict(body)
            for r in e.fields.get("rejected", []):
                r.setdefault("raw", _line_text(rows[r["line"]]) if r.get("line") in rows else "")
            raise
    _only_results(header, keys, found)
    out.ignored = [h for h, k in zip(header, keys) if k in IGNORED]
    seen: dict[tuple[str, dt.date], int] = {}
    for line, row in body:
        out.raw[line] = _line_text(row)
        if not any(cell(row, c) for c in RESULT_FIELDS):
            out.skipped.append((line, cell(row, "uscc").upper()[:18]))
            continue
        bad = _row(out, line, row, cell, seen, {i: c for c, i in found.items()})
        if bad is not None:
            out.rejected.append(bad)
    if len(out.skipped) == len(body):
        n = len(body)
        raise _refused("results_all_blank", f"no row has a result: {n} rows without a date, result or notes "
                       f"skipped (未填写结果，已跳过 {n} 行)", n=n)
    return out


def _columns(header: list[str]) -> tuple[list[str], dict[str, int]]:
    """The header's keys, and the column of each results column found; refuses too many columns and a
    column found twice."""
    keys = [header_key(h) for h in header]
    if len(keys) > MAX_COLUMNS:
        raise _refused("results_not_results", f"{len(keys)} columns: not a results file", why=f"{len(keys)} columns")
    found: dict[str, int] = {}
    for i, k in enumerate(keys):
        for col, names in COLUMNS.items():
            if k in names:
                if col in found:
                    raise _refused("results_not_results", f"the column {col} appears twice ({header[found[col]]!r} "
                                   f"and {header[i]!r})", why=f"{col} twice")
                found[col] = i
    return keys, found


def _only_results(header: list[str], keys: list[str], found: dict[str, int]) -> None:
    """Refuse entity columns, a missing required column and an unknown column."""
    foreign = [h for h, k in zip(header, keys) if k in ENTITY_HEADERS]
    if foreign:
        names = ", ".join(dict.fromkeys(ENTITY_HEADERS[header_key(h)] for h in foreign))
        raise _refused("results_entity_columns", f"entity columns ({names}): a results file holds inspection "
                       "results only (uscc, date, result, inspector, notes)", cols=names)
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise _refused("results_missing_cols", _missing_message(missing, header, keys), cols=", ".join(missing))
    unknown = [h for h, k in zip(header, keys) if k and k not in IGNORED and not any(k in v for v in COLUMNS.values())]
    if unknown:
        names = ", ".join(repr(h[:40]) for h in unknown[:5])
        raise _refused("results_unknown_cols", f"unknown columns {names}: a results file has the columns uscc, date, "
                       "result, inspector and notes", cols=names)


def _missing_message(missing: list[str], header: list[str], keys: list[str]) -> str:
    foreign = [ENTITY_HEADERS[k] for k in keys if k in ENTITY_HEADERS]
    also = f"; it has entity columns ({', '.join(dict.fromkeys(foreign))})" if foreign else ""
    return f"missing columns: {', '.join(missing)}: not a results file (uscc, date, result){also}"


def _row(out: ResultsFile, line: int, row: list[str], cell, seen: dict, names: dict[int, str]) -> Rejected | None:
    """Append the row's result to ``out.results``, or return why it is rejected (the first failing column)."""
    for i, v in enumerate(row):
        if len(v or "") > MAX_CELL:
            return Rejected(line, names.get(i, f"column {i + 1}"), "cell_too_long", (v or "")[:40],
                            params={"max": MAX_CELL})
    u = cell(row, "uscc").upper()
    if not u:
        return Rejected(line, "uscc", "empty")
    if len(u) != 18 or not uscc_codes.is_valid(u):
        return Rejected(line, "uscc", "bad_uscc", u[:40])
    d = cell(row, "date")
    if not d:
        return Rejected(line, "date", "empty", uscc=u)
    day = _date(d)
    if day is None:
        return Rejected(line, "date", "bad_date", d[:40], u)
    r = cell(row, "result")
    code = RESULT_WORDS.get(r.lower()) if r else None
    if code is None:
        return Rejected(line, "result", "bad_result" if r else "empty", r[:40], u)
    if (u, day) in seen:
        return Rejected(line, "date", "duplicate_result", d[:40], u, {"first": seen[u, day]})
    seen[u, day] = line
    out.results.append(ResultRow(line, u, day, code, cell(row, "inspector")[:200] or None,
                                 cell(row, "notes")[:MAX_CELL] or None))
    return None


# --------------------------------------------------------------------------- the intake (CLI, API, console)
def keep(home: Path, plan_id: int, who: str, data: bytes) -> Path:
    """Keep the upload as sent (``<home>/uploads``, a name no other upload shares, readable by the owner)."""
    folder = home / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ext = "xlsx" if data[:4] == b"PK\x03\x04" else "parquet" if data[:4] == PARQUET_MAGIC else "csv"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", who)[:40]
    path = folder / f"plan{int(plan_id)}-{now():%Y%m%d%H%M%S}-{safe}-{uuid.uuid4().hex[:8]}-results.{ext}"
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def plan_regions(home: Path, plan_id: int, lock_timeout: float = 60.0) -> dict[str, str]:
    """USCC -> county of the plan's entities (the warehouse's plan, the one results are linked to); 404."""
    from ..inspection.queries import plan_entity_regions
    from ..warehouse import Warehouse

    try:
        with Warehouse(home, lock_timeout=lock_timeout) as wh:
            regions = plan_entity_regions(wh.con, plan_id)
    except RiskgradeError as e:
        raise Refused(503, "busy", str(e).splitlines()[0], "busy") from None
    if regions is None:
        raise Refused(404, "not_found", f"no plan {plan_id}", "not_found")
    return regions


def scope_check(plan_id: int, regions: dict[str, str], prefix: str) -> Callable[[dict[str, int]], None]:
    """The scope of an upload: every entity one of the plan's, in the region ``prefix`` ("" : the province).
    Refuses the whole file (403), naming every line that is not."""
    def check(usccs: dict[str, int]) -> None:
        out = sorted((line, u) for u, line in usccs.items() if u not in regions or
                     not (regions[u] or "").startswith(prefix))
        if out:
            line, u = out[0]
            more = f" (and {len(out) - 1} more lines)" if len(out) > 1 else ""
            lines = [Rejected(n, "uscc", "not_in_plan" if x not in regions else "outside_region", x, x)
                     for n, x in out[:1000]]
            raise Refused(403, "forbidden", f"line {line}: {u} is not an entity of plan {plan_id} in your region{more}",
                          "results_out_of_scope", {"line": line, "uscc": u, "why": lines[0].reason,
                                                   "rejected": [r.as_dict() for r in lines]})
    return check


def intake(home: Path, plan_id: int, data: bytes, *, region: str, uploader: str,
           today: dt.date | None = None) -> dict:
    """Parse, check and store a results file for a plan, as ``uploader`` whose region is ``region`` ("": the
    province).  Returns the outcome (counts and every rejected line); refuses a file that is not a results
    file or reaches outside the scope, and a file of which no line was accepted (422, the lines named)."""
    cfg = settings_mod.load(home)
    regions = plan_regions(home, plan_id, cfg.lock_timeout)
    kept = keep(home, plan_id, uploader, data) if data else None
    parsed = parse(data, scope=scope_check(plan_id, regions, region))
    try:
        o = intake_results(home, plan_id, parsed.results, parsed.rejected, uploader=uploader,
                           file=kept.name if kept else "", raw=parsed.raw, today=today, memory_limit=cfg.memory_limit,
                           threads=cfg.threads, lock_timeout=cfg.lock_timeout, skipped=parsed.skipped)
    except RiskgradeError as e:
        raise Refused(422, "invalid", str(e).splitlines()[0], "results_bad_csv", {"why": str(e)}) from None
    ev = (o.delivery or {}).get("tables", {}).get("events", {})
    rejected = [{**r.as_dict(), "raw": parsed.raw.get(r.line, r.value)} for r in o.rejected]
    out = {"plan_id": plan_id, "upload_id": o.upload_id, "source": o.source, "read": o.rows, "rows": o.rows,
           "accepted": len(o.accepted), "rejected": len(rejected), "skipped": o.skipped,
           "merged": int(ev.get("merged", 0)),
           "quarantined": len(rejected), "linked": o.linked, "updated": o.updated, "unchanged": o.unchanged,
           "planned": o.planned, "with_result": o.with_result, "file": kept.name if kept else "",
           "format": parsed.format, "encoding": parsed.encoding, "ignored_columns": parsed.ignored,
           "rejections": rejected}
    if not o.accepted:
        first = rejected[0] if rejected else {"line": 0, "column": "", "reason": "no rows"}
        raise Refused(422, "invalid", f"no result accepted: line {first['line']}, {first['column'] or 'row'}: "
                      f"{first['reason']}" + (f" (and {len(rejected) - 1} more lines)" if len(rejected) > 1 else ""),
                      "results_none_accepted", {"line": first["line"], "column": first["column"],
                                                "why": first["reason"], "rejected": rejected[:1000],
                                                "outcome": out})
    return out


def upload(st: AppState, me: Principal, plan_id: int, data: bytes, *, filename: str = "",
           via: str | None = None, action: str | None = None) -> dict:
    """Check and store a results file for a published plan (``results.write``), in the user's region: the
    outcome of :func:`intake`.  Audited (``upload_results``; the console: ``results_upload``), refusals too
    (``results_refused``)."""
    from . import plans as plan_service

    me.require("results.write")
    get_plan(st, plan_id)
    plan_service.require_final(st, me, plan_id, "results upload", via)
    digest = hashlib.sha256(data).hexdigest()
    try:
        out = intake(st.home, plan_id, data, region=me.region, uploader=me.user.username)
    except Refused as e:
        if e.status in (403, 422):
            record(st, me, "results_refused", str(plan_id), {"upload": filename[:200], "reason": e.message[:500],
                                                             "sha256": digest, **via_detail(via)})
        raise
    detail = {"file": out["file"], "upload": filename[:200], "read": out["read"], "accepted": out["accepted"],
              "rejected": out["rejected"], "skipped": out["skipped"], "linked": out["linked"],
              "updated": out["updated"], "sha256": digest}
    if action:  # a result typed in (results_entry): the same intake, its own audit action
        record(st, me, action, str(plan_id), {**detail, **via_detail(via)})
    elif via:
        record(st, me, "results_upload", str(plan_id), {**detail, "via": via})
    else:
        record(st, me, "upload_results", str(plan_id), {**detail, "rows": out["rows"]})
    return out


REJECTED_COLUMNS = ("file", "line", "column", "code", "reason", "reason_zh", "raw")


def write_rejected(path: Path, items: list[tuple[str, dict]]) -> int:
    """Write rejected lines ((file name, rejection) pairs) to a CSV: file, line, column, reason code, reason
    (English and Chinese) and the line's original text, every cell neutralised as a formula
    (:func:`riskgrade.export.neutralise`: an uploaded ``=HYPERLINK(...)`` stays text).  Returns the rows."""
    from ..export import neutralise

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(REJECTED_COLUMNS)
        for name, r in items:
            w.writerow([neutralise(v) for v in (name, r.get("line"), r.get("column", ""), r.get("code", ""),
                                                r.get("reason", ""), r.get("reason_zh", ""),
                                                r.get("raw", r.get("value", "")))])
    return len(items)


TEMPLATE_HEADERS = {"zh": ("统一社会信用代码", "检查日期", "检查结果", "检查人员", "备注"),
                    "en": ("uscc", "date", "result", "inspector", "notes")}
TEMPLATE_MAX_ROWS = 50_000


def template(st: AppState, me: Principal, plan_id: int, lang: str = "zh", via: str | None = None) -> tuple[str, bytes]:
    """A results template for a plan: an XLSX with the intake's headers in ``lang``, one row per entity of the
    plan in the user's region (USCC, its name for reference, its inspectors) and a list of the result words
    on the result column; (file name, bytes).  Audited (``results_template``)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..export import neutralise
    from . import plans as plan_service

    me.require("results.write")
    plan, total, rows = plan_service.page(st, me, plan_id, 1, TEMPLATE_MAX_ROWS, via=via)
    plan_service.require_final(st, me, plan_id, "results template", via)
    zh = lang == "zh"
    heads = TEMPLATE_HEADERS["zh" if zh else "en"]
    words = list(contract.INSPECTION_RESULT_ZH.values()) if zh else list(contract.DETAIL_CODES["inspection"])
    wb = Workbook()
    ws = wb.active
    ws.title = "检查结果" if zh else "results"
    ws.append([heads[0], TEMPLATE_NAME_HEADER["zh" if zh else "en"], *heads[1:]])
    for c in ws[1]:
        c.font = Font(bold=True)
    for pe, name in rows:
        ws.append([pe.uscc, neutralise(name or ""), None, None, neutralise((pe.inspectors or "").replace(";", "、")),
                   None])
    for col, width in zip("ABCDEF", (22, 36, 14, 34, 18, 30)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    last = max(len(rows) + 1, 2)
    dv = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True,
                        showErrorMessage=False)  # a pick list; other words are still read (and checked)
    ws.add_data_validation(dv)
    dv.add(f"D2:D{last}")
    for r in range(2, last + 1):
        ws[f"C{r}"].number_format = "yyyy-mm-dd"
    help_ws = wb.create_sheet("填写说明" if zh else "how to fill")
    help_ws.column_dimensions["A"].width = 100
    lines = ([f"计划 {plan.id}：{plan.task_name}（分类月份 {plan.as_of}），本表列出您辖区内抽中的 {total} 户主体。",
              "检查日期：如 2026-10-20；检查结果：从下拉列表中选择，或填写以下文字之一：", *words,
              "检查人员、备注可不填。主体名称一列仅供核对，不会导入。每户每个检查日期一行；",
              "同一户同一日期再次上传时以最新一次为准。填好后在“上传检查结果”页面上传本文件。"] if zh else
             [f"Plan {plan.id}: {plan.task_name} (as of {plan.as_of}); the {total} drawn entities in your region.",
              "date: e.g. 2026-10-20; result: pick from the list or write one of:", *words,
              "inspector and notes are optional; the name column is for reference and is not imported."])
    for line in lines:
        help_ws.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    record(st, me, "results_template", str(plan_id), {"rows": len(rows), **via_detail(via)})
    return f"plan-{plan.id}-results-template.xlsx", buf.getvalue()


def enter(st: AppState, me: Principal, plan_id: int, uscc: str, day: str, result: str, note: str = "",
          via: str | None = None) -> dict:
    """One entity's result typed into the plan page (检查结果录入): a one-line results file through the same
    intake, checks and store as an upload (:func:`upload`); audited ``results_entry``."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["uscc", "date", "result", "notes"])
    w.writerow([uscc.strip().upper()[:18], day.strip()[:20], result.strip()[:40], note.strip()[:MAX_CELL]])
    return upload(st, me, plan_id, buf.getvalue().encode("utf-8"), filename=f"console-entry-{uscc[:18]}", via=via,
                  action="results_entry")


def _read(st: AppState, fn: Callable):
    """``fn(con)`` on the warehouse, waiting at most 5 seconds for another job; None when it stays busy."""
    from ..warehouse import Warehouse

    try:
        with Warehouse(st.home, lock_timeout=min(5.0, settings_mod.load(st.home).lock_timeout)) as wh:
            return fn(wh.con)
    except RiskgradeError:
        return None


def linked(st: AppState, *, plan_id: int | None = None, usccs: list[str] | None = None) -> list[dict] | None:
    """Results linked to a plan and/or entities (the caller has checked the reader's scope); None when the
    warehouse is busy."""
    from ..inspection.results import linked_results

    return _read(st, lambda con: linked_results(con, plan_id=plan_id, usccs=usccs))


def plan_results(st: AppState, plan_id: int, usccs: list[str],
                 lang: str = "zh") -> tuple[list[dict] | None, dict | None]:
    """What a plan's page shows of its results, in one read of the warehouse: the results linked to the shown
    entities (None when the store is busy), and the plan's 监管效能 as ``riskgrade effectiveness --plan``
    measures it (problems found by grade, the population's estimated rate, lift against a uniform draw; ``t``
    holds the report's words in ``lang``), None until the plan has results.  The caller has checked that the
    reader may see the plan."""
    from ..inspection.effectiveness import TEXT, measure
    from ..inspection.results import linked_results
    from ..sql import table_exists

    def read(con) -> tuple[list[dict], dict | None]:
        found = linked_results(con, plan_id=plan_id, usccs=usccs) if usccs else []
        if not all(table_exists(con, t) for t in ("plan_results", "plan_entities", "plan_population")):
            return found, None  # a store that never held a plan's results
        m = measure(con, [plan_id])
        return found, ({**m, "t": TEXT["zh" if lang == "zh" else "en"]} if m["inspected"] else None)

    return _read(st, read) or (None, None)
