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
    from riskgrade.registry.users import set_totp, totp_secret

    secret = totp_secret(reg.main.state.rg.factory, username)
    set_totp(reg.main.state.rg.factory, username, secret, None)
    return secret


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
    assert r.status_code == 200 and r.json()["scope"] == "totp_enrolment"
    restricted = {"Authorization": f"Bearer {r.json()['token']}"}
    for path in ("/api/me", "/api/plans", "/api/audit"):
        rr = api.get(path, headers=restricted)
        assert rr.status_code == 403 and rr.json()["error"]["code"] == "totp_enrolment_required", path
    assert api.post("/api/logout", headers=restricted).status_code == 204  # it can be ended
    assert api.post("/api/me/totp", headers=restricted).status_code == 401
    c = _client(reg, 2)
    tok = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "boss", "password": PASSWORD, "csrf": tok})
    assert r.status_code == 303 and r.headers["location"] == "/account/totp"
    assert "riskgrade_session" not in c.cookies
    # the enrol-only sign-in opens no page and no API call
    for path in ("/", "/admin/users", "/admin/audit", "/entities"):
        assert c.get(path).status_code == 303, path
    enrol = c.cookies.get("riskgrade_enrol")
    r = TestClient(reg.main).get("/api/me", headers={"Authorization": f"Bearer {enrol}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "totp_enrolment_required"
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
    assert "请联系系统管理员重置" in c.get("/account/totp").text  # enrolled: an administrator resets it
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
    assert r.status_code == 200 and r.json()["scope"] == "totp_enrolment"
    r = api.get("/api/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "totp_enrolment_required"


def test_the_secret_is_stored_in_the_users_table(reg) -> None:
    from sqlalchemy import inspect

    cols = {c["name"] for c in inspect(reg.main.state.rg.factory.kw["bind"]).get_columns("users")}
    assert {"totp_secret", "totp_last_step"} <= cols


# --------------------------------------------------------------------------- API enrolment (restricted token)
def test_an_administrator_enrols_through_the_api_and_gets_a_full_token(reg) -> None:
    """Before: an administrator without a second factor got 403 totp_enrolment_required from POST /api/login
    and had no way on through the API.  Now the password gives a token that may only enrol; enrolled, it is
    exchanged for a full token."""
    from riskgrade.registry.users import add_user

    add_user(reg.main.state.rg.factory, "apiboss", PASSWORD, "admin", "37")
    api = _client(reg, 20)
    r = api.post("/api/login", json={"username": "apiboss", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["scope"] == "totp_enrolment", r.text
    restricted = {"Authorization": f"Bearer {r.json()['token']}"}
    assert api.get("/api/plans", headers=restricted).json()["error"]["code"] == "totp_enrolment_required"
    offer = api.post("/api/me/totp", headers=restricted)
    assert offer.status_code == 200, offer.text
    secret, uri = offer.json()["secret"], offer.json()["uri"]
    assert uri.startswith("otpauth://totp/riskgrade:apiboss?secret=" + secret)
    wrong = "000000" if _code(secret) != "000000" else "111111"
    bad = api.post("/api/me/totp/confirm", headers=restricted, json={"secret": secret, "code": wrong})
    assert bad.status_code == 422
    ok = api.post("/api/me/totp/confirm", headers=restricted, json={"secret": secret, "code": _code(secret)})
    assert ok.status_code == 200, ok.text
    full = ok.json()["token"]
    assert full and api.get("/api/me", headers={"Authorization": f"Bearer {full}"}).json()["role"] == "admin"
    # the restricted token is spent; a second offer is refused (an operator resets a second factor)
    assert api.get("/api/me", headers=restricted).status_code == 401
    assert api.post("/api/me/totp", headers={"Authorization": f"Bearer {full}"}).status_code == 409
    # from now on the password alone is not enough
    assert api.post("/api/login", json={"username": "apiboss", "password": PASSWORD}).json()["error"]["code"] \
        == "totp_required"
    actions = [(e.action, e.username) for e in audit_entries(reg.main) if e.username == "apiboss"]
    assert ("login_enrol_only", "apiboss") in actions and ("totp_offer", "apiboss") in actions
    assert ("totp_enrol", "apiboss") in actions
    assert secret not in str([(e.target, e.detail) for e in audit_entries(reg.main)])


def test_any_user_may_enrol_through_the_api_with_a_full_token(reg) -> None:
    from riskgrade.registry.users import add_user

    add_user(reg.main.state.rg.factory, "ana2", PASSWORD, "analyst", "37")
    api = _client(reg, 21)
    tok = api.post("/api/login", json={"username": "ana2", "password": PASSWORD}).json()
    assert tok["scope"] == "full"
    h = {"Authorization": f"Bearer {tok['token']}"}
    secret = api.post("/api/me/totp", headers=h).json()["secret"]
    r = api.post("/api/me/totp/confirm", headers=h, json={"secret": secret, "code": _code(secret)})
    assert r.status_code == 200 and r.json()["token"] is None
    assert api.get("/api/me", headers=h).status_code == 200  # the token in use stays valid
    assert api.post("/api/login", json={"username": "ana2", "password": PASSWORD}).json()["error"]["code"] \
        == "totp_required"
    # without a token, nothing
    assert api.post("/api/me/totp").status_code == 401


# --------------------------------------------------------------------------- secrets encrypted at rest
def _stored(reg, username: str) -> str:
    from sqlalchemy import text

    with reg.main.state.rg.factory() as s:
        return s.execute(text("SELECT totp_secret FROM users WHERE username = :u"), {"u": username}).scalar_one()


def test_the_stored_secret_is_encrypted_and_login_still_works(reg) -> None:
    from riskgrade.registry.totp_key import key_path
    from riskgrade.registry.users import new_totp_secret, set_totp

    secret = new_totp_secret()
    set_totp(reg.main.state.rg.factory, "boss2", secret)
    stored = _stored(reg, "boss2")
    assert secret not in stored and stored.startswith("v1:t")
    import base64

    assert secret.encode() not in base64.urlsafe_b64decode(stored.split(":", 2)[2])
    # the key is outside the database: a private file in the data home
    kp = key_path(reg.home)
    assert kp.exists() and (kp.stat().st_mode & 0o777) == 0o600
    assert (kp.parent.stat().st_mode & 0o777) == 0o700
    api = _client(reg, 22)
    r = api.post("/api/login", json={"username": "boss2", "password": PASSWORD, "code": _code(secret)})
    assert r.status_code == 200, r.text
    # a ciphertext copied into another user's row does not decrypt there (bound to the user's id)
    from riskgrade.registry.users import get_user, totp_secret
    from riskgrade.registry.totp_key import TotpKeyError, totp_keys

    keys = totp_keys(reg.home)
    with pytest.raises(TotpKeyError):
        keys.decrypt(stored, get_user(reg.main.state.rg.factory, "ops").id)
    assert totp_secret(reg.main.state.rg.factory, "boss2") == secret


def test_a_plaintext_secret_of_an_older_registry_is_encrypted_on_first_use(reg) -> None:
    from sqlalchemy import text

    from riskgrade.registry.users import add_user, new_totp_secret

    add_user(reg.main.state.rg.factory, "legacy", PASSWORD, "analyst", "37")
    secret = new_totp_secret()
    with reg.main.state.rg.factory() as s:  # what riskgrade before 0006 stored
        s.execute(text("UPDATE users SET totp_secret = :s WHERE username = 'legacy'"), {"s": secret})
        s.commit()
    app = reg.app()  # a new worker: its first use of two-factor sign-in encrypts every plain secret
    api = TestClient(app, client=("10.7.0.23", 1000))
    r = api.post("/api/login", json={"username": "legacy", "password": PASSWORD, "code": _code(secret)})
    assert r.status_code == 200, r.text
    stored = _stored(reg, "legacy")
    assert stored.startswith("v1:") and secret not in stored


def test_a_wrong_key_is_a_clear_error_not_a_500(reg, monkeypatch) -> None:
    from riskgrade.registry.totp_key import key_path
    from riskgrade.registry.users import new_totp_secret, set_totp

    secret = new_totp_secret()
    set_totp(reg.main.state.rg.factory, "boss", secret)
    kp = key_path(reg.home)
    kp.rename(kp.with_name("totp.key.away"))  # the key file lost, another key given: not the secret's key
    monkeypatch.setenv("RISKGRADE_TOTP_KEY", "0" * 64)
    api = TestClient(reg.main, raise_server_exceptions=False, client=("10.7.0.24", 1000))
    r = api.post("/api/login", json={"username": "boss", "password": PASSWORD, "code": _code(secret)})
    assert r.status_code == 503, r.text
    body = r.json()["error"]
    assert body["code"] == "totp_key_unavailable" and "RISKGRADE_TOTP_KEY" in body["message"]
    assert secret not in r.text
    c = TestClient(reg.main, follow_redirects=False, raise_server_exceptions=False, client=("10.7.0.25", 1000))
    tok = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "boss", "password": PASSWORD, "csrf": tok})
    r = c.post("/login/code", data={"csrf": tok, "code": _code(secret)})
    assert r.status_code == 503, r.status_code
    monkeypatch.delenv("RISKGRADE_TOTP_KEY")
    kp.with_name("totp.key.away").rename(kp)
    # it was not the user's failure: no lock, and with the right key the same code signs in
    r = api.post("/api/login", json={"username": "boss", "password": PASSWORD, "code": _code(secret)})
    assert r.status_code == 200, r.text
    assert any(e.action == "login_refused" and '"why": "totp_key"' in e.detail for e in audit_entries(reg.main))
