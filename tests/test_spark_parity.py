"""One definition, two engines: the indicator query on DuckDB and, transpiled, on Spark give the same table."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from riskgrade.engines import duckdb as duck
from riskgrade.engines.spark import spark_sql
from riskgrade.errors import RiskgradeError
from riskgrade.indicators import load_catalog
from riskgrade.ingest import ingest
from riskgrade.warehouse import Warehouse

from .conftest import EVENT_HEADER, run_cli, write_csv

# one as-of date before 30 June (the latest due annual report is two years back), one after it;
# the second also keeps revoked entities in scope (five-grade mode)
AS_OF = [(dt.date(2025, 5, 31), False), (dt.date(2026, 9, 30), True)]


# --------------------------------------------------------------------------- the rewrites (no Spark needed)
def test_transpile_rewrites_keep_duckdb_meaning() -> None:
    sql = spark_sql("SELECT date_diff('day', a, b) / 365.25 AS x, date_diff('month', a, b) AS m, "
                    "max_by(v, k) FILTER (WHERE t = 'x') AS l, min_by(v, k) AS f, count(*) FILTER (WHERE t = 'y') AS c "
                    "FROM e GROUP BY g")
    assert "DATEDIFF(b, a) / CAST(365.25 AS DOUBLE)" in sql  # a date difference, divided in floating point
    assert "(YEAR(b) - YEAR(a)) * 12 + MONTH(b) - MONTH(a)" in sql  # month boundaries crossed, as DuckDB counts
    assert "MAX_BY(v, k) FILTER(WHERE (t = 'x') AND NOT v IS NULL)" in sql  # DuckDB's max_by skips null values
    assert "MIN_BY(v, k) FILTER(WHERE NOT v IS NULL)" in sql
    assert "COUNT(*) FILTER(WHERE t = 'y')" in sql
    with pytest.raises(RiskgradeError, match="week"):
        spark_sql("SELECT date_diff('week', a, b) FROM e")


def test_cli_indicators_errors(tmp_path: Path) -> None:
    home = tmp_path / "h"
    p = run_cli("indicators", "--as-of", "2026-09-30", "--out", str(tmp_path / "i.txt"), home=home, check=False)
    assert p.returncode == 1 and "use .parquet or .csv" in p.stderr
    p = run_cli("indicators", "--as-of", "2026-09-30", "--out", str(tmp_path / "i.csv"), "--engine", "flink",
                home=home, check=False)
    assert p.returncode == 1 and "unknown engine" in p.stderr
    # no Java on the path: a one-line message before anything is exported
    env = {"PATH": str(Path(sys.executable).parent), "JAVA_HOME": ""}
    p = run_cli("indicators", "--as-of", "2026-09-30", "--out", str(tmp_path / "i.csv"), "--engine", "spark",
                home=home, check=False, env=env)
    assert p.returncode == 1 and "needs Java" in p.stderr and "Traceback" not in p.stderr


# --------------------------------------------------------------------------- parity on a simulated province
@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A simulated, ingested province, plus records that trip the engines' differences; its Parquet export."""
    root = tmp_path_factory.mktemp("parity")
    run_cli("simulate", "--entities", "3000", "--seed", "7", "--out", str(root / "d"), home=root / "x")
    home = root / "h"
    ingest(home, root / "d")
    with Warehouse(home) as wh:
        u = [wh.con.execute(f"""SELECT uscc FROM entities WHERE status = 'active' AND established_on < DATE '2020-01-01'
                                AND uscc NOT IN (SELECT uscc FROM events WHERE event_type = '{t}')
                                ORDER BY uscc LIMIT 1""").fetchall()[0][0]
             for t in ("inspection", "tax_credit_grade", "(none)")]
    write_csv(root / "extra" / "events.csv", EVENT_HEADER, [
        # two inspections on one day: the later record id is the latest
        ["tie1", u[0], "inspection", "2025-03-01", "2025-03-01", "general", "unreachable", "", ""],
        ["tie2", u[0], "inspection", "2025-03-01", "2025-03-02", "general", "pass", "", ""],
        # the latest tax grade without a grade: max_by skips it on both engines
        ["tg1", u[1], "tax_credit_grade", "2024-04-01", "2024-04-01", "税务局", "D", "", ""],
        ["tg2", u[1], "tax_credit_grade", "2025-04-01", "2025-04-01", "税务局", "", "", ""],
        # a report year that is not four digits: DuckDB's TRY_CAST would read it, Spark's would not (the
        # catalog reads four digits only; with TRY_CAST the engines would disagree on this entity)
        ["ar1", u[2], "annual_report", "2024-08-01", "2024-08-01", "市场监管局", "2023.0", "1", ""],
    ])
    ingest(home, root / "extra")
    with Warehouse(home) as wh:
        duck.export_parquet(wh.con, root / "tables")
    return home, root / "tables"


