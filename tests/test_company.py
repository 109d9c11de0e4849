"""The company file (企业档案), grade reviews (申诉/复核), the per-company results entry and the printable
inspection documents, on the console's published province (TestClient)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from .conftest import run_cli
from .test_console import PASSWORD, T2, _audit, _csrf, _login, app, published  # noqa: F401 (fixtures)

NAME = "欧阳明华"


def _entity(app, county: str, *, in_plan: bool = False) -> str:
    """An entity of the county with a published grade (one drawn into plan 1 when ``in_plan``)."""
    from riskgrade.registry.models import Entity, Grade, PlanEntity

    with app.state.rg.factory() as s:
        q = select(Grade.uscc).join(Entity, Entity.uscc == Grade.uscc).where(Entity.region_code == county,
                                                                            Entity.address.is_not(None))
        if in_plan:
            q = q.join(PlanEntity, PlanEntity.uscc == Grade.uscc).where(PlanEntity.plan_id == 1)
        return s.execute(q.order_by(Grade.uscc).limit(1)).scalar_one()


@pytest.fixture(scope="module")
def named(app, published) -> str:
    """A county entity given a legal representative's name, a business scope and an authority (a delivery
    beyond the contract's columns: published into the registry as publish copies them)."""
    from riskgrade.registry.models import Entity

    uscc = _entity(app, published["county"])
    with app.state.rg.factory() as s, s.begin():
        s.execute(update(Entity).where(Entity.uscc == uscc).values(
            legal_rep_name=NAME, business_scope="食品销售；日用百货零售", registration_authority="历下区市场监督管理局"))
    return uscc


def _dd(html: str, dt_text: str) -> str:
    m = re.search(re.escape(dt_text) + r"</dt><dd[^>]*>(.*?)</dd>", html, re.S)
    return re.sub(r"<[^>]+>", "", m.group(1)).strip() if m else ""


def test_company_file_shows_registration_and_masks_the_name_by_role(app, published, named) -> None:
    officer = _login(app, "officer_county").get(f"/entities/{named}").text
    assert _dd(officer, "法定代表人（负责人）") == NAME
    assert "食品销售；日用百货零售" in officer and "历下区市场监督管理局" in officer
    assert _dd(_login(app, "inspector_county").get(f"/entities/{named}").text, "法定代表人（负责人）") == NAME
    domain = _login(app, "domain").get(f"/entities/{named}").text
    assert _dd(domain, "法定代表人（负责人）") == "欧*** （姓名已脱敏）" and NAME not in domain
    assert "关联企业" in officer and "同一住所" in officer and "同一联系电话" in officer
    # the pseudonymous ids stay behind pii.read: masked for a credit officer
    assert "（已脱敏）" in _dd(officer, "法定代表人标识") or _dd(officer, "法定代表人标识") == "—"
    view = [a for a in _audit(app) if a.action == "view_profile" and a.target == named]
    assert {json.loads(a.detail)["legal_rep_name"] for a in view} == {"shown", "masked"}


def test_related_companies_share_the_address_with_their_grades(app, published) -> None:
    from riskgrade.registry.models import Entity
    from sqlalchemy import func

    with app.state.rg.factory() as s:
        addr, n = s.execute(select(Entity.address, func.count()).where(Entity.address.is_not(None))
                            .group_by(Entity.address).having(func.count() > 1).order_by(func.count().desc())
                            .limit(1)).one()
        usccs = s.execute(select(Entity.uscc).where(Entity.address == addr).order_by(Entity.uscc)).scalars().all()
    page = _login(app, "officer").get(f"/entities/{usccs[0]}").text
    block = page.split('id="related-address"')[1].split('id="related-phone"')[0]
    assert f"共 {n - 1} 户" in block
    assert all(f"/entities/{u}" in block for u in usccs[1:21])
    assert 'class="grade' in block  # each with its grade


