"""The monthly run: indicators, score, grade, reasons, labels as of a month end -> a sealed snapshot.

A snapshot records its as-of date, the model and its version, the catalog and configuration
versions, a fingerprint of the configuration and a content hash of every entity's result.  Running
the same month again with the same inputs and configuration gives the same content hash; the newest
snapshot of a month is the current one, earlier ones stay for audit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .errors import RiskgradeError
from .sql import column_exists, table_exists
from .indicators import compute_indicators, load_catalog
from .scoring import ExpertScorecard, RiskModel, expert_for, grade_sql, labels_sql, load_grading, load_labels
from .scoring.trained import sql_number
from .warehouse import Warehouse

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id INTEGER, as_of DATE, created_at TIMESTAMP, model VARCHAR, model_version VARCHAR,
    model_reason VARCHAR, catalog_version VARCHAR, config_fingerprint VARCHAR, grade_mode VARCHAR,
    entities BIGINT, content_hash VARCHAR, grade_counts JSON
);
CREATE TABLE IF NOT EXISTS grades (
    snapshot_id INTEGER, as_of DATE, uscc VARCHAR, name VARCHAR, entity_type VARCHAR, region_code VARCHAR,
    industry_code VARCHAR, score DOUBLE, grade VARCHAR, previous_grade VARCHAR, grade_rule VARCHAR,
    reasons VARCHAR, reason_points VARCHAR, labels VARCHAR
);
-- the calibrated chance that an inspection in the next 12 months finds an adverse result (inspection
-- plans use it for expected findings)
ALTER TABLE grades ADD COLUMN IF NOT EXISTS probability DOUBLE;
-- the score of an entity at every indicator's reference: score = clip(score_base + the points of
-- reason_points, 0, 1000) exactly
ALTER TABLE grades ADD COLUMN IF NOT EXISTS score_base DOUBLE;
-- when the model changed since the previous snapshot: the grade the previous model gives this month's
-- records (so a migration splits into changes from new records and changes from the model)
ALTER TABLE grades ADD COLUMN IF NOT EXISTS grade_previous_model VARCHAR;
"""


TOP_REASONS = 5  # reasons in the export; reason_points keeps every contribution


@dataclass
class ClassifyResult:
    snapshot_id: int
    as_of: dt.date
    model: str
    model_reason: str
    entities: int
    grade_counts: dict[str, int]
    content_hash: str
    seconds: float
    warnings: list[str] = field(default_factory=list)  # model drift (riskgrade.scoring.monitoring)


def chunks_for(con: duckdb.DuckDBPyConnection, chunk_events: int) -> int:
    """Bucket ranges for a monthly run: a power of two (at most 64) giving at most about
    ``chunk_events`` events a range."""
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    chunks = 1
    while chunks < 64 and events > chunks * chunk_events:
        chunks *= 2
    return chunks


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


