"""Risk-weighted double-random inspection plans (双随机、一公开).

The draw, step by step (``ALGORITHM``; docs/inspection.md says how to recompute it by hand):

1. *Scope*: the entities of the month's snapshot that are in the task's scope (region prefix,
   industry, entity type) and active now; deregistered and revoked entities can never be drawn.
2. *Forced* (100% triggers): entities carrying a ``force_include`` label, and the task's own
   targets (``task_targets``, 定向抽查), are all in the plan (inclusion probability 1).  *Trigger-only* entities (A/B 四新) and entities inspected or planned
   within ``frequency.min_months`` (unless their grade is exempt) are left out of the random draw.
3. *Rates*: per grade, the configured ratio; with ``--budget N`` scaled by one common factor to fill
   N minus the forced ones, never below the floors nor above the ceilings (``--optimise``: the
   budget goes where expected findings are highest, floors kept).  See :mod:`.allocate`.
4. *Strata*: grade x county.  Each stratum's quota is its rate times its size, rounded to whole
   entities by largest remainders, so every county gets its share.
5. *Draw*: in each stratum, the entities with the smallest draw key are drawn: a simple random sample
   without replacement.  Inclusion probability = quota / stratum size.  The key of a plan drawn under a
   seed commitment (:mod:`.commitment`, ``ALGORITHM_COMMITTED``) is ``sha256("<seed>|<salt>|<uscc>")``
   (hex), the salt sealed with the plan; without a commitment it is ``sha256("<seed>|<uscc>")`` and the
   plan is internal (it cannot be published).  The strata (grade x county) are internal: they are named
   ``<county>-<grade>`` and kept in the sealed package only (:mod:`.disclosure`).
6. *Inspectors*: see :mod:`.assign`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..contract import GRADE_SETS
from ..dates import add_months
from ..errors import RiskgradeError
from ..scoring.outcomes import adverse_results
from ..sql import table_exists
from ..warehouse import Warehouse
from .allocate import grade_rates, optimal_rates, stratified_allocation
from .assign import Inspector, assign
from .commitment import find as find_commitment
from .commitment import seed_commitment
from .config import SamplingConfig, load_sampling
from .tables import SCHEMA, ensure_schema
from .tasks import DEFAULT_TASK, Task, get_task

ALGORITHM = "riskgrade-stratified-srs-sha256/1"
ALGORITHM_COMMITTED = "riskgrade-stratified-srs-sha256-salted/2"
# an inspection with an adverse result (发现问题 in the wide sense): the results the outcome definition counts
# (defaults/outcomes.yaml: corrected, problem, unreachable, refused, not operating), so that what a plan
# expects (the model's calibrated chance of an adverse result) and what effectiveness counts are one thing
PROBLEM_RESULTS = adverse_results()


@dataclass
class GradeLine:
    grade: str
    in_scope: int = 0
    forced: int = 0
    recent: int = 0
    trigger_only: int = 0
    eligible: int = 0
    ratio: float = 0.0
    rate: float = 0.0
    drawn: int = 0
    finding_rate: float | None = None
    expected: float | None = None
    uniform_expected: float | None = None


@dataclass
class PlanOutcome:
    plan_id: int
    task: Task
    as_of: dt.date
    seed: str
    rows: int
    grades: list[GradeLine]
    manifest: dict
    content_hash: str
    expected: float | None
    uniform_expected: float | None
    probability_source: str
    workload: tuple[int, int, int, int] | None
    unassigned: int
    notes: list[str] = field(default_factory=list)

    @property
    def lift(self) -> float | None:
        if self.expected is None or not self.uniform_expected:
            return None
        return self.expected / self.uniform_expected


def draw_key(seed: str, uscc: str, salt: str = "") -> str:
    """An entity's random number in the draw: sha256 of ``<seed>|<salt>|<uscc>`` (of ``<seed>|<uscc>``
    without a salt) in hex."""
    return hashlib.sha256((f"{seed}|{salt}|{uscc}" if salt else f"{seed}|{uscc}").encode()).hexdigest()


def stratum_id(grade: str, county: str) -> str:
    """The internal name of a stratum: ``<county>-<grade>``.  It names the grade, so it is never
    published; it is kept in the plan's tables and its sealed package."""
    return f"{county}-{grade}"


