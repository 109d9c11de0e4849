"""The monthly run on Spark (riskgrade spark-submit: prepare, spark-submit, collect) seals the same
snapshot as the embedded run: indicators, scores (the scorecard as SQL), grades, reasons, labels."""

from __future__ import annotations

import ast
import json
import pickle
from pathlib import Path

import pytest

from riskgrade.warehouse import Warehouse

from .conftest import EVENT_HEADER, run_cli, write_csv

T = "2026-09-30"
COLS = "uscc, name, entity_type, region_code, industry_code, score, grade, previous_grade, grade_rule, reasons, reason_points, labels"


def test_the_job_file_needs_only_pyspark() -> None:
    """sparkjob.py is submitted to a cluster on its own: it imports nothing of riskgrade."""
    from riskgrade.engines.sparkrun import JOB_FILE

    tree = ast.parse(JOB_FILE.read_text(encoding="utf-8"))
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "riskgrade" not in mods and mods <= {"__future__", "json", "sys", "time", "pyspark", "lightgbm", "pandas"}


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sparkmonth")
    run_cli("simulate", "--entities", "3000", "--seed", "5", "--out", str(root / "d"), home=root / "x")
    run_cli("ingest", str(root / "d"), home=root / "h")
    return root / "h"


def _grades(home: Path, sid: int) -> tuple[dict[str, tuple], dict[str, float]]:
    with Warehouse(home) as wh:
        rows = wh.con.execute(f"SELECT {COLS}, probability FROM grades WHERE snapshot_id = ? ORDER BY uscc", [sid]).fetchall()
    return {r[0]: r[:-1] for r in rows}, {r[0]: r[-1] for r in rows}


def _snapshot(home: Path, sid: int) -> tuple:
    with Warehouse(home) as wh:
        return wh.con.execute("SELECT as_of, model, model_version, catalog_version, config_fingerprint, grade_mode, "
                              "entities, content_hash, grade_counts FROM snapshots WHERE snapshot_id = ?", [sid]).fetchall()[0]


@pytest.mark.slow
@pytest.mark.parametrize("args", [(), ("--model", "expert", "--grades", "five")], ids=["default", "expert-five"])
def test_spark_run_seals_the_embedded_snapshot(province: Path, tmp_path: Path, args: tuple) -> None:
    home = province
    run_cli("classify", "--as-of", T, *args, home=home)
    with Warehouse(home) as wh:
        embedded = wh.con.execute("SELECT max(snapshot_id) FROM snapshots").fetchall()[0][0]
    job = tmp_path / "job"
    p = run_cli("spark-submit", "--as-of", T, "--job-dir", str(job), *args, home=home)
    assert "on Spark" in p.stdout and "sealed: content hash" in p.stderr
    spark = embedded + 1
    a, pa = _grades(home, embedded)
    b, pb = _grades(home, spark)
    assert len(a) > 2000 and a == b  # every column of every entity, exactly
    assert all(abs((pa[u] or 0) - (pb[u] or 0)) <= 2e-6 for u in pa)  # exp() of two runtimes: the 6th decimal at most
    sa, sb = _snapshot(home, embedded), _snapshot(home, spark)
    assert sa == sb  # model, versions, fingerprint, grade counts and the content hash
    spec = json.loads((job / "job.json").read_text(encoding="utf-8"))
    assert spec["format"] == "riskgrade-spark-job/1" and spec["model"] == sa[1]
    assert "CASE WHEN" in spec["steps"][1]["sql"]  # the scorecard runs in the engine as CASE expressions
    if sa[1] == "trained":
        # the LightGBM challenger ran as a vectorised UDF over the month: the model's own probabilities
        import duckdb

        from riskgrade.indicators import compute_indicators

        setup = pickle.loads((job / "setup.pkl").read_bytes())
        udf = dict(duckdb.connect().execute(
            f"SELECT uscc, probability FROM read_parquet('{job}/output/challenger/*.parquet')").fetchall())
        with Warehouse(home, write=True) as wh:
            compute_indicators(wh.con, setup.catalog, setup.as_of, include_revoked=setup.include_revoked)
            X = wh.con.execute("SELECT * FROM indicators ORDER BY uscc").fetchdf()
        want = setup.challenger.predict_risk(X[setup.challenger.features_])
        assert len(udf) == len(X) and max(abs(udf[u] - w) for u, w in zip(X["uscc"], want)) < 1e-9


@pytest.mark.slow
def test_collect_refuses_a_changed_store_and_an_unfinished_job(province: Path, tmp_path: Path) -> None:
    home = province
    job = tmp_path / "job"
    run_cli("spark-job", "prepare", "--as-of", T, "--job-dir", str(job), "--model", "expert", home=home)
    assert (job / "sparkjob.py").exists() and (job / "input" / "events").is_dir()
    p = run_cli("spark-job", "collect", "--job-dir", str(job), home=home, check=False)
    assert p.returncode == 1 and "has not finished" in p.stderr
    p = run_cli("spark-job", "prepare", "--as-of", T, "--job-dir", str(job), home=home, check=False)
    assert p.returncode == 1 and "must be new or empty" in p.stderr
    from riskgrade.engines.sparkrun import submit

    submit(job)
    with Warehouse(home) as wh:
        u = wh.con.execute("SELECT uscc FROM entities ORDER BY uscc LIMIT 1").fetchall()[0][0]
    write_csv(tmp_path / "more" / "events.csv", EVENT_HEADER,
              [["late1", u, "complaint", "2026-09-01", "2026-09-02", "12315", "", "1", ""]])
    run_cli("ingest", str(tmp_path / "more"), home=home)
    p = run_cli("spark-job", "collect", "--job-dir", str(job), home=home, check=False)
    assert p.returncode == 1 and "the store changed since the job was prepared" in p.stderr