@dataclass
class RunSetup:
    """What a monthly run does, decided before any indicator of the month is computed: the
    configuration, the model (trained and chosen out of time, or the expert scorecard) and why.  Its
    SQL (``scored_sql``) is one engine-neutral statement over the indicator table, so the same run
    goes to DuckDB here or to Spark (``riskgrade.engines.sparkrun``).

    ``model`` grades the month whatever it is: the run uses it only through the models' one output
    protocol (``riskgrade.scoring.base``: ``score_sql``, ``base_``, ``selected_``).  ``stored``: the model
    is a stored one, whose record (``<home>/models/<version>.json``) keeps the month's stability; False
    for the expert scorecard from configuration."""

    as_of: dt.date
    catalog: object
    scorecard: ExpertScorecard  # the expert scorecard from configuration (fitted): what a trained model must beat
    grading: object
    labels: object
    fusion: object
    monitoring: object
    chosen: str
    why: str
    model_version: str
    fingerprint: str
    model: RiskModel | None = None  # the model that grades (default: ``scorecard``)
    stored: bool = False  # the model is a stored one (riskgrade.scoring.lifecycle), with a record
    calibration: list[float] | None = None  # the score's Platt scaling to the chance an inspection finds an adverse result
    challenger: object | None = None  # the LightGBM challenger of the training, when there was one
    notes: list[str] = field(default_factory=list)  # printed by classify (retraining recommended, fusion, ...)
    config_grading: object | None = None  # the grading as configured (a trained model replaces its cut-offs)

    def __post_init__(self) -> None:
        if self.model is None:
            self.model = self.scorecard

    @property
    def include_revoked(self) -> bool:
        return self.grading.mode == "five"

    @property
    def base(self) -> float:
        return float(self.model.base_)

    def use(self, model: RiskModel, version: str, why: str, stored: bool = False) -> None:
        """Grade with ``model`` (its name is the snapshot's model, ``version`` its version); a model that
        brings its own grade cut-offs (``cutoffs_``) or inspection calibration uses them."""
        self.model, self.chosen, self.model_version, self.why, self.stored = model, model.name, version, why, stored
        self.calibration = getattr(model, "inspection_calibration_", None)
        cutoffs = getattr(model, "cutoffs_", None)
        base = self.config_grading or self.grading
        self.grading = base.model_copy(update={"cutoffs": cutoffs}) if cutoffs else base

    def scored_sql(self, indicators: str = "indicators") -> str:
        """Every indicator row with ``score``, ``_reasons`` (every non-zero contribution as {points, code},
        most first; the negative ones lowered the risk), ``_probability`` (the calibrated chance that an
        inspection finds an adverse result), then ``_grade``, ``_grade_rule`` and ``_labels`` (DuckDB's
        dialect)."""
        q = self.model.score_sql()
        score, reasons = q["score"], q["reasons"]
        c = self.calibration
        proba = (f"1.0 / (1.0 + exp(-({sql_number(c[0])} * score / 1000.0 + {sql_number(c[1])})))"
                 if c else "CAST(NULL AS DOUBLE)")
        grade, rule = grade_sql(self.grading)
        return (f"SELECT s.*, {grade} AS _grade, {rule} AS _grade_rule, {labels_sql(self.labels)} AS _labels, "
                f"{proba} AS _probability "
                f"FROM (SELECT i.*, {score} AS score, {reasons} AS _reasons FROM {indicators} i) s")


