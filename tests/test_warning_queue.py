"""The monthly alert queue at default settings, judged by the simulator's ground truth (issue 18).

A simulated province (20,000 entities) is delivered as an initial delivery and 24 monthly ones, with
``warn`` after each (as ``benchmarks/bench_warn.py quality`` does).  For every monthly run, the entities
touched by its new alerts in the open queue (entity and cluster alerts that are neither muted nor
uncorroborated) are compared with the ground truth of :mod:`riskgrade.simulate.truth`.

**The adverse outcome is a violation found.**  The issue asks that alerted entities "violate" at 3 times
the base rate: the truth is the probability that an inspection in the 6 or 12 months after the run finds
a violation (problem, unreachable, refused - not an on-the-spot correction 当场整改, not a closed
business).  The queue must reach 3x at both horizons (``MIN_VIOLATION_LIFT``, no margin below the
target).  The wider truth of any non-pass result (``adverse_probability``) is printed: there every entity
has a floor (an inspection of a risk-0 entity is corrected on the spot with probability 0.14), so even an
oracle that queues the truly riskiest 3% of the active entities reaches only about 2.5x
(``test_the_ceiling_of_any_queue``, which fails - and says to assert 3x on it too - if the simulator
changes so that 3x becomes reachable there).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskgrade.simulate.truth import adverse_probability, violation_probability
from riskgrade.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
ENTITIES, SEED, MONTHS = 20_000, 2, 24
MAX_SHARE = 0.03              # a month's queue touches at most 3% of the active entities
MIN_VIOLATION_LIFT = 3.0      # the target, violation found, at 6 and at 12 months (oracle ~3.6)
MIN_TRUE_LIFT = 2.0           # adverse_probability, printed beside it (ceiling ~2.5, see the docstring)
HELD = ("muted", "uncorroborated")   # kept out of the open queue, listed for review

pytestmark = pytest.mark.slow


def _bench():
    spec = importlib.util.spec_from_file_location("bench_warn", ROOT / "benchmarks" / "bench_warn.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> dict:
    """The simulated province delivered monthly and warned after every delivery (default rules)."""
    from riskgrade.ingest.pipeline import ingest
    from riskgrade.simulate import generate
    from riskgrade.warning import run_warn

    root = tmp_path_factory.mktemp("queue")
    d = root / "delivery"
    generate(d, ENTITIES, SEED, fmt="parquet")
    end = dt.date.fromisoformat(json.loads((d / "_truth" / "summary.json").read_text())["end"])
    home = root / "home"
    for part in _bench().split_monthly(d, root / "monthly", MONTHS, end):
        ingest(home, part)
        run_warn(home)
    with Warehouse(home) as wh:
        first, *runs = wh.con.execute("SELECT run_id, ref_date FROM warn_runs ORDER BY 1").fetchall()
        members = wh.con.execute("""
            SELECT a.run_id, a.alert_id, a.rule, a.status, a.expected_risk, m.uscc, m.raised_on, m.run_id AS member_run
            FROM alerts a JOIN alert_members m USING (alert_id) WHERE a.scope <> 'area'""").df()
        risks = wh.con.execute("SELECT expected_risk FROM alerts").fetchall()
    return {"home": home, "truth": d / "_truth", "runs": runs, "first": first, "members": members, "risks": risks}


def _violation_probability(truth: Path, as_of: dt.date, months: int = 12) -> pd.Series:
    """USCC -> the probability that an inspection in the window finds a violation (the simulator's truth)."""
    return violation_probability(truth, as_of, months).set_index("uscc")["p_violation"]


def _queue(province: dict, run_id: int, statuses: tuple[str, ...] | None = None) -> np.ndarray:
    """The entities of a run's new alerts in the open queue (``statuses`` None), or of the alerts in ``statuses``
    (every status: all the alerts raised)."""
    m = province["members"]
    m = m[m.run_id == run_id]
    m = m[~m.status.isin(HELD)] if statuses is None else m[m.status.isin(statuses)]
    return m.uscc.unique()


def _lifts(province: dict, statuses: tuple[str, ...] | None = None, runs: list | None = None
           ) -> tuple[float, float, float, list[float]]:
    """Pooled true lift of the monthly queues (or of ``runs``) - adverse probability (12 months), violation
    probability (12 and 6 months) - and each month's share of active entities touched."""
    al = base = 0.0
    v = {12: [0.0, 0.0], 6: [0.0, 0.0]}
    shares = []
    for run_id, ref in (runs or province["runs"]):
        p = adverse_probability(province["truth"], ref, 12)
        act = p["active_at"].to_numpy()
        q = _queue(province, run_id, statuses)
        shares.append(len(q) / act.sum())
        ps = p.set_index("uscc")["p_adverse"]
        al += ps.loc[q].sum()
        base += len(q) * ps[act].mean()
        for h, acc in v.items():
            pv = _violation_probability(province["truth"], ref, h)
            acc[0] += pv.loc[q].sum()
            acc[1] += len(q) * pv[act].mean()
    return al / base, v[12][0] / v[12][1], v[6][0] / v[6][1], shares


ALL_STATUSES = ("open", "assigned", "handled", "review", "closed") + HELD


def test_a_month_touches_at_most_3_percent(province: dict) -> None:
    *_, shares = _lifts(province)
    assert max(shares) <= MAX_SHARE, [round(s, 4) for s in shares]
    assert min(shares) > 0, "a month without a queue"
    print(f"queue per 10,000 active entities per month: mean {1e4 * np.mean(shares):.1f}, max {1e4 * max(shares):.1f}")


def test_queued_entities_violate_3_times_as_often_as_the_base(province: dict) -> None:
    lift, v12, v6, _ = _lifts(province)
    all_lift, all_v12, all_v6, _ = _lifts(province, ALL_STATUSES)
    out_lift, out_v12, out_v6, _ = _lifts(province, HELD)
    print(f"true lift of the queue, violation found: 12 months {v12:.2f}, 6 months {v6:.2f} (any adverse result "
          f"{lift:.2f}); every alert raised {all_v12:.2f} / {all_v6:.2f} ({all_lift:.2f}); kept out (muted, "
          f"uncorroborated) {out_v12:.2f} / {out_v6:.2f} ({out_lift:.2f})")
    assert v12 >= MIN_VIOLATION_LIFT and v6 >= MIN_VIOLATION_LIFT, (v12, v6)
    assert lift >= MIN_TRUE_LIFT
    # what is kept out is weaker: the queue's floors take out the weaker alerts, they do not pick at random
    assert v12 > all_v12 > out_v12 and v6 > all_v6 > out_v6 and lift > all_lift


def test_a_first_run_queues_its_stock_by_the_same_rules(province: dict) -> None:
    """A home's first warn, over the delivered history (the stock a province takes over, 存量): corroboration
    applies as on every later run, and its queue is judged as a month's is (an independent province is often
    warned once)."""
    lift, v12, v6, (share,) = _lifts(province, runs=[province["first"]])
    all_lift, all_v12, all_v6, (all_share,) = _lifts(province, ALL_STATUSES, runs=[province["first"]])
    print(f"first run: queue {1e4 * share:.1f} per 10,000 active entities, violation lift {v12:.2f} / {v6:.2f} "
          f"(any adverse {lift:.2f}); every alert raised {1e4 * all_share:.1f} per 10,000, {all_v12:.2f} / "
          f"{all_v6:.2f} ({all_lift:.2f})")
    assert share <= MAX_SHARE and v12 >= MIN_VIOLATION_LIFT and v6 >= MIN_VIOLATION_LIFT, (share, v12, v6)
    assert all_share > share and all_v12 < v12


def test_the_ceiling_of_any_queue(province: dict) -> None:
    """No queue of 3% of the active entities reaches 3x on adverse_probability (see the module docstring)."""
    ref = province["runs"][-1][1]
    p = adverse_probability(province["truth"], ref, 12)
    ps = np.sort(p.loc[p.active_at, "p_adverse"].to_numpy())[::-1]
    oracle = ps[: int(len(ps) * MAX_SHARE)].mean() / ps.mean()
    assert oracle < 3.0, f"3x is reachable now on any adverse result ({oracle:.2f}): raise MIN_TRUE_LIFT towards 3"


def test_muted_rules_are_listed_and_out_of_the_queue(province: dict) -> None:
    m = province["members"]
    muted_rules = set(m.loc[m.status == "muted", "rule"])
    assert muted_rules, "the default settings mute no rule on the simulated province"
    env = {**os.environ, "RISKGRADE_HOME": str(province["home"]), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "riskgrade", "alerts", "rules", "--muted", "--json"],
                         capture_output=True, text=True, env=env, check=True).stdout
    listed = json.loads(out)
    codes = {r["code"] for r in listed["rules"]}
    assert codes and all(r["muted"] for r in listed["rules"])
    # the rules listed are those the last run muted, each below the configured lift
    with Warehouse(province["home"]) as wh:
        last = {r for r, in wh.con.execute("""SELECT DISTINCT rule FROM rule_precision
                  WHERE muted AND run_id = (SELECT max(run_id) FROM rule_precision)""").fetchall()}
    assert codes == last
    for r in listed["rules"]:
        lift = (r["m12"] if r["deciding_horizon"] == 12 else r["m6"])["lift"]
        assert r["mute"] == "always" or lift < listed_min_lift()
    full = json.loads(subprocess.run([sys.executable, "-m", "riskgrade", "alerts", "rules", "--json"],
                                     capture_output=True, text=True, env=env, check=True).stdout)
    assert {r["code"] for r in full["rules"]} > codes   # the full catalog has the unmuted rules too
    # muted alerts are not in the open queue
    opened = subprocess.run([sys.executable, "-m", "riskgrade", "alerts", "list", "--status", "open", "--limit", "5"],
                            capture_output=True, text=True, env=env, check=True).stdout
    assert "muted" not in opened


