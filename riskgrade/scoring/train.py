"""Learn a scorecard from the regulator's own outcomes, corrected for who was inspected, out of time.

The outcome is configuration (``defaults/outcomes.yaml``, :mod:`.outcomes`): within the horizon
(12 months) after the indicators' date, an adverse inspection result (observed only for the
inspected) or an outcome observed for every entity (an administrative penalty, a serious-dishonesty
listing).  For a model trained as of T with data known at T:

* train on indicators as of T-24 months, outcomes in (T-24m, T-12m];
* validate out of time on indicators as of T-12 months, outcomes in (T-12m, T].

*Who was inspected* (weighting ``propensity``, the default).  An entity with an outcome observed for
all is bad whether inspected or not (weight 1).  Every other entity's inspection outcome exists only
if it was inspected, and past inspections were targeted (listings, complaints), so the uninspected
are not "no problem": they are represented by the inspected among them, each weighted by
1 / (its chance of being inspected): the inclusion probability a recorded plan gave it (the larger of
that and the fitted propensity), else a propensity fitted on the indicators (a LightGBM model of
"inspected in the window" among the entities without an observed outcome), trimmed at a low
quantile and normalised so that the weights add up to the number of entities they stand for.  The
weighted sample then estimates, for the whole population, the chance of an adverse outcome had every
entity been inspected.  ``naive`` (uninspected = no problem) and ``horvitz_thompson`` (the previous
method: recorded-plan weights for the plan-inspected, weight 1 and label 0 for the rest) are kept for
comparison (benchmarks/bench_learning.py).

The validation sample is always weighted the same way (``propensity``), and AUC, KS and their
bootstrap confidence intervals are weighted: the figures estimate how the score ranks the whole
population, not only the inspected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from ..dates import add_months
from ..indicators import Catalog, compute_indicators
from ..sql import table_exists
from ..stats import RankedScores, bin_shares, psi_scores, weighted_auc, weighted_ks
from ..warehouse import BUCKETS
from .challenger import ChallengerModel
from .expert import ExpertScorecard
from .grading import cutoffs_from_shares
from .outcomes import OutcomeConfig, load_outcomes
from .trained import TrainedScorecard

MIN_BAD = 100  # outcomes needed in each of training and validation
MAX_TRAIN_ROWS = 300_000  # a random sample beyond this (fixed seed)
MAX_VALIDATE_ROWS = 500_000  # validation on a bucket sample of about this many entities beyond it
MAX_BOOTSTRAP_ROWS = 100_000  # confidence intervals on a fixed sample of at most this many validation rows
NON_FEATURES = ("uscc", "name", "region_code", "industry_code", "status", "established_on", "bucket",
                "registered_capital", "industry_section", "type_classification")
# kept for the benchmark's reference of the previous target (inspection problem, penalty, dishonesty)
OUTCOME_SQL = """
    SELECT uscc, 1 AS bad FROM events
    WHERE event_date > {start} AND event_date <= {end} AND reported_on <= {known}
      AND ((event_type = 'inspection' AND detail = 'problem') OR event_type = 'admin_penalty'
           OR event_type = 'serious_dishonest_in')
    GROUP BY uscc
