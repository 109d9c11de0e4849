"""Shared fixtures: small hand-made deliveries with known outcomes."""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskgrade.codes import uscc

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# the PostgreSQL server of the registry tests (.ci/run starts it): trust auth, an administrator's database
PG_ADMIN_URL = os.environ.get("RISKGRADE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


# the shipped warning rules with corroboration off: provinces warned once whose alerts the tests work on
QUEUE_ALL = Path(__file__).resolve().parent / "rules_queue_all.yaml"

def make_usccs(n: int, kind: str = "1", region: str = "370102", start: int = 0) -> list[str]:
    """n valid, distinct USCCs."""
    return uscc.make([f"9{kind}{region}{i + start:09d}" for i in range(n)])


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    return path


ENTITY_HEADER = ["uscc", "name", "entity_type", "region_code", "industry_code", "established_on", "status", "address"]
EVENT_HEADER = ["record_id", "uscc", "event_type", "event_date", "reported_on", "source", "detail", "amount", "end_date"]


def run_cli(*args: str, home: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, "RISKGRADE_HOME": str(home), **(env or {})}
    p = subprocess.run([sys.executable, "-m", "riskgrade", *args], capture_output=True, text=True, env=e)
    if check and p.returncode != 0:
        raise AssertionError(f"riskgrade {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def wait_for_server(url: str, proc: subprocess.Popen, seconds: float = 180.0) -> bytes:
    """The body of the first answer of a just-started ``riskgrade serve`` at *url*: tried until it answers or
    *seconds* have passed (a loaded machine can take a while to start it and to answer its first request);
    fails with the server's stderr when it exited."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            return urllib.request.urlopen(url, timeout=15).read()
        except urllib.error.HTTPError:
            raise
        except OSError:  # refused, reset or timed out while it starts
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "the server exited") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not answer {url} within {seconds:.0f} s") from None
            time.sleep(0.2)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="session", autouse=True)
def _admins_sign_in_without_totp():
    """The service requires a one-time code from administrators (setting ``require_admin_totp``, on by default).
    The suite's fixtures sign in as administrators with a password alone, so the tests turn it off; the tests of
    two-factor sign-in (tests/security/test_totp.py) turn it on again for their own application."""
    old = os.environ.get("RISKGRADE_REQUIRE_ADMIN_TOTP")
    os.environ["RISKGRADE_REQUIRE_ADMIN_TOTP"] = "0"
    yield
    if old is None:
        os.environ.pop("RISKGRADE_REQUIRE_ADMIN_TOTP", None)
    else:
        os.environ["RISKGRADE_REQUIRE_ADMIN_TOTP"] = old


@pytest.fixture(scope="session")
def simulated_towers_home(tmp_path_factory) -> tuple[Path, Path]:
    """A simulated province of 30,000 entities (seed 5: shell clusters and office towers, parquet) ingested
    into a home: ``(home, delivery)``; the truth is in ``delivery / "_truth"``. Copy the home before changing it."""
    from riskgrade.ingest.pipeline import ingest
    from riskgrade.simulate.province import generate

    root = tmp_path_factory.mktemp("towers")
    generate(root / "d", 30_000, 5, fmt="parquet")
    ingest(root / "home", root / "d")
    return root / "home", root / "d"


@functools.cache
def pg_unreachable() -> str | None:
    """Why the test PostgreSQL server cannot be used (None when it can); asked once per session."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as e:  # psycopg missing, server down, refused: the same answer for the tests
        why = " ".join(str(e).split())
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL} (.ci/run starts it): {type(e).__name__}: {why}"


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, uniquely named, empty database on the test server; yields its URL and drops it afterwards (with
    FORCE: connections still open to it are closed).  Skips the test when the server is unreachable.  For
    fixtures of a wider scope than a function; a test or function-scoped fixture asks for ``pg_url``."""
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"riskgrade_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_env(request) -> dict:
    """The environment of a CLI run whose registry is SQLite (in the home: no variable) or a fresh PostgreSQL
    database (``RISKGRADE_DATABASE_URL``); a test asking for it runs once on each."""
    if request.param == "sqlite":
        return {}
    return {"RISKGRADE_DATABASE_URL": request.getfixturevalue("pg_url")}


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for one test (see :func:`fresh_pg_database`)."""
    with fresh_pg_database() as url:
        yield url


# --------------------------------------------------------------------------- the console's published province
PUBLISHED_MONTHS = ("2026-08-31", "2026-09-30")
PUBLISHED_PASSWORD = "Secret-2026x"


def _published_regions(home: Path) -> tuple[str, str]:
    """The county with the most active entities, and another one."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT region_code FROM entities WHERE status = 'active' GROUP BY 1 "
                           "ORDER BY count(*) DESC, 1 LIMIT 2").fetchall()
        department = con.execute("SELECT responsible_unit FROM alerts WHERE unit_kind = 'department' GROUP BY 1 "
                                 "ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0][0]
    finally:
        con.close()
    return rows[0][0], rows[1][0], department


@pytest.fixture(scope="session")
def published_province(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 2,500-entity province, built once per session: two published months (the second graded by a trained
    scorecard), a task, a plan, early-warning alerts and a user per role (password :data:`PUBLISHED_PASSWORD`).
    Never used as it is: ``tests/test_console.py``'s ``published`` gives each module its own copy."""
    from riskgrade.registry.db import open_registry
    from riskgrade.registry.users import add_user

    t1, t2 = PUBLISHED_MONTHS
    root = tmp_path_factory.mktemp("published")
    home = root / "home"
    run_cli("simulate", "--entities", "2500", "--seed", "5", "--out", str(root / "d"), home=home)
    run_cli("ingest", str(root / "d"), home=home)
    run_cli("classify", "--as-of", t1, "--model", "expert", home=home)
    run_cli("classify", "--as-of", t2, "--model", "trained", home=home)
    run_cli("task", "create", "--name", "2026年第四季度食品经营者抽查", "--domain", "food", "--industry", "F", home=home)
    run_cli("plan", "--as-of", t2, "--seed", "7", "--budget", "120", "--out", str(root / "plan.csv"), home=home)
    run_cli("warn", "--rules", str(QUEUE_ALL), home=home)  # early-warning alerts, every one in the queue
    for t in (t1, t2):
        run_cli("publish", "--as-of", t, home=home)
    county, other, department = _published_regions(home)
    factory = open_registry(home)
    users = {}
    for role, prefix, name in (("admin", "37", "admin"), ("credit_officer", "37", "officer"),
                               ("credit_officer", county, "officer_county"), ("inspector", "37", "inspector"),
                               ("inspector", county, "inspector_county"), ("domain_officer", "37", "domain"),
                               ("analyst", "37", "analyst"), ("auditor", "37", "auditor")):
        add_user(factory, name, PUBLISHED_PASSWORD, role, prefix, f"测试{name}",
                 department if role == "domain_officer" else None)
        users[name] = (role, prefix)
    factory.kw["bind"].dispose()
    return {"root": root, "home": home, "county": county, "other": other, "users": users, "department": department}


# The files that take longest (CI's --durations, summed per file), started first: `make test` runs one file
# per worker (pytest-xdist --dist loadfile), and a long file started last would leave one core idle at the end.
# Only an ordering hint: a file not listed runs after these in its usual order.
LONGEST_FIRST = (
    "test_spark_monthly.py", "test_inspection.py", "test_console.py", "test_api.py", "security/test_files.py",
    "test_warning_determinism.py", "test_spark_parity.py", "test_warning_queue.py", "test_warning.py",
    "security/test_disclosure.py", "test_registration_fields.py", "test_api_schema.py", "test_report.py",
    "test_officer_day.py", "test_crash.py", "test_classify.py", "test_grade_governance.py", "test_simulate.py",
    "security/test_results_intake.py", "test_work.py", "test_company_browser.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    here = Path(__file__).resolve().parent

    def key(item) -> int:
        try:
            name = Path(str(item.path)).resolve().relative_to(here).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=key)  # stable: the order within a file and among the unlisted files is kept
