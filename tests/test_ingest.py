"""Ingest through the contract: every bad-input case, every format, re-ingest, report, export."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.ingest import ingest
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

TODAY = dt.date(2026, 11, 21)
U = make_usccs(5)
BAD_CHECK = U[0][:17] + ("0" if U[0][17] != "0" else "1")
STRANGER = make_usccs(1, start=999)[0]  # valid, but never delivered as an entity


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def entity_rows() -> list[list[object]]:
    return [
        [U[0], "济南甲餐饮有限公司", "enterprise", "370102", "H6210", "2020-01-05", "active", "历下区1号"],
        [U[1], "乙小吃店", "个体工商户", "370103", "6291", "2021/3/1", "存续", "市中区2号"],
        [fullwidth(U[2]), "丙农民专业合作社", "农民专业合作社", "370112", "0141", "2019年5月6日", "", " 历城区3号 "],
        [U[3].lower(), "丁公司", "enterprise", "370111", "", "44000", "revoked", "郊区"],  # historical region, Excel date
        [BAD_CHECK, "坏码公司", "enterprise", "370102", "", "2020-01-01", "", ""],  # bad_uscc
        [U[4], "戊公司", "partnership", "370102", "", "2020-01-01", "", ""],  # bad_enum
        [make_usccs(1, start=500)[0], "己公司", "enterprise", "999999", "", "2020-01-01", "", ""],  # bad_region
        [make_usccs(1, start=501)[0], "庚公司", "enterprise", "370102", "Z9999", "2020-01-01", "", ""],  # bad_industry
        [make_usccs(1, start=502)[0], "", "enterprise", "370102", "", "2020-01-01", "", ""],  # missing_required
        [make_usccs(1, start=503)[0], "辛公司", "enterprise", "370102", "", "2099-01-01", "", ""],  # future_date
        [U[0], "济南甲餐饮有限公司", "enterprise", "370102", "H6210", "2020-01-05", "active", "历下区1号"],  # merged
    ]


def event_rows() -> list[list[object]]:
    return [
        ["e1", U[0], "annual_report", "2025-04-01", "2025-04-02", "市场监管局", "2024", "1000", ""],
        ["e2", U[0], "complaint", "2025-05-01", "", "12315", "食品", "1", ""],
        ["e3", fullwidth(U[1]), "admin_penalty", "２０２５-06-01", "2025-06-05", "市场监管局", "fine", "5,000", ""],
        ["e4", U[2], "admin_license", "2024-01-01", "2024-01-02", "市场监管局", "granted", "", "2030-12-31"],
        ["e5", U[0], "teleportation", "2025-01-01", "", "市场监管局", "", "", ""],  # unknown_event_type
        ["e6", U[0], "complaint", "2025-13-01", "", "12315", "", "", ""],  # bad_date
        ["e7", U[0], "complaint", "2099-01-01", "", "12315", "", "", ""],  # future_date
        ["e8", U[0], "admin_penalty", "2025-01-01", "", "市场监管局", "fine", "abc", ""],  # bad_number
        ["e9", BAD_CHECK, "complaint", "2025-01-01", "", "12315", "", "", ""],  # bad_uscc
        ["e10", STRANGER, "complaint", "2025-01-01", "", "12315", "", "", ""],  # unattributed
        ["e11", U[4], "complaint", "2025-01-01", "", "12315", "", "", ""],  # entity quarantined -> unattributed
        ["", U[0], "complaint", "2025-01-01", "", "12315", "", "", ""],  # missing_required
        ["e1", U[0], "annual_report", "2025-04-01", "2025-04-02", "市场监管局", "2024", "1000", ""],  # merged
        ["e2", U[0], "complaint", "2025-05-02", "", "12315", "食品", "1", ""],  # conflicting_duplicate
        ["e1", U[0], "complaint", "2025-04-01", "", "other-dept", "", "", ""],  # same id, other source: accepted
    ]


@pytest.fixture
def delivery(tmp_path: Path) -> Path:
    d = tmp_path / "delivery"
    write_csv(d / "entities.csv", ENTITY_HEADER, entity_rows())
    write_csv(d / "events.csv", EVENT_HEADER, event_rows())
    with open(d / "events.csv", "a", encoding="utf-8") as f:
        f.write("e12,too,many,columns,here,x,y,z,w,extra\r\n")  # malformed_row
    return d


def counts(res, table):
    return res.tables[table].as_dict()


def test_every_bad_input_case_gets_its_reason(delivery: Path, home: Path) -> None:
    res = ingest(home, delivery, today=TODAY)
    e = counts(res, "entities")
    assert e["read"] == 11
    assert e["read"] == e["accepted"] + e["merged"] + e["quarantined"]
    assert (e["accepted"], e["merged"]) == (4, 1)
    assert e["by_reason"] == {"bad_uscc": 1, "bad_enum": 1, "bad_region": 1, "bad_industry": 1,
                              "missing_required": 1, "future_date": 1}
    assert e["historical_region"] == 1
    v = counts(res, "events")
    assert v["read"] == 16
    assert v["read"] == v["accepted"] + v["merged"] + v["quarantined"]
    assert (v["accepted"], v["merged"]) == (5, 1)
    assert v["by_reason"] == {"unknown_event_type": 1, "bad_date": 1, "future_date": 1, "bad_number": 1,
                              "bad_uscc": 1, "unattributed": 2, "missing_required": 1,
                              "conflicting_duplicate": 1, "malformed_row": 1}


def test_repeated_keys_found_in_hash_slices(delivery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large delivery looks for repeated keys slice by slice of the hash range (bounded memory): the
    outcome is the same as in one piece."""
    from riskgrade.ingest import pipeline

    whole = ingest(tmp_path / "a", delivery, today=TODAY).as_dict()
    monkeypatch.setattr(pipeline, "DUP_SLICE_ROWS", 2)  # 16 rows -> 8 slices
    sliced = ingest(tmp_path / "b", delivery, today=TODAY).as_dict()
    for r in (whole, sliced):
        r.pop("delivery_id", None)
        r.pop("path", None)
    assert sliced["tables"] == whole["tables"] and whole["tables"]["events"]["by_reason"]["conflicting_duplicate"] == 1


