"""Issue 17, console and API (findings 7, 8, 9): region scoping of plans, plan notes and the data-quality page,
refused reads audited, no 500 for bad input, security headers on a 500, the upload cap while streaming, the
login throttle shared by workers (in the registry), X-Forwarded-For only from trusted proxies, one login error,
unique kept-file names.  On SQLite and on PostgreSQL wherever the registry is involved."""

from __future__ import annotations

import datetime as dt
import statistics
import time

import pytest
from fastapi.testclient import TestClient

from .web_support import (COUNTY, OTHER_COUNTY, PASSWORD, Registry, add_users, api_token,
                          audit_entries, console_login, csrf_of, small_store)

T = dt.date(2026, 9, 30)
OTHER_CITY_USCC = "91370203MA00000001"   # an entity of another city, named in a plan's notes
COUNTY_USCC = "91370102MA00000002"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    return small_store(tmp_path_factory.mktemp("sec-web-store"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reg(request, store, tmp_path_factory: pytest.TempPathFactory):
    r = Registry(request.param, store, tmp_path_factory.mktemp(f"sec-web-{request.param}"))
    app = r.app()
    f = app.state.rg.factory
    add_users(f, ("prov_officer", "credit_officer", "37"), ("county_officer", "credit_officer", COUNTY),
              ("county_inspector", "inspector", COUNTY), ("prov_admin", "admin", "37"),
              ("county_analyst", "analyst", COUNTY), ("prov_analyst", "analyst", "37"))
    _seed_plans(f)
    r.main = app
    yield r
    r.close()


def _seed_plans(factory) -> None:
    """Plan 901: another county's (name, seed, grade counts, a note); plan 902: province-wide, with an entity in
    the county and a note naming an entity of another city; the entity of the other city."""
    from riskgrade.registry.models import Entity, Plan, PlanEntity

    grades = [{"grade": "A", "eligible": 77, "forced": 0, "ratio": 0.1, "rate": 0.05, "drawn": 4}]
    with factory() as s:
        s.add(Plan(id=901, as_of=T, task_name="青岛市市南区 机密抽查任务", domain="general", seed="seed-of-370203",
                   drawn=4, content_hash="0" * 64,
                   manifest={"task": {"region_prefix": OTHER_COUNTY}, "budget": 4, "algorithm": "x",
                             "grades": grades, "notes": ["note of plan 901"]}))
        s.add(Plan(id=902, as_of=T, task_name="全省通用双随机抽查", domain="general", seed="seed-province", drawn=2,
                   content_hash="1" * 64,
                   manifest={"task": {"region_prefix": "(all)"}, "budget": 2, "algorithm": "x", "grades": grades,
                             "notes": [f"{OTHER_CITY_USCC} has no full inspector team"]}))
        for pid, uscc, region in ((901, OTHER_CITY_USCC, OTHER_COUNTY), (902, COUNTY_USCC, COUNTY),
                                  (902, OTHER_CITY_USCC, OTHER_COUNTY)):
            s.add(PlanEntity(plan_id=pid, uscc=uscc, region_code=region, grade="A", selection="random",
                             inclusion_probability=0.5, check_mode="书面检查", inspectors=None))
        s.add(Entity(uscc=OTHER_CITY_USCC, name="另一城市的主体", entity_type="enterprise", region_code=OTHER_COUNTY,
                     status="active"))
        s.commit()


def _api(reg, user: str) -> TestClient:
    c = TestClient(reg.main)
    c.headers["Authorization"] = f"Bearer {api_token(c, user)}"
    return c


# --------------------------------------------------------------------------- 1. region scoping
def test_another_countys_plans_are_not_listed_nor_readable(reg) -> None:
    c = console_login(reg.main, "county_officer")
    page = c.get("/plans").text
    assert "机密抽查任务" not in page and "seed-of-370203" not in page and "/plans/901" not in page
    assert "/plans/902" in page  # a province-wide plan with an entity of the county
    assert c.get("/plans/901").status_code == 404
    api = _api(reg, "county_officer")
    assert 901 not in {p["id"] for p in api.get("/api/plans").json()}
    assert api.get("/api/plans/901").status_code == 404
    refused = [e for e in audit_entries(reg.main) if e.action == "read_refused" and e.target == "plan:901"]
    assert {e.username for e in refused} == {"county_officer"} and len(refused) == 2
    # the province sees both, with the other county's figures
    p = console_login(reg.main, "prov_officer")
    assert "seed-of-370203" in p.get("/plans").text and "note of plan 901" in p.get("/plans/901").text


def test_plan_notes_and_grade_counts_stay_with_the_plans_region(reg) -> None:
    c = console_login(reg.main, "county_officer")
    page = c.get("/plans/902")
    assert page.status_code == 200 and COUNTY_USCC in page.text
    assert OTHER_CITY_USCC not in page.text          # the note naming another city's entity
    assert ">77<" not in page.text                  # the plan-wide counts by grade
    assert OTHER_CITY_USCC in console_login(reg.main, "prov_officer").get("/plans/902").text


def test_data_quality_shows_no_server_paths_or_user_names_to_a_county(reg) -> None:
    delivery = str(reg.home.parent.parent)  # the server folder the delivery was ingested from
    prov = console_login(reg.main, "prov_analyst")
    assert prov.get("/quality/report").status_code == 200
    county = console_login(reg.main, "county_analyst")
    for path in ("/quality", "/quality/report"):
        r = county.get(path)
        assert r.status_code == 200
        assert "sec-web-store" not in r.text and delivery not in r.text and "/delivery" not in r.text, path
    from riskgrade.service.quality import redacted

    kept = {"trend": [{"delivery_id": 3, "path": "/srv/home/uploads/plan1-20261206-wang-results.csv"}]}
    assert "wang" not in str(redacted(kept)) and "/srv" not in str(redacted(kept))


def test_refused_out_of_region_profile_is_audited_in_api_and_console(reg) -> None:
    api = _api(reg, "county_inspector")
    assert api.get(f"/api/entities/{OTHER_CITY_USCC}").status_code == 404
    c = console_login(reg.main, "county_inspector")
    assert c.get(f"/entities/{OTHER_CITY_USCC}").status_code == 404
    refused = [e for e in audit_entries(reg.main) if e.action == "read_refused" and e.target == OTHER_CITY_USCC]
    assert len(refused) == 2 and {e.username for e in refused} == {"county_inspector"}
    assert {('"via": "console"' in e.detail) for e in refused} == {True, False}


# --------------------------------------------------------------------------- 2. no 500 for bad input
BAD_PAGES = ["²", "١٢", "99999999999999999999", "-1", "1e3", ""]


def test_bad_numbers_never_answer_500(reg) -> None:
    c = console_login(reg.main, "prov_admin", raise_server_exceptions=False)
    csrf = csrf_of(c.get("/admin/users").text)
    for bad in BAD_PAGES:
        for path in ("/entities", "/alerts", "/admin/audit", "/plans/902", "/", "/plans", "/quality", "/model"):
            r = c.get(path, params={"page": bad, "as_of": bad, "level": bad})
            assert r.status_code < 500, (path, bad, r.status_code)
        for path in (f"/plans/{bad}", f"/plans/{bad}/results"):
            if bad:
                r = c.get(path)
                assert r.status_code in (303, 400, 404, 422), (path, bad, r.status_code)
        r = c.post("/alerts/0123456789abcdef/target", data={"csrf": csrf, "task": bad, "reason": "x"})
        assert r.status_code < 500, ("target", bad, r.status_code)
        r = c.post("/plans/new", data={"csrf": csrf, "as_of": "2026-09-30", "task": bad, "budget": bad,
                                       "seed": "1", "step": "preview"})
        assert r.status_code < 500, ("wizard", bad, r.status_code)
    api = TestClient(reg.main, raise_server_exceptions=False)
    api.headers["Authorization"] = f"Bearer {api_token(api, 'prov_admin')}"
    for bad in BAD_PAGES[:4]:
        for path in ("/api/entities", "/api/alerts", "/api/audit"):
            assert api.get(path, params={"page": bad}).status_code in (200, 400, 422, 503), (path, bad)
        assert api.get(f"/api/plans/{bad}").status_code in (404, 422)


def test_a_500_still_carries_the_security_headers(reg, monkeypatch) -> None:
    c = console_login(reg.main, "prov_analyst", raise_server_exceptions=False)
    api = TestClient(reg.main, raise_server_exceptions=False)
    token = api_token(api, "prov_analyst")

    def boom(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr("riskgrade.registry.users.resolve_token", boom)
    monkeypatch.setattr("riskgrade.service.principal.resolve_token", boom)
    for r in (api.get("/api/me", headers={"Authorization": f"Bearer {token}"}), c.get("/entities")):
        assert r.status_code == 500
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store" and "a bug" not in r.text


# --------------------------------------------------------------------------- 3. the upload cap while streaming
def test_a_chunked_upload_without_content_length_meets_the_cap(reg, monkeypatch) -> None:
    monkeypatch.setattr("riskgrade.web.common.MAX_UPLOAD_MB", 1)
    monkeypatch.setattr("riskgrade.api.deps.MAX_UPLOAD_MB", 1, raising=False)
    read: list[int] = []

    def chunks():
        for _ in range(40):  # 2.5 MB, no Content-Length: sent chunked
            read.append(1)
            yield b"x" * 65536

    c = console_login(reg.main, "prov_admin")
    csrf = csrf_of(c.get("/admin/users").text)
    boundary = "rgboundary"

    def form():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\n"
               "Content-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\n"
               ).encode()
        yield from chunks()
        yield f"\r\n--{boundary}--\r\n".encode()

    r = c.post("/plans/902/results", content=form(),
               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413, r.status_code
    assert len(read) == 40  # it was sent in full, without a length (the test client buffers what it sends)
    api = _api(reg, "prov_admin")
    r = api.post("/api/plans/902/results", content=chunks(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


# --------------------------------------------------------------------------- 4. the login throttle, shared
def test_two_workers_share_the_login_throttle(reg) -> None:
    THROTTLE_PER_USER = 10  # failed attempts a minute per user name (docs/service.md)
    w1 = TestClient(reg.app(console=False), client=("10.1.1.1", 1000))
    w2 = TestClient(reg.app(console=False), client=("10.1.1.1", 1000))
    codes = []
    for i in range(THROTTLE_PER_USER + 2):
        w = (w1, w2)[i % 2]
        codes.append(w.post("/api/login", json={"username": "ghost", "password": "wrong-password-1"}).status_code)
    assert codes[:THROTTLE_PER_USER] == [401] * THROTTLE_PER_USER
    assert codes[THROTTLE_PER_USER:] == [429, 429], codes  # one worker alone saw only half of them
    # the attempts are rows of the registry
    from sqlalchemy import func, select

    from riskgrade.registry.models import LoginAttempt

    with reg.main.state.rg.factory() as s:
        assert s.execute(select(func.count()).select_from(LoginAttempt)
                         .where(LoginAttempt.username == "ghost")).scalar_one() == THROTTLE_PER_USER


def test_parallel_attempts_through_two_workers_never_pass_the_limit(reg) -> None:
    """The throttle counted, then checked the password, then recorded the failure: N attempts racing through
    two workers all counted the same few rows and all went through.  Now each attempt is counted and recorded in
    one locked transaction before the password is checked."""
    import threading

    from sqlalchemy import func, select

    from riskgrade.registry.models import LoginAttempt
    from riskgrade.registry.users import THROTTLE_PER_USER

    workers = [TestClient(reg.app(console=False), client=("10.3.3.3", 1000)) for _ in range(2)]
    n = 3 * THROTTLE_PER_USER
    start = threading.Barrier(n)
    codes: list[int] = []

    def attempt(k: int) -> None:
        start.wait()
        r = workers[k % 2].post("/api/login", json={"username": "racer", "password": "wrong-password-1"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(codes) == n and set(codes) <= {401, 429}, codes
    assert codes.count(401) == THROTTLE_PER_USER, sorted(codes)
    with reg.main.state.rg.factory() as s:
        assert s.execute(select(func.count()).select_from(LoginAttempt)
                         .where(LoginAttempt.username == "racer")).scalar_one() == THROTTLE_PER_USER
    # a right password is throttled too while the window is full, and a success leaves no row behind
    r = workers[0].post("/api/login", json={"username": "prov_analyst", "password": PASSWORD})
    assert r.status_code == 200
    with reg.main.state.rg.factory() as s:
        assert not s.execute(select(func.count()).select_from(LoginAttempt)
                             .where(LoginAttempt.username == "prov_analyst")).scalar_one()


# --------------------------------------------------------------------------- 5. trusted proxies
def test_x_forwarded_for_only_from_a_trusted_proxy(reg) -> None:
    forged = {"X-Forwarded-For": "203.0.113.66"}
    plain = TestClient(reg.main, client=("127.0.0.1", 4000))
    plain.post("/api/login", json={"username": "prov_analyst", "password": PASSWORD}, headers=forged)
    last = [e for e in audit_entries(reg.main) if e.action == "login"][-1]
    assert last.target == "127.0.0.1"  # a loopback client is no proxy unless configured
    proxied = TestClient(reg.app(RISKGRADE_TRUSTED_PROXIES="127.0.0.1,10.0.0.0/8"), client=("127.0.0.1", 4001))
    proxied.post("/api/login", json={"username": "prov_analyst", "password": PASSWORD},
                 headers={"X-Forwarded-For": "198.51.100.7, 10.2.3.4"})
    last = [e for e in audit_entries(reg.main) if e.action == "login"][-1]
    assert last.target == "198.51.100.7"
    # a client that puts its own "proxy" first cannot choose the address: the nearest untrusted hop counts
    proxied.post("/api/login", json={"username": "prov_analyst", "password": PASSWORD},
                 headers={"X-Forwarded-For": "10.9.9.9, 192.0.2.5"})
    assert [e for e in audit_entries(reg.main) if e.action == "login"][-1].target == "192.0.2.5"


def test_serve_lets_uvicorn_trust_no_forwarded_header(monkeypatch, tmp_path) -> None:
    import uvicorn

    from riskgrade.cli import service as cli_service

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.update(k))
    monkeypatch.setattr(cli_service, "registry", lambda s: None)
    monkeypatch.setenv("RISKGRADE_HOME", str(tmp_path))
    cli_service.serve(host="127.0.0.1", port=8000, workers=1, home=tmp_path)
    assert seen.get("proxy_headers") is False


# --------------------------------------------------------------------------- 6. one login error
def test_one_login_error_for_every_failure(reg) -> None:
    from riskgrade.registry.users import add_user, update_user

    f = reg.main.state.rg.factory
    for n in ("u_locked", "u_disabled", "u_wrong"):
        add_user(f, n, PASSWORD, "analyst", "37")
    update_user(f, "u_locked", locked_until=dt.datetime.now() + dt.timedelta(minutes=10))
    update_user(f, "u_disabled", disabled=True)
    c = TestClient(reg.main, client=("10.6.6.6", 1))
    answers, times = {}, {}
    for name, pw in (("u_unknown", PASSWORD), ("u_wrong", "wrong-password-9"), ("u_locked", PASSWORD),
                     ("u_disabled", PASSWORD)):
        took = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = c.post("/api/login", json={"username": name, "password": pw})
            took.append(time.perf_counter() - t0)
        answers[name] = (r.status_code, r.json())
        times[name] = statistics.median(took)
    assert len({str(a) for a in answers.values()}) == 1, answers
    assert answers["u_wrong"][0] == 401
    slowest = max(times.values())
    assert min(times.values()) > 0.4 * slowest, times  # every failure does the password hash's work
    # the console: the same message for all
    texts = set()
    for name in ("u_unknown", "u_locked", "u_disabled"):
        cc = TestClient(reg.main, follow_redirects=False, client=("10.6.6.7", 1))
        tok = csrf_of(cc.get("/login").text)
        r = cc.post("/login", data={"username": name, "password": PASSWORD, "csrf": tok})
        texts.add((r.status_code, r.text.split('role="alert">')[1].split("<")[0]))
    assert len(texts) == 1, texts


# --------------------------------------------------------------------------- 7. unique kept-file names
def test_two_uploads_in_the_same_second_keep_two_files(reg, monkeypatch) -> None:
    """The kept copy of an upload (service.results.keep, what every intake calls first) is never overwritten by
    another upload of the same user in the same second."""
    from riskgrade.service import results

    monkeypatch.setattr(results, "now", lambda: dt.datetime(2026, 12, 6, 10, 0, 0))
    body = ("uscc,event_date,result\n" f"{COUNTY_USCC},2026-10-08,未发现问题\n").encode()
    paths = {results.keep(reg.home, 902, "prov_admin", body) for _ in range(2)}
    assert len(paths) == 2 and all(p.read_bytes() == body for p in paths)
    assert len(list((reg.home / "uploads").glob("plan902-20261206100000-*"))) == 2
