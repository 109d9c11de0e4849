"""Plans in 双随机 practice, on the console's published province: the preview equals the draw (property test),
the wizard with items, period and team, approval (state machine, roles, four eyes, audit, results gated), the
API equivalents, inspectors by name, and a plan drawn from the command line after publishing in the console.
Browser: the wizard and a second user's approval at 1366x768 and 390x844 (screenshots in test-artifacts/plans)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import run_cli
from .test_console import (LATIN_ALLOWED, T2, _RAW_TOKEN, _audit, _browser_login, _csrf, _login, _wh, _words_on,
                           app, browser, published, server)  # noqa: F401

SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "plans"


def _drawn_by_stratum(home: Path, plan_id: int) -> tuple[dict[str, int], int]:
    rows = _wh(home, "SELECT stratum, selection, count(*) FROM plan_entities WHERE plan_id = ? GROUP BY ALL", plan_id)
    return ({s: n for s, sel, n in rows if sel == "random"}, sum(n for _, sel, n in rows if sel == "forced"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.one_of(st.none(), st.integers(0, 400)), optimise=st.booleans(),
       scope=st.sampled_from(["general", "food", "county"]))
def test_preview_equals_the_draw(published: dict, budget: int | None, optimise: bool, scope: str) -> None:
    """For many parameter sets the preview's quota of every stratum is what the draw takes (the bug: the
    preview multiplied each grade by its ratio, ignoring budget, floors, ceilings, forced and recent ones)."""
    from riskgrade.inspection.plan import make_plan, preview, stratum_id
    from riskgrade.inspection.tasks import Task, create_task, list_tasks
    from riskgrade.warehouse import Warehouse

    home = published["home"]
    if optimise and budget is None:
        budget = 50
    as_of = dt.date.fromisoformat(T2)
    task_id, task = None, None
    if scope == "food":
        with Warehouse(home) as wh:
            task = next(t for t in list_tasks(wh.con) if t.domain == "food")
        task_id = task.task_id
    elif scope == "county":  # previewed before it exists, as the wizard does for a new task
        task = Task(None, "县级抽查", "general", published["county"])
    a = preview(home, as_of, task=task, budget=budget, optimise=optimise)
    if scope == "county":
        with Warehouse(home, write=True) as wh, wh.transaction():
            task_id = create_task(wh.con, task).task_id
    out = make_plan(home, as_of, seed="prop", budget=budget, task_id=task_id, optimise=optimise)
    drawn, forced = _drawn_by_stratum(home, out.plan_id)
    want = {stratum_id(g, c): q for (g, c), q in a.quota.items() if q}
    assert drawn == want and forced == a.forced_quota and out.rows == a.total
    assert [ln.drawn for ln in out.grades] == [ln.drawn for ln in a.lines.values()]
    if budget is not None:
        assert a.total <= budget


def _raw_codes(html: str, users: set[str]) -> set[str]:
    """Snake-case codes and English words a zh page shows (outside <code>), as test_console checks them."""
    return {t for t in _RAW_TOKEN.findall(_words_on(html)) if t not in LATIN_ALLOWED and t not in users}


def _wizard_form(c, published: dict, **kw) -> dict:
    token = _csrf(c.get("/plans/new").text)
    return {"csrf": token, "as_of": T2, "task": "new", "new_name": "2026年第四季度食品经营抽查", "new_domain": "food",
            "new_region": "", "new_industry": "", "budget": "40", "seed": "hp-1", "period_start": "2026-10-01",
            "period_end": "2026-12-31", "item:FOOD-01": "1", "item:FOOD-02": "1", "item:GEN-01": "1",
            "team:inspector_county": "1", **kw}


def test_wizard_preview_matches_the_plan_and_approval_flow(app, published: dict) -> None:
    c = _login(app, "officer")
    page = c.get("/plans/new").text
    assert 'name="item:FOOD-01"' in page and "食品经营许可及证照公示检查" in page and "《中华人民共和国食品安全法》" in page
    assert 'type="date" id="period_start"' in page and "测试inspector_county" in page  # inspectors by name
    assert 'name="team:inspector_county"' in page and 'id="new_region"' in page and "<input id=\"new_domain\"" not in page
    form = _wizard_form(c, published)
    # validation: the period, items of another domain, an inspector out of scope
    bad = c.post("/plans/new", data={**form, "period_end": "2026-09-01", "item:DRUG-01": "1", "team:nobody": "1",
                                     "step": "preview"})
    assert bad.status_code == 422 and "检查期间无效" in bad.text and "不属于该抽查领域" in bad.text
    assert "不在您的辖区内" in bad.text
    preview = c.post("/plans/new", data={**form, "step": "preview"})
    assert preview.status_code == 200, preview.text[-500:]
    total = int(re.search(r'id="preview-total" data-total="(\d+)"', preview.text).group(1))
    by_grade = dict(re.findall(r'data-drawn="([A-E])">([\d,]+)<', preview.text))
    assert 0 < total <= 40 and "食品经营许可及证照公示检查" in preview.text and "2026-10-01" in preview.text
    made = c.post("/plans/new", data={**form, "step": "create"})
    assert made.status_code == 303
    pid = int(re.search(r"/plans/(\d+)", made.headers["location"]).group(1))
    drawn = dict(_wh(published["home"], "SELECT grade, count(*) FROM plan_entities WHERE plan_id = ? "
                                       "AND selection = 'random' GROUP BY grade", pid))
    assert sum(n for n, in _wh(published["home"], "SELECT count(*) FROM plan_entities WHERE plan_id = ?", pid)) == total
    assert {g: int(n.replace(",", "")) for g, n in by_grade.items() if n != "0"} == drawn
    plan = c.get(made.headers["location"]).text
    users = set(published["users"])
    assert not _raw_codes(page, users) and not _raw_codes(preview.text, users) and not _raw_codes(plan, users)
    assert "待审批" in plan and "计划已提交审批" in plan and "食品经营许可及证照公示检查" in plan
    assert "2026-10-01 — 2026-12-31" in plan and "测试inspector_county" in plan
    assert 'action="/plans/%d/approval"' % pid not in plan  # the author does not approve
    assert "上传抽查结果" not in plan
    task = json.loads(_wh(published["home"], "SELECT manifest FROM plans WHERE plan_id = ?", pid)[0][0])["task"]
    assert task["check_items"] == "FOOD-01;FOOD-02;GEN-01" and task["period"] == "2026-10-01 .. 2026-12-31"
    # the plan list says it waits
    listing = c.get("/plans").text
    assert re.search(rf'/plans/{pid}".*?待审批', listing, re.S)
    # results and template wait for approval
    insp = _login(app, "inspector_county")
    assert insp.get(f"/api/plans/{pid}/results/template").status_code == 409
    form_page = insp.get(f"/plans/{pid}/results").text
    up = insp.post(f"/plans/{pid}/results", data={"csrf": _csrf(form_page)},
                   files={"file": ("r.csv", b"uscc,date,result\n", "text/csv")})
    assert up.status_code == 422 and "尚未批准生效" in up.text
    # the author may not approve, nor a credit officer, nor through the API
    tok = _csrf(plan)
    r = c.post(f"/plans/{pid}/approval", data={"csrf": tok, "decision": "approve", "note": ""})
    assert r.status_code == 403 and "提交人以外" in r.text
    # an administrator approves, with a note; a second decision is refused
    admin = _login(app, "admin")
    apage = admin.get(f"/plans/{pid}").text
    assert f'action="/plans/{pid}/approval"' in apage
    r = admin.post(f"/plans/{pid}/approval", data={"csrf": _csrf(apage), "decision": "approve", "note": "同意实施"})
    assert r.status_code == 303
    done = admin.get(r.headers["location"]).text
    assert "已批准，计划生效" in done and "已生效" in done and "同意实施" in done and "测试admin" in done
    again = admin.post(f"/plans/{pid}/approval", data={"csrf": _csrf(done), "decision": "reject", "note": "x"})
    assert again.status_code == 409
    assert insp.get(f"/plans/{pid}/results/template").status_code == 200
    log = [e for e in _audit(app) if e.target == str(pid)]
    acts = [(e.action, e.username) for e in log]
    assert ("plan_submit", "officer") in acts and ("plan_approve", "admin") in acts
    assert json.loads(next(e for e in log if e.action == "plan_approve").detail)["note"] == "同意实施"
    refused = [e for e in _audit(app) if e.action == "read_refused" and e.target == f"plan:{pid}"]
    assert any(json.loads(e.detail).get("why") == "own_plan" for e in refused)
    assert any(json.loads(e.detail).get("why") == "plan_draft" for e in refused)


def test_reject_needs_a_note_and_the_api_decides(app, published: dict) -> None:
    c = _login(app, "officer")
    made = c.post("/plans/new", data={**_wizard_form(c, published, seed="hp-2"), "step": "create"})
    pid = int(re.search(r"/plans/(\d+)", made.headers["location"]).group(1))
    admin = _login(app, "admin")
    admin.headers["X-CSRF-Token"] = _csrf(admin.get(f"/plans/{pid}").text)  # the API with the console's session
    c.headers["X-CSRF-Token"] = _csrf(c.get(f"/plans/{pid}").text)
    assert admin.get(f"/api/plans/{pid}/approval").json()["state"] == "draft"
    assert admin.post(f"/api/plans/{pid}/reject", json={"note": ""}).status_code == 422
    assert c.post(f"/api/plans/{pid}/approve", json={"note": ""}).status_code == 403  # the author
    r = admin.post(f"/api/plans/{pid}/reject", json={"note": "抽查事项与任务不符"})
    assert r.status_code == 200 and r.json()["state"] == "rejected" and r.json()["decided_by"] == "admin"
    assert r.json()["team"] == ["inspector_county"] and r.json()["period_start"] == "2026-10-01"
    assert admin.post(f"/api/plans/{pid}/approve", json={"note": ""}).status_code == 409
    page = admin.get(f"/plans/{pid}").text
    assert "已驳回" in page and "抽查事项与任务不符" in page and not _raw_codes(page, set(published["users"]))
    assert any(e.action == "plan_reject" and e.target == str(pid) for e in _audit(app))
    items = admin.get("/api/plans/items", params={"domain": "food"}).json()
    assert items["version"] and {i["code"] for i in items["items"]} >= {"FOOD-01", "FOOD-05"}
    assert all(i["domain"] == "food" for i in items["items"])
    assert _login(app, "analyst").get("/api/plans/items").status_code == 403
    # a plan drawn from the command line before publishing is in force as drawn
    assert admin.get("/api/plans/1/approval").json()["state"] == "in_force"


def test_inspectors_shown_by_name_and_unit(app, published: dict) -> None:
    ids = _wh(published["home"], "SELECT inspectors FROM plan_entities WHERE plan_id = 1 AND inspectors IS NOT NULL "
                                 "ORDER BY uscc LIMIT 1")[0][0].split(";")
    names = dict(_wh(published["home"], f"SELECT inspector_id, name FROM inspectors WHERE inspector_id IN "
                                        f"({', '.join(repr(i) for i in ids)})"))
    page = _login(app, "admin").get("/plans/1").text
    for i in ids:
        assert names[i] in page
    assert not re.search(r"<td[^>]*>[A-Z]?\d{6}[;,]", page)  # no bare inspector ids in the table


def test_a_plan_drawn_from_the_cli_after_publishing_is_in_the_console(app, published: dict) -> None:
    home = published["home"]
    r = run_cli("plan", "--as-of", T2, "--seed", "cli-after", "--budget", "25", "--out",
                str(published["root"] / "late.csv"), home=home)
    assert "copied to the registry" in r.stderr
    pid = max(p for p, in _wh(home, "SELECT plan_id FROM plans"))
    listing = _login(app, "officer").get("/plans").text
    assert f'href="/plans/{pid}"' in listing and "cli-after" in listing
    assert re.search(rf'/plans/{pid}".*?已生效（命令行抽取）', listing, re.S)
    assert any(e.action == "plan_publish" and e.target == str(pid) for e in _audit(app))


# --------------------------------------------------------------------------- the browser
def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)])
def test_browser_wizard_with_items_and_approval(server: dict, browser, size: tuple[int, int]) -> None:
    base, tag = server["base"], f"{size[0]}x{size[1]}"
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    page = ctx.new_page()
    _browser_login(page, base, "officer")
    page.goto(base + "/plans/new")
    page.locator("#as_of").select_option(T2)
    page.locator("#task").select_option("new")
    page.get_by_label("新任务名称").fill(f"食品经营抽查 {tag}")
    page.locator("#new_domain").select_option("food")
    assert page.get_by_label("食品经营许可及证照公示检查").is_visible()
    assert not page.get_by_label("药品经营许可与质量管理规范执行检查").is_visible()  # another domain's items hidden
    page.get_by_label("食品经营许可及证照公示检查").check()
    page.get_by_label("企业公示信息检查").check()
    page.get_by_label("抽查数量上限").fill("30")
    page.get_by_label("随机种子").fill(f"b{size[0]}")
    page.get_by_label("测试inspector_county").check()
    _shot(page, f"wizard-{tag}")
    page.get_by_role("button", name="下一步：预览").click()
    page.wait_for_load_state("networkidle")
    total = int(page.locator("#preview-total").get_attribute("data-total"))
    _shot(page, f"preview-{tag}")
    page.get_by_role("button", name="确认生成计划").click()
    page.wait_for_load_state("networkidle")
    assert "待审批" in page.locator("#approval-h").inner_text()
    assert page.get_by_text("食品经营许可及证照公示检查").first.is_visible()
    plan_url = page.url.split("?")[0]
    assert f"{total}" in page.locator("dl.attrs").last.inner_text()  # drawn: what the preview said
    _shot(page, f"plan-draft-{tag}")
    ctx.close()
    # a second user approves
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    page = ctx.new_page()
    _browser_login(page, base, "admin")
    page.goto(plan_url)
    page.get_by_label("审批意见").fill("同意")
    page.get_by_role("button", name="批准").click()
    page.wait_for_load_state("networkidle")
    assert "已生效" in page.locator("#approval-h").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0] + 1  # no sideways scrolling
    _shot(page, f"plan-approved-{tag}")
    ctx.close()
