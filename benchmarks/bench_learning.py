"""Learning from who was inspected: models judged against the simulator's ground truth, not against the
outcomes they were trained on.

    python benchmarks/bench_learning.py --entities 200000 --as-of 2025-09-30

Simulates (or reuses) a province whose past inspections were targeted by list status and complaints,
ingests it, and fits on the same indicators (as of T-24 months, outcomes in the following 12 months,
known at T-12... exactly the training sample of ``riskgrade model train --as-of T``):

* the expert scorecard (no learning);
* a plain logistic regression on the numeric indicators (missing -> median, standardised), on the
  observed outcomes with every uninspected entity counted as no problem (the naive target);
* LightGBM on the same naive target;
* the previous trained scorecard: no declared directions, the previous outcome (inspection "problem",
  penalty, serious dishonesty) and Horvitz-Thompson weights (recorded plans only; weight 1 and label 0
  for the uninspected);
* the new default: direction-constrained scorecard, outcomes.yaml, propensity weighting;
* and, to separate the two changes, the new scorecard on the naive target.

Each model scores the population as of T; the measure is the expected AUC against the truth's chance
that an inspection in the 12 months after T finds an adverse result (``riskgrade.simulate.truth``),
with the AUC against the outcomes actually observed beside it, and the mean predicted rate against
the truth's mean (calibration).  Prints a table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--as-of", default="2025-09-30")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()

    import numpy as np
    import pandas as pd

    from riskgrade.indicators import compute_indicators, load_catalog
    from riskgrade.indicators.domains import load_fusion
    from riskgrade.scoring import ExpertScorecard, fusion as fu, load_scorecard
    from riskgrade.scoring.challenger import ChallengerModel
    from riskgrade.scoring.outcomes import load_outcomes
    from riskgrade.scoring.train import load_samples, scorecard_for, weigh
    from riskgrade.stats import weighted_auc
    from riskgrade.scoring.trained import TrainedScorecard
    from riskgrade.simulate.truth import adverse_probability, expected_auc
    from riskgrade.warehouse import Warehouse

    d = a.work / f"delivery-{a.entities}-s{a.seed}-parquet"
    home = a.work / f"home-learning-{a.entities}-s{a.seed}"
    if not d.exists():
        subprocess.run([sys.executable, "-m", "riskgrade", "simulate", "--entities", str(a.entities), "--seed",
                        str(a.seed), "--format", "parquet", "--out", str(d)], check=True, stdout=subprocess.DEVNULL)
    if not (home / "warehouse.duckdb").exists():
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "riskgrade", "ingest", str(d)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env={**os.environ, "RISKGRADE_HOME": str(home)})
    T = dt.date.fromisoformat(a.as_of)
    oc = load_outcomes()
    fusion = load_fusion()
    catalog = load_catalog(fusion=fusion)
    expert = ExpertScorecard(fu.general_scorecard(load_scorecard(), catalog)).fit(
        [i.code for i in catalog.enabled], directions={i.code: i.risk_direction for i in catalog.enabled})
    results: dict[str, dict] = {}
    with Warehouse(home, write=True) as wh:
        con = wh.con
        t0 = time.perf_counter()
        s = load_samples(con, catalog, T, oc)
        assert not isinstance(s, str), s
        # the previous target: inspection "problem" only, penalties, serious dishonesty
        legacy = oc.model_copy(update={"inspection": oc.inspection.model_copy(update={"results": ["problem"]})})
        from riskgrade.scoring.train import _frame

        compute_indicators(con, catalog, s.t_train, table="ind_legacy")
        tr_legacy = _frame(con, "ind_legacy", s.t_train, T, legacy)
        tr_legacy = tr_legacy[tr_legacy["uscc"].isin(set(s.train["uscc"]))].reset_index(drop=True)
        compute_indicators(con, catalog, T, table="ind_eval")
        ev = _frame(con, "ind_eval", T, T, oc)  # the outcome columns are empty (nothing known after T): features only
        con.execute("DROP TABLE IF EXISTS ind_legacy; DROP TABLE IF EXISTS ind_eval")
        t_samples = time.perf_counter() - t0
    # what happened after T (observed), for the AUC against observed outcomes beside the truth
    with Warehouse(home, write=True) as wh:
        end = dt.date(T.year + 1, T.month, T.day) if not (T.month == 2 and T.day == 29) else dt.date(T.year + 1, 2, 28)
        obs_sql = f"""SELECT uscc, 1 AS bad FROM events WHERE event_date > DATE '{T}' AND event_date <= DATE '{end}'
                      AND ({oc.observed_sql()} OR {oc.inspection_sql()}) GROUP BY uscc"""
        observed = dict(wh.con.execute(obs_sql).fetchall())
    truth = adverse_probability(d / "_truth", T).set_index("uscc")
    ev = ev[ev["uscc"].isin(truth.index[truth["active_at"]])].reset_index(drop=True)
    p_true = truth.loc[ev["uscc"], "p_adverse"].to_numpy()
    y_obs = ev["uscc"].map(lambda u: observed.get(u, 0)).to_numpy()
    cols = s.cols
    tr = s.train
    numeric = [c for c in cols if c != "entity_type" and pd.api.types.is_numeric_dtype(tr[c])]

    def record(name: str, score: np.ndarray, seconds: float, pred_rate: float | None = None, note: str = "") -> None:
        results[name] = {"auc_truth": round(expected_auc(score, p_true), 4),
                         "auc_observed": round(weighted_auc(y_obs, score), 4),
                         "predicted_rate": None if pred_rate is None else round(float(pred_rate), 4),
                         "seconds": round(seconds, 1), "note": note}
        print(f"{name:38s} AUC truth {results[name]['auc_truth']:.4f}  observed {results[name]['auc_observed']:.4f}"
              f"  predicted {results[name]['predicted_rate'] if pred_rate is not None else '-'}  {seconds:.1f} s",
              flush=True)

    t = time.perf_counter()
    record("expert scorecard", expert.predict({c: ev[c].to_numpy(dtype=float, na_value=np.nan)
                                               for c in expert.bands_ if c in ev}), time.perf_counter() - t)
    naive = weigh(tr, cols, oc, "naive")
    # plain logistic regression on the numeric indicators, naive target
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    t = time.perf_counter()
    lr = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                       LogisticRegression(max_iter=2000))
    lr.fit(tr[numeric].to_numpy(dtype=float, na_value=np.nan), naive.y)
    p_lr = lr.predict_proba(ev[numeric].to_numpy(dtype=float, na_value=np.nan))[:, 1]
    record("logistic regression (naive target)", p_lr, time.perf_counter() - t, p_lr.mean())
    t = time.perf_counter()
    gbm = ChallengerModel().fit(tr[cols], naive.y)
    p_gbm = gbm.predict_risk(ev[cols])
    record("LightGBM (naive target)", p_gbm, time.perf_counter() - t, p_gbm.mean())
    # the previous trained scorecard: no directions, previous target, Horvitz-Thompson weights
    t = time.perf_counter()
    ht = weigh(tr_legacy, cols, legacy, "horvitz_thompson")
    size = min(0.05, max(0.005, 200 / max(len(tr_legacy), 1)))
    old = TrainedScorecard(categorical=["entity_type"], max_n_bins=10, min_bin_size=size, min_prebin_size=size,
                           references={c: 0.0 for c in cols if c != "entity_type"})
    old.fit(tr_legacy[cols], ht.y, sample_weight=ht.w)
    p_old = old.predict_proba(ev[cols])
    record("previous trained scorecard", p_old, time.perf_counter() - t, p_old.mean(),
           "no directions, previous target, Horvitz-Thompson")
    # the new scorecard on the naive target (directions only)
    t = time.perf_counter()
    sc_naive = scorecard_for(len(tr), catalog).fit(tr[cols], naive.y)
    p_sn = sc_naive.predict_proba(ev[cols])
    record("new scorecard, naive target", p_sn, time.perf_counter() - t, p_sn.mean(), "directions, uninspected = 0")
    # the new default
    t = time.perf_counter()
    w = weigh(tr, cols, oc)
    Xt = tr.iloc[w.keep][cols]
    sc = scorecard_for(len(Xt), catalog).fit(Xt, w.y, sample_weight=w.w)
    p_new = sc.predict_proba(ev[cols])
    record("new default (directions + propensity)", p_new, time.perf_counter() - t, p_new.mean(), w.note)
    # variant: only the inspected, each standing for 1 / P(inspected | x) entities of the whole population
    t = time.perf_counter()
    from riskgrade.scoring.train import inspection_weights

    rows, wi = inspection_weights(tr, cols, oc)
    yi = tr["_bad"].to_numpy()[rows]
    sc_i = scorecard_for(len(rows), catalog).fit(tr.iloc[rows][cols], yi, sample_weight=wi)
    p_i = sc_i.predict_proba(ev[cols])
    record("new scorecard, inspected only (IPW)", p_i, time.perf_counter() - t, p_i.mean())
    t = time.perf_counter()
    lr_w = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                         LogisticRegression(max_iter=2000))
    lr_w.fit(Xt[numeric].to_numpy(dtype=float, na_value=np.nan), w.y, logisticregression__sample_weight=w.w)
    p_lrw = lr_w.predict_proba(ev[numeric].to_numpy(dtype=float, na_value=np.nan))[:, 1]
    record("logistic regression (propensity)", p_lrw, time.perf_counter() - t, p_lrw.mean())
    summary = {"entities": a.entities, "seed": a.seed, "as_of": a.as_of, "evaluated": int(len(ev)),
               "truth_mean": round(float(p_true.mean()), 4), "observed_rate": round(float(y_obs.mean()), 4),
               "train_rows": int(len(tr)), "samples_seconds": round(t_samples, 1), "models": results}
    print(f"truth: mean chance an inspection finds an adverse result {p_true.mean():.4f}; observed adverse rate "
          f"{y_obs.mean():.4f} over {len(ev):,} active entities")
    if a.out:
        a.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