def prepare_run(con: duckdb.DuckDBPyConnection, home: Path, as_of: dt.date, *, model: str | None = None,
                catalog_path: Path | None = None, scorecard_path: Path | None = None,
                grading_path: Path | None = None, labels_path: Path | None = None, mode: str | None = None,
                fusion_path: Path | None = None, monitoring_path: Path | None = None,
                outcomes_path: Path | None = None, progress=None) -> RunSetup:
    """Load and check the configuration and decide the model; nothing of the month is computed yet.

    ``model``: None (the approved model; with none approved, train, use the trained scorecard when it
    beats the expert one out of time beyond the margin and approve it as the first model when so
    configured), ``expert``, ``trained`` (train now and use the new model, approving nothing) or a
    stored model's id (``riskgrade model list``)."""
    say = progress or (lambda m: None)
    if model not in (None, "expert", "trained") and not str(model).startswith("trained-"):
        raise RiskgradeError(f"unknown model {model!r}: choose expert, trained or a model id from `riskgrade model list` "
                             "(default: the approved model, else the best the data supports)")
    from .indicators.domains import load_fusion
    from .scoring import lifecycle, monitoring as mon
    from .scoring.outcomes import load_outcomes

    fusion, monitoring = load_fusion(fusion_path), mon.load_monitoring(monitoring_path)
    outcomes = load_outcomes(outcomes_path)
    catalog = load_catalog(catalog_path, fusion=fusion)  # domains fused by indicator are in the general model
    scorecard = expert_for(catalog, scorecard_path)
    grading = load_grading(grading_path, mode)
    labels = load_labels(labels_path)
    fingerprint = hashlib.sha256(json.dumps(
        [catalog.model_dump(), scorecard.config_.model_dump(), grading.model_dump(), labels.model_dump()],
        sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    setup = RunSetup(as_of, catalog, scorecard, grading, labels, fusion, monitoring, "expert",
                     "the expert scorecard from configuration (--model expert)", scorecard.version_, fingerprint)
    setup.config_grading = grading
    if catalog.undirected():
        setup.notes.append(f"indicators without a declared risk direction (treated as either): {', '.join(catalog.undirected())}")
    ensure_schema(con)
    lifecycle.ensure(con)
    if not con.execute("SELECT count(*) FROM entities").fetchall()[0][0]:
        raise RiskgradeError(f"the data home {home} holds no entities: run `riskgrade ingest` first")
    models_dir = home / "models"

    def use(loaded, model_id: str, why: str) -> None:
        missing = sorted(set(loaded.feature_columns_) - {i.code for i in catalog.enabled} - {"entity_type"})
        if missing:
            raise RiskgradeError(f"model {model_id} uses indicators the catalog no longer has ({', '.join(missing)}): "
                                 "train and approve a new model (`riskgrade model train`), or --model expert")
        setup.use(loaded, model_id, why, stored=True)

    approved = lifecycle.approved_row(con) if model is None else None
    if model is None and approved:
        mid = approved["model_id"]
        use(lifecycle.load(models_dir, mid), mid,
            f"approved model {mid} (approved {approved['approved_at']} by {approved['approved_by']}); not retrained")
        rec = lifecycle.recommendation(approved, as_of, outcomes.governance.max_age_months)
        if rec:
            setup.notes.append(rec)
    elif model is not None and str(model).startswith("trained-"):
        use(lifecycle.load(models_dir, model), model, f"stored model {model} (--model); not retrained")
    elif model in (None, "trained"):
        from .scoring.train import train_and_choose

        rep, trained = train_and_choose(con, catalog, scorecard, as_of, models_dir, target_shares=grading.target_shares,
                                        force=model == "trained", progress=say, outcomes=outcomes,
                                        margin=outcomes.governance.margin, bootstrap=outcomes.governance.bootstrap)
        setup.why, setup.calibration, setup.challenger = rep.reason, rep.expert_calibration, rep.challenger
        if trained is not None:
            lifecycle.register(con, models_dir, rep.model_id or "", "classify")
        if rep.used == "trained":
            use(trained, rep.model_id or "", rep.reason)
            setup.challenger = rep.challenger
            setup.why += f"; grade cut-offs {trained.cutoffs_} give the configured shares of its training population"
            if model is None and outcomes.governance.auto_approve_first:
                lifecycle.approve(con, models_dir, rep.model_id or "", "classify (first model of this data home)")
                setup.why += ("; approved automatically as the first model of this data home: later months use it "
                             "without retraining until another is approved (`riskgrade model train/approve`)")
        elif model == "trained":
            raise RiskgradeError(f"--model trained: {rep.reason}")
        fused = (rep.details or {}).get("fused_domains") or {}
        if fused.get("left_out") and rep.used == "trained":
            setup.notes.append(f"fused domain indicators left out of the trained model ({', '.join(fused['left_out'])}): "
                              "the data do not support them in their direction; `riskgrade fusion` fuses those domains "
                              "with the result (overlay) for this month instead")
    return setup


def seal(con: duckdb.DuckDBPyConnection, wh: Warehouse, setup: RunSetup, home: Path,
         scored: str = "scored") -> tuple[int, dict[str, int], str, list[str]]:
    """Store the month from the table ``scored`` (``RunSetup.scored_sql``'s columns) as a sealed snapshot,
    in one transaction with the previous grade of each entity, the content hash and the monitoring;
    returns (snapshot id, grade counts, content hash, drift warnings)."""
    from .scoring import fusion as fu, monitoring as mon

    as_of = setup.as_of
    record = home / "models" / f"{setup.model_version}.json" if setup.stored else None
    if record is not None:
        _record_stability(con, setup.model, record, as_of, scored)
    fusion_notes = fusion_effect(con, setup, scored)
    prev = con.execute("SELECT snapshot_id FROM snapshots WHERE as_of < ? ORDER BY as_of DESC, snapshot_id DESC LIMIT 1",
                       [as_of]).fetchall()
    prev_join = (f"LEFT JOIN (SELECT uscc, grade AS previous_grade FROM grades WHERE snapshot_id = {prev[0][0]}) p "
                 f"USING (uscc)") if prev else ""
    prev_col = "p.previous_grade" if prev else "CAST(NULL AS VARCHAR)"
    cf_join, cf_col = "", "CAST(NULL AS VARCHAR)"
    if prev and _counterfactual(con, setup, home, int(prev[0][0]), scored):
        cf_join, cf_col = "LEFT JOIN cf_grades cf USING (uscc)", "cf.grade"
    with wh.transaction():
        sid = con.execute("SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots").fetchall()[0][0]
        con.execute(f"""
            INSERT INTO grades BY POSITION
            SELECT {sid}, DATE '{as_of.isoformat()}', s.uscc, s.name, s.entity_type, s.region_code, s.industry_code,
                   round(s.score, 2), s._grade, {prev_col}, s._grade_rule,
                   array_to_string(list_transform(list_filter(s._reasons, x -> x.points > 0)[1:{TOP_REASONS}],
                                                  x -> x.code), ';'),
                   to_json(list_transform(s._reasons, x -> {{'code': x.code, 'points': x.points}}))::VARCHAR,
                   s._labels, round(s._probability, 6), {sql_number(setup.base)}, {cf_col}
            FROM {scored} s {prev_join} {cf_join}
            ORDER BY s.uscc
        """)
        counts = dict(con.execute(f"SELECT grade, count(*) FROM grades WHERE snapshot_id = {sid} GROUP BY grade "
                                  "ORDER BY grade").fetchall())
        n = sum(counts.values())
        content = con.execute(f"""
            SELECT md5(string_agg(md5(concat_ws('|', uscc, score, grade, grade_rule, reasons, labels)), '' ORDER BY uscc))
            FROM grades WHERE snapshot_id = {sid}
        """).fetchall()[0][0] or ""
        con.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            sid, as_of, dt.datetime.now().replace(microsecond=0), setup.chosen, setup.model_version, setup.why,
            setup.catalog.version, setup.fingerprint, setup.grading.mode, n, content, json.dumps(counts)])
        # which domains the grades include by indicator; indicator and score profiles, drift against last month
        left_out = {i.code for i in setup.catalog.enabled if i.kind == "domain" and i.code not in setup.model.selected_}
        fu.record_snapshot(con, sid, setup.catalog, setup.fusion, left_out)
        warnings = mon.after_classify(con, sid, as_of, setup.monitoring, [i.code for i in setup.catalog.enabled],
                                      record, table=scored)
    return int(sid), counts, content, fusion_notes + warnings