def test_normalisation_and_typing(delivery: Path, home: Path) -> None:
    ingest(home, delivery, today=TODAY)
    with Warehouse(home) as wh:
        ents = {r[0]: r for r in wh.con.execute(
            "SELECT uscc, entity_type, status, established_on, industry_code, industry_section, address, "
            "region_historical FROM entities").fetchall()}
        assert set(ents) == set(U[:4])  # full-width and lower-case codes folded and upper-cased
        assert ents[U[1]][1:3] == ("individual", "active")
        assert ents[U[2]][1:4] == ("cooperative", "active", dt.date(2019, 5, 6))
        assert ents[U[2]][6] == "历城区3号"  # trimmed
        assert ents[U[0]][4:6] == ("6210", "H")
        assert ents[U[3]][3] == dt.date(2020, 6, 18)  # Excel serial 44000
        assert ents[U[3]][7] is True  # historical region code accepted, flagged
        ev = {(r[0], r[1]): r for r in wh.con.execute(
            "SELECT record_id, source, event_date, reported_on, reported_given, amount, end_date FROM events").fetchall()}
        assert ev[("e3", "市场监管局")][2] == dt.date(2025, 6, 1)
        assert ev[("e3", "市场监管局")][5] == 5000.0
        assert ev[("e2", "12315")][3] == TODAY and ev[("e2", "12315")][4] is False  # reported_on defaults to load date
        assert ev[("e4", "市场监管局")][6] == dt.date(2030, 12, 31)  # end_date may lie in the future
        assert ("e1", "other-dept") in ev


def test_quarantine_keeps_file_line_and_original_text(delivery: Path, home: Path) -> None:
    ingest(home, delivery, today=TODAY)
    with Warehouse(home) as wh:
        rows = wh.con.execute("SELECT table_name, file, line, reason, raw FROM quarantine ORDER BY table_name, line").fetchall()
    got = {(t, line): (reason, raw) for t, _, line, reason, raw in rows}
    # entities.csv: header is line 1, so the 5th data row (bad check character) is line 6
    assert got[("entities", 6)][0] == "bad_uscc"
    assert got[("entities", 6)][1].startswith(BAD_CHECK + ",坏码公司")
    assert got[("events", 6)][0] == "unknown_event_type"
    assert got[("events", 17)] == ("malformed_row", "e12,too,many,columns,here,x,y,z,w,extra")
    assert got[("events", 15)][0] == "conflicting_duplicate"


