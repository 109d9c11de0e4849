"""Professional-domain fusion (“通用+专业”融合): the general grade and a domain's own grade, made one.

Configuration (``defaults/fusion.yaml`` or a province's file, validated on load) maps each domain's
grades to an ordinal risk level 0-3 (level k stands beside the general grade A, B, C, D) and
chooses one of three modes per domain:

* ``indicator`` (指标融合): the level is an indicator of the general scorecard (catalog kind
  ``domain``, points in scorecard.yaml); the fused grade is the general grade.
* ``overlay`` (结果叠加): the riskier of the general grade and the level's grade.
* ``matrix`` (矩阵融合): a configured matrix general grade x level -> fused grade.

A domain fused by its result stays out of the general model (``indicators.domains.apply_to_catalog`` disables its
indicator, :func:`general_scorecard` drops its points), so its risk is never counted twice.
Classification records which domains it scored by indicator (:func:`record_snapshot`); ``riskgrade
fusion`` (:func:`run_fusion`) fuses a month's snapshot and stores one row per entity holding a grade
of the domain in ``fused_grades``, with the mode, the domain grade, its level and the rule that
decided; the configuration's version and fingerprint are stored with every run.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb

from ..errors import RiskgradeError
from ..sql import literal as _lit
from ..indicators.domains import GRADE_ORDER, FusionConfig

MODE_ZH = {"indicator": "指标融合", "overlay": "结果叠加", "matrix": "矩阵融合"}
RULES = {
    "indicator": "the domain level is an indicator of the general score; fused = general grade",
    "overlay_domain": "overlay: the domain level is riskier than the general grade and raises it",
    "overlay_general": "overlay: the general grade is at least as risky as the domain level",
    "matrix_<G><L>": "matrix: the cell of general grade G and domain level L",
    "override_kept": "the matrix would lower a grade set by an override or an industry floor: kept",
    "not_in_matrix": "the general grade has no row in the matrix: kept",
    "unmapped_grade": "the domain grade is not in the domain's levels: general grade kept",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot_fusion (
    snapshot_id INTEGER, fusion_version VARCHAR, fingerprint VARCHAR, indicator_domains JSON
);
CREATE TABLE IF NOT EXISTS fusion_runs (
    snapshot_id INTEGER, as_of DATE, domain VARCHAR, mode VARCHAR, fusion_version VARCHAR, fingerprint VARCHAR,
    created_at TIMESTAMP, entities BIGINT
);
CREATE TABLE IF NOT EXISTS fused_grades (
    snapshot_id INTEGER, as_of DATE, domain VARCHAR, uscc VARCHAR, general_grade VARCHAR, general_rule VARCHAR,
    domain_grade VARCHAR, domain_as_of DATE, domain_level INTEGER, fused_grade VARCHAR, mode VARCHAR,
    rule VARCHAR, moved VARCHAR, domain_points DOUBLE, fusion_version VARCHAR
);
"""


# --------------------------------------------------------------------------- classification side
def general_scorecard(cfg, catalog):
    """The scorecard configuration without the points of domain indicators left out of the general
    model (their domain is fused by result)."""
    dropped = {i.code for i in catalog.indicators if i.kind == "domain" and not i.enabled}
    if not dropped & set(cfg.points):
        return cfg
    return cfg.model_copy(update={"points": {k: v for k, v in cfg.points.items() if k not in dropped}})


def indicator_domains(catalog) -> dict[str, dict]:
    """Domains the general model scores by indicator: domain -> {indicator, levels, max_age_days}."""
    return {i.domain: {"indicator": i.code, "levels": i.levels, "max_age_days": i.max_age_days}
            for i in catalog.enabled if i.kind == "domain"}


FALLBACK_MODE = "overlay"


