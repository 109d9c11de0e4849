"""A county officer's day in the console, in Debian's Chromium, at 1366x768 and 390x844 (issue 19's "done when"):
log in, open 我的待办, handle three alerts (one needs a reviewer's sign-off, given by a second user), draw a plan
with inspection items that an administrator approves, download the results template, fill it in with the
contract's Chinese words and upload it as XLSX, see the problems counted in the plan's 监管效能 and the result on
the company file, propose a grade review there, and export the queue to XLSX.

Every figure is checked against what the test itself did (the results it wrote, the alerts it closed), not
against what the console reports about itself.  Screenshots go to ``test-artifacts/officer-day/``."""

from __future__ import annotations

import re

import pytest

from .conftest import ROOT
from .test_console import T2, _browser_login, app, browser, published, server  # noqa: F401
from .test_work import _queue_ids, busy  # noqa: F401

SHOTS = ROOT / "test-artifacts" / "officer-day"
# the contract's Chinese result words the officer types into the template, and whether each is a problem
WRITTEN = [("发现问题待后续处理", True), ("发现问题已责令改正", True), ("未发现问题", False)]


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "the page scrolls sideways"


def _cells_fit(page, table: str, width: int) -> None:
    """Every cell of the table on screen: on a phone each row is a card (every value under its column's name),
    not a row of a table scrolled sideways."""
    right = page.evaluate("sel => Math.max(0, ...[...document.querySelectorAll(sel + ' td')].map("
                          "td => td.getBoundingClientRect().right))", table)
    assert 0 < right <= width + 1, (table, right)
    label = page.evaluate("sel => getComputedStyle(document.querySelector(sel + ' tbody td'), '::before').content",
                          table)
    assert (label not in ("none", "normal", '""')) if width < 640 else label in ("none", "normal"), label
    if width >= 640:  # a table on a wide screen: its header over its columns
        cols = page.evaluate("""sel => { const t = document.querySelector(sel);
            const box = e => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.width)]; };
            return [getComputedStyle(t).display, [...t.querySelectorAll('thead th')].map(box),
                    [...t.querySelector('tbody tr').querySelectorAll('td')].map(box)]; }""", table)
        assert cols[0] == "table" and cols[1] == cols[2], (table, cols)


def _context(browser, size, **kw):
    return browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN", **kw)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)])
