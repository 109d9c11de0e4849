"""Issue 17, two-factor sign-in (TOTP, 等保2.0 level 3): required for administrators, available to every user;
enrolment in the console (an otpauth URI shown as text, confirmed with a code) or by an operator
(``riskgrade user totp``); the code as a second step of the console's login and as ``code`` in the API's; an
administrator without a second factor may sign in only to enrol; the secret never in the audit log.  On SQLite
and on PostgreSQL."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from fastapi.testclient import TestClient

from ..conftest import run_cli
from .web_support import PASSWORD, Registry, add_users, audit_entries, csrf_of


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reg(request, tmp_path_factory: pytest.TempPathFactory):
    r = Registry(request.param, None, tmp_path_factory.mktemp(f"sec-totp-{request.param}"))
    r.main = r.app(RISKGRADE_REQUIRE_ADMIN_TOTP="1")  # the default; the suite's fixtures turn it off
    add_users(r.main.state.rg.factory, ("boss", "admin", "37"), ("boss2", "admin", "37"), ("ana", "analyst", "37"),
              ("ops", "admin", "37"))
    yield r
    r.close()


def _code(secret: str, ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * ahead)


def _fresh(reg, username: str) -> str:
    """The user's secret, with the last used step forgotten (each test signs in more than once in 30 s)."""
    from riskgrade.registry.users import get_user, set_totp

    u = get_user(reg.main.state.rg.factory, username)
    set_totp(reg.main.state.rg.factory, username, u.totp_secret, None)
    return u.totp_secret


def _client(reg, n: int) -> TestClient:
    return TestClient(reg.main, follow_redirects=False, client=(f"10.7.0.{n}", 1000))


def _enrol_in_console(reg, c: TestClient, via_page: str = "/account/totp") -> str:
    page = c.get(via_page)
    assert page.status_code == 200
    uri = re.search(r"(otpauth://totp/[^<\s]+)", page.text).group(1)
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)
    assert f"secret={secret}" in uri and "issuer=riskgrade" in uri
    bad = c.post("/account/totp", data={"csrf": csrf_of(page.text), "secret": secret, "code": "000000"
                                        if _code(secret) != "000000" else "111111"})
    assert bad.status_code == 422
    r = c.post("/account/totp", data={"csrf": csrf_of(page.text), "secret": secret, "code": _code(secret)})
    assert r.status_code in (200, 303), r.text[:300]
    return secret


def test_an_administrator_without_totp_may_only_enrol(reg) -> None:
    api = _client(reg, 1)
    r = api.post("/api/login", json={"username": "boss", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"]["code"] == "totp_enrolment_required"
    c = _client(reg, 2)
    tok = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "boss", "password": PASSWORD, "csrf": tok})
    assert r.status_code == 303 and r.headers["location"] == "/account/totp"
    assert "riskgrade_session" not in c.cookies
    # the enrol-only sign-in opens no page and no API call
    for path in ("/", "/admin/users", "/admin/audit", "/entities"):
        assert c.get(path).status_code == 303, path
    enrol = c.cookies.get("riskgrade_enrol")
    assert TestClient(reg.main).get("/api/me", headers={"Authorization": f"Bearer {enrol}"}).status_code == 401
    secret = _enrol_in_console(reg, c)
    # enrolled: the enrol-only sign-in became a session
    assert c.get("/admin/users").status_code == 200
    assert secret not in str([(e.target, e.detail) for e in audit_entries(reg.main)])
    assert any(e.action == "totp_enrol" and e.username == "boss" for e in audit_entries(reg.main))


