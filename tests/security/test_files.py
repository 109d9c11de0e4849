"""Issue 17: files and folders the program creates in the data home are its user's alone (0600/0700), and
every CLI export that writes grades or records to a file is in the audit log (who, export_*, file, rows),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ..conftest import run_cli

AS_OF = "2026-08-31"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small province ingested, classified, planned and warned, with the test process's usual umask (022)."""
    old = os.umask(0o022)
    try:
        root = tmp_path_factory.mktemp("files")
        home = root / "home"
        run_cli("simulate", "--entities", "600", "--seed", "5", "--out", str(root / "d"), home=home)
        run_cli("ingest", str(root / "d"), home=home)
        run_cli("classify", "--as-of", AS_OF, "--model", "expert", home=home)
        run_cli("warn", home=home)
    finally:
        os.umask(old)
    return {"root": root, "home": home}


def _loose(home: Path) -> list[str]:
    """Everything in the home that its group or others may read, write or enter."""
    bad = []
    for p in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(p.lstat().st_mode)
        if mode & 0o077:
            bad.append(f"{p.relative_to(home)} {oct(mode)}")
    return bad


def test_nothing_in_the_home_is_group_or_world_readable(province: dict, tmp_path: Path) -> None:
    import shutil

    os.umask(0o022)
    home = tmp_path / "home"
    shutil.copytree(province["home"], home, copy_function=shutil.copy)  # copies keep the source modes
    run_cli("ingest", str(province["root"] / "d"), home=home)  # a second delivery: new segments
    run_cli("classify", "--as-of", "2026-09-30", "--model", "expert", home=home)
    run_cli("publish", "--as-of", AS_OF, home=home)
    run_cli("export", "grades", "--as-of", AS_OF, "--out", str(home / "exports" / "grades.csv"), home=home)
    assert (home / "registry.sqlite").exists() and (home / "keys" / "audit.key").exists()
    assert any((home / "segments").rglob("*.parquet")) if (home / "segments").exists() else True
    assert not _loose(home), _loose(home)[:20]


EXPORTS = [
    ("export_grades", ["export", "grades", "--as-of", AS_OF, "--out", "{out}/grades.csv"], "grades.csv"),
    ("export_alerts", ["export", "alerts", "--out", "{out}/alerts.csv"], "alerts.csv"),
    ("export_pushes", ["export", "pushes", "--as-of", AS_OF, "--out", "{out}/pushes.csv"], "pushes.csv"),
    ("export_directory", ["export", "directory", "--as-of", AS_OF, "--out", "{out}/dir.csv"], "dir.csv"),
    ("export_national", ["export", "national", "--month", AS_OF[:7], "--out", "{out}/national"], "national"),
    ("export_whitelist", ["export", "whitelist", "--as-of", AS_OF, "--out", "{out}/white.csv"], "white.csv"),
    ("export_measures", ["export", "measures", "--as-of", AS_OF, "--out", "{out}/measures.csv"], "measures.csv"),
    ("export_quarantine", ["quarantine", "export", "--out", "{out}/quarantine.csv"], "quarantine.csv"),
    ("export_plan", ["plan", "--as-of", AS_OF, "--seed", "3", "--budget", "50", "--out", "{out}/plan.csv"], "plan.csv"),
]


def test_every_cli_export_is_audited(province: dict, registry_env: dict, tmp_path: Path) -> None:
    import shutil

    from riskgrade.registry.audit import verify
    from riskgrade.registry.db import open_registry
    from sqlalchemy import select

    from riskgrade.registry.models import AuditEntry

    home = tmp_path / "home"
    shutil.copytree(province["home"], home)
    out = tmp_path / "out"
    env = {**registry_env, "RISKGRADE_USER": "analyst_wang"}
    for _, args, _ in EXPORTS:
        run_cli(*[a.format(out=out) for a in args], home=home, env=env)
    f = open_registry(home, registry_env.get("RISKGRADE_DATABASE_URL"))
    with f() as s:
        got = {e.action: {"username": e.username, "target": e.target, "detail": json.loads(e.detail)}
               for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars() if e.action.startswith("export_")}
    for action, _, name in EXPORTS:
        assert action in got, (action, sorted(got))
        r = got[action]
        assert r["username"] == "cli:analyst_wang"
        assert r["target"].endswith(name), r
        assert isinstance(r["detail"]["rows"], int) and r["detail"]["rows"] >= 0, r
    assert got["export_grades"]["detail"]["rows"] > 0 and got["export_plan"]["detail"]["rows"] > 0
    assert verify(f).ok
    f.kw["bind"].dispose()
