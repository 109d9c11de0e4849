"""Learn a scorecard from the regulator's own outcomes, out of time, and decide whether to use it.

Outcome (default): within 12 months after the as-of date, an inspection that found a problem, an
administrative penalty, or a serious-dishonesty listing (``OUTCOME_SQL``).  For classifying as of
T with data known at T:

* train on indicators as of T-24 months, outcome in (T-24m, T-12m];
* validate out of time on indicators as of T-12 months, outcome in (T-12m, T];
* use the trained scorecard when both samples have enough outcomes and it beats the expert
  scorecard's validation AUC; otherwise the expert scorecard, saying why.

Past inspections were not random across grades; when inspection plans with recorded inclusion
probabilities cover the training window, the entities inspected under them are weighted by the
inverse of that probability (Horvitz-Thompson, :func:`inclusion_weights`), the scorecard is also
fitted without the weights, and the model record says what the correction changed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from ..indicators import Catalog, compute_indicators
from ..indicators.compute import BUCKETS
from .challenger import ChallengerModel
from .expert import ExpertScorecard
from .grading import cutoffs_from_shares
from .trained import TrainedScorecard

OUTCOME_SQL = """
    SELECT uscc, 1 AS bad FROM events
    WHERE event_date > {start} AND event_date <= {end} AND reported_on <= {known}
      AND ((event_type = 'inspection' AND detail = 'problem') OR event_type = 'admin_penalty'
           OR event_type = 'serious_dishonest_in')
    GROUP BY uscc
"""
MIN_BAD = 100  # outcomes needed in each of training and validation
MAX_TRAIN_ROWS = 300_000  # a random sample beyond this (fixed seed)
MAX_VALIDATE_ROWS = 500_000  # validation on a bucket sample of about this many entities beyond it
NON_FEATURES = ("uscc", "name", "region_code", "industry_code", "status", "established_on", "bucket",
                "registered_capital", "industry_section", "type_classification")


def months_back(d: dt.date, n: int) -> dt.date:
    """``d`` moved ``n`` months back (forward when negative); a month end stays a month end."""
    y, m = divmod(d.month - 1 - n, 12)
    year, month = d.year + y, m + 1
    last = calendar.monthrange(year, month)[1]
    at_end = d.day == calendar.monthrange(d.year, d.month)[1]
    return dt.date(year, month, last if at_end else min(d.day, last))


@dataclass
class TrainingReport:
    used: str  # "trained" or "expert"
    reason: str
    train_as_of: dt.date | None = None
    validate_as_of: dt.date | None = None
    train_rows: int = 0
    train_bad: int = 0
    validate_rows: int = 0
    validate_bad: int = 0
    auc_trained: float | None = None
    ks_trained: float | None = None
    auc_expert: float | None = None
    ks_expert: float | None = None
    auc_challenger: float | None = None  # LightGBM, for comparison only
    ks_challenger: float | None = None
    selected: list[str] = field(default_factory=list)
    weighting: str = "none: no inspection plans with inclusion probabilities are recorded yet"
    model_id: str | None = None
    cutoffs: dict[str, float] | None = None
    # Platt scaling of the expert score to a probability of a bad outcome, fitted out of time on the
    # validation sample: p = 1 / (1 + exp(-(a * score / 1000 + b))); [a, b]
    expert_calibration: list[float] | None = None
    details: dict = field(default_factory=dict)
    challenger: object = None  # the fitted ChallengerModel (not part of the record)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("challenger")
        for k in ("train_as_of", "validate_as_of"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def _auc_ks(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, s)
    return float(roc_auc_score(y, s)), float(np.max(tpr - fpr))


def calibrate(scores: np.ndarray, y: np.ndarray) -> list[float]:
    """Platt scaling: [a, b] so that 1 / (1 + exp(-(a * score / 1000 + b))) estimates P(bad)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(scores, dtype=float).reshape(-1, 1) / 1000.0, y)
    return [round(float(lr.coef_[0][0]), 6), round(float(lr.intercept_[0]), 6)]


def score_edges(scores: np.ndarray, n: int = 10) -> list[float]:
    """Inner edges of the training score deciles (for PSI)."""
    q = np.quantile(scores, np.linspace(0, 1, n + 1)[1:-1])
    return [float(x) for x in np.unique(q)]