"""


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
    weighting: str = "none"
    model_id: str | None = None
    cutoffs: dict[str, float] | None = None
    # Platt scaling of the expert score to the chance that an inspection finds an adverse result:
    # p = 1 / (1 + exp(-(a * score / 1000 + b))); [a, b]
    expert_calibration: list[float] | None = None
    inspection_calibration: list[float] | None = None  # the same for the trained score
    better_than_expert: bool = False
    details: dict = field(default_factory=dict)
    challenger: object = None  # the fitted ChallengerModel (not part of the record)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("challenger")
        for k in ("train_as_of", "validate_as_of"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


# ---------------------------------------------------------------------- metrics (the measures: riskgrade.stats)
def bootstrap_auc(y: np.ndarray, w: np.ndarray, scores: dict[str, np.ndarray], pairs: list[tuple[str, str]],
                  reps: int = 200, seed: int = 0) -> dict:
    """Weighted AUC of each score with a 95% interval, and of the differences ``a - b`` for each pair,
    by the Poisson bootstrap (each row's weight times a Poisson(1) count) on at most
    ``MAX_BOOTSTRAP_ROWS`` rows (a fixed sample)."""
    y = np.asarray(y).astype(int)
    w = np.asarray(w, dtype=float)
    rng = np.random.default_rng(seed)
    idx = np.arange(len(y))
    if len(y) > MAX_BOOTSTRAP_ROWS:
        idx = np.sort(rng.choice(len(y), MAX_BOOTSTRAP_ROWS, replace=False))
    ranked = {k: RankedScores(np.asarray(v)[idx]) for k, v in scores.items()}
    yy, ww = y[idx], w[idx]
    draws = {k: [] for k in scores}
    ks_draws = {k: [] for k in scores}
    for _ in range(reps):
        k = rng.poisson(1.0, len(idx))
        for name, r in ranked.items():
            draws[name].append(r.auc(yy, ww * k))
            ks_draws[name].append(r.ks(yy, ww * k))
    out = {"reps": reps, "rows": int(len(idx)), "auc": {}, "ks": {}, "diff": {}}
    for name in scores:
        d = np.asarray(draws[name])
        out["auc"][name] = {"value": weighted_auc(y, scores[name], w), "low": float(np.nanpercentile(d, 2.5)),
                            "high": float(np.nanpercentile(d, 97.5))}
        dk = np.asarray(ks_draws[name])
        out["ks"][name] = {"value": weighted_ks(y, scores[name], w), "low": float(np.nanpercentile(dk, 2.5)),
                           "high": float(np.nanpercentile(dk, 97.5))}
    for a, b in pairs:
        d = np.asarray(draws[a]) - np.asarray(draws[b])
        out["diff"][f"{a}-{b}"] = {"value": out["auc"][a]["value"] - out["auc"][b]["value"],
                                   "low": float(np.nanpercentile(d, 2.5)), "high": float(np.nanpercentile(d, 97.5))}
    return out


def calibrate(scores: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> list[float]:
    """Platt scaling: [a, b] so that 1 / (1 + exp(-(a * score / 1000 + b))) estimates P(y)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(scores, dtype=float).reshape(-1, 1) / 1000.0, y,
                                                       sample_weight=w)
    return [round(float(lr.coef_[0][0]), 6), round(float(lr.intercept_[0]), 6)]


def platt(c: list[float], scores: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(c[0] * np.asarray(scores, dtype=float) / 1000.0 + c[1])))