def test_county_officers_day(busy: dict, server: dict, browser, size) -> None:  # noqa: F811
    import openpyxl

    from riskgrade.warning.worklimits import load

    base, home, county, tag = server["base"], server["home"], busy["county"], f"{size[0]}x{size[1]}"
    limits = load(home)
    queue = [(a, limits.needs_review(rule, sev)) for a, sev, rule in _queue_ids(home, county)]

    # ---- morning: the queue, three alerts, one of them needs a sign-off
    ctx = _context(browser, size, accept_downloads=True)
    page = ctx.new_page()
    _browser_login(page, base, "officer_busy")
    page.goto(base + "/work")
    assert page.get_by_role("heading", name="我的待办").is_visible()
    _fits(page, size[0])
    _cells_fit(page, "#work-table", size[0])
    _shot(page, f"01-queue-{tag}")
    for path, table in (("/alerts", "table.alerts"), ("/plans", "main table.list")):
        page.goto(base + path)
        _fits(page, size[0])
        _cells_fit(page, table, size[0])
        _shot(page, f"01-{path.strip('/')}-{tag}")
    # the alerts' filter box: folded on a phone while no filter is chosen (the list comes first), open otherwise
    page.goto(base + "/alerts")
    page.wait_for_load_state("networkidle")
    box = page.locator("#alert-filter-box")
    assert box.evaluate("d => d.open") == (size[0] >= 640)
    if size[0] < 640:  # unfolded with a tap
        page.get_by_text("筛选条件", exact=True).click()
    assert box.evaluate("d => d.open") and page.locator("#f-status").is_visible()
    page.goto(base + "/alerts?status=open")
    page.wait_for_load_state("networkidle")
    assert box.evaluate("d => d.open") and "（已选 1 项）" in box.locator("summary").inner_text()
    page.goto(base + "/work")
    on_page = set(re.findall(r'id="sel-([0-9a-f]{16})"', page.content()))
    needs = [a for a, r in queue if r and a in on_page]
    plain = [a for a, r in queue if not r and a in on_page]
    assert needs and len(plain) >= 2, "the county's queue holds too few alerts for the day"
    three = [needs[0], *plain[:2]]
    for a in three:
        page.locator(f"#sel-{a}").check()
    page.get_by_label("分办给").select_option("user:officer_busy")
    page.get_by_role("button", name="批量分办").click()
    page.wait_for_load_state("networkidle")
    assert "已分办 3 条预警" in page.get_by_role("status").first.inner_text()
    for a in three:
        page.goto(f"{base}/alerts/{a}")
        page.get_by_role("button", name="登记处置").click()  # an empty note is refused
        page.wait_for_load_state("networkidle")
        assert page.locator("#alert-status").inner_text() == "已分办"
        page.get_by_label("处置方式").select_option("remind")
        page.locator("#handle-note").fill("已电话提醒企业负责人，要求按时报送年报")
        page.get_by_role("button", name="登记处置").click()
        page.wait_for_load_state("networkidle")
        page.locator("#close-note").fill("企业已补报，申请办结")
        page.get_by_role("button", name="办结").click()
        page.wait_for_load_state("networkidle")
    _shot(page, f"02-alert-closed-{tag}")
    states = {}
    for a in three:
        page.goto(f"{base}/alerts/{a}")
        states[a] = page.locator("#alert-status").inner_text()
    assert states == {needs[0]: "待复核", plain[0]: "已办结", plain[1]: "已办结"}

    # ---- a plan with inspection items, for the administrator to approve
    page.goto(base + "/plans/new")
    page.locator("#as_of").select_option(T2)
    page.locator("#task").select_option("new")
    page.get_by_label("新任务名称").fill(f"企业公示信息抽查 {tag}")
    page.locator("#new_domain").select_option("general")
    page.get_by_label("企业公示信息检查").check()
    page.get_by_label("抽查数量上限").fill("12")
    page.get_by_label("随机种子").fill(f"day-{tag}")
    page.get_by_label(re.compile("测试县局执法员")).check()
    page.get_by_role("button", name="下一步：预览").click()
    page.wait_for_load_state("networkidle")
    previewed = int(page.locator("#preview-total").get_attribute("data-total"))
    _shot(page, f"03-plan-preview-{tag}")
    page.get_by_role("button", name="确认生成计划").click()
    page.wait_for_load_state("networkidle")
    assert "待审批" in page.locator("#approval-h").inner_text()
    plan_url = page.url.split("?")[0]
    assert previewed > 0 and f"{previewed}" in page.locator("dl.attrs").last.inner_text()  # the preview is the draw
    page.goto(f"{plan_url}/results/template")  # not before approval
    assert "尚未批准生效" in page.locator("main").inner_text()
    ctx.close()

    # ---- the reviewer signs off the alert; the administrator approves the plan
    ctx = _context(browser, size)
    page = ctx.new_page()
    _browser_login(page, base, "officer")
    page.goto(f"{base}/alerts/{needs[0]}")
    assert page.locator("#alert-status").inner_text() == "待复核"
    page.locator("#approve-note").fill("处置材料齐全，同意办结")
    page.get_by_role("button", name="复核通过").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#alert-status").inner_text() == "已办结"
    ctx.close()
    ctx = _context(browser, size)
    page = ctx.new_page()
    _browser_login(page, base, "admin")
    page.goto(plan_url)
    page.get_by_label("审批意见").fill("同意")
    page.get_by_role("button", name="批准").click()
    page.wait_for_load_state("networkidle")
    assert "已生效" in page.locator("#approval-h").inner_text()
    ctx.close()

    # ---- afternoon: the template, filled in with Chinese words, uploaded as XLSX
    ctx = _context(browser, size, accept_downloads=True)
    page = ctx.new_page()
    _browser_login(page, base, "officer_busy")
    page.goto(f"{plan_url}/results")
    with page.expect_download() as dl:
        page.get_by_role("link", name="下载结果模板（Excel）").click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"results-{tag}.xlsx"
    dl.value.save_as(str(path))
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert [c.value for c in ws[1]][:4] == ["统一社会信用代码", "主体名称（仅供核对，不导入）", "检查日期", "检查结果"]
    written = {}
    for row, (word, problem) in zip(range(2, 2 + len(WRITTEN)), WRITTEN):
        uscc = ws.cell(row, 1).value
        assert uscc, "the template lists fewer entities than the day needs"
        ws.cell(row, 3).value, ws.cell(row, 4).value = "2026-10-20", word
        written[uscc] = (word, problem)
    # the entities not inspected today keep their pre-filled rows, left blank: skipped and counted, not rejected
    blank = sum(1 for r in range(2 + len(WRITTEN), ws.max_row + 1) if ws.cell(r, 1).value)
    assert blank > 0, "the template should list more entities than were inspected today"
    wb.save(path)
    page.locator("#file").set_input_files(str(path))
    page.get_by_role("button", name="上传", exact=True).click()
    page.wait_for_load_state("networkidle")
    done = page.get_by_role("status").first.inner_text()
    assert f"接收 {len(WRITTEN)}" in done and "退回 0" in done, done
    assert f"未填写结果，已跳过 {blank} 行" in done, done
    assert int(page.locator("#results-skipped").get_attribute("data-skipped")) == blank
    _shot(page, f"04-results-uploaded-{tag}")

    # ---- counted in the plan's 监管效能, shown on the company file
    page.goto(plan_url)
    summary = page.locator("#eff-summary")
    assert int(summary.get_attribute("data-inspected")) == len(written)
    assert int(summary.get_attribute("data-found")) == sum(p for _, p in written.values())
    page.locator("#effectiveness").scroll_into_view_if_needed()
    _shot(page, f"05-plan-effectiveness-{tag}")
    # one company per screen size: both runs' plans may draw the same entities, and a company has one pending review
    uscc, (word, _) = list(written.items())[0 if size[0] > 1000 else 1]
    page.goto(f"{base}/entities/{uscc}")
    assert word in page.locator("#results").inner_text()

    # ---- a grade review proposed from the company file
    page.locator("#to_grade").select_option(index=0)
    page.locator("#reason").fill("企业对年报逾期情况提出异议，已提交补报证明，申请复核")
    page.get_by_role("button", name="提交复核申请").click()
    page.wait_for_load_state("networkidle")
    assert "待复核" in page.locator("#reviews").inner_text()
    _fits(page, size[0])
    _shot(page, f"06-company-review-{tag}")

    # ---- the queue, exported to Excel for the weekly report
    page.goto(base + "/work")
    with page.expect_download() as dl:
        page.locator("#export-xlsx").click()
    path = SHOTS / f"queue-{tag}.xlsx"
    dl.value.save_as(str(path))
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("预警编号", "企业名称")
    assert all(r[1] for r in rows[1:]), "every row names its company"
    assert not {needs[0], *plain[:2]} & {r[0] for r in rows[1:]}, "closed alerts left the queue"
    ctx.close()
