"""Rule precision measured from the store, muting and the expected risk of an alert (warning/precision.py)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgrade.warning import precision, tables
from riskgrade.warning.precision import Measure, combine, deciding, is_muted, measure, shrunk_lift
from riskgrade.warning.rules import load_rules

END = dt.date(2025, 6, 30)


def _store() -> duckdb.DuckDBPyConnection:
    """100 entities active since 2020 (one closed in 2023, one established in 2024-06: neither comparable in
    January 2024); rule good alerts 10 on 2024-01-15 (6 penalised within 6 months), rule weak 10 (1
    penalised), rule recent 5 on 2025-03-01 (too recent to measure); 4 of the other 80 are penalised."""
    con = duckdb.connect()
    tables.ensure_schema(con)
    con.execute("CREATE TABLE entities (uscc VARCHAR, established_on DATE, status VARCHAR, closed_on DATE)")
    con.execute("""CREATE TABLE events (uscc VARCHAR, event_type VARCHAR, event_date DATE, detail VARCHAR,
                   amount DOUBLE, source VARCHAR)""")
    ents = [(f"E{i:03d}", dt.date(2020, 1, 1), "active", None) for i in range(100)]
    ents.append(("CLOSED", dt.date(2020, 1, 1), "deregistered", dt.date(2023, 5, 1)))
    ents.append(("LATE", dt.date(2024, 6, 1), "active", None))
    con.executemany("INSERT INTO entities VALUES (?, ?, ?, ?)", ents)
    ev = []
    good, weak, others = range(0, 10), range(10, 20), range(20, 100)
    for i in list(good)[:6] + list(weak)[:1] + list(others)[:4]:
        ev.append((f"E{i:03d}", "admin_penalty", dt.date(2024, 3, 10), None, None, None))
    ev.append(("E007", "admin_penalty", dt.date(2024, 1, 15), None, None, None))   # on the alert's day: not after it
    ev.append(("E008", "inspection", dt.date(2024, 5, 2), "pass", None, None))      # not adverse
    ev.append(("E009", "inspection", dt.date(2024, 9, 2), "problem", None, None))   # adverse, month 8 only
    ev.append(("CLOSED", "admin_penalty", dt.date(2024, 2, 1), None, None, None))  # not comparable: closed
    ev.append(("LATE", "admin_penalty", dt.date(2024, 6, 20), None, None, None))   # not comparable: not yet born
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", ev)
    alerts, members = [], []
    for rule, ids, day in (("good", good, dt.date(2024, 1, 15)), ("weak", weak, dt.date(2024, 1, 15)),
                           ("recent", range(95, 100), dt.date(2025, 3, 1)), ("area", range(0, 100), dt.date(2024, 1, 15))):
        scope = "area" if rule == "area" else "entity"
        for i in ids:
            aid = f"{rule}-{i}" if scope == "entity" else "area-1"
            if scope == "entity" or i == 0:
                alerts.append((aid, rule, scope, day))
            members.append((aid, f"E{i:03d}", day))
    con.executemany("INSERT INTO alerts (alert_id, rule, scope, raised_on) VALUES (?, ?, ?, ?)", alerts)
    con.executemany("INSERT INTO alert_members (alert_id, uscc, raised_on) VALUES (?, ?, ?)", members)
    return con


def test_precision_lift_and_counts_by_hand() -> None:
    con = _store()
    m = measure(con, end=END)
    assert set(m) == {"good", "weak"}          # area alerts name no entity; recent ones are not old enough
    g6, w6 = m["good"][6], m["weak"][6]
    # comparable on 2024-01-01: the 100 entities (not CLOSED, not LATE); adverse within 6 months of the first of
    # the month: 6 + 1 + 4, and E007 (penalised on the day of its alert: in the month's window, not the alert's)
    base6 = 12 / 100
    assert (g6.measured, g6.adverse) == (10, 6) and (w6.measured, w6.adverse) == (10, 1)
    assert g6.base_rate == pytest.approx(base6) and g6.expected == pytest.approx(10 * base6)
    assert g6.precision == pytest.approx(0.6) and g6.lift == pytest.approx(0.6 / base6)
    assert w6.lift == pytest.approx(0.1 / base6)
    assert g6.precision_low < 0.6 < g6.precision_high       # Wilson
    assert g6.lift_low == pytest.approx(g6.precision_low / base6)
    # 12 months: E009's inspection problem in September counts too (for the good rule and the base)
    g12 = m["good"][12]
    assert (g12.measured, g12.adverse) == (10, 7) and g12.base_rate == pytest.approx(13 / 100)


def test_follow_up_window_must_be_complete() -> None:
    con = _store()
    m = measure(con, end=dt.date(2024, 9, 30))   # 8.5 months after the alerts: 6 months measured, 12 not
    assert set(m["good"]) == {6}
    assert measure(con, end=dt.date(2024, 5, 1)) == {}


def _m(n: int, k: int, base: float, h: int = 12) -> Measure:
    return precision._measure("r", h, n, k, base * n)


def test_muting_thresholds_and_overrides() -> None:
    cat = load_rules()
    s = cat.suppression
    weak = {12: _m(s.min_measured, 0, 0.1)}
    strong = {12: _m(s.min_measured, s.min_measured // 2, 0.1)}
    few = {12: _m(s.min_measured - 1, 0, 0.1)}
    code = "complaint_surge"
    assert is_muted(cat, code, weak) and not is_muted(cat, code, strong)
    assert not is_muted(cat, code, few)          # too few measured alerts: not muted on a guess
    assert not is_muted(cat, code, None)
    cat.get(code).mute = "never"
    assert not is_muted(cat, code, weak)
    cat.get(code).mute = "always"
    assert is_muted(cat, code, strong)
    # the longest horizon with enough alerts decides
    both = {6: _m(s.min_measured, s.min_measured, 0.1, 6), 12: _m(s.min_measured, 0, 0.1)}
    assert deciding(both, s.min_measured).horizon_months == 12


def test_rules_yaml_validates_mute_and_suppression(tmp_path) -> None:
    from riskgrade.errors import RiskgradeError

    p = tmp_path / "r.yaml"
    p.write_text("extends: default\nsuppression: {min_lift: 3.0, min_measured: 10}\n"
                 "rules:\n  - code: licence_expiry\n    mute: never\n", encoding="utf-8")
    cat = load_rules(p)
    assert cat.suppression.min_lift == 3.0 and cat.suppression.min_measured == 10
    assert cat.get("licence_expiry").mute == "never" and cat.get("complaint_surge").mute == "auto"
    p.write_text("extends: default\nrules:\n  - code: licence_expiry\n    mute: sometimes\n", encoding="utf-8")
    with pytest.raises(RiskgradeError, match="mute"):
        load_rules(p)


probs = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(p1=probs, p2=probs, lift=st.floats(min_value=0.0, max_value=50.0, allow_nan=False))
def test_expected_risk_grows_with_the_model_probability(p1: float, p2: float, lift: float) -> None:
    lo, hi = sorted((p1, p2))
    a, b = combine(lo, lift), combine(hi, lift)
    assert 0.0 <= a <= b <= 1.0


@settings(max_examples=200, deadline=None)
@given(p=probs, n=st.integers(min_value=1, max_value=5000), k1=st.integers(min_value=0, max_value=5000),
       k2=st.integers(min_value=0, max_value=5000), base=st.floats(min_value=0.001, max_value=0.9))
def test_expected_risk_grows_with_the_rule_precision(p: float, n: int, k1: int, k2: int, base: float) -> None:
    lo, hi = sorted((min(k1, n), min(k2, n)))
    l_lo, l_hi = shrunk_lift({12: _m(n, lo, base)}), shrunk_lift({12: _m(n, hi, base)})
    assert l_lo <= l_hi
    assert 0.0 <= combine(p, l_lo) <= combine(p, l_hi) <= 1.0


def test_expected_risk_edges() -> None:
    assert shrunk_lift(None) == 1.0 and combine(0.3, 1.0) == pytest.approx(0.3)   # no measurement: the model's p
    assert shrunk_lift({12: _m(1, 1, 0.1)}) < shrunk_lift({12: _m(100, 100, 0.1)})  # shrinkage: few alerts, less pull
    assert combine(0.0, 10.0) == 0.0
    assert combine(1.0, 2.0) == 1.0
    # at the rule's own base rate, the shrunk lift is exactly 1
    assert shrunk_lift({12: _m(100, 10, 0.1)}) == pytest.approx(1.0)


def test_old_alerts_table_gains_expected_risk() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE alerts (alert_id VARCHAR, rule VARCHAR)")   # a store from before issue 18
    con.execute("INSERT INTO alerts VALUES ('a', 'r')")
    tables.ensure_schema(con)
    assert con.execute("SELECT alert_id, expected_risk FROM alerts").fetchall() == [("a", None)]


def test_assess_uses_the_latest_classification_and_reuses_a_recent_measurement() -> None:
    from types import SimpleNamespace

    con = _store()
    con.execute("CREATE TABLE snapshots (snapshot_id INTEGER, as_of DATE)")
    con.execute("CREATE TABLE grades (snapshot_id INTEGER, uscc VARCHAR, probability DOUBLE)")
    con.execute("INSERT INTO snapshots VALUES (1, DATE '2025-05-31'), (2, DATE '2025-06-30')")
    con.executemany("INSERT INTO grades VALUES (?, ?, ?)", [(1, "E050", 0.99), (2, "E050", 0.8), (2, "E051", 0.1),
                                                            (2, "E052", 0.3)])

    def alert(aid: str, rule: str, *members: str):
        return SimpleNamespace(alert_id=aid, rule=rule, severity="medium", members={m: END for m in members})

    alerts = [alert("hi", "good", "E050"), alert("lo", "good", "E051"), alert("none", "good", "E099"),
              alert("cluster", "good", "E051", "E052"), alert("weak", "weak", "E050")]
    cat = load_rules()
    a = precision.assess(con, cat, alerts, end=END)
    r = a.expected_risk
    mean = (0.8 + 0.1 + 0.3) / 3                           # the latest snapshot's mean, for a member without one
    lift = shrunk_lift(a.measures["good"])
    assert r["hi"] == pytest.approx(combine(0.8, lift), abs=1e-6) and r["lo"] == pytest.approx(combine(0.1, lift), abs=1e-6)
    assert r["none"] == pytest.approx(combine(mean, lift), abs=1e-6)
    assert r["cluster"] == pytest.approx(combine(0.3, lift), abs=1e-6)   # the riskiest member
    assert r["weak"] < r["hi"] and lift > 1 > shrunk_lift(a.measures["weak"])
    assert not any(a.muted.values())                        # 10 measured alerts: fewer than min_measured
    precision.store(con, 1, a)
    # a run 27 days of data later reuses the stored figures; 28 days later it measures again
    con.execute("DELETE FROM alerts WHERE rule = 'good'")
    assert "good" in precision.assess(con, cat, [], end=END + dt.timedelta(days=27)).measures
    assert "good" not in precision.assess(con, cat, [], end=END + dt.timedelta(days=28)).measures
