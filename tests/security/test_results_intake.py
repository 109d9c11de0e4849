"""Issue 17, finding 1: the results upload was a general write path into the store.  Each test plays the
uploader of one finding through the API and the console (on a SQLite and a PostgreSQL registry) and through
the CLI, and checks that the store did not change where it must not.  See docs/security-intake.md."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ..conftest import fresh_pg_database, make_usccs, run_cli

T = "2026-09-30"
DAY = "2026-10-20"
PASSWORD = "Secret-2026x"
FACES = ("api", "console")


def _q(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    from riskgrade.warehouse import Warehouse

    with Warehouse(home) as wh:
        return wh.con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small classified province with one plan (plan 1), and the entities the tests need."""
    root = tmp_path_factory.mktemp("intake")
    home = root / "home"
    run_cli("simulate", "--entities", "900", "--seed", "11", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    run_cli("classify", "--as-of", T, "--model", "expert", home=home)
    run_cli("plan", "--as-of", T, "--seed", "3", "--budget", "120", "--out", str(root / "plan.csv"), home=home)
    planned = dict(_q(home, "SELECT uscc, region_code FROM plan_entities WHERE plan_id = 1 ORDER BY uscc"))
    county = max(set(planned.values()), key=lambda r: sum(1 for v in planned.values() if v == r))
    inside = sorted(u for u, r in planned.items() if r == county)
    outside_region = sorted(u for u, r in planned.items() if r != county)
    not_planned = [u for (u,) in _q(home, "SELECT uscc FROM entities WHERE region_code = ? AND uscc NOT IN "
                                          "(SELECT uscc FROM plan_entities) ORDER BY uscc LIMIT 3", [county])]
    other = next(r for r in sorted(set(planned.values())) if r != county)
    assert len(inside) >= 9 and len(outside_region) >= 2 and not_planned
    return {"root": root, "home": home, "county": county, "other": other, "inside": inside,
            "outside_region": outside_region, "not_planned": not_planned}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def svc(request, province: dict, tmp_path_factory: pytest.TempPathFactory):
    """The province published to a registry on each backend, with a county and a province inspector."""
    root = tmp_path_factory.mktemp(f"intake-{request.param}")
    home = root / "home"
    shutil.copytree(province["home"], home)
    env, database = {}, contextlib.ExitStack()
    if request.param == "postgresql":
        env["RISKGRADE_DATABASE_URL"] = database.enter_context(fresh_pg_database())
    run_cli("publish", "--as-of", T, home=home, env=env)
    for name, prefix in (("inspector_county", province["county"]), ("inspector_prov", "37")):
        run_cli("user", "add", name, "--role", "inspector", "--region", prefix, "--password-env", "RG_PW",
                home=home, env={**env, "RG_PW": PASSWORD})
    from riskgrade.server import create_app

    app = create_app(home, env.get("RISKGRADE_DATABASE_URL"))
    yield {**province, "backend": request.param, "home": home, "app": app, "clients": {}}
    app.state.rg.factory.kw["bind"].dispose()
    database.close()


def _client(svc: dict, face: str, user: str):
    key = (face, user)
    if key not in svc["clients"]:
        c = TestClient(svc["app"], follow_redirects=False)
        if face == "api":
            token = c.post("/api/login", json={"username": user, "password": PASSWORD}).json()["token"]
            svc["clients"][key] = (c, {"Authorization": f"Bearer {token}"})
        else:
            csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
            assert c.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf}).status_code == 303
            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/plans/1/results").text).group(1)
            svc["clients"][key] = (c, {"csrf": token})
    return svc["clients"][key]


def send(svc: dict, face: str, data: bytes, user: str = "inspector_county", name: str = "results.csv"):
    """Upload through a face: (status, JSON body or page text)."""
    c, extra = _client(svc, face, user)
    if face == "api":
        r = c.post("/api/plans/1/results", headers=extra, content=data)
        return r.status_code, r.json()
    r = c.post("/plans/1/results", data=extra, files={"file": (name, data, "text/csv")})
    return r.status_code, r.text


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _entity(home: Path, uscc: str) -> tuple:
    return _q(home, "SELECT name, region_code, status FROM entities WHERE uscc = ?", [uscc])[0]


