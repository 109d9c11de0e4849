"""The web console: sessions, CSRF, permissions and region scope on every page (TestClient, fast), and the
browser flows in headless Debian Chromium driven by Playwright (slow; screenshots in test-artifacts/)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import PUBLISHED_MONTHS, PUBLISHED_PASSWORD, ROOT, run_cli, wait_for_server

T1, T2 = PUBLISHED_MONTHS
PASSWORD = PUBLISHED_PASSWORD
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


# --------------------------------------------------------------------------- a small published province
@pytest.fixture(scope="module")
def published(published_province: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """This module's own copy of the session's published province (tests/conftest.py ``published_province``):
    two published months (the second graded by a trained scorecard), a task, a plan, a user per role.  Built
    once per session and copied per module, so that a module's changes (alerts handled, plans drawn, users
    added) never reach another module."""
    root = tmp_path_factory.mktemp("console")
    shutil.copytree(published_province["root"], root, dirs_exist_ok=True)
    return {**published_province, "root": root, "home": root / "home"}


def _wh(home: Path, sql: str, *args) -> list[tuple]:
    """A read-only query of the data home's warehouse."""
    from riskgrade.warehouse import Warehouse

    with Warehouse(home) as wh:
        return wh.con.execute(sql, list(args)).fetchall()


def _alerts_in(home: Path, region: str, where: str = "true", *args) -> list[str]:
    """Alerts with a member in the region (and a condition), by id."""
    return [r[0] for r in _wh(home, f"""
        SELECT DISTINCT a.alert_id FROM alerts a JOIN alert_members m USING (alert_id)
        JOIN entities e ON e.uscc = m.uscc WHERE starts_with(e.region_code, ?) AND {where} ORDER BY 1""", region, *args)]


@pytest.fixture(scope="module")
def app(published: dict):
    from riskgrade.server import create_app

    return create_app(published["home"])


def _login(app, username: str, **kw) -> TestClient:
    c = TestClient(app, follow_redirects=False, **kw)
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
    assert r.status_code == 303, r.text[:300]
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _entity(app, region: str) -> str:
    c = _login(app, "admin")
    page = c.get("/entities", params={"region": region})
    return re.search(r'href="/entities/([0-9A-Z]{18})"', page.text).group(1)


def _audit(app) -> list:
    from sqlalchemy import select

    from riskgrade.registry.models import AuditEntry

    with app.state.rg.factory() as s:
        return s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()


PAGES = ["/", "/entities", "/plans", "/plans/new", "/plans/1", "/plans/1/results", "/quality", "/quality/report",
         "/model", "/model/report", "/admin/users", "/admin/audit", "/alerts", "/alerts/0123456789abcdef"]


# --------------------------------------------------------------------------- sessions and CSRF
def test_every_page_needs_a_session(app, published: dict) -> None:
    c = TestClient(app, follow_redirects=False)
    uscc = _entity(app, published["county"])
    for path in PAGES + [f"/entities/{uscc}"]:
        r = c.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login"), path
        assert uscc not in r.text
    assert c.get("/entities").headers["location"] == "/login?next=%2Fentities"
    for path in ("/plans/new", "/admin/users", "/logout", "/plans/1/results", "/alerts/0123456789abcdef/assign"):
        assert c.post(path, data={"csrf": "x"}).status_code == 303, path
    login = c.get("/login")
    assert login.status_code == 200 and "登录" in login.text and not re.search(r"\b[0-9A-Z]{18}\b", login.text)
    assert c.get("/static/console.js").status_code == 200
    for bad in ("/static/../app.py", "/static/nothing.js", "/static/console.py"):
        assert c.get(bad).status_code == 404
    # the API still answers 401 with its error body, not the console's redirect
    assert c.get("/api/entities").json()["error"]["code"] == "unauthenticated"


def test_login_cookie_csrf_and_expiry(app) -> None:
    from riskgrade.registry.models import Token
    from riskgrade.registry.users import SESSION_HOURS
    from riskgrade.registry.users import _h as token_hash

    c = TestClient(app, follow_redirects=False)
    page = c.get("/login", params={"next": "/entities?grade=D"})
    token = _csrf(page.text)
    # the login form carries a double-submit token: without it (or with another one) nothing happens
    assert c.post("/login", data={"username": "officer", "password": PASSWORD}).status_code == 403
    assert c.post("/login", data={"username": "officer", "password": PASSWORD, "csrf": "forged"}).status_code == 403
    r = c.post("/login", data={"username": "officer", "password": PASSWORD, "csrf": token,
                               "next": "/entities?grade=D"})
    assert r.status_code == 303 and r.headers["location"] == "/entities?grade=D"
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("riskgrade_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"Max-Age={SESSION_HOURS * 3600}" in cookie
    secret = cookie.split(";")[0].split("=", 1)[1]
    assert c.get("/entities").status_code == 200
    # an open redirect is not possible
    c2 = TestClient(app, follow_redirects=False)
    tok2 = _csrf(c2.get("/login").text)
    r2 = c2.post("/login", data={"username": "officer", "password": PASSWORD, "csrf": tok2,
                                 "next": "//evil.example/x"})
    assert r2.headers["location"] == "/"
    # the session expires on the server
    with app.state.rg.factory() as s:
        s.get(Token, token_hash(secret)).expires_at = dt.datetime.now() - dt.timedelta(seconds=1)
        s.commit()
    r = c.get("/entities")
    assert r.status_code == 303 and "expired=1" in r.headers["location"]
    assert "会话已过期" in c.get(r.headers["location"]).text


def test_wrong_password_is_audited_locked_and_rate_limited(app) -> None:
    c = TestClient(app, follow_redirects=False)
    token = _csrf(c.get("/login").text)
    r = c.post("/login", data={"username": "analyst", "password": "wrong-password-1", "csrf": token})
    assert r.status_code == 401 and "用户名或密码错误" in r.text and 'role="alert"' in r.text
    assert any(e.action == "login_failed" and e.username == "analyst" for e in _audit(app))
    codes = []
    for _ in range(12):
        codes.append(c.post("/login", data={"username": "nobody", "password": "x", "csrf": token}).status_code)
    assert 429 in codes
    assert "登录尝试过多" in c.post("/login", data={"username": "nobody", "password": "x", "csrf": token}).text


def test_forms_refuse_a_post_without_the_sessions_csrf_token(app) -> None:
    c = _login(app, "admin")
    other = _login(app, "officer")
    other_token = _csrf(other.get("/plans/new").text)
    for path, data in (("/plans/new", {"as_of": T2, "seed": "1", "step": "create"}),
                       ("/admin/users", {"username": "mallory", "role": "admin", "region": "37",
                                         "password": "Secret-2026x"}),
                       ("/admin/users/analyst/state", {"action": "disable"}),
                       ("/logout", {})):
        for token in (None, "", other_token):
            body = dict(data, **({"csrf": token} if token is not None else {}))
            r = c.post(path, data=body)
            assert r.status_code == 403, (path, token, r.status_code)
            assert "安全令牌" in r.text
    assert "mallory" not in c.get("/admin/users").text
    assert c.get("/").status_code == 200  # still logged in: the forged logout did nothing
    # the API's CSRF header rule applies to the same session cookie
    assert c.post("/api/logout").status_code == 403


# --------------------------------------------------------------------------- permissions and region
ALLOWED = {
    "/": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "/entities": {"admin", "credit_officer", "inspector", "domain_officer"},
    "/plans": {"admin", "credit_officer", "inspector"},
    "/plans/1": {"admin", "credit_officer", "inspector"},
    "/plans/new": {"admin", "credit_officer"},
    "/plans/1/results": {"admin", "credit_officer", "inspector"},
    "/quality": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "/model": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},
    "/admin/users": {"admin"},
    "/admin/audit": {"admin", "auditor"},
    "/alerts": {"admin", "credit_officer", "inspector", "domain_officer", "analyst", "auditor"},  # analysts: counts
    "/work": {"admin", "credit_officer", "inspector", "domain_officer", "auditor"},              # 我的待办
    "/work/units": {"admin", "credit_officer", "inspector", "domain_officer", "analyst"},  # figures only
}


