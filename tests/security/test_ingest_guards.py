"""Issue 17, findings 4 and 5: a spreadsheet bomb, mixed encodings, a duplicate header or a non-finite
amount never stops a delivery nor reaches the store as data; the good files of the delivery still load,
and nothing is lost (the quarantine keeps each refused row's text)."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskgrade.ingest import ingest
from riskgrade.warehouse import Warehouse

from ..conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

TODAY = dt.date(2026, 11, 21)
U = make_usccs(6)


def _good(d: Path) -> Path:
    """A small good delivery: 6 entities, 6 events."""
    write_csv(d / "entities.csv", ENTITY_HEADER,
              [[u, f"济南{i}号餐饮有限公司", "enterprise", "370102", "H6210", "2020-01-05", "active", f"历下区{i}号"]
               for i, u in enumerate(U)])
    write_csv(d / "events.csv", EVENT_HEADER,
              [[f"c{i}", u, "complaint", "2025-05-01", "", "12315", "食品", "1", ""] for i, u in enumerate(U)])
    return d


def _query(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    with Warehouse(home) as wh:
        return wh.con.execute(sql, params or []).fetchall()


def _loaded(home: Path) -> tuple[int, int]:
    """(entities, events) held."""
    return (_query(home, "SELECT count(*) FROM entities")[0][0], _query(home, "SELECT count(*) FROM events")[0][0])


# --------------------------------------------------------------------------- spreadsheets
_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
       'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
       'officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
         'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
       '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def _xlsx(path: Path, dimension: str | None, rows: list[list[str]], padding: int = 0, far: str | None = None) -> Path:
    """An .xlsx built by hand: one sheet declaring ``dimension``, with ``rows`` as inline strings, a cell at
    ``far`` (e.g. ``XFD1048576``) and ``padding`` bytes of whitespace in the sheet (compressed to almost nothing)."""
    cells = "".join(
        f'<row r="{r + 1}">' + "".join(f'<c r="{chr(65 + c)}{r + 1}" t="inlineStr"><is><t>{v}</t></is></c>'
                                       for c, v in enumerate(row)) + "</row>" for r, row in enumerate(rows))
    if far:
        cells += f'<row r="{far.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}"><c r="{far}" t="inlineStr"><is><t>x</t></is></c></row>'
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
             f'2006/main">{dim}<sheetData>{cells}</sheetData>' + " " * padding + "</worksheet>")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in (("[Content_Types].xml", _CT), ("_rels/.rels", _RELS), ("xl/workbook.xml", _WB),
                           ("xl/_rels/workbook.xml.rels", _WB_RELS), ("xl/worksheets/sheet1.xml", sheet)):
            z.writestr(name, text)
    return path


INSPECTOR_ROWS = [["inspector_id", "name", "unit_region_code"], ["I1", "张三", "370102"]]


@pytest.mark.parametrize("dimension, far, says", [
    ("A1:XFD1048576", "XFD1048576", "A1:XFD1048576"),  # the whole sheet, declared and used
    (None, "XFD1048576", "XFD1048576"),  # one far cell, no dimension: the reader would allocate the whole grid
    ("A1:C2", "A2000001", "2000001"),  # a row beyond the row limit, under a small declared dimension
])
def test_a_dimension_bomb_is_an_unreadable_file_and_the_rest_loads(tmp_path: Path, dimension, far, says) -> None:
    d = _good(tmp_path / "d")
    bomb = _xlsx(d / "inspectors.xlsx", dimension, INSPECTOR_ROWS, far=far)
    assert bomb.stat().st_size < 2500  # a small file whose grid is 16,384 x 1,048,576 cells
    home, report = tmp_path / "home", tmp_path / "report.json"
    # in a child process: the old reader aborted the whole process (a Rust panic in the spreadsheet reader)
    p = run_cli("ingest", str(d), "--report", str(report), home=home, check=False)
    assert p.returncode == 0, p.stderr[-2000:]
    rep = json.loads(report.read_text(encoding="utf-8"))
    [bad] = rep["unreadable_files"]
    assert bad["path"] == "inspectors.xlsx" and bad["reason"].startswith("xlsx_too_large:")
    assert says in bad["reason"]
    assert _loaded(home) == (6, 6)
    assert _query(home, "SELECT status, reason LIKE 'xlsx_too_large:%' FROM files WHERE path = 'inspectors.xlsx'") == [
        ("unreadable", True)]


def test_a_zip_bomb_is_refused_from_its_declared_size(tmp_path: Path) -> None:
    d = _good(tmp_path / "d")
    bomb = _xlsx(d / "inspectors.xlsx", "A1:C2", INSPECTOR_ROWS, padding=8 << 20)  # 8 MB of sheet, ~10 KB zipped
    assert bomb.stat().st_size < 64 << 10
    home = tmp_path / "home"
    home.mkdir()
    # the limit comes from the home's settings (default 200 MB): 1 MB here keeps the test fast
    (home / "riskgrade.toml").write_text("xlsx_max_bytes = 1048576\n", encoding="utf-8")
    res = ingest(home, d, today=TODAY)
    [bad] = res.unreadable
    assert bad["path"] == "inspectors.xlsx" and bad["reason"].startswith("xlsx_too_large:")
    assert "limit 1,048,576" in bad["reason"]
    assert _loaded(home) == (6, 6)
    # within the limits, the same sheet is read
    ok = tmp_path / "ok"
    _good(ok)
    _xlsx(ok / "inspectors.xlsx", "A1:C2", INSPECTOR_ROWS)
    res = ingest(tmp_path / "home2", ok, today=TODAY)
    assert not res.unreadable and res.tables["inspectors"].accepted == 1


def test_xlsx_limits_are_settings() -> None:
    from riskgrade.settings import Settings

    s = Settings()
    assert (s.xlsx_max_bytes, s.xlsx_max_rows, s.xlsx_max_columns) == (200 << 20, 2_000_000, 200)


# --------------------------------------------------------------------------- text and headers
def test_rows_in_another_encoding_are_quarantined_and_the_mix_reported(tmp_path: Path) -> None:
    d = _good(tmp_path / "d")
    (d / "entities.csv").unlink()
    rows = [[u, f"历下{i}号餐饮有限公司", "enterprise", "370102", "H6210", "2020-01-05", "active", f"泉城路{i}号"]
            for i, u in enumerate(U)]
    utf8_lines = {1, 4, 5}  # rows (0-based) written in UTF-8 into a GB18030 file
    with open(d / "entities.csv", "wb") as f:
        f.write((",".join(ENTITY_HEADER) + "\r\n").encode("ascii"))
        for i, r in enumerate(rows):
            f.write((",".join(r) + "\r\n").encode("utf-8" if i in utf8_lines else "gb18030"))
    home = tmp_path / "home"
    res = ingest(home, d, today=TODAY)
    ent = res.tables["entities"]
    assert (ent.read, ent.accepted, ent.quarantined) == (6, 3, 3)
    assert dict(ent.by_reason) == {"bad_encoding": 3}
    assert res.as_dict()["mixed_encodings"] == [
        {"path": "entities.csv", "encoding": "gb18030", "note": "3 rows not GB18030 (UTF-8)", "rows": 3}]
    # the GB18030 rows are stored as they were written, never as mojibake
    names = {n for (n,) in _query(home, "SELECT name FROM entities")}
    assert names == {f"历下{i}号餐饮有限公司" for i in range(6) if i not in utf8_lines}
    # nothing is lost: the quarantine keeps each UTF-8 row, decoded in its own encoding, with its line
    q = _query(home, "SELECT line, raw FROM quarantine WHERE reason = 'bad_encoding' ORDER BY line")
    assert [line for line, _ in q] == [i + 2 for i in sorted(utf8_lines)]
    assert all(f"历下{i}号餐饮有限公司" in text for (_, text), i in zip(q, sorted(utf8_lines)))
    assert _query(home, "SELECT encoding, reason FROM files WHERE path = 'entities.csv'") == [
        ("gb18030", "3 rows not GB18030 (UTF-8)")]
    # the events of the stored entities load (those of the quarantined ones are unattributed)
    assert res.tables["events"].accepted == 3


def test_a_gb18030_file_with_short_words_is_not_a_mix(tmp_path: Path) -> None:
    d = _good(tmp_path / "d")  # 食品 in GB18030 (CA B3 C6 B7) is also valid UTF-8
    text = (d / "events.csv").read_text(encoding="utf-8")
    (d / "events.csv").write_bytes(text.encode("gb18030"))
    res = ingest(tmp_path / "home", d, today=TODAY)
    assert res.tables["events"].accepted == 6 and "mixed_encodings" not in res.as_dict()


def test_a_duplicate_header_is_an_unreadable_file_and_the_rest_loads(tmp_path: Path) -> None:
    d = _good(tmp_path / "d")
    write_csv(d / "relations.csv", ["uscc", "party_id", "party_kind", "role", "备注", "备注"],
              [[U[0], "P1", "person", "legal_rep", "a", "b"]])
    write_csv(d / "entities-more.csv", [*ENTITY_HEADER, "名称"],  # name and its Chinese alias
              [[*make_usccs(1, start=50), "x", "enterprise", "370102", "", "2020-01-01", "", "", "y"]])
    home = tmp_path / "home"
    res = ingest(home, d, today=TODAY)
    reasons = {u["path"]: u["reason"] for u in res.unreadable}
    assert set(reasons) == {"relations.csv", "entities-more.csv"}
    assert all(r.startswith("duplicate_header:") for r in reasons.values())
    assert "备注" in reasons["relations.csv"]
    assert _loaded(home) == (6, 6)


def test_non_finite_amounts_are_quarantined(tmp_path: Path) -> None:
    d = _good(tmp_path / "d")
    bad = ["1e309", "inf", "NaN", "-inf", "-Infinity", "nan"]
    write_csv(d / "events-fines.csv", EVENT_HEADER,
              [[f"f{i}", U[0], "admin_penalty", "2025-06-01", "", "市场监管局", "fine", a, ""] for i, a in enumerate(bad)]
              + [["f-ok", U[0], "admin_penalty", "2025-07-01", "", "市场监管局", "fine", "-5,000.50", ""]])
    # typed Parquet doubles too
    pq.write_table(pa.table({"record_id": ["p1", "p2"], "uscc": [U[1], U[1]], "event_type": ["admin_penalty"] * 2,
                             "event_date": [dt.date(2025, 6, 1)] * 2, "source": ["市场监管局"] * 2,
                             "detail": ["fine"] * 2, "amount": pa.array([float("nan"), 3000.0], pa.float64())}),
                   d / "events-typed.parquet")
    home = tmp_path / "home"
    res = ingest(home, d, today=TODAY)
    ev = res.tables["events"]
    assert ev.by_reason["bad_amount"] == len(bad) + 1
    assert ev.accepted == 6 + 1 + 1
    amounts = _query(home, "SELECT amount FROM events WHERE amount IS NOT NULL ORDER BY amount")
    assert amounts == [(-5000.5,), (1.0,), (1.0,), (1.0,), (1.0,), (1.0,), (1.0,), (3000.0,)]
    q = _query(home, "SELECT line, raw FROM quarantine WHERE reason = 'bad_amount' AND file = 'events-fines.csv' "
                     "ORDER BY line")
    assert [line for line, _ in q] == list(range(2, 2 + len(bad)))
    assert all(f",{a}," in text for (_, text), a in zip(q, bad))


def test_the_reason_codes_are_in_the_contract_and_the_docs() -> None:
    from riskgrade import contract

    docs = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text(encoding="utf-8")
    for code in ("bad_encoding", "bad_amount"):
        assert code in contract.REASONS and f"`{code}`" in docs
    for code in ("duplicate_header", "xlsx_too_large"):
        assert code in contract.FILE_REASONS and f"`{code}`" in docs
    order = list(contract.REASONS)
    assert order.index("bad_number") < order.index("bad_amount")