def test_uncorroborated_alerts_are_single_signals_kept_and_listed(province: dict) -> None:
    """Below the queue's floor: an alert whose entity had no other rule's alert within a year (counted here from
    the stored alerts, independently of warning/corroboration.py) is kept as uncorroborated, and listed."""
    m = province["members"]
    held = m[m.status == "uncorroborated"]
    assert held.alert_id.nunique() > 100, "the default settings keep no single signal out of the queue"
    assert "registration_cluster" not in set(held.rule)           # clusters stand alone
    assert "registration_cluster" in set(m.loc[m.status == "open", "rule"])
    # the first run's alerts (the stock over the history) are queued or held by the same rule
    assert set(m.loc[m.run_id == 1, "status"]) >= {"open", "uncorroborated"}
    # every entity alert a run queued or held, against the alerts of other rules stored by its run (or before)
    x = m[m.status.isin(["open", "uncorroborated"])]
    pairs = x.merge(m[["rule", "uscc", "raised_on", "member_run"]], on="uscc", suffixes=("", "_o"))
    gap = (pd.to_datetime(pairs.raised_on_o) - pd.to_datetime(pairs.raised_on)).dt.days.abs()
    pairs = pairs[(pairs.rule_o != pairs.rule) & (pairs.member_run_o <= pairs.run_id) & (gap <= 365)]
    corroborated = set(pairs.alert_id)
    assert not corroborated & set(held.alert_id)
    opened = x[(x.status == "open") & (x.rule != "registration_cluster")]
    assert len(opened) > 50 and set(opened.alert_id) <= corroborated
    # kept: listed for review on the command line, left out of the default list
    env = {**os.environ, "RISKGRADE_HOME": str(province["home"]), "PYTHONPATH": str(ROOT), "COLUMNS": "300"}

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "riskgrade", "alerts", "list", *args, "--limit", "1000"],
                              capture_output=True, text=True, env=env, check=True).stdout

    listed = cli("--status", "uncorroborated")
    shown = [a for a in sorted(set(held.alert_id)) if a[:8] in listed]
    assert shown and "uncorroborated" in listed and "open" not in listed.replace("uncorroborated", "")
    assert "uncorroborated" not in cli()


