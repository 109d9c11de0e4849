"""riskgrade's monthly run as an Apache Spark job: ``spark-submit sparkjob.py JOB_DIR``.

This file is submitted to a Spark cluster on its own: it imports nothing from riskgrade, only
pyspark (and, for the challenger, pandas, pyarrow and lightgbm on the executors).  Everything it
runs was decided and written down by ``riskgrade spark-job prepare`` in ``JOB_DIR/job.json``
(format ``riskgrade-spark-job/1``):

* ``tables``: the store's tables as Parquet (``entities``, ``events``, ``domain_grades``), files by
  contiguous ranges of the entity bucket, paths relative to the job folder or absolute URIs
  (``hdfs://``, ``s3a://``, ...);
* ``steps``: Spark SQL statements, each creating a view and optionally written as Parquet under
  ``output``: the indicator table (the catalog's one query, transpiled from DuckDB's dialect), then
  the graded table (the scorecard exported as SQL CASE expressions, grades with their overrides,
  reasons, labels), so scoring runs inside the engine;
* ``challenger``: optionally the LightGBM challenger (its model text), applied as a vectorised
  UDF (``mapInPandas``) to the indicator table, its probabilities written beside the grades.

``riskgrade spark-job collect JOB_DIR`` (or ``riskgrade spark-submit``, which does all three
steps) reads the outputs back and seals the month's snapshot exactly as an embedded
``riskgrade classify`` does.  On completion the job writes ``output/_riskgrade_done/`` (one JSON line) with the
row counts of every output.
"""

from __future__ import annotations

import json
import sys
import time

FORMAT = "riskgrade-spark-job/1"


def _resolve(base: str, path: str) -> str:
    if "://" in path or path.startswith("/"):
        return path
    return base.rstrip("/") + "/" + path


def _read_text(spark, path: str) -> str:
    """A small text file from any file system Spark reads (local, HDFS, object stores)."""
    return "\n".join(r.value for r in spark.read.text(path, wholetext=True).collect())


def _challenger_udf(model_text: str, features: list[str], categorical: list[str]):
    """A function for ``mapInPandas``: batches of the indicator table -> (uscc, probability)."""

    def score(batches):
        import lightgbm as lgb
        import pandas as pd

        booster = lgb.Booster(model_str=model_text)
        for df in batches:
            X = df[features].copy()
            for c in categorical:
                X[c] = X[c].astype("category")
            p = booster.predict(X) if len(X) else []
            yield pd.DataFrame({"uscc": df["uscc"].astype(str), "probability": pd.Series(p, dtype="float64")})

    return score


def run(spark, job_dir: str) -> dict:
    """Run the job described in ``job_dir/job.json`` on ``spark``; returns the output row counts."""
    spec = json.loads(_read_text(spark, _resolve(job_dir, "job.json")))
    if spec.get("format") != FORMAT:
        raise SystemExit(f"{job_dir}/job.json: not a {FORMAT} job (format {spec.get('format')!r})")
    base_in = _resolve(job_dir, spec.get("input", "."))
    base_out = _resolve(job_dir, spec.get("output", "output"))
    for k, v in spec.get("conf", {}).items():
        spark.conf.set(k, v)
    for name, path in spec["tables"].items():
        spark.read.parquet(_resolve(base_in, path)).createOrReplaceTempView(name)
    counts: dict[str, int] = {}
    t0 = time.time()
    for step in spec["steps"]:
        df = spark.sql(step["sql"])
        if step.get("persist"):
            df = df.persist()
        df.createOrReplaceTempView(step["view"])
        if step.get("write"):
            df.write.mode("overwrite").parquet(_resolve(base_out, step["write"]))
            counts[step["write"]] = spark.read.parquet(_resolve(base_out, step["write"])).count()
    ch = spec.get("challenger")
    if ch:
        model_text = _read_text(spark, _resolve(job_dir, ch["model"]))
        src = spark.table(ch["view"]).select("uscc", *ch["features"])
        out = src.mapInPandas(_challenger_udf(model_text, ch["features"], ch.get("categorical", [])),
                              "uscc string, probability double")
        out.write.mode("overwrite").parquet(_resolve(base_out, ch["write"]))
        counts[ch["write"]] = spark.read.parquet(_resolve(base_out, ch["write"])).count()
    done = {"format": FORMAT, "as_of": spec.get("as_of"), "rows": counts, "seconds": round(time.time() - t0, 1),
            "spark_version": spark.version}
    spark.createDataFrame([(json.dumps(done),)], "value string").coalesce(1).write.mode("overwrite").text(
        _resolve(base_out, "_riskgrade_done"))
    return counts


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: spark-submit sparkjob.py JOB_DIR", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("riskgrade monthly run").getOrCreate()
    try:
        counts = run(spark, argv[0])
    finally:
        spark.stop()
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
