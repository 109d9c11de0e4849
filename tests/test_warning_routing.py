"""Routing by responsibility (分办): the province's routing table (``defaults/routing.yaml``, ``--routing``, the
setting ``routing``), 谁审批、谁监管 and 谁主管、谁监管, the 行政审批服务局 that approves but never supervises,
departments matched by code, sources no department matches (warn, the quality report), and a domain officer
who sees exactly the alerts of the units mapped to its department (through the API, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskgrade.codes import departments
from riskgrade.errors import RiskgradeError
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, QUEUE_ALL, make_usccs, run_cli, write_csv

# name -> (region, industry, licence source or None); every one is newly listed as seriously dishonest (a high,
# auto-routed rule), so each has one alert to route
CASES = {
    "clinic": ("370102", "8411", "行政审批服务局"),             # approval bureau grants; health supervises
    "clinic_west": ("370104", "8411", "济南市槐荫区行政审批服务局"),
    "trucker": ("370102", "5431", "济南市历下区行政审批服务局"),  # road transport: 交通运输局
    "restaurant": ("370102", "6210", "行政审批服务局"),          # food business: the county bureau
    "shop_health": ("370102", "5211", "卫生健康委员会"),         # granted by a supervising department: it supervises
    "hospital": ("370102", "8411", None),                       # no licence: 谁主管 (health)
    "builder": ("370102", "4710", None),                        # no licence: 谁主管 (housing)
    "shop": ("370102", "5211", None),                           # no licence, no industry route: the county bureau
    "odd": ("370102", "5211", "某某开发区管委会"),               # a source no department matches
}
U = dict(zip(CASES, make_usccs(len(CASES), start=500)))
EXPECTED = {  # name -> (unit_kind, unit_code, responsible_unit)
    "clinic": ("department", "health", "济南市历下区卫生健康局"),
    "clinic_west": ("department", "health", "济南市槐荫区卫生健康局"),
    "trucker": ("department", "transport", "济南市历下区交通运输局"),
    "restaurant": ("county", "amr", "济南市历下区市场监督管理局"),
    "shop_health": ("department", "health", "济南市历下区卫生健康局"),
    "hospital": ("department", "health", "济南市历下区卫生健康局"),
    "builder": ("department", "housing", "济南市历下区住房和城乡建设局"),
    "shop": ("county", "amr", "济南市历下区市场监督管理局"),
    "odd": ("county", "amr", "济南市历下区市场监督管理局"),
}


def _delivery(folder: Path) -> Path:
    ents, evs = [], []
    for k, (name, (region, industry, lic)) in enumerate(CASES.items()):
        ents.append([U[name], f"路由测试{name}", "enterprise", region, industry, "2019-05-01", "active", f"某路{k}号"])
        if lic:
            evs.append([f"L{k:03d}", U[name], "admin_license", "2022-03-01", "2022-03-02", lic, "granted", "",
                        "2027-03-01"])
        evs.append([f"S{k:03d}", U[name], "serious_dishonest_in", "2026-03-20", "2026-03-21", "市场监管局", "", "",
                    "2029-03-20"])
    write_csv(folder / "entities.csv", ENTITY_HEADER, ents)
    write_csv(folder / "events.csv", EVENT_HEADER, evs)
    return folder


@pytest.fixture(scope="module")
def warned(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("routing")
    home = root / "home"
    run_cli("ingest", str(_delivery(root / "d")), home=home)
    p = run_cli("warn", "--rules", str(QUEUE_ALL), home=home, env={"COLUMNS": "300"})
    return {"root": root, "home": home, "warn": p}


def _routed(home: Path) -> dict[str, tuple]:
    with Warehouse(home) as wh:
        rows = wh.con.execute("""SELECT m.uscc, a.unit_kind, a.unit_code, a.responsible_unit FROM alerts a
                                 JOIN alert_members m USING (alert_id) WHERE a.rule = 'new_serious_dishonest'""").fetchall()
    by = {u: r for u, *r in rows}
    return {name: tuple(by[U[name]]) for name in CASES}


# --------------------------------------------------------------------------- the table
def test_departments_are_matched_by_code_and_alias_never_by_one_text() -> None:
    t = departments.load()
    for text, code in (("卫生健康委员会", "health"), ("卫健委", "health"), ("济南市历下区卫生健康局", "health"),
                       ("health", "health"), (" 济南市 交通运输局 ", "transport"), ("行政审批服务局", "approval"),
                       ("济南市历下区行政审批服务局", "approval"), ("１２３１５", "amr"), ("历下区人民法院", "court")):
        assert t.department_of(text) == code, text
    for text in ("卫生", "某某开发区管委会", "", None, "健康"):
        assert t.department_of(text) is None, text
    # the approval bureau approves, it never supervises: a licence it granted goes by the licence's domain
    assert t.supervisor("行政审批服务局", "Q", "8411") == ("health", "licence_domain")
    assert t.supervisor("行政审批服务局", "F", "5299") == ("amr", "default")  # no domain, no industry route
    assert all(t.supervisor(src, sec, ind)[0] != "approval" for src in ("行政审批服务局", "行政审批局", None)
               for sec, ind in (("A", "0111"), ("Q", "8411"), ("G", "5431"), (None, None)))
    assert t.supervisor("卫健委", "F", "5211") == ("health", "licence")       # 谁审批、谁监管
    assert t.supervisor(None, "E", "4710") == ("housing", "industry")         # 谁主管、谁监管
    assert t.supervisor(None, "F", "5211") == ("amr", "default")
    assert t.unit("amr", "370102") == "济南市历下区市场监督管理局"


def test_the_table_is_validated_on_load(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    for text, message in (
            ("extends: default\ndefault: approval\n", "default: .*approval approves but does not supervise"),
            ("extends: default\nlicence_domains:\n  - {code: food_drug, supervisor: approval}\n",
             "licence_domains.food_drug.supervisor: .*does not supervise"),
            ("extends: default\nindustries:\n  - {industries: ['84'], department: nowhere}\n", "unknown department"),
            ("extends: default\ndepartments:\n  - {code: health2, name_zh: 卫健, aliases: [卫健委]}\n",
             "names two departments"),
            ("extends: default\ndepartments:\n  - {code: x, name_zh: 某局, colour: red}\n", "colour"),
            ("version: '1'\ndepartments: []\n", "departments")):
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(RiskgradeError, match=message):
            departments.load(bad)
        assert str(bad) in str(pytest.raises(RiskgradeError, departments.load, bad).value)


# --------------------------------------------------------------------------- warn
def test_both_principles_and_no_alert_for_the_approval_bureau(warned: dict) -> None:
    got = _routed(warned["home"])
    assert got == EXPECTED
    with Warehouse(warned["home"]) as wh:
        units = wh.con.execute("SELECT DISTINCT unit_code, responsible_unit FROM alerts").fetchall()
    assert units and all(c != "approval" and "行政审批" not in u for c, u in units)


def test_unmapped_sources_reported_by_warn_and_the_quality_report(warned: dict, tmp_path: Path) -> None:
    err = " ".join(warned["warn"].stderr.split())
    assert "1 source texts match no department of the routing table 2026.12" in err
    assert "某某开发区管委会: 1 records" in err and "行政审批服务局:" not in err and "卫生健康委员会:" not in err
    with Warehouse(warned["home"]) as wh:
        stored = wh.con.execute("SELECT routing_version, unmapped_sources FROM warn_runs").fetchall()[0]
    assert stored[0] == "2026.12" and json.loads(stored[1]) == {"某某开发区管委会": 1}
    p = run_cli("quality", "--json", home=warned["home"])
    m = json.loads(p.stdout)
    assert m["unmapped_sources"] == {"routing_version": "2026.12", "sources": [{"source": "某某开发区管委会", "rows": 1}]}
    html = tmp_path / "q.html"
    run_cli("quality", "--out", str(html), home=warned["home"])
    text = html.read_text(encoding="utf-8")
    assert "未对应部门的来源" in text and "某某开发区管委会" in text


def test_a_province_passes_its_own_table(warned: dict, tmp_path: Path) -> None:
    """``--routing``: a city-level health commission for every district, the development zone's committee known."""
    import shutil

    home = tmp_path / "h"
    shutil.copytree(warned["home"], home)
    with Warehouse(home, write=True) as wh:
        for t in ("alerts", "alert_members", "alert_evidence", "alert_log", "warn_runs"):
            wh.con.execute(f"DELETE FROM {t}")
    own = tmp_path / "province.yaml"
    own.write_text("extends: default\nversion: sd-2027.1\ndepartments:\n"
                   "  - {code: health, counties: {'3701': 济南市卫生健康委员会}}\n"
                   "  - {code: zone, name_zh: 开发区管委会, aliases: [开发区管委会], unit: '{county}经济开发区管委会'}\n"
                   "licence_domains:\n  - {code: retail, name_zh: 零售, industries: ['52'], supervisor: zone}\n",
                   encoding="utf-8")
    p = run_cli("warn", "--routing", str(own), home=home, env={"COLUMNS": "300"})
    assert "match no department" not in p.stderr
    got = _routed(home)
    assert got["clinic"] == got["clinic_west"] == got["hospital"] == ("department", "health", "济南市卫生健康委员会")
    assert got["odd"] == ("department", "zone", "济南市历下区经济开发区管委会")  # its own licence now known: supervises
    assert got["restaurant"] == EXPECTED["restaurant"] and got["shop"] == EXPECTED["shop"]
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT routing_version FROM warn_runs").fetchall()[0][0] == "sd-2027.1"


