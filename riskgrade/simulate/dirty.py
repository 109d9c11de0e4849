"""The dirty copy: the clean delivery plus injected defects, with the exact counts an ingest must report.

Rules the counts rely on (see ``riskgrade.contract.REASONS`` for the order of checks):

* Every clean row stays and is accepted.  Some clean rows are rewritten in a
  form that must still be accepted (full-width or lower-case USCCs, padded
  values, ``2025/3/1`` / ``2025年3月1日`` / ``20250301`` / full-width dates,
  Chinese entity types, statuses, event types, roles and party kinds).
* Every injected row is an *extra* line with exactly one defect, so its reason
  is unambiguous: a malformed line (one field too few or too many), an empty
  required field, a bad USCC, a value outside a vocabulary, an unknown event
  type, a region or industry code that does not exist, an unparseable or a
  2099 date, an unparseable number, a second row with the key of a clean row
  (identical: merged; different: conflicting_duplicate) or a valid USCC of no
  entity (unattributed).  Quarantine-bound rows have keys of their own, so
  nothing cascades: no clean row loses its entity.
* Duplicates copy rows that are neither rewritten nor copied twice, so the
  counts do not depend on the order in which an ingest meets the pair.
* ``events/part-999.csv`` holds binary bytes (a truncated gzip stream with NUL
  bytes): an unreadable file whose rows count nowhere.  ``events/part-997.xlsx``
  (a spreadsheet bomb) and ``events/part-998.csv`` (a duplicate header) are
  unreadable with a reason code (:mod:`riskgrade.simulate.traps`).
* ``inspectors.csv`` is GB18030-encoded and ``domain_grades.csv`` has a UTF-8
  BOM (both must be detected); every other file is UTF-8 without BOM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .. import contract
from .events import EventStore
from .population import Population
from .strings import DateStrings
from .mutations import (BAD_DATES, BAD_ENUMS, BAD_INDUSTRIES, BAD_NUMBERS, BAD_REGIONS,  # noqa: F401  (re-exported)
                        UNKNOWN_EVENT_TYPES, bad_uscc, csv_line, fullwidth, future_date, odd_date)
from . import registration
from .traps import write_traps
from .writer import CHUNK_ROWS, event_chunks, part_ranges

Row = dict[str, Any]
Mutator = Callable[[Row, int], Row | None]  # (row, n-th use) -> rewritten row, None when not applicable
Defect = Callable[[Row, int], Row]
FreshKey = Callable[[Row, str, int], Row]  # (template row, reason, n-th use) -> row with a key of its own

TABLE_NAMES = ("entities", "events", "relations", "inspectors", "domain_grades")
UNREADABLE = "events/part-999.csv"

# injected rows per 10,000 entities (inspectors: a fixed number)
_PER_10K: dict[str, dict[str, int]] = {
    "entities": {
        "malformed_row": 30, "missing_required": 40, "bad_uscc": 40, "bad_enum": 30, "bad_region": 30,
        "bad_industry": 30, "bad_date": 30, "future_date": 30, "bad_number": 30, "conflicting_duplicate": 30,
        "merged": 40,
    },
    "events": {
        "malformed_row": 150, "missing_required": 150, "bad_uscc": 200, "unknown_event_type": 150, "bad_date": 200,
        "future_date": 150, "bad_number": 150, "bad_amount": 40, "conflicting_duplicate": 150, "unattributed": 300,
        "merged": 300,
    },
    "relations": {
        "malformed_row": 20, "missing_required": 20, "bad_uscc": 20, "bad_enum": 30, "conflicting_duplicate": 20,
        "unattributed": 30, "merged": 30,
    },
    "domain_grades": {
        "malformed_row": 10, "missing_required": 10, "bad_uscc": 10, "bad_date": 10, "future_date": 10,
        "conflicting_duplicate": 10, "unattributed": 15, "merged": 15,
    },
}
_INSPECTORS = {"malformed_row": 2, "missing_required": 3, "bad_region": 3, "bad_encoding": 3, "conflicting_duplicate": 2,
               "merged": 3}
# amounts that parse as numbers but are not finite (quarantined as bad_amount, never summed)
NON_FINITE = ("inf", "NaN", "1e309", "-inf", "Infinity")
# a line of a GB18030 file that is to stay UTF-8 (a department's export pasted into another's file):
# marked in the plan, written as UTF-8 bytes among the GB18030 ones, quarantined as bad_encoding
_KEEP_UTF8 = b"\x00utf-8\x00"
_ODD_PER_10K = {"entities": 300, "events": 900, "relations": 60, "domain_grades": 40}
_ODD_INSPECTORS = 6
# reasons whose entity rows need a fresh valid USCC (so they collide with nothing)
_FRESH_ENTITY_REASONS = ("missing_required", "bad_enum", "bad_region", "bad_industry", "bad_date", "future_date",
                         "bad_number")


def planned_counts(entities: int) -> dict[str, dict[str, int]]:
    """How many rows of each kind to inject (before capping to the rows a table has)."""
    out: dict[str, dict[str, int]] = {}
    for table, per in _PER_10K.items():
        out[table] = {r: (max(1, round(k * entities / 10_000)) if entities >= 20 else 0) for r, k in per.items()}
    out["inspectors"] = dict(_INSPECTORS)
    return out


def spare_usccs_needed(entities: int) -> int:
    """Valid USCCs of no entity the dirty copy may use (drawn with the population, always)."""
    p = planned_counts(entities)
    return (
        sum(p["entities"][r] for r in _FRESH_ENTITY_REASONS)
        + p["entities"]["bad_uscc"]
        + p["events"]["unattributed"]
        + p["relations"]["unattributed"]
        + p["domain_grades"]["unattributed"]
        + 16
    )


# ---------------------------------------------------------------------- per-table plans
@dataclass
class TablePlan:
    """Edits to one table: lines inserted before clean row ``pos``, clean rows replaced, and counts."""

    name: str
    columns: tuple[str, ...]
    n_clean: int
    inserts: list[tuple[int, bytes]] = field(default_factory=list)
    replaces: dict[int, bytes] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    merged: int = 0
    odd: dict[str, int] = field(default_factory=dict)

    def expected(self) -> Row:
        quarantined = sum(self.by_reason.values())
        read = self.n_clean + len(self.inserts)
        assert read == self.n_clean + self.merged + quarantined
        return {
            "read": read,
            "accepted": self.n_clean,
            "merged": self.merged,
            "quarantined": quarantined,
            "by_reason": {r: self.by_reason[r] for r in contract.REASONS if self.by_reason.get(r)},
        }

    def insert(self, pos: int, row: Row | bytes, reason: str | None) -> None:
        line = row if isinstance(row, bytes) else csv_line(row.get(c) for c in self.columns)
        self.inserts.append((pos, line))
        if reason == "merged":
            self.merged += 1
        elif reason is not None:
            self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


class _Picker:
    """Distinct clean rows for the different roles (rewritten, duplicated) of one table."""

    def __init__(self, rng: np.random.Generator, n: int, want: int) -> None:
        self.order = rng.permutation(n)[: min(n, want)] if n else np.zeros(0, np.int64)
        self.i = 0

    def take(self, k: int) -> np.ndarray:
        out = self.order[self.i : self.i + k]
        self.i += out.size
        return out


def _malformed(plan: TablePlan, row: Row, variant: int) -> bytes:
    """A copy of ``row`` with one field too few or too many (quotes balanced)."""
    vals = [row.get(c) for c in plan.columns]
    v = variant % 3
    if v == 0:  # a field lost
        return csv_line(vals[:-1])
    if v == 1:  # a trailing extra field
        return csv_line(vals + ["备注"])
    # an unquoted comma inside the first Chinese text value splits it in two
    text = next((i for i, x in enumerate(vals) if x and not str(x).isascii()), None)
    if text is None:
        return csv_line(vals + [""])
    cells = [csv_line([v]).decode("utf-8").rstrip("\n") for v in vals]
    s = str(vals[text])
    cut = max(1, len(s) // 2)
    cells[text] = s[:cut] + "," + s[cut:]
    return (",".join(cells) + "\n").encode("utf-8")


def _inject_common(
    plan: TablePlan,
    rng: np.random.Generator,
    rows: list[Row],
    counts: dict[str, int],
    fresh_key: FreshKey,
    n_clean: int,
    dup_rows: list[tuple[int, Row]],
    conflict: Callable[[Row, int], Row],
    invalid: dict[str, Defect],
) -> None:
    """Insert malformed lines, one-defect rows (``invalid[reason]``) and duplicates of ``dup_rows``.

    ``rows`` are template rows, copied and never modified in place; duplicates go after their original.
    """
    pos = lambda: int(rng.integers(0, n_clean + 1))  # noqa: E731
    t = 0

    def template() -> Row:
        nonlocal t
        r = dict(rows[t % len(rows)])
        t += 1
        return r

    for i in range(counts.get("malformed_row", 0)):
        plan.insert(pos(), _malformed(plan, template(), i), "malformed_row")
    for reason, make in invalid.items():
        for i in range(counts.get(reason, 0)):
            r = make(fresh_key(template(), reason, i), i)
            plan.insert(pos(), r, reason)
    m = counts.get("merged", 0)
    for j, (orig, row) in enumerate(dup_rows):
        if j < m:
            plan.insert(int(rng.integers(orig + 1, n_clean + 1)), dict(row), "merged")
        else:
            plan.insert(int(rng.integers(orig + 1, n_clean + 1)), conflict(dict(row), j), "conflicting_duplicate")


def _odd_rows(plan: TablePlan, idx: np.ndarray, rows: list[Row], mutators: list[tuple[str, Mutator]]) -> None:
    """Rewrite clean rows in spellings that must still be accepted (mutators take turns)."""
    for k, (i, row) in enumerate(zip(idx.tolist(), rows)):
        name, f = mutators[k % len(mutators)]
        new = f(dict(row), k // len(mutators))
        if new is None:  # not applicable to this row: leave it clean
            continue
        plan.replaces[int(i)] = csv_line(new.get(c) for c in plan.columns)
        plan.odd[name] = plan.odd.get(name, 0) + 1


def _scaled_odd(table: str, entities: int) -> int:
    if table == "inspectors":
        return _ODD_INSPECTORS
    return max(4, round(_ODD_PER_10K[table] * entities / 10_000))


# ---------------------------------------------------------------------- mutators (accepted)
def _m_uscc(style: str) -> Mutator:
    def f(r: Row, k: int) -> Row | None:
        if not r.get("uscc"):
            return None
        r["uscc"] = {"lower": r["uscc"].lower(), "fullwidth": fullwidth(r["uscc"]), "spaces": f"  {r['uscc']} "}[style]
        return r

    return f


def _m_date(column: str) -> Mutator:
    def f(r: Row, k: int) -> Row | None:
        if not r.get(column):
            return None
        r[column] = odd_date(r[column], k)
        return r

    return f


def _m_vocab(column: str, vocab: dict[str, tuple[str, ...]], which: int = 1) -> Mutator:
    def f(r: Row, k: int) -> Row | None:
        if not r.get(column) or r[column] not in vocab:
            return None
        r[column] = vocab[r[column]][which]
        return r

    return f


def _m_pad(column: str) -> Mutator:
    def f(r: Row, k: int) -> Row | None:
        if not r.get(column):
            return None
        r[column] = f" {r[column]}\t" if k % 2 else f"  {r[column]}  "
        return r

    return f


def _m_fullwidth(column: str) -> Mutator:
    def f(r: Row, k: int) -> Row | None:
        if not r.get(column):
            return None
        r[column] = fullwidth(r[column])
        return r

    return f


# ---------------------------------------------------------------------- the plans
def _with(column: str, values: tuple[str, ...]) -> Defect:
    def f(r: Row, i: int) -> Row:
        r[column] = values[i % len(values)]
        return r

    return f


def _empty(columns: tuple[str, ...]) -> Defect:
    def f(r: Row, i: int) -> Row:
        r[columns[i % len(columns)]] = None
        return r

    return f


def _plan_entities(table: pa.Table, counts: dict[str, int], rng: np.random.Generator, spare: Iterator[str],
                   entities: int) -> TablePlan:
    cols = tuple(table.column_names)
    n = table.num_rows
    plan = TablePlan("entities", cols, n)
    n_dup = counts["merged"] + counts["conflicting_duplicate"]
    n_odd = _scaled_odd("entities", entities)
    pick = _Picker(rng, n, n_dup + n_odd + 64)
    dup_idx = pick.take(n_dup)
    odd_idx = pick.take(n_odd)
    tmpl_idx = pick.take(64)
    rows = table.take(pa.array(tmpl_idx)).to_pylist() if tmpl_idx.size else []
    dup_rows = list(zip(dup_idx.tolist(), table.take(pa.array(dup_idx)).to_pylist())) if dup_idx.size else []

    def fresh(r: Row, reason: str, i: int) -> Row:
        code = next(spare)
        r["uscc"] = bad_uscc(code, i) if reason == "bad_uscc" else code
        r["status"], r["closed_on"] = "active", None
        return r

    def conflict(r: Row, j: int) -> Row:
        r["address"] = (r.get("address") or "") + "附1号"
        return r

    invalid = {
        "missing_required": _empty(("name", "entity_type", "region_code", "established_on", "uscc")),
        "bad_uscc": lambda r, i: r,
        "bad_enum": lambda r, i: (
            _with("entity_type", BAD_ENUMS["entity_type"]) if i % 2 == 0 else _with("status", BAD_ENUMS["status"])
        )(r, i // 2),
        "bad_region": _with("region_code", BAD_REGIONS),
        "bad_industry": _with("industry_code", BAD_INDUSTRIES),
        "bad_date": _with("established_on", BAD_DATES),
        "future_date": lambda r, i: {**r, "established_on": future_date(i)},
        "bad_number": _with("registered_capital", BAD_NUMBERS),
    }
    if rows:
        _inject_common(plan, rng, rows, counts, fresh, n, dup_rows, conflict, invalid)
    odd_rows = table.take(pa.array(odd_idx)).to_pylist() if odd_idx.size else []
    _odd_rows(plan, odd_idx, odd_rows, [
        ("uscc_lower_case", _m_uscc("lower")),
        ("uscc_full_width", _m_uscc("fullwidth")),
        ("uscc_padded", _m_uscc("spaces")),
        ("date_other_spelling", _m_date("established_on")),
        ("entity_type_chinese", _m_vocab("entity_type", contract.ENTITY_TYPES)),
        ("status_chinese", _m_vocab("status", contract.STATUSES)),
        ("name_padded", _m_pad("name")),
        ("closed_on_other_spelling", _m_date("closed_on")),
    ])
    return plan


def _plan_events(store: EventStore, uscc: np.ndarray, dates: DateStrings, counts: dict[str, int],
                 rng: np.random.Generator, spare: Iterator[str], entities: int) -> TablePlan:
    cols = EventStore.COLUMNS
    n = len(store)
    plan = TablePlan("events", cols, n)
    if n == 0:
        return plan
    n_dup = counts["merged"] + counts["conflicting_duplicate"]
    n_odd = _scaled_odd("events", entities)
    n_tmpl = min(n, 2000)
    pick = _Picker(rng, n, n_dup + n_odd + n_tmpl)
    dup_idx, odd_idx, tmpl_idx = np.sort(pick.take(n_dup)), np.sort(pick.take(n_odd)), pick.take(n_tmpl)

    def rows_of(idx: np.ndarray) -> list[Row]:
        return store.table(idx, uscc, dates).to_pylist() if idx.size else []

    rows = rows_of(tmpl_idx)
    dup_rows = list(zip(dup_idx.tolist(), rows_of(dup_idx)))
    seq = iter(range(1, 10**9))

    def fresh(r: Row, reason: str, i: int) -> Row:
        r["record_id"] = f"ZZ{next(seq):010d}"
        if reason == "bad_uscc":
            r["uscc"] = bad_uscc(r["uscc"], i)
        elif reason == "unattributed":
            r["uscc"] = next(spare)
        return r

    def conflict(r: Row, j: int) -> Row:
        if r.get("amount") is not None:
            r["amount"] = str(int(r["amount"]) + 100)
        else:
            r["detail"] = (r.get("detail") or "") + "（更正）"
        return r

    def bad_date(r: Row, i: int) -> Row:
        col = "reported_on" if (i % 4 == 3 and r.get("reported_on")) else "event_date"
        r[col] = BAD_DATES[i % len(BAD_DATES)]
        return r

    def future(r: Row, i: int) -> Row:
        col = "reported_on" if (i % 4 == 3 and r.get("reported_on")) else "event_date"
        r[col] = future_date(i)
        return r

    invalid = {
        "missing_required": _empty(("record_id", "uscc", "event_type", "event_date")),
        "bad_uscc": lambda r, i: r,
        "unknown_event_type": _with("event_type", UNKNOWN_EVENT_TYPES),
        "bad_date": bad_date,
        "future_date": future,
        "bad_number": _with("amount", BAD_NUMBERS),
        "bad_amount": _with("amount", NON_FINITE),
        "unattributed": lambda r, i: r,
    }
    _inject_common(plan, rng, rows, counts, fresh, n, dup_rows, conflict, invalid)
    _odd_rows(plan, odd_idx, rows_of(odd_idx), [
        ("uscc_lower_case", _m_uscc("lower")),
        ("uscc_full_width", _m_uscc("fullwidth")),
        ("uscc_padded", _m_uscc("spaces")),
        ("event_date_other_spelling", _m_date("event_date")),
        ("reported_on_other_spelling", _m_date("reported_on")),
        ("event_type_chinese", _m_vocab("event_type", contract.EVENT_TYPES)),
        ("detail_padded", _m_pad("detail")),
        ("end_date_other_spelling", _m_date("end_date")),
        ("amount_full_width", _m_fullwidth("amount")),
    ])
    return plan


def _plan_simple(name: str, table: pa.Table, counts: dict[str, int], rng: np.random.Generator,
                 spare: Iterator[str], n_odd: int) -> TablePlan:
    """relations, inspectors, domain_grades."""
    cols = tuple(table.column_names)
    n = table.num_rows
    plan = TablePlan(name, cols, n)
    if n == 0:
        return plan
    n_dup = min(counts.get("merged", 0) + counts.get("conflicting_duplicate", 0), n // 3)
    counts = dict(counts)
    if n_dup < counts.get("merged", 0) + counts.get("conflicting_duplicate", 0):
        counts["merged"] = n_dup // 2
        counts["conflicting_duplicate"] = n_dup - n_dup // 2
    n_odd = min(n_odd, n // 3)
    pick = _Picker(rng, n, n_dup + n_odd + 32)
    dup_idx, odd_idx, tmpl_idx = pick.take(n_dup), pick.take(n_odd), pick.take(32)
    if tmpl_idx.size == 0:
        tmpl_idx = dup_idx[:1] if dup_idx.size else odd_idx[:1]
    rows = table.take(pa.array(tmpl_idx)).to_pylist()
    dup_rows = list(zip(dup_idx.tolist(), table.take(pa.array(dup_idx)).to_pylist())) if dup_idx.size else []
    seq = iter(range(1, 10**9))

    def fresh(r: Row, reason: str, i: int) -> Row:
        if name == "inspectors":
            r["inspector_id"] = f"X{next(seq):06d}"
        elif reason == "unattributed":
            r["uscc"] = next(spare)
        elif reason == "bad_uscc":
            r["uscc"] = bad_uscc(r["uscc"], i)
        elif name == "relations":
            r["party_id"] = f"P{next(seq):010X}Z"  # a key of its own (the row fails anyway)
        else:
            r["domain"] = "special_equipment"  # a key of its own: no clean grade has this domain
        return r

    if name == "relations":
        def conflict(r: Row, j: int) -> Row:
            r["party_kind"] = "entity" if r["party_kind"] == "person" else "person"
            return r

        invalid = {
            "missing_required": _empty(("party_id", "party_kind", "role", "uscc")),
            "bad_uscc": lambda r, i: r,
            "bad_enum": lambda r, i: (
                _with("role", BAD_ENUMS["role"]) if i % 2 == 0 else _with("party_kind", BAD_ENUMS["party_kind"])
            )(r, i // 2),
            "unattributed": lambda r, i: r,
        }
        mutators = [
            ("uscc_lower_case", _m_uscc("lower")),
            ("uscc_full_width", _m_uscc("fullwidth")),
            ("role_chinese", _m_vocab("role", contract.ROLES)),
            ("party_kind_chinese", _m_vocab("party_kind", contract.PARTY_KINDS)),
            ("party_id_padded", _m_pad("party_id")),
        ]
    elif name == "inspectors":
        def conflict(r: Row, j: int) -> Row:
            r["domains"] = "general;food" if r.get("domains") != "general;food" else "general"
            return r

        def utf8_line(r: Row, i: int) -> bytes:  # a valid row, but in UTF-8 in the GB18030 file (Chinese name)
            r["name"] = (r.get("name") or "") + "（借调）"
            return _KEEP_UTF8 + csv_line(r.get(c) for c in cols)

        invalid = {
            "missing_required": _empty(("name", "inspector_id", "unit_region_code")),
            "bad_region": _with("unit_region_code", BAD_REGIONS),
            "bad_encoding": utf8_line,
        }
        mutators = [
            ("name_padded", _m_pad("name")),
            ("region_full_width", _m_fullwidth("unit_region_code")),
            ("id_padded", _m_pad("inspector_id")),
        ]
    else:
        def conflict(r: Row, j: int) -> Row:
            r["grade"] = {"A": "B", "B": "C", "C": "D", "D": "C"}.get(r["grade"], "A")
            return r

        invalid = {
            "missing_required": _empty(("grade", "domain", "as_of", "uscc")),
            "bad_uscc": lambda r, i: r,
            "bad_date": _with("as_of", BAD_DATES),
            "future_date": lambda r, i: {**r, "as_of": future_date(i)},
            "unattributed": lambda r, i: r,
        }
        mutators = [
            ("uscc_lower_case", _m_uscc("lower")),
            ("uscc_full_width", _m_uscc("fullwidth")),
            ("as_of_other_spelling", _m_date("as_of")),
        ]
    _inject_common(plan, rng, rows, counts, fresh, n, dup_rows, conflict, invalid)
    odd_rows = table.take(pa.array(odd_idx)).to_pylist() if odd_idx.size else []
    _odd_rows(plan, odd_idx, odd_rows, mutators)
    return plan


# ---------------------------------------------------------------------- writing
def _header(columns: tuple[str, ...]) -> bytes:
    return csv_line(columns)


def _table_bytes(table: pa.Table) -> bytes:
    buf = pa.BufferOutputStream()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
    return buf.getvalue().to_pybytes()


def _edited_segments(plan: TablePlan, lo: int, hi: int, chunks: Iterable[pa.Table], last: bool) -> Iterator[bytes]:
    """CSV bytes of clean rows ``[lo, hi)`` (given as consecutive ``chunks``) with the plan's edits applied.

    Each chunk is serialised once; since no cell contains a line break, row ``r`` of a
    chunk is its ``r``-th line, so edits are spliced in at line boundaries.
    """
    edits = sorted(
        [(p, 0, k, line) for k, (p, line) in enumerate(plan.inserts) if lo <= p < hi or (last and p == hi)]
        + [(p, 1, 0, line) for p, line in plan.replaces.items() if lo <= p < hi]
    )
    e = 0
    start = lo
    for table in chunks:
        stop = start + table.num_rows
        data = _table_bytes(table)
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1  # end offset of each row
        if ends.size != table.num_rows:
            raise RuntimeError("a cell contains a line break")
        offset = 0  # byte offset in data not yet written
        while e < len(edits) and edits[e][0] < stop:
            p, kind, _k, line = edits[e]
            cut = int(ends[p - start - 1]) if p > start else 0
            if cut > offset:
                yield data[offset:cut]
                offset = cut
            yield line
            if kind == 1:
                offset = int(ends[p - start])
            e += 1
        if offset < len(data):
            yield data[offset:]
        start = stop
    while e < len(edits):  # inserts after the last row
        yield edits[e][3]
        e += 1


def _write(path: Path, plan: TablePlan, chunks: Iterable[bytes], encoding: str = "utf-8", bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding == "utf-8":
        with open(path, "wb") as f:
            if bom:
                f.write(b"\xef\xbb\xbf")
            f.write(_header(plan.columns))
            for c in chunks:
                f.write(c)
    else:  # line by line: a line marked _KEEP_UTF8 stays UTF-8 (a mixed-encoding file)
        data = _header(plan.columns) + b"".join(chunks)
        out = [line[len(_KEEP_UTF8):] if line.startswith(_KEEP_UTF8) else line.decode("utf-8").encode(encoding)
               for line in data.splitlines(keepends=True)]
        path.write_bytes(b"".join(out))


def _slices(table: pa.Table) -> Iterator[pa.Table]:
    for s in range(0, table.num_rows, CHUNK_ROWS):
        yield table.slice(s, CHUNK_ROWS)


def write_dirty(
    dirty_out: Path,
    *,
    seed: int,
    entities: int,
    pop: Population,
    store: EventStore,
    uscc: np.ndarray,
    dates: DateStrings,
    tables: dict[str, pa.Table],
    part_rows: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Write the dirty delivery and ``_expected.json``; returns the expected counts."""
    counts = planned_counts(entities)
    spare = iter(pop.spare_usccs)
    plans = {
        "entities": _plan_entities(tables["entities"], counts["entities"], rng, spare, entities),
        "events": _plan_events(store, uscc, dates, counts["events"], rng, spare, entities),
        "relations": _plan_simple("relations", tables["relations"], counts["relations"], rng, spare,
                                  _scaled_odd("relations", entities)),
        "inspectors": _plan_simple("inspectors", tables["inspectors"], counts["inspectors"], rng, spare,
                                   _ODD_INSPECTORS),
        "domain_grades": _plan_simple("domain_grades", tables["domain_grades"], counts["domain_grades"], rng, spare,
                                      _scaled_odd("domain_grades", entities)),
    }
    # rows refused for the registration columns: a random stream of their own, no other row changes
    for pos, row, reason in registration.dirty_rows(tables["entities"], seed, set(pop.uscc_codes)):
        plans["entities"].insert(pos, row, reason)
    dirty_out.mkdir(parents=True, exist_ok=True)
    for old in [*dirty_out.glob("*.csv"), *dirty_out.glob("events/*.csv")]:
        old.unlink()
    for name in ("entities", "relations", "inspectors", "domain_grades"):
        plan, table = plans[name], tables[name]
        segs = _edited_segments(plan, 0, table.num_rows, _slices(table), last=True)
        _write(dirty_out / f"{name}.csv", plan, segs,
               encoding="gb18030" if name == "inspectors" else "utf-8", bom=name == "domain_grades")
    plan = plans["events"]
    ranges = part_ranges(len(store), part_rows)
    for i, (lo, hi) in enumerate(ranges):
        segs = _edited_segments(plan, lo, hi, event_chunks(store, uscc, dates, lo, hi), last=i == len(ranges) - 1)
        _write(dirty_out / "events" / f"part-{i + 1:03d}.csv", plan, segs)
    (dirty_out / UNREADABLE).write_bytes(_unreadable_bytes(rng))
    traps = write_traps(dirty_out, seed, uscc)  # a random stream of their own: no other file changes

    expected = {
        "seed": seed,
        "entities": entities,
        "tables": {name: plans[name].expected() for name in TABLE_NAMES},
        "unreadable_files": sorted([*traps, {"path": UNREADABLE}], key=lambda u: u["path"]),
        "notes": _notes(plans),
    }
    (dirty_out / "_expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return expected


def _unreadable_bytes(rng: np.random.Generator) -> bytes:
    """A truncated gzip stream: binary, with NUL bytes, not CSV in any encoding."""
    body = rng.integers(0, 256, 4096, dtype=np.uint8)
    body[::97] = 0
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + body.tobytes()


def _notes(plans: dict[str, TablePlan]) -> dict[str, Any]:
    return {
        "summary": (
            "Clean delivery plus injected rows. Every injected row is an extra line with exactly one defect; "
            "rewritten clean rows (odd_but_accepted) must be accepted. Reasons follow the order of "
            "riskgrade.contract.REASONS; the first failing check wins."
        ),
        "odd_but_accepted": {name: dict(sorted(p.odd.items())) for name, p in plans.items()},
        "rules": [
            "read counts every data line of a readable file except the header; no field contains a line break.",
            "malformed_row: a line with one field fewer or more than the header (quotes always balanced; some "
            "lines split a Chinese name with an unquoted comma).",
            "missing_required: a required column empty (null cell).",
            "bad_uscc: wrong check character, 17 or 19 characters, or a letter outside the alphabet (I O Z S V).",
            "bad_enum: entity_type / status / party_kind / role outside the vocabulary.",
            "unknown_event_type: event_type outside the vocabulary (events only).",
            "bad_region: 6-character codes that are in no GB/T 2260 table (current or historical).",
            "bad_industry: codes rejected by riskgrade.codes.industries.parse.",
            "bad_date: impossible dates (2025-02-30, 2023-13-01) or words (yesterday, 昨天); in event_date, "
            "reported_on, established_on or as_of.",
            "future_date: 2099 dates in event_date, reported_on, established_on or as_of.",
            "bad_number: amount or registered_capital that is not a number (abc, 1.2.3, 十万, 12O0, '5 万').",
            "bad_name: a legal_rep_name holding digits (an ID-card or phone number); text_too_long: a "
            "registration_authority over 128 characters (riskgrade.simulate.registration, a stream of its own).",
            "merged: an identical copy of a clean row (placed after it); conflicting_duplicate: the key of a clean "
            "row with one other field changed (address, amount or detail, party_kind, domains, grade).",
            "unattributed: a valid USCC that belongs to no entity of the delivery.",
            "Quarantine-bound rows carry keys of their own (events: record_id ZZ..., entities: fresh USCCs, "
            "relations: fresh party_id, inspectors: X... ids, domain_grades: domain special_equipment), so no "
            "clean row is affected and nothing cascades; only malformed lines copy clean rows verbatim.",
            "Encodings: inspectors.csv is GB18030, domain_grades.csv UTF-8 with BOM, the rest UTF-8.",
            "events/part-999.csv is a truncated gzip stream (binary, NUL bytes): unreadable, its rows count nowhere.",
            "events/part-997.xlsx declares A1:XFD1048576 (xlsx_too_large) and events/part-998.csv names uscc twice "
            "(duplicate_header): both unreadable with that reason, their rows count nowhere (riskgrade.simulate.traps).",
        ],
    }
