"""Indicators: the generated query on DuckDB vs hand-written DuckDB SQL vs pandas vs the same query on Spark (local).

    python benchmarks/bench_indicators.py --entities 200000 --as-of 2025-09-30 --repeat 3

Simulates (or reuses) a province and ingests it, then times, each run in a fresh process:

* ``generated``: ``indicator_query`` (what ``classify`` runs) into a temporary table ordered by USCC;
* ``handwritten``: ``HANDWRITTEN`` below, the same 49 indicators written by hand for DuckDB as a
  near-limit reference (one pass over the events for every entity, no join before the aggregate,
  listing dates shared with the related-party indicator); checked to give the same numbers;
* ``pandas``: ``pandas_indicators.py`` in this folder, the same indicators written in plain pandas as an
  analyst would: the store's ``entities``, ``events`` and ``domain_grades`` read into DataFrames, then
  filtered and aggregated (loading and computing are timed together); checked to give the same numbers;
* ``spark``: the generated query transpiled to Spark SQL, on local[2] over the Parquet export,
  written as one Parquet file ordered by USCC (the session start and the export are reported apart).

Prints the median wall and CPU seconds of each (CPU: user + system of the process and its children,
which a busy shared machine disturbs less), the ratio generated / hand-written (target: within
1.5x) and the peak RSS (for Spark: the Python driver plus the JVM).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The same indicators as the built-in catalog, by hand.  {asof}, {y1}, ... are the catalog's named dates.
HANDWRITTEN = """
WITH pop AS (
    SELECT * FROM entities
    WHERE established_on <= {asof} AND (status = 'active' OR closed_on IS NULL OR closed_on > {asof})
), ev AS (
    SELECT uscc,
        count(*) FILTER (WHERE event_type = 'annual_report' AND detail = '{due1}') AS ar_due1,
        count(*) FILTER (WHERE event_type = 'annual_report' AND detail IN ('{due1}', '{due2}')) AS ar_due12,
        count(*) FILTER (WHERE event_type = 'annual_report' AND event_date > {y3} AND month(event_date) > 6
                         AND year(event_date) > CASE WHEN regexp_matches(detail, '^[0-9][0-9][0-9][0-9]$')
                                                     THEN CAST(detail AS INTEGER) END) AS ar_late_3y,
        count(*) FILTER (WHERE event_type = 'annual_report' AND detail = '{due1}' AND amount = 0) AS ar_zero,
        count(*) FILTER (WHERE event_type = 'registration_change' AND detail = 'legal_rep' AND event_date > {y1}) AS chg_rep,
        count(*) FILTER (WHERE event_type = 'registration_change' AND detail = 'address' AND event_date > {y1}) AS chg_addr,
        count(*) FILTER (WHERE event_type = 'registration_change' AND event_date > {y2}) AS chg_any,
        arg_max(amount, recency) FILTER (WHERE event_type = 'social_insurance' AND event_date > {y1}) AS ins_new,
        arg_max(amount, recency) FILTER (WHERE event_type = 'social_insurance' AND event_date <= {y1}) AS ins_old,
        count(*) FILTER (WHERE event_type = 'admin_license' AND detail = 'revoked' AND event_date > {y3}) AS lic_revoked,
        max(end_date) FILTER (WHERE event_type = 'admin_license' AND detail = 'granted') AS lic_end,
        arg_max(detail, recency) FILTER (WHERE event_type = 'tax_credit_grade') AS tax_grade,
        arg_max(detail, recency) FILTER (WHERE event_type = 'type_classification') AS type_cls,
        max(event_date) FILTER (WHERE event_type = 'abnormal_list_in') AS ab_in,
        max(event_date) FILTER (WHERE event_type = 'abnormal_list_in' AND detail = 'unreachable_address') AS ab_in_unreach,
        max(event_date) FILTER (WHERE event_type = 'abnormal_list_out') AS ab_out,
        count(*) FILTER (WHERE event_type = 'abnormal_list_in' AND event_date > {y3}) AS ab_3y,
        max(event_date) FILTER (WHERE event_type = 'serious_dishonest_in') AS sd_in,
        max(event_date) FILTER (WHERE event_type = 'serious_dishonest_out') AS sd_out,
        max(event_date) FILTER (WHERE event_type = 'judgment_debtor_in') AS jd_in,
        max(event_date) FILTER (WHERE event_type = 'judgment_debtor_out') AS jd_out,
        max(event_date) FILTER (WHERE event_type = 'tax_abnormal_in') AS ta_in,
        max(event_date) FILTER (WHERE event_type = 'tax_abnormal_out') AS ta_out,
        count(*) FILTER (WHERE event_type = 'admin_penalty' AND event_date > {y1}) AS pen_1y,
        count(*) FILTER (WHERE event_type = 'admin_penalty' AND event_date > {y3}) AS pen_3y,
        count(*) FILTER (WHERE event_type = 'admin_penalty' AND detail IN ('confiscation', 'suspension', 'revocation')
                         AND event_date > {y3}) AS pen_severe,
        sum(amount) FILTER (WHERE event_type = 'admin_penalty' AND event_date > {y3}) AS fine_3y,
        count(*) FILTER (WHERE event_type = 'inspection' AND event_date > {y3}) AS insp_3y,
        count(*) FILTER (WHERE event_type = 'inspection' AND detail IN ('problem', 'corrected') AND event_date > {y3}) AS insp_problem,
        count(*) FILTER (WHERE event_type = 'inspection' AND detail IN ('problem', 'refused', 'unreachable')
                         AND event_date > {y3}) AS insp_fail,
        count(*) FILTER (WHERE event_type = 'inspection' AND detail = 'refused' AND event_date > {y3}) AS insp_refused,
        arg_max(detail, recency) FILTER (WHERE event_type = 'inspection') AS insp_last,
        count(*) FILTER (WHERE event_type = 'credit_repair' AND event_date > {y3}) AS repair_3y,
        count(*) FILTER (WHERE event_type = 'complaint' AND event_date > {y1}) AS cmp_1y,
        count(*) FILTER (WHERE event_type = 'complaint' AND amount = 1 AND event_date > {y1}) AS cmp_true_1y,
        count(*) FILTER (WHERE event_type = 'complaint' AND event_date > {d90}) AS cmp_90d,
        count(*) FILTER (WHERE event_type = 'complaint' AND event_date > {y1} AND event_date <= {d90}) AS cmp_before,
        arg_max(amount, recency) FILTER (WHERE event_type = 'platform_rating') AS platform,
        count(*) FILTER (WHERE event_type = 'honor' AND event_date > {y3}) AS honor_3y,
        count(*) FILTER (WHERE event_type = 'honor' AND detail = 'famous_specialty') AS famous,
        count(*) FILTER (WHERE event_type = 'online_store') AS online,
        count(*) FILTER (WHERE event_type = 'party_building') AS party
    FROM (SELECT *, CAST(event_date AS VARCHAR) || record_id AS recency FROM events
          WHERE event_date <= {asof} AND reported_on <= {asof})
    GROUP BY uscc
), risky AS (
    SELECT x.uscc, x.legal_rep_id FROM entities x LEFT JOIN ev l USING (uscc)
    WHERE x.legal_rep_id IS NOT NULL AND x.established_on <= {asof} AND (
          l.ab_in > coalesce(l.ab_out, DATE '1900-01-01') OR l.sd_in > coalesce(l.sd_out, DATE '1900-01-01')
       OR (x.status = 'revoked' AND x.closed_on <= {asof} AND x.closed_on > {y3}))
), dom AS (  -- the food domain's latest grade known at T, as a risk level (fusion.yaml: food by indicator)
    SELECT uscc, CASE max_by(upper(trim(grade)), CAST(as_of AS VARCHAR) || upper(trim(grade)))
                 WHEN 'A' THEN 0 WHEN 'B' THEN 1 WHEN 'C' THEN 2 WHEN 'D' THEN 3 END AS food
    FROM domain_grades WHERE as_of <= {asof} AND lower(trim(domain)) = 'food' GROUP BY uscc
)
SELECT n.uscc, n.name, n.entity_type, n.region_code, n.industry_code, n.industry_section, n.status,
       n.established_on, n.registered_capital, n.bucket,
       CASE WHEN n.established_on <= {due1_end} AND coalesce(ev.ar_due1, 0) = 0 THEN 1 ELSE 0 END AS ar_missing_latest,
       CASE WHEN n.established_on <= {due2_end} AND coalesce(ev.ar_due12, 0) = 0 THEN 1 ELSE 0 END AS ar_missing_2y,
       coalesce(ev.ar_late_3y, 0) AS ar_late_3y,
       CASE WHEN ev.ar_zero > 0 THEN 1 ELSE 0 END AS ar_zero_latest,
       coalesce(ev.chg_rep, 0) AS change_legal_rep_1y,
       coalesce(ev.chg_addr, 0) AS change_address_1y,
       coalesce(ev.chg_any, 0) AS change_any_2y,
       ev.ins_new AS insured_latest,
       CASE WHEN ev.ins_old > 0 THEN greatest(0, 1 - coalesce(ev.ins_new, 0) / ev.ins_old) END AS insured_drop_1y,
       coalesce(ev.lic_revoked, 0) AS license_revoked_3y,
       CASE WHEN ev.lic_end < {asof} THEN 1 ELSE 0 END AS license_expired_unrenewed,
       CASE ev.tax_grade WHEN 'A' THEN 0 WHEN 'B' THEN 1 WHEN 'M' THEN 2 WHEN 'C' THEN 3 WHEN 'D' THEN 4 END AS tax_grade_risk,
       CASE WHEN n.entity_type = 'individual' THEN CASE WHEN ev.type_cls = 'survival' THEN 1 ELSE 0 END END AS type_survival,
       CASE WHEN n.entity_type = 'individual' THEN ev.type_cls END AS type_classification,
       CASE WHEN ev.ab_in > coalesce(ev.ab_out, DATE '1900-01-01') THEN 1 ELSE 0 END AS abnormal_current,
       CASE WHEN ev.ab_in_unreach > coalesce(ev.ab_out, DATE '1900-01-01') THEN 1 ELSE 0 END AS abnormal_unreachable_current,
       coalesce(ev.ab_3y, 0) AS abnormal_in_3y,
       CASE WHEN ev.sd_in > coalesce(ev.sd_out, DATE '1900-01-01') THEN 1 ELSE 0 END AS serious_dishonest_current,
       CASE WHEN ev.jd_in > coalesce(ev.jd_out, DATE '1900-01-01') THEN 1 ELSE 0 END AS judgment_debtor_current,
       CASE WHEN ev.ta_in > coalesce(ev.ta_out, DATE '1900-01-01') THEN 1 ELSE 0 END AS tax_abnormal_current,
       coalesce(ev.pen_1y, 0) AS penalty_1y,
       coalesce(ev.pen_3y, 0) AS penalty_3y,
       coalesce(ev.pen_severe, 0) AS penalty_severe_3y,
       coalesce(ev.fine_3y, 0) AS penalty_fine_3y,
       coalesce(ev.insp_3y, 0) AS inspections_3y,
       coalesce(ev.insp_problem, 0) AS inspection_problem_3y,
       CASE WHEN ev.insp_fail >= 2 THEN 1 ELSE 0 END AS inspection_fail_repeated,
       coalesce(ev.insp_refused, 0) AS inspection_refused_3y,
       CASE WHEN ev.insp_last = 'unreachable' THEN 1 ELSE 0 END AS inspection_latest_unreachable,
       CASE WHEN ev.insp_last = 'not_operating' THEN 1 ELSE 0 END AS inspection_not_operating,
       coalesce(ev.repair_3y, 0) AS credit_repair_3y,
       coalesce(ev.cmp_1y, 0) AS complaints_1y,
       coalesce(ev.cmp_true_1y, 0) AS complaints_substantiated_1y,
       coalesce(ev.cmp_90d, 0) AS complaints_90d,
       (coalesce(ev.cmp_90d, 0) + 1.0) / (coalesce(ev.cmp_before, 0) / 3.0 + 1.0) AS complaints_growth,
       ev.platform AS platform_rating_latest,
       coalesce(ev.honor_3y, 0) AS honor_3y,
       CASE WHEN ev.famous > 0 THEN 1 ELSE 0 END AS famous_specialty,
       CASE WHEN ev.online > 0 THEN 1 ELSE 0 END AS online,
       CASE WHEN ev.party > 0 THEN 1 ELSE 0 END AS party_building,
       date_diff('day', n.established_on, {asof}) / 365.25 AS age_years,
       CASE WHEN n.entity_type IN ('enterprise', 'cooperative') THEN n.registered_capital END AS capital_10k,
       CASE WHEN n.entity_type = 'individual' THEN 1 ELSE 0 END AS is_individual,
       CASE WHEN n.address IS NULL THEN NULL ELSE coalesce(ra.k, 1) - 1 END AS address_cohabitants,
       CASE WHEN n.phone_id IS NULL THEN NULL ELSE coalesce(rp.k, 1) - 1 END AS phone_cohabitants,
       CASE WHEN n.legal_rep_id IS NULL THEN NULL ELSE coalesce(rl.k, 1) - 1 END AS legal_rep_entities,
       CASE WHEN n.legal_rep_id IS NULL THEN NULL
            ELSE coalesce(rr.k, 0) - CASE WHEN rs.uscc IS NOT NULL THEN 1 ELSE 0 END END AS legal_rep_risky_links,
       dom.food AS domain_food_level,
       CASE WHEN date_diff('day', n.established_on, {asof}) / 365.25 < 1 THEN 1 ELSE 0 END AS young_entity,
       CASE WHEN ev.platform < 60 THEN 1 ELSE 0 END AS platform_rating_low