def test_pages_apply_roles_like_the_api(app, published: dict) -> None:
    for name, (role, _) in published["users"].items():
        c = _login(app, name)
        for path, allowed in ALLOWED.items():
            r = c.get(path)
            if role in allowed:
                assert r.status_code == 200, (name, path, r.status_code)
            elif path == "/":
                assert r.status_code == 303 and r.headers["location"] == "/admin/audit"  # the auditor's first page
            else:
                assert r.status_code == 403, (name, path, r.status_code)
                assert "无权" in r.text
        # the menu offers what the role may open, nothing else
        home = c.get("/admin/audit" if role == "auditor" else "/").text
        assert ('href="/admin/users"' in home) == (role == "admin")
        assert ('href="/entities"' in home) == (role in ALLOWED["/entities"])


def test_region_scope_on_search_profile_dashboard_and_plans(app, published: dict) -> None:
    county, other = published["county"], published["other"]
    inside, outside = _entity(app, county), _entity(app, other)
    c = _login(app, "officer_county")
    page = c.get("/entities", params={"page": 1})
    shown = set(re.findall(r'href="/entities/([0-9A-Z]{18})"', page.text))
    assert inside in shown and outside not in shown
    assert c.get(f"/entities/{inside}").status_code == 200
    r = c.get(f"/entities/{outside}")
    assert r.status_code == 404 and outside not in r.text.replace(f"/entities/{outside}", "")
    assert "不在您的辖区" in r.text
    county_total = int(re.search(r"主体数 <strong>([\d,]+)</strong>", c.get("/").text).group(1).replace(",", ""))
    prov = _login(app, "officer")
    prov_total = int(re.search(r"主体数 <strong>([\d,]+)</strong>", prov.get("/").text).group(1).replace(",", ""))
    assert 0 < county_total < prov_total
    plan = c.get("/plans/1").text
    regions = set(re.findall(r"<td[^>]*>(\d{6}) ", plan))
    assert regions == {county}  # the county's own entities, and only those
    # the dashboard's export link goes through the API with the session: the county's rows only, audited
    assert 'href="/api/exports/grades?as_of=' in c.get("/").text
    export = c.get(f"/api/exports/grades?as_of={T2}")
    assert export.status_code == 200
    assert {row["region_code"] for row in csv.DictReader(io.StringIO(export.text))} == {county}
    assert any(e.action == "export_grades" and e.username == "officer_county" for e in _audit(app))


def test_profile_explains_the_grade_masks_identifiers_and_is_audited(app, published: dict) -> None:
    from riskgrade.indicators import load_catalog
    from riskgrade.indicators.facts import ATTRIBUTES

    names = {**{c: zh for c, (zh, _) in ATTRIBUTES.items()}, **{i.code: i.name_zh for i in load_catalog().indicators}}
    officer = _login(app, "officer")
    page = officer.get("/entities", params={"grade": "D"}).text
    rows = re.findall(r'<span class="grade gD"', page)
    assert rows and 'class="grade gA"' not in page and 'class="grade gB"' not in page
    uscc = re.search(r'href="/entities/([0-9A-Z]{18})"', page).group(1)
    prof = officer.get(f"/entities/{uscc}").text
    explanation = re.search(r'<div class="explanation" id="explanation">(.*?)</div>', prof, re.S).group(1)
    assert f"{T2} 分类结果为 D 类" in explanation
    top = _grade_row(app, uscc)["reasons"].split(";")[0]
    assert names[top] in explanation
    assert "（已脱敏）" in prof and "**" in prof
    inspector = _login(app, "inspector").get(f"/entities/{uscc}").text
    assert "（已脱敏）" not in inspector
    assert any(e.action == "view_profile" and e.target == uscc and e.username == "officer" for e in _audit(app))
    en = officer.get(f"/entities/{uscc}", params={"lang": "en"}).text
    assert f"Graded D (high risk) as of {T2}" in en


def _grade_row(app, uscc: str) -> dict:
    """The entity's published grade of the latest month, as the registry holds it."""
    from sqlalchemy import text

    with app.state.rg.factory() as s:
        r = s.execute(text("SELECT * FROM grades WHERE uscc = :u ORDER BY snapshot_id DESC"), {"u": uscc}).mappings().first()
    return dict(r)


