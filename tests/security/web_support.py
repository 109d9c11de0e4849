"""What the console and API security tests share (issue 17): a data home with a small ingested delivery, its
registry on SQLite or on the PostgreSQL server of this machine, users of the province and of one county."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from ..conftest import fresh_pg_database, run_cli

PASSWORD = "Secret-2026x"
COUNTY, OTHER_COUNTY, OTHER_CITY = "370102", "370203", "3702"


def small_store(root: Path) -> Path:
    """A data home with one simulated delivery ingested (no classification: the registry is filled by hand)."""
    home = root / "wh"
    run_cli("simulate", "--entities", "300", "--seed", "3", "--out", str(root / "delivery"), home=home)
    run_cli("ingest", str(root / "delivery"), home=home)
    return home


class Registry:
    """A data home copied for one backend, with its database (dropped at the end)."""

    def __init__(self, backend: str, source: Path | None, root: Path):
        self.backend, self.root = backend, root
        self.home = root / "home"
        if source is not None:
            shutil.copytree(source, self.home)
        else:
            self.home.mkdir(parents=True)
        self.database = contextlib.ExitStack()
        self.url = self.database.enter_context(fresh_pg_database()) if backend == "postgresql" else None
        self.apps: list = []

    def app(self, console: bool = True, **env: str):
        """An application over the registry (one worker of the service), with settings from ``env``."""
        from riskgrade.api.app import create_app as api_app
        from riskgrade.server import create_app

        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            app = (create_app if console else api_app)(self.home, self.url)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            app.state.rg.factory.kw["bind"].dispose()
        self.database.close()


def add_users(factory, *specs: tuple[str, str, str]) -> None:
    from riskgrade.registry.users import add_user

    for name, role, region in specs:
        add_user(factory, name, PASSWORD, role, region, name)


def api_token(client: TestClient, username: str, **extra) -> str:
    r = client.post("/api/login", json={"username": username, "password": PASSWORD, **extra})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def console_login(app, username: str, **kw) -> TestClient:
    c = TestClient(app, follow_redirects=False, **kw)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
    assert r.status_code == 303, r.text[:300]
    return c


def audit_entries(app) -> list:
    from sqlalchemy import select

    from riskgrade.registry.models import AuditEntry

    with app.state.rg.factory() as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all())