FROM pop n
LEFT JOIN ev USING (uscc)
LEFT JOIN (SELECT address, count(*) AS k FROM pop WHERE address IS NOT NULL GROUP BY address) ra ON ra.address = n.address
LEFT JOIN (SELECT phone_id, count(*) AS k FROM pop WHERE phone_id IS NOT NULL GROUP BY phone_id) rp ON rp.phone_id = n.phone_id
LEFT JOIN (SELECT legal_rep_id, count(*) AS k FROM pop WHERE legal_rep_id IS NOT NULL GROUP BY legal_rep_id) rl
       ON rl.legal_rep_id = n.legal_rep_id
LEFT JOIN (SELECT legal_rep_id, count(*) AS k FROM risky GROUP BY legal_rep_id) rr ON rr.legal_rep_id = n.legal_rep_id
LEFT JOIN risky rs ON rs.uscc = n.uscc
LEFT JOIN dom ON dom.uscc = n.uscc
"""


def handwritten(as_of: dt.date) -> str:
    from riskgrade.indicators.compute import as_of_params

    p = as_of_params(as_of)
    return HANDWRITTEN.format(**p)


def peak_rss_gib() -> float:
    """Peak resident memory of this process and every process it started that is still alive (the JVM)."""
    def hwm(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def children(pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            out += [int(c) for c in task.read_text().split()]
        return out

    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += hwm(pid)
        todo += children(pid)
    return total / 2**20


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and every process it started that is still alive."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            todo += [int(c) for t in Path(f"/proc/{pid}/task").glob("*/children") for c in t.read_text().split()]
        except OSError:
            pass
    return total


def one(kind: str, home: Path, as_of: dt.date, tables: Path, out: Path) -> dict:
    """One timed run in this process."""
    from riskgrade.indicators import load_catalog
    from riskgrade.indicators.compute import indicator_query
    from riskgrade.warehouse import Warehouse

    catalog = load_catalog()
    if kind == "spark":
        from riskgrade.engines.spark import compute_indicators_spark, local_session

        t0 = time.perf_counter()
        spark = local_session()
        start = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), cpu_seconds()
        n = compute_indicators_spark(tables, catalog, as_of, out, spark=spark)
        secs, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        rss = peak_rss_gib()
        spark.stop()
        return {"seconds": secs, "cpu": cpu, "rows": n, "rss": rss, "start": start}
    if kind == "pandas":
        import pyarrow as pa
        import pyarrow.parquet as pq

        sys.path.insert(0, str(HERE))
        import pandas_indicators

        t0, c0 = time.perf_counter(), cpu_seconds()
        df = pandas_indicators.compute(*pandas_indicators.load(home), as_of)
        secs, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        rss = peak_rss_gib()
        table = pa.Table.from_pandas(df, preserve_index=False)
        k = table.schema.get_field_index("established_on")
        table = table.set_column(k, "established_on", table.column(k).cast(pa.date32()))
        pq.write_table(table, out)
        return {"seconds": secs, "cpu": cpu, "rows": len(df), "rss": rss}
    sql = indicator_query(catalog, as_of) if kind == "generated" else handwritten(as_of)
    with Warehouse(home) as wh:
        t0, c0 = time.perf_counter(), cpu_seconds()
        wh.con.execute(f"CREATE TEMP TABLE ind AS {sql} ORDER BY uscc")
        secs, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        n = wh.con.execute("SELECT count(*) FROM ind").fetchall()[0][0]
        wh.con.execute(f"COPY ind TO '{out}' (FORMAT parquet)")
    return {"seconds": secs, "cpu": cpu, "rows": n, "rss": peak_rss_gib()}


def same_numbers(a: Path, b: Path) -> str:
    """'' when two indicator files hold the same values (floats to 1e-9 relative), else what differs."""
    import duckdb

    con = duckdb.connect()
    cols = [r[:2] for r in con.execute(f"DESCRIBE SELECT * FROM '{a}'").fetchall()]
    if [c for c, _ in cols] != [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{b}'").fetchall()]:
        return "different columns"
    bad = []
    for c, typ in cols:
        same = f"x.{c} IS NOT DISTINCT FROM y.{c}"
        if typ == "DOUBLE":
            same += f" OR abs(x.{c} - y.{c}) <= 1e-9 * greatest(abs(x.{c}), abs(y.{c}))"
        n = con.execute(f"SELECT count(*) FROM '{a}' x FULL JOIN '{b}' y USING (uscc) WHERE NOT ({same})").fetchall()[0][0]
        if n:
            bad.append(f"{c}: {n}")
    return ", ".join(bad)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=200_000)
    ap.add_argument("--as-of", default="2025-09-30")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", default="generated,handwritten,pandas,spark")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    as_of = dt.date.fromisoformat(a.as_of)
    d = a.work / f"delivery-{a.entities}-parquet"
    home = a.home or a.work / f"home-indicators-{a.entities}"
    tables = home / "parquet-export"
    if a.one:
        print(json.dumps(one(a.one, home, as_of, tables, a.out)))
        return 0

    from riskgrade.engines.duckdb import export_parquet
    from riskgrade.warehouse import Warehouse

    if not d.exists():
        subprocess.run([sys.executable, "-m", "riskgrade", "simulate", "--entities", str(a.entities), "--seed", "1",
                        "--format", "parquet", "--out", str(d)], check=True, stdout=subprocess.DEVNULL)
    if not (home / "warehouse.duckdb").exists():
        subprocess.run([sys.executable, "-m", "riskgrade", "ingest", str(d)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env={**os.environ, "RISKGRADE_HOME": str(home)})
    engines = a.engines.split(",")
    export_s = None
    if "spark" in engines:
        shutil.rmtree(tables, ignore_errors=True)
        with Warehouse(home) as wh:
            t0 = time.perf_counter()
            rows = export_parquet(wh.con, tables)
            export_s = time.perf_counter() - t0
    results: dict[str, list[dict]] = {}
    outs = {}
    for _ in range(a.repeat):
        for kind in engines:
            outs[kind] = a.work / f"indicators-{kind}-{a.entities}.parquet"
            p = subprocess.run([sys.executable, __file__, "--one", kind, "--entities", str(a.entities), "--as-of", a.as_of,
                                "--work", str(a.work), "--home", str(home), "--out", str(outs[kind])],
                               check=True, capture_output=True, text=True)
            results.setdefault(kind, []).append(json.loads(p.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
    print(f"{a.entities:,} entities, {results[engines[0]][0]['rows']:,} in scope as of {as_of}; median of {a.repeat} "
          f"fresh processes")
    if export_s is not None:
        print(f"Parquet export for Spark: {export_s:.1f} s ({rows['events']:,} events)")
    cpu = {k: statistics.median(r["cpu"] for r in v) for k, v in results.items()}
    print("| engine | median s | runs (s) | median CPU s | peak RSS GiB |")
    print("|---|---|---|---|---|")
    for k, v in results.items():
        extra = f" (+ session start {statistics.median(r['start'] for r in v):.1f} s)" if k == "spark" else ""
        runs = ", ".join(f"{r['seconds']:.2f}" for r in v)
        print(f"| {k} | {med[k]:.2f}{extra} | {runs} | {cpu[k]:.2f} | {max(r['rss'] for r in v):.2f} |")
    if "generated" in med and "handwritten" in med:
        print(f"generated / hand-written: {med['generated'] / med['handwritten']:.2f}x wall, "
              f"{cpu['generated'] / cpu['handwritten']:.2f}x CPU (target: within 1.5x)")
    for k in engines:
        if k != "generated" and "generated" in outs:
            diff = same_numbers(outs["generated"], outs[k])
            print(f"{k} against generated: {'same numbers' if not diff else 'DIFFERENT: ' + diff}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