def _labels_any(labels: list[str]) -> str:
    """SQL: the entity's ``;``-separated labels include one of these codes."""
    if not labels:
        return "false"
    return "(" + " OR ".join(f"contains(';' || coalesce(g.labels, '') || ';', ';{x.replace(chr(39), '')};')"
                             for x in labels) + ")"


def historical_finding_rates(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict[str, float]:
    """Share of inspections in the three years to T that found a problem, by the entity's grade now."""
    t = f"DATE '{as_of}'"
    rows = con.execute(f"""
        SELECT p.grade, count(*) FILTER (WHERE e.detail IN {PROBLEM_RESULTS}) / count(*)
        FROM events e JOIN plan_pop p USING (uscc)
        WHERE e.event_type = 'inspection' AND e.event_date <= {t} AND e.reported_on <= {t}
          AND e.event_date > {t} - INTERVAL 3 YEAR
        GROUP BY p.grade""").fetchall()
    return {g: float(r) for g, r in rows}


def _eligible(con: duckdb.DuckDBPyConnection, sid: int, as_of: dt.date, task: Task, cfg: SamplingConfig,
              key_prefix: str) -> None:
    t = f"DATE '{as_of}'"
    since = f"DATE '{add_months(as_of, -cfg.frequency.min_months, keep_month_end=True)}'"
    forced = _labels_any([f.label for f in cfg.force_include])
    if task.task_id is not None:  # 定向抽查: entities the task must inspect (from alerts or by hand)
        forced = f"({forced} OR g.uscc IN (SELECT uscc FROM task_targets WHERE task_id = {int(task.task_id)}))"
    trig = " OR ".join(
        f"({_labels_any([x.label])} AND g.grade IN ({', '.join(repr(gr) for gr in x.grades)}))"
        for x in cfg.trigger_only) or "false"
    exempt = ", ".join(repr(g) for g in cfg.frequency.except_grades) or "''"
    recent = (f"g.grade NOT IN ({exempt}) AND (i.last_inspected > {since} OR pl.last_planned > {since})"
              if cfg.frequency.min_months > 0 else "false")
    planned = ("SELECT pe.uscc, max(p.as_of) AS last_planned FROM plan_entities pe JOIN plans p USING (plan_id) "
               f"WHERE p.as_of < {t} GROUP BY pe.uscc")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_pop AS
        WITH insp AS (
            SELECT uscc, max(event_date) AS last_inspected FROM events
            WHERE event_type = 'inspection' AND event_date <= {t} AND reported_on <= {t} GROUP BY uscc),
        planned AS ({planned}),
        pop AS (
            SELECT g.uscc, e.region_code, g.grade, g.probability,
                   CASE WHEN {forced} THEN 'forced'
                        WHEN {trig} THEN 'trigger_only'
                        WHEN {recent} THEN 'recent'
                        ELSE 'random' END AS status
            FROM (SELECT uscc, grade, labels, probability FROM grades WHERE snapshot_id = {sid}) g
            JOIN (SELECT uscc, region_code FROM entities e WHERE e.status = 'active' AND {task.scope_sql('e')}) e
              USING (uscc)
            LEFT JOIN insp i USING (uscc)
            LEFT JOIN planned pl USING (uscc))
        SELECT *, CASE WHEN status IN ('random', 'forced') THEN sha256(? || '|' || uscc) END AS draw_key FROM pop
    """, [key_prefix])


@dataclass
class Allocation:
    """How many entities a draw takes, worked out once for the preview and the draw alike (:func:`allocate`):
    the lines by grade (``drawn``: the quota), the quota of every (grade, county) stratum and the forced ones."""
    lines: dict[str, GradeLine]
    notes: list[str]
    n_forced: int
    forced_pi: float
    forced_quota: int
    rates: object
    probs: dict
    source: str
    strata: list[tuple]
    quota: dict[tuple[str, str], int]

    @property
    def total(self) -> int:
        return sum(self.quota.values()) + self.forced_quota


def allocate(con: duckdb.DuckDBPyConnection, mode: str, cfg: SamplingConfig, *, as_of: dt.date,
             budget: int | None, optimise: bool) -> Allocation:
    """The allocation of a draw over the eligible population in ``plan_pop`` (:func:`_eligible`): counts by
    grade and status, rates (ratios fitted to the budget, floors, ceilings, or optimised), and the whole quota
    of every stratum.  The one function both the console's preview and :func:`make_plan` call, so that what
    the preview announces is what the draw takes (each stratum's quota is never above its size)."""
    grades = list(GRADE_SETS["five" if mode == "five" else "four"])
    counts = con.execute("SELECT grade, status, count(*) FROM plan_pop GROUP BY ALL").fetchall()
    if not counts:
        raise RiskgradeError(f"no active entity in the task's scope as of {as_of}")
    lines = {g: GradeLine(g) for g in grades}
    for g, status, n in counts:
        ln = lines[g]
        ln.in_scope += n
        if status == "random":
            ln.eligible += n
        elif status == "forced":
            ln.forced += n
        elif status == "recent":
            ln.recent += n
        else:
            ln.trigger_only += n
    notes: list[str] = []
    n_forced = sum(ln.forced for ln in lines.values())
    forced_pi = 1.0
    if budget is not None and n_forced > budget:
        forced_pi = budget / n_forced
        notes.append(f"{n_forced:,} entities are forced in by 100% triggers, more than the budget of {budget:,}: "
                     f"{budget:,} of them are drawn at random (probability {forced_pi:.4f}), none by grade")
    left = None if budget is None else max(budget - n_forced, 0)
    # what a finding is expected to be, per entity: the model's probability, else history
    probs = dict(con.execute("SELECT grade, avg(probability) FROM plan_pop WHERE probability IS NOT NULL "
                             "GROUP BY grade").fetchall())
    source = "model"
    if not probs:
        probs = historical_finding_rates(con, as_of)
        source = "history" if probs else "none"
    sizes = {g: lines[g].eligible for g in grades}
    ratios = {g: cfg.ratio(mode, g) for g in grades}
    if optimise:
        if budget is None:
            raise RiskgradeError("--optimise needs a --budget to allocate")
        if source == "none":
            raise RiskgradeError("--optimise needs the probability of a finding: no model probabilities and no "
                                 "past inspections to learn them from")
        means = {g: float(probs.get(g) or 0.0) for g in grades}
        rates = optimal_rates(sizes, means, cfg.floors, cfg.ceilings, left)
    else:
        rates = grade_rates(sizes, ratios, cfg.floors, cfg.ceilings, left)
    if rates.note:
        notes.append(rates.note)
    for g in grades:
        lines[g].ratio, lines[g].rate = ratios[g], rates.rates[g]
    strata = con.execute("SELECT grade, region_code, count(*), avg(probability) FROM plan_pop "
                         "WHERE status = 'random' GROUP BY ALL ORDER BY ALL").fetchall()
    targets = {(g, c): rates.rates[g] * n for g, c, n, _ in strata}
    total = None if left is None else min(left, int(sum(targets.values()) + 0.5 + 1e-9))
    quota = stratified_allocation(targets, total)
    for (g, _), q in quota.items():
        lines[g].drawn += q
    forced_quota = n_forced if budget is None else min(n_forced, budget)
    return Allocation(lines, notes, n_forced, forced_pi, forced_quota, rates, probs, source, strata, quota)


def preview(home: Path, as_of: dt.date, *, task: Task | None = None, budget: int | None = None,
            optimise: bool = False, sampling_path: Path | None = None, lock_timeout: float = 60.0) -> Allocation:
    """What :func:`make_plan` would draw for this task (an existing one, or one not yet created), read only:
    the same eligible population and the same :func:`allocate`.  The strata's draw keys are left out (the
    counts do not depend on the seed)."""
    cfg = load_sampling(sampling_path)
    if budget is not None and budget < 0:
        raise RiskgradeError("--budget must be 0 or more")
    with Warehouse(home, lock_timeout=lock_timeout) as wh:
        con = wh.con
        assert con is not None
        snap = con.execute("SELECT snapshot_id, grade_mode FROM snapshots WHERE as_of = ? "
                           "ORDER BY snapshot_id DESC LIMIT 1", [as_of]).fetchall() if table_exists(con, "snapshots") else []
        if not snap:
            raise RiskgradeError(f"no classification as of {as_of}")
        for t in ("plans", "plan_entities", "task_targets", "plan_results"):
            if not table_exists(con, t):  # a warehouse without a plan yet: the tables the draw reads, empty
                ddl = next(x for x in SCHEMA.split(";") if f" {t} (" in x)
                con.execute(ddl.replace(" IF NOT EXISTS", "").replace("CREATE", "CREATE TEMP", 1))
        _eligible(con, snap[0][0], as_of, task or DEFAULT_TASK, cfg, "")
        try:
            return allocate(con, snap[0][1], cfg, as_of=as_of, budget=budget, optimise=optimise)
        finally:
            con.execute("DROP TABLE IF EXISTS plan_pop")


def _population_hash(con: duckdb.DuckDBPyConnection) -> str:
    """sha256 of the published population file's lines ``<uscc>,<stratum>`` in USCC order (the data
    buffer of an Arrow string array holds its values one after the other: exactly those lines)."""
    import numpy as np
    import pyarrow as pa

    h = hashlib.sha256()
    table = con.execute("SELECT uscc || ',' || pub_stratum || chr(10) AS line FROM plan_frame ORDER BY uscc") \
        .to_arrow_table()
    for chunk in table.column("line").chunks:
        chunk = chunk.cast(pa.string())
        if len(chunk) == 0:
            continue
        _, offsets, data = chunk.buffers()
        off = np.frombuffer(offsets, dtype=np.int32)[chunk.offset: chunk.offset + len(chunk) + 1]
        h.update(memoryview(data)[int(off[0]): int(off[-1])])
    return h.hexdigest()


def make_plan(home: Path, as_of: dt.date, *, seed: str, budget: int | None = None, task_id: int | None = None,
              optimise: bool = False, sampling_path: Path | None = None, cross_county: bool | None = None,
              conflicts_path: Path | None = None, memory_limit: str | None = None, threads: int | None = None,
              lock_timeout: float = 60.0, progress=None) -> PlanOutcome:
    say = progress or (lambda m: None)
    cfg = load_sampling(sampling_path)
    if budget is not None and budget < 0:
        raise RiskgradeError("--budget must be 0 or more")
    if cross_county is not None:
        cfg.inspectors.cross_county = cross_county
    conflicts = {(c.inspector_id, c.uscc) for c in cfg.inspectors.conflicts}
    if conflicts_path:
        conflicts |= _read_conflicts(conflicts_path)
    seed = str(seed)
    with Warehouse(home, write=True, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout) as wh:
        con = wh.con
        assert con is not None
        ensure_schema(con)
        task = get_task(con, task_id) if task_id is not None else DEFAULT_TASK
        snap = con.execute("SELECT snapshot_id, grade_mode, content_hash FROM snapshots WHERE as_of = ? "
                           "ORDER BY snapshot_id DESC LIMIT 1", [as_of]).fetchall() if table_exists(con, "snapshots") else []
        if not snap:
            raise RiskgradeError(f"no classification as of {as_of}: run `riskgrade classify --as-of {as_of}` first")
        sid, mode, snap_hash = snap[0]
        grades = list(GRADE_SETS["five" if mode == "five" else "four"])
        committed = find_commitment(con, as_of, task.task_id)
        if committed is not None and seed_commitment(seed, as_of, task.task_id) != committed.commitment:
            raise RiskgradeError(f"--seed does not match the seed committed for this task as of {as_of} "
                                 f"(commitment {committed.commitment[:16]}…, made {committed.created_at})")
        salt = committed.salt if committed is not None else ""
        say(f"eligible population as of {as_of} (snapshot {sid}, task: {task.name})"
            + ("; seed matches its commitment" if committed is not None else "; no seed commitment: internal plan"))
        _eligible(con, sid, as_of, task, cfg, f"{seed}|{salt}" if salt else seed)
        a = allocate(con, mode, cfg, as_of=as_of, budget=budget, optimise=optimise)
        lines, notes, n_forced, forced_pi, rates = a.lines, a.notes, a.n_forced, a.forced_pi, a.rates
        probs, source, strata, quota, forced_quota = a.probs, a.source, a.strata, a.quota, a.forced_quota
        _temp_table(con, "plan_quota", {"grade": "string", "region_code": "string", "size": "int64", "quota": "int64",
                                        "stratum": "string"},
                    [(g, c, n, quota[(g, c)], stratum_id(g, c)) for g, c, n, _ in strata])
        written = ", ".join(repr(g) for g in cfg.written_check_grades) or "''"
        # a view: the drawable population with its stratum and quota (read twice, never copied)
        con.execute("CREATE OR REPLACE TEMP VIEW plan_frame AS "
                    "SELECT p.*, q.size, q.quota, "
                    "CASE WHEN p.status = 'forced' THEN 'F' ELSE q.stratum END AS pub_stratum "
                    "FROM plan_pop p LEFT JOIN plan_quota q USING (grade, region_code) "
                    "WHERE p.status IN ('random', 'forced')")
        # the draw: in each stratum the quota smallest keys (a top-k per stratum, no full sort)
        k_max = max(quota.values(), default=0)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE plan_drawn AS
            WITH winners AS (
                SELECT unnest(keys[1:q]) AS uscc
                FROM (SELECT pub_stratum, any_value(quota) AS q, min_by(uscc, draw_key, {max(k_max, 1)}) AS keys
                      FROM plan_frame WHERE status = 'random' AND quota > 0 GROUP BY pub_stratum)
                UNION ALL
                (SELECT uscc FROM plan_frame WHERE status = 'forced' ORDER BY draw_key LIMIT {forced_quota}))
            SELECT f.uscc, n.name, f.region_code, f.grade, f.pub_stratum AS stratum,
                   CASE WHEN f.status = 'forced' THEN 'forced' ELSE 'random' END AS selection,
                   CASE WHEN f.status = 'forced' THEN {forced_pi!r} ELSE f.quota / f.size END AS inclusion_probability,
                   f.draw_key,
                   CASE WHEN f.status = 'random' AND f.grade IN ({written}) THEN 'written' ELSE 'onsite' END AS check_mode,
                   f.probability AS risk_probability
            FROM winners w JOIN plan_frame f USING (uscc)
            JOIN (SELECT uscc, name FROM grades WHERE snapshot_id = {sid}) n USING (uscc)
        """)
        drawn = dict(con.execute("SELECT grade, count(*) FROM plan_drawn WHERE selection = 'random' GROUP BY grade").fetchall())
        for g in grades:
            lines[g].drawn = int(drawn.get(g, 0))

        # expected findings of this design against a uniform draw of the same size from the scope
        exp_total = uni_total = None
        if source != "none":
            n_plan = con.execute("SELECT count(*) FROM plan_drawn").fetchall()[0][0]
            fallback = probs if source == "history" else {}
            pop_mean = {}
            for g in grades:
                p_g = probs.get(g)
                lines[g].finding_rate = float(p_g) if p_g is not None else None
            per_stratum = {(g, c): (m if m is not None else fallback.get(g)) for g, c, _, m in strata}
            forced_mean = con.execute("SELECT grade, count(*), avg(probability) FROM plan_pop WHERE status = 'forced' "
                                      "GROUP BY grade").fetchall()
            in_scope = sum(ln.in_scope for ln in lines.values())
            for g in grades:
                e = sum(quota[k] * (per_stratum[k] or 0.0) for k in quota if k[0] == g)
                for fg, fn, fm in forced_mean:
                    if fg == g:
                        e += forced_pi * fn * float(fm if fm is not None else fallback.get(g) or 0.0)
                lines[g].expected = e
                pop_mean[g] = float(probs.get(g) or 0.0)
                lines[g].uniform_expected = n_plan * lines[g].in_scope / in_scope * pop_mean[g] if in_scope else 0.0
            exp_total = sum(ln.expected or 0.0 for ln in lines.values())
            uni_total = sum(ln.uniform_expected or 0.0 for ln in lines.values())

        # inspectors
        workload, unassigned = None, 0
        n_insp = con.execute("SELECT count(*) FROM inspectors").fetchall()[0][0]
        assigned: list[tuple[str, str]] = []
        if n_insp:
            say(f"matching inspectors ({n_insp:,} in the directory, domain {task.domain})")
            inspectors = [Inspector(i, u, frozenset(x for x in (d or "").split(";") if x))
                          for i, u, d in con.execute("SELECT inspector_id, unit_region_code, domains FROM inspectors "
                                                     "ORDER BY inspector_id").fetchall()]
            avoid: dict[str, set[str]] = {}
            if cfg.inspectors.avoid_last_inspectors:
                for uscc, ids in con.execute(f"""
                        SELECT uscc, arg_max(ids, k) FROM (
                            SELECT pe.uscc, pe.inspectors AS ids, p.as_of AS k FROM plan_entities pe
                            JOIN plans p USING (plan_id) WHERE p.as_of < DATE '{as_of}' AND pe.inspectors IS NOT NULL
                            UNION ALL
                            SELECT uscc, inspectors, event_date FROM plan_results
                            WHERE event_date <= DATE '{as_of}' AND inspectors IS NOT NULL)
                        WHERE uscc IN (SELECT uscc FROM plan_drawn) GROUP BY uscc""").fetchall():
                    avoid.setdefault(uscc, set()).update(x for x in ids.split(";") if x)
            for iid, uscc in conflicts:
                avoid.setdefault(uscc, set()).add(iid)
            order = con.execute("SELECT uscc, region_code FROM plan_drawn ORDER BY draw_key").fetchall()
            res = assign(order, inspectors, domain=task.domain, seed=seed,
                         per_inspection=cfg.inspectors.per_inspection, cross_county=cfg.inspectors.cross_county,
                         avoid=avoid)
            workload, unassigned = res.workload(), len(res.unassigned)
            if unassigned:
                first = next(iter(sorted(res.unassigned.items())))
                notes.append(f"{unassigned:,} drawn entities have no full inspector team (e.g. {first[0]}: {first[1]})")
            assigned = [(u, ";".join(ids)) for u, ids in res.inspectors.items()]
        _temp_table(con, "plan_assigned", {"uscc": "string", "inspectors": "string"}, assigned)

        pop_hash = _population_hash(con)
        content = con.execute("""
            SELECT md5(string_agg(concat_ws('|', d.uscc, d.grade, d.stratum, d.selection, d.inclusion_probability,
                                            d.check_mode, a.inspectors), '\n' ORDER BY d.uscc))
            FROM plan_drawn d LEFT JOIN plan_assigned a USING (uscc)""").fetchall()[0][0] or ""
        strata_pub = con.execute("""
            SELECT pub_stratum, count(*), any_value(CASE WHEN status = 'forced' THEN NULL ELSE quota END)
            FROM plan_frame GROUP BY pub_stratum ORDER BY pub_stratum""").fetchall()
        algorithm = ALGORITHM_COMMITTED if committed is not None else ALGORITHM
        manifest = {
            "algorithm": algorithm, "seed": seed,
            "commitment": committed.commitment if committed is not None else None,
            "salt_commitment": committed.salt_commitment if committed is not None else None, "as_of": as_of.isoformat(), "snapshot_id": sid,
            "snapshot_content_hash": snap_hash, "sampling_version": cfg.version, "task": task.describe(),
            "budget": budget, "optimise": optimise, "population_hash": pop_hash, "plan_content_hash": content,
            "forced": {"entities": n_forced, "drawn": forced_quota, "probability": forced_pi},
            "strata": [{"stratum": s, "size": n, "drawn": (forced_quota if s == "F" else q)} for s, n, q in strata_pub],
            "rates": {g: round(r, 8) for g, r in rates.rates.items()}, "floors_kept": rates.floors_kept,
            "probability_source": source, "notes": notes,
            "grades": [dict(ln.__dict__) for ln in lines.values()],
        }
        with wh.transaction():
            pid = int(con.execute("SELECT coalesce(max(plan_id), 0) + 1 FROM plans").fetchall()[0][0])
            n_rows = con.execute("SELECT count(*) FROM plan_drawn").fetchall()[0][0]
            con.execute("INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                pid, task.task_id, as_of, sid, seed, algorithm, cfg.version, pop_hash,
                sum(ln.eligible + ln.forced for ln in lines.values()), budget, optimise, n_rows,
                json.dumps(manifest, ensure_ascii=False), content, dt.datetime.now().replace(microsecond=0)])
            con.execute(f"""
                INSERT INTO plan_entities
                SELECT {pid}, d.uscc, d.name, d.region_code, d.grade, d.stratum, d.selection, d.inclusion_probability,
                       d.draw_key, d.check_mode, a.inspectors, d.risk_probability
                FROM plan_drawn d LEFT JOIN plan_assigned a USING (uscc) ORDER BY d.uscc""")
            con.execute(f"INSERT INTO plan_population SELECT {pid}, uscc, pub_stratum FROM plan_frame")
        con.execute("DROP VIEW IF EXISTS plan_frame; DROP TABLE IF EXISTS plan_pop; DROP TABLE IF EXISTS plan_drawn; "
                    "DROP TABLE IF EXISTS plan_quota; DROP TABLE IF EXISTS plan_assigned")
    return PlanOutcome(pid, task, as_of, seed, int(n_rows), [lines[g] for g in grades], manifest, content,
                       exp_total, uni_total, source, workload, unassigned, notes)


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """A temporary table from Python rows (created in one statement from Arrow)."""
    import pyarrow as pa

    cols = list(zip(*rows)) if rows else [[] for _ in columns]
    table = pa.table({c: pa.array(list(v), type=getattr(pa, t)()) for (c, t), v in zip(columns.items(), cols)})
    con.register(f"{name}_arrow", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")


def _read_conflicts(path: Path) -> set[tuple[str, str]]:
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise RiskgradeError(f"cannot read {path}: {e.strerror}") from None
    if rows and not {"inspector_id", "uscc"} <= set(rows[0]):
        raise RiskgradeError(f"{path}: a conflict list needs the columns inspector_id and uscc")
    return {(r["inspector_id"].strip(), r["uscc"].strip().upper()) for r in rows}


PLAN_COLUMNS = ("uscc, name, region_code, grade, inclusion_probability, inspectors, selection, check_mode, stratum, "
                "risk_probability")


def plan_query(plan_id: int) -> str:
    """The plan file's rows (contract: uscc, grade, inclusion_probability, inspectors), in USCC order."""
    return f"SELECT {PLAN_COLUMNS} FROM plan_entities WHERE plan_id = {int(plan_id)} ORDER BY uscc"
