"""The service: authentication, roles x endpoints x regions, audit chain, sealed grades, privacy, on SQLite
and on the PostgreSQL server of this machine."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import QUEUE_ALL, fresh_pg_database, run_cli, wait_for_server

T1, T2 = "2026-08-31", "2026-09-30"
PASSWORD = "Secret-2026x"
ROLES = ("admin", "credit_officer", "inspector", "domain_officer", "analyst", "auditor")
ROUTING = """extends: default
version: test-enforcement
departments:
  - code: enforcement
    name_zh: 综合行政执法局
    unit: "{county}综合行政执法局"
    aliases: [综合行政执法局, 综合执法局]
licence_domains:
  - {code: medical_practice, supervisor: enforcement}
  - {code: road_transport, supervisor: enforcement}
  - {code: construction, supervisor: enforcement}
  - {code: private_school, supervisor: enforcement}
  - {code: hazardous_chemicals, supervisor: enforcement}
  - {code: food_drug, supervisor: enforcement}
  - {code: other_licences, name_zh: 其他许可, industries: [A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T],
     supervisor: enforcement}
"""


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("api")
    home = root / "wh"
    run_cli("simulate", "--entities", "3000", "--seed", "21", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    for t in (T1, T2):
        run_cli("classify", "--as-of", t, "--model", "expert", home=home)
    run_cli("plan", "--as-of", T2, "--seed", "7", "--budget", "200", "--out", str(root / "plan.csv"), home=home)
    # the province's own routing table (setting `routing`): every licensed activity, whoever granted the licence
    # (the 行政审批服务局), is supervised by the county's 综合行政执法局, so that alerts go to one department in every
    # county
    (root / "routing.yaml").write_text(ROUTING, encoding="utf-8")
    (home / "riskgrade.toml").write_text(f'routing = "{root / "routing.yaml"}"\n', encoding="utf-8")
    run_cli("warn", "--rules", str(QUEUE_ALL), home=home)  # early-warning alerts over the delivery (~270 here)
    return {"root": root, "home": home}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request, province: dict, tmp_path_factory: pytest.TempPathFactory):
    """A data home published to a registry on the given backend, with one user per role and region."""
    import contextlib
    import shutil

    root = tmp_path_factory.mktemp(f"svc-{request.param}")
    home = root / "home"
    shutil.copytree(province["home"], home)
    env = {}
    database = contextlib.ExitStack()
    if request.param == "postgresql":
        env["RISKGRADE_DATABASE_URL"] = database.enter_context(fresh_pg_database())
    for t in (T1, T2):
        run_cli("publish", "--as-of", t, home=home, env=env)
    county = _county(home)
    other = _other_county(home, county)
    alerts = _pick_alerts(home, county, other)
    tasks = _make_tasks(home, county)
    users = {}
    for role in ROLES:
        for scope, prefix in (("prov", "37"), ("county", county)):
            name = f"{role}_{scope}"
            dept = ["--department", alerts["department"]] if role == "domain_officer" else []
            run_cli("user", "add", name, "--role", role, "--region", prefix, *dept, "--password-env", "RG_PW",
                    home=home, env={**env, "RG_PW": PASSWORD})
            users[(role, scope)] = name
    old = {k: os.environ.get(k) for k in ("RISKGRADE_HOME", "RISKGRADE_DATABASE_URL")}
    from riskgrade.api.app import create_app

    app = create_app(home, env.get("RISKGRADE_DATABASE_URL"))
    client = TestClient(app)
    tokens = {k: client.post("/api/login", json={"username": v, "password": PASSWORD}).json()["token"]
              for k, v in users.items()}
    yield {"backend": request.param, "home": home, "env": env, "client": client, "tokens": tokens, "county": county,
           "other": other, "app": app, "alerts": alerts, "tasks": tasks}
    for k, v in old.items():
        if v is not None:
            os.environ[k] = v
    if env:
        app.state.rg.factory.kw["bind"].dispose()
    database.close()


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


def _pick_alerts(home: Path, county: str, other: str) -> dict:
    """Alerts of the warned province for the tests: routed to the main licensing department in the county and
    in the other county, routed to the county bureau, of medium severity (cannot be targeted), ..."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        # the county's unit of the law-enforcement bureau (the routing table's department `enforcement`)
        dept = con.execute("SELECT responsible_unit FROM alerts WHERE unit_code = 'enforcement' AND region_code = ? "
                           "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1", [county]).fetchall()[0][0]

        def pick(where: str, *args) -> list[str]:
            return [r[0] for r in con.execute(f"""
                SELECT DISTINCT a.alert_id FROM alerts a JOIN alert_members m USING (alert_id)
                JOIN entities e ON e.uscc = m.uscc WHERE {where} ORDER BY a.alert_id""", list(args)).fetchall()]

        out = {
            "department": dept,
            "in_dept": pick("a.unit_code = 'enforcement' AND a.responsible_unit = ? AND e.region_code = ? "
                            "AND a.severity = 'high'", dept, county),
            "out_dept": pick("a.unit_code = 'enforcement' AND e.region_code = ?", other),
            "dept_all": pick("a.unit_code = 'enforcement'"),
            "in_county": pick("a.unit_kind = 'county' AND e.region_code = ?", county),
            "medium": pick("a.severity = 'medium' AND a.rule <> 'annual_report_all_zero' AND e.region_code = ?",
                           county),
            "in_all": pick("e.region_code = ?", county),
            "all": pick("true"),
        }
    finally:
        con.close()
    for k, v in out.items():
        assert v, f"the warned province has no alert for {k}: the fixture needs one"
    return out


