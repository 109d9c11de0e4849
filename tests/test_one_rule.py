"""Where the API and the console used to disagree, one rule now (issue 16), and the faces' layering:

* one results-upload parser (:mod:`riskgrade.service.results`): the same headers in both faces, English or
  Chinese, in any case, UTF-8 (with or without a byte-order mark) or GB18030;
* one rule for personal identifiers (the ``pii.read`` permission), in both faces;
* the faces (api/, web/) run no SQL, api/ and web/ do not import each other, and the service imports no
  web framework, template engine or command-line library.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import ROOT, run_cli

T = "2026-09-30"
PASSWORD = "Secret-2026x"
PKG = ROOT / "riskgrade"


# --------------------------------------------------------------------------- the parser alone
def _csv(header: str, rows: list[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


@pytest.mark.parametrize("header", [
    "record_id,uscc,event_type,event_date,source,detail",
    "record_id,USCC,EVENT_TYPE,event_date,source,detail",
    "record_id, Uscc ,Event_Type,event_date,source,detail",
    "record_id,统一社会信用代码,事件类型,event_date,source,detail",
    "record_id,信用代码,事件类型,event_date,source,detail",
    "record_id,社会信用代码,event_type,event_date,source,detail",
])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_one_parser_accepts_every_header_in_any_case_and_both_encodings(header: str, encoding: str) -> None:
    from riskgrade.service.results import parse

    kind = "抽查检查结果" if "事件类型" in header else "inspection"
    f = parse(_csv(header, [f"r1,91370100MA3C0ABC1X,{kind},2026-10-20,general,problem",
                            f"r2,91370100ma3c0abc2y,{kind},2026-10-21,general,pass"], encoding))
    assert f.rows == 2 and set(f.usccs) == {"91370100MA3C0ABC1X", "91370100MA3C0ABC2Y"}
    assert f.encoding == ("gb18030" if encoding == "gb18030" and not header.isascii() else "utf-8")


@pytest.mark.parametrize("data, key", [
    (b"", "results_empty"),
    (b"record_id,uscc,event_type\n", "results_empty"),
    (b"record_id,name,event_type\nr1,x,inspection\n", "results_missing_cols"),
    (b"record_id,uscc,event_date\nr1,x,2026-10-01\n", "results_missing_cols"),
    (b"record_id,uscc,event_type\nr1,91370100MA3C0ABC1X,serious_dishonest_in\n", "results_not_inspection"),
    (b"uscc,event_type\n\xff\xff\x00", "results_bad_csv"),
])
def test_one_parser_refuses_with_the_same_reason_for_both_faces(data: bytes, key: str) -> None:
    from riskgrade.service.errors import Refused
    from riskgrade.service.results import parse

    with pytest.raises(Refused) as e:
        parse(data)
    assert e.value.key == key and e.value.status == 422


# --------------------------------------------------------------------------- both faces over one province
@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small published province with a plan, served by the API and the console in one application."""
    from riskgrade.registry.db import open_registry
    from riskgrade.registry.users import add_user
    from riskgrade.server import create_app

    root = tmp_path_factory.mktemp("one-rule")
    home = root / "home"
    run_cli("simulate", "--entities", "800", "--seed", "11", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    run_cli("classify", "--as-of", T, "--model", "expert", home=home)
    run_cli("plan", "--as-of", T, "--seed", "3", "--budget", "60", "--out", str(root / "plan.csv"), home=home)
    run_cli("publish", "--as-of", T, home=home)
    factory = open_registry(home)
    for role in ("admin", "inspector", "credit_officer"):
        add_user(factory, role, PASSWORD, role, "37", role)
    factory.kw["bind"].dispose()
    app = create_app(home)
    return {"home": home, "app": app}


def _api(app, user: str) -> tuple[TestClient, dict]:
    c = TestClient(app)
    token = c.post("/api/login", json={"username": user, "password": PASSWORD}).json()["token"]
    return c, {"Authorization": f"Bearer {token}"}


def _console(app, user: str) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"username": user, "password": PASSWORD, "csrf": token}).status_code == 303
    return c


def _planned(app) -> list[str]:
    from riskgrade.registry import queries

    return sorted(queries.planned_regions(app.state.rg.factory, 1))


