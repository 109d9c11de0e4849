"""Deterministic output (issue 18): identical data give identical alerts, ids, summaries and counts.  Two homes
built from the same deliveries, warned with different numbers of DuckDB threads (which changes the order rows come
back in), write byte-identical ``export alerts`` (with and without area alerts, CSV and Parquet) and ``export
area-alerts`` files, and hold the same alerts, members, evidence, log details and run counts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from riskgrade.warehouse import Warehouse

from .conftest import EVENT_HEADER, run_cli, write_csv
from .test_warning import CLUSTER_ADDR, ENT_HEADER, NEW_MEMBER, _closed_entity_fix, _entities, _events, u


def _deliveries(root: Path) -> list[Path]:
    """A simulated province, the crafted delivery of tests/test_warning.py (every rule, an area alert), and a
    later delivery that grows a cluster and adds new records."""
    sim = root / "sim"
    run_cli("simulate", "--entities", "1500", "--seed", "18", "--out", str(sim), home=root / "unused")
    d1 = root / "d1"
    write_csv(d1 / "entities.csv", ENT_HEADER, _entities())
    _closed_entity_fix(d1)
    write_csv(d1 / "events.csv", EVENT_HEADER, _events())
    d2 = root / "d2"
    write_csv(d2 / "entities.csv", ENT_HEADER, [[NEW_MEMBER, "空壳6有限公司", "enterprise", "370102", "7241",
                                                 "2026-01-25", "active", CLUSTER_ADDR, "TC6", "P-SHELL"]])
    write_csv(d2 / "events.csv", EVENT_HEADER, [
        ["N1", u("zero_ok"), "judgment_debtor_in", "2026-07-01", "2026-07-02", "历下区人民法院", "", "", ""],
        ["N2", u("steady"), "complaint", "2026-07-03", "2026-07-04", "12315", "价格", "", ""]])
    return [sim, d1, d2]


EXPORTS = (("alerts", "alerts.csv", ()), ("alerts", "alerts.parquet", ()), ("alerts", "all.csv", ("--include-area",)),
           ("area-alerts", "area.csv", ()), ("area-alerts", "area.json", ()))


def _build(root: Path, name: str, deliveries: list[Path], threads: str) -> tuple[Path, list[dict]]:
    home = root / name
    env = {"RISKGRADE_THREADS": threads, "COLUMNS": "300"}
    outs = []
    for k, d in enumerate(deliveries):
        run_cli("ingest", str(d), home=home, env=env)
        if k == 0:
            continue  # warn after the crafted delivery and after the later one
        run_cli("warn", home=home, env=env)
        files = {}
        for cmd, fname, opts in EXPORTS:
            out = root / f"{name}-{k}-{fname}"
            run_cli("export", cmd, "--out", str(out), *opts, home=home, env=env)
            files[fname] = out.read_bytes()
        outs.append(files)
    return home, outs


def _state(home: Path) -> dict:
    with Warehouse(home) as wh:
        con = wh.con
        return {
            "alerts": con.execute("SELECT * EXCLUDE (created_at, updated_at) FROM alerts ORDER BY alert_id").fetchall(),
            "members": con.execute("SELECT * FROM alert_members ORDER BY ALL").fetchall(),
            "evidence": con.execute("SELECT * FROM alert_evidence ORDER BY ALL").fetchall(),
            "log": con.execute("SELECT seq, username, action, alert_id, detail FROM alert_log ORDER BY seq").fetchall(),
            "runs": con.execute("SELECT run_id, ref_date, raw_hits, already_alerted, suppressed, alerts_new, "
                                "alerts_extended, counts, unmapped_sources FROM warn_runs ORDER BY run_id").fetchall(),
        }


@pytest.mark.slow
def test_two_homes_from_the_same_deliveries_give_byte_identical_exports(tmp_path: Path) -> None:
    deliveries = _deliveries(tmp_path)
    home_a, a = _build(tmp_path, "a", deliveries, "1")
    home_b, b = _build(tmp_path, "b", deliveries, "4")
    for k, (fa, fb) in enumerate(zip(a, b)):
        for fname in fa:
            assert fa[fname] == fb[fname], (k, fname, hashlib.sha256(fa[fname]).hexdigest(),
                                            hashlib.sha256(fb[fname]).hexdigest())
    first = a[0]["all.csv"].decode("utf-8")
    assert first.count("\n") > 100 and ",area," in first  # a real province: many alerts, an area alert among them
    assert json.loads(a[0]["area.json"]) and a[1]["alerts.csv"] != a[0]["alerts.csv"]  # the second run added rows
    sa, sb = _state(home_a), _state(home_b)
    for key in sa:
        assert sa[key] == sb[key], key
    assert len(sa["runs"]) == 2 and sa["runs"][1][5] >= 1
