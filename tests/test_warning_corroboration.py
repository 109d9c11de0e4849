"""Corroboration (warning/corroboration.py): which new alerts enter the open queue and which are kept as
uncorroborated (待印证), on a hand-made store."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.warning import tables
from riskgrade.warning.corroboration import uncorroborated
from riskgrade.warning.grouping import Outcome
from riskgrade.warning.precision import Assessment
from riskgrade.warning.rules import load_rules

DAY = dt.date(2026, 6, 15)


def _store() -> duckdb.DuckDBPyConnection:
    """Stored alerts: E2 frequent_changes 200 days before (muted), E3 frequent_changes 400 days before, E4
    new_tax_abnormal 100 days before (the same rule as its new alert), E9 an area alert's county (no member)."""
    con = duckdb.connect()
    tables.ensure_schema(con)
    rows = [("s2", "frequent_changes", "entity", "muted", "E2", DAY - dt.timedelta(days=200)),
            ("s3", "frequent_changes", "entity", "closed", "E3", DAY - dt.timedelta(days=400)),
            ("s4", "new_tax_abnormal", "entity", "open", "E4", DAY - dt.timedelta(days=100))]
    for aid, rule, scope, status, uscc, day in rows:
        con.execute("INSERT INTO alerts (alert_id, rule, scope, status, raised_on) VALUES (?, ?, ?, ?, ?)",
                    [aid, rule, scope, status, day])
        con.execute("INSERT INTO alert_members (alert_id, uscc, raised_on) VALUES (?, ?, ?)", [aid, uscc, day])
    return con


def _o(aid: str, rule: str, members: list[str], scope: str = "entity", new: bool = True) -> Outcome:
    return Outcome(aid, rule, scope, aid, DAY, "medium", {}, new, {u: DAY for u in members})


def _run() -> list[Outcome]:
    return [_o("n1", "new_tax_abnormal", ["E1"]),            # a single signal
            _o("n2", "new_tax_abnormal", ["E2"]),            # + a muted alert of another rule 200 days before
            _o("n3", "new_tax_abnormal", ["E3"]),            # + another rule, but 400 days before
            _o("n4", "new_tax_abnormal", ["E4"]),            # + the same rule only
            _o("n5", "new_tax_abnormal", ["E5"]),            # + another rule in the same run
            _o("n5b", "complaint_surge", ["E5"]),
            _o("n6", "frequent_changes", ["E6"], new=False),  # an extended alert: corroborates, keeps its status
            _o("n6b", "unreachable_with_complaints", ["E6"]),
            _o("c7", "registration_cluster", ["E7", "E8", "E10"], scope="cluster"),   # stands alone
            _o("a9", "complaint_surge_area", [], scope="area"),                        # about an area
            _o("m1", "licence_expiry", ["E11"])]                                       # muted below


def test_single_signals_wait_and_corroborated_ones_are_queued() -> None:
    con, cat = _store(), load_rules()
    held = uncorroborated(con, cat, _run(), {"licence_expiry": True})
    assert held == {"n1", "n3", "n4"}
    a = Assessment(DAY, {}, {"licence_expiry": True}, {}, held)
    assert [a.status(o.rule, o.alert_id) for o in _run()] == [
        "uncorroborated", "open", "uncorroborated", "uncorroborated", "open", "open", "open", "open", "open", "open",
        "muted"]


def test_the_province_sets_the_number_of_rules_and_the_window(tmp_path) -> None:
    con = _store()
    p = tmp_path / "w.yaml"
    p.write_text("extends: default\nsuppression: {queue_min_rules: 1}\n", encoding="utf-8")
    assert uncorroborated(con, load_rules(p), _run(), {}) == set()            # off: every alert is queued
    p.write_text("extends: default\nsuppression: {queue_min_rules: 3}\n", encoding="utf-8")
    assert uncorroborated(con, load_rules(p), _run(), {}) == {"n1", "n2", "n3", "n4", "n5", "n5b", "n6b", "m1"}
    p.write_text("extends: default\nsuppression: {queue_window_days: 500}\n", encoding="utf-8")
    assert uncorroborated(con, load_rules(p), _run(), {}) == {"n1", "n4", "m1"}
    # a rule that stands alone, or is never muted (a mandated trigger), is queued on its own
    p.write_text("extends: default\nrules:\n  - {code: new_tax_abnormal, alone: true}\n"
                 "  - {code: licence_expiry, mute: never}\n", encoding="utf-8")
    assert uncorroborated(con, load_rules(p), _run(), {}) == set()
    p.write_text("extends: default\nrules:\n  - {code: registration_cluster, alone: false, mute: auto}\n",
                 encoding="utf-8")
    assert "c7" in uncorroborated(con, load_rules(p), _run(), {})   # no member has another rule's alert


@pytest.mark.parametrize("text, field", [("suppression: {queue_min_rules: 0}", "queue_min_rules"),
                                         ("suppression: {queue_window_days: 5000}", "queue_window_days"),
                                         ("rules:\n  - {code: grade_jump, alone: maybe}", "alone")])
def test_bad_settings_are_refused(tmp_path, text: str, field: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(f"extends: default\n{text}\n", encoding="utf-8")
    with pytest.raises(RiskgradeError, match=field):
        load_rules(p)


def test_an_empty_store_corroborates_within_the_run() -> None:
    con = duckdb.connect()   # no alert tables yet: the first run of a home
    assert uncorroborated(con, load_rules(), _run(), {}) == {"n1", "n2", "n3", "n4", "m1"}
