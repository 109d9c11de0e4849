"""Load on the service: entity profiles from PostgreSQL under 50 concurrent clients.

    python benchmarks/bench_api.py --entities 1000000 --duration 30 --connections 50

Simulates (or reuses) a province, ingests and classifies it (expert scorecard), publishes the month
to a PostgreSQL database on this machine (``--pg``, default the local server; the database
``riskgrade_bench_<N>`` is created), starts ``riskgrade serve --workers W`` and drives
``GET /api/entities/{uscc}`` for random entities with wrk (Debian package ``wrk``) and a bearer
token: each request is a full profile (grade history with seal checks, up to 500 records of the
timeline, plans, alerts) and writes one audit entry.  Prints latency percentiles (p50/p90/p95/p99) and
requests per second as JSON.  Client and server share the machine's two cores.

``--think-ms 0`` (default) is the saturation test: every client asks again as soon as it has its
answer, so the latency is mostly queueing (50 clients / throughput).  ``--think-ms 1000`` models 50
officers each opening about one profile a second.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-09-30"
LUA = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
math.randomseed(42)
request = function()
  local u = ids[math.random(#ids)]
  return wrk.format("GET", "/api/entities/" .. u, {["Authorization"] = "Bearer %(token)s"})
end
delay = function()
  -- a user's think time between two profiles (0: every client asks again at once, the saturation test)
  if %(think)d > 0 then return math.random(math.floor(%(think)d / 2), math.floor(%(think)d * 3 / 2)) end
  return 0
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def cli(*args: str, env: dict) -> str:
    p = subprocess.run([sys.executable, "-m", "riskgrade", *args], env=env, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"riskgrade {' '.join(args)} failed:\n{p.stderr}")
    return p.stdout + p.stderr


def _classified(home: Path) -> bool:
    """Whether the home holds a classification as of AS_OF."""
    from riskgrade.warehouse import Warehouse

    with Warehouse(home) as wh:
        return bool(wh.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'snapshots'").fetchall()[0][0]
                    and wh.con.execute(f"SELECT count(*) FROM snapshots WHERE as_of = DATE '{AS_OF}'").fetchall()[0][0])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--think-ms", type=int, default=0,
                    help="each client waits about this long between requests (uniform 0.5x-1.5x); 0: closed loop")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    ap.add_argument("--fresh", action="store_true", help="rebuild the home and the database")
    ap.add_argument("--home", type=Path, default=None,
                    help="an ingested data home to serve (classified as of 2026-09-30 if it is not yet); "
                         "default: a new one from the simulated delivery")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    import psycopg

    a.work.mkdir(parents=True, exist_ok=True)
    d = a.work / f"delivery-{a.entities}-parquet"
    home = a.home or a.work / f"home-api-{a.entities}"
    db = f"riskgrade_bench_{a.entities}"
    url = f"{a.pg}/{db}"
    env = {**os.environ, "RISKGRADE_HOME": str(home), "RISKGRADE_DATABASE_URL": url}
    timings = {}
    if a.fresh or not (home / "ready").exists():
        with psycopg.connect(f"{a.pg}/test", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{db}"')
        steps = [("ingest", ("ingest", str(d))), ("classify", ("classify", "--as-of", AS_OF, "--model", "expert"))]
        if a.home is None:
            shutil.rmtree(home, ignore_errors=True)
            if not d.exists():
                cli("simulate", "--entities", str(a.entities), "--seed", "1", "--format", "parquet", "--out", str(d), env=env)
        else:  # a home of its own: only what it lacks
            steps = [] if _classified(home) else steps[1:]
        for step, args in (*steps, ("publish", ("publish", "--as-of", AS_OF))):
            t0 = time.perf_counter()
            cli(*args, env=env)
            timings[step] = round(time.perf_counter() - t0, 1)
            print(f"{step}: {timings[step]} s", file=sys.stderr)
        cli("user", "add", "bench", "--role", "inspector", "--region", "37", "--password-env", "RG_PW",
            env={**env, "RG_PW": "Bench-password-1"})
        (home / "ready").write_text("ok")
    with psycopg.connect(url) as c:
        ids = [r[0] for r in c.execute("SELECT uscc FROM entities").fetchall()]
        n_events = c.execute("SELECT count(*) FROM events").fetchone()[0]
    random.Random(1).shuffle(ids)
    (a.work / "api-ids.txt").write_text("\n".join(ids[:200_000]) + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "riskgrade", "serve", "--port", str(port), "--workers",
                               str(a.workers)], env=env, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/login", method="POST",
                                     data=json.dumps({"username": "bench", "password": "Bench-password-1"}).encode(),
                                     headers={"Content-Type": "application/json"})
        token = json.loads(urllib.request.urlopen(req).read())["token"]
        script = a.work / "api-profile.lua"
        script.write_text(LUA % {"ids": a.work / "api-ids.txt", "token": token, "think": a.think_ms})
        # warm up, then measure
        subprocess.run(["wrk", "-t2", f"-c{a.connections}", "-d5s", "-s", str(script), f"http://127.0.0.1:{port}"],
                       capture_output=True)
        out = subprocess.run(["wrk", "-t2", f"-c{a.connections}", f"-d{a.duration}s", "--timeout", "10s", "-s",
                              str(script), f"http://127.0.0.1:{port}"], capture_output=True, text=True).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    m = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not m:
        raise SystemExit(f"no result from wrk:\n{out}")
    n, errors, dur = int(m.group(1)), int(m.group(2)), int(m.group(3)) / 1e6
    res = {"entities": len(ids), "events": n_events, "connections": a.connections, "workers": a.workers,
           "think_ms": a.think_ms,
           "requests": n, "errors": errors, "rps": round(n / dur, 1), "p50_ms": float(m.group(4)),
           "p90_ms": float(m.group(5)), "p95_ms": float(m.group(6)), "p99_ms": float(m.group(7)),
           "max_ms": float(m.group(8)), "setup_s": timings}
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