def _events(home: Path, uscc: str) -> list[tuple]:
    return _q(home, "SELECT event_type, source, record_id, detail, amount FROM events WHERE uscc = ? "
                    "ORDER BY source, record_id", [uscc])


# --------------------------------------------------------------------------- the findings, API and console
@pytest.mark.parametrize("face", FACES)
def test_an_entities_shaped_upload_is_refused_and_changes_no_entity(svc: dict, face: str) -> None:
    """Before: the ingest took the file for the entities table; the entity was renamed, moved and deregistered."""
    home, u = svc["home"], svc["inside"][0]
    before = _entity(home, u)
    body = _csv("uscc,event_type,name,entity_type,region_code,established_on,status",
                f"{u},inspection,被改名的公司,enterprise,{svc['other']},2020-01-01,deregistered")
    status, out = send(svc, face, body)
    assert status == 422, out
    assert "name" in str(out) and ("entity columns" in str(out) or "主体信息列" in str(out))
    assert _entity(home, u) == before


@pytest.mark.parametrize("face", FACES)
def test_a_mixed_header_is_refused_whole(svc: dict, face: str) -> None:
    """Before: a header with both event and entity columns passed the inspection-only check and wrote entities."""
    home, u = svc["home"], svc["inside"][1]
    before, events = _entity(home, u), _events(home, u)
    body = _csv("record_id,uscc,event_type,event_date,detail,name,entity_type,region_code,established_on,status",
                f"m1,{u},inspection,{DAY},problem,改名,enterprise,{svc['other']},2020-01-01,deregistered")
    status, out = send(svc, face, body)
    assert status == 422, out
    assert ("entity columns" in str(out) or "主体信息列" in str(out))
    assert _entity(home, u) == before and _events(home, u) == events


@pytest.mark.parametrize("face", FACES)
def test_another_countys_record_id_never_replaces_its_record(svc: dict, face: str) -> None:
    """Before: an inspection row reusing another county's (source, record_id) replaced that entity's
    serious-dishonesty listing.  Now the system mints the record id in the plan's own source."""
    home, u = svc["home"], svc["inside"][2]
    victim = _q(home, "SELECT uscc, source, record_id, event_type, event_date, detail FROM events e "
                      "JOIN entities USING (uscc) WHERE region_code <> ? AND event_type <> 'inspection' "
                      "ORDER BY event_type = 'serious_dishonest_in' DESC, record_id LIMIT 1", [svc["county"]])[0]
    body = _csv("record_id,uscc,event_type,event_date,source,detail",
                f"{victim[2]},{u},inspection,{DAY},{victim[1] or ''},pass")
    status, out = send(svc, face, body)
    assert status == 200, out
    again = _q(home, "SELECT uscc, source, record_id, event_type, event_date, detail FROM events "
                     "WHERE source IS NOT DISTINCT FROM ? AND record_id = ?", [victim[1], victim[2]])
    assert again == [victim]
    mine = [e for e in _events(home, u) if e[1] == "results:plan-1"]
    assert mine and all(e[2].startswith("plan-1-") and e[0] == "inspection" for e in mine)


@pytest.mark.parametrize("face", FACES)
def test_serious_dishonesty_and_penalty_rows_are_refused(svc: dict, face: str) -> None:
    """Before: event types other than inspection, and a 500,000 CNY penalty amount, were stored."""
    home, u = svc["home"], svc["inside"][3]
    events = _events(home, u)
    for body in (_csv("uscc,event_type,event_date,detail", f"{u},inspection,{DAY},pass",
                      f"{u},serious_dishonest_in,{DAY},"),
                 _csv("uscc,事件类型,发生日期,详情", f"{u},列入严重违法失信名单,{DAY},"),
                 _csv("record_id,uscc,event_type,event_date,detail,amount", f"p1,{u},admin_penalty,{DAY},fine,500000"),
                 _csv("record_id,uscc,event_type,event_date,source,detail,amount",
                      f"p2,{u},inspection,{DAY},penalty,fine,500000")):
        status, out = send(svc, face, body)
        assert status == 422, (body, out)
    assert _events(home, u) == events
    assert not _q(home, "SELECT 1 FROM events WHERE uscc = ? AND amount >= 500000", [u])


