"""An ingest killed (SIGKILL) at any point leaves the store as it was; re-running completes it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, write_csv

TABLES = ("entities", "events", "quarantine", "entities_history", "events_history")


def build_delivery(d: Path, n_entities: int = 20_000, n_events: int = 300_000) -> Path:
    rnd = random.Random(7)
    us = make_usccs(n_entities)
    write_csv(d / "entities.csv", ENTITY_HEADER,
              [[u, f"主体{i}", "enterprise" if i % 3 else "individual", "370102", "H6210", "2015-01-01", "", f"地址{i % 5000}"]
               for i, u in enumerate(us)])
    types = ["complaint", "inspection", "annual_report", "admin_penalty"]
    rows = []
    for i in range(n_events):
        u = us[rnd.randrange(n_entities)] if i % 997 else "913701020000000000"  # a few bad check characters
        rows.append([f"r{i}", u, types[i % 4], f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", "", "dept", "", "", ""])
    write_csv(d / "events.csv", EVENT_HEADER, rows)
    return d


def snapshot(home: Path) -> dict[str, list]:
    with Warehouse(home) as wh:
        out = {}
        for t in TABLES:
            cols = [r[0] for r in wh.con.execute(f"DESCRIBE {t}").fetchall()]
            keep = [c for c in cols if c not in ("delivery_id", "loaded_at")]
            out[t] = wh.con.execute(f"SELECT {', '.join(keep)} FROM {t} ORDER BY ALL").fetchall()
        out["deliveries"] = wh.con.execute("SELECT count(*) FROM deliveries").fetchall()
        return out


def start_ingest(home: Path, delivery: Path) -> subprocess.Popen:
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "riskgrade", "ingest", str(delivery)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_at_several_points_then_rerun_gives_the_clean_store(tmp_path: Path) -> None:
    delivery = build_delivery(tmp_path / "delivery")
    clean_home = tmp_path / "clean"
    p = start_ingest(clean_home, delivery)
    assert p.wait() == 0, p.stderr.read()
    t0 = time.perf_counter()
    clean = snapshot(clean_home)
    assert clean["deliveries"] == [(1,)]
    assert len(clean["events"]) > 250_000
    # kill when a stage announces itself, and at fixed delays in between
    markers = ["reading entities.csv", "reading events.csv", "validating and merging entities",
               "validating and merging events"]
    for point in markers + [0.3, 0.8, 1.5]:
        home = tmp_path / f"home-{point}"
        p = start_ingest(home, delivery)
        if isinstance(point, str):
            for line in p.stderr:
                if point in line:
                    break
        else:
            time.sleep(point)
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
        p.wait()
        # after the kill the store holds nothing of the delivery (or, if it finished, all of it)
        partial = snapshot(home)
        if killed:
            assert partial["deliveries"] in ([(0,)], [(1,)]), point
            if partial["deliveries"] == [(0,)]:
                assert all(partial[t] == [] for t in TABLES), point
        # re-run completes it: exactly the store a clean ingest gives
        p2 = start_ingest(home, delivery)
        assert p2.wait() == 0, p2.stderr.read()
        again = snapshot(home)
        again.pop("deliveries")
        want = dict(clean)
        want.pop("deliveries")
        if partial["deliveries"] == [(1,)]:
            # the first run had committed: the re-run merged everything, the second delivery's quarantine adds rows
            assert again["entities"] == want["entities"] and again["events"] == want["events"], point
        else:
            assert again == want, point
    assert time.perf_counter() - t0 < 600
