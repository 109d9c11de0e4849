"""Deterministic output (issue 18): identical data give identical alerts, ids, summaries and counts.  Two homes
built from the same deliveries, each in its own process - with different numbers of DuckDB threads (which changes the
order rows come back in) and different Python hash seeds (which changes the order sets and dicts of strings are
walked in) - write byte-identical ``export alerts`` (the queue; every alert, held and area ones too; CSV and Parquet) and ``export
area-alerts`` files, and hold the same alerts, members, evidence, log details, run counts and rule precision.

Each home's commands (``ingest``, ``warn``, ``export``) run through the CLI's entry point (``riskgrade.cli.main``, what
``python -m riskgrade`` runs) inside one process per home, the two homes side by side: the test used to start a
process per command (31 of them, most of its two minutes spent importing)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
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


EXPORTS = (("alerts", "alerts.csv", ()), ("alerts", "alerts.parquet", ()),
           ("alerts", "all.csv", ("--include-area", "--include-held")),  # every alert: the held ones too
           ("area-alerts", "area.csv", ()), ("area-alerts", "area.json", ()))


# one home's commands in one process: the CLI's entry point, as `python -m riskgrade` runs it, command by command
_HOME = """
import sys
from pathlib import Path

from riskgrade.cli import main

root, name, deliveries = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
exports = {exports!r}


def cli(*args):
    sys.argv = ["riskgrade", *args]
    try:
        main()
    except SystemExit as e:
        if e.code not in (0, None):
            raise SystemExit(f"riskgrade {{' '.join(args)}} failed ({{e.code}})") from None


for k, d in enumerate(deliveries):
    cli("ingest", d)
    if k == 0:
        continue  # warn after the crafted delivery and after the later one
    cli("warn")
    for cmd, fname, opts in exports:
        cli("export", cmd, "--out", str(root / f"{{name}}-{{k}}-{{fname}}"), *opts)
"""


def _start(root: Path, name: str, deliveries: list[Path], threads: str, hash_seed: str) -> subprocess.Popen:
    env = {**os.environ, "RISKGRADE_HOME": str(root / name), "RISKGRADE_THREADS": threads, "PYTHONHASHSEED": hash_seed,
           "COLUMNS": "300"}
    return subprocess.Popen([sys.executable, "-c", _HOME.format(exports=EXPORTS), str(root), name,
                             *map(str, deliveries)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _build(root: Path, deliveries: list[Path], homes: dict[str, tuple[str, str]]) -> dict[str, list[dict]]:
    """Build the homes side by side (name -> (DuckDB threads, Python hash seed)); each one's export files per warn."""
    procs = {name: _start(root, name, deliveries, *how) for name, how in homes.items()}
    for name, p in procs.items():
        out, _ = p.communicate(timeout=900)
        assert p.returncode == 0, f"home {name}:\n{out[-4000:]}"
    return {name: [{fname: (root / f"{name}-{k}-{fname}").read_bytes() for _c, fname, _o in EXPORTS}
                   for k in range(1, len(deliveries))] for name in homes}


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
            "precision": con.execute("SELECT * FROM rule_precision ORDER BY ALL").fetchall(),
        }


@pytest.mark.slow
def test_two_homes_from_the_same_deliveries_give_byte_identical_exports(tmp_path: Path) -> None:
    deliveries = _deliveries(tmp_path)
    built = _build(tmp_path, deliveries, {"a": ("1", "1"), "b": ("4", "2")})
    a, b = built["a"], built["b"]
    for k, (fa, fb) in enumerate(zip(a, b)):
        for fname in fa:
            assert fa[fname] == fb[fname], (k, fname, hashlib.sha256(fa[fname]).hexdigest(),
                                            hashlib.sha256(fb[fname]).hexdigest())
    first = a[0]["all.csv"].decode("utf-8")
    assert first.count("\n") > 100 and ",area," in first  # a real province: many alerts, an area alert among them
    assert ",uncorroborated," in first and ",uncorroborated," not in a[0]["alerts.csv"].decode("utf-8")
    assert json.loads(a[0]["area.json"]) and a[1]["alerts.csv"] != a[0]["alerts.csv"]  # the second run added rows
    sa, sb = _state(tmp_path / "a"), _state(tmp_path / "b")
    for key in sa:
        assert sa[key] == sb[key], key
    assert len(sa["runs"]) == 2 and sa["runs"][1][5] >= 1