@pytest.mark.parametrize("face", FACES)
def test_an_out_of_plan_entity_refuses_the_file_naming_its_line(svc: dict, face: str) -> None:
    """An entity of the county that the plan did not draw: the file is refused whole (403, shown as 422 on the
    console) and the uploader sees the line, the column and why; the refusal is audited."""
    home, u, ok = svc["home"], svc["not_planned"][0], svc["inside"][4]
    events = _events(home, u)
    status, out = send(svc, face, _csv("uscc,date,result", f"{ok},{DAY},pass", f"{u},{DAY},problem"))
    assert status == (403 if face == "api" else 422), out
    if face == "api":
        assert [_where(x) for x in out["error"]["rejections"]] == [
            {"line": 3, "column": "uscc", "value": u, "reason": "not an entity of this plan", "code": "not_in_plan"}]
    else:  # the console speaks Chinese by default
        assert f"第 3 行「统一社会信用代码」列：主体 {u} 不是本计划抽中的主体" in out and "not an entity of this plan" not in out
    assert _events(home, u) == events
    assert not [e for e in _events(home, ok) if e[1] == "results:plan-1" and e[3] == "pass" and "20261020" in e[2]]
    _audited(svc, "results_refused")


@pytest.mark.parametrize("face", FACES)
def test_an_out_of_region_entity_refuses_the_file_naming_its_line(svc: dict, face: str) -> None:
    """An entity of the plan in another county: refused whole for the county inspector, with its line; the
    province inspector may upload it."""
    home, u = svc["home"], svc["outside_region"][FACES.index(face)]
    status, out = send(svc, face, _csv("统一社会信用代码,检查日期,检查结果", f"{u},{DAY},未发现问题"))
    assert status == (403 if face == "api" else 422), out
    if face == "api":
        assert _where(out["error"]["rejections"][0]) == {"line": 2, "column": "uscc", "value": u,
                                                         "reason": "outside your region", "code": "outside_region"}
    else:
        assert f"第 2 行「统一社会信用代码」列：主体 {u} 不在您的辖区内" in out
    assert not [e for e in _events(home, u) if e[1] == "results:plan-1"]
    status, out = send(svc, face, _csv("统一社会信用代码,检查日期,检查结果", f"{u},{DAY},未发现问题"),
                       user="inspector_prov")
    assert status == 200, out
    assert [e[3] for e in _events(home, u) if e[1] == "results:plan-1"] == ["pass"]


def _where(rejection: dict) -> dict:
    return {k: rejection[k] for k in ("line", "column", "value", "reason", "code")}


def _audited(svc: dict, action: str) -> None:
    from sqlalchemy import select

    from riskgrade.registry.models import AuditEntry

    with svc["app"].state.rg.factory() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.action == action)).first() is not None


