"""The monthly run on Apache Spark: prepare a job, run it on a cluster (or locally), collect the month.

1. ``prepare`` (embedded, on the store): sets the run up exactly as ``riskgrade classify`` does
   (configuration, learning from outcomes, the model chosen out of time: ``snapshot.prepare_run``),
   exports the store's tables as Parquet files by ranges of the entity bucket, and writes
   ``job.json``: the indicator query and the scoring, grading and labelling statement transpiled
   to Spark SQL (the scorecard as CASE expressions), plus the LightGBM challenger's model text for
   a vectorised UDF.  ``setup.pkl`` keeps the setup for the collection.
2. The job (``riskgrade/engines/sparkjob.py``, pyspark only) runs with ``spark-submit`` anywhere:
   ``spark-submit --master yarn sparkjob.py hdfs:///jobs/2026-09`` after copying the folder there.
3. ``collect`` (embedded) reads the job's ``scored`` output and seals the month with
   ``snapshot.seal``: the same previous grades, content hash, monitoring and fusion record as an
   embedded run, so the two give identical snapshots (a parity test runs both in CI).

``run`` does the three steps with the ``spark-submit`` of the installed pyspark, ``--master
local[N]`` by default.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import sql
from ..errors import RiskgradeError
from ..snapshot import ClassifyResult

JOB_FORMAT = "riskgrade-spark-job/1"
JOB_FILE = Path(__file__).with_name("sparkjob.py")


@dataclass
class SparkRunResult(ClassifyResult):
    """A month sealed from a Spark job: what ``classify`` returns, and the job's own figures."""

    spark_seconds: float | None = None
    challenger_scored: int | None = None


def prepare(home: Path, as_of: dt.date, job_dir: Path, *, model: str | None = None, files: int = 16,
            memory_limit: str | None = None, threads: int | None = None, lock_timeout: float = 60.0,
            progress=None, **config_paths) -> dict:
    """Write a Spark job for the month into ``job_dir`` (an empty or new folder); returns job.json."""
    from ..indicators.compute import indicator_query
    from ..snapshot import prepare_run
    from ..warehouse import Warehouse
    from .duckdb import export_parquet
    from .spark import spark_sql

    say = progress or (lambda m: None)
    job_dir = Path(job_dir)
    if job_dir.exists() and any(job_dir.iterdir()):
        raise RiskgradeError(f"{job_dir}: the job folder must be new or empty")
    job_dir.mkdir(parents=True, exist_ok=True)
    with Warehouse(home, write=True, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout) as wh:
        con = wh.con
        setup = prepare_run(con, home, as_of, model=model, progress=say, **config_paths)
        delivery = con.execute("SELECT coalesce(max(delivery_id), 0) FROM deliveries").fetchall()[0][0]
        say(f"exporting the store as Parquet for Spark ({job_dir / 'input'})")
        rows = export_parquet(con, job_dir / "input", files=files)
    steps = [
        {"view": "indicators", "persist": True,
         "sql": spark_sql(indicator_query(setup.catalog, as_of, include_revoked=setup.include_revoked))},
        {"view": "scored", "write": "scored", "sql": spark_sql(setup.scored_sql())},
    ]
    spec = {"format": JOB_FORMAT, "as_of": as_of.isoformat(), "input": "input", "output": "output",
            "tables": {t: t for t in ("entities", "events", "domain_grades")}, "steps": steps,
            "model": setup.chosen, "model_version": setup.model_version, "rows": rows, "store_delivery": int(delivery),
            "conf": {"spark.sql.ansi.enabled": "true", "spark.sql.session.timeZone": "UTC"}}
    ch = setup.challenger
    if ch is not None:
        (job_dir / "challenger.txt").write_text(ch.model_.booster_.model_to_string(), encoding="utf-8")
        spec["challenger"] = {"model": "challenger.txt", "view": "indicators", "features": ch.features_,
                              "categorical": ch.categorical_, "write": "challenger"}
    (job_dir / "job.json").write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")
    (job_dir / "setup.pkl").write_bytes(pickle.dumps(setup))
    shutil.copyfile(JOB_FILE, job_dir / "sparkjob.py")  # the one file a cluster needs, beside its job
    say(f"Spark job written: {job_dir} ({setup.chosen} model, {rows['entities']:,} entities, {rows['events']:,} events)")
    return spec