def record_snapshot(con: duckdb.DuckDBPyConnection, snapshot_id: int, catalog, fusion: FusionConfig,
                    left_out: set[str] | frozenset[str] = frozenset()) -> None:
    """Record with a snapshot which domains its general grades include by indicator (classify's hook).
    A domain whose indicator the trained model left out (``left_out``: the data did not support it in
    its direction) is recorded with ``fallback``: ``riskgrade fusion`` then fuses it with the result
    (overlay) instead, so the domain's risk is neither lost nor counted twice."""
    con.execute(SCHEMA)
    domains = indicator_domains(catalog)
    for d in domains.values():
        if d["indicator"] in left_out:
            d["fallback"] = FALLBACK_MODE
    con.execute("INSERT INTO snapshot_fusion VALUES (?, ?, ?, ?)", [
        snapshot_id, fusion.version, fusion.fingerprint(), json.dumps(domains, ensure_ascii=False)])


# --------------------------------------------------------------------------- result fusion
@dataclass
class RuleCount:
    rule: str
    entities: int
    raised: int
    lowered: int
    score_raised: int = 0


@dataclass
class DomainFusionResult:
    domain: str
    mode: str
    snapshot_id: int
    as_of: dt.date
    entities: int
    rules: list[RuleCount] = field(default_factory=list)
    fusion_version: str = ""

    def as_dict(self) -> dict:
        return {"domain": self.domain, "mode": self.mode, "snapshot_id": self.snapshot_id,
                "as_of": self.as_of.isoformat(), "entities": self.entities, "fusion_version": self.fusion_version,
                "raised": sum(r.raised for r in self.rules), "lowered": sum(r.lowered for r in self.rules),
                "rules": [r.__dict__ for r in self.rules]}


def _letters(grades: str = GRADE_ORDER) -> str:
    return "[" + ", ".join(_lit(g) for g in grades) + "]"


def _rank(expr: str) -> str:
    return f"(instr('{GRADE_ORDER}', {expr}) - 1)"


def fusion_sql(snapshot_id: int, as_of: dt.date, domain: str, fusion: FusionConfig, indicator: str | None,
               mode: str | None = None) -> str:
    """One row per entity of the snapshot holding a grade of ``domain`` as of T: the fused grade and its rule
    (``mode``: the configured one unless the classification fell back to another)."""
    from ..indicators.compute import DOMAIN_GRADE, DOMAIN_RECENCY, domain_filter, level_case

    d = fusion.domains[domain]
    mode = mode or fusion.mode_of(domain)
    latest = f"""
        SELECT uscc, max_by({DOMAIN_GRADE}, {DOMAIN_RECENCY}) AS domain_grade, max(as_of) AS domain_as_of
        FROM domain_grades
        WHERE as_of <= DATE '{as_of.isoformat()}' AND {domain_filter(domain, as_of, d.max_age_days)}
        GROUP BY uscc"""
    letters = _letters()
    if mode == "indicator":
        fused = "grade"
        rule = "CASE WHEN level IS NULL THEN 'unmapped_grade' ELSE 'indicator' END"
    elif mode == "overlay":
        fused = f"CASE WHEN level IS NULL THEN grade ELSE {letters}[greatest(r, level) + 1] END"
        rule = ("CASE WHEN level IS NULL THEN 'unmapped_grade' WHEN level > r THEN 'overlay_domain' "
                "ELSE 'overlay_general' END")
    else:
        m = fusion.matrix_of(domain)
        cell = "CASE grade " + " ".join(f"WHEN {_lit(g)} THEN {_letters(''.join(row))}[level + 1]"
                                        for g, row in m.items()) + " END"
        keep = (f"({str(fusion.keep_overrides).lower()} AND coalesce(grade_rule, 'score') <> 'score' "
                f"AND {_rank('cell')} < r)")
        fused = f"CASE WHEN level IS NULL OR cell IS NULL OR {keep} THEN grade ELSE cell END"
        rule = (f"CASE WHEN level IS NULL THEN 'unmapped_grade' WHEN cell IS NULL THEN 'not_in_matrix' "
                f"WHEN {keep} THEN 'override_kept' ELSE 'matrix_' || grade || CAST(level AS VARCHAR) END")
    cell_col = f", {cell} AS cell" if mode == "matrix" else ""
    points = (f"list_filter(from_json(g.reason_points, '[{{\"code\": \"VARCHAR\", \"points\": \"DOUBLE\"}}]'), "
              f"x -> x.code = {_lit(indicator)})[1].points" if indicator else "CAST(NULL AS DOUBLE)")
    return f"""
        WITH x AS (
            SELECT g.uscc, g.grade, g.grade_rule, dg.domain_grade, dg.domain_as_of,
                   {level_case('dg.domain_grade', d.levels)} AS level, {_rank('g.grade')} AS r, {points} AS points
            FROM grades g JOIN ({latest}) dg USING (uscc)
            WHERE g.snapshot_id = {int(snapshot_id)}),
        y AS (SELECT *{cell_col} FROM x),
        z AS (SELECT *, {fused} AS fused, {rule} AS rule FROM y)
        SELECT {int(snapshot_id)} AS snapshot_id, DATE '{as_of.isoformat()}' AS as_of, {_lit(domain)} AS domain, uscc,
               grade AS general_grade, grade_rule AS general_rule, domain_grade, domain_as_of, level AS domain_level,
               fused AS fused_grade, {_lit(mode)} AS mode, rule,
               CASE WHEN {_rank('fused')} > r THEN 'up' WHEN {_rank('fused')} < r THEN 'down' ELSE 'none' END AS moved,
               points AS domain_points, {_lit(fusion.version)} AS fusion_version
        FROM z ORDER BY uscc"""


