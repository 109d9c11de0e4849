"""The service: authentication, roles x endpoints x regions, audit chain, sealed grades, privacy, on SQLite
and on the PostgreSQL server of this machine."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import run_cli

T1, T2 = "2026-08-31", "2026-09-30"
PASSWORD = "Secret-2026x"
PG_ADMIN_URL = os.environ.get("RISKGRADE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROLES = ("admin", "credit_officer", "inspector", "domain_officer", "analyst", "auditor")


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("api")
    home = root / "wh"
    run_cli("simulate", "--entities", "3000", "--seed", "21", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    for t in (T1, T2):
        run_cli("classify", "--as-of", t, "--model", "expert", home=home)
    run_cli("plan", "--as-of", T2, "--seed", "7", "--budget", "200", "--out", str(root / "plan.csv"), home=home)
    return {"root": root, "home": home}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request, province: dict, tmp_path_factory: pytest.TempPathFactory):
    """A data home published to a registry on the given backend, with one user per role and region."""
    import shutil

    root = tmp_path_factory.mktemp(f"svc-{request.param}")
    home = root / "home"
    shutil.copytree(province["home"], home)
    env = {}
    dbname = None
    if request.param == "postgresql":
        if not _pg_available():
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (.ci/run starts it)")
        import psycopg

        dbname = f"riskgrade_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{dbname}"')
        env["RISKGRADE_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname
    for t in (T1, T2):
        run_cli("publish", "--as-of", t, home=home, env=env)
    county = _county(home)
    other = _other_county(home, county)
    users = {}
    for role in ROLES:
        for scope, prefix in (("prov", "37"), ("county", county)):
            name = f"{role}_{scope}"
            run_cli("user", "add", name, "--role", role, "--region", prefix, "--password-env", "RG_PW", home=home,
                    env={**env, "RG_PW": PASSWORD})
            users[(role, scope)] = name
    old = {k: os.environ.get(k) for k in ("RISKGRADE_HOME", "RISKGRADE_DATABASE_URL")}
    from riskgrade.api.app import create_app

    app = create_app(home, env.get("RISKGRADE_DATABASE_URL"))
    client = TestClient(app)
    tokens = {k: client.post("/api/login", json={"username": v, "password": PASSWORD}).json()["token"]
              for k, v in users.items()}
    yield {"backend": request.param, "home": home, "env": env, "client": client, "tokens": tokens, "county": county,
           "other": other, "app": app}
    for k, v in old.items():
        if v is not None:
            os.environ[k] = v
    if dbname:
        import psycopg

        app.state.rg.factory.kw["bind"].dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _county(home: Path) -> str:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT region_code FROM entities WHERE status = 'active' GROUP BY 1 "
                           "ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
    finally:
        con.close()


def _other_county(home: Path, county: str) -> str:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT region_code FROM entities WHERE status = 'active' AND region_code <> ? GROUP BY 1 "
                           "ORDER BY count(*) DESC LIMIT 1", [county]).fetchall()[0][0]
    finally:
        con.close()


def _h(svc: dict, role: str, scope: str = "prov") -> dict:
    return {"Authorization": f"Bearer {svc['tokens'][(role, scope)]}"}


def _entity_in(svc: dict, region: str) -> str:
    r = svc["client"].get("/api/entities", headers=_h(svc, "admin"), params={"region": region, "page_size": 1})
    return r.json()["items"][0]["uscc"]


# --------------------------------------------------------------------------- authentication
def test_nothing_under_api_answers_without_authentication(service: dict) -> None:
    c = service["client"]
    schema = c.get("/openapi.json").json()
    assert schema["info"]["title"] == "riskgrade"
    for path, ops in schema["paths"].items():
        assert path.startswith("/api/")
        for method in ops:
            url = re.sub(r"\{[^}]+\}", "91370102MA0000000X", path)
            r = c.request(method.upper(), url, params={"from": T1, "to": T2})
            if path == "/api/login":
                assert r.status_code in (401, 422)
                continue
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["code"] == "unauthenticated"
            assert r.headers["x-content-type-options"] == "nosniff"
    bad = c.get("/api/me", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401


def test_login_failures_lockout_and_rate_limit(service: dict) -> None:
    c = service["client"]
    r = c.post("/api/login", json={"username": "analyst_county", "password": "wrong-password-1"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_failed"
    for _ in range(5):
        c.post("/api/login", json={"username": "auditor_county", "password": "wrong-password-1"})
    locked = c.post("/api/login", json={"username": "auditor_county", "password": PASSWORD})
    assert locked.status_code in (401, 429) and ("locked" in locked.text or "too many" in locked.text)
    codes = [c.post("/api/login", json={"username": "nobody", "password": "x"}).status_code for _ in range(12)]
    assert 429 in codes


def test_expired_token_is_refused(service: dict) -> None:
    import datetime as dt

    from riskgrade.registry.models import Token
    from riskgrade.registry.users import _h as token_hash

    c = service["client"]
    tok = c.post("/api/login", json={"username": "analyst_prov", "password": PASSWORD}).json()["token"]
    assert c.get("/api/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    factory = service["app"].state.rg.factory
    with factory() as s:
        t = s.get(Token, token_hash(tok))
        t.expires_at = dt.datetime.now() - dt.timedelta(seconds=1)
        s.commit()
    assert c.get("/api/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    tok2 = c.post("/api/login", json={"username": "analyst_prov", "password": PASSWORD}).json()["token"]
    assert c.post("/api/logout", headers={"Authorization": f"Bearer {tok2}"}).status_code == 204
    assert c.get("/api/me", headers={"Authorization": f"Bearer {tok2}"}).status_code == 401


# --------------------------------------------------------------------------- authorisation matrix
ALLOWED = {
    "search": {"admin", "credit_officer", "inspector", "domain_officer"},
    "profile": {"admin", "credit_officer", "inspector", "domain_officer"},
    "stats": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "migration": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "snapshots": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "plans": {"admin", "credit_officer", "inspector"},
    "plan": {"admin", "credit_officer", "inspector"},
    "export": {"admin", "credit_officer"},
    "audit": {"admin", "auditor"},
    "audit_verify": {"admin", "auditor"},
    "me": set(ROLES),
}


def _call(svc: dict, what: str, headers: dict, uscc: str, plan_id: int):
    c = svc["client"]
    return {
        "search": lambda: c.get("/api/entities", headers=headers, params={"page_size": 200}),
        "profile": lambda: c.get(f"/api/entities/{uscc}", headers=headers),
        "stats": lambda: c.get("/api/stats/grades", headers=headers),
        "migration": lambda: c.get("/api/stats/migration", headers=headers, params={"from": T1, "to": T2}),
        "snapshots": lambda: c.get("/api/snapshots", headers=headers),
        "plans": lambda: c.get("/api/plans", headers=headers),
        "plan": lambda: c.get(f"/api/plans/{plan_id}", headers=headers),
        "export": lambda: c.get("/api/exports/grades", headers=headers),
        "audit": lambda: c.get("/api/audit", headers=headers),
        "audit_verify": lambda: c.get("/api/audit/verify", headers=headers),
        "me": lambda: c.get("/api/me", headers=headers),
    }[what]()


def test_authorisation_matrix_roles_endpoints_regions(service: dict) -> None:
    svc = service
    inside, outside = _entity_in(svc, svc["county"]), _entity_in(svc, svc["other"])
    plan_id = svc["client"].get("/api/plans", headers=_h(svc, "admin")).json()[0]["id"]
    for role in ROLES:
        for scope in ("prov", "county"):
            h = _h(svc, role, scope)
            for what, allowed in ALLOWED.items():
                for target in (inside, outside):
                    r = _call(svc, what, h, target, plan_id)
                    if role not in allowed:
                        assert r.status_code == 403, (role, scope, what, r.status_code)
                        assert r.json()["error"]["code"] == "forbidden"
                        continue
                    if what == "profile" and scope == "county" and target == outside:
                        assert r.status_code == 404, (role, what)  # out of region: as if it did not exist
                        continue
                    assert r.status_code == 200, (role, scope, what, r.status_code, r.text[:200])
                    body = r.json() if "json" in r.headers["content-type"] else r.text
                    prefix = "37" if scope == "prov" else svc["county"]
                    # the same region rule on every answer
                    if what == "search":
                        assert body["items"] and all(i["region_code"].startswith(prefix) for i in body["items"])
                    elif what == "stats":
                        assert all(x["region_code"].startswith(prefix) for x in body["by_region"])
                    elif what == "plan":
                        assert all(x["region_code"].startswith(prefix) for x in body["entities"])
                    elif what == "export":
                        regions = {line.split(",")[-1] for line in body.strip().splitlines()[1:]}
                        assert regions and all(x.startswith(prefix) for x in regions)
    # a county user's totals are its county's, the province's are larger
    a = svc["client"].get("/api/stats/grades", headers=_h(svc, "analyst", "county")).json()["total"]
    b = svc["client"].get("/api/stats/grades", headers=_h(svc, "analyst", "prov")).json()["total"]
    assert 0 < a < b


def test_search_filters_and_profile(service: dict) -> None:
    svc = service
    c = svc["client"]
    h = _h(svc, "credit_officer")
    d = c.get("/api/entities", headers=h, params={"grade": "D", "page_size": 50}).json()
    assert d["items"] and all(i["grade"] == "D" for i in d["items"])
    online = c.get("/api/entities", headers=h, params={"label": "online", "page_size": 50}).json()
    assert online["items"] and all("online" in i["labels"] for i in online["items"])
    first = online["items"][0]
    by_name = c.get("/api/entities", headers=h, params={"q": first["name"][:6]}).json()
    assert first["uscc"] in {i["uscc"] for i in by_name["items"]}
    assert c.get("/api/entities", headers=h, params={"q": first["uscc"][:12]}).json()["total"] >= 1
    p = c.get(f"/api/entities/{first['uscc']}", headers=h).json()
    assert p["current"]["as_of"] == T2 and p["current"]["sealed"] is True
    assert [g["as_of"] for g in p["history"]] == [T2, T1]
    assert p["current"]["reasons"] and all(r["code"] for r in p["current"]["reasons"])
    assert p["timeline"] and p["timeline"][0]["event_date"] >= p["timeline"][-1]["event_date"]
    # privacy: a credit officer sees masked personal identifiers, an inspector the real ones
    insp = c.get(f"/api/entities/{first['uscc']}", headers=_h(svc, "inspector")).json()
    if insp["legal_rep_id"]:
        assert "*" in p["legal_rep_id"] and "*" not in insp["legal_rep_id"]
    bad = c.get("/api/entities", headers=h, params={"page_size": 1000})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    mig = c.get("/api/stats/migration", headers=h, params={"from": T1, "to": T2}).json()
    assert sum(x["entities"] for x in mig) > 0


# --------------------------------------------------------------------------- audit and seals
def _registry_sql(svc: dict, sql: str, params: dict | None = None) -> None:
    from sqlalchemy import text

    factory = svc["app"].state.rg.factory
    with factory() as s:
        s.execute(text(sql), params or {})
        s.commit()


def test_views_are_audited_and_tampering_is_named(service: dict) -> None:
    svc = service
    c = svc["client"]
    uscc = _entity_in(svc, svc["county"])
    c.get(f"/api/entities/{uscc}", headers=_h(svc, "inspector", "county"))
    c.get("/api/exports/grades", headers=_h(svc, "credit_officer"))
    log = c.get("/api/audit", headers=_h(svc, "auditor"), params={"page_size": 500}).json()
    actions = [(e["username"], e["action"], e["target"]) for e in log]
    assert ("inspector_county", "view_profile", uscc) in actions
    assert any(a == "export_grades" for _, a, _ in actions)
    assert any(a == "publish" for _, a, _ in actions)
    ok = run_cli("audit", "verify", home=svc["home"], env=svc["env"])
    head = re.search(r"head (\d+):([0-9a-f]{64})", ok.stdout)
    # edit one entry: verify names it
    victim = log[len(log) // 2]["id"]
    _registry_sql(svc, "UPDATE audit_log SET username = 'someone_else' WHERE id = :i", {"i": victim})
    bad = run_cli("audit", "verify", home=svc["home"], env=svc["env"], check=False)
    assert bad.returncode != 0 and f"entry {victim} was edited" in bad.stderr
    v = c.get("/api/audit/verify", headers=_h(svc, "auditor")).json()
    assert v["ok"] is False and v["bad_id"] == victim
    _registry_sql(svc, "UPDATE audit_log SET username = :u WHERE id = :i",
                  {"u": next(e["username"] for e in log if e["id"] == victim), "i": victim})
    assert run_cli("audit", "verify", home=svc["home"], env=svc["env"]).returncode == 0
    # delete one: verify names the gap; cut the tail: the recorded head catches it
    _registry_sql(svc, "DELETE FROM audit_log WHERE id = :i", {"i": victim})
    bad = run_cli("audit", "verify", home=svc["home"], env=svc["env"], check=False)
    assert bad.returncode != 0 and f"entries {victim}..{victim}" in bad.stderr


def test_an_altered_grade_is_detected_and_reported(service: dict) -> None:
    svc = service
    c = svc["client"]
    uscc = _entity_in(svc, svc["county"])
    assert run_cli("registry", "verify", home=svc["home"], env=svc["env"]).returncode == 0
    p = c.get(f"/api/entities/{uscc}", headers=_h(svc, "admin")).json()
    new = "A" if p["current"]["grade"] != "A" else "D"
    _registry_sql(svc, "UPDATE grades SET grade = :g WHERE uscc = :u AND snapshot_id = "
                       "(SELECT max(id) FROM snapshots)", {"g": new, "u": uscc})
    p2 = c.get(f"/api/entities/{uscc}", headers=_h(svc, "admin")).json()
    assert p2["current"]["grade"] == new and p2["current"]["sealed"] is False
    log = c.get("/api/audit", headers=_h(svc, "auditor")).json()
    assert any(e["action"] == "integrity_failure" and e["target"] == uscc for e in log)
    bad = run_cli("registry", "verify", home=svc["home"], env=svc["env"], check=False)
    assert bad.returncode != 0 and uscc in bad.stdout


def test_publish_is_atomic_and_refuses_an_altered_warehouse_snapshot(service: dict, monkeypatch) -> None:
    import datetime as dt

    import duckdb
    from sqlalchemy import func, select

    from riskgrade.errors import RiskgradeError
    from riskgrade.registry import publish as pub
    from riskgrade.registry.models import Snapshot

    svc = service
    factory = svc["app"].state.rg.factory
    with factory() as s:
        before = s.execute(select(func.count()).select_from(Snapshot)).scalar_one()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pub, "_publish_plans", boom)
    with pytest.raises(RuntimeError):
        pub.publish(svc["home"], factory, dt.date.fromisoformat(T2), "test")
    monkeypatch.undo()
    with factory() as s:
        assert s.execute(select(func.count()).select_from(Snapshot)).scalar_one() == before
    # a grade changed in the warehouse after classification: publish refuses
    con = duckdb.connect(str(svc["home"] / "warehouse.duckdb"))
    con.execute("UPDATE grades SET grade = 'A' WHERE uscc = (SELECT min(uscc) FROM grades WHERE grade <> 'A') "
                "AND snapshot_id = (SELECT max(snapshot_id) FROM snapshots WHERE as_of = ?)", [dt.date.fromisoformat(T2)])
    con.close()
    with pytest.raises(RiskgradeError, match="does not match its sealed content hash"):
        pub.publish(svc["home"], factory, dt.date.fromisoformat(T2), "test")


# --------------------------------------------------------------------------- the command
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_answers_and_guards(province: dict, tmp_path: Path) -> None:
    import shutil
    import urllib.error
    import urllib.request

    home = tmp_path / "home"
    shutil.copytree(province["home"], home)
    run_cli("publish", "--as-of", T2, home=home)
    port = _free_port()
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    p = subprocess.Popen([sys.executable, "-m", "riskgrade", "serve", "--port", str(port)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                schema = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1).read())
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        else:
            raise AssertionError(p.stderr.read().decode() if p.poll() is not None else "server did not start")
        assert "/api/entities/{uscc}" in schema["paths"]
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/entities", timeout=5)
        assert e.value.code == 401
    finally:
        p.terminate()
        p.wait(timeout=20)


def test_user_commands(tmp_path: Path) -> None:
    home = tmp_path / "h"
    r = run_cli("user", "add", "x1", "--role", "emperor", "--region", "37", "--password-env", "P", home=home,
                env={"P": PASSWORD}, check=False)
    assert r.returncode != 0 and "unknown role" in r.stderr
    r = run_cli("user", "add", "x1", "--role", "analyst", "--region", "37", "--password-env", "P", home=home,
                env={"P": "short"}, check=False)
    assert r.returncode != 0 and "at least 10 characters" in r.stderr
    run_cli("user", "add", "x1", "--role", "analyst", "--region", "3701", "--password-env", "P", home=home,
            env={"P": PASSWORD})
    run_cli("user", "role", "x1", "--role", "inspector", "--region", "370102", home=home)
    run_cli("user", "disable", "x1", home=home)
    listing = run_cli("user", "list", home=home).stdout
    assert "x1" in listing and "inspector" in listing and "370102" in listing and "disabled" in listing
    log = run_cli("audit", "list", home=home).stdout
    assert "user_disable" in log and "user_add" in log


# --------------------------------------------------------------------------- writes: plans and results
def test_write_endpoints_by_role(service: dict) -> None:
    svc = service
    c = svc["client"]
    for role in ROLES:
        h = _h(svc, role)
        r = c.post("/api/plans", headers=h, json={"as_of": "2020-01-31", "budget": 10, "seed": "1"})
        assert r.status_code == (404 if role in ("admin", "credit_officer") else 403), (role, r.text)
        r = c.post("/api/plans/999999/results", headers=h, content=b"uscc\n")
        assert r.status_code == (404 if role in ("admin", "credit_officer", "inspector") else 403), (role, r.text)


def test_plan_created_in_region_and_results_uploaded(service: dict, province: dict) -> None:
    from riskgrade.simulate.results import simulate_results

    svc = service
    c = svc["client"]
    r = c.post("/api/plans", headers=_h(svc, "credit_officer", "county"),
               json={"as_of": T2, "budget": 30, "seed": "api-1", "domain": "general"})
    assert r.status_code == 201, r.text
    pid = r.json()["plan_id"]
    assert 0 < r.json()["drawn"] <= 30
    plan = c.get(f"/api/plans/{pid}", headers=_h(svc, "inspector", "county")).json()
    assert plan["entities"] and all(e["region_code"] == svc["county"] for e in plan["entities"])
    assert len(plan["entities"]) == r.json()["drawn"]  # everything drawn is in the county
    # the same seed and inputs give the same plan
    r2 = c.post("/api/plans", headers=_h(svc, "credit_officer", "county"),
                json={"as_of": T2, "budget": 30, "seed": "api-1", "domain": "general"})
    assert r2.json()["content_hash"] == r.json()["content_hash"]
    # results for the plan's entities, uploaded by a county inspector
    t = simulate_results(province["root"] / "d" / "_truth", [(e["uscc"], e["check_mode"]) for e in plan["entities"]],
                         __import__("datetime").date.fromisoformat(T2), plan_id=pid)
    import pyarrow.csv as pacsv

    buf = __import__("io").BytesIO()
    pacsv.write_csv(t, buf)
    up = c.post(f"/api/plans/{pid}/results", headers=_h(svc, "inspector", "county"), content=buf.getvalue())
    assert up.status_code == 200, up.text
    body = up.json()
    assert body["accepted"] == t.num_rows and body["linked"] == t.num_rows and body["with_result"] == t.num_rows
    # a row for an entity outside the plan (or region) is refused, nothing is loaded
    outside = _entity_in(svc, svc["other"])
    bad = c.post(f"/api/plans/{pid}/results", headers=_h(svc, "inspector", "county"),
                 content=f"record_id,uscc,event_type,event_date\nX1,{outside},inspection,{T2}\n".encode())
    assert bad.status_code == 403 and outside in bad.json()["error"]["message"]
    log = c.get("/api/audit", headers=_h(svc, "auditor"), params={"page_size": 500}).json()
    assert {"create_plan", "upload_results"} <= {e["action"] for e in log}