def listed_min_lift() -> float:
    from riskgrade.warning.rules import load_rules

    return load_rules().suppression.min_lift


def test_every_alert_has_an_expected_risk(province: dict) -> None:
    r = [x[0] for x in province["risks"]]
    assert r and all(x is not None and 0.0 <= x <= 1.0 for x in r)
    # the queue order follows it: alerts of rules with higher measured lift rank higher on average
    m = province["members"].drop_duplicates("uscc")
    assert m.groupby("rule").expected_risk.mean().nunique() > 1


def test_rule_catalog_in_the_api_and_the_console(province: dict) -> None:
    import re

    from fastapi.testclient import TestClient

    from riskgrade.registry.db import open_registry
    from riskgrade.registry.users import add_user
    from riskgrade.server import create_app

    password = "Queue-Test-Passw0rd!"
    factory = open_registry(province["home"])
    add_user(factory, "q_admin", password, "admin", "37", "测试")
    add_user(factory, "q_analyst", password, "analyst", "37", "测试")
    factory.kw["bind"].dispose()
    app = create_app(province["home"])
    api = TestClient(app)
    tok = api.post("/api/login", json={"username": "q_admin", "password": password}).json()["token"]
    h = {"Authorization": f"Bearer {tok}"}
    cat = api.get("/api/alerts/rules", headers=h).json()
    muted = {r["code"] for r in cat["rules"] if r["muted"]}
    assert muted and cat["min_lift"] == listed_min_lift() and cat["measured_to"]
    good = next(r for r in cat["rules"] if r["code"] == "repeated_inspection_failures")
    assert good["m12"]["measured"] > 0 and good["m12"]["lift"] > good["m12"]["lift_low"] > 1
    only = api.get("/api/alerts/rules", headers=h, params={"muted": "true"}).json()
    assert {r["code"] for r in only["rules"]} == muted
    # the analyst (statistics only) sees the catalog: it names no entity
    tok2 = api.post("/api/login", json={"username": "q_analyst", "password": password}).json()["token"]
    assert api.get("/api/alerts/rules", headers={"Authorization": f"Bearer {tok2}"}).status_code == 200
    # the list: highest expected risk first; muted alerts only under their status
    page = api.get("/api/alerts", headers=h, params={"page_size": 50}).json()
    risks = [x["expected_risk"] for x in page["items"]]
    assert risks == sorted(risks, reverse=True) and page["by_status"]["muted"] > 0
    assert all(x["status"] not in ("muted", "uncorroborated") for x in page["items"])  # only when asked for
    assert page["by_status"]["uncorroborated"] == province["members"].query("status == 'uncorroborated'").alert_id.nunique()
    held = api.get("/api/alerts", headers=h, params={"status": "uncorroborated", "page_size": 5}).json()
    assert held["items"] and all(x["status"] == "uncorroborated" for x in held["items"])
    assert held["total"] == page["by_status"]["uncorroborated"]
    mut = api.get("/api/alerts", headers=h, params={"status": "muted", "page_size": 5}).json()
    assert mut["items"] and all(x["status"] == "muted" and x["rule"] in muted | _ever_muted(province)
                                for x in mut["items"])
    # the console page, in Chinese
    c = TestClient(app, follow_redirects=False)
    form = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    assert c.post("/login", data={"username": "q_admin", "password": password, "csrf": csrf}).status_code == 303
    html = c.get("/alerts/rules").text
    assert "精确率" in html and "提升倍数" in html and "repeated_inspection_failures" in html
    html_m = c.get("/alerts/rules", params={"muted": "1"}).text
    assert all(code in html_m for code in muted) and "repeated_inspection_failures" not in html_m
    assert 'href="/alerts/rules"' in c.get("/alerts").text
    held_page = c.get("/alerts", params={"status": "uncorroborated"}).text
    assert "待印证" in held_page and "单一信号" in held_page


def _ever_muted(province: dict) -> set[str]:
    m = province["members"]
    return set(m.loc[m.status == "muted", "rule"])
