"""Classification on a simulated province: speed, grade shares, bad rate by grade, AUC against outcomes.

    python benchmarks/bench_classify.py --entities 200000 --as-of 2025-09-30

Simulates (or reuses) a province, ingests it, classifies as of T with the default model and with
the expert scorecard, and measures both against what happened in the 12 months after T
(inspection problem, penalty or serious-dishonesty listing: the trained model's target) and
against the simulator's ground truth (latent risk in the top fifth).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "riskgrade", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=200_000)
    ap.add_argument("--as-of", default="2025-09-30")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    a = ap.parse_args()
    import numpy as np
    import pyarrow.parquet as pq
    from sklearn.metrics import roc_auc_score

    from riskgrade.dates import add_months
    from riskgrade.scoring.train import OUTCOME_SQL
    from riskgrade.warehouse import Warehouse

    d = a.work / f"delivery-{a.entities}-parquet"
    home = a.work / f"home-classify-{a.entities}"
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    if not d.exists():
        subprocess.run([sys.executable, "-m", "riskgrade", "simulate", "--entities", str(a.entities), "--seed", "1",
                        "--format", "parquet", "--out", str(d)], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(home, ignore_errors=True)
    t_ingest = run("ingest", str(d), env=env)
    t_default = run("classify", "--as-of", a.as_of, env=env)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    t_expert = run("classify", "--as-of", a.as_of, "--model", "expert", env=env)
    T = dt.date.fromisoformat(a.as_of)
    end = add_months(T, 12, keep_month_end=True)
    truth = pq.read_table(d / "_truth" / "entities.parquet").to_pydict()
    latent = dict(zip(truth["uscc"], truth["base_risk"]))
    cut = np.quantile(list(latent.values()), 0.8)
    with Warehouse(home) as wh:
        snaps = wh.con.execute("SELECT snapshot_id, model, model_reason FROM snapshots ORDER BY snapshot_id").fetchall()
        out = OUTCOME_SQL.format(start=f"DATE '{T}'", end=f"DATE '{end}'", known=f"DATE '{dt.date.today()}'")
        print(f"{a.entities:,} entities, as of {T}; ingest {t_ingest:.1f} s; classify default {t_default:.1f} s "
              f"(peak RSS {peak:.2f} GiB), expert {t_expert:.1f} s")
        scored = {}
        for sid, model, reason in snaps:
            rows = wh.con.execute(f"""
                SELECT g.uscc, g.score, g.grade, coalesce(o.bad, 0) FROM grades g
                LEFT JOIN ({out}) o USING (uscc) WHERE g.snapshot_id = {sid} ORDER BY g.uscc""").fetchall()
            scored[model] = rows
            y = np.array([r[3] for r in rows])
            s = np.array([r[1] for r in rows])
            lat = np.array([latent[r[0]] >= cut for r in rows])
            print(f"\nmodel {model}: {reason}")
            print(f"  AUC against outcomes in the next 12 months: {roc_auc_score(y, s):.3f}; "
                  f"against latent risk (top fifth): {roc_auc_score(lat, s):.3f}")
            print("  | grade | entities | share | bad rate (next 12 months) | latent high risk |")
            print("  |---|---|---|---|---|")
            for g in sorted({r[2] for r in rows}):
                m = np.array([r[2] == g for r in rows])
                print(f"  | {g} | {m.sum():,} | {m.mean():.1%} | {y[m].mean():.1%} | {lat[m].mean():.1%} |")
            top = s >= np.quantile(s, 0.9)
            print(f"  riskiest tenth by score: {y[top].sum() / max(y.sum(), 1):.1%} of the outcomes, "
                  f"{lat[top].sum() / max(lat.sum(), 1):.1%} of the latent high-risk entities")
        if {"trained", "expert"} <= set(scored):
            # paired bootstrap of the AUC differences, the same entities resampled for both models
            t, e = scored["trained"], scored["expert"]
            assert [r[0] for r in t] == [r[0] for r in e]
            y = np.array([r[3] for r in t])
            lat = np.array([latent[r[0]] >= cut for r in t])
            st, se = np.array([r[1] for r in t]), np.array([r[1] for r in e])
            rng = np.random.default_rng(0)
            for name, target in (("outcomes", y), ("latent risk", lat)):
                diffs = []
                for _ in range(200):
                    i = rng.integers(0, len(y), len(y))
                    diffs.append(roc_auc_score(target[i], st[i]) - roc_auc_score(target[i], se[i]))
                d0 = roc_auc_score(target, st) - roc_auc_score(target, se)
                lo, hi = np.quantile(diffs, [0.025, 0.975])
                print(f"\ntrained minus expert AUC against {name}: {d0:+.4f} (95% bootstrap interval {lo:+.4f} to {hi:+.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
