"""Early warning: quality against the simulated province's ground truth, and speed at scale.

Quality (precision, recall, lead time, suppressed share):

    python benchmarks/bench_warn.py quality --entities 50000 --seed 2 --months 24

simulates a province (parquet), splits it into an initial delivery (everything reported before the
last ``--months`` months) and one delivery per month after that (each entity in the month it was
established, each record in the month it was reported), then ingests the initial delivery, runs
``warn``, and for every month ingests that month's delivery and runs ``warn`` again - what a
province doing monthly deliveries would see.  The alerts raised in the monthly runs are compared
with ``_truth/entities.parquet``:

* shell-cluster rule (``registration_cluster``) against ``is_shell`` / ``cluster_id``: entity and
  cluster precision and recall over the clusters formed during the monthly period, and the lag from
  a cluster's first registration to the alert (record date and run);
* the monthly open queue (:func:`queue_quality`): entities per 10,000 active and the true lift of a
  violation found (6 and 12 months) and of any adverse result, queued and kept out (muted, uncorroborated);
* turned-risky rule (``complaint_surge``) against ``risk_change_on`` / ``risk_after``: an alert is
  right when its entity turned risky on or before the alert's date; recall over the entities that
  turned risky during the period (at least 90 days before its end), and the lead time from the
  change to the alert; also the ceiling any count rule has (entities with >= 3 complaints in 90 days
  after turning).

Once (a province warned once, as an independent one trying the system would be):

    python benchmarks/bench_warn.py once --entities 200000 --seed 11

ingests the whole simulated delivery, runs ``warn`` once and compares the entities of its alerts - all of
them, and those in the open queue - with the violation truth of the 12 and 6 months after the delivery's end.

Speed (issue target: an incremental run over 1M new records on a 10M-entity province in under 60 s):

    python benchmarks/bench_warn.py speed --entities 10000000 --new 1000000 --repeat 3

(``--compare DIR``: side by side with another checkout's code, see :func:`compare`) builds (once) a synthetic province as two Parquet deliveries written by DuckDB (the simulator would
take hours at 10M entities and 190M records): the history - N entities in Shandong's counties (0.5%
in clusters of 8 at one address), 4 records per entity over three years (complaints, registration
changes, inspections, licences, annual reports) - and a month of ``--new`` records of the same mix
plus listings, all-zero reports, 1,000 bursts of five complaints and 1% new entities (a fifth of
them in clusters of 10 at one address).  Both go through the real ``ingest``; the history is marked
as already warned (the watermark a province running ``warn`` every month would have).  The timed
step is ``warn`` after the month's delivery, on a fresh copy of the home for every repeat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _q(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- quality
def split_monthly(src: Path, dst: Path, months: int, end: dt.date) -> list[Path]:
    """The simulated delivery as an initial delivery plus one per month (by establishment / report date)."""
    start = end.replace(day=1)
    for _ in range(months - 1):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    bounds = [start]
    while len(bounds) <= months:
        b = bounds[-1]
        bounds.append((b.replace(day=28) + dt.timedelta(days=4)).replace(day=1))
    if dst.exists():
        shutil.rmtree(dst)
    con = duckdb.connect()
    ev = str(src / "events*") if not (src / "events").is_dir() else str(src / "events" / "*.parquet")
    con.execute(f"CREATE VIEW ent AS SELECT * FROM read_parquet('{src}/entities*.parquet')")
    con.execute(f"CREATE VIEW evt AS SELECT * FROM read_parquet('{ev}')")
    folders = []
    for i, (lo, hi) in enumerate([(None, bounds[0])] + list(zip(bounds[:-1], bounds[1:]))):
        d = dst / f"{i:03d}"
        d.mkdir(parents=True)
        lo_e = f"CAST(established_on AS DATE) >= DATE '{lo}' AND " if lo else ""
        lo_v = f"coalesce(CAST(reported_on AS DATE), CAST(event_date AS DATE)) >= DATE '{lo}' AND " if lo else ""
        con.execute(f"COPY (SELECT * FROM ent WHERE {lo_e} CAST(established_on AS DATE) < DATE '{hi}') "
                    f"TO '{d}/entities.parquet' (FORMAT parquet)")
        con.execute(f"COPY (SELECT * FROM evt WHERE {lo_v} coalesce(CAST(reported_on AS DATE), "
                    f"CAST(event_date AS DATE)) < DATE '{hi}') TO '{d}/events.parquet' (FORMAT parquet)")
        if i == 0:
            for t in ("relations", "inspectors", "domain_grades"):
                if (src / f"{t}.parquet").exists():
                    shutil.copy(src / f"{t}.parquet", d / f"{t}.parquet")
        folders.append(d)
    return folders


def once(a) -> int:
    """One ``warn`` over a whole simulated delivery: its alerts' and its queue's share of the active entities
    and true lift (violation found, 12 and 6 months; any adverse result, 12 months), printed as JSON."""
    from riskgrade.ingest.pipeline import ingest
    from riskgrade.simulate.truth import adverse_probability
    from riskgrade.warehouse import Warehouse
    from riskgrade.warning import run_warn

    d = a.work / f"delivery-warn-{a.entities}-s{a.seed}"
    if not d.exists():
        from riskgrade.simulate import generate

        generate(d, a.entities, a.seed, fmt="parquet")
    home = a.work / f"home-warn-once-{a.entities}-s{a.seed}"
    shutil.rmtree(home, ignore_errors=True)
    ingest(home, d)
    r = run_warn(home, rules_path=a.rules)
    with Warehouse(home) as wh:
        m = wh.con.execute("""SELECT a.status, m.uscc FROM alerts a JOIN alert_members m USING (alert_id)
                              WHERE a.scope <> 'area'""").df()
    out = {"entities": a.entities, "seed": a.seed, "ref_date": str(r.ref_date), "new_alerts": r.by_status}
    pa = adverse_probability(d / "_truth", r.ref_date, 12).set_index("uscc")
    act = pa["active_at"]
    pv = {h: violation_probability(d / "_truth", r.ref_date, h) for h in (12, 6)}
    for name, us in (("all_alerts", m.uscc.unique()), ("queue", m.loc[m.status == "open", "uscc"].unique())):
        out[name] = {"entities": len(us), "share_of_active": round(len(us) / int(act.sum()), 4),
                     "lift_v12": round(pv[12].loc[us].mean() / pv[12][act.to_numpy()].mean(), 2),
                     "lift_v6": round(pv[6].loc[us].mean() / pv[6][act.to_numpy()].mean(), 2),
                     "lift_a12": round(pa.loc[us, "p_adverse"].mean() / pa.loc[act, "p_adverse"].mean(), 2)}
    print(json.dumps(out, indent=1))
    return 0


def quality(a) -> int:
    from riskgrade.ingest.pipeline import ingest
    from riskgrade.warning import run_warn

    d = a.work / f"delivery-warn-{a.entities}-s{a.seed}"
    if not d.exists():
        from riskgrade.simulate import generate

        generate(d, a.entities, a.seed, fmt="parquet")
    summary = json.loads((d / "_truth" / "summary.json").read_text())
    end = dt.date.fromisoformat(summary["end"])
    parts = split_monthly(d, a.work / f"monthly-{a.entities}-s{a.seed}", a.months, end)
    home = a.work / f"home-warn-{a.entities}-s{a.seed}"
    shutil.rmtree(home, ignore_errors=True)
    t_ingest = t_warn = 0.0
    for i, p in enumerate(parts):
        t0 = time.perf_counter()
        ingest(home, p)
        t1 = time.perf_counter()
        r = run_warn(home, rules_path=a.rules)
        t2 = time.perf_counter()
        t_ingest += t1 - t0
        t_warn += (t2 - t1) if i else 0.0
        print(f"{p.name}: ingest {t1 - t0:.1f} s, warn {t2 - t1:.1f} s, {r.new_records:,} new records, "
              f"{r.total('raw'):,} raw hits, {r.total('alerts'):,} alerts", file=sys.stderr)
    res = evaluate(home, d / "_truth" / "entities.parquet", end, a.months)
    res["queue"] = queue_quality(home, d / "_truth")
    res["seconds"] = {"ingest_total": round(t_ingest, 1), "warn_monthly_total": round(t_warn, 1),
                      "warn_monthly_median": None}
    print(json.dumps(res, indent=2, ensure_ascii=False, default=str))
    return 0


def evaluate(home: Path, truth: Path, end: dt.date, months: int) -> dict:
    from riskgrade.warehouse import Warehouse

    with Warehouse(home) as wh:
        con = wh.con
        con.execute(f"CREATE TEMP VIEW t AS SELECT * FROM read_parquet('{truth}')")
        start = _q(con, "SELECT ref_date FROM warn_runs WHERE run_id = 1")[0][0]
        con.execute("""CREATE TEMP TABLE al AS
            SELECT a.*, m.uscc, r.ref_date AS run_date FROM alerts a JOIN alert_members m USING (alert_id)
            JOIN warn_runs r ON r.run_id = a.run_id WHERE a.run_id > 1""")
        out: dict = {"period": [str(start), str(end)], "entities": _q(con, "SELECT count(*) FROM t")[0][0]}
        # ---- suppression over the monthly runs
        runs = _q(con, "SELECT counts FROM warn_runs WHERE run_id > 1")
        tot: dict[str, dict[str, int]] = {}
        for (c,) in runs:
            for rule, v in json.loads(c).items():
                for k, n in v.items():
                    tot.setdefault(rule, {}).setdefault(k, 0)
                    tot[rule][k] += n
        raw = sum(v["raw"] for v in tot.values())
        alerts = sum(v["alerts"] for v in tot.values())
        out["suppression"] = {"raw_hits": raw, "alerts": alerts, "share_suppressed": round(1 - alerts / max(raw, 1), 3),
                              "by_rule": {r: {"raw": v["raw"], "alerts": v["alerts"],
                                              "share": round(1 - v["alerts"] / v["raw"], 3) if v["raw"] else None}
                                          for r, v in sorted(tot.items())}}
        out["alerts_by_rule"] = dict(_q(con, "SELECT rule, count(DISTINCT alert_id) FROM al GROUP BY 1 ORDER BY 1"))
        # ---- shell clusters
        con.execute(f"""CREATE TEMP TABLE cl AS SELECT cluster_id, count(*) AS size, min(established_on) AS first_on,
                            max(established_on) AS last_on FROM t WHERE is_shell GROUP BY 1
                        HAVING min(established_on) >= DATE '{start}'""")
        sc = _q(con, """
            WITH m AS (SELECT al.alert_id, al.uscc, al.raised_on, al.run_date, t.is_shell, t.cluster_id
                       FROM al JOIN t USING (uscc) WHERE al.rule = 'registration_cluster'),
            a AS (SELECT alert_id, count(*) AS n, count(*) FILTER (is_shell) AS shells FROM m GROUP BY 1),
            det AS (SELECT c.cluster_id, c.size, c.first_on, c.last_on, min(m.raised_on) AS raised_on,
                           min(m.run_date) AS run_date, count(DISTINCT m.uscc) AS found
                    FROM cl c JOIN m USING (cluster_id) GROUP BY ALL)
            SELECT (SELECT count(*) FROM m), (SELECT count(*) FILTER (is_shell) FROM m),
                   (SELECT count(*) FROM a), (SELECT count(*) FILTER (shells * 2 > n) FROM a),
                   (SELECT count(*) FROM cl), (SELECT count(*) FROM det),
                   (SELECT sum(size) FROM cl), (SELECT sum(found) FROM det),
                   (SELECT median(raised_on - first_on) FROM det), (SELECT median(run_date - first_on) FROM det),
                   (SELECT quantile_cont(raised_on - first_on, 0.9) FROM det),
                   (SELECT count(*) FILTER (raised_on <= last_on) FROM det)""")[0]
        out["shell_cluster"] = {
            "member_rows": sc[0], "precision_entities": round(sc[1] / max(sc[0], 1), 3),
            "alerts": sc[2], "precision_alerts": round(sc[3] / max(sc[2], 1), 3),
            "clusters_formed": sc[4], "recall_clusters": round(sc[5] / max(sc[4], 1), 3),
            "recall_entities": round((sc[7] or 0) / max(sc[6] or 0, 1), 3),
            "days_first_registration_to_raised_on_median": sc[8],
            "days_first_registration_to_raised_on_p90": sc[10],
            "days_first_registration_to_run_median": sc[9],
            "raised_before_last_member_registered": sc[11]}
        # ---- turned risky
        horizon = end - dt.timedelta(days=90)
        con.execute(f"""CREATE TEMP TABLE tr AS SELECT uscc, risk_change_on, base_risk, risk_after FROM t
                        WHERE NOT is_shell AND risk_change_on >= DATE '{start}' AND risk_change_on <= DATE '{horizon}'
                          AND risk_after > base_risk""")
        for rule in ("complaint_surge",):
            r = _q(con, f"""
                WITH a AS (SELECT al.alert_id, al.uscc, al.raised_on, al.run_date, t.risk_change_on, t.base_risk,
                                  t.risk_after, t.is_shell,
                                  CASE WHEN t.risk_change_on <= al.raised_on THEN t.risk_after ELSE t.base_risk END AS risk
                           FROM al JOIN t USING (uscc) WHERE al.rule = '{rule}'),
                first AS (SELECT tr.uscc, min(a.raised_on - tr.risk_change_on) AS lead,
                                 min(a.run_date - tr.risk_change_on) AS lead_run
                          FROM tr JOIN a ON a.uscc = tr.uscc AND a.raised_on >= tr.risk_change_on GROUP BY 1),
                ceiling AS (SELECT count(DISTINCT tr.uscc) AS n FROM tr JOIN (
                              SELECT uscc, event_date, count(*) OVER (PARTITION BY uscc ORDER BY event_date
                                  RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW) AS k
                              FROM events WHERE event_type = 'complaint') c
                            ON c.uscc = tr.uscc AND c.event_date >= tr.risk_change_on AND c.k >= 3)
                SELECT (SELECT count(*) FROM a),
                       (SELECT count(*) FILTER (risk_change_on IS NOT NULL AND risk_change_on <= raised_on) FROM a),
                       (SELECT count(*) FILTER (risk >= 0.5 OR is_shell) FROM a),
                       (SELECT count(*) FROM tr), (SELECT count(*) FROM first),
                       (SELECT median(lead) FROM first), (SELECT quantile_cont(lead, 0.25) FROM first),
                       (SELECT quantile_cont(lead, 0.75) FROM first), (SELECT median(lead_run) FROM first),
                       (SELECT n FROM ceiling),
                       (SELECT count(*) FROM t WHERE risk_change_on IS NULL AND NOT is_shell)""")[0]
            years = (end - start).days / 365.25
            never = _q(con, f"""SELECT count(DISTINCT al.uscc) FROM al JOIN t USING (uscc)
                               WHERE al.rule = '{rule}' AND t.risk_change_on IS NULL AND NOT t.is_shell""")[0][0]
            out["turned_risky"] = {
                "rule": rule, "alerts": r[0], "precision_turned": round(r[1] / max(r[0], 1), 3),
                "precision_latent_risk_0_5": round(r[2] / max(r[0], 1), 3),
                "turned_in_period": r[3], "recall": round(r[4] / max(r[3], 1), 3),
                "lead_days_median": r[5], "lead_days_p25": r[6], "lead_days_p75": r[7], "lead_days_run_median": r[8],
                "ceiling_entities_with_3_in_90_days_after_change": r[9],
                "ceiling_recall": round(r[9] / max(r[3], 1), 3),
                "false_alarm_entities_per_1000_never_turned_per_year": round(
                    1000 * never / max(r[10], 1) / max(years, 1e-9), 3)}
        # ---- any entity rule on turned-risky entities (context)
        anyr = _q(con, """SELECT count(DISTINCT tr.uscc) FROM tr JOIN al ON al.uscc = tr.uscc
                          AND al.raised_on >= tr.risk_change_on AND al.scope = 'entity'""")[0][0]
        out["turned_risky"]["recall_any_entity_rule"] = round(anyr / max(out["turned_risky"]["turned_in_period"], 1), 3)
    return out


def violation_probability(truth: Path, as_of: dt.date, months: int) -> pd.Series:
    """USCC -> the probability that an inspection on a random day of the ``months`` after ``as_of`` finds a
    violation (problem, unreachable, refused: not an on-the-spot correction, not a closed business)."""
    from riskgrade.simulate.truth import violation_probability as p_violation

    return p_violation(truth, as_of, months).set_index("uscc")["p_violation"]


def queue_quality(home: Path, truth: Path) -> dict:
    """The monthly open queue (the entities of each monthly run's new entity and cluster alerts that are
    neither muted nor uncorroborated) against the ground truth: its size per 10,000 active entities and its
    true lift - the queued entities' mean probability of a violation found (6 and 12 months) and of any
    adverse result (12 months) over the active entities' - pooled over the runs; and the same for every
    alert raised, and for the alerts kept out of the queue."""
    from riskgrade.simulate.truth import adverse_probability
    from riskgrade.warehouse import Warehouse

    with Warehouse(home) as wh:
        runs = _q(wh.con, "SELECT run_id, ref_date FROM warn_runs WHERE run_id > 1 ORDER BY 1")
        m = wh.con.execute("""SELECT a.run_id, a.status, m.uscc FROM alerts a JOIN alert_members m USING (alert_id)
                              WHERE a.scope <> 'area' AND a.run_id > 1""").df()
    held = m.status.isin(["muted", "uncorroborated"])
    groups = {"queue": m[~held], "all_alerts": m, "kept_out": m[held], "uncorroborated": m[m.status == "uncorroborated"]}
    sums = {g: {"n": 0, "v12": 0.0, "bv12": 0.0, "v6": 0.0, "bv6": 0.0, "a12": 0.0, "ba12": 0.0} for g in groups}
    shares = []
    for run_id, ref in runs:
        p = adverse_probability(truth, ref, 12)
        act = p["active_at"].to_numpy()
        pa_ = p.set_index("uscc")["p_adverse"]
        v12, v6 = violation_probability(truth, ref, 12), violation_probability(truth, ref, 6)
        base = {"v12": v12[act].mean(), "v6": v6[act].mean(), "a12": pa_[act].mean()}
        for g, x in groups.items():
            q = x.loc[x.run_id == run_id, "uscc"].unique()
            if g == "queue":
                shares.append(len(q) / act.sum())
            s = sums[g]
            s["n"] += len(q)
            for k, ser in (("v12", v12), ("v6", v6), ("a12", pa_)):
                s[k] += float(ser.loc[q].sum())
                s["b" + k] += len(q) * base[k]
    out = {"runs": len(runs), "per_10000_active_mean": round(1e4 * float(np.mean(shares)), 1) if shares else None,
           "per_10000_active_max": round(1e4 * max(shares), 1) if shares else None}
    for g, s in sums.items():
        out[g] = {"entity_months": s["n"], **{f"lift_{k}": round(s[k] / s["b" + k], 3) if s["b" + k] else None
                                               for k in ("v12", "v6", "a12")}}
    return out


# --------------------------------------------------------------------------- speed
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _uscc_sql(body: str) -> str:
    """A valid USCC (GB 32100 check character computed in SQL) from a 17-character SQL expression."""
    terms = " + ".join(f"(instr('{ALPHABET}', substr(b, {k + 1}, 1)) - 1) * {w}" for k, w in enumerate(WEIGHTS))
    return f"(SELECT b || substr('{ALPHABET}', ((31 - ({terms}) % 31) % 31) + 1, 1) FROM (SELECT {body} AS b))"


def write_synthetic(folder: Path, n: int, new: int, memory_limit: str = "6GB") -> tuple[Path, Path]:
    """Two deliveries as Parquet files: the history (N entities, 4 records each over three years) and a month
    (``new`` records of the usual mix, listings, bursts of complaints, 1% new entities, some in clusters)."""
    from riskgrade.codes.regions import counties

    regions = [c.code for c in counties("37")]
    hist, month = folder / "history", folder / "month"
    for d in (hist, month):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("CREATE TABLE regions AS SELECT unnest(?) AS region_code, generate_subscripts(?, 1) - 1 AS k",
                [regions, regions])
    code = _uscc_sql("'9' || CASE WHEN i % 4 = 0 THEN '2' ELSE '1' END || r.region_code || lpad(i::VARCHAR, 9, '0')")
    con.execute(f"""
        CREATE TABLE syn AS
        SELECT i, r.region_code, {code} AS uscc FROM range({n}) t(i) JOIN regions r ON r.k = i % {len(regions)}""")
    con.execute(f"""
        COPY (SELECT uscc, '企业' || i AS name, CASE WHEN i % 4 = 0 THEN 'individual' ELSE 'enterprise' END AS entity_type,
                     region_code, (['5211', '6210', '7241', '5292', '4710', '6110'])[i % 6 + 1] AS industry_code,
                     CASE WHEN i % 200 = 0 THEN DATE '2025-03-01' + (i // 200 % 8)::INTEGER * 3
                          ELSE DATE '2015-01-01' + (hash(i) % 3650)::INTEGER END AS established_on,
                     CASE WHEN i % 200 = 0 THEN '某市某路' || (i // 1600) || '号' ELSE '某市某路' || i || '号' END AS address,
                     'P' || i AS legal_rep_id, 'T' || i AS phone_id
              FROM syn) TO '{hist}/entities.parquet' (FORMAT parquet)""")
    mix = """(SELECT * FROM (VALUES (0, 'complaint', '价格', '12315', 'TS', 1.0),
                (1, 'registration_change', 'address', '市场监管局', 'BG', NULL),
                (2, 'inspection', 'pass', 'general', 'JC', NULL),
                (3, 'admin_license', 'granted', '行政审批服务局', 'XK', NULL),
                (4, 'annual_report', '2024', '市场监管局', 'NB', 250000.0)) v(k, event_type, detail, source, prefix, amount))"""
    con.execute(f"""
        COPY (SELECT t.prefix || s.i || '-' || j AS record_id, s.uscc, t.event_type,
                     DATE '2023-01-01' + (hash(s.i, j) % 1095)::INTEGER AS event_date,
                     DATE '2023-01-01' + (hash(s.i, j) % 1095)::INTEGER + 3 AS reported_on, t.source, t.detail, t.amount,
                     CASE WHEN t.event_type = 'admin_license' THEN DATE '2023-01-01' + (hash(s.i, j) % 1095)::INTEGER
                          + 1825 END AS end_date
              FROM syn s, range(4) r(j), {mix} t WHERE t.k = hash(s.i, j, 1) % 5)
        TO '{hist}/events.parquet' (FORMAT parquet)""")
    k_new = n // 100
    code = _uscc_sql("'92370102' || lpad((i + 500000000)::VARCHAR, 9, '0')")
    con.execute(f"""
        COPY (SELECT {code} AS uscc, '新设' || i AS name, 'individual' AS entity_type, '370102' AS region_code,
                     '5211' AS industry_code, DATE '2026-01-01' + (i % 28)::INTEGER AS established_on,
                     CASE WHEN i % 50 < 10 THEN '济南市新区某大厦' || (i // 50) || '室' ELSE '新址' || i END AS address,
                     'Q' || i AS legal_rep_id, 'U' || i AS phone_id
              FROM range({k_new}) t(i)) TO '{month}/entities.parquet' (FORMAT parquet)""")
    mix = """(SELECT * FROM (VALUES
                (0, 'complaint', '价格', '12315', 'TS', 1.0), (1, 'complaint', '质量', '12315', 'TS', 0.0),
                (2, 'registration_change', 'legal_rep', '市场监管局', 'BG', NULL),
                (3, 'inspection', 'problem', 'general', 'JC', NULL),
                (4, 'admin_license', 'granted', '行政审批服务局', 'XK', NULL),
                (5, 'annual_report', '2025', '市场监管局', 'NB', 0.0),
                (6, 'serious_dishonest_in', NULL, '市场监管局', 'YZ', NULL),
                (7, 'tax_abnormal_in', NULL, '税务局', 'FZ', NULL),
                (8, 'abnormal_list_in', 'unreachable_address', '市场监管局', 'YC', NULL))
                v(k, event_type, detail, source, prefix, amount))"""
    bursts = min(1000, new // 100)
    con.execute(f"""
        COPY (WITH pick AS (SELECT uscc, row_number() OVER (ORDER BY hash(i)) - 1 AS i FROM syn
                            ORDER BY hash(i) LIMIT {min(new - 5 * bursts, n)})
              SELECT 'N' || t.prefix || p.i AS record_id, p.uscc, t.event_type,
                     DATE '2026-01-01' + (hash(p.i) % 31)::INTEGER AS event_date,
                     DATE '2026-01-01' + (hash(p.i) % 31)::INTEGER + 2 AS reported_on, t.source, t.detail, t.amount,
                     CASE WHEN t.event_type = 'admin_license' THEN DATE '2031-01-01' END AS end_date
              FROM pick p, {mix} t
              WHERE t.k = CASE WHEN hash(p.i, 3) % 100 < 2 THEN 6 + hash(p.i) % 3
                               WHEN hash(p.i, 3) % 100 < 4 THEN 5 ELSE hash(p.i, 5) % 5 END
              UNION ALL  -- bursts: entities with five complaints in the month
              SELECT 'NB' || p.i || '-' || j, p.uscc, 'complaint', DATE '2026-01-05' + j::INTEGER,
                     DATE '2026-01-07' + j::INTEGER, '12315', '质量', 1.0, NULL
              FROM (SELECT * FROM pick WHERE i < {bursts}) p, range(5) r(j))
        TO '{month}/events.parquet' (FORMAT parquet)""")
    return hist, month


def build_synthetic(home: Path, n: int, new: int, memory_limit: str) -> None:
    """Ingest the history, mark it as already warned (a province that has run warn all along), ingest the month."""
    from riskgrade.ingest.pipeline import ingest

    hist, month = write_synthetic(home.parent / f"synthetic-{n}-{new}", n, new, memory_limit)
    shutil.rmtree(home, ignore_errors=True)
    for d in (hist, month):
        t0 = time.perf_counter()
        r = ingest(home, d, memory_limit=memory_limit)
        print(f"ingested {d.name}: {sum(t.accepted for t in r.tables.values()):,} rows accepted, "
              f"{sum(t.quarantined for t in r.tables.values()):,} quarantined ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr)
        if d is hist:
            _mark_history_seen(home)


def speed(a) -> int:
    from riskgrade.warning import run_warn

    if a.compare:
        return compare(a)
    base = a.work / f"home-warn-synthetic-{a.entities}-{a.new}"
    if not (base / "warehouse.duckdb").exists():
        t0 = time.perf_counter()
        build_synthetic(base, a.entities, a.new, a.memory_limit)
        print(f"built synthetic home in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    work = a.work / "home-warn-synthetic-run"
    times, cpu, res = [], [], None
    for i in range(a.repeat):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(base, work)
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_warn(work, memory_limit=a.memory_limit, progress=lambda m: print(m, file=sys.stderr))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # every thread's CPU time: less moved by a busy shared machine
        print(f"run {i + 1}: {times[-1]:.1f} s, CPU {cpu[-1]:.1f} s, {res.new_records:,} new records, "
              f"{res.total('raw'):,} raw hits, {res.total('alerts'):,} alerts", file=sys.stderr)
    if res is None:
        return 0  # --repeat 0: the home is built
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"entities": a.entities, "new_records": res.new_records, "new_entities": res.new_entities,
                      "raw_hits": res.total("raw"), "alerts": res.total("alerts"),
                      "by_rule": {k: v["alerts"] for k, v in sorted(res.counts.items())},
                      "median_s": round(statistics.median(times), 2), "runs_s": [round(t, 2) for t in times],
                      "cpu_s": [round(t, 2) for t in cpu],
                      "peak_rss_gib": round(peak, 2)}))
    return 0


# one timed warn in a fresh process, with the riskgrade of PYTHONPATH: argv = home, work copy, memory limit
_ONE_RUN = """
import json, resource, shutil, sys, time
from pathlib import Path
from riskgrade.warning import run_warn
home, work, memory_limit = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
shutil.copytree(home, work)
t0, c0 = time.perf_counter(), time.process_time()
res = run_warn(work, memory_limit=memory_limit)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
shutil.rmtree(work, ignore_errors=True)
print(json.dumps({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "alerts": res.total("alerts"),
                  "raw_hits": res.total("raw"), "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))
"""


def _one_run(code: Path, home: Path, work: Path, memory_limit: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    p = subprocess.run([sys.executable, "-c", _ONE_RUN, str(home), str(work), memory_limit], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"warn with the code in {code} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def compare(a) -> int:
    """``speed --compare DIR``: warn with this checkout's code and with DIR's (another checkout, e.g. a git worktree of
    an older commit), alternating, each run in a fresh process on a fresh copy of one home; medians and ratios of wall
    and CPU time (every thread of the process: less moved than wall time by a busy shared machine).

    The home is built with DIR's code (its ingest), then opened once by this code: the columns it adds to an older
    store are added now, a one-off migration outside the timed runs, and the schema version is set back to the older
    code's so that both can open it."""
    mine, other = HERE.parent, a.compare.resolve()
    home = a.work / f"home-warn-compare-{a.entities}-{a.new}"
    if not (home / "warehouse.duckdb").exists():
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, str(Path(__file__).resolve()), "speed", "--entities", str(a.entities),
                            "--new", str(a.new), "--repeat", "0", "--memory-limit", a.memory_limit,
                            "--work", str(a.work)], env={**os.environ, "PYTHONPATH": str(other)})
        if p.returncode != 0:
            raise SystemExit("building the home with the older code failed")
        built = a.work / f"home-warn-synthetic-{a.entities}-{a.new}"
        _premigrate(built)
        shutil.rmtree(home, ignore_errors=True)
        built.rename(home)
        print(f"built and migrated the home in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    runs: dict[str, list[dict]] = {"current": [], "other": []}
    for i in range(a.repeat):
        for name, code in (("other", other), ("current", mine)) if i % 2 else (("current", mine), ("other", other)):
            load = os.getloadavg()[0]
            r = _one_run(code, home, a.work / "home-warn-compare-run", a.memory_limit)
            runs[name].append({**r, "load_1min": round(load, 1)})
            print(f"run {i + 1} {name}: {r['wall_s']} s, CPU {r['cpu_s']} s, {r['alerts']:,} alerts "
                  f"(load {load:.1f})", file=sys.stderr)
    med = {n: {k: round(statistics.median(x[k] for x in rs), 2) for k in ("wall_s", "cpu_s")} for n, rs in runs.items()}
    print(json.dumps({"entities": a.entities, "new_records": a.new, "current": str(mine), "other": str(other),
                      "median": med, "ratio_current_to_other": {
                          k: round(med["current"][k] / med["other"][k], 3) for k in ("wall_s", "cpu_s")},
                      "runs": runs}))
    return 0


def _premigrate(home: Path) -> None:
    """Open a home written by older code with this code (adding its columns), then set the schema version back."""
    from riskgrade.warehouse import Warehouse

    con = duckdb.connect(str(home / "warehouse.duckdb"))
    version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0]
    con.close()
    with Warehouse(home, write=True) as wh:
        wh.con.execute("CHECKPOINT")
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [version])
    con.execute("CHECKPOINT")
    con.close()


def _mark_history_seen(home: Path) -> None:
    from riskgrade.warehouse import Warehouse
    from riskgrade.warning.tables import ensure_schema

    with Warehouse(home, write=True) as wh:
        ensure_schema(wh.con)
        with wh.transaction():
            wh.con.execute("""INSERT INTO warn_runs (run_id, started_at, finished_at, delivery_from, delivery_to,
                                  snapshot_to, ref_date, rules_version)
                              SELECT 1, now(), now(), 0, max(delivery_id), 0, DATE '2025-12-31', 'history'
                              FROM deliveries""")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["quality", "once", "speed"])
    ap.add_argument("--entities", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--rules", type=Path, default=None, help="a warning-rule catalog to evaluate instead")
    ap.add_argument("--new", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    ap.add_argument("--compare", type=Path, default=None,
                    help="speed: another checkout (e.g. a git worktree of an older commit) to run alternately with this one")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    return {"quality": quality, "once": once, "speed": speed}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