def _text(html: str) -> str:
    """What a page shows: its text without tags, scripts or attributes."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_profile_shows_how_the_score_adds_up_with_facts(app, published: dict) -> None:
    """The company page: the base score, each reason by its Chinese name with its points and fact, the factors
    that lowered the risk, and base + points = score (or the clipping); no raw indicator code; in English too."""
    from riskgrade.indicators import load_catalog
    from riskgrade.indicators.facts import ATTRIBUTES

    cat = load_catalog()
    names = {**ATTRIBUTES, **{i.code: (i.name_zh, i.name_en) for i in cat.indicators}}  # a scorecard may use attributes
    officer = _login(app, "officer")
    shown = 0
    for grade in ("D", "C", "A"):
        page = officer.get("/entities", params={"grade": grade}).text
        for uscc in re.findall(r'href="/entities/([0-9A-Z]{18})"', page)[:6]:
            row = _grade_row(app, uscc)
            points = [p for p in json.loads(row["reason_points"] or "[]") if p["points"] != 0]
            facts = json.loads(row["facts"] or "{}")
            html = officer.get(f"/entities/{uscc}").text
            table = re.search(r'<table id="breakdown".*?</table>', html, re.S).group(0)
            shown_text = _text(table)
            assert "基准分" in shown_text and "推高风险的因素" in shown_text and "降低风险的因素" in shown_text
            for p in points:
                name, pts = names[p["code"]][0], abs(p["points"])
                sign = "+" if p["points"] > 0 else "\u2212"
                assert f"{name} {sign}{pts:,.1f} 分" in shown_text, (name, shown_text)
                if p["code"] in facts:
                    assert facts[p["code"]] in shown_text
            for r in [c for c in (row["reasons"] or "").split(";") if c]:
                assert facts.get(r), (uscc, r)  # every reason was published with its fact
            total = sum(p["points"] for p in points)
            line = re.search(r'<td colspan="3" id="score-sum">(.*?)</td>', table, re.S).group(1)
            if row["score_base"] is None:
                assert "未记录基准分" in line
            else:
                raw = row["score_base"] + total
                assert f"基准分 {row['score_base']:,.2f}".rstrip("0").rstrip(".") in line
                assert ("超过上限" in line) == (round(raw, 2) > 1000) and ("低于下限" in line) == (round(raw, 2) < 0)
                assert "不一致" not in line
            # no raw indicator code anywhere in the page's text
            page_text = _text(html)
            assert not [c for c in names if re.search(rf"(?<![A-Za-z0-9_]){c}(?![A-Za-z0-9_])", page_text)]
            shown += bool(points)
    assert shown >= 6
    # English: the same breakdown with English names and words
    uscc = re.search(r'href="/entities/([0-9A-Z]{18})"', officer.get("/entities", params={"grade": "D"}).text).group(1)
    en = _text(officer.get(f"/entities/{uscc}", params={"lang": "en"}).text)
    assert "How the score adds up" in en and "Base score" in en and "What lowered the risk" in en
    top = _grade_row(app, uscc)["reasons"].split(";")[0]
    assert names[top][1] in en and "points" in en
    officer.get("/entities", params={"lang": "zh"})


def test_language_switch_and_one_dictionary_per_language(app) -> None:
    from riskgrade.web.i18n import STRINGS

    assert set(STRINGS["zh"]) == set(STRINGS["en"])
    c = _login(app, "analyst")
    zh = c.get("/").text
    assert '<html lang="zh-CN">' in zh and "信用风险分类总览" in zh and 'href="/?lang=en"' in zh
    en = c.get("/", params={"lang": "en"})
    assert '<html lang="en">' in en.text and "Credit risk classification overview" in en.text
    assert "riskgrade_lang=en" in en.headers["set-cookie"]
    assert "Grade shares by month" in c.get("/").text  # the choice sticks (cookie)
    assert "信用风险分类总览" in c.get("/", params={"lang": "zh"}).text


def test_pages_load_nothing_inline_and_nothing_from_outside(app, published: dict) -> None:
    c = _login(app, "admin")
    uscc = _entity(app, published["county"])
    alert = _alerts_in(published["home"], published["county"])[0]
    for path in ["/", "/?level=county", "/entities", f"/entities/{uscc}", "/plans", "/plans/1", "/plans/new",
                 "/quality", "/model", "/admin/users", "/admin/audit", "/alerts", f"/alerts/{alert}"]:
        r = c.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        for attrs in re.findall(r"<script([^>]*)>", r.text):
            assert 'src="/static/' in attrs or 'type="application/json"' in attrs, (path, attrs)
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", r.text), path
        assert not re.search(r"""\sstyle=|\son[a-z]+=["']""", r.text), path  # no inline style or handler
    echarts = c.get("/static/echarts-6.1.0.min.js")
    assert echarts.status_code == 200 and "max-age" in echarts.headers["cache-control"]


def test_dashboard_data_migration_and_heat_maps(app) -> None:
    c = _login(app, "analyst")
    page = c.get("/").text
    data = json.loads(re.search(r'<script type="application/json" id="rg-data">(.*?)</script>', page, re.S).group(1))
    assert data["trend"]["months"] == [T1[:7], T2[:7]]
    for s in data["trend"]["series"]:
        assert len(s["values"]) == 2
    assert abs(sum(s["values"][1] for s in data["trend"]["series"]) - 1) < 1e-3
    assert sum(x["n"] for x in data["shares"]) > 0
    assert data["heat_grade"]["y"] and all(y.startswith("37") for y in data["heat_grade"]["y"])
    assert f"{T1} → {T2}" in page and 'class="matrix"' in page
    county = json.loads(re.search(r'id="rg-data">(.*?)</script>', c.get("/?level=county").text, re.S).group(1))
    assert len(county["heat_grade"]["y"]) > len(data["heat_grade"]["y"])
    for d in (data, county):  # honest charts: riskiest areas first, a screen's worth of rows, sample sizes
        hg, hi = d["heat_grade"], d["heat_industry"]
        assert hg["high"] == sorted(hg["high"], reverse=True) and hg["top"] == min(15, len(hg["y"]))
        assert sum(hg["n"]) == sum(x["n"] for x in d["shares"])
        assert len(hi["y"]) <= 15 and hi["y"] == hg["y"][:len(hi["y"])]
        small = [c for c in hi["data"] if c[3] < hi["min_cell"]]
        assert small and all(c[2] is None for c in small)  # too few entities: grey, no share
        assert all(0 <= c[2] <= 1 for c in hi["data"] if c[3] >= hi["min_cell"])
        assert all(re.search(r"[\u4e00-\u9fff]", x) for x in hi["x"])  # industries by Chinese name, not letters
        assert len(hi["rows"]) >= len(hi["data"])  # the table under the chart lists every area


# Words a zh page may show in Latin letters: the product's name and the otpauth scheme of the two-factor page.
# Everything a user must read is Chinese; identifiers (USCC, hashes, versions, record ids, file paths) are
# inside <code> and are not words.
LATIN_ALLOWED = {"riskgrade", "otpauth"}
_RAW_TOKEN = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z]{3,}\b")


def _words_on(html_text: str) -> str:
    import html as html_mod

    text = re.sub(r"<(script|style|code)\b.*?</\1>", " ", html_text, flags=re.S)
    return html_mod.unescape(re.sub(r"<[^>]+>", " ", text))


def test_every_alert_figure_has_a_chinese_name() -> None:
    """Every key an evaluator writes into an alert's figures (info) is shown in words on a zh page."""
    from riskgrade.web.names import info_items

    src = "".join((ROOT / "riskgrade" / "warning" / f).read_text(encoding="utf-8") for f in ("evaluate.py", "clusters.py"))
    keys = set(re.findall(r"'([a-z_]+)': ", src))  # the struct keys of the evaluators' to_json(...)
    assert {"window_days", "links", "cusum", "valid_until"} <= keys
    sample = {k: ({"phone": 3, "legal_rep": 2} if k == "links" else "2026-01-01") for k in keys}
    shown = info_items(sample, "zh")
    for name, value in shown:
        assert not _RAW_TOKEN.search(name), f"alert figure {name!r} has no Chinese name"
        assert not _RAW_TOKEN.search(value), value