# --------------------------------------------------------------------------- every row has a verdict
def test_every_row_accepted_or_rejected_and_a_repeat_replaces_only_its_own_result(svc: dict) -> None:
    home = svc["home"]
    a, b, c = svc["inside"][5:8]
    body = _csv("USCC,检查日期,检查结果,检查人员,备注",
                f"{a},2026年10月21日,发现问题待后续处理,张三,复查",
                f"{b},2026/10/22,pass,,",
                f"{c},not a day,pass,,",
                f"{b},2026-10-22,corrected,,",
                f"{c},2026-10-23,closed,,",
                f"{c},2026-09-01,pass,,",
                "91370100MA3C0ABC1X,2026-10-23,pass,,")
    status, out = send(svc, "api", body)
    assert status == 200, out
    assert out["read"] == 7 and out["accepted"] == 2 and out["rejected"] == 5 and out["linked"] == 2
    why = {(x["line"], x["column"]): x["reason"] for x in out["rejections"]}
    assert set(why) == {(4, "date"), (5, "date"), (6, "result"), (7, "date"), (8, "uscc")}
    assert "second result" in why[5, "date"] and "as-of date" in why[7, "date"]
    # the Chinese words are stored as the contract's code, so effectiveness counts them as found
    got = dict(_q(home, "SELECT uscc, result FROM plan_results WHERE plan_id = 1 AND source = 'results:plan-1' "
                        "AND uscc IN (?, ?)", [a, b]))
    assert got == {a: "problem", b: "pass"}
    assert _q(home, "SELECT inspectors FROM plan_results WHERE uscc = ? AND source = 'results:plan-1'", [a]) == [("张三",)]
    # nothing is lost: the rejected lines are kept with their reason
    kept = _q(home, "SELECT line, column_name, reason, raw FROM results_rows WHERE upload_id = ? AND "
                    "status = 'rejected' ORDER BY line", [out["upload_id"]])
    assert [k[0] for k in kept] == [4, 5, 6, 7, 8] and "not a day" in kept[0][3]
    # the same upload again: nothing new, nothing duplicated; a changed result replaces the earlier one
    status, again = send(svc, "api", body)
    assert again["linked"] == 0 and again["unchanged"] == 2
    status, changed = send(svc, "api", _csv("uscc,date,result", f"{b},2026-10-22,corrected"))
    assert changed["updated"] == 1 and changed["linked"] == 0
    assert _q(home, "SELECT result FROM plan_results WHERE uscc = ? AND source = 'results:plan-1'", [b]) == [("corrected",)]
    assert [e[3] for e in _events(home, b) if e[1] == "results:plan-1"] == ["corrected"]
    # the console shows the rejected lines
    status, page = send(svc, "console", body)
    assert status == 200 and "退回的行" in page and "第 4 行「检查日期」列：无法识别的日期「not a day」" in page


def test_an_xlsx_results_file_is_read_and_a_file_of_nothing_but_rejections_is_refused(svc: dict) -> None:
    from openpyxl import Workbook  # noqa: F401  (skip quietly below when absent)

    u = svc["inside"][8] if len(svc["inside"]) > 8 else svc["inside"][0]
    wb = Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "检查日期", "检查结果"])
    ws.append([u, "2026-10-24", "未发现问题"])
    buf = io.BytesIO()
    wb.save(buf)
    status, out = send(svc, "api", buf.getvalue())
    assert status == 200 and out["accepted"] == 1, out
    status, out = send(svc, "api", _csv("uscc,date,result", f"{u},someday,pass"))
    assert status == 422 and out["error"]["rejections"][0]["column"] == "date"


