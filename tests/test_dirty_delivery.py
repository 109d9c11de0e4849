"""A simulated delivery, clean and dirty, through the CLI: counts match the generator's expectation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sim")
    run_cli("simulate", "--entities", "3000", "--seed", "11", "--out", str(root / "clean"),
            "--dirty-out", str(root / "dirty"), home=root / "unused")
    return root / "clean", root / "dirty"


def test_clean_delivery_is_accepted_whole(simulated: tuple[Path, Path], tmp_path: Path) -> None:
    clean, _ = simulated
    rep = tmp_path / "r.json"
    run_cli("ingest", str(clean), "--report", str(rep), home=tmp_path / "home")
    data = json.loads(rep.read_text(encoding="utf-8"))
    summary = json.loads((clean / "_truth" / "summary.json").read_text(encoding="utf-8"))
    assert data["unreadable_files"] == []
    for table, c in data["tables"].items():
        assert c["quarantined"] == 0, (table, c["by_reason"])
        assert c["merged"] == 0
        assert c["read"] == c["accepted"] == summary["counts"][table]


def test_dirty_delivery_matches_expected_counts_exactly(simulated: tuple[Path, Path], tmp_path: Path) -> None:
    _, dirty = simulated
    rep = tmp_path / "r.json"
    run_cli("ingest", str(dirty), "--report", str(rep), home=tmp_path / "home")
    got = json.loads(rep.read_text(encoding="utf-8"))
    expected = json.loads((dirty / "_expected.json").read_text(encoding="utf-8"))
    for table, e in expected["tables"].items():
        g = got["tables"][table]
        assert g["read"] == g["accepted"] + g["merged"] + g["quarantined"]
        for k in ("read", "accepted", "merged", "quarantined", "by_reason"):
            assert g[k] == e[k], (table, k)
    assert [u["path"] for u in got["unreadable_files"]] == [u["path"] for u in expected["unreadable_files"]]
    # every quarantined row is exported with its reason and original text
    out = tmp_path / "q.csv"
    run_cli("quarantine", "export", "--out", str(out), home=tmp_path / "home")
    n = sum(1 for _ in out.open(encoding="utf-8")) - 1
    assert n >= sum(e["quarantined"] for e in expected["tables"].values())


def test_reingest_of_the_dirty_delivery_changes_nothing(simulated: tuple[Path, Path], tmp_path: Path) -> None:
    _, dirty = simulated
    home = tmp_path / "home"
    run_cli("ingest", str(dirty), home=home)
    rep = tmp_path / "r2.json"
    run_cli("ingest", str(dirty), "--report", str(rep), home=home)
    again = json.loads(rep.read_text(encoding="utf-8"))
    for table, c in again["tables"].items():
        assert c["accepted"] == 0, table
        assert c["revised"] == 0, table