SCORED_EXTRA = ("score", "_reasons", "_probability", "_grade", "_grade_rule", "_labels")


def _counterfactual(con: duckdb.DuckDBPyConnection, setup: RunSetup, home: Path, prev_sid: int, scored: str) -> bool:
    """When the previous snapshot used another model: the temporary table ``cf_grades`` (uscc, grade) of
    this month's records graded by that model; False when the model is the same or cannot be had."""
    import copy

    from .scoring import lifecycle

    row = con.execute("SELECT model, model_version FROM snapshots WHERE snapshot_id = ?", [prev_sid]).fetchall()
    if not row or (row[0][0], row[0][1]) == (setup.chosen, setup.model_version):
        return False
    model, version = row[0]
    other = copy.copy(setup)
    if version == setup.scorecard.version_ and model == setup.scorecard.name:
        other.use(setup.scorecard, version, "")
    else:  # a stored model
        try:
            other.use(lifecycle.load(home / "models", version), version, "", stored=True)
        except RiskgradeError:
            return False
    cols = {r[0] for r in con.execute(f"DESCRIBE {scored}").fetchall()}
    feats = set(getattr(other.model, "feature_columns_", [])) - cols
    if feats:
        return False
    drop = ", ".join(c for c in SCORED_EXTRA if c in cols)
    src = f"(SELECT * EXCLUDE ({drop}) FROM {scored})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE cf_grades AS SELECT uscc, _grade AS grade FROM ({other.scored_sql(src)})")
    return True


def fusion_effect(con: duckdb.DuckDBPyConnection, setup: RunSetup, scored: str = "scored") -> list[str]:
    """A warning for each professional domain fused by indicator that changed nobody's score this month
    (the model left its indicator out, or no entity has a graded level): the snapshot still records the
    domain as fused, so the regulator must hear that it did nothing."""
    out = []
    for i in setup.catalog.enabled:
        if i.kind != "domain":
            continue
        moved = con.execute(f"SELECT count(*) FROM {scored} WHERE list_contains(list_transform(_reasons, x -> x.code), "
                            f"'{i.code}')").fetchall()[0][0]
        if not moved:
            if i.code not in setup.model.selected_:
                out.append(f"fused domain {i.domain} ({i.code}) changed nobody's score: the {setup.chosen} model left its "
                           "indicator out; `riskgrade fusion` fuses it with the result (overlay) for this month instead")
            else:
                out.append(f"fused domain {i.domain} ({i.code}) changed nobody's score: no entity has points from it; "
                           "check its grades and levels, or fuse it with the result (overlay or matrix in fusion.yaml)")
    return out