# --------------------------------------------------------------------------- the CLI (the operator: the province)
def test_the_cli_import_is_the_same_narrow_intake(province: dict, tmp_path: Path) -> None:
    """Before: ``results import`` handed any file to the ingest (entities, any event type, any record id, any
    entity).  Now it runs the same intake as the API, with the province as its scope."""
    home = tmp_path / "home"
    shutil.copytree(province["home"], home)
    u, other = province["inside"][0], province["not_planned"][0]
    before = _entity(home, u)

    def imp(name: str, body: bytes):
        f = tmp_path / name
        f.write_bytes(body)
        return run_cli("results", "import", str(f), "--plan", "1", home=home, check=False)

    r = imp("entities.csv", _csv("uscc,name,entity_type,region_code,established_on,status",
                                 f"{u},被改名的公司,enterprise,{province['other']},2020-01-01,deregistered"))
    assert r.returncode != 0 and "entity columns" in r.stderr
    r = imp("mixed.csv", _csv("record_id,uscc,event_type,event_date,detail,name,entity_type,region_code,established_on",
                              f"m1,{u},inspection,{DAY},problem,改名,enterprise,{province['other']},2020-01-01"))
    assert r.returncode != 0 and "entity columns" in r.stderr
    assert _entity(home, u) == before
    r = imp("serious.csv", _csv("record_id,uscc,event_type,event_date", f"s1,{u},serious_dishonest_in,{DAY}"))
    assert r.returncode != 0 and "not an inspection result" in r.stderr
    r = imp("outside.csv", _csv("uscc,date,result", f"{other},{DAY},problem"))
    assert r.returncode != 0 and "line 2" in r.stderr and "not an entity of this plan" in r.stderr
    assert not _q(home, "SELECT 1 FROM events WHERE uscc = ? AND event_date = ?", [other, DAY])
    victim = _q(home, "SELECT source, record_id, uscc, event_type FROM events WHERE event_type <> 'inspection' "
                      "AND uscc <> ? ORDER BY record_id LIMIT 1", [u])[0]
    r = imp("reuse.csv", _csv("record_id,uscc,event_type,event_date,source,detail",
                              f"{victim[1]},{u},inspection,{DAY},{victim[0] or ''},发现问题已责令改正",
                              f"x2,{u},inspection,not-a-date,,pass"))
    assert r.returncode == 0, r.stderr
    assert "line 3, date: not a date" in r.stderr and "1 results newly linked" in r.stdout
    assert _q(home, "SELECT source, record_id, uscc, event_type FROM events WHERE source IS NOT DISTINCT FROM ? "
                    "AND record_id = ?", [victim[0], victim[1]]) == [victim]
    assert _q(home, "SELECT result FROM plan_results WHERE uscc = ? AND source = 'results:plan-1'", [u]) == [("corrected",)]


def _odd_uscc() -> bytes:
    from ..conftest import make_usccs

    return make_usccs(1)[0].encode()


ODD_USCC = _odd_uscc()
ODD_CSV = {
    # a cell over csv's 131,072-character field limit
    "long_cell": b"uscc,event_date,result\n" + ODD_USCC + b"," + b"x" * 200_000 + b",pass\n",
    # bare CR line ends (an old Mac export)
    "bare_cr": b"uscc,event_date,result\r" + ODD_USCC + b",2026-10-08,pass\r",
    # a CR inside a quoted cell
    "cr_in_quotes": b'uscc,event_date,result\n"' + ODD_USCC[:4] + b"\r" + ODD_USCC[4:] + b'",2026-10-08,pass\n',
}


@pytest.mark.parametrize("case", sorted(ODD_CSV))
def test_odd_csv_answers_a_reason_never_an_internal_error(case: str) -> None:
    """Finding 8: a results CSV with a cell over 131,072 characters or a bare CR ended in a 500. The one parser
    refuses the file with 422 and a reason, or reads it, each line then accepted or rejected on its own."""
    from riskgrade.service.errors import Refused
    from riskgrade.service.results import parse

    data = ODD_CSV[case]
    if case == "long_cell":
        with pytest.raises(Refused) as e:
            parse(data)
        assert e.value.status == 422 and e.value.key == "results_bad_csv"
        assert "field larger than field limit" in e.value.message
        return
    parsed = parse(data)
    assert parsed.rows == 1
    if case == "bare_cr":  # the CRs end lines: the row is read whole, and accepted
        assert not parsed.rejected, parsed.rejected
    else:  # the CR splits the code inside its quotes: not a code, said for its line and column
        assert [(r.line, r.column) for r in parsed.rejected] == [(3, "uscc")]
        assert "not a valid" in parsed.rejected[0].reason


