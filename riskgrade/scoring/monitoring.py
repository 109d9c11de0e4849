"""Model monitoring (模型监测): drift of the score and of every indicator between months, grade stability.

Each classification stores the distribution of its score and of each indicator (``snapshot_profiles``:
counts per fixed bin, see ``defaults/monitoring.yaml``), compares it with the previous snapshot month
(PSI per variable, share of entities keeping their grade, migrations up and down), stores that
comparison (``snapshot_monitoring``) and the values beyond the configured bounds (``drift_alerts``),
and returns one warning line for ``riskgrade classify`` to print.  ``riskgrade monitor`` recomputes
the comparison of a month from the stored profiles; the model card shows the monthly history.

Fixed bins (the same in every month) make the PSI between any two months exact and cheap: a month's
profile is one scan with one ``histogram`` aggregate per indicator.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import config
from ..contract import GRADES
from ..sql import table_exists
from ..stats import psi_counts
from ..warehouse import BUCKETS, insert_rows

MISSING = "(missing)"
LETTERS = "".join(GRADES)  # grade letters, least risky first
LEVELS = ("stable", "watch", "significant")
LEVEL_ZH = {"stable": "稳定", "watch": "需关注", "significant": "显著漂移", "n/a": "无可比月份"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot_profiles (
    snapshot_id INTEGER, as_of DATE, kind VARCHAR, variable VARCHAR, entities BIGINT, missing BIGINT, bins JSON,
    sample VARCHAR
);
ALTER TABLE snapshot_profiles ADD COLUMN IF NOT EXISTS sample VARCHAR;
CREATE TABLE IF NOT EXISTS snapshot_monitoring (
    snapshot_id INTEGER, as_of DATE, previous_snapshot_id INTEGER, previous_as_of DATE, monitoring_version VARCHAR,
    report JSON
);
CREATE TABLE IF NOT EXISTS drift_alerts (
    snapshot_id INTEGER, as_of DATE, previous_snapshot_id INTEGER, previous_as_of DATE, kind VARCHAR,
    variable VARCHAR, measure VARCHAR, value DOUBLE, bound DOUBLE, level VARCHAR, monitoring_version VARCHAR,
    created_at TIMESTAMP
);
"""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PsiBounds(_Strict):
    watch: float = Field(0.1, gt=0)
    significant: float = Field(0.25, gt=0)
    # no longer used: PSI's floor is fixed (riskgrade.stats.PSI_FLOOR, 1e-6); accepted so that older files load
    epsilon: float | None = Field(None, gt=0, lt=0.01)

    @model_validator(mode="after")
    def _order(self) -> PsiBounds:
        if self.watch >= self.significant:
            raise ValueError("watch must be below significant")
        return self


class StabilityBounds(_Strict):
    watch: float = Field(0.9, gt=0, le=1)
    significant: float = Field(0.8, gt=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> StabilityBounds:
        if self.significant >= self.watch:
            raise ValueError("significant must be below watch (alerts fire when fewer entities keep their grade)")
        return self


class MonitoringConfig(_Strict):
    version: str
    psi: PsiBounds = Field(default_factory=PsiBounds)
    grade_stability: StabilityBounds = Field(default_factory=StabilityBounds)
    score_bin_width: float = Field(50, gt=0, le=500)
    alert_from: Literal["watch", "significant"] = "watch"
    profile_max_entities: int = Field(250_000, ge=1000)


def load_monitoring(path: Path | None = None) -> MonitoringConfig:
    return config.load(MonitoringConfig, path, "monitoring.yaml")


# --------------------------------------------------------------------------- profiles
def bin_sql(col: str) -> str:
    """The lower edge of ``col``'s bin in the 1-2-3-5-7 logarithmic series (0 for 0, mirrored below 0)."""
    a = f"abs(CAST({col} AS DOUBLE))"
    e = f"floor(log10({a}) + 1e-9)"
    m = f"({a} / power(10, {e}))"
    step = (f"CASE WHEN {m} >= 7 - 1e-9 THEN 7 WHEN {m} >= 5 - 1e-9 THEN 5 WHEN {m} >= 3 - 1e-9 THEN 3 "
            f"WHEN {m} >= 2 - 1e-9 THEN 2 ELSE 1 END")
    return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} = 0 THEN 0.0 ELSE sign({col}) * {step} * power(10, {e}) END"


def score_bin_sql(width: float, col: str = "score") -> str:
    top = math.ceil(1000 / width) - 1
    return f"least(floor({col} / {width!r}), {top}) * {width!r}"


def _key(x: object) -> str:
    if isinstance(x, str):
        return x
    return f"{float(x):.6g}"


