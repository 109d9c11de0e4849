"""Commands of the monthly run on Apache Spark: ``spark-submit`` (prepare, run, collect) and
``spark-job prepare|collect`` for a cluster where the job is submitted by hand.

Handed to the ``riskgrade`` app by :func:`register`; each is a thin call into
:mod:`riskgrade.engines.sparkrun`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import HomeOpt, as_date, err, progress, settings, show_classification

ModelOpt = Annotated[Optional[str], typer.Option("--model", help="expert or trained (default: the best the data supports)")]


def _config(catalog, scorecard, grading, labels, grades, fusion) -> dict:
    return {"catalog_path": catalog, "scorecard_path": scorecard, "grading_path": grading, "labels_path": labels,
            "mode": grades, "fusion_path": fusion}


def _show(res) -> None:
    spark = f", Spark {res.spark_seconds:.1f} s" if res.spark_seconds is not None else ""
    if res.challenger_scored:
        err.print(f"challenger (LightGBM) scored {res.challenger_scored:,} entities in a vectorised UDF")
    for w in res.warnings:
        err.print(w)
    show_classification(res, f"classification as of {res.as_of} on Spark (snapshot {res.snapshot_id}, "
                             f"{res.seconds:.1f} s{spark})")


CatalogOpt = Annotated[Optional[Path], typer.Option("--catalog", help="indicator catalog YAML (default: built-in)")]
ScorecardOpt = Annotated[Optional[Path], typer.Option("--scorecard", help="expert scorecard YAML")]
GradingOpt = Annotated[Optional[Path], typer.Option("--grading", help="grading YAML (cut-offs, overrides)")]
LabelsOpt = Annotated[Optional[Path], typer.Option("--labels", help="label catalog YAML")]
GradesOpt = Annotated[Optional[str], typer.Option("--grades", help="four (A-D) or five (A-E)")]
FusionOpt = Annotated[Optional[Path], typer.Option("--fusion", help="professional-domain fusion YAML")]


def spark_submit(
    as_of: Annotated[str, typer.Option("--as-of", help="month end to classify as of (YYYY-MM-DD)")],
    master: Annotated[str, typer.Option("--master", help="Spark master URL (local[N], yarn, spark://host:7077, k8s://...)")] = "local[2]",
    job_dir: Annotated[Optional[Path], typer.Option("--job-dir", help="the job folder (default: a temporary one, removed)")] = None,
    spark_submit_exe: Annotated[Optional[str], typer.Option("--spark-submit", help="spark-submit to use (default: the installed pyspark's)")] = None,
    model: ModelOpt = None, catalog: CatalogOpt = None, scorecard: ScorecardOpt = None, grading: GradingOpt = None,
    labels: LabelsOpt = None, grades: GradesOpt = None, fusion: FusionOpt = None,
    home: HomeOpt = None,
) -> None:
    """The monthly run on Apache Spark: prepare the job on the store, spark-submit it, seal the month
    (the same snapshot as `riskgrade classify` gives)."""
    from ..engines import sparkrun

    s = settings(home)
    d = as_date(as_of, "--as-of")
    opts = dict(memory_limit=s.memory_limit, threads=s.threads, lock_timeout=s.lock_timeout)
    cfg = _config(catalog, scorecard, grading, labels, grades, fusion)
    if job_dir is None:
        with tempfile.TemporaryDirectory(prefix="riskgrade-spark-job-", dir=s.home if s.home.exists() else None) as tmp:
            res = sparkrun.run(s.home, d, Path(tmp) / "job", master=master, spark_submit=spark_submit_exe, model=model,
                               progress=progress, **opts, **cfg)
    else:
        res = sparkrun.run(s.home, d, job_dir, master=master, spark_submit=spark_submit_exe, model=model,
                           progress=progress, **opts, **cfg)
    _show(res)


def spark_job_prepare(
    as_of: Annotated[str, typer.Option("--as-of", help="month end to classify as of (YYYY-MM-DD)")],
    job_dir: Annotated[Path, typer.Option("--job-dir", help="a new or empty folder for the job")],
    files: Annotated[int, typer.Option("--files", help="Parquet files per table (ranges of the entity bucket; divides 4096)")] = 16,
    model: ModelOpt = None, catalog: CatalogOpt = None, scorecard: ScorecardOpt = None, grading: GradingOpt = None,
    labels: LabelsOpt = None, grades: GradesOpt = None, fusion: FusionOpt = None,
    home: HomeOpt = None,
) -> None:
    """Plan the month (learn from outcomes, choose the model) and write the Spark job: Parquet input,
    job.json (Spark SQL), sparkjob.py.  Then: spark-submit JOB_DIR/sparkjob.py JOB_DIR."""
    from ..engines import sparkrun
    from ..errors import RiskgradeError

    if files < 1 or 4096 % files:
        raise RiskgradeError("--files must divide 4096 (1, 2, 4, ..., 4096)")
    s = settings(home)
    sparkrun.prepare(s.home, as_date(as_of, "--as-of"), job_dir, model=model, files=files, memory_limit=s.memory_limit,
                     threads=s.threads, lock_timeout=s.lock_timeout, progress=progress,
                     **_config(catalog, scorecard, grading, labels, grades, fusion))
    err.print(f"next: spark-submit --master <master> {job_dir}/sparkjob.py {job_dir}   "
              f"then: riskgrade spark-job collect --job-dir {job_dir}", highlight=False)


def spark_job_collect(
    job_dir: Annotated[Path, typer.Option("--job-dir", help="the job folder, after the job ran")],
    home: HomeOpt = None,
) -> None:
    """Seal the month that a finished Spark job computed."""
    from ..engines import sparkrun

    s = settings(home)
    _show(sparkrun.collect(s.home, job_dir, memory_limit=s.memory_limit, threads=s.threads,
                           lock_timeout=s.lock_timeout, progress=progress))


def register(app: typer.Typer) -> None:
    spark_job_app = typer.Typer(help="A monthly run as a Spark job submitted by hand: prepare it, then collect its "
                                     "results.", no_args_is_help=True)
    app.add_typer(spark_job_app, name="spark-job")
    app.command("spark-submit")(spark_submit)
    spark_job_app.command("prepare")(spark_job_prepare)
    spark_job_app.command("collect")(spark_job_collect)