def test_the_alert_list_names_the_companies(app, published: dict) -> None:
    """A county officer reads who an alert is about: its first member's name in the county (and how many), not a
    hash; the id stays beside it."""
    c = _login(app, "officer_county")
    page = c.get("/alerts").text
    rows = re.findall(r'<td[^>]*class="name"[^>]*><a href="/alerts/([0-9a-f]{16})">([^<]+)</a>', page)
    assert rows, page[:500]
    names = {n for (n,) in _wh(published["home"], "SELECT name FROM entities WHERE starts_with(region_code, ?)",
                               published["county"])}
    for aid, shown in rows:
        first = shown.split(" 等 ")[0]
        assert first in names or "县区" in first or first.endswith("业"), (aid, shown)  # a company, or an area


def test_zh_pages_show_no_raw_codes(app, published: dict) -> None:
    """Every page each role reaches, in Chinese: no snake_case code and no English word outside <code>."""
    users = set(published["users"])
    found: dict[str, set] = {}
    for user in ("admin", "officer_county", "inspector_county", "domain", "analyst", "auditor"):
        c = _login(app, user)
        paths = ["/", "/entities", f"/entities?region={published['county']}", "/alerts", "/plans", "/plans/new",
                 "/plans/1", "/plans/1/results", "/quality", "/model", "/admin/users", "/admin/audit", "/account/totp",
                 "/alerts/rules", "/help", f"/admin/users/{user}", "/reviews", "/work", "/work/units"]
        first = c.get(f"/entities?region={published['county']}")
        paths += re.findall(r'href="(/entities/[0-9A-Z]{18})"', first.text)[:3]
        paths += re.findall(r'href="(/plans/1/entities/[0-9A-Z]{18}/(?:notice|record))"', c.get("/plans/1").text)[:2]
        alerts = c.get("/alerts")
        paths += list(dict.fromkeys(re.findall(r'href="(/alerts/[0-9a-f]{16})"', alerts.text)))[:8]
        for path in paths:
            r = c.get(path)
            if r.status_code != 200:
                continue
            for tok in _RAW_TOKEN.findall(_words_on(r.text)):
                if tok not in LATIN_ALLOWED and tok not in users:
                    found.setdefault(tok, set()).add(path)
    assert not found, "raw codes on zh pages: " + "; ".join(f"{k} on {sorted(v)[:3]}" for k, v in sorted(found.items()))


def test_the_user_guide_shows_its_screenshots(app) -> None:
    """The 操作手册 in both languages: every picture it names is served (JPEG, under the page's CSP) and has words."""
    c = _login(app, "officer_county")
    for lang, least in (("zh", 5), ("en", 3)):
        page = c.get("/help", params={"lang": lang}) if lang == "en" else c.get("/help")
        assert page.status_code == 200
        images = re.findall(r'<img src="(/static/[^"]+)" alt="([^"]*)"', page.text)
        assert len(images) >= least, (lang, images)
        for src, alt in images:
            r = c.get(src)
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:3] == b"\xff\xd8\xff"
            assert alt.strip(), src
    assert c.get("/static/help-missing.jpg").status_code == 404


def test_search_sorts_pages_and_exports_in_chinese(app, published: dict) -> None:
    """Sorting by a column (both ways), page numbers with a jump, and the matches as XLSX and CSV with Chinese
    headers and company names, in the user's region only, audited; a role without export may not."""
    import openpyxl

    county = published["county"]
    c = _login(app, "officer_county")
    page = c.get("/entities", params={"sort": "score", "desc": "1"}).text
    scores = [float(x.replace(",", "")) for x in re.findall(r'<td class="n">([\d,.]+)</td>', page)]
    assert len(scores) > 5 and scores == sorted(scores, reverse=True)
    assert 'aria-sort="descending"' in page and "/entities?sort=score" in page  # the header turns it around
    asc = c.get("/entities", params={"sort": "score"}).text
    scores_up = [float(x.replace(",", "")) for x in re.findall(r'<td class="n">([\d,.]+)</td>', asc)]
    assert scores_up == sorted(scores_up) and scores_up[0] <= scores[-1]
    total = int(re.search(r"共 ([\d,]+) ", page).group(1).replace(",", "")) if re.search(r"共 ([\d,]+) ", page) else None
    assert 'class="pages"' in page and 'name="page"' in page and 'aria-current="page"' in page  # numbers and a jump
    last = c.get("/entities", params={"sort": "score", "desc": "1", "page": "99999"}).text  # past the end: the last
    assert 'class="current">' in last and "<tbody>" in last
    x = c.get("/entities/export", params={"fmt": "xlsx", "sort": "name"})
    assert x.status_code == 200 and x.headers["content-disposition"].endswith('.xlsx"')
    ws = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("统一社会信用代码", "名称", "主体类型") and "信用风险等级" in "".join(map(str, rows[0]))
    body = rows[1:]
    assert body and all(r[3].startswith(county) for r in body)  # the user's county only
    assert all(re.search(r"[\u4e00-\u9fff]", r[1]) for r in body)  # company names
    if total is not None:
        assert len(body) == total
    csv_r = c.get("/entities/export", params={"fmt": "csv", "grade": "A"})
    assert csv_r.content.startswith(b"\xef\xbb\xbf")  # a byte-order mark: Excel reads the Chinese right
    lines = csv_r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("统一社会信用代码,名称") and all(",A," in ln for ln in lines[1:])
    exports = [e for e in _audit(app) if e.action == "export_search" and e.username == "officer_county"]
    assert len(exports) >= 2 and json.loads(exports[-1].detail)["rows"] == len(lines) - 1
    assert _login(app, "inspector_county").get("/entities/export").status_code == 403


