"""The shortcuts that keep ``warn``'s CPU time down (docs/benchmarks.md, early warning) give what the long way gives."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from riskgrade.warning import clusters, precision, tables
from riskgrade.warning.rules import severity_rank


@pytest.mark.parametrize("address", [
    "济南市历下区经十路100号1801室", "济南市 历下区经十路100号", "　济南市历下区　经十路", " a b c d e f g h i j", "短",
    "", "  ", "　", None, "济南市历下区经十路100号世纪大厦A-1203室", "ＡＢＣ　ＤＥＦ ＧＨＩ"])
def test_address_prefix_is_the_prefix_with_spaces_removed(address: str | None) -> None:
    con = duckdb.connect()
    got, want = con.execute(f"SELECT {clusters._prefix_sql('a')}, left(replace(replace(a, ' ', ''), '　', ''), 8) "
                            "FROM (SELECT ?::VARCHAR AS a)", [address]).fetchall()[0]
    assert got == want


def test_place_words_of_a_county() -> None:
    words = clusters._place_words("370102")  # 济南市历下区
    assert {"历下区", "历下", "济南市", "济南", "山东省", "山东"} <= set(words) and list(words) == sorted(words)
    assert clusters._place_words("370100") == () and clusters._place_words("999999") == ()


def test_severity_rank() -> None:
    assert [severity_rank(s) for s in ("low", "medium", "high")] == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown severity"):
        severity_rank("urgent")


def _store(raised_on: dt.date, n: int = 3) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    tables.ensure_schema(con)
    con.execute("CREATE TABLE entities (uscc VARCHAR, established_on DATE, status VARCHAR, closed_on DATE)")
    con.execute(f"""INSERT INTO entities SELECT 'E' || i, DATE '2020-01-01' + (i % 700)::INTEGER, 'active', NULL
                    FROM range({n}) t(i)""")
    con.execute(f"""INSERT INTO alerts (alert_id, rule, scope, raised_on)
                    SELECT 'a' || i, 'r' || (i % 3), 'entity', DATE '{raised_on}' + (i % 90)::INTEGER FROM range({n}) t(i)""")
    con.execute("INSERT INTO alert_members (alert_id, uscc, raised_on) "
                "SELECT alert_id, 'E' || substr(alert_id, 2), raised_on FROM alerts")
    return con


def test_no_measurement_reads_the_events_when_no_alert_is_old_enough() -> None:
    end = dt.date(2025, 6, 30)
    con = _store(dt.date(2025, 3, 1))
    # events that cannot be read: the measurement must not need them
    con.execute("CREATE VIEW events AS SELECT error('events read') AS uscc, NULL::VARCHAR AS event_type, "
                "NULL::DATE AS event_date, NULL::VARCHAR AS detail, NULL::DOUBLE AS amount, NULL::VARCHAR AS source")
    assert precision.measure(con, end=end) == {}
    # ... and the full statement finds nothing to measure there either
    con.execute("CREATE OR REPLACE VIEW events AS SELECT * FROM (VALUES ('E1', 'admin_penalty', DATE '2025-04-01', "
                "NULL, NULL, NULL)) v(uscc, event_type, event_date, detail, amount, source)")
    from riskgrade.scoring.outcomes import load_outcomes

    assert con.execute(precision.measure_sql(end, load_outcomes())).fetchall() == []
    # an alert six months old is measured (the events are read)
    con.execute("UPDATE alert_members SET raised_on = DATE '2024-12-01' WHERE alert_id = 'a0'")
    assert precision.measure(con, end=end)["r0"][6].measured == 1


def test_the_expected_count_does_not_depend_on_the_threads() -> None:
    """The base rates are summed in one order: the figures are the same to the last bit with 1 and 4 threads."""
    con = _store(dt.date(2023, 1, 1), n=60_000)
    con.execute("""CREATE TABLE events AS SELECT 'E' || i AS uscc, 'admin_penalty' AS event_type,
                       DATE '2023-01-01' + (i * 7 % 900)::INTEGER AS event_date, NULL::VARCHAR AS detail,
                       NULL::DOUBLE AS amount, NULL::VARCHAR AS source FROM range(0, 60000, 3) t(i)""")
    seen = set()
    for threads in (1, 4, 1, 4):
        con.execute(f"SET threads = {threads}")
        m = precision.measure(con, end=dt.date(2025, 6, 30))
        seen.add(tuple((r, h, x.expected, x.base_rate, x.lift) for r, ms in sorted(m.items()) for h, x in sorted(ms.items())))
    assert len(seen) == 1 and len(next(iter(seen))) == 6