def test_reingest_changes_nothing(delivery: Path, home: Path) -> None:
    ingest(home, delivery, today=TODAY)
    with Warehouse(home) as wh:
        before = {t: wh.con.execute(f"SELECT * EXCLUDE (delivery_id, loaded_at) FROM {t} ORDER BY ALL").fetchall()
                  for t in ("entities", "events")}
    res = ingest(home, delivery, today=TODAY + dt.timedelta(days=3))
    e, v = counts(res, "entities"), counts(res, "events")
    assert e["accepted"] == 0 and e["merged"] == 5
    assert v["accepted"] == 0 and v["merged"] == 6
    with Warehouse(home) as wh:
        after = {t: wh.con.execute(f"SELECT * EXCLUDE (delivery_id, loaded_at) FROM {t} ORDER BY ALL").fetchall()
                 for t in ("entities", "events")}
        assert wh.con.execute("SELECT count(*) FROM entities_history").fetchall()[0][0] == 0
    assert before == after


def test_a_later_delivery_updates_and_keeps_history(delivery: Path, home: Path, tmp_path: Path) -> None:
    ingest(home, delivery, today=TODAY)
    later = tmp_path / "later"
    # status changes; address column absent -> the held address is kept
    write_csv(later / "entities.csv", ["uscc", "name", "entity_type", "region_code", "established_on", "status", "closed_on"],
              [[U[0], "济南甲餐饮有限公司", "enterprise", "370102", "2020-01-05", "deregistered", "2026-06-30"]])
    res = ingest(home, later, today=TODAY)
    assert counts(res, "entities")["accepted"] == 1 and counts(res, "entities")["revised"] == 1
    with Warehouse(home) as wh:
        cur = wh.con.execute("SELECT status, closed_on, address, industry_code, version FROM entities WHERE uscc = ?",
                             [U[0]]).fetchall()
        assert cur == [("deregistered", dt.date(2026, 6, 30), "历下区1号", "6210", 2)]
        old = wh.con.execute("SELECT status, version, superseded_by FROM entities_history WHERE uscc = ?", [U[0]]).fetchall()
        assert old == [("active", 1, 2)]


