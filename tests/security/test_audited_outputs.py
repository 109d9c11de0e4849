"""Issue 17, finding 9 (CLI exports are not audited), the outputs beyond the exports: ``report``, ``model card``,
``model-report``, ``indicators`` and ``analyse`` each append an audit entry (who, what, where, rows or bytes,
SHA-256) like ``export_*`` do, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ..conftest import run_cli

AS_OF = "2026-09-30"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small province classified with a trained model (so it has a model card and a model report)."""
    root = tmp_path_factory.mktemp("outputs")
    home = root / "home"
    run_cli("simulate", "--entities", "2500", "--seed", "9", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    run_cli("classify", "--as-of", AS_OF, "--model", "trained", home=home)
    return home


def test_reports_cards_and_indicators_written_to_a_file_are_audited(trained: Path, registry_env: dict,
                                                                    tmp_path: Path) -> None:
    from sqlalchemy import select

    from riskgrade.registry.audit import verify
    from riskgrade.registry.db import open_registry
    from riskgrade.registry.models import AuditEntry

    home = tmp_path / "home"
    shutil.copytree(trained, home)
    model_id = next((home / "models").glob("trained-*.json")).stem
    out = tmp_path / "out"
    env = {**registry_env, "RISKGRADE_USER": "analyst_zhao"}
    runs = {
        "report": ["report", "--month", AS_OF[:7], "--out", str(out / "monthly.html")],
        "model_card": ["model", "card", model_id, "--out", str(out / "card.html")],
        "model_report": ["model-report", "--as-of", AS_OF, "--out", str(out / "model-report.html")],
        "export_indicators": ["indicators", "--as-of", AS_OF, "--out", str(out / "indicators.csv")],
        "analysis": ["analyse", "--as-of", AS_OF, "--out", str(out / "analysis.json")],
    }
    for args in runs.values():
        run_cli(*args, home=home, env=env)
    f = open_registry(home, registry_env.get("RISKGRADE_DATABASE_URL"))
    try:
        with f() as s:
            got = {e.action: {"username": e.username, "target": e.target, "detail": json.loads(e.detail)}
                   for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()}
        for action, args in runs.items():
            written = Path(args[args.index("--out") + 1])
            assert action in got, (action, sorted(got))
            e = got[action]
            assert e["username"] == "cli:analyst_zhao" and e["target"] == str(written.resolve()), e
            data = written.read_bytes()
            assert e["detail"]["bytes"] == len(data) > 0, e
            assert e["detail"]["sha256"] == hashlib.sha256(data).hexdigest(), e
        assert got["export_indicators"]["detail"]["rows"] == sum(1 for _ in open(out / "indicators.csv")) - 1
        assert got["model_card"]["detail"]["model"] == model_id
        assert got["report"]["detail"]["month"] == AS_OF[:7]
        assert verify(f).ok
    finally:
        f.kw["bind"].dispose()
