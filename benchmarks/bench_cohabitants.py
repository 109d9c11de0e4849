"""一址多企 (``address_cohabitants``) before and after it became building-aware, against the simulator's truth.

    python benchmarks/bench_cohabitants.py --entities 30000 --seed 5 --as-of 2025-10-31

Simulates (or reuses) a province with shell clusters and office towers (the test fixture
``simulated_towers_home`` is the same province: 30,000 entities, seed 5), ingests it, and for two
catalogs - the built-in one (``relation: building_linked``: other entities registered at the same
building within 60 days that share a phone or a legal representative) and the one before catalog
2027.01-3 (``relation: address``: every other entity at the same address string, whenever it
registered) - reports at the as-of date:

* the share of office-tower tenants (``tower_id``, not shells) and of shell-cluster members
  (``is_shell``) whose value reaches the expert scorecard's bands (3: +40 points, 10: +100);
* for the expert scorecard and the default (trained) model: AUC of the score against what happened
  in the 12 months after the date (inspection problem, penalty or serious-dishonesty listing: the
  trained model's target) and against the latent risk (top fifth), the share of those outcomes in
  the riskiest tenth by score (lift = share / 10%), and the share of tower tenants graded C or D.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

BEFORE = """extends: default
version: "2027.01-2"
indicators:
  - code: address_cohabitants
    name_zh: 同一住所登记的其他在营主体数（一址多企）
    name_en: Other active entities registered at the same address
    description: Other active entities registered at the same address.
    relation: address
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--as-of", default="2025-10-31")
    ap.add_argument("--models", default="expert,trained")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    a = ap.parse_args()
    import numpy as np
    import pyarrow.parquet as pq
    from sklearn.metrics import roc_auc_score

    from riskgrade.dates import add_months
    from riskgrade.indicators import compute_indicators, load_catalog
    from riskgrade.scoring.train import OUTCOME_SQL
    from riskgrade.warehouse import Warehouse

    a.work.mkdir(parents=True, exist_ok=True)
    d = a.work / f"delivery-towers-{a.entities}-s{a.seed}"
    base = a.work / f"home-towers-{a.entities}-s{a.seed}"
    if not (d / "_truth" / "summary.json").exists():
        from riskgrade.simulate.province import generate

        generate(d, a.entities, a.seed, fmt="parquet")
    if not (base / "warehouse.duckdb").exists():
        from riskgrade.ingest.pipeline import ingest

        ingest(base, d)
    before = a.work / "catalog-before-2027.01-3.yaml"
    before.write_text(BEFORE, encoding="utf-8")
    T = dt.date.fromisoformat(a.as_of)
    end = add_months(T, 12, keep_month_end=True)
    truth = pq.read_table(d / "_truth" / "entities.parquet").to_pydict()
    shell = dict(zip(truth["uscc"], truth["is_shell"]))
    tower = {u: t is not None and t >= 0 and not s
             for u, t, s in zip(truth["uscc"], truth["tower_id"], truth["is_shell"])}
    latent = dict(zip(truth["uscc"], truth["base_risk"]))
    cut = np.quantile(list(latent.values()), 0.8)
    out: dict = {"entities": a.entities, "seed": a.seed, "as_of": str(T), "outcomes_to": str(end)}
    for name, cat_path in (("before", before), ("after", None)):
        cat = load_catalog(cat_path)
        res: dict = {"catalog": cat.version, "relation": cat.get("address_cohabitants").relation}
        with Warehouse(base) as wh:
            compute_indicators(wh.con, cat, T, table="ind")
            rows = wh.con.execute("SELECT uscc, address_cohabitants FROM ind").fetchall()
        for group, member in (("tower_tenants", tower), ("shell_members", shell)):
            vals = [v or 0 for u, v in rows if member.get(u)]
            res[group] = {"in_scope": len(vals), "at_least_3": sum(v >= 3 for v in vals),
                          "at_least_10": sum(v >= 10 for v in vals),
                          "share_at_least_3": round(sum(v >= 3 for v in vals) / max(len(vals), 1), 3)}
        others = [v or 0 for u, v in rows if not shell.get(u) and not tower.get(u)]
        res["other_entities"] = {"in_scope": len(others), "at_least_3": sum(v >= 3 for v in others)}
        for model in a.models.split(","):
            home = a.work / f"home-towers-{name}-{model}"
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(base, home)
            args = [sys.executable, "-m", "riskgrade", "classify", "--as-of", str(T), "--model", model,
                    "--home", str(home)]
            if cat_path is not None:
                args += ["--catalog", str(cat_path)]
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ})
            with Warehouse(home) as wh:
                sid, used = wh.con.execute(
                    "SELECT snapshot_id, model FROM snapshots ORDER BY snapshot_id DESC LIMIT 1").fetchone()
                o = OUTCOME_SQL.format(start=f"DATE '{T}'", end=f"DATE '{end}'", known=f"DATE '{dt.date.today()}'")
                g = wh.con.execute(f"""SELECT g.uscc, g.score, g.grade, coalesce(o.bad, 0) FROM grades g
                    LEFT JOIN ({o}) o USING (uscc) WHERE g.snapshot_id = {sid} ORDER BY g.uscc""").fetchall()
            y = np.array([r[3] for r in g])
            s = np.array([r[1] for r in g], dtype=float)
            lat = np.array([latent[r[0]] >= cut for r in g])
            top = s >= np.quantile(s, 0.9)
            tw = np.array([bool(tower.get(r[0])) for r in g])
            cd = np.array([r[2] in ("C", "D") for r in g])
            res[model] = {"model": used, "auc_outcomes": round(float(roc_auc_score(y, s)), 4),
                          "auc_latent_top_fifth": round(float(roc_auc_score(lat, s)), 4),
                          "top_tenth_share_of_outcomes": round(float(y[top].sum() / max(y.sum(), 1)), 4),
                          "lift_top_tenth": round(float(y[top].sum() / max(y.sum(), 1) / top.mean()), 3),
                          "tower_tenants_graded_c_or_d": int((tw & cd).sum()),
                          "all_graded_c_or_d_share": round(float(cd.mean()), 4)}
            shutil.rmtree(home, ignore_errors=True)
        out[name] = res
        print(json.dumps({name: res}, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
