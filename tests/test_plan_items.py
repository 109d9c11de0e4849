"""The province's inspection items (抽查事项清单): the shipped list, validation with clear errors, item codes on
tasks (free text of old tasks kept readable), and the allocation arithmetic the preview and the draw share."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from riskgrade.errors import RiskgradeError
from riskgrade.inspection.allocate import stratified_allocation
from riskgrade.inspection.items import check_codes, describe_items, load_items

from .conftest import run_cli


def test_the_shipped_list_covers_the_usual_domains() -> None:
    lst = load_items()
    assert {"general", "food", "drug", "special_equipment", "product_quality"} <= set(lst.domains)
    general = {it.name_zh for it in lst.for_domain("general")}
    assert "企业公示信息检查" in general and any("年度报告" in n for n in general)
    codes = [it.code for its in lst.domains.values() for it in its]
    assert len(codes) == len(set(codes)) >= 15
    for its in lst.domains.values():
        for it in its:
            assert it.basis.startswith("《") and it.department and it.method in ("onsite", "written", "online", "sampling")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "inspection_items.yaml"
    p.write_text(text, encoding="utf-8")
    return p


ITEM = "code: {code}\n      name_zh: 检查\n      name_en: check\n      basis: 《条例》\n      method: {method}\n      department: 处"


@pytest.mark.parametrize("body, words", [
    (f"version: '1'\ndomains:\n  food:\n    - {ITEM.format(code='food-1', method='onsite')}", "item code 'food-1'"),
    (f"version: '1'\ndomains:\n  food:\n    - {ITEM.format(code='F-1', method='phone')}", "method"),
    (f"version: '1'\ndomains:\n  food:\n    - {ITEM.format(code='F-1', method='onsite')}\n  drug:\n"
     f"    - {ITEM.format(code='F-1', method='onsite')}", "F-1 is listed twice"),
    (f"version: '1'\ndomains:\n  Food:\n    - {ITEM.format(code='F-1', method='onsite')}", "domain 'Food'"),
    ("version: '1'\ndomains:\n  food: []\n", "list at least one item"),
    ("version: '1'\ndomains: [\n", "not valid YAML"),
])
def test_a_bad_list_is_refused_with_the_file_and_the_reason(tmp_path: Path, body: str, words: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(RiskgradeError) as e:
        load_items(path)
    assert str(path) in str(e.value) and words in str(e.value)


def test_the_home_list_replaces_the_shipped_one(tmp_path: Path) -> None:
    _write(tmp_path, f"version: 'home-1'\ndomains:\n  food:\n    - {ITEM.format(code='HF-01', method='written')}\n")
    lst = load_items(home=tmp_path)
    assert lst.version == "home-1" and [it.code for it in lst.for_domain("food")] == ["HF-01"]


def test_item_codes_on_tasks_and_old_free_text() -> None:
    lst = load_items()
    assert check_codes(lst, "food", ["FOOD-01", "GEN-01", "FOOD-01"]) == "FOOD-01;GEN-01"
    with pytest.raises(RiskgradeError, match="belongs to domain drug"):
        check_codes(lst, "food", ["DRUG-01"])
    with pytest.raises(RiskgradeError, match="not in the list"):
        check_codes(lst, "food", ["FOOD-99"])
    shown = describe_items(lst, "FOOD-02;GEN-03")
    assert [x["name"] for x in shown] == ["进货查验与台账记录检查", "年度报告公示信息真实性检查"]
    assert shown[0]["method"] == "现场检查" and shown[1]["basis"].startswith("《企业信息公示暂行条例》")
    assert describe_items(lst, "检查食品进货台账；索证索票")[0]["name"] == "检查食品进货台账；索证索票"
    assert describe_items(lst, "") == []


def test_cli_lists_items_and_tasks_take_codes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = run_cli("items", "list", "--domain", "drug", home=home).stdout
    assert "DRUG-01" in out and "FOOD-01" not in out
    bad = run_cli("task", "create", "--name", "x", "--domain", "food", "--item", "DRUG-01", home=home, check=False)
    assert bad.returncode != 0 and "belongs to domain drug" in bad.stderr


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(st.sampled_from("ABCD"), st.sampled_from(["370102", "370103", "370104"])),
                       st.floats(0, 500), min_size=1), st.integers(0, 3000))
def test_stratum_quotas_are_whole_and_add_up(targets: dict, budget: int) -> None:
    """As the draw calls it (the total: the budget, at most the rounded sum of targets): the quotas add up to
    the total and each stratum gets the floor or the ceiling of its target."""
    import math

    rounded = int(sum(targets.values()) + 0.5 + 1e-9)
    assume(budget >= math.floor(sum(targets.values()) + 1e-9))  # the draw fits the rates to the budget first
    total = min(budget, rounded)
    q = stratified_allocation(targets, total)
    assert sum(q.values()) == total
    for k, v in targets.items():
        assert math.floor(v + 1e-9) <= q[k] <= math.ceil(v - 1e-9)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_approval_records_on_both_databases(tmp_path: Path, engine: str, request) -> None:
    """The approval table (migration 0008): draft, then one final decision; a second one is refused."""
    import datetime as dt

    from riskgrade.registry import approvals
    from riskgrade.registry.db import open_registry

    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    factory = open_registry(tmp_path, url)
    try:
        approvals.request(factory, 7, "officer", period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 12, 31),
                          team=["inspector_a", "inspector_b"])
        with pytest.raises(RiskgradeError, match="already has an approval record"):
            approvals.request(factory, 7, "officer")
        assert approvals.state_of(approvals.approval(factory, 7)) == "draft"
        assert approvals.state_of(approvals.approval(factory, 8)) == "in_force"
        row = approvals.decide(factory, 7, "admin", False, "事项不全")
        assert (row.state, row.decided_by, row.note) == ("rejected", "admin", "事项不全")
        with pytest.raises(RiskgradeError, match="not waiting"):
            approvals.decide(factory, 7, "admin", True, "")
        kept = approvals.approval(factory, 7)
        assert kept.team == "inspector_a;inspector_b" and kept.period_end == dt.date(2026, 12, 31)
    finally:
        factory.kw["bind"].dispose()