def calibration_table(p: np.ndarray, y: np.ndarray, w: np.ndarray, n: int = 10) -> list[dict]:
    """Deciles of a predicted probability with the weighted observed rate of each."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n + 1)))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    out = []
    for k in range(max(len(edges) - 1, 1)):
        m = idx == k
        if not m.any():
            continue
        ww = w[m]
        out.append({"bin": k + 1, "entities": int(m.sum()), "predicted": float(np.average(p[m], weights=ww)),
                    "observed": float(np.average(y[m], weights=ww))})
    return out


def score_edges(scores: np.ndarray, n: int = 10) -> list[float]:
    """Inner edges of the training score deciles (for PSI)."""
    q = np.quantile(scores, np.linspace(0, 1, n + 1)[1:-1])
    return [float(x) for x in np.unique(q)]


def indicator_shares(model: TrainedScorecard, X) -> dict[str, list[float]]:
    """Share of the population in each bin of every selected indicator (for per-indicator PSI)."""
    # missing values in a bin of their own (optbinning's default would count them in bin 0)
    idx = model.binning_.transform(X[model.features_], metric="indices", metric_missing="empirical",
                                   metric_special="empirical")
    out = {}
    for name in model.selected_:
        col = idx[name].to_numpy(dtype=int)
        n_bins = int(max(col.max(initial=0) + 1, len(model.binning_.get_binned_variable(name).splits) + 3))
        out[str(name)] = [float(x) for x in np.bincount(col, minlength=n_bins) / max(len(col), 1)]
    return out


def roc_points(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None, n: int = 60) -> list[list[float]]:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, s, sample_weight=w)
    idx = np.unique(np.linspace(0, len(fpr) - 1, min(n, len(fpr))).astype(int))
    return [[round(float(fpr[i]), 4), round(float(tpr[i]), 4)] for i in idx]


def grades_of(scores: np.ndarray, cutoffs: dict[str, float]) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    return np.select([s >= cutoffs["D"], s >= cutoffs["C"], s >= cutoffs["B"]], ["D", "C", "B"], "A")


def grade_table(scores: np.ndarray, y: np.ndarray, cutoffs: dict[str, float], w: np.ndarray | None = None) -> list[dict]:
    w = np.ones(len(y)) if w is None else w
    g = grades_of(scores, cutoffs)
    out = []
    for letter in "ABCD":
        m = g == letter
        out.append({"grade": letter, "entities": int(m.sum()), "share": float(w[m].sum() / max(w.sum(), 1e-12)),
                    "bad": int(y[m].sum()), "bad_rate": float(np.average(y[m], weights=w[m])) if m.any() else None})
    return out


def bins_table(model: TrainedScorecard) -> list[dict]:
    rows = []
    for r in model.table().itertuples(index=False):
        b = r.Bin
        if r.Count == 0 and str(b) in ("Special", "Missing"):
            continue
        label = str(b) if isinstance(b, str) or not hasattr(b, "__len__") else "[" + ", ".join(map(str, list(b))) + "]"
        rows.append({"indicator": r.Variable, "bin": label, "count": int(r.Count),
                     "event_rate": round(float(r[3]), 4), "woe": round(float(r.WoE), 4),
                     "points": round(float(model.factor_ * model.coef_[r.Variable] * r.WoE), 1),
                     "contribution": round(float(r.Contribution), 2)})
    return rows


# ---------------------------------------------------------------------- samples and weights
def _frame(con: duckdb.DuckDBPyConnection, table: str, as_of: dt.date, known: dt.date, outcomes: OutcomeConfig):
    """Indicators of ``table`` with the outcome window (as_of, as_of + horizon] known by ``known``:
    ``_obs`` (an outcome observed for all), ``_insp`` (inspected), ``_res`` (an adverse inspection
    result) and ``_pi`` (the largest inclusion probability of a recorded plan that inspected it)."""
    end = add_months(as_of, outcomes.horizon_months, keep_month_end=True)
    window = (f"event_date > DATE '{as_of}' AND event_date <= DATE '{end}' AND reported_on <= DATE '{known}'")
    obs, res = outcomes.observed_sql(), outcomes.inspection_sql()
    out = f"""SELECT uscc, bool_or({obs}) AS o, bool_or(event_type = 'inspection') AS i, bool_or({res}) AS r
              FROM events WHERE {window} AND (event_type = 'inspection' OR {obs}) GROUP BY uscc"""
    has = sum(table_exists(con, t) for t in ("plans", "plan_results", "plan_entities"))
    pi = "NULL::DOUBLE AS pi, NULL::VARCHAR AS uscc"
    if has == 3:
        pi = f"""max(pe.inclusion_probability) AS pi, r.uscc FROM plan_results r JOIN plan_entities pe USING (plan_id, uscc)
                 WHERE r.event_date > DATE '{as_of}' AND r.event_date <= DATE '{end}' AND pe.inclusion_probability > 0
                 GROUP BY r.uscc"""
    sql = f"""SELECT i.*, coalesce(o.o, false)::INT AS _obs, coalesce(o.i, false)::INT AS _insp,
                     coalesce(o.r, false)::INT AS _res, p.pi AS _pi
              FROM {table} i LEFT JOIN ({out}) o USING (uscc) LEFT JOIN (SELECT {pi}) p USING (uscc)
              ORDER BY uscc"""
    df = con.execute(sql).fetchdf()
    df["_bad"] = ((df["_obs"] == 1) | (df["_res"] == 1)).astype(int)
    return df


def trim_floor(ph_inspected: np.ndarray, outcomes: OutcomeConfig) -> float:
    """The lowest chance of inspection a weight is computed from: the configured quantile of the inspected
    entities' chances, and never below ``min_propensity`` (weights above 1/floor are trimmed)."""
    floor = outcomes.weighting.min_propensity
    if len(ph_inspected):
        floor = max(floor, float(np.quantile(ph_inspected, outcomes.weighting.trim_quantile)))
    return floor


def propensity(X, inspected: np.ndarray) -> np.ndarray:
    """The fitted chance of being inspected in the window (a small LightGBM model on the indicators)."""
    inspected = np.asarray(inspected).astype(int)
    if inspected.min() == inspected.max():
        return np.full(len(inspected), float(inspected.mean()))
    m = ChallengerModel(n_estimators=120, num_leaves=15, min_child_samples=100, learning_rate=0.05).fit(X, inspected)
    return m.predict_risk(X)