def _make_tasks(home: Path, county: str) -> dict:
    """Inspection tasks to send alerts to: one of the county, one province-wide."""
    from riskgrade.inspection.tasks import Task, create_task
    from riskgrade.warehouse import Warehouse

    with Warehouse(home, write=True) as wh, wh.transaction():
        return {"county": create_task(wh.con, Task(None, "县局定向抽查", "general", county)).task_id,
                "province": create_task(wh.con, Task(None, "全省定向抽查", "general", "")).task_id}


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
                        regions = {row["region_code"] for row in csv.DictReader(io.StringIO(body))}
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


def test_profile_explains_the_score_with_facts(service: dict) -> None:
    """A published grade carries its base, the contributions that raised and lowered the risk with the
    indicators' names and the facts behind them, and whether the score was clipped; its seal covers them."""
    svc = service
    c = svc["client"]
    h = _h(svc, "credit_officer")
    hits = c.get("/api/entities", headers=h, params={"page_size": 60}).json()["items"]
    hits += c.get("/api/entities", headers=h, params={"grade": "D", "page_size": 20}).json()["items"]
    explained = 0
    for hit in hits:
        cur = c.get(f"/api/entities/{hit['uscc']}", headers=h).json()["current"]
        if cur is None:
            continue
        reasons, lowering = cur["reasons"], cur["lowering"]
        assert all(r["points"] > 0 for r in reasons) and all(r["points"] < 0 for r in lowering)
        assert [r["points"] for r in reasons] == sorted((r["points"] for r in reasons), reverse=True)
        assert [r["points"] for r in lowering] == sorted(r["points"] for r in lowering)
        for r in reasons + lowering:
            assert r["name_zh"] and r["name_en"] and r["direction"] in ("up", "down", "either")
        # the facts of the reasons (top 5 at least) and of the largest lowering factors were published
        assert all(r["fact"] for r in reasons[:5] + lowering[:5]), (reasons, lowering)
        total = sum(r["points"] for r in reasons + lowering)
        if cur["score_base"] is None:
            assert cur["clipped"] is None
        else:
            raw = cur["score_base"] + total
            assert cur["score"] == pytest.approx(min(1000.0, max(0.0, raw)), abs=0.005 * (len(reasons + lowering) + 2))
            assert cur["clipped"] == (not 0 <= round(raw, 2) <= 1000)
        explained += bool(reasons)
    assert explained >= 10, explained
    # a fact changed in the registry breaks the row's seal
    uscc = next(h_["uscc"] for h_ in hits if h_["grade"] == "D")
    from sqlalchemy import text

    factory = svc["app"].state.rg.factory
    with factory() as s:
        sid, facts = s.execute(text("SELECT snapshot_id, facts FROM grades WHERE uscc = :u ORDER BY snapshot_id DESC"),
                               {"u": uscc}).first()
    assert facts and json.loads(facts)
    _registry_sql(svc, "UPDATE grades SET facts = :f WHERE uscc = :u AND snapshot_id = :s",
                  {"f": json.dumps({k: "（已改动）" for k in json.loads(facts)}, ensure_ascii=False), "u": uscc, "s": sid})
    try:
        assert c.get(f"/api/entities/{uscc}", headers=_h(svc, "admin")).json()["current"]["sealed"] is False
    finally:
        _registry_sql(svc, "UPDATE grades SET facts = :f WHERE uscc = :u AND snapshot_id = :s",
                      {"f": facts, "u": uscc, "s": sid})
    assert c.get(f"/api/entities/{uscc}", headers=_h(svc, "admin")).json()["current"]["sealed"] is True


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