def classify(home: Path, as_of: dt.date, *, model: str | None = None, catalog_path: Path | None = None,
             scorecard_path: Path | None = None, grading_path: Path | None = None, labels_path: Path | None = None,
             mode: str | None = None, memory_limit: str | None = None, threads: int | None = None,
             lock_timeout: float = 60.0, progress=None, chunk_events: int = 40_000_000,
             fusion_path: Path | None = None, monitoring_path: Path | None = None,
             outcomes_path: Path | None = None) -> ClassifyResult:
    """The monthly run on the embedded store (DuckDB): setup, indicators (in bucket ranges when the
    store is large), scores, grades, reasons and labels in the engine, sealed snapshot."""
    import time

    say = progress or (lambda m: None)
    t0 = time.perf_counter()
    with Warehouse(home, write=True, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout) as wh:
        con = wh.con
        assert con is not None
        setup = prepare_run(con, home, as_of, model=model, catalog_path=catalog_path,
                            scorecard_path=scorecard_path, grading_path=grading_path, labels_path=labels_path,
                            mode=mode, fusion_path=fusion_path, monitoring_path=monitoring_path, progress=say)
        chunks = chunks_for(con, chunk_events)
        say(f"computing {len(setup.catalog.enabled)} indicators as of {as_of} (catalog {setup.catalog.version})"
            + (f" in {chunks} bucket ranges" if chunks > 1 else ""))
        compute_indicators(con, setup.catalog, as_of, include_revoked=setup.include_revoked, chunks=chunks, progress=say)
        say(f"scoring with the {setup.chosen} scorecard, grading ({setup.grading.mode} grades), labelling")
        con.execute(f"CREATE OR REPLACE TEMP TABLE scored AS {setup.scored_sql()}")
        con.execute("DROP TABLE IF EXISTS indicators")
        sid, counts, content, warnings = seal(con, wh, setup, home)
        con.execute("DROP TABLE IF EXISTS scored; DROP TABLE IF EXISTS pop")
    if setup.stored and any("model drift" in w and "significant:" in w for w in warnings):
        warnings.append(f"significant drift under the model {setup.model_version}: retraining is recommended "
                        f"(`riskgrade model train --as-of {as_of}`, then review the card and approve); the model "
                        "keeps grading until another is approved")
    warnings = setup.notes + warnings
    for w in warnings:
        say(w)
    return ClassifyResult(sid, as_of, setup.chosen, setup.why, sum(counts.values()), counts, content,
                          time.perf_counter() - t0, warnings)


def _record_stability(con: duckdb.DuckDBPyConnection, model, record: Path, as_of: dt.date, scored: str = "scored") -> None:
    """PSI of this month's scores, and of each selected indicator's bins, against the model's training
    population, kept in the model record (the model card shows them).  Counted in the engine over
    ``scored`` (the month's indicators with their score)."""
    from .stats import psi_shares

    rec = json.loads(record.read_text(encoding="utf-8"))
    edges = rec["details"]["score_edges"]
    # bin of each score: the number of edges at or below it (numpy's searchsorted side="right")
    idx = " + ".join(f"CASE WHEN score >= {sql_number(e)} THEN 1 ELSE 0 END" for e in edges) or "0"
    counts = dict(con.execute(f"SELECT {idx} AS i, count(*) FROM {scored} GROUP BY i").fetchall())
    total = max(sum(counts.values()), 1)
    rec.setdefault("scored_months", {})[as_of.isoformat()] = round(psi_shares(
        rec["details"]["train_score_shares"], [counts.get(i, 0) / total for i in range(len(edges) + 1)]), 6)
    train_shares = getattr(model, "indicator_shares_", None)
    if train_shares:
        psis = {}
        for name, expected in train_shares.items():
            rows = dict(con.execute(f"SELECT {model.bin_index_sql(name)} AS i, count(*) FROM {scored} GROUP BY i").fetchall())
            n = max(sum(rows.values()), 1)
            width = max(len(expected), max(rows, default=0) + 1)
            psis[name] = round(psi_shares(expected, [rows.get(i, 0) / n for i in range(width)]), 6)
        rec.setdefault("indicator_psi", {})[as_of.isoformat()] = psis
    record.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")