def test_api_login_asks_for_the_code_and_takes_it_once(reg) -> None:
    from riskgrade.registry.users import new_totp_secret, set_totp

    secret = new_totp_secret()
    set_totp(reg.main.state.rg.factory, "boss2", secret)
    api = _client(reg, 3)
    r = api.post("/api/login", json={"username": "boss2", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["code"] == "totp_required"
    wrong = api.post("/api/login", json={"username": "boss2", "password": PASSWORD, "code": "12345x"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "login_failed"
    code = _code(secret)
    ok = api.post("/api/login", json={"username": "boss2", "password": PASSWORD, "code": code})
    assert ok.status_code == 200, ok.text
    assert api.get("/api/me", headers={"Authorization": f"Bearer {ok.json()['token']}"}).json()["role"] == "admin"
    replay = api.post("/api/login", json={"username": "boss2", "password": PASSWORD, "code": code})
    assert replay.status_code == 401  # a code is accepted once
    # a wrong password with a right code is the same one failure
    bad_pw = api.post("/api/login", json={"username": "boss2", "password": "wrong-pass-1", "code": _code(secret, 1)})
    assert bad_pw.status_code == 401 and bad_pw.json()["error"]["code"] == "login_failed"


def test_console_login_second_step(reg) -> None:
    from riskgrade.registry.users import new_totp_secret, set_totp

    secret = new_totp_secret()
    set_totp(reg.main.state.rg.factory, "boss2", secret)
    c = _client(reg, 4)
    tok = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "boss2", "password": PASSWORD, "csrf": tok, "next": "/admin/audit"})
    assert r.status_code == 200 and 'action="/login/code"' in r.text and "riskgrade_session" not in c.cookies
    pending = c.cookies.get("riskgrade_pending")
    # the pending sign-in is no session and no token
    assert c.get("/admin/audit").status_code == 303
    assert TestClient(reg.main).get("/api/me", headers={"Authorization": f"Bearer {pending}"}).status_code == 401
    bad = c.post("/login/code", data={"csrf": tok, "code": "99999", "next": "/admin/audit"})
    assert bad.status_code == 401 and 'role="alert"' in bad.text
    assert c.post("/login/code", data={"code": _code(secret), "next": "/admin/audit"}).status_code == 403  # csrf
    ok = c.post("/login/code", data={"csrf": tok, "code": _code(secret), "next": "/admin/audit"})
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/audit"
    assert c.get("/admin/audit").status_code == 200
    logins = [e for e in audit_entries(reg.main) if e.action == "login" and e.username == "boss2"]
    assert '"second_factor": "totp"' in logins[-1].detail


def test_any_user_may_enrol_and_then_needs_the_code(reg) -> None:
    api = _client(reg, 5)
    assert api.post("/api/login", json={"username": "ana", "password": PASSWORD}).status_code == 200
    c = _client(reg, 6)
    tok = csrf_of(c.get("/login").text)
    assert c.post("/login", data={"username": "ana", "password": PASSWORD, "csrf": tok}).status_code == 303
    secret = _enrol_in_console(reg, c)
    assert "riskgrade user totp" in c.get("/account/totp").text  # enrolled: an operator resets it
    assert api.post("/api/login", json={"username": "ana", "password": PASSWORD}).json()["error"]["code"] \
        == "totp_required"
    secret = _fresh(reg, "ana")
    assert api.post("/api/login", json={"username": "ana", "password": PASSWORD,
                                        "code": _code(secret)}).status_code == 200


def test_wrong_codes_lock_the_account(reg) -> None:
    from riskgrade.registry.users import MAX_FAILED, new_totp_secret, set_totp

    secret = new_totp_secret()
    set_totp(reg.main.state.rg.factory, "ops", secret)
    api = _client(reg, 8)
    good = _code(secret)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(MAX_FAILED):
        assert api.post("/api/login", json={"username": "ops", "password": PASSWORD, "code": wrong}).status_code == 401
    r = api.post("/api/login", json={"username": "ops", "password": PASSWORD, "code": good})
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_failed"
    from riskgrade.registry.users import update_user

    update_user(reg.main.state.rg.factory, "ops", locked_until=None, failed_logins=0)


def test_operator_enrols_or_resets_with_the_cli(reg) -> None:
    env = {"RISKGRADE_DATABASE_URL": reg.url} if reg.url else {}
    p = run_cli("user", "totp", "ops", home=reg.home, env=env)
    secret = re.search(r"secret: ([A-Z2-7]+)", p.stdout).group(1)
    assert "otpauth://totp/riskgrade:ops?secret=" + secret in p.stdout
    api = _client(reg, 9)
    assert api.post("/api/login", json={"username": "ops", "password": PASSWORD,
                                        "code": _code(secret)}).status_code == 200
    assert secret not in str([(e.target, e.detail) for e in audit_entries(reg.main)])
    run_cli("user", "totp", "ops", "--off", home=reg.home, env=env)
    r = api.post("/api/login", json={"username": "ops", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"]["code"] == "totp_enrolment_required"


def test_the_secret_is_stored_in_the_users_table(reg) -> None:
    from sqlalchemy import inspect

    cols = {c["name"] for c in inspect(reg.main.state.rg.factory.kw["bind"]).get_columns("users")}
    assert {"totp_secret", "totp_last_step"} <= cols
