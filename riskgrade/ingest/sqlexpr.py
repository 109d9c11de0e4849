"""SQL expressions (DuckDB) that normalise, type and validate staged text columns."""

from __future__ import annotations

from .. import contract
from ..codes import industries
from ..normalise import sql_clean, sql_literal
from .readers import Staged

# Accepted date spellings, tried in order (DuckDB strptime accepts non-padded month/day).
DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", "%Y.%m.%d",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
]
EXCEL_EPOCH = "DATE '1899-12-30'"


def parse_date(v: str) -> str:
    """Text -> DATE or NULL.  Also Excel serial day numbers (5 digits, 1927-2173)."""
    fmts = "[" + ", ".join(sql_literal(f) for f in DATE_FORMATS) + "]"
    return (
        f"coalesce(TRY_CAST({v} AS DATE), CAST(try_strptime({v}, {fmts}) AS DATE), "
        f"CASE WHEN regexp_full_match({v}, '[1-9][0-9]{{4}}(\\.[0-9]+)?') "
        f"THEN {EXCEL_EPOCH} + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) END)"
    )


def parse_number(v: str) -> str:
    return f"TRY_CAST(replace({v}, ',', '') AS DOUBLE)"


def enum_lookup(v: str, vocab: str) -> str:
    pairs = ", ".join(f"{sql_literal(k)}: {sql_literal(c)}" for k, c in contract.vocabulary_map(vocab).items())
    return f"(MAP {{{pairs}}})[lower({v})]"


def industry_parts(v: str) -> tuple[str, str]:
    """(digits-or-NULL, section-or-NULL) for a cleaned industry code; both NULL when invalid."""
    pairs = ", ".join(f"{sql_literal(d)}: {sql_literal(s)}" for d, s in industries.DIVISION_SECTION.items())
    digits = f"nullif(regexp_extract(upper({v}), '^([A-T])?([0-9]{{4}})$', 2), '')"
    letter = f"nullif(regexp_extract(upper({v}), '^([A-T])?([0-9]{{4}})$', 1), '')"
    section = f"(MAP {{{pairs}}})[left({digits}, 2)]"
    ok = f"({digits} IS NOT NULL AND {section} IS NOT NULL AND ({letter} IS NULL OR {letter} = {section}))"
    return f"CASE WHEN {ok} THEN {digits} END", f"CASE WHEN {ok} THEN {section} END"


def clean_col(st: Staged, name: str) -> str:
    """The cleaned text of contract column ``name`` of a staged file (NULL when the file lacks it).
    A column the reader found clean everywhere only turns empty cells into NULL."""
    col = st.columns.get(name)
    if not col:
        return "CAST(NULL AS VARCHAR)"
    return sql_clean(f"s.{col}") if st.needs_cleaning(col) else f"nullif(s.{col}, '')"


# Control characters never stored in a free-text column: C0 and C1 controls, zero-width and bidirectional
# formatting marks (they hide or reorder text on screen) and the BOM.  Line and tab breaks become a space.
BREAKS = "[\\t\\n\\x{0b}\\x{0c}\\r\\x{85}\\x{2028}\\x{2029}]+"
CONTROLS = "[\\x{00}-\\x{1f}\\x{7f}-\\x{9f}\\x{200b}-\\x{200f}\\x{202a}-\\x{202e}\\x{2060}-\\x{2069}\\x{feff}]"
PRE_CAP = 4  # a free-text cell is cut to this many times its column's limit (plus 64) before any cleaning


def strip_controls(v: str) -> str:
    """``v`` without control characters (:data:`CONTROLS`; a run of line breaks or tabs becomes one space)."""
    return (f"CASE WHEN regexp_matches({v}, '{CONTROLS}') THEN regexp_replace(regexp_replace({v}, '{BREAKS}', ' ', 'g'), "
            f"'{CONTROLS}', '', 'g') ELSE {v} END")


def text_col(st: Staged, col: contract.Column) -> str:
    """The cleaned text of a free-text column with a length limit (``col.max_length``): the raw cell cut to
    :data:`PRE_CAP` times the limit first (a cell of megabytes costs no more than one at the limit), then
    its control characters stripped, then cleaned as every cell (trim, full-width folding, empty -> NULL).
    The length checks (reject or cut) apply to this text."""
    name = st.columns.get(col.name)
    if not name:
        return "CAST(NULL AS VARCHAR)"
    raw = f"s.{name}"
    if col.max_length:
        raw = f"left({raw}, {PRE_CAP * col.max_length + 64})"
    return sql_clean(strip_controls(raw))


def hash_expr(exprs: list[str]) -> str:
    """A stable 64-bit content hash (MD5-based, the same in any engine) of typed values."""
    parts = ", ".join(f"coalesce(CAST({e} AS VARCHAR), '\\0')" for e in exprs)
    return f"CAST(md5_number(concat_ws(chr(31), {parts})) >> 64 AS UBIGINT)"