def test_search_by_legal_representative_and_address(app, published, named) -> None:
    c = _login(app, "officer_county")
    page = c.get("/entities", params={"legal_rep": NAME[:2]}).text
    assert f"/entities/{named}" in page and "共 1 " in page
    from riskgrade.registry.models import Entity

    with app.state.rg.factory() as s:
        addr = s.get(Entity, named).address
    prefix = addr[: max(4, len(addr) // 2)]
    hits = c.get("/entities", params={"address": prefix}).text
    assert f"/entities/{named}" in hits
    assert _login(app, "domain").get("/entities", params={"legal_rep": NAME}).status_code == 403
    searches = [json.loads(a.detail) for a in _audit(app) if a.action == "search" and a.username == "officer_county"]
    assert any(d.get("legal_rep") == NAME[:2] for d in searches) and any(d.get("address") == prefix for d in searches)
    assert 'name="legal_rep"' not in _login(app, "domain").get("/entities").text
    api = TestClient(app)
    tok = {u: api.post("/api/login", json={"username": u, "password": PASSWORD}).json()["token"]
           for u in ("officer_county", "domain")}
    found = api.get("/api/entities", params={"legal_rep": NAME}, headers={"Authorization": f"Bearer {tok['officer_county']}"})
    assert [x["uscc"] for x in found.json()["items"]] == [named]
    assert api.get("/api/entities", params={"legal_rep": NAME},
                   headers={"Authorization": f"Bearer {tok['domain']}"}).status_code == 403


def _propose(c: TestClient, uscc: str, grade: str, reason: str):
    page = c.get(f"/entities/{uscc}").text
    return c.post(f"/entities/{uscc}/reviews", data={"csrf": _csrf(page), "to_grade": grade, "reason": reason})


def _decide(c: TestClient, review_id: int, decision: str, note: str = ""):
    page = c.get("/reviews").text
    return c.post(f"/reviews/{review_id}/decide", data={"csrf": _csrf(page), "decision": decision, "note": note})


def _current(app, uscc: str):
    from riskgrade.registry.queries import grade_history

    return grade_history(app.state.rg.factory, uscc)[0][0]


def test_review_state_machine_is_audited_and_shown(app, published) -> None:
    uscc = _entity(app, published["county"])
    cur = _current(app, uscc).grade
    other = "B" if cur != "B" else "C"
    officer = _login(app, "officer_county")
    r = _propose(officer, uscc, cur, "理由理由理由")
    assert r.status_code == 303 and "error=" in r.headers["location"]  # the same grade: refused
    r = _propose(officer, uscc, other, "企业已完成信用修复，申请复核")
    assert r.status_code == 303 and "proposed=" in r.headers["location"]
    rid = int(re.search(r"proposed=(\d+)", r.headers["location"]).group(1))
    page = officer.get(r.headers["location"]).text
    assert "待复核" in page and "企业已完成信用修复，申请复核" in page and 'id="propose"' not in page
    again = _propose(_login(app, "officer"), uscc, other, "再次申请复核")
    assert "error=" in again.headers["location"]  # one pending review per entity
    assert _decide(_login(app, "officer"), rid, "approve").headers["location"].startswith("/reviews?error=")
    assert "error=" in _decide(_login(app, "admin"), rid, "reject").headers["location"]  # a rejection needs a note
    listed = _login(app, "admin").get("/reviews?state=pending").text
    assert f"/entities/{uscc}" in listed and "待复核 1 件" in listed
    r = _decide(_login(app, "admin"), rid, "reject", "材料不足")
    assert r.headers["location"] == f"/reviews?rejected={rid}"
    assert "error=" in _decide(_login(app, "admin"), rid, "approve").headers["location"]  # decided already
    shown = officer.get(f"/entities/{uscc}").text
    assert "已驳回" in shown and "材料不足" in shown
    acts = [(a.action, a.username) for a in _audit(app) if a.action.startswith("review_")]
    assert ("review_propose", "officer_county") in acts and ("review_reject", "admin") in acts
    assert ("review_refused", "officer") in acts and ("review_refused", "admin") in acts
    # the API: the list with counts, and the refusal of one's own proposal
    api = TestClient(app)
    tok = api.post("/api/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
    body = api.get("/api/reviews", headers={"Authorization": f"Bearer {tok}"}).json()
    assert body["counts"]["rejected"] >= 1 and any(x["id"] == rid and x["state"] == "rejected" for x in body["items"])
    new = api.post("/api/reviews", json={"uscc": uscc, "to_grade": other, "reason": "管理员提出的复核"},
                   headers={"Authorization": f"Bearer {tok}"})
    assert new.status_code == 201 and new.json()["state"] == "pending"
    own = api.post(f"/api/reviews/{new.json()['id']}/approve", headers={"Authorization": f"Bearer {tok}"})
    assert own.status_code == 403
    county_tok = api.post("/api/login", json={"username": "officer_county", "password": PASSWORD}).json()["token"]
    rej = api.post(f"/api/reviews/{new.json()['id']}/reject", json={"note": "撤回"},
                   headers={"Authorization": f"Bearer {county_tok}"})
    assert rej.status_code == 403  # a county officer is no reviewer
    done = api.post(f"/api/reviews/{new.json()['id']}/reject", json={"note": "由管理员撤回"},
                    headers={"Authorization": f"Bearer {county_tok}"})
    assert done.status_code == 403


def test_results_entry_form_and_printable_documents(app, published) -> None:
    uscc = _entity(app, published["county"], in_plan=True)
    c = _login(app, "officer_county")
    plan = c.get("/plans/1").text
    assert f'action="/plans/1/entities/{uscc}/result"' in plan or "page=" in plan
    notice = c.get(f"/plans/1/entities/{uscc}/notice")
    assert notice.status_code == 200 and "检查通知书" in notice.text and "检查人员（签名）" in notice.text
    assert "document.css" in notice.text and "住所" in notice.text
    from riskgrade.registry.models import Entity, Plan

    with app.state.rg.factory() as s:
        name, task = s.get(Entity, uscc).name, s.get(Plan, 1).task_name
    assert name in notice.text and task in notice.text
    r = c.post(f"/plans/1/entities/{uscc}/result", data={"csrf": _csrf(plan), "date": "2026-10-20",
                                                         "result": "corrected", "note": "现场已整改"})
    assert r.status_code == 303 and "entered=" in r.headers["location"], r.headers["location"]
    record = c.get(f"/plans/1/entities/{uscc}/record").text
    assert "检查结果记录" in record and "2026-10-20：发现问题已责令改正（现场已整改）" in record
    profile = c.get(f"/entities/{uscc}").text
    block = profile.split('id="h-results"')[1].split("</section>")[0]
    assert "发现问题已责令改正" in block and 'href="/plans/1"' in block and "现场已整改" in block
    assert any(a.action == "results_entry" and a.username == "officer_county" for a in _audit(app))
    assert any(a.action == "print_notice" and a.target == f"1/{uscc}" for a in _audit(app))
    bad = c.post(f"/plans/1/entities/{uscc}/result", data={"csrf": _csrf(plan), "date": "2099-01-01",
                                                           "result": "corrected"})
    assert "entry_error=" in bad.headers["location"]
    assert _login(app, "domain").get(f"/plans/1/entities/{uscc}/notice").status_code == 403


def test_approved_review_is_carried_by_the_next_publication(app, published) -> None:
    """Approve a review: the company file shows the grade adjusted; a new publication of the month carries it
    (rule review, the review id, sealed), and the file then shows it as the grade."""
    from riskgrade.registry.models import Grade, Snapshot
    from riskgrade.registry.publish import verify_snapshot

    from riskgrade.registry.models import Entity

    with app.state.rg.factory() as s:
        uscc = s.execute(select(Grade.uscc).join(Entity, Entity.uscc == Grade.uscc)
                         .where(Entity.region_code == published["county"])
                         .order_by(Grade.uscc.desc()).limit(1)).scalar()
    cur = _current(app, uscc)
    to = "B" if cur.grade != "B" else "C"
    officer = _login(app, "officer_county")
    r = _propose(officer, uscc, to, "经核实处罚已撤销，申请调整分类")
    rid = int(re.search(r"proposed=(\d+)", r.headers["location"]).group(1))
    admin = _login(app, "admin")
    page = admin.get(f"/entities/{uscc}").text
    r = admin.post(f"/reviews/{rid}/decide", data={"csrf": _csrf(page), "decision": "approve",
                                                                   "note": "同意", "back": "entity"})
    assert r.headers["location"] == f"/entities/{uscc}?approved={rid}#review"
    shown = officer.get(f"/entities/{uscc}").text
    assert f"复核已同意：{cur.grade} 类 → {to} 类（复核编号 {rid}），将于下次发布时记入分类结果" in shown
    run_cli("publish", "--as-of", T2, home=published["home"])
    with app.state.rg.factory() as s:
        snap = s.execute(select(Snapshot).order_by(Snapshot.id.desc()).limit(1)).scalar_one()
        g = s.get(Grade, (snap.id, uscc))
    assert (g.grade, g.grade_rule, g.review_id) == (to, "review", rid)
    assert {"review_id": rid, "uscc": uscc, "from": cur.grade, "to": to} in snap.manifest["reviews"]
    assert verify_snapshot(published["home"], app.state.rg.factory, snap.id).ok
    after = officer.get(f"/entities/{uscc}").text
    assert f"本月分类结果经复核调整：{cur.grade} 类 → {to} 类（复核编号 {rid}）" in after and "经复核调整" in after
    assert any(a.action == "publish" and rid in json.loads(a.detail).get("reviews", []) for a in _audit(app))
