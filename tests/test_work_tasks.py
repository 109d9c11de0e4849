"""Issue 19 leftovers on the published province: template rows left blank are skipped, not rejected (API, CLI,
console); 随机种子 and 入样概率 explained in plain words on the plan pages; a plan drawn by `riskgrade plan` from
the simulated inspector directory shows in the inspectors' 我的待办."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from .conftest import ROOT, run_cli
from .test_console import (CHROMIUM, CHROMIUM_ARGS, PASSWORD, _audit, _browser_login, _csrf, _login, _wh,  # noqa: F401
                           app, browser, published, server)

SHOTS = ROOT.parent / "shots" / "hcli" if (ROOT.parent / "shots").exists() else ROOT / "test-artifacts" / "hcli"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _api(app, user: str) -> tuple[TestClient, dict]:
    c = TestClient(app)
    r = c.post("/api/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c, {"Authorization": f"Bearer {r.json()['token']}"}


# --------------------------------------------------------------------------- 2. blank template rows
def _template(api: TestClient, h: dict):
    import openpyxl

    r = api.get("/api/plans/1/results/template", headers=h)
    assert r.status_code == 200, r.text[:300]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["统一社会信用代码", "主体名称（仅供核对，不导入）", "检查日期", "检查结果",
                                        "检查人员", "备注"]
    n = sum(1 for row in ws.iter_rows(min_row=2, values_only=True) if row[0])
    assert n >= 4, "the county has at least four drawn entities"
    return wb, ws, n


def _bytes(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_blank_template_rows_are_skipped_not_rejected_api(app, published: dict) -> None:
    api, h = _api(app, "inspector_county")
    wb, ws, n = _template(api, h)
    full, half = ws.cell(2, 1).value, ws.cell(3, 1).value
    ws.cell(2, 3).value, ws.cell(2, 4).value = dt.date(2026, 10, 21), "发现问题待后续处理"  # a whole result
    ws.cell(3, 3).value = dt.date(2026, 10, 21)                                         # a date, no result
    assert any(ws.cell(r, 5).value for r in range(4, n + 2))  # rows with pre-filled inspectors are still blank
    r = api.post("/api/plans/1/results", headers={**h, "Content-Type": XLSX}, content=_bytes(wb))
    assert r.status_code == 200, r.text[:600]
    out = r.json()
    assert (out["accepted"], out["rejected"], out["skipped"], out["read"]) == (1, 1, n - 2, n)
    assert [(x["line"], x["column"], x["code"]) for x in out["rejections"]] == [(3, "result", "empty")]
    assert _wh(published["home"], "SELECT uscc, detail FROM events WHERE source = 'results:plan-1' "
                                  "AND event_date = DATE '2026-10-21'") == [(full, "problem")]
    kept = _wh(published["home"], "SELECT status, count(*) FROM results_rows WHERE upload_id = ? GROUP BY 1 ORDER BY 1",
               out["upload_id"])
    assert kept == [("accepted", 1), ("rejected", 1), ("skipped", n - 2)]   # every line kept, none lost
    assert half not in {u for (u,) in _wh(published["home"], "SELECT uscc FROM plan_results WHERE plan_id = 1")}
    e = [x for x in _audit(app) if x.action == "upload_results" and x.username == "inspector_county"][-1]
    assert f'"skipped": {n - 2}' in e.detail or f'"skipped":{n - 2}' in e.detail
    # a template sent back as downloaded: nothing to import, said in words, not a list of rejected lines
    wb, ws, n = _template(api, h)
    r = api.post("/api/plans/1/results", headers={**h, "Content-Type": XLSX}, content=_bytes(wb))
    assert r.status_code == 422 and f"未填写结果，已跳过 {n} 行" in r.json()["error"]["message"], r.text[:400]


def test_blank_template_rows_are_skipped_in_the_console(app, published: dict) -> None:
    api, h = _api(app, "inspector_county")
    wb, ws, n = _template(api, h)
    ws.cell(2, 3).value, ws.cell(2, 4).value = dt.date(2026, 10, 22), "未发现问题"
    ws.cell(3, 6).value = "企业负责人不在"                                                 # notes only: rejected
    c = _login(app, "inspector_county")
    token = _csrf(c.get("/plans/1/results").text)
    r = c.post("/plans/1/results", data={"csrf": token}, files={"file": ("结果.xlsx", _bytes(wb), XLSX)})
    assert r.status_code == 200, r.text[-600:]
    assert f"未填写结果，已跳过 {n - 2} 行" in r.text and f'data-skipped="{n - 2}"' in r.text
    rej = re.findall(r'<tr data-code="(\w+)"><td>(\d+)</td>', r.text)
    assert rej == [("empty", "3")]                                 # the half-filled row, with its line
    wb, ws, n = _template(api, h)
    r = c.post("/plans/1/results", data={"csrf": token}, files={"file": ("空.xlsx", _bytes(wb), XLSX)})
    assert r.status_code == 422 and f"未填写结果，已跳过 {n} 行" in r.text
    r = c.post("/plans/1/results?lang=en", data={"csrf": token}, files={"file": ("empty.xlsx", _bytes(wb), XLSX)})
    assert r.status_code == 422 and f"{n} rows without a result were skipped" in r.text


def test_blank_template_rows_are_skipped_on_the_command_line(app, published: dict, tmp_path) -> None:
    api, h = _api(app, "inspector_county")
    wb, ws, n = _template(api, h)
    ws.cell(4, 3).value, ws.cell(4, 4).value = "2026-10-23", "pass"
    ws.cell(5, 4).value = "未发现问题"                                                      # a result, no date
    f = tmp_path / "结果.xlsx"
    f.write_bytes(_bytes(wb))
    p = run_cli("results", "import", str(f), "--plan", "1", "--rejected", str(tmp_path / "rej.csv"),
                home=published["home"])
    err = " ".join(p.stderr.split())
    assert f"{n} read, 1 accepted" in err and "1 rejected" in err, err
    assert f"{n - 2} rows without a result skipped (未填写结果，已跳过 {n - 2} 行)" in err
    assert "line 5, date" in err
    assert len((tmp_path / "rej.csv").read_text(encoding="utf-8").splitlines()) == 2  # header + the half row
    blank = tmp_path / "blank.xlsx"
    wb, ws, n = _template(api, h)
    blank.write_bytes(_bytes(wb))
    p = run_cli("results", "import", str(blank), "--plan", "1", home=published["home"], check=False)
    assert p.returncode == 1 and f"未填写结果，已跳过 {n} 行" in " ".join(p.stderr.split())


# --------------------------------------------------------------------------- 3. plain words
def test_seed_and_inclusion_probability_are_explained(app, published: dict) -> None:
    c = _login(app, "officer_county")
    zh = c.get("/plans/1").text
    assert re.search(r'id="seed-help">抽签前公开的一个号码：任何人用同一个号码和同一份名单重新抽签，都会抽出同一批企业', zh)
    assert re.search(r'id="prob-help"><strong>入样概率</strong>：这家企业按其信用风险等级被抽中的可能性', zh)
    assert 'aria-describedby="prob-help">入样概率</th>' in zh
    lst = c.get("/plans").text
    assert 'id="seed-help"><strong>随机种子</strong>：抽签前公开的一个号码' in lst
    en = c.get("/plans/1?lang=en").text
    assert "anyone who draws again with the same number and the same list gets the same companies" in en
    assert "how likely this company was to be drawn, given its risk grade" in en


@pytest.mark.slow
def test_plain_words_readable_on_a_phone(server: dict, browser) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = ctx.new_page()
    _browser_login(page, server["base"], "officer_county")
    page.goto(server["base"] + "/plans/1")
    page.wait_for_load_state("networkidle")
    for sel in ("#seed-help", "#prob-help"):
        box = page.locator(sel).bounding_box()
        assert page.locator(sel).is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 390, (sel, box)
        size = page.locator(sel).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 12
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#prob-help").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "plan-plain-words-390.png"))
    ctx.close()


# --------------------------------------------------------------------------- 4. tasks in 我的待办
def _tasks_on(page_html: str) -> set[str]:
    part = page_html[page_html.index('id="h-tasks"'):]
    return set(re.findall(r"<code>([0-9A-Z]{18})</code>", part))


def test_a_plan_drawn_from_the_directory_shows_in_the_inspectors_queue(app, published: dict) -> None:
    from riskgrade.registry.users import add_user

    home = published["home"]
    directory = {i: (n.strip(), u) for i, n, u in _wh(home, "SELECT inspector_id, name, unit_region_code FROM inspectors")}
    rows = _wh(home, "SELECT uscc, region_code, inspectors FROM plan_entities WHERE plan_id = 1 AND inspectors <> ''")
    assert rows and all(re.fullmatch(r"I\d{6}(;I\d{6})*", x) for _, _, x in rows)   # directory ids, not user names
    same = Counter(directory.values())
    named = Counter(i for _, _, ids in rows for i in ids.split(";"))
    iid = next(i for i, _ in named.most_common() if same[directory[i]] == 1)    # a name unique in its unit
    name, unit = directory[iid]
    expected = {u for u, region, ids in rows if iid in ids.split(";") and region.startswith(unit)}
    assert expected
    f = app.state.rg.factory
    add_user(f, "insp_byname", PASSWORD, "inspector", unit, name)
    page = _login(app, "insp_byname").get("/work")
    assert page.status_code == 200 and _tasks_on(page.text) == expected
    api, h = _api(app, "insp_byname")
    got = api.get("/api/work", headers=h).json()["tasks"]
    assert {t["uscc"] for t in got} == expected and {t["plan_id"] for t in got} == {1}
    # an account named by the directory id (any case) is that inspector too
    add_user(f, iid.lower(), PASSWORD, "inspector", unit, "按编号登记")
    assert _tasks_on(_login(app, iid.lower()).get("/work").text) == expected
    # a namesake account in the same unit: the name links nobody (never the wrong person); the id still does
    add_user(f, "insp_namesake", PASSWORD, "inspector", unit, name)
    assert _tasks_on(_login(app, "insp_byname").get("/work").text) == set()
    assert _tasks_on(_login(app, "insp_namesake").get("/work").text) == set()
    assert _tasks_on(_login(app, iid.lower()).get("/work").text) == expected
    # a namesake elsewhere (another unit) does not count against the match
    from riskgrade.registry.users import update_user

    update_user(f, "insp_namesake", disabled=True)
    other = published["other"] if published["other"] != unit else published["county"]
    add_user(f, "insp_far", PASSWORD, "inspector", other, name)
    assert _tasks_on(_login(app, "insp_byname").get("/work").text) == expected
    assert _tasks_on(_login(app, "insp_far").get("/work").text) == set()
    # a plan waiting for approval (待审批) gives no task
    from riskgrade.registry import approvals
    from riskgrade.registry.models import PlanApproval

    before = api.get("/api/work", headers=h).json()["tasks"]
    assert before
    approvals.request(f, 1, "officer")
    try:
        assert api.get("/api/work", headers=h).json()["tasks"] == []
    finally:
        with f() as s, s.begin():
            s.delete(s.get(PlanApproval, 1))
    assert api.get("/api/work", headers=h).json()["tasks"] == before