@dataclass
class Weighted:
    keep: np.ndarray  # rows of the frame in the sample
    y: np.ndarray
    w: np.ndarray
    note: str
    stats: dict


def weigh(df, cols: list[str], outcomes: OutcomeConfig, method: str | None = None, propensity_fn=None) -> Weighted:
    """The weighted sample of a frame (:func:`_frame`) under the configured correction for who was inspected
    (``propensity_fn(X, inspected)``: the fitted chance of inspection, :func:`propensity` by default)."""
    method = method or outcomes.weighting.method
    n = len(df)
    bad = df["_bad"].to_numpy(dtype=int)
    obs = df["_obs"].to_numpy(dtype=int)
    insp = df["_insp"].to_numpy(dtype=int)
    res = df["_res"].to_numpy(dtype=int)
    pi_plan = df["_pi"].to_numpy(dtype=float, na_value=np.nan)
    if method == "naive":
        return Weighted(np.arange(n), bad, np.ones(n), "naive: every entity, uninspected counted as no problem",
                        {"method": "naive"})
    if method == "horvitz_thompson":
        w = np.where(np.isfinite(pi_plan) & (pi_plan > 0), 1.0 / np.where(pi_plan > 0, pi_plan, 1.0), 1.0)
        k = int(np.isfinite(pi_plan).sum())
        return Weighted(np.arange(n), bad, w, f"Horvitz-Thompson: {k:,} plan-inspected entities weighted by 1/(inclusion "
                        "probability), every other entity weight 1 (uninspected counted as no problem)",
                        {"method": "horvitz_thompson", "plan_weighted": k})
    # propensity: observed-for-all outcomes are bad at weight 1; the rest stand in for by their inspected
    rest = obs == 0
    ph = np.full(n, np.nan)
    ph[rest] = (propensity_fn or propensity)(df.loc[rest, cols], insp[rest])
    planned = np.isfinite(pi_plan) & (pi_plan > 0)
    ph = np.where(planned, np.fmax(ph, pi_plan), ph)
    sel = rest & (insp == 1)
    floor = trim_floor(ph[sel], outcomes)
    trimmed = int((sel & (ph < floor)).sum())
    raw = 1.0 / np.clip(ph, floor, 1.0)
    w = np.ones(n)
    if sel.any():
        w[sel] = raw[sel] * rest.sum() / raw[sel].sum()  # the inspected stand for every entity without an outcome
    keep = np.flatnonzero((obs == 1) | sel)
    y = np.where(obs == 1, 1, res)[keep]
    ws = w[sel]
    stats = {"method": "propensity", "observed_bad": int(obs.sum()), "without_outcome": int(rest.sum()),
             "inspected_without_outcome": int(sel.sum()), "plan_probabilities": int((planned & sel).sum()),
             "trim_floor": round(floor, 6), "trimmed": trimmed,
             "weight_min": float(ws.min()) if sel.any() else None, "weight_max": float(ws.max()) if sel.any() else None,
             "effective_size": float(ws.sum() ** 2 / np.sum(ws ** 2)) if sel.any() else 0.0}
    note = (f"propensity: {int(obs.sum()):,} entities with an outcome observed for all (weight 1); the "
            f"{int(rest.sum()):,} others represented by the {int(sel.sum()):,} of them inspected, weighted by "
            f"1/(chance of inspection) ({stats['plan_probabilities']:,} from recorded plans, the rest fitted; "
            f"{trimmed:,} trimmed at {floor:.4f}; weights {stats['weight_min'] or 0:.1f}-{stats['weight_max'] or 0:.1f}, "
            f"effective size {stats['effective_size']:,.0f})")
    return Weighted(keep, y, w[keep], note, stats)


def inspection_weights(df, cols: list[str], outcomes: OutcomeConfig) -> tuple[np.ndarray, np.ndarray]:
    """(rows, weights) of the inspected entities standing for the whole population (1 / fitted chance of
    inspection, trimmed), for calibrating the chance that an inspection finds an adverse result."""
    insp = df["_insp"].to_numpy(dtype=int)
    ph = propensity(df[cols], insp)
    rows = np.flatnonzero(insp == 1)
    if not len(rows):
        return rows, np.zeros(0)
    return rows, 1.0 / np.clip(ph[rows], trim_floor(ph[rows], outcomes), 1.0)