@pytest.mark.parametrize("case", ["long_cell", "bare_cr"])
def test_the_odd_csv_inputs_are_the_ones_that_failed(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Companion of the test above: these exact inputs break the reading the old path did (Python's csv reader
    without universal newlines, its default field limit), and with the parser's two guards taken away (the
    csv error caught and turned into a reason; universal newlines) ``parse`` raises an error that is no
    :class:`Refused`: the internal error (500) of the finding.  So the test above fails on the old behaviour."""
    import csv
    import io
    import types

    from riskgrade.service import results
    from riskgrade.service.errors import Refused

    data = ODD_CSV[case]
    with pytest.raises(csv.Error):
        list(csv.reader(io.StringIO(data.decode())))
    never = type("NeverRaised", (Exception,), {})
    monkeypatch.setattr(results, "csv", types.SimpleNamespace(reader=csv.reader, writer=csv.writer, Error=never))
    monkeypatch.setattr(results, "io", types.SimpleNamespace(StringIO=lambda text="", newline=None: io.StringIO(text),
                                                             BytesIO=io.BytesIO))
    with pytest.raises(Exception) as e:
        results.parse(data)
    assert isinstance(e.value, csv.Error) and not isinstance(e.value, Refused)


# --------------------------------------------------------------------------- reasons in the uploader's language
def test_every_reason_code_has_chinese_and_english_words() -> None:
    from riskgrade.inspection.reasons import REASONS, message
    from riskgrade.inspection.results import Rejected

    for code, (zh, en) in REASONS.items():
        assert zh and en and zh != en, code
        r = Rejected(7, "date", code, "x", params={"first": 3, "max": 2000, "as_of": "2026-09-30",
                                                   "period_end": "2026-12-31", "why": "bad_uscc"})
        d = r.as_dict()
        assert d["code"] == code and d["message"].startswith("line 7, column date: ") and d["reason"] in d["message"]
        assert d["message_zh"].startswith("第 7 行「检查日期」列：") and d["reason_zh"] in d["message_zh"]
        assert "{" not in d["message"] + d["message_zh"], code  # every parameter filled in
    assert message("bad_result", 12, "result", "zh", value="合格吧").startswith("第 12 行「检查结果」列：无法识别的检查结果「合格吧」")


def test_rejected_lines_are_shown_in_chinese_or_english_and_the_api_gives_code_and_message(svc: dict) -> None:
    """Before: the console showed the English reason on a Chinese page and the API had no reason code."""
    u = svc["inside"][-1]
    body = _csv("uscc,date,result", *(f"{u},2026-10-{d:02d},pass" for d in range(1, 11)), f"{u},2026-10-11,合格吧")
    status, page = send(svc, "console", body)  # Chinese by default
    assert status == 200, page
    assert "第 12 行「检查结果」列：无法识别的检查结果「合格吧」" in page and "not a result" not in page
    c, extra = _client(svc, "console", "inspector_county")
    r = c.post("/plans/1/results?lang=en", data=extra, files={"file": ("results.csv", body, "text/csv")})
    assert r.status_code == 200 and "line 12, column result: not a result" in r.text, r.text
    assert "无法识别的检查结果" not in r.text
    assert c.get("/plans/1/results?lang=zh").status_code == 200  # the switch is remembered: back to Chinese
    status, out = send(svc, "api", body)
    assert status == 200 and out["accepted"] == 10, out
    [x] = out["rejections"]
    assert (x["line"], x["column"], x["value"], x["code"]) == (12, "result", "合格吧", "bad_result")
    assert x["reason"].startswith("not a result") and x["message"] == "line 12, column result: " + x["reason"]
    assert x["message_zh"].startswith("第 12 行「检查结果」列：无法识别的检查结果「合格吧」")
    # a file refused whole names its first line's reason in the page's language too
    status, page = send(svc, "console", _csv("uscc,date,result", f"{u},someday,pass"))
    assert status == 422 and "没有可导入的结果" in page and "无法识别的日期「someday」" in page, page
    assert "not a date" not in page


# --------------------------------------------------------------------------- Parquet
def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def test_a_parquet_results_file_goes_through_the_same_intake(svc: dict) -> None:
    import datetime as dt

    home, u = svc["home"], svc["inside"][6]
    data = _parquet({"统一社会信用代码": [u, u], "检查日期": [dt.date(2026, 10, 27), dt.date(2026, 10, 28)],
                     "检查结果": ["发现问题已责令改正", "合格吧"]})
    status, out = send(svc, "api", data)
    assert status == 200 and out["accepted"] == 1, out
    assert [(x["line"], x["code"]) for x in out["rejections"]] == [(3, "bad_result")]
    assert _q(home, "SELECT result FROM plan_results WHERE uscc = ? AND event_date = DATE '2026-10-27' "
                    "AND source = 'results:plan-1'", [u]) == [("corrected",)]
    before = _entity(home, u)
    status, out = send(svc, "api", _parquet({"uscc": [u], "name": ["被改名的公司"], "status": ["deregistered"]}))
    assert status == 422 and "entity columns" in out["error"]["message"], out
    assert _entity(home, u) == before


def test_parquet_limits_and_columns_are_checked_before_its_data_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    from riskgrade.service import results
    from riskgrade.service.errors import Refused

    def never(*a, **k):
        raise AssertionError("the data was read before the limits were checked")

    monkeypatch.setattr(pq.ParquetFile, "read", never)
    u = make_usccs(1)[0]
    for data, key, words in (
            (_parquet({"uscc": [u], "name": ["x"], "date": ["2026-10-20"], "result": ["pass"]}),
             "results_entity_columns", "entity columns"),
            (_parquet({"uscc": [u], "date": ["2026-10-20"], "result": ["pass"], "amount": [500000]}),
             "results_unknown_cols", "unknown columns"),
            (_parquet({"uscc": [u] * 4, "date": ["2026-10-20"] * 4, "result": ["pass"] * 4}), "results_bad_csv",
             "4 rows (at most 3")):
        monkeypatch.setattr(results, "MAX_ROWS", 3)
        with pytest.raises(Refused) as e:
            results.parse(data)
        assert e.value.key == key and words in e.value.message, e.value.message
    monkeypatch.setattr(results, "XLSX_MAX_UNZIPPED", 10)
    with pytest.raises(Refused) as e:
        results.parse(_parquet({"uscc": [u], "date": ["2026-10-20"], "result": ["pass"]}))
    assert "unpacks to more than" in e.value.message
    monkeypatch.undo()
    parsed = results.parse(_parquet({"uscc": [u], "date": ["2026-10-20"], "result": ["pass"]}))
    assert parsed.format == "parquet" and len(parsed.results) == 1


# --------------------------------------------------------------------------- one transaction
def _upload_state(home: Path) -> tuple:
    return (_q(home, "SELECT count(*) FROM events WHERE source = 'results:plan-1'")[0][0],
            _q(home, "SELECT count(*) FROM plan_results WHERE plan_id = 1")[0][0],
            _q(home, "SELECT count(*) FROM results_rows")[0][0] if _q(
                home, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'results_rows'")[0][0] else 0,
            _q(home, "SELECT count(*) FROM deliveries")[0][0])


@pytest.mark.parametrize("when", ["before linking", "after linking"])
def test_a_failure_between_storing_and_linking_leaves_nothing_and_a_retry_succeeds(
        province: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """Before: the ingest committed the rows, then a second transaction linked them; a crash in between left
    results stored but not linked to the plan.  Now both are one transaction."""
    import riskgrade.inspection.results as stage
    from riskgrade.service.results import intake

    home = tmp_path / "home"
    shutil.copytree(province["home"], home)
    u = province["inside"][1]
    body = _csv("uscc,date,result", f"{u},2026-10-25,problem", f"{u},someday,pass")
    before = _upload_state(home)
    real = stage.link_upload

    def crash(*a, **k):
        if when == "after linking":
            real(*a, **k)
        raise RuntimeError("power cut")

    monkeypatch.setattr(stage, "link_upload", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        intake(home, 1, body, region="", uploader="t")
    assert _upload_state(home) == before
    monkeypatch.undo()
    out = intake(home, 1, body, region="", uploader="t")
    assert (out["accepted"], out["rejected"], out["linked"]) == (1, 1, 1)
    out = intake(home, 1, body, region="", uploader="t")
    assert (out["linked"], out["unchanged"]) == (0, 1)
    assert _q(home, "SELECT count(*) FROM plan_results WHERE uscc = ? AND source = 'results:plan-1'", [u]) == [(1,)]
    assert _q(home, "SELECT count(*) FROM events WHERE uscc = ? AND source = 'results:plan-1'", [u]) == [(1,)]


# --------------------------------------------------------------------------- the CLI: rejected lines, audit

def _audit_entries(home: Path, env: dict) -> list[dict]:
    import json

    from sqlalchemy import select

    from riskgrade.registry.db import open_registry
    from riskgrade.registry.models import AuditEntry

    f = open_registry(home, env.get("RISKGRADE_DATABASE_URL"))
    try:
        with f() as s:
            return [{"username": e.username, "action": e.action, "target": e.target, "detail": json.loads(e.detail)}
                    for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    finally:
        f.kw["bind"].dispose()


def test_the_cli_import_writes_its_rejected_lines_and_is_audited(province: dict, tmp_path: Path,
                                                                  registry_env: dict) -> None:
    """Before: ``results import`` printed the rejected lines only, and was not in the audit log (API and console
    uploads were)."""
    import csv
    import hashlib

    home = tmp_path / "home"
    shutil.copytree(province["home"], home)
    env = {**registry_env, "RISKGRADE_USER": "clerk_li"}
    u, other = province["inside"][2], province["not_planned"][0]
    body = _csv("uscc,date,result", f"{u},{DAY},pass", f"=1+2,{DAY},pass", f"{u},2026-10-21,合格吧")
    f = tmp_path / "results.csv"
    f.write_bytes(body)
    rejected = tmp_path / "out" / "rejected.csv"
    r = run_cli("results", "import", str(f), "--plan", "1", "--rejected", str(rejected), home=home, env=env)
    assert "1 accepted" in r.stderr and "2 rejected" in r.stderr and "2 rejected lines written" in r.stderr
    rows = list(csv.DictReader(rejected.open(encoding="utf-8")))
    assert [(x["file"], x["line"], x["column"], x["code"]) for x in rows] == [
        ("results.csv", "3", "uscc", "bad_uscc"), ("results.csv", "4", "result", "bad_result")]
    assert rows[0]["raw"] == f"'=1+2,{DAY},pass"  # the formula cell neutralised
    assert rows[1]["raw"] == f"{u},2026-10-21,合格吧" and rows[1]["reason"].startswith("not a result")
    assert rows[1]["reason_zh"].startswith("无法识别的检查结果「合格吧」")
    # a refused file: nothing stored, its lines in --rejected, the refusal audited
    g = tmp_path / "outside.csv"
    g.write_bytes(_csv("uscc,date,result", f"{other},{DAY},problem"))
    r = run_cli("results", "import", str(g), "--plan", "1", "--rejected", str(rejected), home=home, env=env,
                check=False)
    assert r.returncode != 0 and "not an entity of this plan" in r.stderr
    rows = list(csv.DictReader(rejected.open(encoding="utf-8")))
    assert [(x["line"], x["code"], x["raw"]) for x in rows] == [("2", "not_in_plan", f"{other},{DAY},problem")]
    got = _audit_entries(home, registry_env)
    up = [e for e in got if e["action"] == "upload_results"]
    assert len(up) == 1 and up[0]["username"] == "cli:clerk_li" and up[0]["target"] == "1"
    d = up[0]["detail"]
    assert (d["accepted"], d["rejected"], d["read"], d["via"]) == (1, 2, 3, "cli")
    assert d["sha256"] == hashlib.sha256(body).hexdigest() and d["bytes"] == len(body) and d["path"] == str(f.resolve())
    refused = [e for e in got if e["action"] == "results_refused"]
    assert len(refused) == 1 and refused[0]["detail"]["sha256"] == hashlib.sha256(g.read_bytes()).hexdigest()
    written = [e for e in got if e["action"] == "export_rejected_results"]
    assert [e["detail"]["rows"] for e in written] == [2, 1]
    assert written[-1]["detail"]["sha256"] == hashlib.sha256(rejected.read_bytes()).hexdigest()
