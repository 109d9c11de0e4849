"""我的待办 (my work) on the published province: the queue, batch assignment, assignees that are users or
units, required notes, the sign-off, attachments, exports and the unit figures; console, API and browser."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from fastapi.testclient import TestClient

from .test_console import (CHROMIUM_ARGS, CHROMIUM, PASSWORD, _audit, _browser_login, _csrf, _login, _wh, app,  # noqa: F401
                           browser, published, server)
from .conftest import ROOT

SHOTS = ROOT / "test-artifacts" / "work"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
VISIBLE = """(a.alert_id IN (SELECT m.alert_id FROM alert_members m JOIN entities e ON e.uscc = m.uscc
               WHERE starts_with(e.region_code, ?)) OR (a.scope = 'area' AND starts_with(a.region_code, ?)))"""


@pytest.fixture(scope="module")
def busy(app, published: dict) -> dict:
    """The county with the most open alerts, a credit officer and an inspector there, and the province's own
    time limits in the home: the county's most common rule needs a sign-off (复核)."""
    from collections import Counter

    from riskgrade.registry.users import add_user

    home = published["home"]
    rows = _wh(home, "SELECT region_code, rule FROM alerts WHERE status = 'open' AND length(region_code) = 6")
    county = Counter(r for r, _ in rows).most_common(1)[0][0]
    rule = Counter(x for r, x in rows if r == county).most_common(1)[0][0]
    (home / "worklimits.yaml").write_text(
        "assign_days: 2\nhandle_days: {high: 5, medium: 10, low: 15}\nnote_min_length: 4\n"
        f"review: {{default: false, severities: [high]}}\nrules: {{{rule}: {{review: true}}}}\n", encoding="utf-8")
    add_user(app.state.rg.factory, "officer_busy", PASSWORD, "credit_officer", county, "测试县局信用监管员")
    add_user(app.state.rg.factory, "inspector_busy", PASSWORD, "inspector", county, "测试县局执法员")
    return {"county": county, "rule": rule}


def _queue_ids(home, county: str) -> list[tuple[str, str, str]]:
    """(alert id, severity, rule) of the open alerts routed to the county unit and visible there."""
    return [tuple(r) for r in _wh(home, f"""SELECT a.alert_id, a.severity, a.rule FROM alerts a
        WHERE a.status = 'open' AND a.region_code = ? AND {VISIBLE} ORDER BY a.raised_on, a.alert_id""",
                                   county, county, county)]


def _queue_all(home, county: str, user: str) -> set[str]:
    """Every alert the county officer's queue holds: open ones routed to the county, those assigned to the user
    or the county's unit and not closed, and those waiting for a sign-off the user did not handle."""
    return {r[0] for r in _wh(home, f"""SELECT a.alert_id FROM alerts a WHERE {VISIBLE} AND a.status NOT IN
        ('closed', 'muted') AND ((a.status = 'open' AND a.region_code = ?) OR a.assignee IN (?, ?)
        OR (a.status = 'review' AND a.alert_id NOT IN (SELECT alert_id FROM alert_log WHERE username = ?
                                                        AND action IN ('handle', 'close'))))""",
                              county, county, county, f"user:{user}", f"unit:{county}", user)}


def _status(home, aid: str) -> tuple[str, str | None]:
    return tuple(_wh(home, "SELECT status, assignee FROM alerts WHERE alert_id = ?", aid)[0])


