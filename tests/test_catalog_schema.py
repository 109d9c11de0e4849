"""The catalog YAMLs read like a dbt schema: every indicator, label and override has its names in
Chinese and English, a description, its basis and checks, and the checks hold on a simulated province."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.indicators import compute_indicators, load_catalog
from riskgrade.indicators.checks import Check, failing_sql, run_checks
from riskgrade.ingest import ingest
from riskgrade.scoring import load_grading, load_labels
from riskgrade.scoring.grading import label_condition
from riskgrade.simulate.province import generate
from riskgrade.warehouse import Warehouse

T = dt.date(2026, 9, 30)


def _entries():
    cat, labels, grading = load_catalog(), load_labels(), load_grading()
    return ([("indicator", i) for i in cat.indicators] + [("label", x) for x in labels.labels]
            + [("override", o) for o in grading.overrides])


@pytest.mark.parametrize("kind,entry", _entries(), ids=lambda x: getattr(x, "code", x))
def test_every_entry_is_described(kind: str, entry) -> None:
    assert entry.name_zh.strip() and entry.name_en.strip(), entry.code
    assert entry.name_en.isascii() or "(" in entry.name_en, entry.name_en  # English, Chinese only in brackets
    assert len(entry.description.strip()) >= 15, entry.code
    assert entry.basis.strip(), entry.code
    if kind == "indicator":
        assert entry.direction_basis.strip(), entry.code
    assert entry.checks, entry.code
    types = [c.type for c in entry.checks if c.check == "type"]
    assert len(types) == 1, f"{entry.code}: one type check"
    if kind != "indicator":
        assert types == ["boolean"]  # a condition


def test_versions_bumped_with_the_schema() -> None:
    assert load_catalog().version == "2027.01-3"  # 一址多企 became building-aware (relation building_linked)
    assert load_labels().version == "2027.01-1"
    assert load_grading().version == "2027.01-2"


def test_the_console_reads_english_names_from_the_catalogs() -> None:
    from riskgrade.web import i18n

    labels, overrides = load_labels(), load_grading()
    assert dict(i18n.LABELS_EN) == {x.code: x.name_en for x in labels.labels}
    assert dict(i18n.OVERRIDES_EN) == {o.code: o.name_en for o in overrides.overrides}
    assert i18n.LABELS_EN.get("online") == "Online business"
    src = Path(i18n.__file__).read_text(encoding="utf-8")
    assert "Serious dishonesty list" not in src and "court judgment defaulter" not in src


def test_check_shorthand_and_errors() -> None:
    assert Check.model_validate("not_null").check == "not_null"
    c = Check.model_validate({"accepted_range": {"min": 0, "max": 3}})
    assert (c.check, c.min, c.max) == ("accepted_range", 0, 3)
    assert Check.model_validate({"accepted_values": ["a"]}).values == ["a"]
    for bad in ({"type": "colour"}, {"accepted_range": {}}, {"accepted_values": []}, "unique"):
        with pytest.raises(ValueError):
            Check.model_validate(bad)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (0, 'a', 1.5), (1, 'b', -2.0), (NULL, 'c', 3.0)) v(b, s, x)")
    res = {(r.name, r.check): r.failures for r in run_checks(con, "t", {
        "b": ("b", [Check.model_validate(c) for c in ("not_null", {"type": "boolean"})]),
        "s": ("s", [Check.model_validate(c) for c in ({"type": "category"}, {"accepted_values": ["a", "b"]},
                                                      {"type": "count"})]),
        "x": ("x", [Check.model_validate(c) for c in ({"type": "count"}, {"type": "amount"},
                                                      {"accepted_range": {"max": 2}})]),
    })}
    assert res == {("b", "not_null"): 1, ("b", "type boolean"): 0, ("s", "type category"): 0,
                   ("s", "accepted_values ['a', 'b']"): 1, ("s", "type count"): 3, ("x", "type count"): 2,
                   ("x", "type amount"): 1, ("x", "accepted_range [None, 2.0]"): 1}
    assert failing_sql("v", Check.model_validate({"type": "boolean"}), "BOOLEAN") == "false"


def test_a_province_file_with_a_bad_check_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("extends: default\nindicators:\n  - code: penalty_1y\n    checks: [{type: colour}]\n", encoding="utf-8")
    with pytest.raises(RiskgradeError, match="c.yaml"):
        load_catalog(f)


# --------------------------------------------------------------------------- the checks on a simulated province
@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("schema")
    generate(root / "d", 3000, 5)
    ingest(root / "h", root / "d")
    wh = Warehouse(root / "h", write=True)
    with wh:
        compute_indicators(wh.con, load_catalog(), T)
        yield wh.con


def test_indicator_checks_hold_on_the_simulated_province(month) -> None:
    cat = load_catalog()
    results = run_checks(month, "indicators", cat.check_targets())
    assert {r.name for r in results} == {i.code for i in cat.enabled}
    assert results[0].rows >= 2500
    failed = [f"{r.name}: {r.check} fails for {r.failures} rows (e.g. {r.example!r})" for r in results if not r.ok]
    assert not failed, "\n".join(failed)


def test_label_and_override_checks_hold_on_the_simulated_province(month) -> None:
    labels, grading = load_labels(), load_grading()
    targets = {x.code: (label_condition(labels, x), list(x.checks)) for x in labels.labels}
    targets.update({o.code: (o.when, list(o.checks)) for o in grading.overrides})
    results = run_checks(month, "indicators", targets)
    assert len(results) == sum(len(c) for _, c in targets.values())
    failed = [f"{r.name}: {r.check} fails for {r.failures} rows" for r in results if not r.ok]
    assert not failed, "\n".join(failed)
    # and a check that must fail does
    bad = run_checks(month, "indicators", {"penalty_1y": ("penalty_1y", [Check.model_validate({"accepted_values": [0]})])})
    assert bad[0].failures > 0