def shares(edges: list[float], scores: np.ndarray) -> list[float]:
    idx = np.searchsorted(np.asarray(edges), scores, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return [float(c) / max(len(scores), 1) for c in counts]


def psi(edges: list[float], expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` against ``expected`` over the training deciles."""
    e = np.clip(np.asarray(shares(edges, expected)), 1e-6, None)
    a = np.clip(np.asarray(shares(edges, actual)), 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def indicator_shares(model: TrainedScorecard, X) -> dict[str, list[float]]:
    """Share of the population in each bin of every selected indicator (for per-indicator PSI)."""
    # missing values in a bin of their own (optbinning's default would count them in bin 0)
    idx = model.binning_.transform(X[model.features_], metric="indices", metric_missing="empirical",
                                   metric_special="empirical")
    out = {}
    for name in idx.columns:
        col = idx[name].to_numpy(dtype=int)
        n_bins = int(max(col.max(initial=0) + 1, len(model.binning_.get_binned_variable(name).splits) + 3))
        out[str(name)] = [float(x) for x in np.bincount(col, minlength=n_bins) / max(len(col), 1)]
    return out


def psi_shares(expected: list[float], actual: list[float]) -> float:
    n = max(len(expected), len(actual))
    e = np.clip(np.pad(np.asarray(expected, dtype=float), (0, n - len(expected))), 1e-6, None)
    a = np.clip(np.pad(np.asarray(actual, dtype=float), (0, n - len(actual))), 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def roc_points(y: np.ndarray, s: np.ndarray, n: int = 60) -> list[list[float]]:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, s)
    idx = np.unique(np.linspace(0, len(fpr) - 1, min(n, len(fpr))).astype(int))
    return [[round(float(fpr[i]), 4), round(float(tpr[i]), 4)] for i in idx]


def grade_table(scores: np.ndarray, y: np.ndarray, cutoffs: dict[str, float]) -> list[dict]:
    bounds = [-np.inf, cutoffs["B"], cutoffs["C"], cutoffs["D"], np.inf]
    out = []
    for g, lo, hi in zip("ABCD", bounds[:-1], bounds[1:]):
        m = (scores >= lo) & (scores < hi)
        out.append({"grade": g, "entities": int(m.sum()), "share": float(m.mean()),
                    "bad": int(y[m].sum()), "bad_rate": float(y[m].mean()) if m.any() else None})
    return out


def bins_table(model: TrainedScorecard) -> list[dict]:
    t = model.table()
    rows = []
    for r in t.itertuples(index=False):
        if r.Count == 0 and str(r.Bin) in ("Special", "Missing"):
            continue
        b = r.Bin
        label = str(b) if isinstance(b, str) or not hasattr(b, "__len__") else "[" + ", ".join(map(str, list(b))) + "]"
        rows.append({"indicator": r.Variable, "bin": label, "count": int(r.Count),
                     "event_rate": round(float(r._7), 4), "woe": round(float(r.WoE), 4),
                     "points": round(float(model.factor_ * r.Points), 1)})
    return rows


def _frame(con: duckdb.DuckDBPyConnection, table: str, as_of: dt.date, known: dt.date, outcome: bool):
    """Indicators of ``table`` joined with the outcome in the following 12 months (known by ``known``)."""
    end = months_back(as_of, -12)
    sql = "SELECT i.*"
    if outcome:
        out = OUTCOME_SQL.format(start=f"DATE '{as_of}'", end=f"DATE '{end}'", known=f"DATE '{known}'")
        sql += f", coalesce(o.bad, 0) AS _bad FROM {table} i LEFT JOIN ({out}) o USING (uscc)"
    else:
        sql += f" FROM {table} i"
    return con.execute(sql + " ORDER BY uscc").fetchdf()


def inclusion_weights(con: duckdb.DuckDBPyConnection, usccs: list[str], start: dt.date,
                      end: dt.date) -> tuple[np.ndarray | None, str, int]:
    """Horvitz-Thompson weights for a training sample: an entity inspected under a recorded plan in the
    outcome window (start, end] stands for 1 / (its inclusion probability) entities of its stratum;
    every other entity has weight 1.  (weights or None, what was done, entities weighted)."""
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('plans', 'plan_results', "
                      "'plan_entities')").fetchall()[0][0]
    none = "none: no inspection plans with recorded inclusion probabilities cover the training window"
    if has < 3:
        return None, none, 0
    rows = con.execute(f"""
        SELECT r.uscc, max(1.0 / pe.inclusion_probability)
        FROM plan_results r JOIN plan_entities pe USING (plan_id, uscc)
        WHERE r.event_date > DATE '{start}' AND r.event_date <= DATE '{end}' AND pe.inclusion_probability > 0
        GROUP BY r.uscc""").fetchall()
    if not rows:
        return None, none, 0
    w_of = dict(rows)
    w = np.array([w_of.get(u, 1.0) for u in usccs], dtype=float)
    n = int(sum(1 for u in usccs if u in w_of))
    if not n:
        return None, none, 0
    ws = np.array([w_of[u] for u in usccs if u in w_of])
    return w, (f"Horvitz-Thompson: {n:,} training entities inspected under recorded plans weighted by 1/(inclusion "
               f"probability) (weights {ws.min():.1f}-{ws.max():.1f}, mean {ws.mean():.1f}); others weight 1"), n


def scorecard_for(rows: int) -> TrainedScorecard:
    """The trained scorecard for a training sample of ``rows`` entities: bins of at least about 200
    entities, between 0.5% and 5% of the sample (rare but telling values, a listing or a penalty, keep a
    bin of their own in a large province; a small one is not cut finer than its outcomes support), at
    most 10 bins an indicator."""
    size = min(0.05, max(0.005, 200 / max(rows, 1)))
    return TrainedScorecard(categorical=["entity_type"], max_n_bins=10, min_bin_size=size, min_prebin_size=size)


def sample_buckets(entities: int, rows: int) -> tuple[int, int] | None:
    """The bucket range [0, k) holding about ``rows`` of ``entities`` entities, with a 10% margin
    (None: all of them)."""
    if entities <= rows:
        return None
    return 0, min(BUCKETS, -(-BUCKETS * rows * 11 // (entities * 10)))


def features(df, catalog: Catalog) -> list[str]:
    codes = {i.code for i in catalog.enabled}
    return [c for c in df.columns if c in codes and c not in NON_FEATURES] + ["entity_type"]


def train_and_choose(con: duckdb.DuckDBPyConnection, catalog: Catalog, expert: ExpertScorecard, as_of: dt.date,
                     models_dir: Path, *, target_shares: dict[str, float], force: bool = False, progress=None) -> tuple[TrainingReport, TrainedScorecard | None]:
    say = progress or (lambda m: None)
    t_val = months_back(as_of, 12)
    t_train = months_back(as_of, 24)
    rep = TrainingReport(used="expert", reason="", train_as_of=t_train, validate_as_of=t_val)
    first_event = con.execute("SELECT min(event_date) FROM events").fetchall()[0][0]
    if first_event is None or first_event > t_train - dt.timedelta(days=365):
        rep.reason = (f"not enough history to learn from outcomes: training needs records from a year before "
                      f"{t_train} (first record {first_event})")
        return rep, None
    say(f"learning from outcomes: indicators as of {t_train} (outcomes to {t_val}), validating as of {t_val}")
    # a large province learns from a deterministic sample: the entities of the first buckets (MD5 of the
    # USCC), whose events alone are read (events are stored in bucket order)
    n = con.execute("SELECT count(*) FROM entities").fetchall()[0][0]
    compute_indicators(con, catalog, t_train, table="ind_train", buckets=sample_buckets(n, MAX_TRAIN_ROWS))
    compute_indicators(con, catalog, t_val, table="ind_val", buckets=sample_buckets(n, MAX_VALIDATE_ROWS))
    tr = _frame(con, "ind_train", t_train, as_of, True)
    va = _frame(con, "ind_val", t_val, as_of, True)
    con.execute("DROP TABLE IF EXISTS ind_train; DROP TABLE IF EXISTS ind_val")
    rep.train_rows, rep.train_bad = len(tr), int(tr["_bad"].sum())
    rep.validate_rows, rep.validate_bad = len(va), int(va["_bad"].sum())
    if min(rep.train_bad, rep.validate_bad) < MIN_BAD or min(rep.train_rows - rep.train_bad, rep.validate_rows - rep.validate_bad) < MIN_BAD:
        rep.reason = (f"too few outcomes to learn from (training {rep.train_bad:,} bad of {rep.train_rows:,}, "
                      f"validation {rep.validate_bad:,} of {rep.validate_rows:,}; {MIN_BAD} of each class needed)")
        return rep, None
    cols = features(tr, catalog)
    if len(tr) > MAX_TRAIN_ROWS:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(len(tr), MAX_TRAIN_ROWS, replace=False))
        tr = tr.iloc[keep]
    yv = va["_bad"].to_numpy()
    weights, rep.weighting, n_weighted = inclusion_weights(con, tr["uscc"].tolist(), t_train, t_val)
    model = scorecard_for(len(tr)).fit(tr[cols], tr["_bad"].to_numpy(), sample_weight=weights)
    pv = model.predict_proba(va[cols])
    rep.auc_trained, rep.ks_trained = _auc_ks(yv, pv)
    if weights is not None:
        # what the correction changed: the same scorecard fitted without the weights, out of time
        plain = scorecard_for(len(tr)).fit(tr[cols], tr["_bad"].to_numpy())
        auc_plain, ks_plain = _auc_ks(yv, plain.predict_proba(va[cols]))
        rep.weighting += (f"; out-of-time AUC {rep.auc_trained:.3f} weighted against {auc_plain:.3f} unweighted "
                          f"(KS {rep.ks_trained:.3f} against {ks_plain:.3f}); predicted bad rate in validation "
                          f"{float(np.mean(pv)):.2%} weighted, {float(np.mean(plain.predict_proba(va[cols]))):.2%} "
                          f"unweighted, observed {float(np.mean(yv)):.2%}")
    val_scores = model.score_from_proba(pv)
    ex = expert.predict({c: va[c].to_numpy(dtype=float, na_value=np.nan) for c in expert.bands_ if c in va})
    rep.auc_expert, rep.ks_expert = _auc_ks(yv, ex)
    rep.expert_calibration = calibrate(ex, yv)
    rep.selected = list(model.selected_)
    challenger = ChallengerModel().fit(tr[cols], tr["_bad"].to_numpy(), sample_weight=weights)
    ch = challenger.predict_proba(va[cols])
    rep.auc_challenger, rep.ks_challenger = _auc_ks(yv, ch)
    rep.challenger = challenger
    if rep.auc_trained > rep.auc_expert or force:
        rep.used = "trained"
        rep.reason = (f"trained scorecard: out-of-time AUC {rep.auc_trained:.3f} against the expert scorecard's "
                      f"{rep.auc_expert:.3f} (validation as of {t_val}, {rep.validate_bad:,} outcomes)")
    else:
        rep.reason = (f"the expert scorecard validates better out of time (AUC {rep.auc_expert:.3f} against the "
                      f"trained {rep.auc_trained:.3f})")
    model.feature_columns_ = cols
    # grade cut-offs: the configured shares of the training population
    train_scores = model.predict_score(tr[cols])
    model.cutoffs_ = cutoffs_from_shares(train_scores, target_shares)
    rep.cutoffs = model.cutoffs_
    # what the model report shows: bins and points, ROC, grade table and stability out of time
    model.score_edges_ = score_edges(train_scores)
    model.indicator_shares_ = indicator_shares(model, tr[cols])
    rep.details = {
        "bins": bins_table(model),
        "roc": {"trained": roc_points(yv, val_scores), "expert": roc_points(yv, ex), "challenger": roc_points(yv, ch)},
        "grades_validation": grade_table(val_scores, yv, model.cutoffs_),
        "psi_validation": psi(model.score_edges_, train_scores, val_scores),
        "score_edges": model.score_edges_,
        "train_score_shares": shares(model.score_edges_, train_scores),
    }
    blob = pickle.dumps(model)
    # the id names what was learned (windows, sizes, metrics, indicators, cut-offs), so the same training
    # gives the same id (pickled bytes may differ from run to run)
    ident = json.dumps({**rep.as_dict(), "features": cols, "catalog": catalog.version}, sort_keys=True, default=str)
    rep.model_id = f"trained-{as_of.isoformat()}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / f"{rep.model_id}.pkl").write_bytes(blob)
    (models_dir / f"{rep.model_id}.json").write_text(json.dumps(
        {**rep.as_dict(), "catalog_version": catalog.version, "features": cols}, ensure_ascii=False, indent=2),
        encoding="utf-8")
    return rep, model