def test_publish_leaves_planner_statistics(service: dict) -> None:
    """A bulk load leaves no statistics until autovacuum runs; publish gathers them (without them the
    profile's p95 was 30 times slower at 10M entities on PostgreSQL)."""
    from sqlalchemy import text

    factory = service["app"].state.rg.factory
    with factory() as s:
        if service["backend"] == "postgresql":
            done = dict(s.execute(text("SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                                       "WHERE relname IN ('grades', 'entities', 'events', 'plan_entities')")).all())
            assert done == {"grades": True, "entities": True, "events": True, "plan_entities": True}
        else:
            stats = {r[0] for r in s.execute(text("SELECT tbl FROM sqlite_stat1")).all()}
            assert {"grades", "entities", "events"} <= stats


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
        schema = json.loads(wait_for_server(f"http://127.0.0.1:{port}/openapi.json", p))
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
    run_cli("user", "role", "x1", "--role", "domain_officer", "--region", "370102", "--department", "卫生健康委员会",
            home=home)
    run_cli("user", "disable", "x1", home=home)
    listing = run_cli("user", "list", home=home, env={"COLUMNS": "200"}).stdout
    assert "x1" in listing and "domain_officer" in listing and "370102" in listing and "disabled" in listing
    assert "卫生健康委员会" in listing
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
    # a plan drawn through the API waits for approval (issue 19): an administrator approves it
    assert c.get(f"/api/plans/{pid}/approval", headers=_h(svc, "admin")).json()["state"] == "draft"
    assert c.post(f"/api/plans/{pid}/approve", headers=_h(svc, "admin"), json={"note": "同意"}).status_code == 200
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


# --------------------------------------------------------------------------- early warning (预警)
ALERT_READ = {"admin", "credit_officer", "inspector", "domain_officer", "auditor"}
ALERT_WRITE = {"admin", "credit_officer", "inspector", "domain_officer"}
ALERT_TARGET = {"admin", "credit_officer"}
STATS = {"admin", "credit_officer", "inspector", "domain_officer", "analyst"}
NO_ALERT = "0123456789abcdef"  # a well-formed id that names no alert


def _audit_rows(svc: dict) -> list:
    from sqlalchemy import select

    from riskgrade.registry.models import AuditEntry

    with svc["app"].state.rg.factory() as s:
        return s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()


def _alert_log(svc: dict, alert_id: str) -> list[tuple]:
    from riskgrade.warehouse import Warehouse

    with Warehouse(svc["home"]) as wh:
        return wh.con.execute("SELECT seq, username, action, detail, hash FROM alert_log WHERE alert_id = ? "
                              "ORDER BY seq", [alert_id]).fetchall()


def test_alert_authorisation_matrix_roles_endpoints_regions(service: dict) -> None:
    """Each role x region x alert endpoint (reads): who may call it, and the region and department rule."""
    svc = service
    c = svc["client"]
    al = svc["alerts"]
    inside, outside = al["in_dept"][0], al["out_dept"][0]
    county_unit = al["in_county"][0]  # in the county, routed to the county bureau: not a domain officer's
    for role in ROLES:
        for scope in ("prov", "county"):
            h = _h(svc, role, scope)
            prefix = "37" if scope == "prov" else svc["county"]
            r = c.get("/api/alerts", headers=h, params={"page_size": 200})
            if role not in ALERT_READ:
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (role, scope)
            else:
                assert r.status_code == 200, (role, scope, r.text[:300])
                page = r.json()
                ids = {x["alert_id"] for x in page["items"]}
                assert page["items"] and all(x["members_in_region"] >= 1 for x in page["items"] if x["scope"] != "area")
                assert all(x["members"] == 0 and x["area_name"] for x in page["items"] if x["scope"] == "area")
                assert sum(page["by_status"].values()) == page["total"] == sum(page["by_severity"].values())
                if role == "domain_officer":  # exactly the alerts of the units mapped to the user's department
                    assert {(x["unit_kind"], x["unit_code"]) for x in page["items"]} == {("department", "enforcement")}
                    assert ids <= set(al["dept_all"]) and (scope != "prov" or ids == set(al["dept_all"]))
                    assert county_unit not in ids
                if scope == "county":
                    assert all(x["region_code"] == svc["county"] for x in page["items"])
                    assert outside not in ids
            for target in (inside, outside, county_unit):
                r = c.get(f"/api/alerts/{target}", headers=h)
                if role not in ALERT_READ:
                    assert r.status_code == 403, (role, scope, r.status_code)
                    continue
                hidden = ((scope == "county" and target == outside)
                          or (role == "domain_officer" and target == county_unit))
                if hidden:  # as if it did not exist
                    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (role, scope, target)
                    continue
                assert r.status_code == 200, (role, scope, target, r.text[:300])
                d = r.json()
                assert d["entities"] and all(e["region_code"].startswith(prefix) for e in d["entities"])
                assert all(e["uscc"] in {m["uscc"] for m in d["entities"]} for e in d["evidence"])
                assert d["log"] and d["log"][0]["action"] == "raise" and d["routing"]["responsible_unit"]
            r = c.get("/api/stats/alerts", headers=h)
            assert r.status_code == (200 if role in STATS else 403), (role, scope)
            if r.status_code == 200:
                body = r.json()
                assert body["total"] > 0 and all(x["region_code"].startswith(prefix) for x in body["by_region"])
            r = c.get("/api/alerts/log/verify", headers=h)
            assert r.status_code == (200 if role in ("admin", "auditor") else 403), (role, scope)
            if r.status_code == 200:
                assert r.json()["ok"] is True and r.json()["entries"] >= len(al["all"])
    # the county's counts are part of the province's; a list filter narrows within the region, never beyond it
    a = c.get("/api/stats/alerts", headers=_h(svc, "analyst", "county")).json()["total"]
    b = c.get("/api/stats/alerts", headers=_h(svc, "analyst", "prov")).json()["total"]
    assert 0 < a < b == len(al["all"])
    assert c.get("/api/alerts", headers=_h(svc, "credit_officer"), params={"region": svc["county"]}).json()[
        "total"] == len(al["in_all"]) == a
    assert c.get("/api/alerts", headers=_h(svc, "credit_officer", "county"),
                 params={"region": svc["other"]}).json()["total"] == 0
    # a domain officer without a department sees no individual alert
    from riskgrade.registry.users import add_user

    add_user(svc["app"].state.rg.factory, "domain_nodept", PASSWORD, "domain_officer", "37")
    tok = c.post("/api/login", json={"username": "domain_nodept", "password": PASSWORD}).json()["token"]
    h = {"Authorization": f"Bearer {tok}"}
    assert c.get("/api/alerts", headers=h).json()["total"] == 0
    assert c.get(f"/api/alerts/{inside}", headers=h).status_code == 404
    assert c.get("/api/stats/alerts", headers=h).json()["total"] == b  # counts are not individual alerts


def test_alert_list_filters_pages_and_audit(service: dict) -> None:
    svc = service
    c = svc["client"]
    h = _h(svc, "credit_officer")
    full = c.get("/api/alerts", headers=h, params={"page_size": 200}).json()
    assert full["total"] == len(svc["alerts"]["all"])
    # highest expected risk first (issue 18), then newest records first
    keys = [(-(x["expected_risk"] if x["expected_risk"] is not None else -1.0), x["raised_on"]) for x in full["items"]]
    assert all(x["expected_risk"] is not None and 0 <= x["expected_risk"] <= 1 for x in full["items"])
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    for a, b in zip(keys, keys[1:]):
        assert a[0] < b[0] or a[1] >= b[1]
    p2 = c.get("/api/alerts", headers=h, params={"page_size": 10, "page": 2}).json()
    assert [x["alert_id"] for x in p2["items"]] == [x["alert_id"] for x in full["items"][10:20]]
    high = c.get("/api/alerts", headers=h, params={"severity": "high", "page_size": 200}).json()
    assert high["items"] and all(x["severity"] == "high" for x in high["items"])
    assert high["total"] == full["by_severity"]["high"] and high["by_status"]["open"] <= high["total"]
    assert high["by_severity"] == full["by_severity"]  # the severity facet ignores the severity filter
    rule = full["items"][0]["rule"]
    by_rule = c.get("/api/alerts", headers=h, params={"rule": rule, "page_size": 200}).json()
    assert by_rule["items"] and all(x["rule"] == rule for x in by_rule["items"])
    unit = c.get("/api/alerts", headers=h, params={"unit": svc["alerts"]["department"], "page_size": 200}).json()
    assert unit["items"] and all(svc["alerts"]["department"] in x["responsible_unit"] for x in unit["items"])
    dates = sorted(x["raised_on"] for x in full["items"])
    d0 = dates[len(dates) // 2]
    since = c.get("/api/alerts", headers=h, params={"raised_from": d0, "page_size": 200}).json()
    until = c.get("/api/alerts", headers=h, params={"raised_to": d0, "page_size": 200}).json()
    assert all(x["raised_on"] >= d0 for x in since["items"]) and all(x["raised_on"] <= d0 for x in until["items"])
    assert since["total"] + until["total"] >= full["total"]
    for bad in ({"status": "lost"}, {"severity": "extreme"}, {"page_size": 1000}, {"region": "x"},
                {"raised_from": "yesterday"}):
        r = c.get("/api/alerts", headers=h, params=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", bad
    for bad_id in ("xyz", "0123456789abcdeg", "0123456789abcdef0"):
        assert c.get(f"/api/alerts/{bad_id}", headers=h).status_code == 422
    assert c.get(f"/api/alerts/{NO_ALERT}", headers=h).status_code == 404
    # the listing and every detail view are in the audit chain, like searches and profile views
    aid = svc["alerts"]["in_dept"][0]
    c.get(f"/api/alerts/{aid}", headers=_h(svc, "inspector", "county"))
    rows = [(e.username, e.action, e.target) for e in _audit_rows(svc)]
    assert ("inspector_county", "view_alert", aid) in rows
    assert ("credit_officer_prov", "list_alerts", "") in rows


def test_alert_steps_by_role(service: dict) -> None:
    """Writes: who may assign, handle, close and target (an unknown alert: 404 for them, 403 for the others)."""
    svc = service
    c = svc["client"]
    calls = {"assign": ({"to": "某科"}, ALERT_WRITE), "handle": ({"action": "提醒"}, ALERT_WRITE),
             "close": ({}, ALERT_WRITE), "target": ({"task_id": svc["tasks"]["county"]}, ALERT_TARGET)}
    for role in ROLES:
        for op, (body, allowed) in calls.items():
            r = c.post(f"/api/alerts/{NO_ALERT}/{op}", headers=_h(svc, role), json=body)
            assert r.status_code == (404 if role in allowed else 403), (role, op, r.status_code, r.text[:200])
            assert r.json()["error"]["code"] == ("not_found" if role in allowed else "forbidden")
    # out of region, or not the domain officer's department: as if the alert did not exist, and it does not change
    outside = svc["alerts"]["out_dept"][0]
    county_unit = svc["alerts"]["in_county"][-1]
    before = c.get(f"/api/alerts/{outside}", headers=_h(svc, "admin")).json()
    for role in ("credit_officer", "inspector", "domain_officer", "admin"):
        r = c.post(f"/api/alerts/{outside}/assign", headers=_h(svc, role, "county"), json={"to": "越权"})
        assert r.status_code == 404, (role, r.text)
    r = c.post(f"/api/alerts/{county_unit}/assign", headers=_h(svc, "domain_officer"), json={"to": "越权"})
    assert r.status_code == 404
    after = c.get(f"/api/alerts/{outside}", headers=_h(svc, "admin")).json()
    assert after["status"] == before["status"] and after["log"] == before["log"]
    # a domain officer handles what is routed to its department
    mine = svc["alerts"]["in_dept"][-1]
    unit = c.get(f"/api/alerts/{mine}", headers=_h(svc, "admin")).json()["region_code"]  # a unit, never free text
    r = c.post(f"/api/alerts/{mine}/assign", headers=_h(svc, "domain_officer", "county"), json={"to": unit})
    assert r.status_code == 200 and r.json()["alert"]["status"] == "assigned", r.text


def test_alert_workflow_conflicts_and_both_logs(service: dict) -> None:
    svc = service
    c = svc["client"]
    aid = svc["alerts"]["in_county"][0]
    officer, inspector = _h(svc, "credit_officer", "county"), _h(svc, "inspector", "county")
    first = c.get(f"/api/alerts/{aid}", headers=officer).json()
    inspectable = first["severity"] == "high" or first["rule"] == "annual_report_all_zero"  # the default catalog
    assert first["next_steps"] == ["assign"] + (["target"] if inspectable else [])
    # a step the status does not allow: 409 with what to do instead
    r = c.post(f"/api/alerts/{aid}/close", headers=officer, json={"note": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert "is open" in r.json()["error"]["message"] and "next step: assign" in r.json()["error"]["message"]
    assert c.post(f"/api/alerts/{aid}/handle", headers=officer, json={"action": "约谈"}).status_code == 409
    # invalid bodies: 422
    for op, body in (("assign", {"to": "   "}), ("assign", {}), ("handle", {"action": "bribe"}),
                     ("handle", {"action": "约谈", "note": "x" * 1001})):
        r = c.post(f"/api/alerts/{aid}/{op}", headers=officer, json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", (op, body, r.text)
    steps = []
    r = c.post(f"/api/alerts/{aid}/assign", headers=inspector, json={"to": "县局信用监管股", "note": "请核查"})
    assert r.status_code == 422 and "not free text" in r.json()["error"]["message"]   # issue 19: users or units
    unit = first["region_code"]
    r = c.post(f"/api/alerts/{aid}/assign", headers=inspector, json={"to": unit, "note": "请核查"})
    assert r.status_code == 200 and r.json()["alert"]["status"] == "assigned"
    assert r.json()["alert"]["assignee"] == f"unit:{unit}"
    steps.append(("inspector_county", "assign", r.json()))
    r = c.post(f"/api/alerts/{aid}/handle", headers=officer, json={"action": "约谈", "note": "约谈法定代表人"})
    assert r.status_code == 200 and r.json()["alert"]["disposition"] == "interview"
    assert r.json()["detail"]["action_zh"] == "约谈"
    steps.append(("credit_officer_county", "handle", r.json()))
    r = c.post(f"/api/alerts/{aid}/handle", headers=officer, json={"action": "inspect"})  # issue 19: a note is required
    assert r.status_code == 422
    r = c.post(f"/api/alerts/{aid}/handle", headers=officer, json={"action": "inspect", "note": "转入现场检查"})
    assert r.status_code == 200 and r.json()["alert"]["disposition"] == "inspect"
    steps.append(("credit_officer_county", "handle", r.json()))
    assert c.post(f"/api/alerts/{aid}/close", headers=officer).status_code == 422  # issue 19: the note is required
    r = c.post(f"/api/alerts/{aid}/close", headers=officer, json={"note": "已整改到位"})
    assert r.status_code == 200
    steps.append(("credit_officer_county", "close", r.json()))
    if r.json()["alert"]["status"] == "review":  # a sign-off (worklimits.yaml): by a reviewer who did not handle it
        r = c.post(f"/api/work/alerts/{aid}/approve", headers=_h(svc, "credit_officer"), json={"note": "同意办结"})
        assert r.status_code == 200, r.text
        steps.append(("credit_officer_prov", "approve", r.json()))
    assert r.json()["alert"]["status"] == "closed"
    for op, body in (("close", {}), ("assign", {"to": "x"}), ("handle", {"action": "提醒"})):
        r = c.post(f"/api/alerts/{aid}/{op}", headers=officer, json=body)
        assert r.status_code == 409 and "closed" in r.json()["error"]["message"], (op, r.text)
    r = c.post(f"/api/alerts/{aid}/target", headers=officer, json={"task_id": svc["tasks"]["county"]})
    assert r.status_code == 409 and "closed" in r.json()["error"]["message"]
    # every step is in the warehouse's alert log under the user's name ...
    log = _alert_log(svc, aid)
    assert [(u, a) for _, u, a, _, _ in log] == [("riskgrade-warn", "raise")] + [(u, op) for u, op, _ in steps]
    by_seq = {seq: (u, a, json.loads(d), h) for seq, u, a, d, h in log}
    for user, op, res in steps:
        assert by_seq[res["log_seq"]][:2] == (user, op) and by_seq[res["log_seq"]][3] == res["log_hash"]
    assert by_seq[steps[0][2]["log_seq"]][2]["note"] == "请核查"
    # ... whose chain is intact, and in the registry's audit chain, which names the log entry
    v = c.get("/api/alerts/log/verify", headers=_h(svc, "auditor")).json()
    assert v["ok"] is True and v["head_seq"] == log[-1][0]
    audit = [e for e in _audit_rows(svc) if e.target == aid and e.action.startswith("alert_")]
    assert [(e.username, e.action) for e in audit] == [(u, f"alert_{op}") for u, op, _ in steps]
    for e, (_, _, res) in zip(audit, steps):
        d = json.loads(e.detail)
        assert d["log_seq"] == res["log_seq"] and d["log_hash"] == res["log_hash"] and d["via"] == "api"
    detail = c.get(f"/api/alerts/{aid}", headers=_h(svc, "auditor", "county")).json()  # auditors read
    assert [x["action"] for x in detail["log"]] == ["raise"] + [op for _, op, _ in steps]
    assert detail["next_steps"] == []
    # tampering with the alert log is named
    from riskgrade.warehouse import Warehouse

    with Warehouse(svc["home"], write=True) as wh:
        wh.con.execute("UPDATE alert_log SET username = 'someone_else' WHERE seq = ?", [steps[1][2]["log_seq"]])
    bad = c.get("/api/alerts/log/verify", headers=_h(svc, "admin")).json()
    assert bad["ok"] is False and bad["bad_seq"] == steps[1][2]["log_seq"] and "edited" in bad["problem"]
    with Warehouse(svc["home"], write=True) as wh:
        wh.con.execute("UPDATE alert_log SET username = 'credit_officer_county' WHERE seq = ?",
                       [steps[1][2]["log_seq"]])
    assert c.get("/api/alerts/log/verify", headers=_h(svc, "admin")).json()["ok"] is True


def test_alert_target_into_a_task(service: dict) -> None:
    from riskgrade.warehouse import Warehouse

    svc = service
    c = svc["client"]
    officer = _h(svc, "credit_officer", "county")
    aid = svc["alerts"]["in_dept"][0]  # high severity, in the county
    tasks = svc["tasks"]
    # a medium-severity alert of a rule not marked for inspection cannot be sent
    r = c.post(f"/api/alerts/{svc['alerts']['medium'][0]}/target", headers=officer, json={"task_id": tasks["county"]})
    assert r.status_code == 409 and "severity" in r.json()["error"]["message"]
    # a task beyond the user's region (province-wide) or none at all
    r = c.post(f"/api/alerts/{aid}/target", headers=officer, json={"task_id": tasks["province"]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert c.post(f"/api/alerts/{aid}/target", headers=officer, json={"task_id": 99999}).status_code == 404
    assert c.post(f"/api/alerts/{aid}/target", headers=officer, json={"task_id": 0}).status_code == 422
    assert c.post(f"/api/alerts/{aid}/target", headers=_h(svc, "inspector", "county"),
                  json={"task_id": tasks["county"]}).status_code == 403
    r = c.post(f"/api/alerts/{aid}/target", headers=officer, json={"task_id": tasks["county"], "reason": "高风险预警"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["step"] == "target" and body["task_id"] == tasks["county"] and body["added"] >= 1
    d = c.get(f"/api/alerts/{aid}", headers=officer).json()
    assert d["targets"] == [{"task_id": tasks["county"], "task_name": "县局定向抽查", "entities": body["added"],
                             "added_at": d["targets"][0]["added_at"]}]
    assert d["log"][-1]["action"] == "target" and d["log"][-1]["username"] == "credit_officer_county"
    with Warehouse(svc["home"]) as wh:
        got = wh.con.execute("SELECT uscc, reason FROM task_targets WHERE task_id = ? AND alert_id = ?",
                             [tasks["county"], aid]).fetchall()
    assert {u for u, _ in got} == {e["uscc"] for e in d["entities"]} and got[0][1] == "高风险预警"
    # a province officer may use the province-wide task; sending again adds nobody
    r = c.post(f"/api/alerts/{aid}/target", headers=_h(svc, "credit_officer"), json={"task_id": tasks["province"]})
    assert r.status_code == 200 and r.json()["added"] >= 1
    again = c.post(f"/api/alerts/{aid}/target", headers=officer, json={"task_id": tasks["county"]}).json()
    assert again["added"] == 0
    assert any(e.action == "alert_target" and e.target == aid and e.username == "credit_officer_county"
               for e in _audit_rows(svc))


def test_profile_lists_the_entitys_alerts(service: dict) -> None:
    svc = service
    c = svc["client"]
    aid = svc["alerts"]["in_dept"][0]
    member = c.get(f"/api/alerts/{aid}", headers=_h(svc, "admin")).json()["entities"][0]["uscc"]
    p = c.get(f"/api/entities/{member}", headers=_h(svc, "credit_officer", "county")).json()
    assert aid in {a["alert_id"] for a in p["alerts"]}
    dom = c.get(f"/api/entities/{member}", headers=_h(svc, "domain_officer", "county")).json()
    assert aid in {a["alert_id"] for a in dom["alerts"]}
    assert all(a["responsible_unit"] == svc["alerts"]["department"] for a in dom["alerts"])
    other = c.get(f"/api/alerts/{svc['alerts']['in_county'][-1]}", headers=_h(svc, "admin")).json()
    u2 = other["entities"][0]["uscc"]
    assert svc["alerts"]["in_county"][-1] in {a["alert_id"] for a in c.get(
        f"/api/entities/{u2}", headers=_h(svc, "inspector", "county")).json()["alerts"]}
    assert svc["alerts"]["in_county"][-1] not in {a["alert_id"] for a in c.get(
        f"/api/entities/{u2}", headers=_h(svc, "domain_officer", "county")).json()["alerts"]}
    entry = [e for e in _audit_rows(svc) if e.action == "view_profile" and e.target == member][-1]
    assert json.loads(entry.detail)["alerts_shown"] == len(dom["alerts"])


def test_a_busy_warehouse_gives_503(service: dict, monkeypatch) -> None:
    from riskgrade.service import alerts as alert_service
    from riskgrade.warehouse import Warehouse

    svc = service
    c = svc["client"]
    monkeypatch.setattr(alert_service, "BUSY_WAIT", 0.2)
    monkeypatch.setattr(alert_service, "PROFILE_WAIT", 0.2)
    aid = svc["alerts"]["in_dept"][0]
    member = c.get(f"/api/alerts/{aid}", headers=_h(svc, "admin")).json()["entities"][0]["uscc"]
    known = c.get(f"/api/entities/{member}", headers=_h(svc, "admin")).json()["alerts"]
    assert known
    with Warehouse(svc["home"], write=True) as wh:  # another job holds the store, nothing written yet
        p = c.get(f"/api/entities/{member}", headers=_h(svc, "admin"))
        assert p.json()["alerts"] == known  # profiles keep what the process knows of an unchanged store
        wh.con.execute("CREATE TABLE busy_marker AS SELECT 1 AS x")  # the job writes: the store changes
        wh.con.execute("CHECKPOINT")
    alert_service._INDEX.clear()  # a process that has not read the alerts yet
    with Warehouse(svc["home"], write=True):  # another job holds the store (riskgrade warn, an ingest)
        for method, path, body in (("GET", "/api/alerts", None), ("GET", f"/api/alerts/{aid}", None),
                                   ("GET", "/api/stats/alerts", None),
                                   ("POST", f"/api/alerts/{aid}/assign", {"to": "x"})):
            r = c.request(method, path, headers=_h(svc, "admin"), json=body)
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert r.json()["error"]["code"] == "busy" and "busy" in r.json()["error"]["message"]
            assert r.headers["retry-after"] == "5"
        p = c.get(f"/api/entities/{member}", headers=_h(svc, "admin"))
        assert p.status_code == 200 and p.json()["alerts"] is None  # the profile is shown without its alerts
    assert c.get("/api/alerts", headers=_h(svc, "admin")).status_code == 200


def test_registry_upgrades_to_the_explanation_columns(tmp_path: Path) -> None:
    """A registry published before grades carried their base and facts is migrated when the service opens it;
    the rows published then keep their seal, and show no base, no facts and no clipping."""
    import datetime as dt

    from alembic import command
    from sqlalchemy import create_engine, select, text

    from riskgrade.registry.db import _alembic_config, database_url, open_registry
    from riskgrade.registry.models import Grade
    from riskgrade.registry.publish import check_row, seal, secret_key
    from riskgrade.service.entities import explanation

    url = database_url(tmp_path, None)
    engine = create_engine(url)
    key = secret_key(tmp_path)
    as_of = dt.date(2026, 9, 30)
    row = {"uscc": "91370102MA3C4U7X8P", "region_code": "370102", "industry_code": "5211", "entity_type": "enterprise",
           "score": 412.5, "grade": "B", "previous_grade": None, "grade_rule": "score", "reasons": "penalty_1y",
           "reason_points": '[{"code": "penalty_1y", "points": 90.0}]', "labels": ""}
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0002")
        conn.execute(text("INSERT INTO snapshots (id, as_of, published_at, published_by, source_snapshot_id, model, "
                          "model_version, catalog_version, grade_mode, entities, content_hash, manifest) VALUES "
                          "(1, :d, :t, 'x', 1, 'expert', 'v', 'c', 'four', 1, '', '{}')"),
                     {"d": as_of, "t": dt.datetime(2026, 10, 1)})
        conn.execute(text("INSERT INTO grades (snapshot_id, uscc, region_code, industry_code, entity_type, score, grade, "
                          "previous_grade, grade_rule, reasons, reason_points, labels, seal) VALUES (1, :uscc, "
                          ":region_code, :industry_code, :entity_type, :score, :grade, :previous_grade, :grade_rule, "
                          ":reasons, :reason_points, :labels, :seal)"), {**row, "seal": seal(key, as_of, row)})
    engine.dispose()
    factory = open_registry(tmp_path)
    with factory() as s:
        g = s.execute(select(Grade)).scalar_one()
    assert g.score_base is None and g.facts is None and check_row(key, as_of, g)
    x = explanation(g)
    assert x["score_base"] is None and x["clipped"] is None and x["reasons"][0]["fact"] is None
    assert x["reasons"][0]["name_zh"] == "近一年行政处罚次数"
    factory.kw["bind"].dispose()


def test_registry_upgrades_to_the_department_column(tmp_path: Path) -> None:
    """A registry created before users had a department is migrated when the service opens it."""
    import datetime as dt

    from alembic import command
    from sqlalchemy import create_engine, text

    from riskgrade.registry.db import _alembic_config, database_url, open_registry
    from riskgrade.registry.users import get_user, update_user

    url = database_url(tmp_path, None)
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(text("INSERT INTO users (username, display_name, password_hash, role, region_prefix, disabled, "
                          "failed_logins, created_at) VALUES ('old', 'old', 'x', 'domain_officer', '37', false, 0, :t)"),
                     {"t": dt.datetime(2026, 1, 1)})
    engine.dispose()
    factory = open_registry(tmp_path)
    assert get_user(factory, "old").department is None
    update_user(factory, "old", department=" 市场监管局 ")
    assert get_user(factory, "old").department == "市场监管局"
    factory.kw["bind"].dispose()