def current_snapshot(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    ensure = table_exists(con, "snapshots")
    rows = con.execute("SELECT max(snapshot_id) FROM snapshots WHERE as_of = ?", [as_of]).fetchall() if ensure else [(None,)]
    if rows[0][0] is None:
        raise RiskgradeError(f"no classification as of {as_of}: run `riskgrade classify --as-of {as_of}` first")
    return int(rows[0][0])


# --------------------------------------------------------------------------- reads for the faces and the service
# (the months held, a month's model, the grade migration between two months: never the faces' own SQL)
def has_snapshot(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> bool:
    """Whether a classification as of ``as_of`` is held."""
    return table_exists(con, "snapshots") and bool(con.execute("SELECT count(*) FROM snapshots WHERE as_of = ?", [as_of]).fetchall()[0][0])


def snapshot_model(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> tuple[str, str]:
    """The model (expert, trained, ...) and model version a snapshot was classified with."""
    model, version = con.execute("SELECT model, model_version FROM snapshots WHERE snapshot_id = ?",
                                 [snapshot_id]).fetchall()[0]
    return model, version


def snapshot_catalog_version(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> str:
    """The indicator catalog version a snapshot was classified with."""
    return con.execute("SELECT catalog_version FROM snapshots WHERE snapshot_id = ?", [snapshot_id]).fetchall()[0][0]


def grades_have_score_base(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the grades table records ``score_base`` (months classified before it was added do not)."""
    return column_exists(con, "grades", "score_base")


def migration_query(sa: int, sb: int) -> str:
    """Grade migration from snapshot ``sa`` to ``sb``: from_grade ((new) when absent), to_grade ((gone)),
    entities; for :func:`riskgrade.export.write_query`."""
    return f"""
            SELECT coalesce(x.grade, '(new)') AS from_grade, coalesce(y.grade, '(gone)') AS to_grade, count(*) AS entities
            FROM (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(sa)}) x
            FULL JOIN (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(sb)}) y USING (uscc)
            GROUP BY ALL ORDER BY ALL"""


def migration_matrix(con: duckdb.DuckDBPyConnection, sa: int, sb: int) -> list[tuple[str, str, int]]:
    """The rows of :func:`migration_query`: (from_grade, to_grade, entities)."""
    return con.execute(migration_query(sa, sb)).fetchall()


def migration_causes(con: duckdb.DuckDBPyConnection, sa: int, sb: int) -> tuple[dict | None, bool]:
    """Grade changes from snapshot ``sa`` to ``sb`` split by cause, when ``sb`` recorded the grades the
    previous model gives its records: ``records`` (the old model moves them too), ``model`` (the old
    model keeps the old grade on the new records), ``both``.  Second: whether the model changed."""
    sa, sb = int(sa), int(sb)
    (ma, mb), = con.execute(f"SELECT (SELECT model_version FROM snapshots WHERE snapshot_id = {sa}), "
                            f"(SELECT model_version FROM snapshots WHERE snapshot_id = {sb})").fetchall()
    if ma == mb:
        return None, False
    prev = con.execute(f"SELECT max(snapshot_id) FROM snapshots WHERE as_of < (SELECT as_of FROM snapshots "
                       f"WHERE snapshot_id = {sb})").fetchall()[0][0]
    has = con.execute(f"SELECT count(*) FROM grades WHERE snapshot_id = {sb} AND grade_previous_model IS NOT NULL").fetchall()[0][0]
    if prev != sa or not has:
        return None, True
    rows = con.execute(f"""
        SELECT CASE WHEN y.grade_previous_model <> x.grade AND y.grade_previous_model = y.grade THEN 'records'
                    WHEN y.grade_previous_model = x.grade THEN 'model' ELSE 'both' END, count(*)
        FROM (SELECT uscc, grade FROM grades WHERE snapshot_id = {sa}) x
        JOIN (SELECT uscc, grade, grade_previous_model FROM grades WHERE snapshot_id = {sb}) y USING (uscc)
        WHERE x.grade <> y.grade GROUP BY 1""").fetchall()
    return dict(rows), True
