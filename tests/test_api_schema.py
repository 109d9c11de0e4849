"""Schemathesis against the OpenAPI schema: generated requests from every operation never cause a server
error (5xx) and every answer matches the schema, signed in as an administrator (who may call every
endpoint) on a small published and warned province (alerts in the warehouse)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from .conftest import run_cli

PASSWORD = "Secret-2026x"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from fastapi.testclient import TestClient

    from riskgrade.api.app import create_app

    root = tmp_path_factory.mktemp("schema")
    home = root / "home"
    run_cli("simulate", "--entities", "1500", "--seed", "4", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    run_cli("classify", "--as-of", "2026-09-30", "--model", "expert", home=home)
    run_cli("plan", "--as-of", "2026-09-30", "--seed", "1", "--budget", "50", "--out", str(root / "p.csv"), home=home)
    run_cli("warn", home=home)  # alerts, so that the alert endpoints answer with data
    run_cli("publish", "--as-of", "2026-09-30", home=home)
    run_cli("user", "add", "root", "--role", "admin", "--region", "37", "--password-env", "P", home=home,
            env={"P": PASSWORD})
    app = create_app(home)
    token = TestClient(app).post("/api/login", json={"username": "root", "password": PASSWORD}).json()["token"]
    return {"app": app, "token": token}


@pytest.mark.slow
def test_no_server_errors_and_answers_match_the_schema(api: dict) -> None:
    from hypothesis import given
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_asgi("/openapi.json", api["app"])
    tested = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/api/logout":  # would end the session the other calls use
            continue
        headers = {} if op.path == "/api/login" else {"Authorization": f"Bearer {api['token']}"}

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
            # an arbitrary string is a schema-valid CSV body but not a results file: 422 is right there
            case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])

        check()
        tested.append(f"{op.method.upper()} {op.path}")
    assert len(tested) >= 20, tested
    assert {"GET /api/alerts", "GET /api/alerts/{alert_id}", "POST /api/alerts/{alert_id}/assign",
            "POST /api/alerts/{alert_id}/handle", "POST /api/alerts/{alert_id}/close",
            "POST /api/alerts/{alert_id}/target", "GET /api/stats/alerts", "GET /api/alerts/log/verify"} <= set(tested)