# --------------------------------------------------------------------------- plan wizard, results, reports, admin
def test_plan_wizard_preview_create_and_scope(app, published: dict) -> None:
    c = _login(app, "officer")
    token = _csrf(c.get("/plans/new").text)
    bad = c.post("/plans/new", data={"csrf": token, "as_of": "2020-01-31", "seed": "x y", "budget": "-1"})
    assert bad.status_code == 422 and "请选择已发布的分类月份" in bad.text and "随机种子" in bad.text
    form = {"csrf": token, "as_of": T2, "task": "general", "budget": "60", "seed": "20261008"}
    preview = c.post("/plans/new", data={**form, "step": "preview"})
    assert preview.status_code == 200 and "第三步：确认" in preview.text and 'value="create"' in preview.text
    made = c.post("/plans/new", data={**form, "step": "create"})
    assert made.status_code == 303 and made.headers["location"].endswith("?created=1")
    plan = c.get(made.headers["location"]).text
    assert "已生成并发布抽查计划" in plan and "20261008" in plan
    assert any(e.action == "plan_create" and e.username == "officer" for e in _audit(app))
    # a county officer cannot draw the province-wide plan, but can draw one for a new task of the county
    county = _login(app, "officer_county")
    tok = _csrf(county.get("/plans/new").text)
    r = county.post("/plans/new", data={"csrf": tok, "as_of": T2, "task": "general", "budget": "5", "seed": "1",
                                        "step": "create"})
    assert r.status_code == 422 and "超出您的辖区" in r.text
    r = county.post("/plans/new", data={"csrf": tok, "as_of": T2, "task": "new", "new_name": "县级抽查",
                                        "new_domain": "general", "budget": "5", "seed": "2", "step": "create"})
    assert r.status_code == 303, r.text[-800:]
    page = county.get(r.headers["location"]).text
    assert set(re.findall(r"<td[^>]*>(\d{6}) ", page)) == {published["county"]}


def test_results_upload_checks_scope_and_links_results(app, published: dict) -> None:
    from sqlalchemy import select

    from riskgrade.registry.models import PlanEntity

    with app.state.rg.factory() as s:
        planned = s.execute(select(PlanEntity.uscc, PlanEntity.region_code).where(PlanEntity.plan_id == 1)
                            .order_by(PlanEntity.uscc)).all()
    inside = [u for u, r in planned if r == published["county"]]
    outside = [u for u, r in planned if r != published["county"]]
    assert inside and outside

    def csv_of(usccs, kind="inspection"):
        lines = ["record_id,uscc,event_type,event_date,source,detail"]
        lines += [f"web-{i}-{u},{u},{kind},2026-10-20,general,problem" for i, u in enumerate(usccs)]
        return ("\n".join(lines) + "\n").encode()

    c = _login(app, "inspector_county")
    token = _csrf(c.get("/plans/1/results").text)
    up = lambda body: c.post("/plans/1/results", data={"csrf": token},  # noqa: E731
                             files={"file": ("results.csv", body, "text/csv")})
    r = up(csv_of(inside[:1] + outside[:1]))
    assert r.status_code == 422 and "不是本计划在您辖区内的主体" in r.text
    r = up(csv_of(inside[:1], kind="serious_dishonest_in"))
    assert r.status_code == 422 and "不是抽查检查结果" in r.text
    r = up(csv_of(inside))
    assert r.status_code == 200, r.text[-600:]
    assert f"新关联 {len(inside)} 条结果" in r.text
    assert any(e.action == "results_upload" and e.username == "inspector_county" for e in _audit(app))


