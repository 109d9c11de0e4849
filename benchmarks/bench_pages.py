"""Console page times at province scale (issue 19 item 9): every page a user opens, timed from a signed-in client.

    python benchmarks/bench_pages.py --entities 1000000 --requests 15

Builds (or reuses) the province the API benchmark builds (``bench_api.py``: the simulated delivery, ingested,
classified with the expert scorecard, published to PostgreSQL ``riskgrade_bench_<N>``), here with two months
(2026-08-31 and 2026-09-30, so the dashboard has a month-over-month migration), early-warning alerts and an
inspection plan; adds a province credit officer, a county officer and an auditor; starts
``riskgrade serve --workers 2`` and opens each page ``--requests`` times, the pages taken in turn (round robin), so
that the load of a shared machine falls on all of them alike.  Prints, per page, the median and p95 of the wall
time of the whole request (server time plus a loopback hop), and its ratio to the user guide (``/help``, a
page rendered once and kept, that reads nothing) measured in the same rounds.

``--compare`` also times, in this process, the dashboard's figures read from the monthly summaries against the
same figures aggregated from the grades on the fly (the code before the summaries), alternately.

``--baseline DIR``: also start ``riskgrade serve`` from another checkout (``DIR``: the code before a change, e.g.
``git worktree add ../base <commit>``), over the same registry and data home, and ask every page of every round
of both servers (the pair in a shuffled order), so that both see the same load; each server's times and its ratio
to its own user guide page are printed side by side (``pages`` and ``baseline_pages``).  The checkout must know
the registry's newest migration (copy a newer migration file into it when the database was upgraded by this one).

``--database URL --home HOME``: time the pages over another registry and data home (e.g. a copy of the
database made larger by ``--multiply``).  ``--multiply K`` copies the published grades and entities of the database K-1 more times
under new USCCs (first character ``A``.. ``I``; their records are not copied) and writes the summaries again: a
registry of K times the entities for the pages that read the registry; alerts, quality and the model report read
the data home, which stays at the province's size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_api import cli  # noqa: E402  (the API benchmark's harness: the same province, built the same way)

MONTHS = ("2026-08-31", "2026-09-30")
PASSWORD = "Bench-password-1"
USERS = (("bench_officer", "credit_officer", "37"), ("bench_auditor", "auditor", "37"))


def build(a, home: Path, url: str, env: dict) -> dict:
    import psycopg

    timings = {}
    d = a.work / f"delivery-{a.entities}-parquet"
    db = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{a.pg}/test", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{db}"')
    steps = [("simulate", ("simulate", "--entities", str(a.entities), "--seed", "1", "--format", "parquet", "--out",
                           str(d)))] if not d.exists() else []
    steps += [("ingest", ("ingest", str(d)))]
    steps += [(f"classify {m}", ("classify", "--as-of", m, "--model", "expert")) for m in MONTHS]
    steps += [("warn", ("warn",)), ("plan", ("plan", "--as-of", MONTHS[-1], "--seed", "7", "--budget", "30000",
                                             "--out", str(a.work / f"plan-{a.entities}.csv")))]
    steps += [(f"publish {m}", ("publish", "--as-of", m)) for m in MONTHS]
    for step, args in steps:
        t0 = time.perf_counter()
        if step.startswith("publish") and not a.with_facts:
            publish_without_facts(home, url, args[-1])
        else:
            cli(*args, env=env)
        timings[step] = round(time.perf_counter() - t0, 1)
        print(f"{step}: {timings[step]} s", file=sys.stderr)
    return timings


def publish_without_facts(home: Path, url: str, as_of: str) -> None:
    """``riskgrade publish`` without the facts behind the reasons (every grade's ``facts`` is ``{}``): on a
    shared two-core machine computing them took about 25 minutes a month at 1M entities, and only the company
    page shows them.  Everything else (grades, seals, entities, records, plans, summaries, ANALYZE) as published."""
    import datetime as dt

    from riskgrade.registry import publish as pub
    from riskgrade.registry.db import open_registry

    def no_facts(con, *args, **kw):
        con.execute("CREATE OR REPLACE TEMP TABLE _publish_facts (uscc VARCHAR, facts VARCHAR)")

    keep = pub._facts_table
    pub._facts_table = no_facts
    try:
        pub.publish(home, open_registry(home, url), dt.date.fromisoformat(as_of), "bench",
                    progress=lambda m: print(m, file=sys.stderr))
    finally:
        pub._facts_table = keep


def add_users(env: dict) -> None:
    for name, role, region in USERS:
        p = subprocess.run([sys.executable, "-m", "riskgrade", "user", "add", name, "--role", role, "--region", region,
                            "--password-env", "RG_PW"], env={**env, "RG_PW": PASSWORD}, capture_output=True, text=True)
        if p.returncode and "exists" not in (p.stderr + p.stdout):
            raise SystemExit(p.stderr)


def multiply(home: Path, url: str, k: int) -> None:
    """Copy the registry's grades and entities k-1 more times under new USCCs, then vacuum and analyse (see the
    module doc)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        for i in range(1, k):
            ch = "ABCDEFGHI"[i - 1]
            t0 = time.perf_counter()
            c.execute(f"""INSERT INTO entities (uscc, name, entity_type, region_code, industry_code, industry_section,
                          established_on, status, closed_on, registered_capital, address, legal_rep_id, phone_id)
                          SELECT '{ch}' || substr(uscc, 2), name || '{i}', entity_type, region_code, industry_code,
                                 industry_section, established_on, status, closed_on, registered_capital, address,
                                 legal_rep_id, phone_id FROM entities WHERE uscc NOT SIMILAR TO '[A-I]%'""")
            c.execute(f"""INSERT INTO grades (snapshot_id, uscc, region_code, industry_code, entity_type, score, grade,
                          previous_grade, grade_rule, reasons, reason_points, labels, seal, score_base, facts)
                          SELECT snapshot_id, '{ch}' || substr(uscc, 2), region_code, industry_code, entity_type, score,
                                 grade, previous_grade, grade_rule, reasons, reason_points, labels, seal, score_base,
                                 facts FROM grades WHERE uscc NOT SIMILAR TO '[A-I]%'""")
            print(f"copy {i}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        c.execute("VACUUM (ANALYZE) entities")  # as a publish leaves them (registry.publish._after_bulk_load)
        c.execute("VACUUM (ANALYZE) grades")
    from sqlalchemy import select

    from riskgrade.registry import summaries
    from riskgrade.registry.db import open_registry
    from riskgrade.registry.models import Snapshot

    factory = open_registry(home, url)
    for sid in factory().execute(select(Snapshot.id).order_by(Snapshot.id)).scalars().all():
        t0 = time.perf_counter()
        with factory() as s, s.begin():
            summaries.write(s, sid)
        print(f"summaries of snapshot {sid}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


class Client:
    """A signed-in console session (cookies kept) over plain HTTP."""

    def __init__(self, base: str, username: str):
        import httpx

        self.c = httpx.Client(base_url=base, follow_redirects=False, timeout=120)
        page = self.c.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        r = self.c.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
        if r.status_code != 303:
            raise SystemExit(f"sign-in of {username} failed: {r.status_code} {r.text[:300]}")

    def get(self, path: str) -> tuple[float, int, str]:
        t0 = time.perf_counter()
        r = self.c.get(path)
        return (time.perf_counter() - t0) * 1000, r.status_code, r.text


def pages(officer: Client, factory) -> list[tuple[str, str]]:
    """(name, path) of the pages timed: every console page a credit officer opens, and the audit log."""
    from sqlalchemy import func, select

    from riskgrade.registry.models import Entity, Plan

    with factory() as s:
        county = s.execute(select(Entity.region_code).group_by(Entity.region_code)
                           .order_by(func.count().desc()).limit(1)).scalar()
        plan = s.execute(select(Plan.id).order_by(Plan.id.desc()).limit(1)).scalar()
        some = s.execute(select(Entity.uscc).where(Entity.region_code == county).order_by(Entity.uscc)
                         .offset(1000).limit(1)).scalar()
    alerts = officer.get("/alerts")[2]
    alert = next(iter(re.findall(r'href="(/alerts/[0-9a-f]{16})"', alerts)), None)
    out = [("user guide (baseline)", "/help"), ("dashboard (province, by city)", "/"),
           ("dashboard (by county)", "/?level=county"), ("search, first page", "/entities"),
           ("search, sorted by score desc", "/entities?sort=score&desc=1"),
           ("search, county + grade D", f"/entities?region={county}&grade=D"),
           ("search, name contains", "/entities?" + urllib.parse.urlencode({"q": "科技"})),
           ("company page", f"/entities/{some}"), ("alerts list", "/alerts"), ("plans list", "/plans"),
           ("quality", "/quality"), ("model", "/model"), ("audit log (auditor)", "/admin/audit")]
    if plan:
        out.append(("plan page", f"/plans/{plan}"))
    if alert:
        out.append(("alert page", alert))
    return out


def compare_dashboard(home: Path, url: str, rounds: int) -> dict:
    """The dashboard's figures from the summaries against aggregating the grades (alternately, in this process)."""
    from riskgrade.registry import queries
    from riskgrade.service import summaries
    from riskgrade.service.state import open_state

    st = open_state(home, url)
    months = queries.months(st.factory)[-12:]
    ids = [i for _, i in months]
    prev, last = months[-2][1], months[-1][1]

    def live():
        queries.grade_counts(st.factory, ids, "37")
        queries.migration(st.factory, prev, last, "37")
        queries.area_cells(st.factory, last, "37", 4)

    def summary():
        summaries.grade_counts(st, ids, "37")
        summaries.migration(st, prev, last, "37")
        summaries.area_cells(st, last, "37", 4)

    times = {"live": [], "summaries": []}
    summary()
    for _ in range(rounds):
        for name, f in (("live", live), ("summaries", summary)):
            t0 = time.perf_counter()
            f()
            times[name].append((time.perf_counter() - t0) * 1000)
    med = {k: round(statistics.median(v), 1) for k, v in times.items()}
    return {"dashboard_figures_ms": med, "ratio_live_to_summaries": round(med["live"] / med["summaries"], 1),
            "rounds": rounds}


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=15, help="requests per page (after two to warm up)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    ap.add_argument("--fresh", action="store_true", help="rebuild the home and the database")
    ap.add_argument("--home", type=Path, default=None, help="the data home (default: <work>/home-api-<N>)")
    ap.add_argument("--database", default=None, help="the registry's URL (default: <pg>/riskgrade_bench_<N>)")
    ap.add_argument("--with-facts", action="store_true", help="publish with the facts behind the reasons "
                                                              "(riskgrade publish; slow: see publish_without_facts)")
    ap.add_argument("--multiply", type=int, default=0, help="copy the registry's grades and entities to K times")
    ap.add_argument("--only", default="", help="only the pages whose names contain one of these (comma-separated)")
    ap.add_argument("--baseline", default=None, metavar="DIR", help="also time the pages served by the code of "
                                                                      "another checkout, side by side")
    ap.add_argument("--compare", action="store_true", help="also time the dashboard's figures with and without "
                                                           "the summaries")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    home = a.home or a.work / f"home-api-{a.entities}"
    url = a.database or f"{a.pg}/riskgrade_bench_{a.entities}"
    env = {**os.environ, "RISKGRADE_HOME": str(home), "RISKGRADE_DATABASE_URL": url}
    res: dict = {"entities_requested": a.entities}
    if a.fresh or not (home / "pages-ready").exists():
        res["setup_s"] = build(a, home, url, env)
        (home / "pages-ready").write_text("ok")
    if a.multiply > 1:
        t0 = time.perf_counter()
        multiply(home, url, a.multiply)
        res["multiply_s"] = round(time.perf_counter() - t0)
    add_users(env)
    from riskgrade.registry.db import open_registry

    factory = open_registry(home, url)
    from sqlalchemy import func, select

    from riskgrade.registry.models import Entity, Grade, Snapshot

    with factory() as s:
        last = s.execute(select(func.max(Snapshot.id))).scalar()
        res["registry_entities"] = s.execute(select(func.count()).select_from(Entity)).scalar()
        res["registry_grades_last_month"] = s.execute(select(func.count()).select_from(Grade)
                                                      .where(Grade.snapshot_id == last)).scalar()
    res["started"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    res["load_average_at_start"] = os.getloadavg()
    codes = {"pages": None} | ({"baseline_pages": a.baseline} if a.baseline else {})
    servers, clients = [], {}
    try:
        import httpx

        for key, code in codes.items():
            with socket.socket() as sk:
                sk.bind(("127.0.0.1", 0))
                port = sk.getsockname()[1]
            # the other checkout first on the path (``-m`` puts the working directory first: run from it)
            senv = env if code is None else {**env, "PYTHONPATH": str(Path(code).resolve())}
            servers.append(subprocess.Popen([sys.executable, "-m", "riskgrade", "serve", "--port", str(port),
                                             "--workers", str(a.workers)], env=senv, stderr=subprocess.DEVNULL,
                                            cwd=None if code is None else str(Path(code).resolve())))
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            base = f"http://127.0.0.1:{port}"
            clients[key] = (Client(base, "bench_officer"), Client(base, "bench_auditor"))
        todo = [(n, p) for n, p in pages(clients["pages"][0], factory)
                if not a.only or "baseline" in n or any(x in n for x in a.only.split(","))]
        times = {k: {n: [] for n, _ in todo} for k in codes}
        first: dict[str, dict[str, float]] = {k: {} for k in codes}
        for r in range(a.requests + 2):
            order = [(k, n, p) for n, p in todo for k in codes]
            random.Random(r).shuffle(order)
            for key, name, path in order:
                officer, auditor = clients[key]
                ms, status, _ = (auditor if "auditor" in name else officer).get(path)
                if status != 200:
                    raise SystemExit(f"{key}: {name} {path}: HTTP {status}")
                if r == 0:
                    first[key][name] = round(ms, 1)
                elif r >= 2:
                    times[key][name].append(ms)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    for key in codes:
        t = times[key]
        base_med = statistics.median(t["user guide (baseline)"])
        res[key] = [{"page": n, "path": p, "median_ms": round(statistics.median(t[n]), 1),
                     "p95_ms": round(p95(t[n]), 1), "first_ms": first[key][n],
                     "ratio_to_baseline": round(statistics.median(t[n]) / base_med, 1)} for n, p in todo]
    if a.baseline:
        res["baseline_code"] = str(Path(a.baseline).resolve())
        res["speedup"] = {x["page"]: round(y["median_ms"] / x["median_ms"], 1)
                          for x, y in zip(res["pages"], res["baseline_pages"])}
    res["requests_per_page"] = a.requests
    res["load_average"] = os.getloadavg()
    if a.compare:
        res["compare"] = compare_dashboard(home, url, a.requests)
    print(json.dumps(res, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