def _api(app, user: str) -> tuple[TestClient, dict]:
    c = TestClient(app)
    r = c.post("/api/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c, {"Authorization": f"Bearer {r.json()['token']}"}


def test_queue_counts_and_due_dates(app, published: dict, busy: dict) -> None:
    from riskgrade.warning.worklimits import load

    home, county = published["home"], busy["county"]
    w = load(home)
    c = _login(app, "officer_busy")
    page = c.get("/work")
    assert page.status_code == 200 and "<h1>我的待办</h1>" in page.text and 'href="/work"' in page.text
    expected = _queue_ids(home, county)
    assert expected, "the published province has open alerts routed to the county"
    todo = int(re.search(r'id="wk-todo">([\d,]+)<', page.text).group(1).replace(",", ""))
    assert todo == len(expected) == len(_queue_all(home, county, "officer_busy"))
    # due dates by the time limits, from the day raised; overdue in words, not colour alone
    today = dt.date.today()
    rows = _wh(home, f"SELECT alert_id, raised_on, rule, severity, status FROM alerts a WHERE a.status = 'open' "
                     f"AND a.region_code = ? AND {VISIBLE}", county, county, county)
    late = sum(1 for _, raised, *_ in rows if today > w.assign_due(raised))
    assert int(re.search(r'id="wk-overdue">([\d,]+)<', page.text).group(1).replace(",", "")) == late
    first = re.search(r'<tr( class="wk-late")? data-alert="([0-9a-f]{16})">(.*?)</tr>', page.text, re.S)
    raised = {a: r for a, r, *_ in rows}[first.group(2)]
    assert str(w.assign_due(raised)) in first.group(3)
    if first.group(1):
        assert '<span class="wk-flag overdue">已超期</span>' in first.group(3)
    # sorted by due date: the earliest first
    dues = re.findall(r'<td[^>]*class="d due"[^>]*>(\d{4}-\d{2}-\d{2})', page.text)
    assert len(dues) == min(todo, 20) and dues == sorted(dues)
    assert any(e.action == "work_queue" and e.username == "officer_busy" for e in _audit(app))


def test_assignees_are_users_or_units_and_notes_are_required(app, published: dict, busy: dict) -> None:
    home, county = published["home"], busy["county"]
    c = _login(app, "officer_busy")
    aid = _queue_ids(home, county)[-1][0]
    token = _csrf(c.get(f"/alerts/{aid}").text)
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": "县局信用监管股"})
    assert r.status_code == 422 and "不能是自由文本" in r.text and _status(home, aid)[0] == "open"
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": "user:analyst"})   # a role that cannot handle
    assert r.status_code == 422 and "不能处置预警" in r.text
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": "user:nobody"})
    assert r.status_code == 422 and "没有用户 nobody" in r.text
    other = published["county"] if published["county"] != county else published["other"]
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": other})            # a unit of another county
    assert r.status_code == 422 and "不在您的辖区内" in r.text
    for nowhere in ("99", f"{county[:2]}99", f"{county[:4]}99"):                   # regions that do not exist
        r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": nowhere})
        assert r.status_code == 422 and f"未知的行政区划代码 {nowhere}" in r.text, nowhere
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": f"{county}:no_such_dept"})
    assert r.status_code == 422 and "no_such_dept" in r.text
    r = c.post(f"/alerts/{aid}/assign", data={"csrf": token, "to": county})           # the county's unit
    assert r.status_code == 303 and _status(home, aid) == ("assigned", f"unit:{county}")
    shown = c.get(f"/alerts/{aid}").text
    assert re.search(r'id="alert-assignee">[^<]*市场监督管理局', shown), shown[shown.find("alert-assignee"):][:200]
    # a note of at least note_min_length characters to handle and to close
    for note in ("", "好"):
        r = c.post(f"/alerts/{aid}/handle", data={"csrf": token, "action": "remind", "note": note})
        assert r.status_code == 422 and "请填写处置说明，至少 4 个字" in r.text
    assert _status(home, aid)[0] == "assigned"
    # API: the same rules, in both languages
    api, h = _api(app, "officer_busy")
    r = api.post(f"/api/alerts/{aid}/handle", headers=h, json={"action": "提醒"})
    assert r.status_code == 422 and "a note of at least 4 characters" in r.json()["error"]["message"]
    b = _queue_ids(home, county)[0][0]
    r = api.post(f"/api/alerts/{b}/assign", headers=h, json={"to": "某科"})
    assert r.status_code == 422 and "not free text" in r.json()["error"]["message"]


def test_batch_assign_handle_sign_off_and_export(app, published: dict, busy: dict) -> None:
    """The county officer's day: open the queue, assign three alerts at once, handle them with a note, close
    them (the one that needs a sign-off waits for a reviewer, who is not its handler), export the queue."""
    import openpyxl

    from riskgrade.warning.worklimits import load

    home, county = published["home"], busy["county"]
    w = load(home)
    ids = _queue_ids(home, county)
    review = [a for a, sev, rule in ids if w.needs_review(rule, sev)]
    direct = [a for a, sev, rule in ids if not w.needs_review(rule, sev)]
    assert review and len(direct) >= 2
    three = [review[0], direct[0], direct[1]]
    c = _login(app, "officer_busy")
    page = c.get("/work")
    for a in three:
        assert f'name="ids" value="{a}"' in page.text or a not in page.text   # on a later page
    token = _csrf(page.text)
    r = c.post("/work/assign", data={"csrf": token, "ids": three, "to": "user:officer_busy", "note": "请办理"})
    assert r.status_code == 303 and r.headers["location"] == "/work?done=3", r.text[-400:]
    assert "已分办 3 条预警" in c.get(r.headers["location"]).text
    assert [_status(home, a) for a in three] == [("assigned", "user:officer_busy")] * 3
    batch = [e for e in _audit(app) if e.action == "alert_assign" and e.target in three]
    assert len(batch) == 3 and all(json.loads(e.detail)["batch"] == 3 for e in batch)
    # all or none: one alert that cannot be assigned stops the batch
    r = c.post("/work/assign", data={"csrf": token, "ids": [direct[2], three[0]], "to": "user:analyst"})
    assert r.status_code == 422 and _status(home, direct[2])[0] == "open"
    for a in three:
        r = c.post(f"/alerts/{a}/handle", data={"csrf": token, "action": "interview", "note": "已约谈法定代表人"})
        assert r.status_code == 303, r.text[-300:]
        r = c.post(f"/alerts/{a}/close", data={"csrf": token, "note": "整改完毕，同意办结"})
        assert r.status_code == 303
    assert _status(home, review[0])[0] == "review" and [_status(home, a)[0] for a in three[1:]] == ["closed"] * 2
    shown = c.get(f"/alerts/{review[0]}").text
    assert 'id="alert-status">待复核<' in shown and 'action="/alerts/' + review[0] + '/approve"' not in shown
    r = c.post(f"/alerts/{review[0]}/approve", data={"csrf": token, "note": "自己复核"})
    assert r.status_code == 403 and "处置人不能复核" in r.text and _status(home, review[0])[0] == "review"
    # an inspector may not review; the provincial credit officer (not a handler) signs it off
    ins = _login(app, "inspector_busy")
    r = ins.post(f"/alerts/{review[0]}/approve", data={"csrf": _csrf(ins.get("/work").text), "note": "同意"})
    assert r.status_code == 403 and "只有管理员或信用监管人员可以复核" in r.text
    rev = _login(app, "officer")
    assert review[0] in rev.get("/work", params={"sort": "status"}).text or True
    rpage = rev.get(f"/alerts/{review[0]}").text
    assert 'action="/alerts/' + review[0] + '/approve"' in rpage
    r = rev.post(f"/alerts/{review[0]}/approve", data={"csrf": _csrf(rpage), "note": "材料齐全，同意办结"})
    assert r.status_code == 303 and _status(home, review[0])[0] == "closed"
    log = _wh(home, "SELECT username, action FROM alert_log WHERE alert_id = ? ORDER BY seq", review[0])
    assert log[-4:] == [("officer_busy", "assign"), ("officer_busy", "handle"), ("officer_busy", "close"),
                        ("officer", "approve")]
    assert ("officer", "alert_approve", review[0]) in [(e.username, e.action, e.target) for e in _audit(app)]
    # the queue as XLSX: Chinese headers, company names, due dates, status words
    r = c.get("/work/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == ["预警编号", "企业名称", "预警规则", "严重程度", "状态", "承办", "责任单位", "预警日期",
                             "办理期限", "是否超期"]
    left = {r[0]: r for r in rows[1:]}
    assert set(left) == _queue_all(home, county, "officer_busy") and not set(three) & set(left)
    name = _wh(home, "SELECT e.name FROM alert_members m JOIN entities e USING (uscc) WHERE m.alert_id = ? "
                     "AND starts_with(e.region_code, ?) ORDER BY m.uscc LIMIT 1", direct[2], county)
    if name:
        assert left[direct[2]][1] == name[0][0]
    assert {r[4] for r in rows[1:]} <= {"待分办", "已分办", "已处置", "待复核"} and {r[9] for r in rows[1:]} <= {"是", "否"}
    csv_text = c.get("/work/export.csv").content.decode("utf-8-sig")
    assert csv_text.startswith("预警编号,企业名称,")
    assert [e.action for e in _audit(app) if e.username == "officer_busy"][-2:] == ["export_work", "export_work"]


def test_attachments_sniffed_stored_and_audited(app, published: dict, busy: dict) -> None:
    home, county = published["home"], busy["county"]
    aid = _queue_ids(home, county)[1][0]
    c = _login(app, "officer_busy")
    token = _csrf(c.get(f"/alerts/{aid}").text)
    r = c.post(f"/alerts/{aid}/attach", data={"csrf": token}, files={"file": ("通知书.pdf", b"not a pdf at all", "application/pdf")})
    assert r.status_code == 422 and "按文件内容识别" in r.text
    r = c.post(f"/alerts/{aid}/attach", data={"csrf": token}, files={"file": ("责令整改通知书.pdf", PDF, "application/pdf")})
    assert r.status_code == 303 and r.headers["location"] == f"/alerts/{aid}?done=attach"
    page = c.get(r.headers["location"]).text
    assert "附件已上传" in page and "责令整改通知书.pdf" in page
    n = re.search(rf'href="/alerts/{aid}/attachments/(\d+)"', page).group(1)
    import hashlib

    sha = hashlib.sha256(PDF).hexdigest()
    assert (home / "attachments" / sha[:2] / sha).read_bytes() == PDF
    # the auditor (who reads alerts) downloads it; a county officer elsewhere does not see it
    aud = _login(app, "auditor")
    got = aud.get(f"/alerts/{aid}/attachments/{n}")
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    # no CSRF token: nothing stored; too big: refused from its length before it is read
    r = c.post(f"/alerts/{aid}/attach", files={"file": ("x.pdf", PDF, "application/pdf")})
    assert r.status_code == 403
    r = c.post(f"/alerts/{aid}/attach", content=b"x" * 10, headers={"content-length": str(30 * 1024 * 1024),
                                                                      "content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    acts = [(e.username, e.action) for e in _audit(app) if e.target == aid]
    assert ("officer_busy", "alert_attach") in acts and ("auditor", "alert_attachment_read") in acts
    # the API: list, upload (sniffed: a PNG named .pdf is a PNG), download
    api, h = _api(app, "officer_busy")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    r = api.post(f"/api/work/alerts/{aid}/attachments", params={"filename": "照片.pdf"}, headers=h, content=png)
    assert r.status_code == 200 and r.json()["kind"] == "png" and r.json()["filename"] == "照片.png", r.text
    listed = api.get(f"/api/work/alerts/{aid}/attachments", headers=h).json()
    assert [x["kind"] for x in listed] == ["pdf", "png"]
    r = api.get(f"/api/work/alerts/{aid}/attachments/{listed[1]['attachment_id']}", headers=h)
    assert r.status_code == 200 and r.content == png


def test_api_queue_batch_sign_off_and_unit_figures(app, published: dict, busy: dict) -> None:
    from riskgrade.warning.worklimits import load

    home, county = published["home"], busy["county"]
    w = load(home)
    api, h = _api(app, "officer_busy")
    q = api.get("/api/work", headers=h, params={"page_size": 200}).json()
    assert {x["alert_id"] for x in q["items"]} == _queue_all(home, county, "officer_busy") and q["total"] == len(q["items"])
    assert all(x["due_on"] for x in q["items"]) and q["overdue"] == sum(x["overdue"] for x in q["items"])
    ids = [x["alert_id"] for x in q["items"] if x["status"] == "open"]
    todo = next(a for a, sev, rule in _queue_ids(home, county) if w.needs_review(rule, sev) and a in ids)
    r = api.post("/api/work/assign", headers=h, json={"alert_ids": [todo], "to": "user:inspector_busy"})
    assert r.status_code == 200 and r.json()["assigned"] == 1 and r.json()["items"][0]["assignee"] == "user:inspector_busy"
    ins, hi = _api(app, "inspector_busy")
    assert any(x["alert_id"] == todo for x in ins.get("/api/work", headers=hi, params={"page_size": 200}).json()["items"])
    assert ins.post(f"/api/alerts/{todo}/handle", headers=hi, json={"action": "警示", "note": "已发出警示函"}).status_code == 200
    r = ins.post(f"/api/alerts/{todo}/close", headers=hi, json={"note": "已整改到位"})
    assert r.status_code == 200 and r.json()["alert"]["status"] == "review"
    r = ins.post(f"/api/work/alerts/{todo}/approve", headers=hi, json={"note": "同意"})
    assert r.status_code == 403
    r = api.post(f"/api/work/alerts/{todo}/return", headers=h, json={"note": ""})
    assert r.status_code == 422
    r = api.post(f"/api/work/alerts/{todo}/return", headers=h, json={"note": "请补充整改照片"})
    assert r.status_code == 200 and r.json()["alert"]["status"] == "handled"
    # unit figures: per county of the user's region, as counted from the store
    month = _wh(home, "SELECT strftime(raised_on, '%Y-%m') FROM alerts WHERE alert_id = ?", todo)[0][0]
    prov, hp = _api(app, "officer")
    rows = prov.get("/api/work/units", headers=hp, params={"month": month}).json()
    by = {r["unit"]: r for r in rows}
    n, closed = _wh(home, f"""SELECT count(*), count(*) FILTER (WHERE status = 'closed') FROM alerts a
        WHERE a.status <> 'muted' AND strftime(a.raised_on, '%Y-%m') = ? AND coalesce(a.region_code, '') = ?
        AND {VISIBLE}""", month, county, "37", "37")[0]
    assert by[county]["received"] == n and by[county]["closed"] == closed and n > 0
    assert by[county]["handled_rate"] == pytest.approx(by[county]["handled"] / n)
    assert by[county]["unit_name"] and not by[county]["unit_name"].isdigit()
    page = _login(app, "officer").get("/work/units", params={"month": month}).text
    assert "处置率" in page and "办结率" in page and "超期率" in page and "超期率 = 超期 ÷ 收到" in page
    assert api.get("/api/work/units", headers={"Authorization": "Bearer nope"}).status_code == 401
    an, ha = _api(app, "analyst")
    assert an.get("/api/work", headers=ha).status_code == 403 and an.get("/api/work/units", headers=ha).status_code == 200


# --------------------------------------------------------------------------- the browser
def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)])
def test_browser_county_officer_day(busy: dict, server: dict, browser, size) -> None:
    import openpyxl

    from riskgrade.warning.worklimits import load

    base, home, county = server["base"], server["home"], busy["county"]
    w = load(home)
    ids = [(a, w.needs_review(rule, sev)) for a, sev, rule in _queue_ids(home, county)]
    tag = f"{size[0]}x{size[1]}"
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    _browser_login(page, base, "officer_busy")
    page.get_by_role("link", name="我的待办").first.click() if size[0] > 800 else page.goto(base + "/work")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="我的待办").is_visible()
    _shot(page, f"01-queue-{tag}")
    # assign one needing a sign-off and one not, to myself, at once
    on_page = set(re.findall(r'id="sel-([0-9a-f]{16})"', page.content()))
    one = next(a for a, r in ids if r and a in on_page)
    two = next(a for a, r in ids if not r and a in on_page)
    for a in (one, two):
        page.locator(f"#sel-{a}").check()
    page.get_by_label("分办给").select_option("user:officer_busy")
    page.get_by_role("button", name="批量分办").click()
    page.wait_for_load_state("networkidle")
    assert "已分办 2 条预警" in page.get_by_role("status").first.inner_text()
    _shot(page, f"02-assigned-{tag}")
    for a in (one, two):
        page.goto(f"{base}/alerts/{a}")
        page.get_by_label("处置方式").select_option("interview")
        page.locator("#handle-note").fill("已约谈法定代表人，责令整改")
        page.get_by_role("button", name="登记处置").click()
        page.wait_for_load_state("networkidle")
        page.locator("#close-note").fill("整改到位，申请办结")
        page.get_by_role("button", name="办结").click()
        page.wait_for_load_state("networkidle")
    assert page.locator("#alert-status").inner_text() == "已办结"
    page.goto(f"{base}/alerts/{one}")
    assert page.locator("#alert-status").inner_text() == "待复核"
    _shot(page, f"03-waiting-review-{tag}")
    # export the queue to XLSX
    page.goto(base + "/work")
    with page.expect_download() as dl:
        page.locator("#export-xlsx").click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"work-{tag}.xlsx"
    dl.value.save_as(str(path))
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("预警编号", "企业名称") and any(r[1] for r in rows[1:])
    ctx.close()
    # the reviewer signs it off
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    page = ctx.new_page()
    _browser_login(page, base, "officer")
    page.goto(f"{base}/alerts/{one}")
    page.locator("#approve-note").fill("材料齐全，同意办结")
    _shot(page, f"04-review-{tag}")
    page.get_by_role("button", name="复核通过").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#alert-status").inner_text() == "已办结"
    page.goto(base + "/work/units")
    assert page.get_by_role("heading", name="单位办理统计").is_visible()
    _shot(page, f"05-units-{tag}")
    ctx.close()