def _snapshot_domains(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> tuple[dict, str]:
    has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'snapshot_fusion'").fetchall()[0][0]
    rows = con.execute("SELECT indicator_domains, fusion_version FROM snapshot_fusion WHERE snapshot_id = ?",
                       [snapshot_id]).fetchall() if has else []
    if not rows:
        return {}, "(none recorded)"
    return json.loads(rows[0][0]), rows[0][1]


def check_consistent(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, domain: str,
                     fusion: FusionConfig) -> str | None:
    """The indicator the snapshot scored ``domain`` by (None: none); an error when ``fusion`` disagrees
    with how the classification treated the domain (its risk would count twice, or not at all)."""
    return effective(con, snapshot_id, as_of, domain, fusion)[1]


def effective(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, domain: str,
              fusion: FusionConfig) -> tuple[str, str | None]:
    """(the mode the domain is fused by for this snapshot, the indicator it was scored by): the configured
    mode, or the fallback (overlay) when the trained model left the domain's indicator out."""
    scored, version = _snapshot_domains(con, snapshot_id)
    mode = fusion.mode_of(domain)
    had = scored.get(domain)
    if mode == "indicator" and had is not None and had.get("fallback"):
        return had["fallback"], None
    return mode, _consistent(scored, version, snapshot_id, as_of, domain, fusion)


def _consistent(scored: dict, version: str, snapshot_id: int, as_of: dt.date, domain: str,
                fusion: FusionConfig) -> str | None:
    mode = fusion.mode_of(domain)
    had = scored.get(domain)
    if mode == "indicator":
        if had is None:
            raise RiskgradeError(
                f"{domain}: fused by indicator in fusion configuration {fusion.version}, but the classification as of "
                f"{as_of} (snapshot {snapshot_id}, fusion configuration {version}) did not score it: classify with this "
                "fusion configuration first, or fuse the domain by overlay or matrix")
        if had.get("levels") != fusion.domains[domain].levels or had.get("max_age_days") != fusion.domains[domain].max_age_days:
            raise RiskgradeError(
                f"{domain}: the classification as of {as_of} (snapshot {snapshot_id}) scored it with other levels "
                f"(fusion configuration {version}): classify with fusion configuration {fusion.version} first")
        return had["indicator"]
    if had is not None:
        raise RiskgradeError(
            f"{domain}: the classification as of {as_of} (snapshot {snapshot_id}) already scores it by indicator "
            f"({had['indicator']}, fusion configuration {version}); fusing it by {mode} as well would count its risk "
            "twice: classify with this fusion configuration first, or fuse it by indicator")
    return None


def run_fusion(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, fusion: FusionConfig,
               domains: list[str] | None = None) -> list[DomainFusionResult]:
    """Fuse the snapshot's general grades with each domain's grades and store them (replacing an earlier
    fusion of the same snapshot and domain); run inside a write transaction."""
    names = domains or list(fusion.domains)
    for d in names:
        if d not in fusion.domains:
            raise RiskgradeError(f"unknown domain {d!r}: fusion configuration {fusion.version} has "
                                 f"{', '.join(fusion.domains)}")
    con.execute(SCHEMA)
    modes = {d: effective(con, snapshot_id, as_of, d, fusion) for d in names}
    out = []
    for d in names:
        mode, indicator = modes[d]
        con.execute("DELETE FROM fused_grades WHERE snapshot_id = ? AND domain = ?", [snapshot_id, d])
        con.execute("DELETE FROM fusion_runs WHERE snapshot_id = ? AND domain = ?", [snapshot_id, d])
        con.execute(f"INSERT INTO fused_grades BY NAME {fusion_sql(snapshot_id, as_of, d, fusion, indicator, mode)}")
        n = con.execute("SELECT count(*) FROM fused_grades WHERE snapshot_id = ? AND domain = ?", [snapshot_id, d]).fetchall()[0][0]
        con.execute("INSERT INTO fusion_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            snapshot_id, as_of, d, mode, fusion.version, fusion.fingerprint(),
            dt.datetime.now().replace(microsecond=0), n])
        out.append(summary(con, snapshot_id, d))
    return out