# ---------------------------------------------------------------------- training
def scorecard_for(rows: int, catalog: Catalog | None = None, forced: list[str] | None = None) -> TrainedScorecard:
    """The trained scorecard for a training sample of ``rows`` entities: bins of at least about 200
    entities, between 0.5% and 5% of the sample, at most 10 bins an indicator, each indicator kept to
    its declared direction (catalog) and measured from its reference.  Every indicator with any
    information (IV of at least 0.001) may enter: directions and the sign constraint, not an IV
    threshold, keep the model defensible, and weak but true signals add up (on the 200k simulated
    province an IV threshold of 0.02 cost 0.008 of AUC against the ground truth)."""
    size = min(0.05, max(0.005, 200 / max(rows, 1)))
    directions = {i.code: i.risk_direction for i in catalog.enabled} if catalog else None
    references = {i.code: i.reference for i in catalog.enabled if i.reference is not None} if catalog else None
    return TrainedScorecard(categorical=["entity_type"], max_n_bins=10, min_bin_size=size, min_prebin_size=size,
                            selection_iv=0.001, directions=directions, references=references, forced=forced)


def sample_buckets(entities: int, rows: int) -> tuple[int, int] | None:
    """The bucket range [0, k) holding about ``rows`` of ``entities`` entities, with a 10% margin
    (None: all of them)."""
    if entities <= rows:
        return None
    return 0, min(BUCKETS, -(-BUCKETS * rows * 11 // (entities * 10)))


def features(df, catalog: Catalog) -> list[str]:
    codes = {i.code for i in catalog.enabled}
    return [c for c in df.columns if c in codes and c not in NON_FEATURES] + ["entity_type"]


@dataclass
class Samples:
    train: object
    validate: object
    cols: list[str]
    t_train: dt.date
    t_val: dt.date


def load_samples(con: duckdb.DuckDBPyConnection, catalog: Catalog, as_of: dt.date, outcomes: OutcomeConfig,
                 say=lambda m: None) -> Samples | str:
    """Training and validation frames, or why there are none."""
    h = outcomes.horizon_months
    t_val = add_months(as_of, -h, keep_month_end=True)
    t_train = add_months(as_of, -2 * h, keep_month_end=True)
    first_event = con.execute("SELECT min(event_date) FROM events").fetchall()[0][0]
    if first_event is None or first_event > t_train - dt.timedelta(days=365):
        return (f"not enough history to learn from outcomes: training needs records from a year before "
                f"{t_train} (first record {first_event})")
    say(f"learning from outcomes: indicators as of {t_train} (outcomes to {t_val}), validating as of {t_val}")
    n = con.execute("SELECT count(*) FROM entities").fetchall()[0][0]
    compute_indicators(con, catalog, t_train, table="ind_train", buckets=sample_buckets(n, MAX_TRAIN_ROWS))
    compute_indicators(con, catalog, t_val, table="ind_val", buckets=sample_buckets(n, MAX_VALIDATE_ROWS))
    tr = _frame(con, "ind_train", t_train, as_of, outcomes)
    va = _frame(con, "ind_val", t_val, as_of, outcomes)
    con.execute("DROP TABLE IF EXISTS ind_train; DROP TABLE IF EXISTS ind_val")
    if len(tr) > MAX_TRAIN_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(len(tr), MAX_TRAIN_ROWS, replace=False))
        tr = tr.iloc[keep].reset_index(drop=True)
    return Samples(tr, va, features(tr, catalog), t_train, t_val)


def forced_indicators(catalog: Catalog) -> list[str]:
    """Indicators the model keeps whatever their information value: professional domains fused by indicator."""
    return [i.code for i in catalog.enabled if i.kind == "domain"]


def train_candidate(con: duckdb.DuckDBPyConnection, catalog: Catalog, expert: ExpertScorecard, as_of: dt.date,
                    models_dir: Path, *, target_shares: dict[str, float], outcomes: OutcomeConfig | None = None,
                    method: str | None = None, approved: TrainedScorecard | None = None, approved_id: str | None = None,
                    margin: float = 0.0, bootstrap: int = 200, progress=None,
                    samples: Samples | None = None) -> tuple[TrainingReport, TrainedScorecard | None]:
    """Train a candidate scorecard as of ``as_of``, compare it out of time with the expert scorecard (and
    the approved model, when given) on the same weighted sample, and store it with its record."""
    say = progress or (lambda m: None)
    outcomes = outcomes or load_outcomes()
    rep = TrainingReport(used="expert", reason="")
    s = samples or load_samples(con, catalog, as_of, outcomes, say)
    if isinstance(s, str):
        rep.reason = s
        return rep, None
    rep.train_as_of, rep.validate_as_of = s.t_train, s.t_val
    tr, va, cols = s.train, s.validate, s.cols
    wt = weigh(tr, cols, outcomes, method)
    wv = weigh(va, cols, outcomes, "propensity")
    rep.train_rows, rep.train_bad = len(wt.keep), int(wt.y.sum())
    rep.validate_rows, rep.validate_bad = len(wv.keep), int(wv.y.sum())
    if (min(rep.train_bad, rep.validate_bad) < MIN_BAD
            or min(rep.train_rows - rep.train_bad, rep.validate_rows - rep.validate_bad) < MIN_BAD):
        rep.reason = (f"too few outcomes to learn from (training {rep.train_bad:,} bad of {rep.train_rows:,}, "
                      f"validation {rep.validate_bad:,} of {rep.validate_rows:,}; {MIN_BAD} of each class needed)")
        return rep, None
    rep.weighting = wt.note
    say(f"fitting the scorecard on {rep.train_rows:,} weighted entities ({rep.train_bad:,} adverse)")
    Xt = tr.iloc[wt.keep][cols]
    model = scorecard_for(len(Xt), catalog, forced_indicators(catalog)).fit(Xt, wt.y, sample_weight=wt.w)
    model.feature_columns_ = cols
    Xv = va.iloc[wv.keep][cols]
    yv, ww = wv.y, wv.w
    val_scores = model.predict_score(Xv)
    ex = expert.predict_score({c: Xv[c].to_numpy(dtype=float, na_value=np.nan) for c in expert.bands_ if c in Xv})
    challenger = ChallengerModel().fit(Xt, wt.y, sample_weight=wt.w)
    ch = challenger.predict_risk(Xv)
    rep.challenger = challenger
    scores = {"trained": val_scores, "expert": ex, "challenger": ch}
    pairs = [("trained", "expert"), ("challenger", "trained")]
    if approved is not None and set(approved.feature_columns_) - set(va.columns):
        say(f"the approved model {approved_id} uses indicators the catalog no longer has: the candidate cannot be "
            "compared with it (approving it needs --force with a note)")
        approved = None
    if approved is not None:
        scores["approved"] = approved.predict_score(va.iloc[wv.keep][approved.feature_columns_])
        pairs.append(("trained", "approved"))
    say(f"comparing out of time on {rep.validate_rows:,} weighted entities ({bootstrap} bootstrap samples)")
    boot = bootstrap_auc(yv, ww, scores, pairs, reps=bootstrap)
    rep.auc_trained, rep.ks_trained = boot["auc"]["trained"]["value"], weighted_ks(yv, val_scores, ww)
    rep.auc_expert, rep.ks_expert = boot["auc"]["expert"]["value"], weighted_ks(yv, ex, ww)
    rep.auc_challenger, rep.ks_challenger = boot["auc"]["challenger"]["value"], weighted_ks(yv, ch, ww)
    vs_expert = boot["diff"]["trained-expert"]
    rep.better_than_expert = vs_expert["low"] > margin
    rep.selected = list(model.selected_)
    # the chance that an inspection finds an adverse result, calibrated on the inspected of the validation year
    rows, wi = inspection_weights(va, cols, outcomes)
    yi = va["_res"].to_numpy(dtype=int)[rows]
    all_val_scores = model.predict_score(va[cols])
    all_ex = expert.predict_score({c: va[c].to_numpy(dtype=float, na_value=np.nan) for c in expert.bands_ if c in va})
    if len(rows) and 0 < yi.sum() < len(yi):
        rep.inspection_calibration = calibrate(all_val_scores[rows], yi, wi)
        rep.expert_calibration = calibrate(all_ex[rows], yi, wi)
    model.inspection_calibration_ = rep.inspection_calibration
    # grade cut-offs: the configured shares of the training year's whole population
    train_scores = model.predict_score(tr[cols])
    model.cutoffs_ = cutoffs_from_shares(train_scores, target_shares)
    rep.cutoffs = model.cutoffs_
    model.score_edges_ = score_edges(train_scores)
    model.indicator_shares_ = indicator_shares(model, tr[cols])
    pv = model.predict_risk(Xv)
    details = {
        "bins": bins_table(model),
        "directions": model.direction_check_,
        "left_out": model.left_out_,
        "base": model.base_,
        "references": {k: (v if isinstance(v, str) else float(v)) for k, v in model.references_.items()},
        "roc": {"trained": roc_points(yv, val_scores, ww), "expert": roc_points(yv, ex, ww),
                "challenger": roc_points(yv, ch, ww)},
        "bootstrap": boot,
        "margin": margin,
        "grades_validation": grade_table(val_scores, yv, model.cutoffs_, ww),
        "calibration": calibration_table(pv, yv, ww),
        "inspection_calibration_table": (calibration_table(platt(rep.inspection_calibration, all_val_scores[rows]), yi, wi)
                                         if rep.inspection_calibration else []),
        "psi_validation": psi_scores(model.score_edges_, train_scores, all_val_scores),
        "score_edges": model.score_edges_,
        "train_score_shares": bin_shares(model.score_edges_, train_scores),
        "weights_train": wt.stats, "weights_validation": wv.stats,
        "outcomes": outcomes.model_dump(), "outcomes_version": outcomes.version,
        "outcomes_fingerprint": outcomes.fingerprint(),
        "predicted_bad_rate": float(np.average(pv, weights=ww)), "observed_bad_rate": float(np.average(yv, weights=ww)),
    }
    if approved is not None:
        a_all = approved.predict_score(va[approved.feature_columns_])
        churn = float(np.mean(grades_of(all_val_scores, model.cutoffs_) != grades_of(a_all, approved.cutoffs_)))
        details["versus_approved"] = {"model_id": approved_id, **boot["diff"]["trained-approved"],
                                      "better": boot["diff"]["trained-approved"]["low"] > margin, "churn": churn}
    rep.details = details
    fused = [c for c in forced_indicators(catalog)]
    if fused:
        dropped = [c for c in fused if c not in model.selected_]
        details["fused_domains"] = {"forced": fused, "kept": [c for c in fused if c in model.selected_], "left_out": dropped}
    # the id names what was learned (windows, sizes, metrics, indicators, cut-offs), so the same training
    # gives the same id (pickled bytes may differ from run to run)
    ident = json.dumps({**rep.as_dict(), "features": cols, "catalog": catalog.version}, sort_keys=True, default=str)
    rep.model_id = f"trained-{as_of.isoformat()}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
    rep.reason = (f"trained scorecard {rep.model_id}: out-of-time AUC {rep.auc_trained:.3f} against the expert "
                  f"scorecard's {rep.auc_expert:.3f} (difference {vs_expert['value']:+.3f}, 95% interval "
                  f"{vs_expert['low']:+.3f} to {vs_expert['high']:+.3f}; validation as of {s.t_val}, "
                  f"{rep.validate_bad:,} outcomes)")
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / f"{rep.model_id}.pkl").write_bytes(pickle.dumps(model))
    (models_dir / f"{rep.model_id}.json").write_text(json.dumps(
        {**rep.as_dict(), "as_of": as_of.isoformat(), "catalog_version": catalog.version, "features": cols},
        ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return rep, model


def train_and_choose(con: duckdb.DuckDBPyConnection, catalog: Catalog, expert: ExpertScorecard, as_of: dt.date,
                     models_dir: Path, *, target_shares: dict[str, float], force: bool = False, progress=None,
                     outcomes: OutcomeConfig | None = None, margin: float = 0.0,
                     method: str | None = None, bootstrap: int = 200) -> tuple[TrainingReport, TrainedScorecard | None]:
    """Train a candidate and use it when it beats the expert scorecard out of time beyond the margin (the
    95% interval of the AUC difference above ``margin``), or when ``force``; else the expert scorecard."""
    rep, model = train_candidate(con, catalog, expert, as_of, models_dir, target_shares=target_shares,
                                 outcomes=outcomes, margin=margin, method=method, bootstrap=bootstrap, progress=progress)
    if model is None:
        return rep, None
    if rep.better_than_expert or force:
        rep.used = "trained"
    else:
        d = rep.details["bootstrap"]["diff"]["trained-expert"]
        rep.reason = (f"the expert scorecard: the trained scorecard is not better out of time beyond the margin "
                      f"{margin:.3f} (AUC {rep.auc_trained:.3f} against {rep.auc_expert:.3f}, difference "
                      f"{d['value']:+.3f}, 95% interval {d['low']:+.3f} to {d['high']:+.3f})")
    return rep, model