def _histogram(con: duckdb.DuckDBPyConnection, table: str, exprs: list[tuple[str, str]], where: str = "") -> tuple[int, dict]:
    """(rows, {name: (missing, {bin: count})}) for (name, bin expression) pairs, in one scan."""
    if not exprs:
        return int(con.execute(f"SELECT count(*) FROM {table} {where}").fetchall()[0][0]), {}
    aggs = ", ".join(f"count({e}), histogram({e})" for _, e in exprs)
    row = con.execute(f"SELECT count(*), {aggs} FROM {table} {where}").fetchall()[0]
    n = int(row[0])
    out = {}
    for j, (name, _) in enumerate(exprs):
        present, hist = int(row[1 + 2 * j]), row[2 + 2 * j] or {}
        bins = {_key(k): int(v) for k, v in hist.items()}
        if n - present:
            bins[MISSING] = n - present
        out[name] = (n - present, bins)
    return n, out


def sample_where(n: int, max_entities: int) -> str:
    """All entities up to ``max_entities``; beyond, the entities of the lowest buckets (a fixed hash of the
    USCC: the same entities every month), about ``max_entities`` of them."""
    if n <= max_entities:
        return ""
    return f"WHERE bucket < {max(1, math.ceil(BUCKETS * max_entities / n))}"


def record_profiles(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, codes: list[str],
                    cfg: MonitoringConfig, table: str = "scored") -> None:
    """Store the score's and each indicator's bin counts of a snapshot (``table``: the month's indicators
    with their ``score`` and ``bucket``); a large province is profiled on a fixed sample of buckets
    (``profile_max_entities``): one scan with one histogram per indicator costs about a fifth of the
    indicators' own computation, the sample keeps it small."""
    con.execute(SCHEMA)
    where = sample_where(int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]), cfg.profile_max_entities)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    exprs = []
    for c in codes:
        t = types.get(c, "")
        if t in ("VARCHAR",):
            exprs.append((c, c))
        elif t == "BOOLEAN":
            exprs.append((c, f"CAST({c} AS INTEGER)"))
        elif t and (t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                          "UBIGINT", "FLOAT", "DOUBLE") or t.startswith("DECIMAL")):
            exprs.append((c, bin_sql(c)))
    exprs.append(("\x00score", score_bin_sql(cfg.score_bin_width)))
    n, hist = _histogram(con, table, exprs, where)
    sample = where.removeprefix("WHERE ") or None
    m, b = hist.pop("\x00score")
    rows = [(snapshot_id, as_of, "score", "score", n, m, json.dumps(b), sample)]
    rows += [(snapshot_id, as_of, "indicator", c, n, m, json.dumps(b), sample) for c, (m, b) in hist.items()]
    insert_rows(con, "snapshot_profiles", rows,
                ["snapshot_id", "as_of", "kind", "variable", "entities", "missing", "bins", "sample"])


def _profiles(con: duckdb.DuckDBPyConnection, snapshot_id: int, cfg: MonitoringConfig) -> dict[tuple[str, str], tuple[int, dict]]:
    has = table_exists(con, "snapshot_profiles")
    rows = con.execute("SELECT kind, variable, entities, bins FROM snapshot_profiles WHERE snapshot_id = ?",
                       [snapshot_id]).fetchall() if has else []
    out = {(k, v): (int(n), json.loads(b)) for k, v, n, b in rows}
    if ("score", "score") not in out:  # classified before profiles were stored: the score is in the grades
        n, h = _histogram(con, "grades", [("score", score_bin_sql(cfg.score_bin_width))],
                          f"WHERE snapshot_id = {int(snapshot_id)}")
        out[("score", "score")] = (n, h["score"][1])
    return out


# --------------------------------------------------------------------------- comparison
psi = psi_counts  # riskgrade.stats.psi_counts: the one PSI, with its one floor


def psi_level(value: float | None, cfg: MonitoringConfig) -> str:
    if value is None:
        return "n/a"
    return "significant" if value > cfg.psi.significant else "watch" if value > cfg.psi.watch else "stable"


def kept_level(share: float | None, cfg: MonitoringConfig) -> str:
    if share is None:
        return "n/a"
    b = cfg.grade_stability
    return "significant" if share < b.significant else "watch" if share < b.watch else "stable"


