"""Cell normalisation shared by every reader: trim, full-width ASCII folding, empty -> missing.

The SQL form (:func:`sql_clean`) and the Python form (:func:`clean`) implement
the same rule; a property test keeps them equal.
"""

from __future__ import annotations

from .sql import literal

# U+FF01..U+FF5E are the full-width forms of ASCII U+0021..U+007E; U+3000 is the ideographic space.
FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALFWIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_TABLE = str.maketrans(FULLWIDTH, HALFWIDTH)
# characters stripped from both ends (after folding): all Unicode whitespace, zero-width space, BOM
STRIP = "".join(chr(c) for c in range(0x3000) if chr(c).isspace()) + "\u200b\ufeff"


def clean(value: object) -> str | None:
    """Normalise one cell to a trimmed half-width string, or None when empty."""
    if value is None:
        return None
    s = str(value).translate(_TABLE).strip(STRIP)
    return s or None


sql_literal = literal  # riskgrade.sql.literal, the one quoting rule


def _re_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def sql_clean(expr: str) -> str:
    """The same rule as :func:`clean`, as a DuckDB SQL expression over a VARCHAR.

    Folding and trimming are costly per character, so each is applied only to
    the cells that need it (a regular-expression test is ~30x cheaper).
    """
    x = f"CAST({expr} AS VARCHAR)"
    wide = _re_class(FULLWIDTH)
    folded = (f"CASE WHEN regexp_matches({x}, '{wide}') "
              f"THEN translate({x}, {sql_literal(FULLWIDTH)}, {sql_literal(HALFWIDTH)}) ELSE {x} END")
    edge = _re_class(STRIP)
    slow = (f"nullif(CASE WHEN regexp_matches({folded}, '^{edge}|{edge}$') "
            f"THEN trim({folded}, {sql_literal(STRIP)}) ELSE {folded} END, '')")
    # fast path: pure ASCII with printable ends needs neither folding nor trimming
    return f"CASE WHEN ascii({x}) > 32 AND ascii(right({x}, 1)) > 32 AND strlen({x}) = length({x}) THEN {x} ELSE {slow} END"


def header_key(header: str) -> str:
    """Normalise a column header for alias matching."""
    h = clean(header) or ""
    return h.lower().replace("（", "(").replace("）", ")").replace(" ", "")


def arrow_needs_cleaning(values: object) -> bool:
    """Whether :func:`clean` would change any cell of an Arrow string column beyond ``'' -> None``.

    True when a cell holds a full-width form (or the ideographic space) anywhere, or a character of
    :data:`STRIP` at either end.  Readers test each column of a file once with this (Arrow kernels,
    no Python per cell) so that a column needing neither folding nor trimming skips :func:`sql_clean`.
    It may answer True for a column that needs nothing (that only costs time), never False for one
    that needs cleaning.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for a in chunks:
        if pa.types.is_dictionary(a.type):  # a dictionary-encoded column: its distinct values are enough
            a = a.dictionary
        if len(a) == a.null_count:
            continue
        if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
            a = a.cast(pa.large_string())
        if pc.all(pc.string_is_ascii(a)).as_py() is False:
            if _has_fullwidth(a.buffers()[2]):
                return True
            trimmed = pc.utf8_trim(a, STRIP)
            if pc.all(pc.equal(pc.binary_length(trimmed), pc.binary_length(a))).as_py() is False:
                return True
        elif _ascii_edges(a):
            return True
    return False


def _ascii_edges(a: object) -> bool:
    """Whether a cell of an ASCII string array starts or ends with a byte <= 0x20 (every ASCII
    character of :data:`STRIP` is one; a control character that is not only costs a cleaning pass)."""
    import numpy as np

    import pyarrow as pa

    _, off, data = a.buffers()[:3]
    if data is None:
        return False
    width = np.int64 if pa.types.is_large_string(a.type) else np.int32
    offsets = np.frombuffer(off, dtype=width)[a.offset:a.offset + len(a) + 1]
    b = np.frombuffer(data, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    full = ends > starts
    return bool(np.any(b[starts[full]] <= 0x20) or np.any(b[ends[full] - 1] <= 0x20))


def _has_fullwidth(buf: object) -> bool:
    """Any UTF-8 lead of U+FF00..U+FF7F (EF BC xx, EF BD xx) or U+3000 (E3 80 80) in the bytes."""
    import numpy as np

    if buf is None:
        return False
    b = np.frombuffer(buf, dtype=np.uint8)
    if b.size < 3:
        return False
    i = np.flatnonzero(b[:-2] == 0xEF)
    if i.size and np.any((b[i + 1] == 0xBC) | (b[i + 1] == 0xBD)):
        return True
    j = np.flatnonzero(b[:-2] == 0xE3)
    return bool(j.size and np.any((b[j + 1] == 0x80) & (b[j + 2] == 0x80)))
