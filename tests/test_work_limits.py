"""办理时限 and the disposition state machine (no province): due dates, overdue, sign-off, the one rule in
Python and in SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgrade.errors import RiskgradeError
from riskgrade.warning import worklimits, workflow
from riskgrade.warning.tables import ensure_schema

W = worklimits.load()


def test_shipped_limits_and_due_dates() -> None:
    raised = dt.date(2026, 11, 3)
    assert W.assign_due(raised) == dt.date(2026, 11, 5)
    assert W.close_due("frequent_changes", "high", raised) == dt.date(2026, 11, 8)       # high: 5 days
    assert W.close_due("frequent_changes", "low", raised) == dt.date(2026, 11, 18)       # low: 15 days
    assert W.close_due("new_serious_dishonest", "low", raised) == dt.date(2026, 11, 10)  # the rule's own 7 days
    assert W.needs_review("frequent_changes", "high") and not W.needs_review("frequent_changes", "medium")
    assert W.needs_review("new_serious_dishonest", "low")                                # per rule
    a = {"rule": "frequent_changes", "severity": "medium", "raised_on": raised, "status": "open"}
    assert W.due(a) == dt.date(2026, 11, 5)
    assert not W.overdue(a, dt.date(2026, 11, 5)) and W.overdue(a, dt.date(2026, 11, 6))
    assert W.due({**a, "status": "assigned"}) == dt.date(2026, 11, 13)
    assert W.due({**a, "status": "closed"}) is None and not W.overdue({**a, "status": "closed"}, dt.date(2030, 1, 1))


@pytest.mark.parametrize("text, says", [
    ("assign_days: -1\nhandle_days: {high: 1, medium: 1, low: 1}\n", "assign_days"),
    ("assign_days: 1\nhandle_days: {high: 1, medium: 1}\n", "handle_days.low"),
    ("assign_days: 1\nhandle_days: {high: 1, medium: 1, low: 1}\nrules: {no_such_rule: {review: true}}\n",
     "unknown rule 'no_such_rule'"),
    ("assign_days: 1\nhandle_days: {high: 1, medium: 1, low: 1}\nreview: {severities: [urgent]}\n", "review.severities"),
    ("assign_days: 1\nhandle_days: {high: 1, medium: 1, low: 1}\nspeed: fast\n", "speed"),
])
def test_a_province_file_is_checked_with_a_clear_message(tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "worklimits.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RiskgradeError) as e:
        worklimits.load(tmp_path)
    assert "worklimits.yaml" in str(e.value) and says in str(e.value)


def test_the_home_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "worklimits.yaml").write_text("assign_days: 1\nhandle_days: {high: 2, medium: 3, low: 4}\n"
                                              "review: {default: true}\nnote_min_length: 10\n", encoding="utf-8")
    w = worklimits.load(tmp_path)
    assert (w.assign_days, w.days_to_close("x", "low"), w.note_min_length) == (1, 4, 10)
    assert w.needs_review("frequent_changes", "low")


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
                               st.sampled_from(("high", "medium", "low")),
                               st.sampled_from(("frequent_changes", "new_serious_dishonest", "annual_report_all_zero")),
                               st.sampled_from(workflow.STATUSES)), min_size=1, max_size=20),
       today=st.dates(dt.date(2025, 1, 1), dt.date(2028, 3, 1)))
def test_due_dates_in_sql_are_the_python_rule(rows, today) -> None:
    """The queue and the figures compute due dates in SQL: the same dates and flags as the Python rule."""
    con = duckdb.connect()
    con.execute("CREATE TABLE alerts (alert_id VARCHAR, raised_on DATE, severity VARCHAR, rule VARCHAR, status VARCHAR)")
    con.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?)", [(str(i), *r) for i, r in enumerate(rows)])
    close_due, due_now, params = worklimits.due_sql(W)
    got = con.execute(f"SELECT alert_id, {close_due}, {due_now}, coalesce({due_now} < ?, false) FROM alerts a "
                      "ORDER BY CAST(alert_id AS INTEGER)", [*params, *params, *params, today]).fetchall()
    for (aid, cd, dn, late), (raised, sev, rule, status) in zip(got, rows):
        a = {"raised_on": raised, "severity": sev, "rule": rule, "status": status}
        assert cd == W.close_due(rule, sev, raised)
        assert dn == W.due(a) and late == W.overdue(a, today)


# --------------------------------------------------------------------------- the state machine
def _store(tmp_path: Path, status: str = "handled") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(con)
    con.execute("INSERT INTO alerts (alert_id, rule, severity, scope, raised_on, status) VALUES "
                "('a1', 'frequent_changes', 'high', 'entity', DATE '2026-11-01', ?)", [status])
    return con


def test_close_with_sign_off_goes_to_review_and_a_handler_cannot_approve(tmp_path: Path) -> None:
    con = _store(tmp_path, "open")
    workflow.step(con, "a1", "assign", "lead", to="user:zhang")
    workflow.step(con, "a1", "handle", "zhang", action="约谈", note="约谈法定代表人")
    assert workflow.step(con, "a1", "close", "zhang", note="已整改完毕", review=True)["status"] == "review"
    with pytest.raises(RiskgradeError, match="cannot review"):
        workflow.step(con, "a1", "approve", "zhang", note="自己复核")
    with pytest.raises(RiskgradeError, match="is review"):
        workflow.step(con, "a1", "handle", "li", action="提醒")   # nothing but a review while waiting for one
    workflow.step(con, "a1", "return", "li", note="请补充整改照片")
    assert workflow.get_alert(con, "a1")["status"] == "handled"
    workflow.step(con, "a1", "close", "zhang", note="已补充照片", review=True)
    assert workflow.step(con, "a1", "approve", "li", note="同意办结")["status"] == "closed"
    log = con.execute("SELECT username, action, detail FROM alert_log ORDER BY seq").fetchall()
    assert [(u, a) for u, a, _ in log] == [("lead", "assign"), ("zhang", "handle"), ("zhang", "close"), ("li", "return"),
                                           ("zhang", "close"), ("li", "approve")]
    assert '"to":"review"' in log[2][2] and '"review_required":true' in log[2][2] and '"to":"closed"' in log[5][2]
    assert workflow.verify(con).ok


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.sampled_from(("assign", "handle", "close", "approve", "return")), min_size=1, max_size=12),
       review=st.booleans())
def test_no_sequence_of_steps_closes_a_reviewed_alert_without_another_user(tmp_path_factory, ops, review) -> None:
    """Whatever the order of steps tried by one handler: an alert that needs a sign-off never closes, and every
    refused step leaves the status as it was."""
    con = _store(tmp_path_factory.mktemp("sm"), "open")
    for op in ops:
        before = workflow.get_alert(con, "a1")["status"]
        try:
            after = workflow.step(con, "a1", op, "zhang", to="user:zhang", action="提醒", note="说明四字",
                                  review=review)["status"]
        except RiskgradeError:
            assert workflow.get_alert(con, "a1")["status"] == before
            continue
        assert after == ("review" if op == "close" and review else workflow.STEPS[op][1])
        assert before in workflow.STEPS[op][0]
    assert workflow.get_alert(con, "a1")["status"] != "closed" or not review