def summary(con: duckdb.DuckDBPyConnection, snapshot_id: int, domain: str) -> DomainFusionResult:
    """How many entities each rule decided, raised and lowered (and, by indicator, whose score it raised)."""
    run = con.execute("SELECT mode, as_of, entities, fusion_version FROM fusion_runs WHERE snapshot_id = ? AND domain = ?",
                      [snapshot_id, domain]).fetchall()
    if not run:
        raise RiskgradeError(f"no fusion of domain {domain} for snapshot {snapshot_id}: run `riskgrade fusion` first")
    mode, as_of, n, version = run[0]
    rows = con.execute("""
        SELECT rule, count(*), count(*) FILTER (WHERE moved = 'up'), count(*) FILTER (WHERE moved = 'down'),
               count(*) FILTER (WHERE domain_points > 0)
        FROM fused_grades WHERE snapshot_id = ? AND domain = ? GROUP BY rule ORDER BY rule""", [snapshot_id, domain]).fetchall()
    return DomainFusionResult(domain, mode, snapshot_id, as_of, int(n),
                              [RuleCount(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows], version)


def has_fusion(con: duckdb.DuckDBPyConnection, snapshot_id: int, domain: str | None) -> bool:
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'fusion_runs'").fetchall()[0][0]:
        return False
    sql = "SELECT count(*) FROM fusion_runs WHERE snapshot_id = ?" + (" AND domain = ?" if domain else "")
    return bool(con.execute(sql, [snapshot_id, domain] if domain else [snapshot_id]).fetchall()[0][0])


FUSED_COLUMNS = ("uscc", "as_of", "domain", "general_grade", "domain_grade", "domain_as_of", "domain_level",
                 "fused_grade", "mode", "rule", "moved", "domain_points", "general_rule", "name", "entity_type",
                 "region_code", "industry_code", "fusion_version", "snapshot_id")


def fused_query(snapshot_id: int, domain: str | None = None) -> str:
    """The export of fused grades (internal: it carries grades), format ``riskgrade-fused/1``."""
    where = f" AND f.domain = {_lit(domain)}" if domain else ""
    cols = ", ".join(f"g.{c}" if c in ("name", "entity_type", "region_code", "industry_code") else f"f.{c}"
                     for c in FUSED_COLUMNS)
    return f"""
        SELECT {cols}
        FROM fused_grades f JOIN grades g ON g.snapshot_id = f.snapshot_id AND g.uscc = f.uscc
        WHERE f.snapshot_id = {int(snapshot_id)}{where}
        ORDER BY f.domain, f.uscc"""


def domains_held(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[str]:
    """Domains with grades as of T in ``domain_grades`` (lower-cased)."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT lower(trim(domain)) FROM domain_grades WHERE as_of <= ? ORDER BY 1", [as_of]).fetchall()]
