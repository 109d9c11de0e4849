"""The company file and a grade review in headless Chromium at 1366x768 and 390x844: a county officer opens a
company file and proposes a review; the provincial administrator approves it; the officer sees it shown.
Screenshots in test-artifacts/company/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .test_console import (_browser_login, app, browser, published, server)  # noqa: F401 (fixtures)

SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "company"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)])
def test_browser_company_file_review_flow(server: dict, browser, size) -> None:
    base = server["base"]
    w, h = size
    officer = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN").new_page()
    _browser_login(officer, base, "officer_county")
    officer.goto(base + f"/entities?region={server['county']}")
    links = officer.locator("table.list tbody a[href^='/entities/']")
    # a different company for each size (each may have one pending review)
    href = links.nth(0 if w > 1000 else 2).get_attribute("href")
    officer.goto(base + href)
    assert officer.get_by_role("heading", name="登记信息").count() + officer.get_by_role("heading", name="分类复核").count() >= 1
    assert officer.locator("#h-related").is_visible()
    _shot(officer, f"company-file-{w}")
    officer.locator("#to_grade").select_option(index=0)
    officer.locator("#reason").fill("企业已完成信用修复，申请复核")
    officer.get_by_role("button", name="提交复核申请").click()
    officer.wait_for_load_state("networkidle")
    assert "已提交复核申请" in officer.locator("#review").inner_text()
    assert "待复核" in officer.locator("#reviews").inner_text()
    _shot(officer, f"review-proposed-{w}")
    # the provincial administrator approves it from the reviews list
    admin = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN").new_page()
    _browser_login(admin, base, "admin")
    admin.goto(base + "/reviews?state=pending")
    assert admin.locator("#review-counts").inner_text().count("待复核") == 1
    row = admin.locator("#review-list tbody tr", has=admin.locator(f"a[href='{href}']"))
    row.get_by_role("button", name="同意").click()
    admin.wait_for_load_state("networkidle")
    assert re.search(r"已同意复核 \d+", admin.locator("main").inner_text())
    _shot(admin, f"reviews-approved-{w}")
    officer.goto(base + href)
    text = officer.locator("#adjustment").inner_text()
    assert "复核已同意" in text and "将于下次发布时记入分类结果" in text
    assert "已同意" in officer.locator("#reviews").inner_text()
    # the page fits the viewport: nothing wider than the screen outside the tables' own scroll boxes
    assert officer.evaluate("document.documentElement.scrollWidth") <= w + 1
    _shot(officer, f"review-shown-{w}")


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)])
def test_browser_plan_entry_and_printable_notice(server: dict, browser, size) -> None:
    """A county officer enters one entity's result on the plan page and opens its notice and record (A4)."""
    base = server["base"]
    w, h = size
    page = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN").new_page()
    _browser_login(page, base, "officer_county")
    page.goto(base + "/plans/1")
    form = page.locator("form.entry").nth(0 if w > 1000 else 1)
    form.locator("input[type=date]").fill("2026-10-21")
    form.locator("select").select_option(label="发现问题已责令改正")
    form.locator("input[name=note]").fill("当场整改")
    form.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")
    assert "已保存" in page.locator("main").inner_text()
    row = page.locator("tr:target, tr[id^='e-']").filter(has_text="发现问题已责令改正").first
    assert row.count() == 1
    _shot(page, f"plan-entry-{w}")
    # nothing wider than the screen; on a phone each entity is a card: every value under its column's name, the
    # entry form's save button on screen (not in a table scrolled sideways)
    assert page.evaluate("document.documentElement.scrollWidth") <= w + 1
    save = row.get_by_role("button", name="保存").bounding_box()
    assert save and save["x"] >= 0 and save["x"] + save["width"] <= w + 1
    label = page.evaluate("""() => { const td = document.querySelector("tr[id^='e-'] td:nth-child(2)");
                                     return getComputedStyle(td, '::before').content; }""")
    assert (label == '"名称"') if w < 640 else label in ("none", "normal")
    if w >= 640:  # a table on a wide screen: its header over its columns
        assert page.evaluate("""() => { const t = document.querySelector("tr[id^='e-']").closest('table');
            const h = t.querySelector('thead th').getBoundingClientRect(), d = t.querySelector('tbody td')
                .getBoundingClientRect();
            return getComputedStyle(t).display === 'table' && h.left === d.left && h.width === d.width; }""")
    row.get_by_role("link", name="结果记录").click()
    page.wait_for_load_state("networkidle")
    doc = page.locator("#document").inner_text()
    assert "检查结果记录" in doc and "2026-10-21：发现问题已责令改正（当场整改）" in doc
    assert page.evaluate("document.documentElement.scrollWidth") <= w + 1
    _shot(page, f"record-{w}")
    page.go_back()
    page.locator("tr[id^='e-']").filter(has_text="发现问题已责令改正").first.get_by_role("link", name="通知书").click()
    page.wait_for_load_state("networkidle")
    assert "检查通知书" in page.locator("#document").inner_text()
    _shot(page, f"notice-{w}")