def submit(job_dir: Path, *, master: str = "local[2]", spark_submit: str | None = None, driver_memory: str = "3g",
           progress=None) -> float:
    """Run the job with ``spark-submit`` (the installed pyspark's unless given); returns seconds."""
    from .spark import check_available, local_conf

    say = progress or (lambda m: None)
    check_available()
    exe = spark_submit or _pyspark_submit()
    conf = local_conf(driver_memory=driver_memory) if master.startswith("local") else {}
    cmd = [exe, "--master", master]
    for k, v in conf.items():
        if k == "spark.driver.memory":
            cmd += ["--driver-memory", v]
        else:
            cmd += ["--conf", f"{k}={v}"]
    cmd += [str(Path(job_dir) / "sparkjob.py"), str(Path(job_dir).resolve())]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    say(f"spark-submit --master {master} {job_dir}/sparkjob.py")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        tail = [ln for ln in (p.stderr or "").strip().splitlines() if ln.strip()][-3:]
        raise RiskgradeError(f"the Spark job failed (exit {p.returncode}): {' | '.join(tail)[:400]}")
    return time.perf_counter() - t0


def _pyspark_submit() -> str:
    try:
        import pyspark
    except ImportError:
        raise RiskgradeError("the Spark engine needs pyspark: pip install 'riskgrade[spark]'") from None
    exe = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    if not exe.exists():
        raise RiskgradeError(f"no spark-submit in the installed pyspark ({exe}); pass --spark-submit")
    return str(exe)


def collect(home: Path, job_dir: Path, *, memory_limit: str | None = None, threads: int | None = None,
            lock_timeout: float = 60.0, progress=None) -> SparkRunResult:
    """Seal the month a finished job computed, as an embedded run would."""
    import duckdb

    from ..snapshot import seal
    from ..warehouse import Warehouse

    say = progress or (lambda m: None)
    t0 = time.perf_counter()
    job_dir = Path(job_dir)
    try:
        spec = json.loads((job_dir / "job.json").read_text(encoding="utf-8"))
        setup = pickle.loads((job_dir / "setup.pkl").read_bytes())
    except (OSError, ValueError, pickle.UnpicklingError) as e:
        raise RiskgradeError(f"{job_dir}: not a prepared riskgrade Spark job ({e})") from None
    done_files = sorted((job_dir / "output" / "_riskgrade_done").glob("part-*"))
    if not done_files:
        raise RiskgradeError(f"{job_dir}: the Spark job has not finished (no output/_riskgrade_done); run it first")
    done = json.loads(done_files[0].read_text(encoding="utf-8").strip())
    scored = job_dir / "output" / "scored"
    pattern = sql.path(scored / "*.parquet")
    with Warehouse(home, write=True, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout) as wh:
        con = wh.con
        delivery = con.execute("SELECT coalesce(max(delivery_id), 0) FROM deliveries").fetchall()[0][0]
        if delivery != spec["store_delivery"]:
            raise RiskgradeError(f"the store changed since the job was prepared (delivery {spec['store_delivery']} then, "
                                 f"{delivery} now): prepare the job again")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE scored AS SELECT * FROM read_parquet('{pattern}')")
        except duckdb.Error as e:
            raise RiskgradeError(f"{scored}: cannot read the job's output: {str(e).splitlines()[0]}") from None
        n = con.execute("SELECT count(*) FROM scored").fetchall()[0][0]
        if n != done["rows"].get("scored"):
            raise RiskgradeError(f"{scored}: {n:,} rows, the job wrote {done['rows'].get('scored'):,}")
        say(f"sealing the month from the Spark job's {n:,} rows")
        sid, counts, content, warnings = seal(con, wh, setup, home)
        warnings = list(getattr(setup, "notes", [])) + warnings
        con.execute("DROP TABLE IF EXISTS scored")
    return SparkRunResult(sid, setup.as_of, setup.chosen, setup.why, sum(counts.values()), counts, content,
                          time.perf_counter() - t0, warnings, spark_seconds=done.get("seconds"),
                          challenger_scored=done["rows"].get("challenger"))


def run(home: Path, as_of: dt.date, job_dir: Path, *, master: str = "local[2]", spark_submit: str | None = None,
        model: str | None = None, keep: bool = True, progress=None, **kw) -> SparkRunResult:
    """prepare + submit + collect."""
    t0 = time.perf_counter()
    opts = {k: kw[k] for k in ("memory_limit", "threads", "lock_timeout") if k in kw}
    prepare(home, as_of, job_dir, model=model, progress=progress, **kw)
    secs = submit(job_dir, master=master, spark_submit=spark_submit, progress=progress)
    res = collect(home, job_dir, progress=progress, **opts)
    if not keep:
        shutil.rmtree(job_dir, ignore_errors=True)
    res.seconds = time.perf_counter() - t0
    res.spark_seconds = secs
    return res