@pytest.fixture(scope="module")
def spark():
    from riskgrade.engines.spark import local_session

    session = local_session(shuffle_partitions=4)
    yield session
    session.stop()


def _table(path: Path) -> dict[str, dict]:
    return {r["uscc"]: r for r in pq.read_table(path).to_pylist()}


def _assert_same(a: dict[str, dict], b: dict[str, dict]) -> None:
    assert set(a) == set(b) and a
    for u, ra in a.items():
        rb = b[u]
        assert list(ra) == list(rb)
        for col, x in ra.items():
            y = rb[col]
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9), (u, col, x, y)
            else:
                assert x == y, (u, col, x, y)  # integers, text, dates exactly; null only with null


@pytest.mark.slow
@pytest.mark.parametrize(("as_of", "revoked"), AS_OF)
def test_spark_matches_duckdb(province: tuple[Path, Path], spark, tmp_path: Path, as_of: dt.date, revoked: bool) -> None:
    from riskgrade.engines.spark import compute_indicators_spark

    home, tables = province
    catalog = load_catalog()
    with Warehouse(home) as wh:
        n_duck = duck.write_indicators(wh.con, catalog, as_of, tmp_path / "duckdb.parquet", include_revoked=revoked)
    n_spark = compute_indicators_spark(tables, catalog, as_of, tmp_path / "spark.parquet", include_revoked=revoked,
                                       spark=spark)
    assert n_duck == n_spark > 1000
    a, b = _table(tmp_path / "duckdb.parquet"), _table(tmp_path / "spark.parquet")
    _assert_same(a, b)
    assert list(b) == sorted(b)  # ordered by USCC
    # the comparison means something: nearly every indicator takes several values here
    constant = [i.code for i in catalog.enabled if len({r[i.code] for r in a.values()}) < 2]
    assert len(constant) <= 3, constant
    if as_of.year == 2026:
        # the hand-made records decide the same way on both engines
        with Warehouse(home) as wh:
            u = dict(wh.con.execute("SELECT record_id, uscc FROM events WHERE record_id IN ('tie1', 'tg1')").fetchall())
        assert a[u["tie1"]]["inspection_latest_unreachable"] == 0
        assert a[u["tg1"]]["tax_grade_risk"] == 4


@pytest.mark.slow
def test_cli_indicators_spark_equals_duckdb(province: tuple[Path, Path], spark, tmp_path: Path) -> None:
    """`riskgrade indicators --engine spark` (in this process: it uses the running session) writes the DuckDB file."""
    from typer.testing import CliRunner

    from riskgrade.cli import app

    home, _ = province
    run_cli("indicators", "--as-of", "2026-09-30", "--out", str(tmp_path / "d.csv"), home=home)
    r = CliRunner().invoke(app, ["indicators", "--as-of", "2026-09-30", "--engine", "spark",
                                 "--out", str(tmp_path / "s.csv"), "--home", str(home)])
    assert r.exit_code == 0, r.output
    d, s = (tmp_path / "d.csv").read_text(encoding="utf-8"), (tmp_path / "s.csv").read_text(encoding="utf-8")
    assert d.splitlines()[0].startswith("uscc,name,entity_type") and len(d.splitlines()) > 1000
    assert d == s  # the same file, byte for byte
    assert spark.sparkContext._jsc is not None  # the command left the shared session running