def test_both_faces_accept_a_gb18030_upload_with_chinese_and_upper_case_headers(both: dict) -> None:
    app = both["app"]
    usccs = _planned(app)
    assert len(usccs) >= 4

    def body(us: list[str], tag: str) -> bytes:
        return _csv("记录编号,USCC,事件类型,发生日期,Source,DETAIL",
                    [f"{tag}-{i},{u},抽查检查结果,2026-10-20,general,problem" for i, u in enumerate(us)], "gb18030")

    # the console took these headers before; the API (only uscc / 统一社会信用代码, case-sensitive) did not
    c, h = _api(app, "inspector")
    r = c.post("/api/plans/1/results", headers=h, content=body(usccs[:2], "api"))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2 and r.json()["linked"] == 2
    web = _console(app, "inspector")
    token = re.search(r'name="csrf" value="([^"]+)"', web.get("/plans/1/results").text).group(1)
    r = web.post("/plans/1/results", data={"csrf": token},
                 files={"file": ("results.csv", body(usccs[2:4], "web"), "text/csv")})
    assert r.status_code == 200, r.text[-600:]
    assert "新关联 2 条结果" in r.text
    # and both refuse a row that is not an inspection result, for the same reason
    bad = _csv("uscc,event_type,event_date", [f"{usccs[0]},serious_dishonest_in,2026-10-20"])
    r = c.post("/api/plans/1/results", headers=h, content=bad)
    assert r.status_code == 422 and "not an inspection result" in r.json()["error"]["message"]
    r = web.post("/plans/1/results", data={"csrf": token}, files={"file": ("x.csv", bad, "text/csv")})
    assert r.status_code == 422 and "不是抽查检查结果" in r.text


def _profile_ids(app, user: str, uscc: str) -> tuple[str | None, str]:
    c, h = _api(app, user)
    api = c.get(f"/api/entities/{uscc}", headers=h).json()["legal_rep_id"]
    page = _console(app, user).get(f"/entities/{uscc}").text
    return api, page


def test_one_pii_rule_for_both_faces(both: dict, monkeypatch) -> None:
    from riskgrade.registry import queries
    from riskgrade.registry.users import PERMISSIONS, mask

    app = both["app"]
    e = next(x for x in (queries.entity(app.state.rg.factory, u) for u in _planned(app)) if x and x.legal_rep_id)
    full, masked = e.legal_rep_id, mask(e.legal_rep_id)
    assert full != masked
    # as shipped: inspectors hold pii.read, credit officers do not; both faces agree
    for user, shown in (("inspector", full), ("credit_officer", masked)):
        api, page = _profile_ids(app, user, e.uscc)
        assert api == shown and shown in page, user
        assert full not in page or shown == full
    # the permission decides, not a list of roles: give it to credit officers and take it from inspectors
    monkeypatch.setitem(PERMISSIONS, "pii.read", {"admin", "credit_officer"})
    for user, shown in (("inspector", masked), ("credit_officer", full)):
        api, page = _profile_ids(app, user, e.uscc)
        assert api == shown and shown in page, user
        assert full not in page or shown == full



def test_the_server_adds_the_console_without_changing_the_api_schema(tmp_path: Path) -> None:
    from riskgrade.api.app import create_app as api_alone
    from riskgrade.server import create_app

    both = create_app(tmp_path / "a")
    alone = api_alone(tmp_path / "b")
    assert both.openapi() == alone.openapi()
    assert TestClient(both).get("/login").status_code == 200  # the console is there
    assert TestClient(alone).get("/login").status_code == 404  # and only there


def test_one_grades_export_column_list_for_the_command_line_and_the_api(both: dict) -> None:
    """`riskgrade export grades` and GET /api/exports/grades give the same columns and, for the province user,
    the same rows (the API's registry copy against the warehouse's month)."""
    import csv
    import io

    from riskgrade.service.grades import GRADES_EXPORT_COLUMNS

    out = both["home"].parent / "grades.csv"
    run_cli("export", "grades", "--as-of", T, "--out", str(out), home=both["home"])
    with out.open(encoding="utf-8") as f:
        cli_rows = list(csv.DictReader(f))
    c, h = _api(both["app"], "credit_officer")
    r = c.get("/api/exports/grades", headers=h)
    assert r.status_code == 200, r.text
    api_rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(cli_rows[0]) == tuple(api_rows[0]) == GRADES_EXPORT_COLUMNS
    assert len(api_rows) == len(cli_rows) > 0
    by = {x["uscc"]: x for x in cli_rows}
    for a in api_rows[:50]:
        b = by[a["uscc"]]
        assert (a["grade"], a["labels"], a["contributions"], a["name"]) == (b["grade"], b["labels"], b["contributions"],
                                                                            b["name"])
        assert float(a["score"]) == pytest.approx(float(b["score"]))
