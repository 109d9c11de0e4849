"""The per-row decision of an ingest, as SQL (pure builders: text in, text out).

:func:`triage_sql` is one pass over a staged file: each cell cleaned and typed, the first failing
quarantine reason (:func:`checks`, in the contract's order), which fields are present, the key's hash
and the content hash of the value a new row would store.  The ingest (:mod:`.pipeline`) runs it.
"""

from __future__ import annotations

import datetime as dt

from .. import contract
from . import sqlexpr as X
from .readers import Staged, is_date_type, is_number_type


def keeps_type(col: contract.Column, source_type: str | None) -> bool:
    """A Parquet column already typed as this contract column needs (a date, a number): used as is."""
    if source_type is None:
        return False
    if col.kind in (contract.DATE, contract.DATE_PAST):
        return is_date_type(source_type)
    return col.kind == contract.NUMBER and is_number_type(source_type)


def typed_exprs(table: contract.Table, cleaned: dict[str, str], given: set[str]) -> dict[str, str]:
    """contract column -> typed SQL expression over its cleaned text column (``cleaned[name]``), or over
    the delivered typed value for the columns in ``given``."""
    out: dict[str, str] = {}
    for col in table.columns:
        v = cleaned[col.name]
        if col.name in given:
            out[col.name] = f"CAST({v} AS {'DOUBLE' if col.kind == contract.NUMBER else 'DATE'})"
        elif col.kind == contract.USCC:
            out[col.name] = f"upper({v})"
        elif col.kind == contract.ENUM:
            out[col.name] = X.enum_lookup(v, col.vocabulary or col.name)
        elif col.kind in (contract.DATE, contract.DATE_PAST):
            out[col.name] = X.parse_date(v)
        elif col.kind == contract.NUMBER:
            out[col.name] = X.parse_number(v)
        elif col.kind == contract.INDUSTRY:
            out[col.name] = X.industry_parts(v)[0]
        elif col.max_length and col.overflow == contract.TRUNCATE:
            out[col.name] = f"left({v}, {col.max_length})"
        else:
            out[col.name] = v
    return out


