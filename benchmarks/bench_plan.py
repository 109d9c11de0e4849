"""Inspection plans: speed at scale, and how many more problems the same inspections find.

Speed (issue 4 target: a plan with inspector assignment over 10M entities in under 30 s):

    python benchmarks/bench_plan.py speed --entities 10000000 --repeat 3

builds (once) a data home holding a month's snapshot of N graded entities in the real counties of
Shandong (grade shares A 57 / B 33 / C 7 / D 3 %, 0.5% all-zero annual reports, 3% 四新, an
inspection in the last year for 5%) and an inspector directory of one per 400 entities, then times
``make_plan`` (eligibility, budget fit, stratified draw, inspector matching, storage) with a budget
of 3% of N.  The snapshot is synthetic because the plan reads only grades, labels, entities,
inspections and inspectors; the full monthly run is measured by bench_classify.py.

Effectiveness on a simulated province (ground truth known):

    python benchmarks/bench_plan.py lift --entities 200000 --as-of 2026-09-30 --budget 6000

simulates, ingests and classifies a province (default model), draws the default plan, the
``--optimise`` plan and a uniform random plan of the same size, simulates every plan's inspection
results from the ground truth, imports them and reports the problem-finding rate of each, the
inverse-probability estimate of the population's rate, and the lift.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build_synthetic(home: Path, n: int) -> None:
    from riskgrade.codes.regions import counties
    from riskgrade.inspection.tables import ensure_schema as plan_schema
    from riskgrade.snapshot import ensure_schema
    from riskgrade.warehouse import Warehouse

    regions = [c.code for c in counties("37")]
    with Warehouse(home, write=True, memory_limit="8GB") as wh:
        con = wh.con
        ensure_schema(con)
        plan_schema(con)
        con.execute("CREATE TEMP TABLE regions AS SELECT unnest(?) AS region_code, "
                    "generate_subscripts(?, 1) - 1 AS k", [regions, regions])
        with wh.transaction():
            con.execute(f"""
                CREATE TEMP TABLE syn AS
                SELECT i, '91370000' || lpad(i::VARCHAR, 10, '0') AS uscc, hash(i) % 10000 AS h,
                       (SELECT region_code FROM regions WHERE k = i % {len(regions)}) AS region_code
                FROM range({n}) t(i)""")
            con.execute("""
                INSERT INTO entities BY NAME
                SELECT uscc, '企业' || i AS name, 'enterprise' AS entity_type, region_code, '5211' AS industry_code,
                       'F' AS industry_section, DATE '2015-01-01' AS established_on, 'active' AS status,
                       1 AS version FROM syn""")
            con.execute(f"""
                INSERT INTO grades BY NAME
                SELECT 1 AS snapshot_id, DATE '2026-09-30' AS as_of, uscc, region_code, 'enterprise' AS entity_type,
                       CASE WHEN h < 5700 THEN 'A' WHEN h < 9000 THEN 'B' WHEN h < 9700 THEN 'C' ELSE 'D' END AS grade,
                       h / 10.0 AS score,
                       CASE WHEN i % 200 = 0 THEN 'annual_report_all_zero' WHEN i % 33 = 1 THEN 'four_new' ELSE '' END
                           AS labels,
                       0.02 + 0.4 * h / 10000.0 AS probability
                FROM syn""")
            con.execute("""
                INSERT INTO snapshots (snapshot_id, as_of, model, grade_mode, entities)
                VALUES (1, DATE '2026-09-30', 'synthetic', 'four', (SELECT count(*) FROM syn))""")
            con.execute("""
                INSERT INTO events BY NAME
                SELECT uscc, 'inspection' AS event_type, DATE '2026-03-02' AS event_date,
                       DATE '2026-03-05' AS reported_on, 'general' AS source, 'JC' || i AS record_id, 'pass' AS detail
                FROM syn WHERE i % 20 = 7""")
            con.execute(f"""
                INSERT INTO inspectors BY NAME
                SELECT 'I' || lpad(j::VARCHAR, 7, '0') AS inspector_id, '检查员' || j AS name,
                       (SELECT region_code FROM regions WHERE k = j % {len(regions)}) AS unit_region_code,
                       CASE WHEN j % 7 = 0 THEN 'food' ELSE 'general;food' END AS domains
                FROM range({max(n // 400, 4 * len(regions))}) t(j)""")


def speed(a) -> int:
    from riskgrade.inspection.plan import make_plan

    home = a.work / f"home-plan-synthetic-{a.entities}"
    if not (home / "warehouse.duckdb").exists():
        t0 = time.perf_counter()
        build_synthetic(home, a.entities)
        print(f"built synthetic home in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    budget = int(a.entities * 0.03)
    times, rows = [], 0
    for i in range(a.repeat):
        t0 = time.perf_counter()
        res = make_plan(home, __import__("datetime").date(2026, 9, 30), seed=str(i), budget=budget,
                        memory_limit=a.memory_limit)
        times.append(time.perf_counter() - t0)
        rows = res.rows
        print(f"run {i + 1}: {times[-1]:.1f} s, {res.rows:,} entities, workload {res.workload}", file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"entities": a.entities, "budget": budget, "drawn": rows, "median_s": round(statistics.median(times), 2),
                      "runs_s": [round(t, 2) for t in times], "peak_rss_gib": round(peak, 2)}))
    return 0


def _cli(*args: str, env: dict) -> str:
    p = subprocess.run([sys.executable, "-m", "riskgrade", *args], check=True, env=env, capture_output=True, text=True)
    return p.stdout + p.stderr


def lift(a) -> int:
    import re

    d = a.work / f"delivery-{a.entities}-parquet"
    home = a.work / f"home-plan-{a.entities}"
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    if not d.exists():
        subprocess.run([sys.executable, "-m", "riskgrade", "simulate", "--entities", str(a.entities), "--seed", "1",
                        "--format", "parquet", "--out", str(d)], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(home, ignore_errors=True)
    _cli("ingest", str(d), env=env)
    _cli("classify", "--as-of", a.as_of, env=env)
    uniform_cfg = a.work / "sampling-uniform.yaml"
    same = {g: 0.05 for g in "ABCDE"}
    uniform_cfg.write_text(json.dumps({
        "version": "uniform", "ratios": {"four": {g: same[g] for g in "ABCD"}, "five": same},
        "floors": {}, "ceilings": {g: 1.0 for g in "ABCDE"}, "frequency": {"min_months": 0},
        "force_include": [], "trigger_only": []}), encoding="utf-8")
    out = {}
    for name, extra in (("default", []), ("optimise", ["--optimise"]), ("uniform", ["--sampling", str(uniform_cfg)])):
        log = _cli("plan", "--as-of", a.as_of, "--seed", "2026", "--budget", str(a.budget), *extra,
                   "--out", str(a.work / f"plan-{name}.csv"), env=env)
        pid = int(re.search(r"plan (\d+) \(", log).group(1))
        exp = re.search(r"expected problems found: ([\d,.]+) against ([\d,.]+)", log)
        res = a.work / f"results-{name}.csv"
        _cli("simulate-results", "--plan", str(pid), "--delivery", str(d), "--out", str(res), env=env)
        _cli("results", "import", str(res), "--plan", str(pid), env=env)
        _cli("effectiveness", "--plan", str(pid), "--out", str(a.work / f"eff-{name}.json"), env=env)
        m = json.loads((a.work / f"eff-{name}.json").read_text(encoding="utf-8"))
        out[name] = {"plan": pid, "inspected": m["inspected"], "found": m["found"], "rate": m["rate"],
                     "prevalence_estimate": m["prevalence_estimate"], "lift": m["lift"],
                     "expected": float(exp.group(1).replace(",", "")) if exp else None,
                     "expected_uniform": float(exp.group(2).replace(",", "")) if exp else None,
                     "a_disturbed_share": m["a_disturbed_share"],
                     "by_grade": {g["grade"]: [g["inspected"], g["found"]] for g in m["grades"]}}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["speed", "lift"])
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--as-of", default="2026-09-30")
    ap.add_argument("--budget", type=int, default=6000)
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    return speed(a) if a.what == "speed" else lift(a)


if __name__ == "__main__":
    sys.exit(main())