def test_gb18030_with_chinese_headers(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "gbk"
    zh = ["统一社会信用代码", "名称", "主体类型", "行政区划代码", "行业代码", "成立日期", "登记状态", "住所"]
    write_csv(d / "entities.csv", zh, entity_rows()[:4], encoding="gb18030")
    zh_ev = ["记录编号", "统一社会信用代码", "事件类型", "发生日期", "归集日期", "来源部门", "详情", "金额/数量", "截止日期"]
    write_csv(d / "events.csv", zh_ev, event_rows()[:4], encoding="gb18030")
    (d / "events.csv").read_bytes().decode("gb18030")  # really GB18030
    with pytest.raises(UnicodeDecodeError):
        (d / "entities.csv").read_bytes().decode("utf-8")
    res = ingest(home, d, today=TODAY)
    assert counts(res, "entities")["accepted"] == 4
    assert counts(res, "events")["accepted"] == 4
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT name FROM entities WHERE uscc = ?", [U[1]]).fetchall() == [("乙小吃店",)]
        assert wh.con.execute("SELECT encoding FROM files WHERE table_name = 'entities'").fetchall() == [("gb18030",)]


def test_utf8_bom(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "bom"
    write_csv(d / "entities.csv", ENTITY_HEADER, entity_rows()[:2], encoding="utf-8-sig")
    res = ingest(home, d, today=TODAY)
    assert counts(res, "entities")["accepted"] == 2


def test_parquet_and_split_tables(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "pq"
    d.mkdir()
    ents = entity_rows()[:4]
    pq.write_table(pa.table({h: [None if r[i] == "" else str(r[i]) for r in ents] for i, h in enumerate(ENTITY_HEADER)}),
                   d / "entities.parquet")
    (d / "events").mkdir()
    evs = event_rows()
    typed = pa.table({
        "record_id": [r[0] for r in evs[:4]],
        "uscc": [r[1] for r in evs[:4]],
        "event_type": [r[2] for r in evs[:4]],
        "event_date": pa.array([dt.date(2025, 4, 1), dt.date(2025, 5, 1), dt.date(2025, 6, 1), dt.date(2024, 1, 1)]),
        "amount": pa.array([1000.0, 1.0, 5000.0, None]),
        "source": [r[5] for r in evs[:4]],
    })
    pq.write_table(typed.slice(0, 2), d / "events" / "part-001.parquet")
    pq.write_table(typed.slice(2, 2), d / "events" / "part-002.parquet")
    res = ingest(home, d, today=TODAY)
    assert counts(res, "entities")["accepted"] == 4
    assert counts(res, "events") | {"by_reason": None} == counts(res, "events") | {
        "read": 4, "accepted": 4, "merged": 0, "quarantined": 0, "files": 2, "by_reason": None}
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT amount FROM events WHERE record_id = 'e3'").fetchall() == [(5000.0,)]
        assert sorted(r[0] for r in wh.con.execute("SELECT DISTINCT file FROM events").fetchall()) == [
            "events/part-001.parquet", "events/part-002.parquet"]


def test_xlsx_first_sheet(tmp_path: Path, home: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    d = tmp_path / "xl"
    d.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ENTITY_HEADER)
    for r in entity_rows()[:4]:
        ws.append(r)
    ws.append([U[4], "戊公司", "enterprise", "370102", "", dt.datetime(2021, 2, 3), "", ""])  # a real Excel date cell
    ws.append([BAD_CHECK, "坏码公司", "enterprise", "370102", "", "2020-01-01", "", ""])
    wb.create_sheet("ignored").append(["not", "read"])
    wb.save(d / "entities.xlsx")
    res = ingest(home, d, today=TODAY)
    e = counts(res, "entities")
    assert (e["read"], e["accepted"], e["quarantined"]) == (6, 5, 1)
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT established_on FROM entities WHERE uscc = ?", [U[4]]).fetchall() == [
            (dt.date(2021, 2, 3),)]
        assert wh.con.execute("SELECT line FROM quarantine").fetchall() == [(7,)]


def test_unreadable_file_is_reported_and_the_rest_loads(delivery: Path, home: Path) -> None:
    (delivery / "events").mkdir()
    (delivery / "events" / "part-999.csv").write_bytes(b"\x00\x01\x02garbage\x00" * 100)
    (delivery / "domain_grades.parquet").write_bytes(b"PAR1 not really")
    (delivery / "notes.docx").write_bytes(b"whatever")
    res = ingest(home, delivery, today=TODAY)
    bad = {u["path"]: u["reason"] for u in res.unreadable}
    assert set(bad) == {"events/part-999.csv", "domain_grades.parquet"}
    assert "binary" in bad["events/part-999.csv"]
    assert res.ignored == [{"path": "notes.docx", "reason": "not a table of the contract"}]
    assert counts(res, "events")["accepted"] == 5


def test_missing_required_column_makes_the_file_unreadable(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "d"
    write_csv(d / "entities.csv", ENTITY_HEADER, entity_rows()[:2])
    write_csv(d / "events.csv", ["record_id", "event_type", "event_date"], [["x", "complaint", "2025-01-01"]])
    res = ingest(home, d, today=TODAY)
    assert res.unreadable[0]["path"] == "events.csv"
    assert "uscc" in res.unreadable[0]["reason"]


def test_nothing_loadable_is_an_error(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "events.csv").write_bytes(b"\x00\x00")
    with pytest.raises(RiskgradeError, match="nothing could be loaded"):
        ingest(home, d, today=TODAY)
    with pytest.raises(RiskgradeError, match="no such file"):
        ingest(home, tmp_path / "missing", today=TODAY)


def test_single_file_named_by_its_headers(tmp_path: Path, home: Path) -> None:
    f = write_csv(tmp_path / "市场主体导出.csv", ENTITY_HEADER, entity_rows()[:2])
    res = ingest(home, f, today=TODAY)
    assert counts(res, "entities")["accepted"] == 2


def test_optional_tables(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "d"
    write_csv(d / "entities.csv", ENTITY_HEADER, entity_rows()[:2])
    write_csv(d / "relations.csv", ["uscc", "party_id", "party_kind", "role"],
              [[U[0], "P1", "person", "legal_rep"], [U[1], "P1", "自然人", "经营者"], [U[0], "P2", "robot", "legal_rep"],
               [STRANGER, "P3", "person", "legal_rep"]])
    write_csv(d / "inspectors.csv", ["inspector_id", "name", "unit_region_code", "domains"],
              [["I1", "张三", "370102", "general;food"], ["I2", "李四", "123456", "general"]])
    write_csv(d / "domain_grades.csv", ["uscc", "domain", "grade", "as_of"],
              [[U[0], "food", "B", "2026-06-30"], [U[1], "food", "A", "not a date"]])
    res = ingest(home, d, today=TODAY)
    assert counts(res, "relations")["accepted"] == 2
    assert counts(res, "relations")["by_reason"] == {"bad_enum": 1, "unattributed": 1}
    assert counts(res, "inspectors")["by_reason"] == {"bad_region": 1}
    assert counts(res, "domain_grades")["by_reason"] == {"bad_date": 1}


def test_cli_report_json_and_quarantine_export(delivery: Path, home: Path, tmp_path: Path) -> None:
    rep = tmp_path / "r.json"
    p = run_cli("ingest", str(delivery), "--report", str(rep), home=home)
    assert "quarantined" in p.stdout and "entities" in p.stdout
    data = json.loads(rep.read_text(encoding="utf-8"))
    for t in ("entities", "events"):
        c = data["tables"][t]
        assert c["read"] == c["accepted"] + c["merged"] + c["quarantined"]
        assert sum(c["by_reason"].values()) == c["quarantined"]
    assert data["tables"]["events"]["by_reason"]["unattributed"] == 2
    assert data["unreadable_files"] == []
    out = tmp_path / "q.csv"
    run_cli("quarantine", "export", "--out", str(out), home=home)
    with open(out, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == data["tables"]["entities"]["quarantined"] + data["tables"]["events"]["quarantined"]
    assert {"table", "file", "line", "reason", "raw"} <= set(rows[0])
    # --home on the command works as well as the environment variable
    p = run_cli("status", "--home", str(home), home=tmp_path / "elsewhere")
    assert "events" in p.stdout


def test_cli_errors_are_one_line_and_non_zero(tmp_path: Path, home: Path) -> None:
    p = run_cli("ingest", str(tmp_path / "nope"), home=home, check=False)
    assert p.returncode != 0
    assert "error:" in p.stderr and "Traceback" not in p.stderr


def test_a_second_writer_waits_then_refuses(delivery: Path, home: Path) -> None:
    ingest(home, delivery, today=TODAY)
    with Warehouse(home, write=True):
        with pytest.raises(RiskgradeError, match="another riskgrade command"):
            ingest(home, delivery, today=TODAY, lock_timeout=0.3)
        with pytest.raises(RiskgradeError, match="another riskgrade command"):
            with Warehouse(home, lock_timeout=0.3):
                pass
    with Warehouse(home) as a, Warehouse(home) as b:  # readers share
        assert a.con.execute("SELECT count(*) FROM entities").fetchall() == b.con.execute(
            "SELECT count(*) FROM entities").fetchall()


def test_store_is_clustered_by_entity(delivery: Path, home: Path) -> None:
    ingest(home, delivery, today=TODAY)
    with Warehouse(home) as wh:
        for table in ("events", "entities"):  # a segment's part, a table's rows: by bucket, then USCC
            rows = wh.con.execute(f"SELECT bucket, uscc FROM {table}").fetchall()
            assert len(rows) > 1 and rows == sorted(rows)
        b = wh.con.execute(f"SELECT bucket FROM events WHERE uscc = '{U[0]}' LIMIT 1").fetchall()[0][0]
    import hashlib

    assert b == int(hashlib.md5(U[0].encode()).hexdigest()[:3], 16)


def test_gb18030_whose_only_chinese_is_in_a_malformed_row(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "d"
    write_csv(d / "entities.csv", ENTITY_HEADER, entity_rows()[:2])
    with open(d / "events.csv", "w", encoding="gb18030", newline="") as f:
        f.write(",".join(EVENT_HEADER) + "\r\n")
        f.write(f"e1,{U[0]},complaint,2025-01-01,,12315,,,\r\n")
        f.write("e2,行政处罚,too,few\r\n")
    res = ingest(home, d, today=TODAY)
    assert counts(res, "events")["by_reason"] == {"malformed_row": 1}
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT encoding FROM files WHERE table_name = 'events'").fetchall() == [("gb18030",)]
        assert wh.con.execute("SELECT raw FROM quarantine").fetchall() == [("e2,行政处罚,too,few",)]


def test_typed_parquet_columns_are_taken_as_typed(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "pq"
    write_csv(d / "entities.csv", ENTITY_HEADER, entity_rows()[:2])
    pq.write_table(pa.table({
        "record_id": ["t1", "t2", "t3", "t4"],
        "uscc": [U[0], U[1], U[0], fullwidth(U[1])],
        "event_type": ["admin_penalty", "complaint", "complaint", "complaint"],
        "event_date": pa.array([dt.date(2025, 4, 1), dt.date(2025, 5, 1), dt.date(2099, 1, 1), None]),
        "amount": pa.array([1500.5, None, 1.0, 2.0]),
        "end_date": pa.array([dt.datetime(2030, 1, 2, 3, 4), None, None, None], pa.timestamp("us")),
        "source": ["市场监管局", "12315", "12315", " 12315 "],
    }), d / "events.parquet")
    res = ingest(home, d, today=TODAY)
    assert counts(res, "events")["by_reason"] == {"future_date": 1, "missing_required": 1}
    with Warehouse(home) as wh:
        got = wh.con.execute("SELECT record_id, event_date, amount, end_date, source FROM events ORDER BY 1").fetchall()
    assert got == [("t1", dt.date(2025, 4, 1), 1500.5, dt.date(2030, 1, 2), "市场监管局"),
                   ("t2", dt.date(2025, 5, 1), None, None, "12315")]


def test_parquet_text_that_needs_cleaning_is_cleaned(tmp_path: Path, home: Path) -> None:
    d = tmp_path / "pq"
    write_csv(d / "entities.csv", ENTITY_HEADER, entity_rows()[:2])
    pq.write_table(pa.table({
        "record_id": ["w1", "w2"], "uscc": [U[0], U[1]], "event_type": ["complaint", "complaint"],
        "event_date": ["２０２５-01-01", "2025-01-02"], "source": ["１２３１５", "\u3000dept "],
    }), d / "events.parquet")
    ingest(home, d, today=TODAY)
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT record_id, event_date, source FROM events ORDER BY 1").fetchall() == [
            ("w1", dt.date(2025, 1, 1), "12315"), ("w2", dt.date(2025, 1, 2), "dept")]


def _events(home: Path) -> list[tuple]:
    with Warehouse(home) as wh:
        return wh.con.execute("SELECT * EXCLUDE (delivery_id, loaded_at, file, line) FROM events ORDER BY ALL").fetchall()


def test_event_revisions_across_segments_keep_history_and_compact(delivery: Path, home: Path, tmp_path: Path) -> None:
    ingest(home, delivery, today=TODAY)
    later = tmp_path / "later"
    write_csv(later / "events.csv", EVENT_HEADER, [
        ["e1", U[0], "annual_report", "2025-04-01", "2025-04-02", "市场监管局", "2024", "2000", ""],  # revised amount
        ["e3", U[1], "admin_penalty", "2025-06-01", "2025-06-05", "市场监管局", "fine", "5000", ""],  # same again
        ["n1", U[2], "complaint", "2025-07-01", "", "12315", "", "", ""],  # new
    ])
    res = ingest(home, later, today=TODAY)
    v = counts(res, "events")
    assert (v["accepted"], v["revised"], v["merged"]) == (2, 1, 1)
    with Warehouse(home) as wh:
        con = wh.con
        assert con.execute("SELECT count(*) FROM event_segments").fetchall() == [(2,)]
        assert con.execute("SELECT amount, version FROM events WHERE record_id = 'e1' AND source = '市场监管局'"
                           ).fetchall() == [(2000.0, 2)]
        assert con.execute("SELECT amount, version, superseded_by FROM events_history").fetchall() == [(1000.0, 1, 2)]
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(6,)]
    before = _events(home)
    # re-ingesting the later delivery changes nothing
    again = ingest(home, later, today=TODAY)
    assert counts(again, "events")["merged"] == 3
    assert _events(home) == before
    # compaction: one segment in entity order, same rows, old files gone
    with Warehouse(home, write=True) as wh:
        assert wh.compact() == 6
    assert _events(home) == before
    with Warehouse(home) as wh:
        paths = [r[0] for r in wh.con.execute("SELECT path FROM event_segments").fetchall()]
        rows = wh.con.execute("SELECT bucket, uscc FROM events").fetchall()
        assert wh.con.execute("SELECT count(*) FROM events_superseded").fetchall() == [(0,)]
    assert rows == sorted(rows)
    assert sorted(str(p.relative_to(home)) for p in (home / "events").rglob("*.parquet")) == sorted(paths)


def test_segment_files_of_a_killed_run_are_removed(delivery: Path, home: Path) -> None:
    ingest(home, delivery, today=TODAY)
    orphan = home / "events" / "seg-000009" / "part=0" / "data-0.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a file")
    ingest(home, delivery, today=TODAY)
    assert not orphan.exists() and not orphan.parent.parent.exists()
    assert len(_events(home)) == 5


@pytest.mark.parametrize("kept", [10_000, 0])
def test_partitioned_segment_pass_stores_what_the_one_part_write_stores(
        delivery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept: int) -> None:
    """A large delivery's events are typed and decided in one pass whose part files become the segment:
    a repeated or already held key in them is listed as superseded (``kept``: up to 10,000 such rows) or
    the segment is written again without it (``kept=0``).  Either way the store, the counts and the
    quarantine equal those of a small delivery's one sorted part."""
    from riskgrade import warehouse
    from riskgrade.ingest import pipeline

    later = tmp_path / "later"
    write_csv(later / "events.csv", EVENT_HEADER, [
        ["e1", U[0], "annual_report", "2025-04-01", "2025-04-02", "市场监管局", "2024", "2000", ""],  # revised amount
        ["e3", U[1], "admin_penalty", "2025-06-01", "2025-06-05", "市场监管局", "fine", "5000", ""],  # same again
        ["n1", U[2], "complaint", "2025-07-01", "", "12315", "", "", ""],  # new
        ["n1", U[2], "complaint", "2025-07-01", "", "12315", "", "", ""],  # repeated in the delivery
    ])

    def run(home: Path) -> tuple[list, list]:
        reports = []
        for d in (delivery, later, later):
            r = ingest(home, d, today=TODAY).as_dict()
            reports.append(r["tables"])
        with Warehouse(home) as wh:
            q = wh.con.execute("SELECT table_name, file, line, reason, raw FROM quarantine ORDER BY ALL").fetchall()
            hist = wh.con.execute("SELECT * EXCLUDE (delivery_id, loaded_at, file, line) FROM events_history "
                                  "ORDER BY ALL").fetchall()
        return [reports, _events(home), q, hist], sorted((home / "events").rglob("*.parquet"))

    one, _ = run(tmp_path / "one")
    monkeypatch.setattr(warehouse, "SEGMENT_PART_ROWS", 1)  # every segment in 16 parts
    monkeypatch.setattr(pipeline, "HIDDEN_ROWS_KEPT", kept)
    home = tmp_path / "parts"
    parts, files = run(home)
    assert parts == one
    assert one[0][0]["events"]["by_reason"] and one[0][1]["events"]["merged"] == 2  # quarantined rows; merged rows
    with Warehouse(home) as wh:
        superseded = wh.con.execute("SELECT count(*) FROM events_superseded").fetchall()[0][0]
        # the part files hold no quarantined row: each is either visible or superseded (revisions are in
        # the events table)
        in_files = wh.con.execute(f"SELECT count(*) FROM read_parquet({[str(f) for f in files]})").fetchall()[0][0]
        visible = wh.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        revised = wh.con.execute(f"SELECT count(*) FROM {wh.table('events')}").fetchall()[0][0]
        assert in_files == visible - revised + superseded
    # one superseded held version (the revision) either way; with kept, the pass's unstored rows too
    assert superseded == 1 + (5 if kept else 0)
    assert not list((home / "tmp").glob("segment-pass-*"))


def test_uscc_lookup_by_hash_stores_what_the_lookup_by_text_stores(
        delivery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows find their cleaned, checked USCC in ``uscc_map`` by the cell's hash when the map's hashes are
    distinct, else by the cell's text: both give the same store, counts, field counts and quarantine
    (cells that clean to another value, to nothing, or not at all)."""
    from riskgrade.ingest import pipeline

    later = tmp_path / "later"
    write_csv(later / "events.csv", EVENT_HEADER, [
        ["n1", "", "complaint", "2025-07-01", "", "12315", "", "", ""],  # empty USCC cell: missing_required
        ["n2", f" {U[1]} ", "complaint", "2025-07-01", "", "12315", "", "", ""],  # trimmed
        ["n3", U[2].lower(), "complaint", "2025-07-02", "", "12315", "", "", ""],  # upper-cased
        ["n4", fullwidth(U[0]), "complaint", "2025-07-03", "", "12315", "", "", ""],  # folded
    ])

    def run(home: Path) -> list:
        reports = [ingest(home, d, today=TODAY).as_dict()["tables"] for d in (delivery, later)]
        with Warehouse(home) as wh:
            tables = [wh.con.execute("SELECT * EXCLUDE (loaded_at) FROM entities ORDER BY ALL").fetchall()]
            tables += [wh.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                       for t in ("quarantine", "field_counts", "ingest_counts")]
        return [reports, _events(home), tables]

    by_hash = run(tmp_path / "hash")
    assert by_hash[0][1]["events"]["accepted"] == 3 and by_hash[0][1]["events"]["by_reason"] == {"missing_required": 1}
    used = []
    uscc_map = pipeline.Ingest._uscc_map

    def by_text(self, *a, **k):
        used.append(uscc_map(self, *a, **k))
        return False  # as when two distinct cells' hashes clash

    monkeypatch.setattr(pipeline.Ingest, "_uscc_map", by_text)
    assert run(tmp_path / "text") == by_hash
    assert used and all(used)  # the hash lookup was possible: the first run used it


def test_csv_files_converted_in_parallel_load_as_one_at_a_time(delivery: Path, tmp_path: Path) -> None:
    """With two or more threads the delivery's CSV files are converted concurrently: the report, the
    store and the quarantine equal a one-thread ingest's, with a GB18030 file whose rows are malformed
    and a file that cannot be read among them, and no staging file is left behind."""
    from riskgrade.ingest import readers

    write_csv(delivery / "events" / "more.csv", ["记录编号", "统一社会信用代码", "事件类型", "事件日期", "报送日期", "来源部门",
                                                  "详情", "金额", "截止日期"],
              [["m1", U[3], "投诉举报", "2025-08-01", "", "12315", "", "", ""]], encoding="gb18030")
    with open(delivery / "events" / "more.csv", "a", encoding="gb18030") as f:
        f.write("m2,只有两列\r\n")  # malformed_row
    (delivery / "events" / "broken.csv").write_bytes(b"record_id,uscc\x00\x01\x02")  # binary: unreadable

    def run(home: Path, threads: int) -> list:
        report = ingest(home, delivery, today=TODAY, threads=threads).as_dict()
        with Warehouse(home) as wh:
            tables = [wh.con.execute(f"SELECT * EXCLUDE (loaded_at) FROM {t} ORDER BY ALL").fetchall()
                      for t in ("entities", "relations")]
            tables += [wh.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                       for t in ("quarantine", "field_counts", "ingest_counts")]
        assert not list((home / "tmp").glob("stage_*"))  # staging files removed
        return [report["tables"], report["unreadable_files"], _events(home), tables]

    started = []
    convert = readers._convert_csv

    def spy(df, name, tmpdir):
        started.append(df.rel)
        return convert(df, name, tmpdir)

    mp = pytest.MonkeyPatch()
    mp.setattr(readers, "_convert_csv", spy)
    try:
        parallel = run(tmp_path / "parallel", 2)
        assert len(started) == 4  # every CSV file went through the thread pool
        one = run(tmp_path / "one", 1)
    finally:
        mp.undo()
    assert parallel == one
    tables, unreadable = parallel[0], parallel[1]
    assert [u["path"] for u in unreadable] == ["events/broken.csv"]
    assert tables["events"]["by_reason"]["malformed_row"] == 2 and tables["events"]["files"] == 2
