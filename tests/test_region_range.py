"""``registry.db.in_region``: a region prefix as a range of codes (served by a plain index under any collation)
selects exactly the rows ``LIKE 'prefix%'`` selects, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgrade.registry.db import in_region

CODES = st.text(alphabet="0123456789", min_size=0, max_size=6)
VALUES = st.lists(st.one_of(st.text(alphabet="0123456789", min_size=1, max_size=6),
                            st.sampled_from(["370102", "379999", "999999", "000000", "37010A", "3701", ""])),
                  min_size=1, max_size=40)

_T = sa.table("t", sa.column("id", sa.Integer), sa.column("region_code", sa.String))


def _same_rows(engine: sa.Engine, values: list[str], prefix: str) -> None:
    with engine.begin() as c:
        c.execute(sa.text("DROP TABLE IF EXISTS t"))
        c.execute(sa.text("CREATE TABLE t (id INTEGER, region_code VARCHAR(6))"))
        c.execute(sa.insert(_T), [{"id": i, "region_code": v} for i, v in enumerate(values)])
        got = sorted(c.execute(sa.select(_T.c.id).where(in_region(_T.c.region_code, prefix))).scalars())
    assert got == [i for i, v in enumerate(values) if v.startswith(prefix)], (prefix, values)


@settings(max_examples=150, deadline=None)
@given(values=VALUES, prefix=CODES)
def test_a_range_selects_what_the_prefix_selects_sqlite(values: list[str], prefix: str) -> None:
    _same_rows(sa.create_engine("sqlite://"), values, prefix)


def test_a_range_selects_what_the_prefix_selects_postgresql(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    values = ["370102", "370103", "370199", "370200", "379999", "380000", "999999", "3701", "37", "37010A", ""]
    for prefix in ["", "3", "37", "3701", "37019", "370102", "379", "99", "9", "0"]:
        _same_rows(engine, values, prefix)
    engine.dispose()


def test_a_non_digit_prefix_falls_back_to_like() -> None:
    e = sa.create_engine("sqlite://")
    _same_rows(e, ["37A1", "37B1", "3701"], "37A")
    _same_rows(e, ["a%b", "axb"], "a%")   # escaped: % is not a wildcard
