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
    assert not list(clean.rglob("*.xlsx"))
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
    # the traps of issue 17: a spreadsheet bomb and a duplicate header, each unreadable with its reason code,
    # while every other file of the delivery loads (the exact counts above)
    assert [(u["path"], u.get("reason")) for u in expected["unreadable_files"]] == [
        ("events/part-997.xlsx", "xlsx_too_large"), ("events/part-998.csv", "duplicate_header"),
        ("events/part-999.csv", None)]
    why = {u["path"]: u["reason"] for u in got["unreadable_files"]}
    assert why["events/part-997.xlsx"].startswith("xlsx_too_large:"), why
    assert why["events/part-998.csv"].startswith("duplicate_header:"), why
    assert (dirty / "events" / "part-997.xlsx").stat().st_size < 8192  # a tiny file declaring the whole grid
    assert got["tables"]["events"]["read"] == expected["tables"]["events"]["read"] > 0
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


def test_the_traps_have_a_random_stream_of_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding the traps (issue 17: a spreadsheet bomb, a duplicate header) changes no other dirty file, and the
    same seed gives the same trap files."""
    from riskgrade.simulate import generate

    def files(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    generate(tmp_path / "a" / "clean", 250, 3, dirty_out=tmp_path / "a" / "dirty")
    generate(tmp_path / "b" / "clean", 250, 3, dirty_out=tmp_path / "b" / "dirty")
    monkeypatch.setattr("riskgrade.simulate.dirty.write_traps", lambda *a, **k: [])
    generate(tmp_path / "c" / "clean", 250, 3, dirty_out=tmp_path / "c" / "dirty")
    with_traps, again, without = (files(tmp_path / r / "dirty") for r in "abc")
    traps = {"events/part-997.xlsx", "events/part-998.csv"}
    assert traps <= set(with_traps) and not traps & set(without)
    assert with_traps == again
    assert {k: v for k, v in with_traps.items() if k not in traps | {"_expected.json"}} == \
        {k: v for k, v in without.items() if k != "_expected.json"}
