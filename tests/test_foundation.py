"""The foundation layer: its shared modules, and the import rules of foundation and stages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from riskgrade import chain, contract, dates, render, sql, warehouse
from riskgrade.errors import RiskgradeError

PKG = Path(__file__).resolve().parents[1] / "riskgrade"



def test_sql_literals_and_tables() -> None:
    assert sql.literal("it's") == "'it''s'" and sql.literals(["a", "b'"]) == "'a', 'b'''"
    assert sql.path("/tmp/o'k") == "/tmp/o''k" and sql.ident('a"b') == '"a""b"'
    assert sql.date(dt.date(2026, 9, 30)) == "DATE '2026-09-30'"
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER)")
    con.execute("CREATE TEMP VIEW v AS SELECT 1 AS x")
    assert sql.table_exists(con, "t") and sql.table_exists(con, "v") and not sql.table_exists(con, "v", views=False)
    assert not sql.table_exists(con, "v", temporary=False) and not sql.table_exists(con, "nope")
    assert sql.table_exists(con, "t", database="memory") and not sql.table_exists(con, "t", database="other")
    assert sql.column_exists(con, "t", "a") and not sql.column_exists(con, "t", "b")
    assert con.execute(f"SELECT {sql.literal(chr(39) * 3)}").fetchall()[0][0] == "'''"


def test_dates() -> None:
    assert dates.is_month_end(dt.date(2024, 2, 29)) and not dates.is_month_end(dt.date(2025, 2, 27))
    assert dates.month_end(dt.date(2025, 2, 3)) == dt.date(2025, 2, 28)
    assert dates.add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert dates.add_months(dt.date(2025, 4, 30), 1) == dt.date(2025, 5, 30)
    assert dates.add_months(dt.date(2025, 4, 30), 1, keep_month_end=True) == dt.date(2025, 5, 31)
    assert dates.add_months(dt.date(2026, 9, 30), -24, keep_month_end=True) == dt.date(2024, 9, 30)
    assert dates.month_end_after(dt.date(2025, 11, 15), 3) == dt.date(2026, 2, 28)
    assert dates.years_back(dt.date(2024, 2, 29), 1) == dt.date(2023, 2, 28)
    assert dates.years_back(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)
    assert dates.parse_month("2026-09") == (dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    with pytest.raises(RiskgradeError, match="YYYY-MM"):
        dates.parse_month("2026-13")


def test_chain_walk_finds_the_first_failure() -> None:
    at = dt.datetime(2026, 11, 1, 9, 30)
    rows, prev = [], chain.GENESIS
    for seq in (1, 2, 3):
        h = chain.entry_hash(prev, seq, at, "u", "act", f"t{seq}", "{}")
        rows.append((seq, at, "u", "act", f"t{seq}", "{}", prev, h))
        prev = h
    w = chain.walk(rows)
    assert (w.entries, w.head_seq, w.head_hash, w.failure) == (3, 3, prev, None)
    edited = rows[:1] + [(*rows[1][:5], '{"x": 1}', *rows[1][6:])] + rows[2:]
    assert (chain.walk(edited).failure, chain.walk(edited).bad_seq) == ("edited", 2)
    assert (chain.walk([rows[0], rows[2]]).failure, chain.walk([rows[0], rows[2]]).bad_seq) == ("missing", 2)


def test_render_shared_pieces(tmp_path: Path) -> None:
    assert render.pct(0.1234) == "12.3%" and render.num(1234.56) == "1,234.6" and render.num(None) == "—"
    assert render.num(1234.567, fraction=2) == "1,234.57" and render.pval(0.0001) == "<0.001"
    assert "</" not in render.inline_script("a</script>") and "://" not in render.inline_script("http://x")
    out = render.atomic_write(tmp_path / "a" / "b.txt", "好")
    assert out.read_text(encoding="utf-8") == "好" and [p.name for p in out.parent.iterdir()] == ["b.txt"]
    assert render.environment("riskgrade.quality") is render.environment("riskgrade.quality")


def test_grades_and_bucket_are_defined_once() -> None:
    assert contract.GRADE_SETS == {"four": ("A", "B", "C", "D"), "five": ("A", "B", "C", "D", "E")}
    con = duckdb.connect()
    for u in ("91370102000000001X", "92370102MA3C123456"):
        assert con.execute(f"SELECT {warehouse.BUCKET_SQL.format(col=sql.literal(u))}").fetchall()[0][0] == \
            warehouse.uscc_bucket(u) < warehouse.BUCKETS
