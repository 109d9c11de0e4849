"""The entities' registration columns beyond contract v1: ``legal_rep_name`` (法定代表人姓名),
``business_scope`` (经营范围), ``registration_authority`` (登记机关): ingest (English and Chinese headers,
control characters, lengths, a name that is a number), the latest delivery wins, a store written before
the columns existed, and the company file of a simulated, published province."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

from riskgrade import contract
from riskgrade.ingest import ingest
from riskgrade.normalise import clean
from riskgrade.warehouse import SCHEMA_VERSION, Warehouse

from .conftest import make_usccs, write_csv
from .test_console import _login, app, published  # noqa: F401 (fixtures)

U = make_usccs(8, start=700)
HEAD = ["uscc", "name", "entity_type", "region_code", "established_on", "legal_rep_id", "legal_rep_name",
        "business_scope", "registration_authority"]
HEAD_ZH = ["统一社会信用代码", "名称", "主体类型", "行政区划代码", "成立日期", "法定代表人标识", "法定代表人姓名",
           "经营范围", "登记机关"]
AUTH = "济南市历下区市场监督管理局"
LONG_SCOPE = "食品销售；" * 450  # 2,250 characters


def _rows() -> list[list[str]]:
    return [
        [U[0], "甲餐饮有限公司", "enterprise", "370102", "2020-01-05", "P1", "张伟", "餐饮服务；食品销售", AUTH],
        # control characters: a NUL-free C0 (bell), a tab, a zero-width space, a line break inside the scope
        [U[1], "乙小吃店", "个体工商户", "370102", "2021-03-01", "P2", "李\u200b娜\x07", "小吃\t服务\n外卖", " 历下区局 "],
        [U[2], "丙公司", "enterprise", "370102", "2019-05-06", "P3", "王芳", LONG_SCOPE, AUTH],
        [U[3], "丁公司", "enterprise", "370102", "2019-05-06", "P4", "370102198001011234", "", AUTH],  # bad_name
        [U[4], "戊公司", "enterprise", "370102", "2019-05-06", "P5", "赵强", "", "局" * 129],  # text_too_long
        [U[5], "己公司", "enterprise", "370102", "2019-05-06", "P6", "", "", ""],  # none given: accepted, empty
    ]


def _entities(home: Path) -> dict[str, tuple]:
    with Warehouse(home) as wh:
        rows = wh.con.execute("SELECT uscc, legal_rep_name, business_scope, registration_authority FROM entities").fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("header", [HEAD, HEAD_ZH], ids=["english", "chinese"])
def test_ingest_reads_the_registration_columns(tmp_path: Path, header: list[str]) -> None:
    d = tmp_path / "d"
    write_csv(d / "entities.csv", header, _rows())
    res = ingest(tmp_path / "home", d)
    t = res.tables["entities"].as_dict()
    assert (t["read"], t["accepted"], t["quarantined"]) == (6, 4, 2)
    assert t["by_reason"] == {"bad_name": 1, "text_too_long": 1}
    assert t["truncated"] == {"business_scope": 1}  # reported, and kept in the delivery's report
    got = _entities(tmp_path / "home")
    assert got[U[0]] == ("张伟", "餐饮服务;食品销售", AUTH)  # full-width forms folded, as in every cell
    assert got[U[1]] == ("李娜", "小吃 服务 外卖", "历下区局")  # controls stripped, breaks become spaces, trimmed
    assert len(got[U[2]][1]) == contract.BUSINESS_SCOPE_MAX and LONG_SCOPE.replace("；", ";").startswith(got[U[2]][1])
    assert got[U[5]] == (None, None, None)
    assert U[3] not in got and U[4] not in got
    with Warehouse(tmp_path / "home") as wh:
        q = dict(wh.con.execute("SELECT reason, raw FROM quarantine").fetchall())
    assert "370102198001011234" in q["bad_name"] and "局" * 129 in q["text_too_long"]


def test_a_huge_scope_cell_is_cut_before_cleaning(tmp_path: Path) -> None:
    d = tmp_path / "d"
    write_csv(d / "entities.csv", HEAD, [_rows()[5], [U[0], "甲", "enterprise", "370102", "2020-01-05", "P1", "张伟",
                                                      "\u3000" + "Ａ" * 1_000_000, AUTH]])
    res = ingest(tmp_path / "home", d)
    assert res.tables["entities"].accepted == 2
    assert _entities(tmp_path / "home")[U[0]][1] == "A" * contract.BUSINESS_SCOPE_MAX  # folded, trimmed, cut


def test_latest_delivery_wins_and_an_empty_cell_keeps_the_value(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_csv(tmp_path / "a" / "entities.csv", HEAD, _rows()[:1])
    ingest(home, tmp_path / "a")
    write_csv(tmp_path / "b" / "entities.csv", HEAD,
              [[U[0], "甲餐饮有限公司", "enterprise", "370102", "2020-01-05", "P9", "刘洋", "", "济南市市场监督管理局"]])
    write_csv(tmp_path / "b" / "events.csv", ["record_id", "uscc", "event_type", "event_date", "detail"],
              [["r1", U[0], "registration_change", "2025-06-01", "legal_rep"],
               ["r2", U[0], "变更登记", "2025-06-02", "scope"]])
    res = ingest(home, tmp_path / "b")
    assert res.tables["entities"].revised == 1 and res.tables["events"].accepted == 2
    assert _entities(home)[U[0]] == ("刘洋", "餐饮服务;食品销售", "济南市市场监督管理局")
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT legal_rep_name, superseded_by FROM entities_history").fetchall() == [("张伟", 2)]
        assert wh.con.execute("SELECT count(*) FROM events WHERE event_type = 'registration_change'").fetchall() == [(2,)]
    again = ingest(home, tmp_path / "b")  # the same delivery again: nothing changes
    assert again.tables["entities"].merged == 1 and again.tables["entities"].accepted == 0


def test_a_store_written_before_the_columns_is_upgraded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = [r[:6] for r in _rows()[:3]]
    write_csv(tmp_path / "v1" / "entities.csv", HEAD[:6], old)
    ingest(home, tmp_path / "v1")
    # the store as schema 1 wrote it: no registration columns, in its tables or their history
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    for t in ("entities", "entities_history"):
        for c in ("legal_rep_name", "business_scope", "registration_authority"):
            con.execute(f"ALTER TABLE {t} DROP COLUMN {c}")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    with Warehouse(home) as wh:  # a reader does not change the store
        assert "legal_rep_name" not in [r[0] for r in wh.con.execute("DESCRIBE entities").fetchall()]
    res = ingest(home, tmp_path / "v1")  # a writer adds the columns; the old rows hash as before
    assert res.tables["entities"].merged == 3 and res.tables["entities"].accepted == 0
    with Warehouse(home) as wh:
        for t in ("entities", "entities_history"):
            cols = [r[0] for r in wh.con.execute(f"DESCRIBE {t}").fetchall()]
            assert cols[-3:] == ["legal_rep_name", "business_scope", "registration_authority"], t
        assert wh.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
    write_csv(tmp_path / "v2" / "entities.csv", HEAD, _rows()[:3])  # now with names: revisions, old rows to history
    res = ingest(home, tmp_path / "v2")
    assert res.tables["entities"].revised == 3
    assert _entities(home)[U[0]] == ("张伟", "餐饮服务;食品销售", AUTH)
    with Warehouse(home) as wh:
        hist = wh.con.execute("SELECT uscc, name, legal_rep_name, superseded_by FROM entities_history ORDER BY uscc").fetchall()
    assert hist == [(U[0], "甲餐饮有限公司", None, 3), (U[1], "乙小吃店", None, 3), (U[2], "丙公司", None, 3)]


# ---------------------------------------------------------------------- simulated, published, shown
def _delivered(published: dict) -> dict[str, dict]:
    with open(published["root"] / "d" / "entities.csv", encoding="utf-8") as f:
        return {r["uscc"]: r for r in csv.DictReader(f)}


def test_the_simulator_gives_a_person_one_name(published) -> None:
    rows = list(_delivered(published).values())
    names: dict[str, set[str]] = {}
    for r in rows:
        names.setdefault(r["legal_rep_id"], set()).add(r["legal_rep_name"])
    assert all(len(v) == 1 for v in names.values())
    assert any(len([r for r in rows if r["legal_rep_id"] == p]) > 1 for p in names)  # some run several entities
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", r["legal_rep_name"]) for r in rows)
    assert all(r["registration_authority"].endswith("市场监督管理局") for r in rows)
    assert all(0 < len(r["business_scope"]) <= contract.BUSINESS_SCOPE_MAX for r in rows)
    food = [r for r in rows if r["industry_code"].lstrip("H").startswith("62")]  # 餐饮业
    assert food and all("餐饮" in r["business_scope"] or "食品" in r["business_scope"] or "小餐饮" in r["business_scope"]
                        or "住宿" in r["business_scope"] or "酒类" in r["business_scope"] or "外卖" in r["business_scope"]
                        for r in food)


def test_company_file_shows_the_delivered_registration(app, published) -> None:  # noqa: F811
    from sqlalchemy import select

    from riskgrade.registry.models import Entity, Grade

    county = published["county"]
    with app.state.rg.factory() as s:
        uscc, name, scope, auth = s.execute(
            select(Entity.uscc, Entity.legal_rep_name, Entity.business_scope, Entity.registration_authority)
            .join(Grade, Grade.uscc == Entity.uscc).where(Entity.region_code == county)
            .order_by(Entity.uscc).limit(1)).one()
    row = _delivered(published)[uscc]
    assert name == row["legal_rep_name"] and auth == row["registration_authority"]
    assert scope == clean(row["business_scope"])  # full-width forms folded, as in every cell
    officer = _login(app, "officer_county").get(f"/entities/{uscc}").text
    assert re.search(r'id="legal-rep-name">' + re.escape(name) + "</dd>", officer)
    assert scope in officer
    assert auth in officer and "未归集" not in officer.split('id="legal-rep-name"')[1].split("</dl>")[0]
    domain = _login(app, "domain").get(f"/entities/{uscc}").text
    masked = name[0] + "*" * (len(name) - 1)
    assert re.search(r'id="legal-rep-name">' + re.escape(masked) + " <span", domain)
    assert name not in domain and auth in domain