def checks(table: contract.Table, load_date: dt.date) -> tuple[list, list]:
    """(checks before the USCC check, checks after it): lists of (reason, condition over t_* columns)."""
    ld = f"DATE '{load_date.isoformat()}'"
    pre = [("missing_required", " OR ".join(f"t_{c.name}_txt IS NULL" for c in table.columns if c.required))]
    post: list[tuple[str, str]] = []
    for c in table.columns:
        if c.kind == contract.ENUM:
            reason = "unknown_event_type" if c.name == "event_type" else "bad_enum"
            post.append((reason, f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)"))
    for c in table.columns:
        if c.kind == contract.REGION:
            post.append(("bad_region", f"(t_{c.name} IS NOT NULL AND rr.code IS NULL)"))
    for c in table.columns:
        if c.kind == contract.INDUSTRY:
            post.append(("bad_industry", f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)"))
    dates = [c for c in table.columns if c.kind in (contract.DATE, contract.DATE_PAST)]
    if dates:
        post.append(("bad_date", " OR ".join(f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)" for c in dates)))
        past = [c for c in dates if c.kind == contract.DATE_PAST]
        if past:
            post.append(("future_date", " OR ".join(f"coalesce(t_{c.name} > {ld}, false)" for c in past)))
    nums = [c for c in table.columns if c.kind == contract.NUMBER]
    if nums:
        post.append(("bad_number", " OR ".join(f"(t_{c.name}_txt IS NOT NULL AND t_{c.name} IS NULL)" for c in nums)))
        # 1e309, inf, NaN: they parse, but would poison every sum they reach (a NaN fine wipes out a total)
        post.append(("bad_amount", " OR ".join(f"coalesce(NOT isfinite(t_{c.name}), false)" for c in nums)))
    # a person's name with a digit is an ID-card or phone number in the wrong column: never stored as a name
    names = [c for c in table.columns if c.kind == contract.PERSON_NAME]
    if names:
        post.append(("bad_name", " OR ".join(f"coalesce(regexp_matches(t_{c.name}_txt, '[0-9]'), false)" for c in names)))
    longs = [c for c in table.columns if c.max_length and c.overflow == contract.REJECT]
    if longs:
        post.append(("text_too_long", " OR ".join(f"coalesce(length(t_{c.name}_txt) > {c.max_length}, false)"
                                                  for c in longs)))
    return pre, post


def free_text(col: contract.Column) -> bool:
    """A free-text column read through :func:`sqlexpr.text_col` (control characters stripped, length-capped)."""
    return col.kind == contract.PERSON_NAME or col.max_length is not None


def truncated_sql(table: contract.Table) -> str | None:
    """Bits (one per column, in the table's column order) of the cells cut to their column's limit; None
    when the table has no column that is cut."""
    cut = [(i, c) for i, c in enumerate(table.columns) if c.max_length and c.overflow == contract.TRUNCATE]
    if not cut:
        return None
    return "CAST(" + " + ".join(f"(CASE WHEN length(t_{c.name}_txt) > {c.max_length} THEN {1 << i} ELSE 0 END)"
                                for i, c in cut) + " AS BIGINT)"


def reason_case(checks: list[tuple[str, str]]) -> str:
    """The first failing reason of ``checks`` (NULL: the row passes)."""
    if not checks:
        return "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(f"WHEN {cond} THEN '{r}'" for r, cond in checks) + " END"


def defaulted(table: contract.Table, col: str, load_date: dt.date) -> str:
    """The value stored for a new row: the delivered one, else the contract's default."""
    if col == "status":
        return "coalesce(t_status, 'active')"
    if col == "reported_on":
        return f"coalesce(t_reported_on, DATE '{load_date.isoformat()}')"
    return f"t_{col}"


def stored_present(table: contract.Table, load_date: dt.date) -> str:
    """The presence bits (``_present``) of a row stored as valid, from its stored values: a valid row's
    cell was given exactly when its stored value is not NULL (a given cell that does not type is a
    quarantine reason), except where a default fills an empty cell (``reported_on``: ``reported_given``)."""
    bits = []
    for i, c in enumerate(table.columns):
        if c.name == "reported_on":
            given = "reported_given"
        elif defaulted(table, c.name, load_date) == f"t_{c.name}":
            given = f"{c.name} IS NOT NULL"
        else:
            raise ValueError(f"{table.name}.{c.name}: presence of a defaulted column is not stored")
        bits.append(f"(CASE WHEN {given} THEN {1 << i} ELSE 0 END)")
    return "CAST(" + " + ".join(bits) + " AS BIGINT)"


def content_hash(exprs: list[str]) -> str:
    """64-bit hash of a row's stored values, to tell a re-delivery from a change (internal to one store)."""
    return "hash(" + ", ".join(exprs) + ")"


def row_hash(table: contract.Table, values: dict[str, str]) -> str:
    """:func:`content_hash` of a row's stored values (``values``: column -> expression).  The columns added
    to the contract after v1 (``Column.extension``) join the hash only when one of them is given, so a row
    without them hashes as it did before they existed: a store written then re-ingests its deliveries as
    merged, not as revisions."""
    base = [values[c.name] for c in table.columns if not c.extension]
    ext = [values[c.name] for c in table.columns if c.extension]
    if not ext:
        return content_hash(base)
    return (f"CASE WHEN coalesce({', '.join(ext)}) IS NULL THEN {content_hash(base)} "
            f"ELSE {content_hash(base + ext)} END")


def triage_sql(table: contract.Table, st: Staged, file_idx: int, load_date: dt.date, uscc_by_hash: bool = False) -> str:
    """One pass over a file: typed values, the first failing reason, which fields are present
    (``_present`` bits), the key's hash, the content hash of the value a new row would store and, for
    tables with a USCC, the entity's bucket (``_bucket``: rows are stored by bucket, then USCC).
    ``uscc_by_hash``: look USCC cells up in ``uscc_map`` by their hash (the map's hashes are distinct).

    Deterministic, so it is evaluated where needed rather than materialised: once for the narrow
    per-row decisions, once more to write the rows stored."""
    # level 1: each cell cleaned once (or taken typed); level 2: typed; level 3 (below): reasons, hashes
    given = {c.name for c in table.columns if keeps_type(c, st.typed.get(st.columns.get(c.name, "")))}
    level1 = []
    for c in table.columns:
        if c.name == "uscc":
            continue
        if c.name in given:
            level1.append(f"s.t{st.columns[c.name][1:]} AS x_{c.name}")
        elif free_text(c):
            level1.append(f"{X.text_col(st, c)} AS x_{c.name}")
        else:
            level1.append(f"{X.clean_col(st, c.name)} AS x_{c.name}")
    join = ""
    if "uscc" in table.names:  # USCCs were cleaned and checked once per distinct raw value (uscc_map)
        raw = f"s.{st.columns['uscc']}"
        level1 += [f"CASE WHEN m.same THEN {raw} ELSE m.u END AS x_uscc", "m.valid AS x__valid", "m.held AS x__held",
                   "m.bucket AS x__bucket"]
        key = f"m.rh = hash(CAST({raw} AS VARCHAR))" if uscc_by_hash else f"m.raw = {raw}"
        join = f" LEFT JOIN uscc_map m ON {key}"
    typed = typed_exprs(table, {c.name: f"x_{c.name}" for c in table.columns}, given)
    level2 = [f"{typed[c.name]} AS t_{c.name}, x_{c.name} AS t_{c.name}_txt" for c in table.columns]
    if "uscc" in table.names:
        level2 += ["x__valid AS t__valid", "x__held AS t__held", "x__bucket AS t__bucket"]
    if "industry_code" in typed:
        level2.append(f"{X.industry_parts('x_industry_code')[1]} AS t_industry_section")
    pre, post = checks(table, load_date)
    failing = list(pre)
    if "uscc" in typed:
        failing.append(("bad_uscc", "(t_uscc IS NOT NULL AND NOT coalesce(t__valid, false))"))
    failing += post
    if table.attributed:
        failing.append(("unattributed", "NOT coalesce(t__held, false)"))
    region = next((c.name for c in table.columns if c.kind == contract.REGION), None)
    outer_join = f" LEFT JOIN ref_regions rr ON rr.code = t.t_{region}" if region else ""
    select = [f"{file_idx} AS _file_idx", "_line"]
    select += [f"{defaulted(table, c.name, load_date)} AS {c.name}" for c in table.columns]
    if "uscc" in typed:
        select.append("t__bucket AS _bucket")
    if "reported_on" in table.names:
        select.append("t_reported_on IS NOT NULL AS reported_given")
    if "industry_code" in typed:
        select.append("t_industry_section AS industry_section")
    if region:
        select.append("coalesce(NOT rr.current, false) AS region_historical")
    select.append("coalesce(t_source, '') AS _source" if "source" in table.names else "'' AS _source")
    select.append(f"{reason_case(failing)} AS _reason")
    bits = " + ".join(f"(CASE WHEN t_{c.name}_txt IS NOT NULL THEN {1 << i} ELSE 0 END)" for i, c in enumerate(table.columns))
    select.append(f"CAST({bits} AS BIGINT) AS _present")
    key = [("coalesce(t_source, '')" if k == "source" else f"t_{k}") for k in table.key]
    select.append(f"hash({', '.join(key)}) AS _kh")
    select.append(row_hash(table, {c: defaulted(table, c, load_date) for c in table.names}) + " AS _h")
    cut = truncated_sql(table)
    if cut:
        select.append(f"{cut} AS _truncated")
    l1 = f"SELECT s._line, {', '.join(level1)} FROM {st.name} s{join}"
    l2 = f"SELECT _line, {', '.join(level2)} FROM ({l1})"
    return f"SELECT {', '.join(select)} FROM ({l2}) t{outer_join}"


