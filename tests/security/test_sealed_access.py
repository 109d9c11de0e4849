"""Issue 17, finding 2 (what was left): the auditor (纪检/法制审核) reads a published draw's sealed package inside
the system, and runs its verification, through the API and the console; every other role is refused (403,
audited ``read_refused``), and every read is audited.  Before, the package was only a restricted folder in the
data home, readable by whoever held the machine's account.  On SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from ..conftest import run_cli
from .web_support import COUNTY, Registry, add_users, api_token, audit_entries, console_login, csrf_of

T = "2026-09-30"
SEED = "20261008"
OTHER_ROLES = ("credit_officer", "inspector", "domain_officer", "analyst")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """A small classified province with one published draw: a committed seed, plan 1, its public package."""
    root = tmp_path_factory.mktemp("sec-sealed-store")
    home = root / "wh"
    run_cli("simulate", "--entities", "300", "--seed", "3", "--out", str(root / "delivery"), home=home)
    run_cli("ingest", str(root / "delivery"), home=home)
    run_cli("classify", "--as-of", T, "--model", "expert", home=home)
    run_cli("seed", "commit", "--as-of", T, "--seed", SEED, home=home)
    p = run_cli("plan", "--as-of", T, "--seed", SEED, "--out", str(root / "plan.csv"), "--publish",
                str(root / "pub"), home=home)
    assert "plan 1 (" in p.stderr
    return {"home": home, "pub": root / "pub"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reg(request, store, tmp_path_factory: pytest.TempPathFactory):
    r = Registry(request.param, store["home"], tmp_path_factory.mktemp(f"sec-sealed-{request.param}"))
    r.pub = store["pub"]
    run_cli("publish", "--as-of", T, home=r.home, env={"RISKGRADE_DATABASE_URL": r.url} if r.url else {})
    r.main = r.app()
    add_users(r.main.state.rg.factory, ("auditor1", "auditor", "37"), ("county_auditor", "auditor", COUNTY),
              ("admin1", "admin", "37"), *((f"u_{role}", role, "37") for role in OTHER_ROLES))
    yield r
    r.close()


def _api(reg, user: str) -> TestClient:
    c = TestClient(reg.main)
    c.headers["Authorization"] = f"Bearer {api_token(c, user)}"
    return c


def _sealed_dir(reg):
    return reg.home / "restricted" / "plan-1"


def test_the_auditor_reads_the_sealed_package_through_the_api(reg) -> None:
    api = _api(reg, "auditor1")
    r = api.get("/api/plans/1/sealed")
    assert r.status_code == 200, r.text
    pkg = r.json()
    assert pkg["plan_id"] == 1 and pkg["seed"] == SEED and pkg["salt"] and pkg["drawn"] == len(pkg["selection"])
    # the strata and their inclusion probabilities (drawn / size), and the selection with grades
    assert pkg["strata"] and all(s["inclusion_probability"] == pytest.approx(s["drawn"] / s["size"])
                                 for s in pkg["strata"] if s["size"])
    strata = {s["stratum"] for s in pkg["strata"]}
    assert all(e["grade"] and e["stratum"] in strata | {"F"} for e in pkg["selection"])
    assert sum(s["size"] for s in pkg["strata"]) == pkg["population"]
    # the package's hash is the one the public manifest published
    import json

    public = json.loads((reg.pub / "manifest.json").read_text(encoding="utf-8"))
    assert public["sealed_hash"] == pkg["sealed_hash"] and "salt" not in public and "strata" not in public
    reads = [e for e in audit_entries(reg.main) if e.action == "read_sealed" and e.username == "auditor1"]
    assert reads and reads[-1].target == "plan:1" and '"via": "api"' in reads[-1].detail
    d = api.get("/api/plans/1/sealed/download")
    assert d.status_code == 200 and d.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(d.content)) as z:
        assert sorted(z.namelist()) == ["plan-1/plan.json", "plan-1/population.csv", "plan-1/selected.csv"]
        assert z.read("plan-1/selected.csv") == (_sealed_dir(reg) / "selected.csv").read_bytes()
    downloads = [e for e in audit_entries(reg.main) if e.action == "read_sealed" and '"download": true' in e.detail]
    assert downloads and downloads[-1].username == "auditor1"


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_every_other_role_is_refused_and_the_refusal_audited(reg, role: str) -> None:
    api = _api(reg, f"u_{role}")
    for path in ("/api/plans/1/sealed", "/api/plans/1/sealed/download"):
        r = api.get(path)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (path, r.text)
    assert api.post("/api/plans/1/sealed/verify").status_code == 403
    c = console_login(reg.main, f"u_{role}")
    for path in ("/plans/1/sealed", "/plans/1/sealed/download"):
        r = c.get(path)
        assert r.status_code == 403 and "纪检" in r.text or r.status_code == 403 and "auditors" in r.text, path
        assert "draw_key" not in r.text and SEED not in r.text
    assert c.get("/sealed").status_code == 403
    refused = [e for e in audit_entries(reg.main) if e.action == "read_refused" and e.username == f"u_{role}"
               and e.target == "sealed:1"]
    assert len(refused) >= 5 and all('"why": "role"' in e.detail for e in refused)
    assert {('"via": "console"' in e.detail) for e in refused} == {True, False}
    assert not [e for e in audit_entries(reg.main) if e.action == "read_sealed" and e.username == f"u_{role}"]


def test_an_auditor_of_another_region_does_not_see_a_province_wide_draw(reg) -> None:
    api = _api(reg, "county_auditor")
    assert api.get("/api/plans/1/sealed").status_code == 404
    refused = [e for e in audit_entries(reg.main) if e.action == "read_refused" and e.username == "county_auditor"]
    assert refused and '"why": "out_of_region"' in refused[-1].detail
    assert "/plans/1/sealed" not in console_login(reg.main, "county_auditor").get("/sealed").text


def test_the_console_shows_the_package_in_chinese_with_plain_explanations(reg) -> None:
    c = console_login(reg.main, "auditor1")
    listing = c.get("/sealed")
    assert listing.status_code == 200 and 'href="/plans/1/sealed"' in listing.text
    assert 'href="/sealed"' in listing.text  # in the auditor's navigation
    page = c.get("/plans/1/sealed")
    assert page.status_code == 200
    for words in ("入样概率", "每一户被抽中的机会", "随机种子", "抽签盐值", "分层", "核验这次抽签", SEED):
        assert words in page.text, words
    assert c.get("/plans/1/sealed?lang=en").text.count("the chance each entity") >= 1
    # an administrator sees the section on the plan's page
    admin = console_login(reg.main, "admin1")
    assert 'href="/plans/1/sealed"' in admin.get("/plans/1").text
    reads = [e for e in audit_entries(reg.main) if e.action == "read_sealed" and e.username == "auditor1"
             and '"via": "console"' in e.detail]
    assert len(reads) >= 2


def test_the_auditor_verifies_the_draw_and_sees_a_tampered_package_fail(reg) -> None:
    api = _api(reg, "auditor1")
    r = api.post("/api/plans/1/sealed/verify")
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["ok"] is True and v["problem"] is None and v["seed"] == SEED
    assert v["checked"] == ["commitment", "stored plan", "sealed package (re-drawn)"]
    c = console_login(reg.main, "auditor1")
    page = c.get("/plans/1/sealed")
    ok = c.post("/plans/1/sealed/verify", data={"csrf": csrf_of(page.text)})
    assert ok.status_code == 200 and "核验通过" in ok.text
    assert c.post("/plans/1/sealed/verify", data={}).status_code == 403  # CSRF
    # the sealed package rewritten (one entity's probability changed): the verification fails, and says why
    sel = _sealed_dir(reg) / "selected.csv"
    original = sel.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    lines[1] = re.sub(r",(0\.\d+|1\.0),", ",0.999,", lines[1], count=1)
    assert lines[1] != original.splitlines(keepends=True)[1]
    sel.write_text("".join(lines), encoding="utf-8")
    try:
        v = api.post("/api/plans/1/sealed/verify").json()
        assert v["ok"] is False and "sealed hash" in v["problem"]
        bad = c.post("/plans/1/sealed/verify", data={"csrf": csrf_of(page.text)})
        assert "核验未通过" in bad.text
    finally:
        sel.write_text(original, encoding="utf-8")
    checks = [e for e in audit_entries(reg.main) if e.action == "verify_plan" and e.username == "auditor1"]
    assert {('"ok": true' in e.detail) for e in checks} == {True, False}