def test_results_template_filled_in_chinese_comes_back_as_codes(app, published: dict) -> None:
    """The officer's loop: download the plan's template (XLSX, Chinese headers, the plan's entities in the county
    with their names), fill in dates and Chinese result words, upload it: the results are stored as the
    contract's codes; the name column is never read; the download is audited."""
    import openpyxl

    from riskgrade.contract import INSPECTION_RESULT_ZH

    c = _login(app, "inspector_county")
    r = c.get("/plans/1/results/template")
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('-results-template.xlsx"')
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("统一社会信用代码", "主体名称（仅供核对，不导入）", "检查日期", "检查结果", "检查人员", "备注")
    body = [x for x in rows[1:] if x[0]]
    planned = {u for (u,) in _wh(published["home"], "SELECT uscc FROM plan_entities WHERE plan_id = 1 "
                                                     "AND starts_with(region_code, ?)", published["county"])}
    assert {x[0] for x in body} == planned and all(x[1] for x in body)  # every drawn entity of the county, named
    assert "填写说明" in wb.sheetnames and ws.data_validations.dataValidation  # instructions and a pick list
    words = {"pass": INSPECTION_RESULT_ZH["pass"], "problem": INSPECTION_RESULT_ZH["problem"],
             "unreachable": INSPECTION_RESULT_ZH["unreachable"]}
    filled = list(zip(body, words.items()))
    for i, (row, (_, word)) in enumerate(filled, start=2):
        ws.cell(i, 2).value = "=HYPERLINK(\"x\")"  # the reference column is never read, whatever it holds
        ws.cell(i, 3).value = dt.date(2026, 10, 21)
        ws.cell(i, 4).value = word
    for i in range(len(filled) + 2, len(body) + 2):  # rows left empty are not results
        ws.cell(i, 1).value = None
        ws.cell(i, 2).value = None
        ws.cell(i, 5).value = None
    out = io.BytesIO()
    wb.save(out)
    token = _csrf(c.get("/plans/1/results").text)
    up = c.post("/plans/1/results", data={"csrf": token},
                files={"file": ("结果.xlsx", out.getvalue(),
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    assert up.status_code == 200, up.text[-800:]
    stored = dict(_wh(published["home"], "SELECT uscc, detail FROM events WHERE source = 'results:plan-1' "
                                         "AND event_date = DATE '2026-10-21'"))
    assert stored == {row[0]: code for row, (code, _) in filled}  # Chinese words folded to the codes
    assert any(e.action == "results_template" and e.username == "inspector_county" for e in _audit(app))
    assert _login(app, "analyst").get("/plans/1/results/template").status_code == 403


def test_quality_and_model_reports_are_framed_with_hashed_scripts(app) -> None:
    c = _login(app, "analyst")
    q = c.get("/quality")
    assert q.status_code == 200 and "记名率" in q.text and '<iframe class="report" src="/quality/report' in q.text
    r = c.get("/quality/report")
    csp = r.headers["content-security-policy"]
    assert r.status_code == 200 and "'sha256-" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert r.headers["x-frame-options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in csp
    m = c.get("/model")
    assert "训练评分卡" in m.text and 'src="/model/report?as_of=' in m.text
    rep = c.get(f"/model/report?as_of={T2}&lang=en")
    assert rep.status_code == 200 and "Credit risk classification model report" in rep.text
    expert = c.get("/model", params={"as_of": T1})
    assert "专家评分卡" in expert.text and "/model/report" not in expert.text
    assert c.get("/model/report", params={"as_of": T1}).status_code == 404


def test_administration_users_and_audit(app, published: dict) -> None:
    c = _login(app, "admin")
    token = _csrf(c.get("/admin/users").text)
    r = c.post("/admin/users", data={"csrf": token, "username": "new_analyst", "display_name": "新分析员",
                                     "role": "analyst", "region": published["county"], "password": "short"})
    assert r.status_code == 422 and "密码至少 10 位" in r.text
    for bad in ("99", "379999", "3799"):  # regions that do not exist are refused, in words
        r = c.post("/admin/users", data={"csrf": token, "username": "ghost", "role": "analyst", "region": bad,
                                         "password": PASSWORD})
        assert r.status_code == 422 and f"辖区代码 {bad} 不是现行" in r.text
    r = c.post("/admin/users", data={"csrf": token, "username": "new_analyst", "display_name": "新分析员",
                                     "role": "analyst", "region": published["county"], "password": PASSWORD})
    assert r.status_code == 200 and "已新增用户 new_analyst" in r.text
    assert _login(app, "new_analyst").get("/").status_code == 200
    session = _login(app, "new_analyst")
    r = c.post("/admin/users/new_analyst/state", data={"csrf": token, "action": "disable"})
    assert "已更新用户 new_analyst" in r.text
    assert session.get("/").status_code == 303  # disabling ends the user's sessions
    assert c.post("/admin/users/admin/state", data={"csrf": token, "action": "disable"}).status_code == 422
    audit = c.get("/admin/audit", params={"verify": "1"}).text
    assert "审计日志完整" in audit and "停用用户" in audit and "user_disable" in audit  # words, the code in a title
    actions = [(e.username, e.action, e.target) for e in _audit(app)]
    assert ("admin", "user_add", "new_analyst") in actions and ("admin", "user_disable", "new_analyst") in actions
    assert not any(a[2] == "ghost" for a in actions)
    for args in (("user", "add", "ghost2", "--role", "analyst", "--region", "379999", "--password-env", "PW"),
                 ("user", "role", "analyst", "--region", "99")):  # the command line checks regions the same way
        p = run_cli(*args, home=published["home"], check=False, env={"PW": PASSWORD})
        assert p.returncode != 0 and "GB/T 2260" in p.stderr, p.stderr


def test_administration_in_the_browser_edit_unlock_reset(app, published: dict) -> None:
    """The user page: role, region and department changed with what was and what is audited; a locked account
    unlocked; a password reset ends the user's sessions; an administrator cannot demote himself."""
    from riskgrade.registry.users import get_user, update_user

    c = _login(app, "admin")
    token = _csrf(c.get("/admin/users").text)
    assert c.post("/admin/users", data={"csrf": token, "username": "zhou", "display_name": "周", "role": "inspector",
                                        "region": published["county"], "password": PASSWORD}).status_code == 200
    page = c.get("/admin/users/zhou")
    assert page.status_code == 200 and "用户：zhou" in page.text and "解锁" not in page.text
    token = _csrf(page.text)
    r = c.post("/admin/users/zhou", data={"csrf": token, "op": "save", "role": "credit_officer", "region": "3701",
                                          "department": "信用监管科", "display_name": "周某"})
    assert r.status_code == 303 and "已保存" in c.get(r.headers["location"]).text
    factory = app.state.rg.factory
    u = get_user(factory, "zhou")
    assert (u.role, u.region_prefix, u.department, u.display_name) == ("credit_officer", "3701", "信用监管科", "周某")
    change = next(e for e in reversed(_audit(app)) if e.action == "user_change" and e.target == "zhou")
    detail = json.loads(change.detail)
    assert detail["changed"]["role"] == ["inspector", "credit_officer"] and detail["changed"]["region"][1] == "3701"
    r = c.post("/admin/users/zhou", data={"csrf": token, "op": "save", "role": "analyst", "region": "99",
                                          "department": "", "display_name": "周某"})
    assert r.status_code == 422 and "辖区代码 99" in r.text and get_user(factory, "zhou").role == "credit_officer"
    # an account locked by failed sign-ins (set directly: the login throttle is shared by this module's tests)
    update_user(factory, "zhou", locked_until=dt.datetime.now() + dt.timedelta(minutes=15))
    page = c.get("/admin/users/zhou").text
    assert "已锁定" in page and "解锁" in page
    assert c.post("/admin/users/zhou", data={"csrf": token, "op": "unlock"}).status_code == 303
    assert get_user(factory, "zhou").locked_until is None
    session = _login(app, "zhou")
    r = c.post("/admin/users/zhou", data={"csrf": token, "op": "password", "password": "short"})
    assert r.status_code == 422 and "密码至少 10 位" in r.text
    r = c.post("/admin/users/zhou", data={"csrf": token, "op": "password", "password": "Another-2026y"})
    assert r.status_code == 303
    assert session.get("/").status_code == 303  # the old session ended
    fresh = TestClient(app, follow_redirects=False)
    ok = fresh.post("/login", data={"username": "zhou", "password": "Another-2026y", "csrf": _csrf(fresh.get("/login").text)})
    assert ok.status_code == 303 and "/login" not in ok.headers["location"]
    r = c.post("/admin/users/admin", data={"csrf": token, "op": "save", "role": "analyst", "region": "37",
                                           "department": "", "display_name": "x"})
    assert r.status_code == 422 and "不能修改自己的角色" in r.text and get_user(factory, "admin").role == "admin"
    actions = [(e.action, e.target) for e in _audit(app)]
    assert ("user_unlock", "zhou") in actions and ("user_password_reset", "zhou") in actions
    assert not any("Another-2026y" in (e.detail or "") for e in _audit(app))
    audit_page = c.get("/admin/audit").text
    assert "解锁用户" in audit_page and "重置密码" in audit_page


# --------------------------------------------------------------------------- early warning (预警)
def _total(html: str) -> int:
    return int(re.search(r"共 ([\d,]+) 条预警", html).group(1).replace(",", ""))


def test_alert_pages_apply_region_department_and_role(app, published: dict) -> None:
    home, county, other = published["home"], published["county"], published["other"]
    admin = _login(app, "admin")
    page = admin.get("/alerts")
    assert page.status_code == 200 and 'href="/alerts"' in page.text and "按处置状态" in page.text
    everything = _total(page.text)
    assert everything == _wh(home, "SELECT count(*) FROM alerts")[0][0]
    in_county = _total(admin.get("/alerts", params={"region": county}).text)
    officer = _login(app, "officer_county")
    assert 0 < _total(officer.get("/alerts").text) == in_county == len(_alerts_in(home, county)) < everything
    outside = [a for a in _alerts_in(home, other) if a not in _alerts_in(home, county)][0]
    r = officer.get(f"/alerts/{outside}")
    assert r.status_code == 404 and "不在您的辖区" in r.text
    assert outside not in officer.get("/alerts", params={"region": other}).text
    # filters and the status facet
    high = admin.get("/alerts", params={"severity": "high"}).text
    assert _total(high) == _wh(home, "SELECT count(*) FROM alerts WHERE severity = 'high'")[0][0]
    assert 'class="sev sev-medium"' not in high
    # a domain officer: the alerts routed to its department
    dept = published["department"]
    domain = _login(app, "domain").get("/alerts").text
    assert 0 < _total(domain) < everything
    assert _total(domain) == _wh(home, "SELECT count(*) FROM alerts WHERE unit_code = (SELECT any_value(unit_code) "
                                       "FROM alerts WHERE responsible_unit = ?)", dept)[0][0]  # every county's unit
    county_routed = _wh(home, "SELECT alert_id FROM alerts WHERE unit_kind = 'county' LIMIT 1")[0][0]
    assert _login(app, "domain").get(f"/alerts/{county_routed}").status_code == 404
    # an analyst: counts only, no individual alert
    analyst = _login(app, "analyst")
    stats = analyst.get("/alerts").text
    assert "只能查看预警统计数字" in stats and not re.search(r'href="/alerts/[0-9a-f]{16}"', stats)
    assert _total(stats) == everything
    assert analyst.get(f"/alerts/{county_routed}").status_code == 403
    # an auditor reads alerts but has no form to change them
    audit_view = _login(app, "auditor").get(f"/alerts/{county_routed}").text
    assert "处置记录" in audit_view and 'action="/alerts/' not in audit_view


def test_alert_detail_steps_csrf_and_both_logs(app, published: dict) -> None:
    from sqlalchemy import select

    from riskgrade.registry.models import AuditEntry

    home, county = published["home"], published["county"]
    # one that closes without a sign-off (worklimits.yaml: high severity and some rules need one)
    aid = _alerts_in(home, county, "a.status = 'open' AND a.unit_kind = 'county' AND a.severity <> 'high' "
                                   "AND a.rule <> 'new_serious_dishonest'")[0]
    c = _login(app, "officer_county")
    page = c.get(f"/alerts/{aid}")
    assert page.status_code == 200 and 'action="/alerts/' + aid + '/assign"' in page.text
    assert "待分办" in page.text and 'for="assign-to"' in page.text and "系统预警" in page.text
    token = _csrf(page.text)
    # without the session's CSRF token nothing happens
    for bad in (None, "", _csrf(_login(app, "officer").get(f"/alerts/{aid}").text)):
        r = c.post(f"/alerts/{aid}/assign", data={"to": "某科", **({"csrf": bad} if bad is not None else {})})
        assert r.status_code == 403 and "安全令牌" in r.text
    # workflow errors, in words
    r = c.post(f"/alerts/{aid}/close", data={"csrf": token})
    assert r.status_code == 409 and "该预警当前为“待分办”，不能执行“办结”" in r.text and 'role="alert"' in r.text
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": " "})
    assert r.status_code == 422 and "请选择承办人或承办单位" in r.text
    r = c.post(f"/alerts/{aid}/handle", data={"csrf": token, "action": "约谈"})
    assert r.status_code == 409
    # assign, handle, close: each one a redirect to the alert with a notice
    for op, data, status in (("assign", {"to": county, "note": "请核查"}, "已分办"),
                             ("handle", {"action": "interview", "note": "约谈法定代表人"}, "已处置"),
                             ("close", {"note": "已整改到位"}, "已办结")):
        r = c.post(f"/alerts/{aid}/{op}", data={"csrf": token, **data})
        assert r.status_code == 303 and r.headers["location"] == f"/alerts/{aid}?done={op}", (op, r.text[-500:])
        shown = c.get(r.headers["location"]).text
        assert "已记入处置记录和审计日志" in shown and f'id="alert-status">{status}<' in shown
    assert "该预警已办结，不能再变更" in shown and 'action="/alerts/' not in shown and "约谈" in shown
    log = _wh(home, "SELECT username, action FROM alert_log WHERE alert_id = ? ORDER BY seq", aid)
    assert log == [("riskgrade-warn", "raise"), ("officer_county", "assign"), ("officer_county", "handle"),
                   ("officer_county", "close")]
    with app.state.rg.factory() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.target == aid).order_by(AuditEntry.id)).scalars().all()
    steps = [(e.username, e.action) for e in rows if e.action.startswith("alert_")]
    assert steps == [("officer_county", "alert_assign"), ("officer_county", "alert_handle"),
                     ("officer_county", "alert_close")]
    assert all(json.loads(e.detail)["via"] == "console" for e in rows if e.action.startswith("alert_"))
    assert any(e.action == "view_alert" and e.username == "officer_county" for e in rows)
    # the page in English
    en = c.get(f"/alerts/{aid}", params={"lang": "en"}).text
    assert "Disposition log" in en and ">closed<" in en and "This alert is closed" in en


def test_alert_target_and_profile(app, published: dict) -> None:
    home = published["home"]
    c = _login(app, "officer")  # a province officer: the province-wide food task is within its region
    aid = _wh(home, "SELECT alert_id FROM alerts WHERE severity = 'high' AND status = 'open' ORDER BY alert_id "
                    "LIMIT 1")[0][0]
    page = c.get(f"/alerts/{aid}").text
    assert 'for="target-task"' in page and "2026年第四季度食品经营者抽查" in page
    token = _csrf(page)
    task = re.search(r'<select id="target-task" name="task" required>\s*<option value="(\d+)"', page).group(1)
    r = c.post(f"/alerts/{aid}/target", data={"csrf": token, "task": task, "reason": "高风险"})
    assert r.status_code == 303, r.text[-500:]
    shown = c.get(r.headers["location"]).text
    assert "已完成“列入定向抽查”" in shown and "任务 " + task in shown
    assert _wh(home, "SELECT count(*) FROM task_targets WHERE alert_id = ?", aid)[0][0] >= 1
    medium = _wh(home, "SELECT alert_id FROM alerts WHERE severity = 'medium' AND rule <> 'annual_report_all_zero' "
                       "LIMIT 1")[0][0]
    r = c.post(f"/alerts/{medium}/target", data={"csrf": token, "task": task})
    assert r.status_code == 409 and "只有高风险预警" in r.text
    # inspectors handle alerts but do not send them to tasks
    insp = _login(app, "inspector")
    assert 'for="target-task"' not in insp.get(f"/alerts/{aid}").text
    assert insp.post(f"/alerts/{aid}/target", data={"csrf": _csrf(insp.get("/alerts").text), "task": task}
                     ).status_code == 403
    # the profile of a member lists the alert
    member = _wh(home, "SELECT uscc FROM alert_members WHERE alert_id = ? LIMIT 1", aid)[0][0]
    prof = c.get(f"/entities/{member}").text
    assert 'id="h-alerts"' in prof and f'href="/alerts/{aid}"' in prof


# --------------------------------------------------------------------------- the browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(published: dict, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("served") / "home"
    shutil.copytree(published["home"], home)
    port = _free_port()
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    env.pop("RISKGRADE_DATABASE_URL", None)
    p = subprocess.Popen([sys.executable, "-m", "riskgrade", "serve", "--port", str(port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base + "/login", p)
        yield {"base": base, "home": home, **published, "served_home": home}  # "home" stays the published one
    finally:
        p.terminate()
        p.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    pw = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """What a page asks for and complains about: every request must stay on the server, no console error."""

    def __init__(self, base: str):
        self.base, self.outside, self.errors = base, [], []

    def attach(self, page) -> None:
        page.on("request", lambda r: None if r.url.startswith(self.base + "/") or r.url.startswith("data:")
                else self.outside.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _browser_login(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


@pytest.mark.slow
def test_browser_officer_flows(server: dict, browser) -> None:
    base = server["base"]
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    watch = Watch(base)
    watch.attach(page)
    # a wrong password: an error, still on the login page
    _browser_login(page, base, "officer", "wrong-password-9")
    assert page.get_by_role("alert").inner_text().startswith("用户名或密码错误")
    assert "/login" in page.url
    _shot(page, "01-login-failed")
    # log in: the dashboard with its charts (canvas drawn by the vendored ECharts)
    _browser_login(page, base, "officer")
    assert page.get_by_role("heading", name="信用风险分类总览").is_visible()
    page.wait_for_selector("[data-chart=shares] canvas")
    assert page.locator("[data-chart] canvas").count() >= 4
    _shot(page, "02-dashboard")
    # search: grade D entities
    page.get_by_role("link", name="主体查询").click()
    page.get_by_label("等级").select_option("D")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("table.list tbody tr").count() > 0
    assert page.locator("table.list .grade").all_inner_texts() == ["D"] * page.locator("table.list .grade").count()
    _shot(page, "03-search")
    # open a profile: the explanation is there and readable
    page.locator("table.list tbody tr").first.locator("td").nth(1).get_by_role("link").click()
    page.wait_for_load_state("networkidle")
    explanation = page.locator("#explanation")
    assert explanation.is_visible() and "分类结果为 D 类" in explanation.inner_text()
    assert "风险分值" in explanation.inner_text()
    _shot(page, "04-profile")
    # create a plan with the wizard
    page.get_by_role("link", name="抽查计划").click()
    page.get_by_role("link", name="新建抽查计划").click()
    page.get_by_label("分类月份").select_option(T2)
    page.get_by_label("抽查数量上限").fill("40")
    page.get_by_label("随机种子").fill("20261101")
    _shot(page, "05-wizard")
    page.get_by_role("button", name="下一步：预览").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("第三步：确认").first.is_visible()
    _shot(page, "06-wizard-confirm")
    page.get_by_role("button", name="确认生成计划").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text().startswith("已生成并发布抽查计划")
    assert re.search(r"/plans/\d+\?created=1$", page.url)
    _shot(page, "07-plan-created")
    # switch language: the same page in English, and it sticks
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name=re.compile("Inspection plan")).is_visible()
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_selector("[data-chart=trend] canvas")
    assert page.get_by_role("heading", name="Credit risk classification overview").is_visible()
    _shot(page, "08-dashboard-en")
    page.get_by_role("link", name="Data quality").click()
    page.wait_for_load_state("networkidle")
    page.frame_locator("iframe.report").locator("h1").wait_for()
    _shot(page, "09-quality-en")
    page.get_by_role("link", name="Model report").click()
    page.wait_for_load_state("networkidle")
    page.frame_locator("iframe.report").locator("canvas, svg").first.wait_for()  # the model card draws SVG
    _shot(page, "10-model-en")
    page.get_by_role("link", name="中文").click()
    # a form posted without its CSRF token is refused
    page.goto(base + "/plans/new")
    page.evaluate("document.querySelector('form.wizard input[name=csrf]').remove()")
    page.get_by_role("button", name="下一步：预览").click()
    page.wait_for_load_state("networkidle")
    assert "安全令牌" in page.get_by_role("alert").inner_text()
    _shot(page, "11-csrf-refused")
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state("networkidle")
    assert "/login" in page.url
    ctx.close()
    assert not watch.outside, watch.outside
    assert not [e for e in watch.errors if "403" not in e and "401" not in e], watch.errors


@pytest.mark.slow
def test_browser_county_user_stays_in_region(server: dict, browser) -> None:
    base = server["base"]
    from riskgrade.server import create_app

    app = create_app(server["home"])
    outside = _entity(app, server["other"])
    inside = _entity(app, server["county"])
    app.state.rg.factory.kw["bind"].dispose()
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    watch = Watch(base)
    watch.attach(page)
    page.goto(f"{base}/entities/{outside}")  # not logged in: the login page, which then leads back there
    assert "/login?next=" in page.url
    page.get_by_label("用户名").fill("inspector_county")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/entities/{outside}")
    assert "不在您的辖区" in page.get_by_role("alert").inner_text()
    _shot(page, "12-out-of-region")
    page.goto(f"{base}/entities/{inside}")
    assert page.locator("#explanation").is_visible()
    page.goto(base + "/")
    page.wait_for_selector("[data-chart=heat] canvas")
    _shot(page, "13-county-dashboard")
    ctx.close()
    assert not watch.outside, watch.outside
    assert not [e for e in watch.errors if "404" not in e], watch.errors


@pytest.mark.slow
def test_browser_alerts_assign_and_language(server: dict, browser) -> None:
    base = server["base"]
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    watch = Watch(base)
    watch.attach(page)
    _browser_login(page, base, "officer")
    page.get_by_role("link", name="预警").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="监测预警").is_visible()
    page.get_by_role("navigation", name="按处置状态").get_by_role("link", name=re.compile("待分办")).click()
    page.wait_for_load_state("networkidle")
    rows = page.locator("table.alerts tbody tr")
    assert rows.count() > 0
    assert set(page.locator("table.alerts .status").all_inner_texts()) == {"待分办"}
    _shot(page, "14-alerts")
    rows.first.get_by_role("link").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#alert-status").inner_text() == "待分办"
    choice = page.locator("#assign-to option").nth(1)  # users and units, never free text
    label, value = choice.inner_text().strip(), choice.get_attribute("value")
    assert re.fullmatch(r"(user|unit):[\w:]+", value)
    page.get_by_label("承办单位或人员").select_option(value)
    page.locator("#assign-note").fill("请于五个工作日内核查")
    page.get_by_role("button", name="分办", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text().startswith("已完成“分办”")
    assert page.locator("#alert-status").inner_text() == "已分办"
    last = page.locator("#alert-log tbody tr").last.inner_text()
    assert "officer" in last and "分办" in last
    assert page.locator("#alert-assignee").inner_text().strip() == label
    _shot(page, "15-alert-assigned")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Disposition log (hash chain, tamper-evident)").is_visible()
    assert page.locator("#alert-status").inner_text() == "assigned"
    assert page.get_by_role("button", name="Record disposition").is_visible()
    _shot(page, "16-alert-en")
    page.get_by_role("link", name="中文").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    ctx.close()
    assert not watch.outside, watch.outside
    assert not watch.errors, watch.errors