# --------------------------------------------------------------------------- a domain officer, through the API
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, warned: dict, tmp_path_factory):
    from fastapi.testclient import TestClient

    from riskgrade.registry.users import add_user

    from .security.web_support import PASSWORD, Registry

    reg = Registry(request.param, warned["home"], tmp_path_factory.mktemp(f"routing-{request.param}"))
    app = reg.app(console=False)
    f = app.state.rg.factory
    for name, dept in (("health", "卫健委"), ("health_county", "济南市历下区卫生健康局"), ("transport", "济南市交通运输局"),
                       ("approval", "行政审批服务局"), ("unknown", "某某办公室"), ("amr", "市场监管局")):
        add_user(f, f"dom_{name}", PASSWORD, "domain_officer", "370102" if name == "health_county" else "37",
                 department=dept)
    add_user(f, "admin1", PASSWORD, "admin", "37")
    yield {"client": TestClient(app), "home": reg.home}
    reg.close()


def _ids(api: dict, user: str) -> set[str]:
    from .security.web_support import api_token

    c = api["client"]
    tok = api_token(c, user)
    r = c.get("/api/alerts", headers={"Authorization": f"Bearer {tok}"}, params={"page_size": 200})
    assert r.status_code == 200, r.text
    return {x["alert_id"] for x in r.json()["items"]}


def test_a_domain_officer_sees_exactly_the_alerts_of_its_departments_units(api: dict) -> None:
    with Warehouse(api["home"]) as wh:
        by_code: dict[str, set[str]] = {}
        for aid, code, region in wh.con.execute("SELECT alert_id, unit_code, region_code FROM alerts").fetchall():
            by_code.setdefault(code, set()).add(aid)
            by_code.setdefault(f"{code}@{region}", set()).add(aid)
    assert len(by_code["health"]) == 4  # clinic, clinic_west, shop_health, hospital: in two counties
    assert _ids(api, "dom_health") == by_code["health"]          # 卫健委: every county's 卫生健康局
    assert _ids(api, "dom_health_county") == by_code["health@370102"]  # the same department, one county's region
    assert _ids(api, "dom_transport") == by_code["transport"] and len(by_code["transport"]) == 1
    assert _ids(api, "dom_amr") == by_code["amr"]
    assert _ids(api, "dom_approval") == set()                     # it approves; nothing is routed to it
    assert _ids(api, "dom_unknown") == set()                      # a department no table knows sees nothing
    assert len(_ids(api, "admin1")) == len(CASES)