def previous_snapshot(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> tuple[int, dt.date] | None:
    """The current snapshot of the latest classified date before ``as_of`` (the previous month)."""
    rows = con.execute("SELECT snapshot_id, as_of FROM snapshots WHERE as_of < ? ORDER BY as_of DESC, snapshot_id DESC "
                       "LIMIT 1", [as_of]).fetchall()
    return (int(rows[0][0]), rows[0][1]) if rows else None


def grade_stability(con: duckdb.DuckDBPyConnection, snapshot_id: int, previous_id: int) -> dict:
    both, kept, up, down, new, gone = con.execute(f"""
        SELECT count(*) FILTER (WHERE a.grade IS NOT NULL AND b.grade IS NOT NULL), count(*) FILTER (WHERE a.grade = b.grade),
               count(*) FILTER (WHERE instr('{LETTERS}', b.grade) > instr('{LETTERS}', a.grade)),
               count(*) FILTER (WHERE instr('{LETTERS}', b.grade) < instr('{LETTERS}', a.grade)),
               count(*) FILTER (WHERE a.grade IS NULL), count(*) FILTER (WHERE b.grade IS NULL)
        FROM (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(previous_id)}) a
        FULL JOIN (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(snapshot_id)}) b USING (uscc)""").fetchall()[0]
    return {"entities_both": int(both), "kept": int(kept), "kept_share": round(kept / both, 6) if both else None,
            "up": int(up), "down": int(down), "new": int(new), "gone": int(gone)}


def compare(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, cfg: MonitoringConfig) -> dict:
    """Month T (``snapshot_id``) against the previous snapshot month: PSI of the score and of each
    indicator, grade stability, and the alerts beyond the configured bounds."""
    prev = previous_snapshot(con, as_of)
    report: dict = {"as_of": as_of.isoformat(), "snapshot_id": int(snapshot_id), "monitoring_version": cfg.version,
                    "bounds": {"psi_watch": cfg.psi.watch, "psi_significant": cfg.psi.significant,
                               "kept_watch": cfg.grade_stability.watch,
                               "kept_significant": cfg.grade_stability.significant},
                    "previous": None, "score": {"psi": None, "level": "n/a"}, "indicators": [], "grades": None,
                    "alerts": []}
    if prev is None:
        return report
    pid, pdate = prev
    report["previous"] = {"as_of": pdate.isoformat(), "snapshot_id": pid}
    now, before = _profiles(con, snapshot_id, cfg), _profiles(con, pid, cfg)
    for (kind, var), (n, bins) in sorted(now.items()):
        if (kind, var) not in before:
            continue
        pn, pbins = before[(kind, var)]
        v = round(psi(pbins, pn, bins, n), 6)
        item = {"psi": v, "level": psi_level(v, cfg)}
        if kind == "score":
            report["score"] = item
        else:
            report["indicators"].append({"code": var, **item})
    report["indicators"].sort(key=lambda r: (-r["psi"], r["code"]))
    report["indicators_added"] = sorted(v for k, v in now if k == "indicator" and (k, v) not in before)
    report["indicators_dropped"] = sorted(v for k, v in before if k == "indicator" and (k, v) not in now)
    report["changes"] = _changes(con, pid, snapshot_id)
    g = grade_stability(con, snapshot_id, pid)
    g["level"] = kept_level(g["kept_share"], cfg)
    report["grades"] = g
    rank = LEVELS.index(cfg.alert_from)
    alerts = []
    if report["score"]["level"] in LEVELS and LEVELS.index(report["score"]["level"]) >= rank:
        alerts.append(("score", "score", "psi", report["score"]["psi"], report["score"]["level"]))
    for r in report["indicators"]:
        if LEVELS.index(r["level"]) >= rank:
            alerts.append(("indicator", r["code"], "psi", r["psi"], r["level"]))
    if g["level"] in LEVELS and LEVELS.index(g["level"]) >= rank:
        alerts.append(("grades", "grade", "kept_share", g["kept_share"], g["level"]))
    bound = {("psi", "watch"): cfg.psi.watch, ("psi", "significant"): cfg.psi.significant,
             ("kept_share", "watch"): cfg.grade_stability.watch,
             ("kept_share", "significant"): cfg.grade_stability.significant}
    report["alerts"] = [{"kind": k, "variable": v, "measure": m, "value": x, "bound": bound[(m, lv)], "level": lv}
                        for k, v, m, x, lv in alerts]
    return report


def _changes(con: duckdb.DuckDBPyConnection, previous_id: int, snapshot_id: int) -> list[str]:
    """What changed in the classification itself between two snapshots (a drift may come from it)."""
    cols = ("model", "model_version", "catalog_version", "config_fingerprint", "grade_mode")
    rows = dict((r[0], r[1:]) for r in con.execute(
        f"SELECT snapshot_id, {', '.join(cols)} FROM snapshots WHERE snapshot_id IN (?, ?)", [previous_id, snapshot_id]).fetchall())
    a, b = rows.get(previous_id), rows.get(snapshot_id)
    if a is None or b is None:
        return []
    return [f"{c} {x} -> {y}" for c, x, y in zip(cols, a, b) if x != y and not (c == "model_version" and a[0] == b[0] == "trained")]


def warning_line(report: dict) -> str | None:
    """One line for ``riskgrade classify`` when the comparison raised alerts."""
    if not report["alerts"]:
        return None
    parts = []
    for level in ("significant", "watch"):
        items = [a for a in report["alerts"] if a["level"] == level]
        if not items:
            continue
        shown = ", ".join(f"{'grade kept share' if a['measure'] == 'kept_share' else a['variable'] + ' PSI'} "
                          f"{a['value']:.3f}" for a in items[:5])
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        parts.append(f"{level}: {shown}{more}")
    prev = report["previous"]
    changed = report.get("changes") or []
    return (f"warning: model drift against {prev['as_of']} (snapshot {prev['snapshot_id']}): " + "; ".join(parts)
            + (f" (the classification changed too: {', '.join(changed)})" if changed else "")
            + f" (see `riskgrade monitor --as-of {report['as_of']}`)")


def after_classify(con: duckdb.DuckDBPyConnection, snapshot_id: int, as_of: dt.date, cfg: MonitoringConfig,
                   codes: list[str], model_record: Path | None = None, table: str = "scored") -> list[str]:
    """Classify's hook (inside its transaction): store the month's profiles, compare with the previous
    month, store the comparison and its alerts; add the comparison to the trained model's record (the
    model card shows it).  Returns the warning lines to print."""
    record_profiles(con, snapshot_id, as_of, codes, cfg, table)
    report = compare(con, snapshot_id, as_of, cfg)
    prev = report["previous"] or {}
    con.execute("INSERT INTO snapshot_monitoring VALUES (?, ?, ?, ?, ?, ?)", [
        snapshot_id, as_of, prev.get("snapshot_id"), prev.get("as_of"), cfg.version, json.dumps(report)])
    now = dt.datetime.now().replace(microsecond=0)
    if report["alerts"]:
        insert_rows(con, "drift_alerts", [
            (snapshot_id, as_of, prev.get("snapshot_id"), prev.get("as_of"), a["kind"], a["variable"], a["measure"],
             a["value"], a["bound"], a["level"], cfg.version, now) for a in report["alerts"]])
    if model_record is not None and model_record.exists():
        update_model_record(con, model_record, report)
    line = warning_line(report)
    return [line] if line else []


def update_model_record(con: duckdb.DuckDBPyConnection, record: Path, report: dict) -> None:
    """Keep the month's comparison and the monthly history in a trained model's record (its report shows them)."""
    rec = json.loads(record.read_text(encoding="utf-8"))
    rec["monitoring"] = {"latest": report, "history": history(con, dt.date.fromisoformat(report["as_of"]))}
    record.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")


def history(con: duckdb.DuckDBPyConnection, up_to: dt.date, months: int = 12) -> list[dict]:
    """The stored comparisons of the current snapshots of the latest ``months`` classified dates up to
    ``up_to``, oldest first: one summary row each."""
    rows = con.execute("""
        SELECT m.as_of, m.previous_as_of, m.report FROM snapshot_monitoring m
        JOIN (SELECT as_of, max(snapshot_id) AS sid FROM snapshots WHERE as_of <= ? GROUP BY as_of) s
          ON s.sid = m.snapshot_id
        ORDER BY m.as_of DESC LIMIT ?""", [up_to, months]).fetchall()
    out = []
    for as_of, prev, rep in reversed(rows):
        r = json.loads(rep)
        g = r.get("grades") or {}
        out.append({"as_of": as_of.isoformat(), "previous_as_of": prev.isoformat() if prev else None,
                    "score_psi": r["score"]["psi"], "score_level": r["score"]["level"],
                    "indicators_watch": sum(1 for i in r["indicators"] if i["level"] == "watch"),
                    "indicators_significant": sum(1 for i in r["indicators"] if i["level"] == "significant"),
                    "kept_share": g.get("kept_share"), "kept_level": g.get("level"), "up": g.get("up"),
                    "down": g.get("down"), "alerts": len(r["alerts"]), "changes": r.get("changes") or []})
    return out


def recorded_alerts(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> list[dict]:
    if not table_exists(con, "drift_alerts"):
        return []
    cols = ("kind", "variable", "measure", "value", "bound", "level", "monitoring_version", "created_at")
    return [dict(zip(cols, (*r[:-1], r[-1].isoformat()))) for r in con.execute(
        f"SELECT {', '.join(cols)} FROM drift_alerts WHERE snapshot_id = ? "
        "ORDER BY level = 'significant' DESC, kind, value DESC, variable",
        [snapshot_id]).fetchall()]
